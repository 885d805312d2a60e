//! cargo-fuzz target `wal_recovery`: see `tenure_server::fuzzing::wal_recovery`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tenure_server::fuzzing::wal_recovery(data));
