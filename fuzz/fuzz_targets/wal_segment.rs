//! cargo-fuzz target `wal_segment`: see `tenure_server::fuzzing::wal_segment`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tenure_server::fuzzing::wal_segment(data));
