//! The one error type of the client, with the stable kinds every language shares.

use tenure_proto::v1 as pb;
use tonic::Code;

/// The stable error kinds (DESIGN "Client core"), identical in every binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// No server could be reached, or none could serve the call in time.
    Unavailable,
    /// The call's deadline passed (for example a waiting acquire's timeout).
    Timeout,
    /// A try-acquire found the lock held.
    LockHeld,
    /// The lock is no longer held (session ended, force-released, or a storage
    /// rejected a stale fencing token).
    LockLost,
    /// The session expired (or was closed).
    SessionExpired,
    /// The session was blacklisted by an administrator.
    SessionBlacklisted,
    /// The grant named is not current (force-release of a stale owner id).
    NotHolder,
    /// The request was malformed; nothing changed.
    InvalidArgument,
    /// The caller may not do this.
    PermissionDenied,
    /// A server limit was reached.
    ResourceExhausted,
    /// The call was cancelled.
    Cancelled,
    /// A bug or an unexpected reply.
    Internal,
}

impl ErrorKind {
    /// Every kind, in a fixed order (for bindings that build one class per kind).
    pub const ALL: [ErrorKind; 12] = [
        ErrorKind::Unavailable,
        ErrorKind::Timeout,
        ErrorKind::LockHeld,
        ErrorKind::LockLost,
        ErrorKind::SessionExpired,
        ErrorKind::SessionBlacklisted,
        ErrorKind::NotHolder,
        ErrorKind::InvalidArgument,
        ErrorKind::PermissionDenied,
        ErrorKind::ResourceExhausted,
        ErrorKind::Cancelled,
        ErrorKind::Internal,
    ];

    /// The kind of a [`ErrorKind::code`], if it is one.
    pub fn from_code(code: &str) -> Option<ErrorKind> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The kind's name in CamelCase (`LockHeld`): bindings derive their class
    /// names from it by their language's rule.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Unavailable => "Unavailable",
            ErrorKind::Timeout => "Timeout",
            ErrorKind::LockHeld => "LockHeld",
            ErrorKind::LockLost => "LockLost",
            ErrorKind::SessionExpired => "SessionExpired",
            ErrorKind::SessionBlacklisted => "SessionBlacklisted",
            ErrorKind::NotHolder => "NotHolder",
            ErrorKind::InvalidArgument => "InvalidArgument",
            ErrorKind::PermissionDenied => "PermissionDenied",
            ErrorKind::ResourceExhausted => "ResourceExhausted",
            ErrorKind::Cancelled => "Cancelled",
            ErrorKind::Internal => "Internal",
        }
    }

    /// What the kind means, one sentence (the bindings' class documentation).
    pub fn description(self) -> &'static str {
        match self {
            ErrorKind::Unavailable => {
                "No server could be reached, or none could serve the call in time."
            }
            ErrorKind::Timeout => {
                "The call's deadline passed (for example a waiting acquire's timeout)."
            }
            ErrorKind::LockHeld => "A try-acquire found the lock held.",
            ErrorKind::LockLost => {
                "The lock is no longer held (session ended, force-released, or a storage rejected a stale fencing token)."
            }
            ErrorKind::SessionExpired => "The session expired (or was closed).",
            ErrorKind::SessionBlacklisted => "The session was blacklisted by an administrator.",
            ErrorKind::NotHolder => {
                "The grant named is not current (force-release of a stale owner id)."
            }
            ErrorKind::InvalidArgument => "The request was malformed; nothing changed.",
            ErrorKind::PermissionDenied => "The caller may not do this.",
            ErrorKind::ResourceExhausted => "A server limit was reached.",
            ErrorKind::Cancelled => "The call was cancelled.",
            ErrorKind::Internal => "A bug or an unexpected reply.",
        }
    }

    /// The kind's stable name, as used by every binding (for example `LOCK_HELD`).
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::Unavailable => "UNAVAILABLE",
            ErrorKind::Timeout => "TIMEOUT",
            ErrorKind::LockHeld => "LOCK_HELD",
            ErrorKind::LockLost => "LOCK_LOST",
            ErrorKind::SessionExpired => "SESSION_EXPIRED",
            ErrorKind::SessionBlacklisted => "SESSION_BLACKLISTED",
            ErrorKind::NotHolder => "NOT_HOLDER",
            ErrorKind::InvalidArgument => "INVALID_ARGUMENT",
            ErrorKind::PermissionDenied => "PERMISSION_DENIED",
            ErrorKind::ResourceExhausted => "RESOURCE_EXHAUSTED",
            ErrorKind::Cancelled => "CANCELLED",
            ErrorKind::Internal => "INTERNAL",
        }
    }
}

/// A client error: a stable kind and a human-readable message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", kind.code())]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

/// Result with the client's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }

    /// The stable kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without the kind.
    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidArgument, message)
    }

    pub(crate) fn unavailable(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Unavailable, message)
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Internal, message)
    }
}

/// What a failed call means for the retry loop.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The node is not the leader; the leader's address if it knows it.
    NotLeader(Option<String>),
    /// Try another node (after a backoff).
    Retry(Error),
    /// Final.
    Fatal(Error),
}

/// Decodes a status from a tenure server (or from the transport).
pub(crate) fn classify(status: &tonic::Status) -> Failure {
    use prost::Message;
    if let Ok(info) = pb::ErrorInfo::decode(status.details())
        && let Ok(kind) = pb::ErrorKind::try_from(info.kind)
        && kind != pb::ErrorKind::Unspecified
    {
        let message = info.message;
        let kind = match kind {
            pb::ErrorKind::NotLeader => {
                let addr = (!info.leader_addr.is_empty()).then_some(info.leader_addr);
                return Failure::NotLeader(addr);
            }
            pb::ErrorKind::Unavailable => return Failure::Retry(Error::unavailable(message)),
            pb::ErrorKind::Timeout => ErrorKind::Timeout,
            pb::ErrorKind::LockHeld => ErrorKind::LockHeld,
            pb::ErrorKind::LockLost => ErrorKind::LockLost,
            pb::ErrorKind::SessionExpired => ErrorKind::SessionExpired,
            pb::ErrorKind::SessionBlacklisted => ErrorKind::SessionBlacklisted,
            pb::ErrorKind::NotHolder => ErrorKind::NotHolder,
            pb::ErrorKind::InvalidArgument => ErrorKind::InvalidArgument,
            pb::ErrorKind::PermissionDenied => ErrorKind::PermissionDenied,
            pb::ErrorKind::ResourceExhausted => ErrorKind::ResourceExhausted,
            pb::ErrorKind::Cancelled => ErrorKind::Cancelled,
            pb::ErrorKind::Internal | pb::ErrorKind::Unspecified => ErrorKind::Internal,
        };
        return Failure::Fatal(Error::new(kind, message));
    }
    // No tenure details: a transport failure or a non-tenure server.
    let message = status.message().to_owned();
    match status.code() {
        Code::Unavailable | Code::Unknown | Code::Aborted | Code::Cancelled => {
            Failure::Retry(Error::unavailable(message))
        }
        Code::DeadlineExceeded => Failure::Retry(Error::new(ErrorKind::Timeout, message)),
        Code::InvalidArgument => Failure::Fatal(Error::invalid(message)),
        Code::PermissionDenied | Code::Unauthenticated => {
            Failure::Fatal(Error::new(ErrorKind::PermissionDenied, message))
        }
        Code::ResourceExhausted => {
            Failure::Fatal(Error::new(ErrorKind::ResourceExhausted, message))
        }
        _ => Failure::Fatal(Error::internal(format!("{:?}: {message}", status.code()))),
    }
}
