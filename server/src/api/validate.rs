//! Validation of client requests (DESIGN "Bad input"). Every check runs before a
//! command is proposed, so a bad request changes nothing.

use std::time::Duration;

use tonic::Status;

use super::errors::invalid;
use crate::machine::{MAX_REQUEST_ID, MAX_SESSION_TTL_MS, RequestId};

/// Longest lock name, in bytes.
pub const MAX_NAME_BYTES: usize = 256;
/// Session TTL range.
pub const MIN_TTL: Duration = Duration::from_millis(1_000);
/// Longest session TTL (the state machine cuts a longer one to it too).
pub const MAX_TTL: Duration = Duration::from_millis(MAX_SESSION_TTL_MS);
/// Longest wait of an acquire.
pub const MAX_WAIT: Duration = Duration::from_secs(3_600);
/// Longest lock-delay.
pub const MAX_LOCK_DELAY: Duration = Duration::from_secs(60);
/// Longest session label, admin reason or lock value, in bytes.
pub const MAX_TEXT_BYTES: usize = 1_024;
/// Most permits a semaphore may have.
pub const MAX_PERMITS: u32 = 1_000_000;
/// Most items returned by one list call.
pub const MAX_LIST: u32 = 10_000;

/// A lock name: 1..=256 bytes of UTF-8 without control characters.
pub fn lock_name(name: &str) -> Result<(), Status> {
    if name.is_empty() || name.len() > MAX_NAME_BYTES {
        return Err(invalid(format!(
            "lock name must be 1 to {MAX_NAME_BYTES} bytes, got {}",
            name.len()
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid("lock name must not contain control characters"));
    }
    Ok(())
}

/// A semaphore acquire: 1..=`limit` permits of 1..=[`MAX_PERMITS`].
pub fn permits(count: u32, limit: u32) -> Result<(), Status> {
    if limit == 0 || limit > MAX_PERMITS {
        return Err(invalid(format!(
            "permit_limit must be 1 to {MAX_PERMITS}, got {limit}"
        )));
    }
    if count == 0 || count > limit {
        return Err(invalid(format!(
            "permits must be 1 to permit_limit ({limit}), got {count}"
        )));
    }
    Ok(())
}

/// A free-form text field (label, reason).
pub fn text(what: &str, value: &str) -> Result<(), Status> {
    if value.len() > MAX_TEXT_BYTES {
        return Err(invalid(format!(
            "{what} is longer than {MAX_TEXT_BYTES} bytes"
        )));
    }
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(invalid(format!(
            "{what} must not contain control characters"
        )));
    }
    Ok(())
}

/// A duration in milliseconds within `min..=max`.
pub fn millis(what: &str, ms: u64, min: Duration, max: Duration) -> Result<u64, Status> {
    let d = Duration::from_millis(ms);
    if d < min || d > max {
        return Err(invalid(format!(
            "{what} must be between {} ms and {} ms, got {ms} ms",
            min.as_millis(),
            max.as_millis()
        )));
    }
    Ok(ms)
}

/// A session id (never 0).
pub fn session_id(id: u64) -> Result<u64, Status> {
    if id == 0 {
        return Err(invalid("session id must not be 0"));
    }
    Ok(id)
}

/// A request id: 1 to `MAX_REQUEST_ID`. 0 is refused because it is what an
/// unset proto3 field reads as: a client that never set it would get its first
/// request's recorded outcome for every later request (G5).
pub fn request_id(what: &str, id: u64) -> Result<RequestId, Status> {
    if id == 0 || id > MAX_REQUEST_ID {
        return Err(invalid(format!(
            "{what} must be between 1 and {MAX_REQUEST_ID}, got {id}"
        )));
    }
    Ok(id)
}

/// An owner id: 32 hexadecimal digits (nothing else: `from_str_radix` alone
/// would also take a leading `+`).
pub fn owner_id(s: &str) -> Result<u128, Status> {
    let bad = || invalid(format!("owner id must be 32 hex digits, got {}", quoted(s)));
    if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    u128::from_str_radix(s, 16).map_err(|_| bad())
}

/// Longest part of a client's input quoted back in an error message.
const QUOTED_CHARS: usize = 40;

/// A client's input as an error message quotes it: at most [`QUOTED_CHARS`]
/// characters, so that a huge input is not echoed back whole.
fn quoted(s: &str) -> String {
    let mut chars = s.chars();
    let head: String = chars.by_ref().take(QUOTED_CHARS).collect();
    if chars.next().is_some() {
        format!("{head:?}... ({} bytes)", s.len())
    } else {
        format!("{head:?}")
    }
}

/// The 16-byte open id of an OpenSession request.
pub fn open_id(bytes: &[u8]) -> Result<u128, Status> {
    let arr: [u8; 16] = bytes
        .try_into()
        .map_err(|_| invalid(format!("open_id must be 16 bytes, got {}", bytes.len())))?;
    Ok(u128::from_be_bytes(arr))
}

/// A list limit: 0 means the default.
pub fn limit(limit: u32) -> Result<usize, Status> {
    match limit {
        0 => Ok(1_000),
        n if n > MAX_LIST => Err(invalid(format!("limit must be at most {MAX_LIST}"))),
        n => Ok(n as usize),
    }
}

/// Renders an owner id the way clients see it.
pub fn owner_hex(owner: u128) -> String {
    format!("{owner:032x}")
}

/// A member's address: `HOST:PORT` with a non-empty host and a port 1-65535.
pub fn member_addr(addr: &str) -> Result<(), Status> {
    let bad = || {
        invalid(format!(
            "member address must be HOST:PORT, got {}",
            quoted(addr)
        ))
    };
    if addr.len() > 255
        || addr
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '/')
    {
        return Err(bad());
    }
    let (host, port) = addr.rsplit_once(':').ok_or_else(bad)?;
    match port.parse::<u16>() {
        Ok(p) if p > 0 && !host.is_empty() => Ok(()),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(lock_name("jobs/nightly").is_ok());
        assert!(lock_name("").is_err());
        assert!(lock_name(&"x".repeat(257)).is_err());
        assert!(lock_name("bad\nname").is_err());
        assert!(lock_name("ünïcödé").is_ok());
    }

    #[test]
    fn owner_ids_roundtrip() {
        let id = 0x0123_4567_89ab_cdef_0011_2233_4455_6677u128;
        assert_eq!(owner_id(&owner_hex(id)).ok(), Some(id));
        assert!(owner_id("xyz").is_err());
        assert!(owner_id(&"g".repeat(32)).is_err());
        // `from_str_radix` alone takes a sign.
        assert!(owner_id(&format!("+{}", "0".repeat(31))).is_err());
        let err = owner_id(&"x".repeat(1 << 20)).expect_err("too long");
        assert!(err.message().len() < 200, "{}", err.message().len());
    }

    #[test]
    fn request_ids() {
        assert!(request_id("request_id", 0).is_err());
        assert_eq!(request_id("request_id", 1).ok(), Some(1));
        assert_eq!(
            request_id("request_id", MAX_REQUEST_ID).ok(),
            Some(MAX_REQUEST_ID)
        );
        assert!(request_id("request_id", MAX_REQUEST_ID + 1).is_err());
        assert!(request_id("request_id", u64::MAX).is_err());
    }

    #[test]
    fn durations() {
        assert!(millis("ttl", 999, MIN_TTL, MAX_TTL).is_err());
        assert!(millis("ttl", 5_000, MIN_TTL, MAX_TTL).is_ok());
        assert!(millis("ttl", u64::MAX, MIN_TTL, MAX_TTL).is_err());
    }
}
