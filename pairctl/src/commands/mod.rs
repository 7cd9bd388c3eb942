//! One module per command group; `main` parses the command line and calls into them.

pub mod analytics;
pub mod completion;
pub mod config;
pub mod crud;
pub mod records;
