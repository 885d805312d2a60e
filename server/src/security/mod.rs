//! Security: TLS on client and peer links, authentication of callers,
//! per-prefix authorization, and limits against misbehaving clients.

pub mod auth;
pub mod denials;
pub mod limits;
pub mod tls;
