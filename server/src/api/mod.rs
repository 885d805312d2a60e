//! The client API: request validation, typed errors, and the gRPC service.
//!
//! [`service`] routes each call to the module of its topic: [`sessions`],
//! [`locks`], [`reads`], [`admin`] (with [`members`] and [`backup`] for
//! membership changes and snapshot saves), [`watch`] (lock change streams). Each handler starts from
//! [`calls::Calls`]; [`access`] identifies callers and checks their
//! permissions.

pub mod access;
pub mod admin;
pub mod backup;
pub mod calls;
pub mod convert;
pub mod errors;
pub mod locks;
pub mod members;
pub mod reads;
pub mod service;
pub mod sessions;
pub mod validate;
pub mod watch;
