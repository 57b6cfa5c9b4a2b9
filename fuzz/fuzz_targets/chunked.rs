//! The chunked decoder (RFC 9112 §7.1), reached through the engine behind a fixed
//! chunked request head. The first byte picks the read size. A body that comes out is
//! never larger than `max_body`.
#![no_main]

use carbon_fuzz::{drive_h1, small_limits};
use libfuzzer_sys::fuzz_target;

const HEAD: &[u8] = b"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";

fuzz_target!(|data: &[u8]| {
    let [piece, body @ ..] = data else {
        return;
    };
    let limits = small_limits();
    let max_body = limits.max_body;
    let mut input = HEAD.to_vec();
    input.extend_from_slice(body);
    let t = drive_h1(&input, usize::from(*piece) + 1, 0, limits);
    for r in &t.requests {
        assert!(r.body().len() <= max_body, "body over max_body");
    }
});
