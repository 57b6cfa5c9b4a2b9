//! The HTTP/2 engine fed arbitrary frames after a valid client preface. The first
//! byte picks the read size (so every split of a frame is reached), the second the
//! clock step in seconds.
#![no_main]

use carbon_fuzz::drive_h2;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [piece, tick, input @ ..] = data else {
        return;
    };
    drive_h2(input, usize::from(*piece) + 1, u64::from(*tick) % 30);
});
