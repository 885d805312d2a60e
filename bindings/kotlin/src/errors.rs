//! Core errors as one uniffi error enum, and the core's lists for the
//! binding's tests.

use tenure::ErrorKind;

/// Generates [`NativeError`], one variant per kind of the core's table
/// (`tenure::error_kinds!`), and its conversion from the core's error.
macro_rules! native_errors {
    ($($name:ident $code:literal $doc:literal;)*) => {
        /// A failed call. One variant per stable error kind of the core; the
        /// message is the core's message (without the kind). The idiomatic Kotlin
        /// layer maps it to `dev.tenure.TenureException` (a test checks that
        /// both are the core's `ErrorKind::ALL`).
        #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
        #[uniffi(flat_error)]
        pub enum NativeError {
            $(
                #[doc = $doc]
                #[error("{message}")]
                $name {
                    /// What happened.
                    message: String,
                },
            )*
        }

        impl From<tenure::Error> for NativeError {
            fn from(e: tenure::Error) -> Self {
                let message = e.message().to_owned();
                match e.kind() {
                    $(ErrorKind::$name => NativeError::$name { message },)*
                }
            }
        }
    };
}

tenure::error_kinds!(native_errors);

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
