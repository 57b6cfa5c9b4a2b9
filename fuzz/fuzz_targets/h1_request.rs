//! The HTTP/1.1 engine fed arbitrary bytes. The first byte picks the read size (so
//! every split of the head is reached), the second the clock step and the limits.
#![no_main]

use carbon_core::limits::Limits;
use carbon_fuzz::{drive_h1, small_limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [piece, mode, input @ ..] = data else {
        return;
    };
    let limits = if mode & 1 == 0 {
        Limits::default()
    } else {
        small_limits()
    };
    let tick = u64::from(mode >> 1) % 40;
    drive_h1(input, usize::from(*piece) + 1, tick, limits);
});
