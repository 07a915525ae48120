//! Model-file errors point at the file, line and column.
