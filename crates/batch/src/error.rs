//! Errors of batch jobs: every input problem names the file, the line and the column.

use std::path::PathBuf;

/// A batch job that could not run or finish.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// A file could not be opened, read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// Bad data in an input file.
    #[error("{}:{line}:{} {message}", file.display(), column.as_ref().map(|c| format!(" column `{c}`:")).unwrap_or_default())]
    Input {
        /// The file.
        file: PathBuf,
        /// 1-based line (the header is line 1 of a CSV file).
        line: u64,
        /// The column or JSON field, when one is at fault.
        column: Option<String>,
        /// What is wrong.
        message: String,
    },
}

impl BatchError {
    pub(crate) fn input(
        file: &std::path::Path,
        line: u64,
        column: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        BatchError::Input {
            file: file.to_owned(),
            line,
            column: column.map(str::to_owned),
            message: message.into(),
        }
    }

    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        BatchError::Io {
            path: path.to_owned(),
            source,
        }
    }
}
