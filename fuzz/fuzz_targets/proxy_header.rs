//! The PROXY protocol parser fed arbitrary bytes, whole and at every split.
//! Invariants: `carbon_fuzz::proxy::invariants` (carbon-core's
//! `proto/proxy/fuzz_invariants.rs`).
#![no_main]

use carbon_fuzz::proxy::invariants::check_parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    check_parse(data);
});
