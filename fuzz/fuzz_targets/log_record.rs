//! cargo-fuzz target `log_record`: see `tenure_server::fuzzing::log_record`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tenure_server::fuzzing::log_record(data));
