//! Fencing tokens on their way to storage.
//!
//! A holder sends its [`Fence`] with every write, as the header
//! `tenure-fence: <lock>=<token>`; the storage keeps the highest token it has
//! seen per resource and rejects lower ones ([`FenceValidator`]). In SQL the
//! same check is one conditional write:
//!
//! ```sql
//! UPDATE accounts SET balance = $1, fence = $token WHERE id = $2 AND fence <= $token;
//! -- 0 rows updated: a newer holder has written; this one is stale.
//! ```

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use parking_lot::Mutex;

use crate::client::validate_lock_name;
use crate::error::{Error, ErrorKind, Result};

/// The header that carries a fence.
pub const FENCE_HEADER: &str = "tenure-fence";

/// A lock name and a fencing token.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Fence {
    /// The lock (resource) name.
    pub lock: String,
    /// The fencing token of the grant.
    pub token: u64,
}

impl Fence {
    /// A fence for `lock` at `token`. For names from outside (a binding's
    /// caller), use [`Fence::try_new`], which checks the name.
    pub fn new(lock: impl Into<String>, token: u64) -> Fence {
        Fence {
            lock: lock.into(),
            token,
        }
    }

    /// A fence for `lock` at `token`, if `lock` is a valid lock name
    /// ([`validate_lock_name`]); `InvalidArgument` otherwise.
    pub fn try_new(lock: impl Into<String>, token: u64) -> Result<Fence> {
        let lock = lock.into();
        validate_lock_name(&lock)?;
        Ok(Fence { lock, token })
    }

    /// The header value, `<lock>=<token>`. Bytes of the name outside visible
    /// ASCII, and `%`, are percent-encoded so the value is a valid header.
    pub fn header_value(&self) -> String {
        let mut out = String::with_capacity(self.lock.len() + 21);
        for b in self.lock.bytes() {
            if b.is_ascii_graphic() && b != b'%' {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out.push('=');
        out.push_str(&self.token.to_string());
        out
    }

    /// Parses a header value made by [`Fence::header_value`].
    pub fn parse(value: &str) -> Result<Fence> {
        let bad = || Error::invalid(format!("{value:?} is not a fence (<lock>=<token>)"));
        let (name, token) = value.trim().rsplit_once('=').ok_or_else(bad)?;
        let token: u64 = token.parse().map_err(|_| bad())?;
        let mut bytes = Vec::with_capacity(name.len());
        let mut rest = name.as_bytes();
        while let Some((&b, tail)) = rest.split_first() {
            if b == b'%' {
                let hex = tail.get(..2).ok_or_else(bad)?;
                let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
                bytes.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
                rest = &tail[2..];
            } else {
                bytes.push(b);
                rest = tail;
            }
        }
        let lock = String::from_utf8(bytes).map_err(|_| bad())?;
        Fence::try_new(lock, token)
            .map_err(|e| Error::invalid(format!("{value:?} is not a fence: {}", e.message())))
    }
}

impl fmt::Display for Fence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.header_value())
    }
}

impl FromStr for Fence {
    type Err = Error;
    fn from_str(s: &str) -> Result<Fence> {
        Fence::parse(s)
    }
}

/// The storage side: remembers the highest token seen per resource and rejects
/// writes carrying a lower one. Equal tokens pass (one holder writes many times).
#[derive(Debug, Default)]
pub struct FenceValidator {
    highest: Mutex<HashMap<String, u64>>,
}

impl FenceValidator {
    /// An empty validator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts `fence` if its token is at least the highest seen for its lock
    /// (and records it); otherwise fails with `LockLost` (`InvalidArgument`
    /// if its lock is not a valid lock name).
    pub fn check(&self, fence: &Fence) -> Result<()> {
        validate_lock_name(&fence.lock)?;
        let mut highest = self.highest.lock();
        let seen = highest.entry(fence.lock.clone()).or_insert(0);
        if fence.token < *seen {
            return Err(Error::new(
                ErrorKind::LockLost,
                format!(
                    "stale fencing token {} for {:?}: {} was already seen",
                    fence.token, fence.lock, seen
                ),
            ));
        }
        *seen = fence.token;
        Ok(())
    }

    /// Parses a header value and checks it.
    pub fn check_header(&self, value: &str) -> Result<Fence> {
        let fence = Fence::parse(value)?;
        self.check(&fence)?;
        Ok(fence)
    }

    /// The highest token seen for `lock`.
    pub fn highest(&self, lock: &str) -> Option<u64> {
        self.highest.lock().get(lock).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_roundtrip_with_odd_names() {
        for name in ["jobs/nightly", "a=b", "with space", "ünï", "100%", "x=1=2"] {
            let f = Fence::new(name, 42);
            let parsed = Fence::parse(&f.header_value()).expect("parses");
            assert_eq!(parsed, f, "{name}");
            assert!(f.header_value().bytes().all(|b| b.is_ascii_graphic()));
        }
        assert_eq!(Fence::new("jobs/x", 7).header_value(), "jobs/x=7");
    }

    #[test]
    fn bad_headers_are_rejected() {
        for bad in [
            "", "noequals", "x=", "=5", "x=-1", "x=abc", "bad%zz=1", "%F0=1", "a%0Ab=1",
        ] {
            assert!(Fence::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_are_checked_like_lock_names() {
        assert!(Fence::try_new("jobs/x", 1).is_ok());
        for bad in [String::new(), "a\nb".to_owned(), "x".repeat(257)] {
            let err = Fence::try_new(bad.clone(), 1).expect_err("bad name");
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{bad:?}");
            let err = FenceValidator::new()
                .check(&Fence::new(bad.clone(), 1))
                .expect_err("bad name");
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{bad:?}");
        }
    }

    #[test]
    fn validator_rejects_lower_tokens_per_lock() {
        let v = FenceValidator::new();
        assert!(v.check(&Fence::new("a", 5)).is_ok());
        assert!(v.check(&Fence::new("a", 5)).is_ok());
        let err = v.check(&Fence::new("a", 4)).expect_err("stale");
        assert_eq!(err.kind(), ErrorKind::LockLost);
        assert!(v.check(&Fence::new("b", 1)).is_ok());
        assert!(v.check(&Fence::new("a", 9)).is_ok());
        assert_eq!(v.highest("a"), Some(9));
    }
}
