//! cargo-fuzz target `snapshot_file`: see `tenure_server::fuzzing::snapshot_file`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tenure_server::fuzzing::snapshot_file(data));
