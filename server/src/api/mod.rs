//! The client API: request validation, typed errors, and the gRPC service.

pub mod access;
pub mod backup;
pub mod convert;
pub mod errors;
pub mod members;
pub mod service;
pub mod validate;
