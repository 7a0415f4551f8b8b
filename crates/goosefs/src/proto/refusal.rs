//! Typed refusals: what a client acts on (FUSE's errno, the CLI's exit code) is the kind, never
//! the text.

use serde::{Deserialize, Serialize};

/// What kind of refusal: what a client acts on (FUSE's errno, the CLI's exit code), never the
/// text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RefusalKind {
    /// The path does not exist.
    NotFound,
    /// The path exists already.
    Exists,
    /// A directory that is not empty.
    NotEmpty,
    /// In use.
    Busy,
    /// Malformed or out of bounds.
    Invalid,
    /// No credential, or one this runtime does not know.
    Unauthenticated,
    /// The caller's role may not do this, or the policy does not allow it.
    Forbidden,
    /// Anything else (a UFS that cannot be read, a job that failed).
    Failed,
}

/// A refused request: its kind and one line for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    /// What kind.
    pub kind: RefusalKind,
    /// Why, one line.
    pub message: String,
}

impl Refusal {
    /// A refusal of `kind`.
    pub fn new(kind: RefusalKind, message: impl Into<String>) -> Refusal {
        Refusal {
            kind,
            message: message.into(),
        }
    }

    /// [`RefusalKind::NotFound`].
    pub fn not_found(message: impl Into<String>) -> Refusal {
        Refusal::new(RefusalKind::NotFound, message)
    }

    /// [`RefusalKind::Exists`].
    pub fn exists(message: impl Into<String>) -> Refusal {
        Refusal::new(RefusalKind::Exists, message)
    }

    /// [`RefusalKind::Invalid`].
    pub fn invalid(message: impl Into<String>) -> Refusal {
        Refusal::new(RefusalKind::Invalid, message)
    }

    /// [`RefusalKind::Failed`].
    pub fn failed(message: impl Into<String>) -> Refusal {
        Refusal::new(RefusalKind::Failed, message)
    }

    /// The HTTP status a refusal made before any handler (authentication, authorisation) has.
    pub fn http_status(&self) -> u16 {
        match self.kind {
            RefusalKind::Unauthenticated => 401,
            RefusalKind::Forbidden => 403,
            RefusalKind::Invalid => 400,
            RefusalKind::NotFound => 404,
            RefusalKind::Exists | RefusalKind::NotEmpty | RefusalKind::Busy => 409,
            RefusalKind::Failed => 500,
        }
    }
}
