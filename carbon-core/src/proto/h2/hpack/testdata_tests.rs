//! The hpack-test-case stories (`../shared/testdata/hpack-test-case`, see the README
//! there): every implementation's wire decoded and compared with its header lists, one
//! test per implementation; and every `raw-data` story encoded with each of our
//! strategies and decoded back.
//!
//! The vectors are part of the project's environment (CI has them at the same place),
//! so a missing folder fails these tests rather than skipping them.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::tests::{decode, hex, Owned};
use super::{Decoder, Encoder, HeaderField, Strategy};

fn vectors() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/testdata/hpack-test-case")
        .canonicalize()
        .unwrap_or_else(|e| {
            panic!(
                "hpack-test-case vectors not found next to the repository \
                 (CARGO_MANIFEST_DIR/../../shared/testdata/hpack-test-case): {e}"
            )
        });
    assert!(dir.is_dir(), "{} is not a folder", dir.display());
    dir
}

/// The stories of one folder, sorted, with their parsed JSON. Fails on an empty folder.
fn stories(folder: &str) -> Vec<(String, Value)> {
    let dir = vectors().join(folder);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no story_*.json in {}", dir.display());
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let json: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (
                format!("{folder}/{}", p.file_name().unwrap().to_string_lossy()),
                json,
            )
        })
        .collect()
}

fn cases(story: &Value) -> &Vec<Value> {
    story["cases"].as_array().unwrap()
}

/// A case's `headers`: a list of one-entry objects.
fn headers(case: &Value) -> Vec<(Vec<u8>, Vec<u8>)> {
    case["headers"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|h| h.as_object().unwrap().iter())
        .map(|(n, v)| {
            (
                n.as_bytes().to_vec(),
                v.as_str().unwrap().as_bytes().to_vec(),
            )
        })
        .collect()
}

fn without_flags(fields: Vec<Owned>) -> Vec<(Vec<u8>, Vec<u8>)> {
    fields.into_iter().map(|(n, v, _)| (n, v)).collect()
}

/// Decodes every case of every story of `folder` with one decoder per story.
fn decode_folder(folder: &str) {
    let mut checked = 0;
    for (name, story) in stories(folder) {
        let mut dec = Decoder::new(4096);
        for (i, case) in cases(&story).iter().enumerate() {
            if let Some(size) = case.get("header_table_size").and_then(Value::as_u64) {
                dec.set_max_table_size(size as usize);
            }
            let wire = hex(case["wire"].as_str().unwrap());
            let got = decode(&mut dec, &wire, usize::MAX)
                .unwrap_or_else(|(e, _)| panic!("{name} case {i}: {e}"));
            assert_eq!(without_flags(got), headers(case), "{name} case {i}");
            checked += 1;
        }
    }
    assert!(checked > 0, "{folder}: no cases");
}

macro_rules! decode_tests {
    ($($test:ident => $folder:literal,)*) => {$(
        #[test]
        fn $test() {
            decode_folder($folder);
        }
    )*};
}

decode_tests! {
    rfc7541_hpack_test_case_go_hpack => "go-hpack",
    rfc7541_hpack_test_case_haskell_http2_linear_huffman => "haskell-http2-linear-huffman",
    rfc7541_hpack_test_case_nghttp2 => "nghttp2",
    rfc7541_hpack_test_case_nghttp2_16384_4096 => "nghttp2-16384-4096",
    rfc7541_hpack_test_case_nghttp2_change_table_size => "nghttp2-change-table-size",
    rfc7541_hpack_test_case_node_http2_hpack => "node-http2-hpack",
    rfc7541_hpack_test_case_python_hpack => "python-hpack",
    rfc7541_hpack_test_case_swift_nio_hpack_huffman => "swift-nio-hpack-huffman",
}

/// Every folder of the vectors is covered by a test above.
#[test]
fn rfc7541_hpack_test_case_every_folder_is_tested() {
    let mut folders: Vec<String> = std::fs::read_dir(vectors())
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    assert_eq!(
        folders,
        [
            "go-hpack",
            "haskell-http2-linear-huffman",
            "nghttp2",
            "nghttp2-16384-4096",
            "nghttp2-change-table-size",
            "node-http2-hpack",
            "python-hpack",
            "raw-data",
            "swift-nio-hpack-huffman",
        ]
    );
}

/// raw-data: each story encoded with each strategy (fresh context per story and
/// strategy) and decoded back; a second pass with a 256-octet table forces evictions.
#[test]
fn rfc7541_hpack_test_case_raw_data_round_trips_with_every_strategy() {
    let mut cases_checked = 0;
    for (name, story) in stories("raw-data") {
        for strategy in Strategy::ALL {
            for table_size in [4096, 256] {
                let mut enc = Encoder::with_strategy(strategy);
                let mut dec = Decoder::new(4096);
                enc.set_max_table_size(table_size);
                dec.set_max_table_size(table_size);
                let mut wire = Vec::new();
                for (i, case) in cases(&story).iter().enumerate() {
                    let list = headers(case);
                    wire.clear();
                    enc.encode(list.iter().map(|(n, v)| HeaderField::new(n, v)), &mut wire);
                    let got = decode(&mut dec, &wire, usize::MAX).unwrap_or_else(|(e, _)| {
                        panic!("{name} case {i} {strategy:?} table {table_size}: {e}")
                    });
                    assert_eq!(
                        without_flags(got),
                        list,
                        "{name} case {i} {strategy:?} table {table_size}"
                    );
                    cases_checked += 1;
                }
            }
        }
    }
    assert!(cases_checked > 0);
}
