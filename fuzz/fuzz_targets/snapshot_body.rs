//! cargo-fuzz target `snapshot_body`: see `tenure_server::fuzzing::snapshot_body`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tenure_server::fuzzing::snapshot_body(data));
