//! cargo-fuzz target `access_file`: see `tenure_server::fuzzing::access_file`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tenure_server::fuzzing::access_file(data));
