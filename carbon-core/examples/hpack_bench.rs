//! A by-hand throughput check of the HPACK encoder and decoder (not a timed test):
//!
//! ```sh
//! cargo run --release -p carbon-core --example hpack_bench
//! ```
//!
//! Workloads: a static server's response head repeated (the hot path), and every header
//! list of the hpack-test-case `raw-data` stories (requests and responses from real
//! sites), when `../shared/testdata` is present. Prints header fields per second and
//! megabytes of decoded header octets per second; bounded to a few seconds in total.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use carbon_core::proto::h2::hpack::{Decoder, Encoder, HeaderField, Strategy};

type List = Vec<(Vec<u8>, Vec<u8>)>;

fn response_head() -> List {
    [
        (":status", "200"),
        ("server", "carbon"),
        ("date", "Sun, 06 Dec 2026 16:00:00 GMT"),
        ("content-type", "text/html; charset=utf-8"),
        ("content-length", "1024"),
        ("last-modified", "Tue, 01 Dec 2026 10:00:00 GMT"),
        ("etag", "\"674c3520-400\""),
        ("accept-ranges", "bytes"),
        ("cache-control", "max-age=3600"),
        ("x-content-type-options", "nosniff"),
        ("strict-transport-security", "max-age=31536000"),
    ]
    .iter()
    .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
    .collect()
}

fn raw_data() -> Vec<List> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/testdata/hpack-test-case/raw-data");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("{} not found: raw-data workload skipped", dir.display());
        return Vec::new();
    };
    let mut lists = Vec::new();
    for e in entries.flatten() {
        let Ok(text) = std::fs::read_to_string(e.path()) else {
            continue;
        };
        let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        for case in json["cases"].as_array().into_iter().flatten() {
            let list: List = case["headers"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|h| h.as_object())
                .flat_map(|o| o.iter())
                .map(|(n, v)| {
                    (
                        n.as_bytes().to_vec(),
                        v.as_str().unwrap_or("").as_bytes().to_vec(),
                    )
                })
                .collect();
            lists.push(list);
        }
    }
    lists
}

fn run(label: &str, lists: &[List], strategy: Strategy) {
    if lists.is_empty() {
        return;
    }
    let fields_per_pass: usize = lists.iter().map(Vec::len).sum();
    let octets_per_pass: usize = lists.iter().flatten().map(|(n, v)| n.len() + v.len()).sum();
    let budget = Duration::from_millis(1500);

    // Encode: one connection context for the whole pass, as on a real connection.
    let mut wire: Vec<Vec<u8>> = Vec::new();
    let mut passes = 0u64;
    let start = Instant::now();
    while start.elapsed() < budget {
        let mut enc = Encoder::with_strategy(strategy);
        wire.clear();
        for list in lists {
            let mut block = Vec::with_capacity(256);
            enc.encode(list.iter().map(|(n, v)| HeaderField::new(n, v)), &mut block);
            wire.push(block);
        }
        passes += 1;
    }
    let enc_secs = start.elapsed().as_secs_f64();
    let wire_octets: usize = wire.iter().map(Vec::len).sum();

    let mut dpasses = 0u64;
    let start = Instant::now();
    while start.elapsed() < budget {
        let mut dec = Decoder::new(4096);
        for block in &wire {
            let mut n = 0usize;
            if let Err(e) = dec.decode(block, usize::MAX, &mut |f| n += f.value.len()) {
                eprintln!("{label}: our own block does not decode: {e}");
                return;
            }
            black_box(n);
        }
        dpasses += 1;
    }
    let dec_secs = start.elapsed().as_secs_f64();

    let f = fields_per_pass as f64;
    let o = octets_per_pass as f64;
    println!(
        "{label:<28} {strategy:<36} wire {:>5.1}% | encode {:>6.1} M fields/s {:>6.0} MB/s | decode {:>6.1} M fields/s {:>6.0} MB/s",
        100.0 * wire_octets as f64 / o,
        f * passes as f64 / enc_secs / 1e6,
        o * passes as f64 / enc_secs / 1e6,
        f * dpasses as f64 / dec_secs / 1e6,
        o * dpasses as f64 / dec_secs / 1e6,
        strategy = format!("{strategy:?}"),
    );
}

fn main() {
    let responses: Vec<List> = (0..1000).map(|_| response_head()).collect();
    let raw = raw_data();
    for strategy in [
        Strategy::Smart { huffman: true },
        Strategy::Smart { huffman: false },
        Strategy::NoIndexing { huffman: true },
    ] {
        run("response head x1000", &responses, strategy);
        run("hpack-test-case raw-data", &raw, strategy);
    }
}
