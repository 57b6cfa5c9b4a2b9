//! RFC 7541 by section: every example of Appendix C (decoded, with the expected dynamic
//! table, and re-encoded), the decoder's defences, the encoder's policy, and a
//! randomized encode/decode round trip with table resizes.
#![allow(clippy::unwrap_used)]

use super::table::DynamicTable;
use super::{DecodeError, Decoder, Encoder, HeaderField, Strategy};
use crate::test_rng::Rng;

pub(super) type Owned = (Vec<u8>, Vec<u8>, bool);

pub(super) fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

pub(super) fn decode(
    dec: &mut Decoder,
    wire: &[u8],
    max_list: usize,
) -> Result<Vec<Owned>, (DecodeError, Vec<Owned>)> {
    let mut out = Vec::new();
    let r = dec.decode(wire, max_list, &mut |f| {
        out.push((f.name.to_vec(), f.value.to_vec(), f.sensitive))
    });
    match r {
        Ok(()) => Ok(out),
        Err(e) => Err((e, out)),
    }
}

fn fields(list: &[(&str, &str)]) -> Vec<Owned> {
    list.iter()
        .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec(), false))
        .collect()
}

fn table(t: &DynamicTable) -> Vec<(String, String)> {
    (0..t.len())
        .map(|i| {
            let (n, v) = t.get(i).unwrap();
            (
                String::from_utf8_lossy(n).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            )
        })
        .collect()
}

fn entries(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

fn encode(enc: &mut Encoder, list: &[(&str, &str)]) -> Vec<u8> {
    let mut wire = Vec::new();
    enc.encode(
        list.iter()
            .map(|(n, v)| HeaderField::new(n.as_bytes(), v.as_bytes())),
        &mut wire,
    );
    wire
}

/// One step of an Appendix C sequence: the header list, its wire form, the dynamic
/// table after it (newest first) and the table size.
struct Step<'a> {
    headers: &'a [(&'a str, &'a str)],
    wire: &'a str,
    table: &'a [(&'a str, &'a str)],
    size: usize,
}

/// Decodes the steps with one decoder, checking headers and table after each.
fn check_decode(table_size: usize, steps: &[Step<'_>]) {
    let mut dec = Decoder::new(table_size);
    // The examples assume the table size is already in effect (acknowledged SETTINGS).
    dec.decode(
        &hex(if table_size == 4096 { "" } else { "3fe101" }),
        1 << 20,
        &mut |_| {},
    )
    .unwrap();
    for (i, s) in steps.iter().enumerate() {
        let got = decode(&mut dec, &hex(s.wire), 1 << 20).unwrap();
        assert_eq!(got, fields(s.headers), "step {i}");
        assert_eq!(table(dec.table()), entries(s.table), "table after step {i}");
        assert_eq!(dec.table().size(), s.size, "table size after step {i}");
    }
}

const C3_1: &[(&str, &str)] = &[
    (":method", "GET"),
    (":scheme", "http"),
    (":path", "/"),
    (":authority", "www.example.com"),
];
const C3_2: &[(&str, &str)] = &[
    (":method", "GET"),
    (":scheme", "http"),
    (":path", "/"),
    (":authority", "www.example.com"),
    ("cache-control", "no-cache"),
];
const C3_3: &[(&str, &str)] = &[
    (":method", "GET"),
    (":scheme", "https"),
    (":path", "/index.html"),
    (":authority", "www.example.com"),
    ("custom-key", "custom-value"),
];
const T3_1: &[(&str, &str)] = &[(":authority", "www.example.com")];
const T3_2: &[(&str, &str)] = &[
    ("cache-control", "no-cache"),
    (":authority", "www.example.com"),
];
const T3_3: &[(&str, &str)] = &[
    ("custom-key", "custom-value"),
    ("cache-control", "no-cache"),
    (":authority", "www.example.com"),
];

const C5_1: &[(&str, &str)] = &[
    (":status", "302"),
    ("cache-control", "private"),
    ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
    ("location", "https://www.example.com"),
];
const C5_2: &[(&str, &str)] = &[
    (":status", "307"),
    ("cache-control", "private"),
    ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
    ("location", "https://www.example.com"),
];
const C5_3: &[(&str, &str)] = &[
    (":status", "200"),
    ("cache-control", "private"),
    ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
    ("location", "https://www.example.com"),
    ("content-encoding", "gzip"),
    (
        "set-cookie",
        "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
    ),
];
const T5_1: &[(&str, &str)] = &[
    ("location", "https://www.example.com"),
    ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
    ("cache-control", "private"),
    (":status", "302"),
];
const T5_2: &[(&str, &str)] = &[
    (":status", "307"),
    ("location", "https://www.example.com"),
    ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
    ("cache-control", "private"),
];
const T5_3: &[(&str, &str)] = &[
    (
        "set-cookie",
        "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
    ),
    ("content-encoding", "gzip"),
    ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
];

const C3_WIRE: [&str; 3] = [
    "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
    "8286 84be 5808 6e6f 2d63 6163 6865",
    "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
];
const C4_WIRE: [&str; 3] = [
    "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
    "8286 84be 5886 a8eb 1064 9cbf",
    "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
];
const C5_WIRE: [&str; 3] = [
    "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
     2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
     6c65 2e63 6f6d",
    "4803 3330 37c1 c0bf",
    "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
     54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
     5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
     3d31",
];
const C6_WIRE: [&str; 3] = [
    "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
     2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
    "4883 640e ffc1 c0bf",
    "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
     77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
     9587 3160 65c0 03ed 4ee5 b106 3d50 07",
];

fn request_steps(wire: [&'static str; 3]) -> [Step<'static>; 3] {
    [
        Step {
            headers: C3_1,
            wire: wire[0],
            table: T3_1,
            size: 57,
        },
        Step {
            headers: C3_2,
            wire: wire[1],
            table: T3_2,
            size: 110,
        },
        Step {
            headers: C3_3,
            wire: wire[2],
            table: T3_3,
            size: 164,
        },
    ]
}

fn response_steps(wire: [&'static str; 3]) -> [Step<'static>; 3] {
    [
        Step {
            headers: C5_1,
            wire: wire[0],
            table: T5_1,
            size: 222,
        },
        Step {
            headers: C5_2,
            wire: wire[1],
            table: T5_2,
            size: 222,
        },
        Step {
            headers: C5_3,
            wire: wire[2],
            table: T5_3,
            size: 215,
        },
    ]
}

// ---- Appendix C.2: single representations ----

#[test]
fn rfc7541_c_2_1_literal_with_indexing() {
    let wire = hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572");
    let mut dec = Decoder::new(4096);
    let got = decode(&mut dec, &wire, 1 << 20).unwrap();
    assert_eq!(got, fields(&[("custom-key", "custom-header")]));
    assert_eq!(
        table(dec.table()),
        entries(&[("custom-key", "custom-header")])
    );
    assert_eq!(dec.table().size(), 55);
    let mut enc = Encoder::with_strategy(Strategy::IndexAll { huffman: false });
    assert_eq!(encode(&mut enc, &[("custom-key", "custom-header")]), wire);
}

#[test]
fn rfc7541_c_2_2_literal_without_indexing() {
    let wire = hex("040c 2f73 616d 706c 652f 7061 7468");
    let mut dec = Decoder::new(4096);
    let got = decode(&mut dec, &wire, 1 << 20).unwrap();
    assert_eq!(got, fields(&[(":path", "/sample/path")]));
    assert!(dec.table().is_empty());
    // The default policy does not index :path (one value per request).
    let mut enc = Encoder::with_strategy(Strategy::Smart { huffman: false });
    assert_eq!(encode(&mut enc, &[(":path", "/sample/path")]), wire);
    assert!(enc.table().is_empty());
}

#[test]
fn rfc7541_c_2_3_literal_never_indexed() {
    let wire = hex("1008 7061 7373 776f 7264 0673 6563 7265 74");
    let mut dec = Decoder::new(4096);
    let got = decode(&mut dec, &wire, 1 << 20).unwrap();
    assert_eq!(got, vec![(b"password".to_vec(), b"secret".to_vec(), true)]);
    assert!(dec.table().is_empty());
    let mut enc = Encoder::with_strategy(Strategy::IndexAll { huffman: false });
    let mut out = Vec::new();
    enc.encode(
        [HeaderField {
            name: b"password",
            value: b"secret",
            sensitive: true,
        }],
        &mut out,
    );
    assert_eq!(out, wire);
    assert!(enc.table().is_empty());
}

#[test]
fn rfc7541_c_2_4_indexed_field() {
    let mut dec = Decoder::new(4096);
    assert_eq!(
        decode(&mut dec, &[0x82], 1 << 20).unwrap(),
        fields(&[(":method", "GET")])
    );
    assert!(dec.table().is_empty());
    let mut enc = Encoder::new();
    assert_eq!(encode(&mut enc, &[(":method", "GET")]), [0x82]);
}

// ---- Appendix C.3 to C.6: sequences sharing one table ----

#[test]
fn rfc7541_c_3_requests_without_huffman_decode() {
    check_decode(4096, &request_steps(C3_WIRE));
}

#[test]
fn rfc7541_c_3_requests_without_huffman_encode() {
    let mut enc = Encoder::with_strategy(Strategy::IndexAll { huffman: false });
    for (list, wire) in [C3_1, C3_2, C3_3].iter().zip(C3_WIRE) {
        assert_eq!(encode(&mut enc, list), hex(wire));
    }
    assert_eq!(table(enc.table()), entries(T3_3));
}

#[test]
fn rfc7541_c_4_requests_with_huffman_decode() {
    check_decode(4096, &request_steps(C4_WIRE));
}

#[test]
fn rfc7541_c_4_requests_with_huffman_encode() {
    let mut enc = Encoder::with_strategy(Strategy::IndexAll { huffman: true });
    for (list, wire) in [C3_1, C3_2, C3_3].iter().zip(C4_WIRE) {
        assert_eq!(encode(&mut enc, list), hex(wire));
    }
    assert_eq!(table(enc.table()), entries(T3_3));
}

#[test]
fn rfc7541_c_5_responses_without_huffman_decode() {
    check_decode(256, &response_steps(C5_WIRE));
}

#[test]
fn rfc7541_c_6_responses_with_huffman_decode() {
    check_decode(256, &response_steps(C6_WIRE));
}

/// The RFC indexes set-cookie; our encoder never does (§7.1.3), so the third response
/// differs exactly there: a never-indexed literal with the static name 55.
fn check_response_encode(huffman: bool, wire: [&str; 3]) {
    let mut enc = Encoder::with_strategy(Strategy::IndexAll { huffman });
    enc.set_max_table_size(256);
    let first = encode(&mut enc, C5_1);
    assert_eq!(first[..2], [0x3f, 0xe1], "size update to 256 first");
    assert_eq!(first[3..], hex(wire[0]));
    // "307" is 3 octets Huffman-coded too; the RFC's encoder used Huffman anyway,
    // ours only when strictly shorter.
    let second = if huffman {
        "4803 3330 37c1 c0bf"
    } else {
        wire[1]
    };
    assert_eq!(encode(&mut enc, C5_2), hex(second));
    let third = encode(&mut enc, C5_3);
    let rfc = hex(wire[2]);
    // Up to set-cookie (0x77 = literal with indexing, name 55) the bytes agree.
    let cut = rfc.len() - if huffman { 47 } else { 58 };
    assert_eq!(rfc[cut], 0x77);
    assert_eq!(third[..cut], rfc[..cut]);
    assert_eq!(third[cut..cut + 2], [0x1f, 0x28], "never indexed, name 55");
    assert_eq!(third[cut + 2..], rfc[cut + 1..]);
    // Without the 98-octet set-cookie entry, :status 307 and location stay.
    assert_eq!(
        table(enc.table()),
        entries(&[
            ("content-encoding", "gzip"),
            ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
            (":status", "307"),
            ("location", "https://www.example.com"),
        ])
    );
    // And the result decodes to the RFC's header list, set-cookie marked sensitive.
    let mut dec = Decoder::new(4096);
    decode(&mut dec, &first, 1 << 20).unwrap();
    decode(&mut dec, &hex(second), 1 << 20).unwrap();
    let got = decode(&mut dec, &third, 1 << 20).unwrap();
    let mut want = fields(C5_3);
    want[5].2 = true;
    assert_eq!(got, want);
}

#[test]
fn rfc7541_c_5_responses_without_huffman_encode() {
    check_response_encode(false, C5_WIRE);
}

#[test]
fn rfc7541_c_6_responses_with_huffman_encode() {
    check_response_encode(true, C6_WIRE);
}

// ---- §2.3.3, §6.1: indexes ----

#[test]
fn rfc7541_6_1_index_zero_is_an_error() {
    let mut dec = Decoder::new(4096);
    assert_eq!(
        decode(&mut dec, &[0x80], 1 << 20).unwrap_err().0,
        DecodeError::ZeroIndex
    );
}

#[test]
fn rfc7541_2_3_3_index_beyond_the_tables_is_an_error() {
    let mut dec = Decoder::new(4096);
    // 62 with an empty dynamic table.
    assert_eq!(
        decode(&mut dec, &[0xbe], 1 << 20).unwrap_err().0,
        DecodeError::InvalidIndex(62)
    );
    // A literal whose name index is beyond the tables.
    let mut dec = Decoder::new(4096);
    assert_eq!(
        decode(&mut dec, &hex("7f20 0161"), 1 << 20).unwrap_err().0,
        DecodeError::InvalidIndex(95)
    );
}

#[test]
fn rfc7541_5_1_integer_overflow_in_an_index_is_an_error() {
    let mut dec = Decoder::new(4096);
    let wire = hex("ff ffffffffffffffffff 7f");
    assert_eq!(
        decode(&mut dec, &wire, 1 << 20).unwrap_err().0,
        DecodeError::IntegerOverflow
    );
}

#[test]
fn rfc7541_5_2_string_longer_than_the_block_is_an_error() {
    let mut dec = Decoder::new(4096);
    // Literal without indexing, new name of announced length 2^28.
    let wire = hex("00 7f ffffff7f 61");
    assert_eq!(
        decode(&mut dec, &wire, 1 << 20).unwrap_err().0,
        DecodeError::StringTooLong
    );
}

#[test]
fn rfc7541_6_truncated_representations_are_errors() {
    let full = hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572");
    for cut in 1..full.len() {
        let mut dec = Decoder::new(4096);
        let err = decode(&mut dec, &full[..cut], 1 << 20).unwrap_err().0;
        assert!(
            matches!(err, DecodeError::Truncated | DecodeError::StringTooLong),
            "cut {cut}: {err:?}"
        );
        assert!(err.is_connection_error());
    }
}

// ---- §4.2, §6.3: dynamic table size updates ----

#[test]
fn rfc7541_6_3_size_update_applies_and_evicts() {
    let mut dec = Decoder::new(4096);
    decode(&mut dec, &hex(C3_WIRE[0]), 1 << 20).unwrap();
    assert_eq!(dec.table().len(), 1);
    // Update to 0 then back to 4096: the table is emptied.
    decode(&mut dec, &hex("20 3fe11f 82"), 1 << 20).unwrap();
    assert!(dec.table().is_empty());
    assert_eq!(dec.table().capacity(), 4096);
}

#[test]
fn rfc7541_6_3_size_update_above_our_maximum_is_an_error() {
    let mut dec = Decoder::new(4096);
    // 4097 = 31 + 4066 (0xe2 0x1f).
    assert_eq!(
        decode(&mut dec, &hex("3fe21f"), 1 << 20).unwrap_err().0,
        DecodeError::TableSizeTooLarge {
            requested: 4097,
            max: 4096
        }
    );
    // After we raise our maximum, the peer may use it.
    let mut dec = Decoder::new(4096);
    dec.set_max_table_size(8192);
    decode(&mut dec, &hex("3fe13f"), 1 << 20).unwrap();
    assert_eq!(dec.table().capacity(), 8192);
}

#[test]
fn rfc7541_4_2_size_update_after_a_field_is_an_error() {
    let mut dec = Decoder::new(4096);
    assert_eq!(
        decode(&mut dec, &hex("82 20"), 1 << 20).unwrap_err().0,
        DecodeError::LateTableSizeUpdate
    );
}

#[test]
fn rfc7541_4_2_two_updates_at_the_start_are_allowed() {
    let mut dec = Decoder::new(4096);
    dec.set_max_table_size(100);
    dec.set_max_table_size(4096);
    // The smallest (100 = 31 + 69) then the final size.
    decode(&mut dec, &hex("3f45 3fe11f 82"), 1 << 20).unwrap();
    assert_eq!(dec.table().capacity(), 4096);
}

#[test]
fn rfc7541_4_2_reduced_maximum_requires_an_update_first() {
    let mut dec = Decoder::new(4096);
    decode(&mut dec, &hex(C3_WIRE[0]), 1 << 20).unwrap();
    dec.set_max_table_size(0);
    assert_eq!(
        decode(&mut dec, &[0x82], 1 << 20).unwrap_err().0,
        DecodeError::MissingTableSizeUpdate
    );
    // An update that does not go down far enough does not count.
    let mut dec = Decoder::new(4096);
    dec.set_max_table_size(100);
    assert_eq!(
        decode(&mut dec, &hex("3f46 82"), 1 << 20).unwrap_err().0,
        DecodeError::TableSizeTooLarge {
            requested: 101,
            max: 100
        }
    );
    let mut dec = Decoder::new(4096);
    dec.set_max_table_size(100);
    dec.set_max_table_size(4096);
    assert_eq!(
        decode(&mut dec, &hex("3fe11f 82"), 1 << 20).unwrap_err().0,
        DecodeError::MissingTableSizeUpdate,
        "the minimum since the last block must be signalled"
    );
    // A new decoder advertising less than 4096 expects the peer to shrink first.
    let mut dec = Decoder::new(1024);
    assert_eq!(
        decode(&mut dec, &[0x82], 1 << 20).unwrap_err().0,
        DecodeError::MissingTableSizeUpdate
    );
    decode(&mut dec, &hex("3fe107 82"), 1 << 20).unwrap();
}

#[test]
fn rfc7541_4_2_encoder_signals_minimum_then_final_size() {
    let mut enc = Encoder::new();
    enc.set_max_table_size(100);
    enc.set_max_table_size(8192);
    let wire = encode(&mut enc, &[(":method", "GET")]);
    // 100, then 4096 (our own ceiling, below the peer's 8192), then the field.
    assert_eq!(wire, hex("3f45 3fe11f 82"));
    assert_eq!(enc.table().capacity(), 4096);
    // Nothing pending any more.
    assert_eq!(encode(&mut enc, &[(":method", "GET")]), [0x82]);
    // Unchanged settings send nothing.
    enc.set_max_table_size(4096);
    assert_eq!(encode(&mut enc, &[(":method", "GET")]), [0x82]);
    // A plain reduction sends one update, and a decoder that required it accepts it.
    let mut dec = Decoder::new(4096);
    enc.set_max_table_size(0);
    dec.set_max_table_size(0);
    let wire = encode(&mut enc, &[("x-a", "1")]);
    assert_eq!(wire[0], 0x20);
    assert_eq!(
        decode(&mut dec, &wire, 1 << 20).unwrap(),
        fields(&[("x-a", "1")])
    );
}

// ---- RFC 9113 §6.5.2, §10.5.1: header list size, the HPACK bomb ----

#[test]
fn rfc9113_6_5_2_header_list_size_counts_name_value_and_32() {
    let wire = hex(C3_WIRE[0]);
    // :method GET (42) + :scheme http (43) + :path / (38) + :authority www.example.com (57)
    let total = 42 + 43 + 38 + 57;
    let mut dec = Decoder::new(4096);
    assert_eq!(decode(&mut dec, &wire, total).unwrap().len(), 4);
    let mut dec = Decoder::new(4096);
    let (err, got) = decode(&mut dec, &wire, total - 1).unwrap_err();
    assert_eq!(err, DecodeError::HeaderListTooLarge);
    assert!(!err.is_connection_error());
    assert_eq!(got.len(), 3, "fields before the limit only");
    // The table was still updated, so the next block decodes as the peer meant.
    assert_eq!(table(dec.table()), entries(T3_1));
    assert_eq!(
        decode(&mut dec, &hex(C3_WIRE[1]), 1 << 20).unwrap(),
        fields(C3_2)
    );
}

#[test]
fn rfc9113_10_5_1_hpack_bomb_is_refused_without_emitting() {
    // One 4000-octet entry, then 16 000 one-octet references to it: 16 KiB on the wire
    // that would decode to 64 MB of fields.
    let mut wire = hex("40 01 78 7f a1 1e");
    wire.extend([b'v'; 4000]);
    wire.extend([0xbe; 16_000]);
    let mut dec = Decoder::new(4096);
    let mut emitted = 0usize;
    let mut octets = 0usize;
    let r = dec.decode(&wire, 16 * 1024, &mut |f| {
        emitted += 1;
        octets += f.name.len() + f.value.len();
    });
    assert_eq!(r, Err(DecodeError::HeaderListTooLarge));
    assert!(octets <= 16 * 1024, "{octets} octets emitted");
    assert_eq!(emitted, 4);
    // The connection stays usable: the entry is still there.
    assert_eq!(decode(&mut dec, &[0xbe], 1 << 20).unwrap()[0].1.len(), 4000);
}

#[test]
fn rfc9113_4_3_errors_after_the_limit_are_still_connection_errors() {
    // The list goes over the limit, then the block has an invalid index: the
    // connection error wins, since the tables may now disagree.
    let mut dec = Decoder::new(4096);
    let (err, _) = decode(&mut dec, &hex("82 82 80"), 50).unwrap_err();
    assert_eq!(err, DecodeError::ZeroIndex);
    assert!(err.is_connection_error());
}

// ---- the encoder's policy ----

fn reps(enc: &mut Encoder, list: &[(&str, &str)]) -> Vec<u8> {
    encode(enc, list)
}

#[test]
fn rfc7541_6_1_static_exact_match_is_one_octet() {
    let mut enc = Encoder::new();
    assert_eq!(reps(&mut enc, &[(":status", "200")]), [0x88]);
    assert_eq!(reps(&mut enc, &[(":status", "404")]), [0x8d]);
    assert_eq!(
        reps(&mut enc, &[("accept-encoding", "gzip, deflate")]),
        [0x90]
    );
    assert!(enc.table().is_empty());
}

#[test]
fn rfc7541_7_1_3_sensitive_fields_are_never_indexed() {
    for strategy in Strategy::ALL {
        let mut enc = Encoder::with_strategy(strategy);
        let list = [
            ("authorization", "Basic dXNlcjpwYXNz"),
            ("proxy-authorization", "Basic dXNlcjpwYXNz"),
            ("set-cookie", "id=a3fWa; Max-Age=2592000"),
            ("cookie", "short=1"),
        ];
        for _ in 0..2 {
            let wire = encode(&mut enc, &list);
            let mut dec = Decoder::new(4096);
            let got = decode(&mut dec, &wire, 1 << 20).unwrap();
            assert!(got.iter().all(|f| f.2), "{strategy:?}: {got:?}");
            assert!(dec.table().is_empty());
        }
        assert!(enc.table().is_empty(), "{strategy:?}");
        // A long cookie is not guessable octet by octet: it may be indexed.
        let long = ("cookie", "session=0123456789abcdefghijklmnop");
        let wire = encode(&mut enc, &[long]);
        let mut dec = Decoder::new(4096);
        assert!(!decode(&mut dec, &wire, 1 << 20).unwrap()[0].2);
        // A field the caller marks sensitive.
        let mut wire = Vec::new();
        enc.encode(
            [HeaderField {
                name: b"x-token",
                value: b"abc",
                sensitive: true,
            }],
            &mut wire,
        );
        assert_eq!(wire[0], 0x10);
    }
}

#[test]
fn rfc7541_7_1_3_sensitive_field_is_sent_literal_even_if_table_has_it() {
    let mut enc = Encoder::with_strategy(Strategy::IndexAll { huffman: false });
    encode(&mut enc, &[("x-k", "v")]);
    let mut wire = Vec::new();
    enc.encode(
        [HeaderField {
            name: b"x-k",
            value: b"v",
            sensitive: true,
        }],
        &mut wire,
    );
    // Never indexed, name from the dynamic table (62 = 15 + 47).
    assert_eq!(wire, hex("1f2f 0176"));
}

#[test]
fn smart_encoder_indexes_response_fields_from_their_second_appearance() {
    let response = [
        (":status", "200"),
        ("server", "carbon"),
        ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
        ("content-type", "text/html; charset=utf-8"),
        ("content-length", "1234"),
        ("etag", "\"5f3a-12\""),
        ("last-modified", "Mon, 21 Oct 2013 20:13:21 GMT"),
        ("x-content-type-options", "nosniff"),
    ];
    let mut enc = Encoder::new();
    let first = encode(&mut enc, &response);
    let names =
        |enc: &Encoder| -> Vec<String> { table(enc.table()).into_iter().map(|(n, _)| n).collect() };
    // First time: the fields that repeat across responses are added; those of one
    // resource are literals with an indexed name.
    assert_eq!(
        names(&enc),
        ["x-content-type-options", "content-type", "date", "server"]
    );
    let second = encode(&mut enc, &response);
    // Second time: the same resource again, so its fields are added too.
    assert_eq!(
        names(&enc),
        [
            "last-modified",
            "etag",
            "content-length",
            "x-content-type-options",
            "content-type",
            "date",
            "server"
        ]
    );
    // content-length is static name 28, with incremental indexing: 0x40 | 28.
    assert_eq!(second[..5], [0x88, 0xc1, 0xc0, 0xbf, 0x5c], "{second:02x?}");
    assert!(second.len() < first.len(), "{second:02x?}");
    // From then on, one octet per field.
    let third = encode(&mut enc, &response);
    assert_eq!(third.len(), response.len(), "{third:02x?}");
}

/// The same file asked for again is indexed; a page's many files, each once, or a
/// cycle through more files than `HPACK_SEEN_WINDOW` covers, are not (they would evict
/// what repeats, `server`, `content-type`, ..., and each other); a cycle through a few
/// files is.
#[test]
fn smart_encoder_indexes_a_few_resources_asked_for_again_not_many() {
    for (files, indexed) in [(64, 0), (8, 16)] {
        let mut enc = Encoder::new();
        for round in 0..3 {
            for k in 0..files {
                let etag = format!("\"{k:08x}-400\"");
                let modified = format!("Mon, 21 Oct 2013 20:{:02}:{:02} GMT", k / 60, k % 60);
                encode(
                    &mut enc,
                    &[
                        (":status", "200"),
                        ("content-type", "text/css"),
                        ("etag", &etag),
                        ("last-modified", &modified),
                        ("server", "carbon"),
                    ],
                );
            }
            let per_resource = names_in(&enc, &["etag", "last-modified"]);
            let want = if round == 0 { 0 } else { indexed };
            assert_eq!(per_resource, want, "{files} files, round {round}");
            let kept = names_in(&enc, &["content-type", "server"]);
            assert_eq!(
                kept, 2,
                "{files} files, round {round}: repeating fields evicted"
            );
        }
    }
}

fn names_in(enc: &Encoder, names: &[&str]) -> usize {
    table(enc.table())
        .iter()
        .filter(|(n, _)| names.contains(&n.as_str()))
        .count()
}

/// Every way a field reaches the wire (memo, runs, slots, the thread's literals)
/// leaves the encoder as encoding afresh would, `Seen` included: per-response fields
/// drawn from a few hot and many cold resources, so that fields are seen, forgotten
/// (slot taken by another) and seen again, at every table size.
#[test]
fn rfc7541_second_appearance_indexing_encodes_exactly_as_encoding_afresh() {
    use std::sync::Arc;
    let mut rng = Rng::new(7541);
    // Runs shaped like a file's template: per-response fields in them too.
    let runs: Vec<Arc<Vec<Owned>>> = (0..8)
        .map(|k| {
            Arc::new(vec![
                (
                    b"content-type".to_vec(),
                    format!("t/{}", k % 3).into_bytes(),
                    false,
                ),
                (b"etag".to_vec(), format!("\"r{k}\"").into_bytes(), false),
                (
                    b"last-modified".to_vec(),
                    format!("Mon, 0{k} Dec 2026 20:13:21 GMT").into_bytes(),
                    false,
                ),
                (b"x-frame-options".to_vec(), b"DENY".to_vec(), false),
            ])
        })
        .collect();
    for strategy in Strategy::ALL {
        let mut enc = Encoder::with_strategy(strategy);
        let mut reference = Encoder::without_memo(strategy);
        let mut dec = Decoder::new(4096);
        for block in 0..1500 {
            if rng.one_in(60) {
                let size = *rng.pick(&[0, 100, 256, 1000, 4096]);
                for e in [&mut enc, &mut reference] {
                    e.set_max_table_size(size);
                }
                dec.set_max_table_size(size);
            }
            let file = if rng.one_in(2) {
                rng.below(3)
            } else {
                3 + rng.below(200)
            };
            let head: Vec<Owned> = vec![(b":status".to_vec(), b"200".to_vec(), false)];
            let tail: Vec<Owned> = vec![
                (
                    b"etag".to_vec(),
                    format!("\"{file:x}\"").into_bytes(),
                    false,
                ),
                (
                    b"content-length".to_vec(),
                    format!("{}", 100 + file % 7).into_bytes(),
                    false,
                ),
                (
                    b"location".to_vec(),
                    format!("/a/very/long/path/to/file/{file}").into_bytes(),
                    false,
                ),
            ];
            let all: Vec<Owned> = head.iter().chain(&tail).cloned().collect();
            let mut got = Vec::new();
            let mut listed = all.clone();
            if rng.one_in(2) {
                let run = &runs[file % runs.len()];
                enc.encode_with_run(
                    as_fields(&head),
                    (run, as_fields(run)),
                    as_fields(&tail),
                    &mut got,
                );
                listed = head
                    .iter()
                    .chain(run.iter())
                    .chain(&tail)
                    .cloned()
                    .collect();
            } else {
                enc.encode(as_fields(&all), &mut got);
            }
            let mut want = Vec::new();
            reference.encode(as_fields(&listed), &mut want);
            assert_eq!(got, want, "{strategy:?} block {block}");
            let decoded = decode(&mut dec, &got, usize::MAX).unwrap();
            assert_eq!(decoded.len(), listed.len());
            for (g, l) in decoded.iter().zip(&listed) {
                assert_eq!((&g.0, &g.1), (&l.0, &l.1), "{strategy:?} block {block}");
            }
        }
        if let Strategy::Smart { .. } = strategy {
            // The hot files' fields were indexed at some point.
            assert!(enc.memo_hits + enc.run_hits > 500, "{strategy:?}");
        }
    }
}

#[test]
fn smart_encoder_does_not_index_entries_that_would_flush_the_table() {
    let big = "x".repeat(3100);
    let mut enc = Encoder::new();
    encode(&mut enc, &[("x-big", &big)]);
    assert!(enc.table().is_empty());
    let mut enc = Encoder::with_strategy(Strategy::IndexAll { huffman: true });
    encode(&mut enc, &[("x-big", &big)]);
    assert_eq!(enc.table().len(), 1);
}

#[test]
fn rfc7541_5_2_encoder_uses_huffman_only_when_shorter() {
    let mut enc = Encoder::with_strategy(Strategy::NoIndexing { huffman: true });
    let wire = encode(&mut enc, &[("custom-key", "aaaaaaaa")]);
    // "custom-key": 8 octets Huffman-coded instead of 10.
    assert_eq!(wire[1], 0x80 | 8);
    // "aaaaaaaa": 5 octets instead of 8.
    assert_eq!(wire[10], 0x80 | 5);
    // "x-a" is 3 octets either way: sent raw.
    let wire = encode(&mut enc, &[("x-a", "")]);
    assert_eq!(wire, hex("00 03 782d61 00"));
    let wire = encode(&mut enc, &[("x-b", "\u{1}\u{2}")]);
    assert_eq!(wire[wire.len() - 3], 2, "raw value, length 2");
    let mut enc = Encoder::with_strategy(Strategy::NoIndexing { huffman: false });
    let wire = encode(&mut enc, &[("x-a", "aaaaaaaa")]);
    assert_eq!(wire, hex("00 03 782d61 08 6161616161616161"));
}

// ---- randomized round trip with table resizes ----

fn random_field(rng: &mut Rng) -> (Vec<u8>, Vec<u8>, bool) {
    const NAMES: &[&[u8]] = &[
        b":status",
        b":path",
        b":authority",
        b"content-type",
        b"cookie",
        b"set-cookie",
        b"authorization",
        b"date",
        b"etag",
        b"x-custom",
        b"accept-encoding",
        b"cache-control",
    ];
    let name = if rng.one_in(5) {
        (0..1 + rng.below(20))
            .map(|_| b'a' + rng.below(26) as u8)
            .collect()
    } else {
        rng.pick(NAMES).to_vec()
    };
    let value = match rng.below(4) {
        0 => b"200".to_vec(),
        1 => (0..rng.below(8))
            .map(|_| b'0' + rng.below(3) as u8)
            .collect(),
        2 => (0..rng.below(300)).map(|_| rng.next() as u8).collect(),
        _ => (0..rng.below(60))
            .map(|_| b' ' + rng.below(95) as u8)
            .collect(),
    };
    (name, value, rng.one_in(10))
}

#[test]
fn rfc7541_round_trip_random_lists_with_table_resizes() {
    let mut rng = Rng::new(7541);
    for strategy in Strategy::ALL {
        let mut enc = Encoder::with_strategy(strategy);
        let mut dec = Decoder::new(4096);
        for block in 0..400 {
            if rng.one_in(8) {
                // The peer (our decoder) changes SETTINGS_HEADER_TABLE_SIZE, possibly
                // twice before the next block.
                for _ in 0..1 + rng.below(2) {
                    let size = *rng.pick(&[0, 1, 64, 100, 256, 1000, 4096, 8192, 65536]);
                    dec.set_max_table_size(size);
                    enc.set_max_table_size(size);
                }
            }
            let list: Vec<Owned> = (0..rng.below(12)).map(|_| random_field(&mut rng)).collect();
            let mut wire = Vec::new();
            enc.encode(
                list.iter().map(|(n, v, s)| HeaderField {
                    name: n,
                    value: v,
                    sensitive: *s,
                }),
                &mut wire,
            );
            let got = decode(&mut dec, &wire, usize::MAX)
                .unwrap_or_else(|e| panic!("{strategy:?} block {block}: {e:?}"));
            assert_eq!(got.len(), list.len());
            for (g, l) in got.iter().zip(&list) {
                assert_eq!((&g.0, &g.1), (&l.0, &l.1), "{strategy:?} block {block}");
                assert!(g.2 || !l.2, "sensitive field lost its flag");
            }
            assert_eq!(
                table(dec.table()),
                table(enc.table()),
                "{strategy:?} block {block}: tables diverged"
            );
            assert!(dec.table().size() <= dec.table().capacity());
        }
    }
}

// ---- the encoder's memory of the previous block ----

/// A static file response, changed a little from block to block as a connection's
/// responses are: a new second, another file, a cookie, a field more or less, a long
/// field, a list longer than the memo, table size changes.
#[test]
fn rfc7541_memo_encodes_exactly_as_encoding_afresh() {
    let mut rng = Rng::new(9113);
    for strategy in Strategy::ALL {
        let mut enc = Encoder::with_strategy(strategy);
        let mut reference = Encoder::without_memo(strategy);
        let mut dec = Decoder::new(4096);
        let mut date = 0u32;
        let mut file = 0u32;
        for block in 0..600 {
            if rng.one_in(6) {
                date += 1;
            }
            if rng.one_in(4) {
                file = rng.below(5) as u32;
            }
            if rng.one_in(40) {
                let size = *rng.pick(&[0, 64, 256, 1000, 4096]);
                for e in [&mut enc, &mut reference] {
                    e.set_max_table_size(size);
                }
                dec.set_max_table_size(size);
            }
            let mut list: Vec<Owned> = vec![
                (b":status".to_vec(), b"200".to_vec(), false),
                (
                    b"content-type".to_vec(),
                    format!("type/{file}").into_bytes(),
                    false,
                ),
                (
                    b"etag".to_vec(),
                    format!("\"{file:08x}-400\"").into_bytes(),
                    false,
                ),
                (b"x-frame-options".to_vec(), b"SAMEORIGIN".to_vec(), false),
                (b"content-security-policy".to_vec(), vec![b'p'; 150], false),
                (
                    b"date".to_vec(),
                    format!("Sun, 06 Dec 2026 21:{date:05}").into_bytes(),
                    false,
                ),
                (b"server".to_vec(), b"carbon".to_vec(), false),
                (
                    b"content-length".to_vec(),
                    format!("{}", 1000 + file).into_bytes(),
                    false,
                ),
            ];
            if rng.one_in(5) {
                let cookie = format!("id={}", rng.below(3)).into_bytes();
                list.insert(
                    rng.below(list.len()),
                    (b"set-cookie".to_vec(), cookie, false),
                );
            }
            if rng.one_in(8) {
                // The same field as the previous block's, but to be sent never-indexed.
                let i = rng.below(list.len());
                list[i].2 = true;
            }
            if rng.one_in(8) {
                list.remove(rng.below(list.len()));
            }
            if rng.one_in(20) {
                for k in 0..40 {
                    list.push((format!("x-extra-{k}").into_bytes(), b"v".to_vec(), false));
                }
            }
            let fields = |l: &[Owned]| -> Vec<(Vec<u8>, Vec<u8>, bool)> { l.to_vec() };
            let mut wires = Vec::new();
            for e in [&mut enc, &mut reference] {
                let mut wire = Vec::new();
                let l = fields(&list);
                e.encode(
                    l.iter().map(|(n, v, s)| HeaderField {
                        name: n,
                        value: v,
                        sensitive: *s,
                    }),
                    &mut wire,
                );
                wires.push(wire);
            }
            assert_eq!(wires[0], wires[1], "{strategy:?} block {block}");
            let got = decode(&mut dec, &wires[0], usize::MAX).unwrap();
            assert_eq!(got.len(), list.len());
            for (g, l) in got.iter().zip(&list) {
                assert_eq!((&g.0, &g.1), (&l.0, &l.1), "{strategy:?} block {block}");
                assert!(g.2 || !l.2, "sensitive field lost its flag");
            }
        }
        assert!(
            enc.memo_hits > 200,
            "{strategy:?}: memo barely used ({})",
            enc.memo_hits
        );
    }
}

#[test]
fn rfc7541_7_1_3_memo_never_reuses_a_field_for_one_marked_sensitive() {
    let mut enc = Encoder::new();
    let plain = [HeaderField::new(b"x-token", b"abc")];
    let (mut first, mut second) = (Vec::new(), Vec::new());
    enc.encode(plain, &mut first);
    enc.encode(plain, &mut first);
    let hits = enc.memo_hits;
    enc.encode(
        [HeaderField {
            name: b"x-token",
            value: b"abc",
            sensitive: true,
        }],
        &mut second,
    );
    assert_eq!(enc.memo_hits, hits);
    // §6.2.3: a never-indexed literal (0001xxxx), not the indexed entry.
    assert_eq!(second[0] & 0xf0, 0x10);
}

/// The octets of the fields matched from a block's start are copied once, as one
/// prefix of the previous block's: they land after whatever the buffer held, before
/// the first field that differs, and make up the whole block when none differs.
#[test]
fn rfc7541_memo_matched_prefix_lands_in_field_order() {
    let blocks: [&[(&[u8], &[u8])]; 5] = [
        &[
            (b":status", b"200"),
            (b"server", b"carbon"),
            (b"etag", b"\"1\""),
        ],
        &[
            (b":status", b"200"),
            (b"server", b"carbon"),
            (b"etag", b"\"1\""),
        ],
        &[
            (b":status", b"200"),
            (b"server", b"carbon"),
            (b"etag", b"\"2\""),
        ],
        &[
            (b":status", b"200"),
            (b"server", b"carbon"),
            (b"etag", b"\"2\""),
        ],
        &[
            (b":status", b"404"),
            (b"server", b"carbon"),
            (b"etag", b"\"2\""),
        ],
    ];
    // Without indexing, the table holds still and every difference is the field's own
    // (under Smart, `server` and the repeated `etag` would be added and move it).
    let strategy = Strategy::NoIndexing { huffman: true };
    let mut enc = Encoder::with_strategy(strategy);
    let mut reference = Encoder::without_memo(strategy);
    for (k, block) in blocks.iter().enumerate() {
        let fields = || block.iter().map(|&(n, v)| HeaderField::new(n, v));
        let (mut got, mut want) = (b"held".to_vec(), b"held".to_vec());
        let hits = enc.memo_hits;
        enc.encode(fields(), &mut got);
        reference.encode(fields(), &mut want);
        assert_eq!(got, want, "block {k}");
        let expected = [0, 3, 2, 3, 2][k];
        assert_eq!(enc.memo_hits - hits, expected, "block {k}");
    }
}

// ---- runs: shared field lists recognised by identity ----

fn as_fields(l: &[Owned]) -> Vec<HeaderField<'_>> {
    l.iter()
        .map(|(n, v, s)| HeaderField {
            name: n,
            value: v,
            sensitive: *s,
        })
        .collect()
}

/// Three shared runs (three files' fields), sent in random order between a `:status`
/// and a changing tail (a new second, a length, a cookie), with table size changes:
/// every block must be exactly what encoding all its fields afresh gives, and the
/// runs must really be reused.
#[test]
fn rfc7541_run_encodes_exactly_as_encoding_afresh() {
    use std::sync::Arc;
    let runs: Vec<Arc<Vec<Owned>>> = (0..3)
        .map(|k| {
            Arc::new(vec![
                (
                    b"content-type".to_vec(),
                    format!("type/{k}").into_bytes(),
                    false,
                ),
                (b"etag".to_vec(), format!("\"{k:08x}\"").into_bytes(), false),
                (b"x-frame-options".to_vec(), b"SAMEORIGIN".to_vec(), false),
                (b"cache-control".to_vec(), vec![b'c'; 40 * k], false),
            ])
        })
        .collect();
    let mut rng = Rng::new(8441);
    for strategy in Strategy::ALL {
        let mut enc = Encoder::with_strategy(strategy);
        let mut reference = Encoder::without_memo(strategy);
        let mut dec = Decoder::new(4096);
        let mut second = 0u32;
        let mut previous: Option<(usize, Vec<Owned>, Vec<Owned>)> = None;
        for block in 0..600 {
            if rng.one_in(6) {
                second += 1;
            }
            if rng.one_in(40) {
                let size = *rng.pick(&[0, 64, 256, 1000, 4096]);
                for e in [&mut enc, &mut reference] {
                    e.set_max_table_size(size);
                }
                dec.set_max_table_size(size);
            }
            // Often the same file again, as a poller asks.
            let run_index = match &previous {
                Some((r, ..)) if rng.one_in(2) => *r,
                _ => rng.below(runs.len()),
            };
            let run = &runs[run_index];
            let head: Vec<Owned> = vec![(b":status".to_vec(), b"200".to_vec(), false)];
            // Half the time the file's own length, so whole blocks repeat too.
            let length = if rng.one_in(2) {
                1000 + run_index
            } else {
                rng.below(3000)
            };
            let mut tail: Vec<Owned> = vec![
                (
                    b"date".to_vec(),
                    format!("Sun, 06 Dec 2026 21:{second:05}").into_bytes(),
                    false,
                ),
                (b"server".to_vec(), b"carbon".to_vec(), false),
                (
                    b"content-length".to_vec(),
                    format!("{length}").into_bytes(),
                    false,
                ),
            ];
            if rng.one_in(5) {
                let cookie = format!("id={}", rng.below(3)).into_bytes();
                tail.insert(0, (b"set-cookie".to_vec(), cookie, true));
            }
            let mut got = b"held".to_vec();
            // The same fields as the last block: the whole block may be sent again.
            let same = previous
                .as_ref()
                .is_some_and(|(r, h, t)| *r == run_index && *h == head && *t == tail);
            if !(same && enc.repeat_run_block(&mut got)) {
                enc.encode_with_run(
                    as_fields(&head),
                    (run, as_fields(run)),
                    as_fields(&tail),
                    &mut got,
                );
            }
            previous = Some((run_index, head.clone(), tail.clone()));
            let all: Vec<Owned> = head
                .iter()
                .chain(run.iter())
                .chain(&tail)
                .cloned()
                .collect();
            let mut want = b"held".to_vec();
            reference.encode(as_fields(&all), &mut want);
            assert_eq!(got, want, "{strategy:?} block {block}");
            let decoded = decode(&mut dec, &got[4..], usize::MAX).unwrap();
            assert_eq!(decoded.len(), all.len());
            for (g, l) in decoded.iter().zip(&all) {
                assert_eq!((&g.0, &g.1), (&l.0, &l.1), "{strategy:?} block {block}");
            }
        }
        // IndexAll adds each block's new length to the table, after the run: the
        // next block's run then meets another table, unless the length repeats. Smart
        // does so for a length that comes again soon, and for each run's `etag` at
        // its second appearance after every table change.
        let floor = match strategy {
            Strategy::IndexAll { .. } => 40,
            Strategy::Smart { .. } => 150,
            Strategy::NoIndexing { .. } => 200,
        };
        assert!(
            enc.run_hits + enc.blocks_repeated > floor,
            "{strategy:?}: runs barely reused ({} + {})",
            enc.run_hits,
            enc.blocks_repeated
        );
        // The exactness above is what counts; this checks the repeat path was taken
        // (a block is kept only when it changed nothing, so under indexing
        // strategies few are).
        assert!(
            enc.blocks_repeated > 3,
            "{strategy:?}: blocks barely repeated ({})",
            enc.blocks_repeated
        );
    }
}

/// RFC 7541 §7.1.3: a run holding a sensitive field is never kept, so its value
/// stays out of every cache.
#[test]
fn rfc7541_7_1_3_run_with_a_sensitive_field_is_never_reused() {
    use std::sync::Arc;
    let run: Arc<Vec<Owned>> = Arc::new(vec![
        (b"x-frame-options".to_vec(), b"DENY".to_vec(), false),
        (b"set-cookie".to_vec(), b"id=1".to_vec(), false),
    ]);
    let fields = || {
        run.iter()
            .map(|(n, v, _)| HeaderField::new(n, v))
            .collect::<Vec<_>>()
    };
    let mut enc = Encoder::new();
    for _ in 0..4 {
        let mut wire = Vec::new();
        enc.encode_with_run([], (&run, fields()), [], &mut wire);
    }
    assert_eq!(enc.run_hits, 0);
    // The same field without the cookie: the table already holds it, so from the
    // second block on the run is reused.
    let plain: Arc<Vec<Owned>> =
        Arc::new(vec![(b"x-frame-options".to_vec(), b"DENY".to_vec(), false)]);
    for _ in 0..3 {
        let mut wire = Vec::new();
        enc.encode_with_run(
            [],
            (&plain, plain.iter().map(|(n, v, _)| HeaderField::new(n, v))),
            [],
            &mut wire,
        );
    }
    assert_eq!(enc.run_hits, 2);
}
