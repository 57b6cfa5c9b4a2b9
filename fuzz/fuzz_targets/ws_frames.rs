//! The WebSocket engine fed arbitrary client bytes after the handshake, with and
//! without permessage-deflate. The first byte picks the read size, the second the
//! options (deflate, small limits, streaming). Invariants:
//! `carbon_fuzz::ws::invariants` (carbon-core's `proto/ws/fuzz_invariants.rs`).
#![no_main]

use carbon_fuzz::ws::invariants::check_frames;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    check_frames(data);
});
