//! Client and acquire options: the core's own records (`ClientOptions`,
//! `TlsOptions`, `AcquireOptions`, derived in the core), with the core's
//! defaults and checks.

use tenure::ClientOptions;

use crate::errors::NativeError;

/// The core's default client options.
#[uniffi::export]
pub fn default_client_options() -> ClientOptions {
    ClientOptions::default()
}

/// Checks client options for consistency, as `connect` does.
#[uniffi::export]
pub fn validate_client_options(options: ClientOptions) -> Result<(), NativeError> {
    Ok(options.validate()?)
}

/// Checks a lock name the way the server does.
#[uniffi::export]
pub fn validate_lock_name(name: String) -> Result<(), NativeError> {
    Ok(tenure::validate_lock_name(&name)?)
}

/// Most names in one `acquire_all` (the server's limit, `tenure::MAX_ACQUIRE_ALL`).
#[uniffi::export]
pub fn max_acquire_all() -> u32 {
    u32::try_from(tenure::MAX_ACQUIRE_ALL).unwrap_or(u32::MAX)
}
