//! Typed errors of the client API: a gRPC status whose code suits generic gRPC
//! clients and whose details carry an `ErrorInfo` with the stable tenure kind.

use prost::Message;
use tenure_proto::v1::{ErrorInfo, ErrorKind};
use tonic::{Code, Status};

use crate::machine::Rejection;

/// A status of `kind` with `message`.
pub fn error(kind: ErrorKind, message: impl Into<String>) -> Status {
    with_info(ErrorInfo {
        kind: kind as i32,
        message: message.into(),
        leader_id: 0,
        leader_addr: String::new(),
    })
}

fn with_info(info: ErrorInfo) -> Status {
    let kind = ErrorKind::try_from(info.kind).unwrap_or(ErrorKind::Internal);
    let message = info.message.clone();
    Status::with_details(code_for(kind), message, info.encode_to_vec().into())
}

fn code_for(kind: ErrorKind) -> Code {
    match kind {
        ErrorKind::Unavailable | ErrorKind::NotLeader => Code::Unavailable,
        ErrorKind::Timeout => Code::DeadlineExceeded,
        ErrorKind::LockHeld | ErrorKind::NotHolder | ErrorKind::LockLost => {
            Code::FailedPrecondition
        }
        ErrorKind::SessionExpired => Code::NotFound,
        ErrorKind::SessionBlacklisted | ErrorKind::PermissionDenied => Code::PermissionDenied,
        ErrorKind::InvalidArgument => Code::InvalidArgument,
        ErrorKind::ResourceExhausted => Code::ResourceExhausted,
        ErrorKind::Cancelled => Code::Cancelled,
        ErrorKind::AlreadyHeld => Code::AlreadyExists,
        ErrorKind::Internal | ErrorKind::Unspecified => Code::Internal,
    }
}

/// NOT_LEADER, with the leader's id and address when known.
pub fn not_leader(leader: Option<(u64, String)>) -> Status {
    let (leader_id, leader_addr) = leader.unwrap_or_default();
    let message = if leader_addr.is_empty() {
        "this node is not the leader and knows no leader".to_owned()
    } else {
        format!("not the leader; the leader is node {leader_id} at {leader_addr}")
    };
    with_info(ErrorInfo {
        kind: ErrorKind::NotLeader as i32,
        message,
        leader_id,
        leader_addr,
    })
}

/// INVALID_ARGUMENT.
pub fn invalid(message: impl Into<String>) -> Status {
    error(ErrorKind::InvalidArgument, message)
}

/// UNAVAILABLE.
pub fn unavailable(message: impl Into<String>) -> Status {
    error(ErrorKind::Unavailable, message)
}

/// INTERNAL.
pub fn internal(message: impl Into<String>) -> Status {
    error(ErrorKind::Internal, message)
}

/// The status for a command the state machine rejected.
pub fn rejected(r: &Rejection) -> Status {
    let kind = match r {
        Rejection::SessionExpired(_) => ErrorKind::SessionExpired,
        Rejection::SessionBlacklisted(_) => ErrorKind::SessionBlacklisted,
        Rejection::LockHeld(_) => ErrorKind::LockHeld,
        Rejection::AlreadyHeld(_) => ErrorKind::AlreadyHeld,
        Rejection::NotHolder { .. } => ErrorKind::NotHolder,
        Rejection::TimedOut(_) => ErrorKind::Timeout,
        Rejection::Cancelled(_) => ErrorKind::Cancelled,
        Rejection::StaleRequest(_)
        | Rejection::UnknownRequest(_)
        | Rejection::InvalidRequest(_)
        | Rejection::Mismatch { .. } => ErrorKind::InvalidArgument,
    };
    error(kind, r.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_carry_the_kind_and_leader() {
        let status = not_leader(Some((2, "127.0.0.1:7101".into())));
        assert_eq!(status.code(), Code::Unavailable);
        let info = ErrorInfo::decode(status.details()).expect("decodes");
        assert_eq!(info.kind, ErrorKind::NotLeader as i32);
        assert_eq!(info.leader_addr, "127.0.0.1:7101");
        let status = rejected(&Rejection::LockHeld("x".into()));
        let info = ErrorInfo::decode(status.details()).expect("decodes");
        assert_eq!(info.kind, ErrorKind::LockHeld as i32);
    }
}
