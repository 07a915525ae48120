//! Errors a model file can have, each pointing at a line and column of the file.

use std::fmt;

/// One problem in a model file, at a position a person can jump to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// What is wrong, naming the key or id.
    pub message: String,
}

/// A model file that cannot be compiled. Holds every problem found, not just the first, so a
/// reviewer fixes them in one pass.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ModelError {
    /// The file name as given by the caller (used only in messages).
    pub file: String,
    /// The problems, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}:{}:{}: {}", self.file, d.line, d.column, d.message)?;
        }
        Ok(())
    }
}

/// Turns byte offsets into line/column pairs for one source text.
pub(crate) struct LineIndex<'a> {
    src: &'a str,
}

impl<'a> LineIndex<'a> {
    pub fn new(src: &'a str) -> Self {
        Self { src }
    }

    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.src.len());
        let before = &self.src[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }
}

/// An error in a data value: what the caller (a CSV reader, an API handler) wraps with its own
/// file, line and column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: expected {expected}, found {found:?}")]
pub struct ValueError {
    /// The attribute or property name.
    pub field: String,
    /// The type the model needs, e.g. "a number".
    pub expected: &'static str,
    /// The text that did not parse.
    pub found: String,
}
