//! cargo-fuzz target `request_validation`: see `tenure_server::fuzzing::request_validation`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tenure_server::fuzzing::request_validation(data));
