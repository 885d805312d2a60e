//! The one error type of the client, with the stable kinds every language shares.

use tenure_proto::v1 as pb;
use tonic::Code;

/// The stable error kinds, as one table: [`ErrorKind`] is generated from it,
/// and so are the bindings' per-kind items (`tenure::error_kinds!(m)` calls the
/// binding's macro `m` with the table), so no binding keeps a copy. Each entry
/// is `Name "CODE" "what it means";`.
#[macro_export]
macro_rules! error_kinds {
    ($callback:ident) => {
        $callback! {
            Unavailable "UNAVAILABLE" "No server could be reached, or none could serve the call in time.";
            Timeout "TIMEOUT" "The call's deadline passed (for example a waiting acquire's timeout).";
            LockHeld "LOCK_HELD" "A try-acquire found the lock held.";
            LockLost "LOCK_LOST" "The lock is no longer held (session ended, force-released, or a storage rejected a stale fencing token).";
            SessionExpired "SESSION_EXPIRED" "The session expired (or was closed).";
            SessionBlacklisted "SESSION_BLACKLISTED" "The session was blacklisted by an administrator.";
            NotHolder "NOT_HOLDER" "The grant named is not current (force-release of a stale owner id).";
            InvalidArgument "INVALID_ARGUMENT" "The request was malformed; nothing changed.";
            PermissionDenied "PERMISSION_DENIED" "The caller may not do this.";
            ResourceExhausted "RESOURCE_EXHAUSTED" "A server limit was reached.";
            Cancelled "CANCELLED" "The call was cancelled.";
            AlreadyHeld "ALREADY_HELD" "This client's session already holds the lock: a second acquire fails at once instead of waiting behind itself.";
            Internal "INTERNAL" "A bug or an unexpected reply.";
        }
    };
}

/// Generates [`ErrorKind`] from [`error_kinds!`].
macro_rules! core_error_kinds {
    ($($name:ident $code:literal $doc:literal;)*) => {
        /// The stable error kinds (DESIGN "Client core"), identical in every binding.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorKind {
            $(#[doc = $doc] $name,)*
        }

        /// How many kinds there are.
        const KIND_COUNT: usize = [$($code),*].len();

        impl ErrorKind {
            /// Every kind, in a fixed order (for bindings that build one class per kind).
            pub const ALL: [ErrorKind; KIND_COUNT] = [$(ErrorKind::$name),*];

            /// The kind's stable name, as used by every binding (for example `LOCK_HELD`).
            pub fn code(self) -> &'static str {
                match self {
                    $(ErrorKind::$name => $code,)*
                }
            }

            /// The kind's name in CamelCase (`LockHeld`): bindings derive their class
            /// names from it by their language's rule.
            pub fn name(self) -> &'static str {
                match self {
                    $(ErrorKind::$name => stringify!($name),)*
                }
            }

            /// What the kind means, one sentence (the bindings' class documentation).
            pub fn description(self) -> &'static str {
                match self {
                    $(ErrorKind::$name => $doc,)*
                }
            }
        }
    };
}

error_kinds!(core_error_kinds);

impl ErrorKind {
    /// The kind of a [`ErrorKind::code`], if it is one.
    pub fn from_code(code: &str) -> Option<ErrorKind> {
        Self::ALL.into_iter().find(|k| k.code() == code)
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
            pb::ErrorKind::AlreadyHeld => ErrorKind::AlreadyHeld,
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
