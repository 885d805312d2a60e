//! cargo-fuzz target `machine_commands`: see `tenure_server::fuzzing::machine_commands`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tenure_server::fuzzing::machine_commands(data));
