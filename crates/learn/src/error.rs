//! Errors of the learn crate: bad input names the source, the line and the column.

/// Training, prediction or evaluation could not go on.
#[derive(Debug, thiserror::Error)]
pub enum LearnError {
    /// Bad data: the message says what, where.
    #[error("{source_name}:{line}:{} {message}", column.as_ref().map(|c| format!(" column `{c}`:")).unwrap_or_default())]
    Input {
        /// The file (or other source) as the caller named it.
        source_name: String,
        /// 1-based line; the header is line 1.
        line: u64,
        /// The column at fault, if one is.
        column: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// The data cannot train a model (e.g. one class only, no usable feature).
    #[error("{0}")]
    Data(String),
    /// A model file that cannot be read, or was changed after it was written.
    #[error("model: {0}")]
    Model(String),
    /// Reading or writing failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl LearnError {
    pub(crate) fn input(
        source_name: &str,
        line: u64,
        column: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        LearnError::Input {
            source_name: source_name.to_owned(),
            line,
            column: column.map(str::to_owned),
            message: message.into(),
        }
    }
}
