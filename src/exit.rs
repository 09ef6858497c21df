//! Exit codes (contract section 2) and the error that carries one.

/// 0: did what it could; 1: a runtime failure; 2: a usage or configuration error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success = 0,
    Failure = 1,
    Usage = 2,
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> std::process::ExitCode {
        std::process::ExitCode::from(e as u8)
    }
}

/// An error for the user: one line, and the exit code it calls for.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    pub exit: Exit,
    pub message: String,
}

impl AppError {
    pub fn usage(message: impl Into<String>) -> AppError {
        AppError { exit: Exit::Usage, message: message.into() }
    }
    pub fn failure(message: impl Into<String>) -> AppError {
        AppError { exit: Exit::Failure, message: message.into() }
    }
}
