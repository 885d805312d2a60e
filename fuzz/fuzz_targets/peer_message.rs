//! cargo-fuzz target `peer_message`: see `tenure_server::fuzzing::peer_message`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tenure_server::fuzzing::peer_message(data));
