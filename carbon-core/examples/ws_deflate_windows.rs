//! Cost of permessage-deflate compression per server window (RFC 7692 §7.1.2.1):
//! compresses a 128 KiB JSON-like message N times with one codec (context takeover,
//! as Autobahn 13.3.x/13.4.x do) for each `server_max_window_bits` given.
//!
//! `cargo run --release -p carbon-core --example ws_deflate_windows -- [N] [BITS,...]`
//! Under callgrind (instruction counts, repeatable on a busy machine):
//! `valgrind --tool=callgrind target/release/examples/ws_deflate_windows 20 9`

use std::time::Instant;

use carbon_core::proto::ws::deflate::{negotiate, DeflateCodec};

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(100);
    let windows: Vec<u8> = args
        .next()
        .map(|a| a.split(',').filter_map(|b| b.parse().ok()).collect())
        .unwrap_or_else(|| (9..=15).collect());
    let msg = json_like(128 * 1024);
    for bits in windows {
        let offer = format!("permessage-deflate; server_max_window_bits={bits}");
        let Some(params) = negotiate(std::iter::once(offer.as_str())) else {
            eprintln!("window {bits}: offer declined");
            continue;
        };
        let mut codec = DeflateCodec::new(params);
        let start = Instant::now();
        let mut wire = 0;
        for _ in 0..n {
            wire += codec.compress(&msg).len();
        }
        let per = start.elapsed() / n.max(1);
        let ratio = wire as f64 / (f64::from(n.max(1)) * msg.len() as f64);
        println!("window {bits:2}: {per:>10.2?} per 128 KiB message, output/input {ratio:.3}");
    }
}

/// Records of varying numbers and names, so matches are found at every distance.
fn json_like(len: usize) -> Vec<u8> {
    let names = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta"];
    let mut x = 7u32;
    let mut out = Vec::with_capacity(len + 128);
    while out.len() < len {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let name = names[(x >> 20) as usize % names.len()];
        out.extend_from_slice(
            format!(
                "{{\"id\":{},\"name\":\"{name}\",\"score\":{}}},",
                x >> 8,
                x % 1000
            )
            .as_bytes(),
        );
    }
    out.truncate(len);
    out
}
