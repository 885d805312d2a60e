//! Core errors as one uniffi error enum, and the core's lists for the
//! binding's tests.

use tenure::ErrorKind;

/// A failed call. One variant per stable error kind of the core; the message
/// is the core's message (without the kind). The idiomatic Kotlin layer maps it
/// to `dev.tenure.TenureException` (a test checks that the variants are the core's `ErrorKind::ALL`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum NativeError {
    /// No server could be reached, or none could serve the call in time.
    #[error("{message}")]
    Unavailable {
        /// What happened.
        message: String,
    },
    /// The call's deadline passed (for example a waiting acquire's timeout).
    #[error("{message}")]
    Timeout {
        /// What happened.
        message: String,
    },
    /// A try-acquire found the lock held.
    #[error("{message}")]
    LockHeld {
        /// What happened.
        message: String,
    },
    /// The lock is no longer held (or a storage rejected a stale fencing token).
    #[error("{message}")]
    LockLost {
        /// What happened.
        message: String,
    },
    /// The session expired (or was closed).
    #[error("{message}")]
    SessionExpired {
        /// What happened.
        message: String,
    },
    /// The session was blacklisted by an administrator.
    #[error("{message}")]
    SessionBlacklisted {
        /// What happened.
        message: String,
    },
    /// The grant named is not current (force-release of a stale owner id).
    #[error("{message}")]
    NotHolder {
        /// What happened.
        message: String,
    },
    /// The request was malformed; nothing changed.
    #[error("{message}")]
    InvalidArgument {
        /// What happened.
        message: String,
    },
    /// The caller may not do this.
    #[error("{message}")]
    PermissionDenied {
        /// What happened.
        message: String,
    },
    /// A server limit was reached.
    #[error("{message}")]
    ResourceExhausted {
        /// What happened.
        message: String,
    },
    /// The call was cancelled.
    #[error("{message}")]
    Cancelled {
        /// What happened.
        message: String,
    },
    /// A bug or an unexpected reply.
    #[error("{message}")]
    Internal {
        /// What happened.
        message: String,
    },
}

impl From<tenure::Error> for NativeError {
    fn from(e: tenure::Error) -> Self {
        let message = e.message().to_owned();
        match e.kind() {
            ErrorKind::Unavailable => NativeError::Unavailable { message },
            ErrorKind::Timeout => NativeError::Timeout { message },
            ErrorKind::LockHeld => NativeError::LockHeld { message },
            ErrorKind::LockLost => NativeError::LockLost { message },
            ErrorKind::SessionExpired => NativeError::SessionExpired { message },
            ErrorKind::SessionBlacklisted => NativeError::SessionBlacklisted { message },
            ErrorKind::NotHolder => NativeError::NotHolder { message },
            ErrorKind::InvalidArgument => NativeError::InvalidArgument { message },
            ErrorKind::PermissionDenied => NativeError::PermissionDenied { message },
            ErrorKind::ResourceExhausted => NativeError::ResourceExhausted { message },
            ErrorKind::Cancelled => NativeError::Cancelled { message },
            ErrorKind::Internal => NativeError::Internal { message },
        }
    }
}

/// The stable code of every error kind (for example `LOCK_HELD`), in the order
/// of the [`NativeError`] variants, as the core names them (`ErrorKind::ALL`).
#[uniffi::export]
pub fn error_codes() -> Vec<String> {
    ErrorKind::ALL
        .into_iter()
        .map(|k| k.code().to_owned())
        .collect()
}

/// The core's text for a lost reason (for example `session expired`).
#[uniffi::export]
pub fn lost_reason_text(reason: tenure::LostReason) -> String {
    reason.to_string()
}
