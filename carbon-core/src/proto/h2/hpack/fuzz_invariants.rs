//! The invariants the HPACK decoder keeps whatever the peer sends, as one function fed
//! arbitrary bytes. The fuzz target `hpack_decode` (fuzz/) and the deterministic tests
//! in `robustness_tests.rs` both run this very file, so CI checks what the fuzzer
//! checks. It uses only the public API.
//!
//! Input layout: octet 0 picks our SETTINGS_HEADER_TABLE_SIZE (bits 0-1),
//! SETTINGS_MAX_HEADER_LIST_SIZE (bits 2-3), the re-encoding strategy (bits 5-7), and
//! whether each block is preceded by an octet that changes our table size (bit 4).
//! Then blocks, each preceded by its length octet.
//!
//! Invariants, beyond "no panic":
//! * the fields handed over never exceed the header list limit (name + value + 32);
//! * a limited and an unlimited decoder fed the same blocks agree: the limited one hands
//!   over a prefix of the other's fields, fails with `HeaderListTooLarge` exactly when
//!   the list is over the limit, fails with the same connection error otherwise, and
//!   their dynamic tables stay identical (the block is processed to its end);
//! * the dynamic table never exceeds our maximum, and its size is its entries' sizes;
//! * whatever decodes, our encoder re-encodes, and a decoder gives it back unchanged
//!   (never-indexed fields stay never-indexed), with both tables in step.
#![allow(clippy::unwrap_used)]

use super::table::{DynamicTable, ENTRY_OVERHEAD};
use super::{DecodeError, Decoder, Encoder, HeaderField, Strategy};

/// Our SETTINGS_HEADER_TABLE_SIZE, by the low two bits of octet 0 or a resize octet.
pub const TABLE_SIZES: [usize; 4] = [0, 64, 256, 4096];
const LIST_SIZES: [usize; 4] = [64, 512, 4096, usize::MAX];

type Field = (Vec<u8>, Vec<u8>, bool);

fn run(dec: &mut Decoder, block: &[u8], max_list: usize) -> (Result<(), DecodeError>, Vec<Field>) {
    let mut out = Vec::new();
    let r = dec.decode(block, max_list, &mut |f| {
        out.push((f.name.to_vec(), f.value.to_vec(), f.sensitive))
    });
    (r, out)
}

fn list_size(fields: &[Field]) -> usize {
    fields.iter().fold(0usize, |acc, (n, v, _)| {
        acc.saturating_add(n.len() + v.len() + ENTRY_OVERHEAD)
    })
}

fn entries(t: &DynamicTable) -> Vec<(Vec<u8>, Vec<u8>)> {
    (0..t.len())
        .map(|i| {
            let (n, v) = t.get(i).unwrap();
            (n.to_vec(), v.to_vec())
        })
        .collect()
}

fn check_table(t: &DynamicTable, max: usize) {
    assert!(t.size() <= t.capacity(), "table over its capacity");
    assert!(
        t.capacity() <= max.max(4096),
        "capacity above every maximum"
    );
    let sum: usize = entries(t)
        .iter()
        .map(|(n, v)| n.len() + v.len() + ENTRY_OVERHEAD)
        .sum();
    assert_eq!(sum, t.size(), "table size is not the sum of its entries");
}

/// Runs `data` (layout above) and panics on a broken invariant.
pub fn check_decode(data: &[u8]) {
    let Some((&mode, mut rest)) = data.split_first() else {
        return;
    };
    let mut max_table = TABLE_SIZES[usize::from(mode & 3)];
    let max_list = LIST_SIZES[usize::from((mode >> 2) & 3)];
    let resizes = mode & 0x10 != 0;
    let strategy = Strategy::ALL[usize::from(mode >> 5) % Strategy::ALL.len()];

    let mut limited = Decoder::new(max_table);
    let mut unlimited = Decoder::new(max_table);
    let mut encoder = Encoder::with_strategy(strategy);
    let mut echo = Decoder::new(4096);
    let mut wire = Vec::new();

    loop {
        if resizes {
            let Some((&size, tail)) = rest.split_first() else {
                return;
            };
            max_table = TABLE_SIZES[usize::from(size & 3)];
            limited.set_max_table_size(max_table);
            unlimited.set_max_table_size(max_table);
            rest = tail;
        }
        let Some((&len, tail)) = rest.split_first() else {
            return;
        };
        let len = usize::from(len).min(tail.len());
        let (block, tail) = tail.split_at(len);
        rest = tail;

        let (r_all, all) = run(&mut unlimited, block, usize::MAX);
        let (r_lim, lim) = run(&mut limited, block, max_list);
        assert!(
            list_size(&lim) <= max_list,
            "fields over the list limit handed over"
        );
        assert!(
            all.starts_with(&lim),
            "limited decoder disagrees on the fields"
        );
        match r_all {
            Err(e) => {
                assert!(e.is_connection_error());
                assert_eq!(r_lim, Err(e), "the limit changed a connection error");
                // The connection is over; nothing more to compare.
                return;
            }
            Ok(()) if list_size(&all) > max_list => {
                assert_eq!(r_lim, Err(DecodeError::HeaderListTooLarge));
            }
            Ok(()) => {
                assert_eq!(r_lim, Ok(()));
                assert_eq!(lim, all);
            }
        }
        assert_eq!(
            entries(limited.table()),
            entries(unlimited.table()),
            "the limit put the tables out of step"
        );
        check_table(limited.table(), max_table);

        wire.clear();
        encoder.encode(
            all.iter().map(|(n, v, s)| HeaderField {
                name: n,
                value: v,
                sensitive: *s,
            }),
            &mut wire,
        );
        let (r_echo, echoed) = run(&mut echo, &wire, usize::MAX);
        assert_eq!(r_echo, Ok(()), "our own encoding does not decode");
        assert_eq!(echoed.len(), all.len());
        for (e, a) in echoed.iter().zip(&all) {
            assert_eq!((&e.0, &e.1), (&a.0, &a.1), "re-encoding changed a field");
            assert!(
                e.2 || !a.2,
                "a never-indexed field was re-encoded indexable"
            );
        }
        assert_eq!(entries(echo.table()), entries(encoder.table()));
    }
}
