//! The HPACK decoder fed arbitrary header blocks. The first byte picks our table size,
//! header list limit and re-encoding strategy; then length-prefixed blocks share one
//! decoding context. Invariants: `carbon_fuzz::hpack::invariants` (carbon-core's
//! `proto/h2/hpack/fuzz_invariants.rs`).
#![no_main]

use carbon_fuzz::hpack::invariants::check_decode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    check_decode(data);
});
