//! permessage-deflate (RFC 7692): offer negotiation and the per-connection codec.
//!
//! Negotiation decisions (each declines an offer rather than guessing; the next offer
//! in the header is then tried, and with none left the connection runs uncompressed):
//! * unknown, duplicated or malformed parameters: declined (§7.1);
//! * `server_no_context_takeover`: honoured, the compressor is reset after every
//!   message and echoed (§7.1.1.1);
//! * `client_no_context_takeover`: accepted and echoed; the decompressor is then reset
//!   after every message too, which frees no memory but catches a client that breaks
//!   its promise as corrupt data (§7.1.1.2);
//! * `server_max_window_bits=N`: honoured for N in 9..=15 by compressing with that
//!   window, and echoed (§7.1.2.1). N = 8 is declined: zlib-compatible raw deflate
//!   cannot produce a 256-byte window (zlib turns 8 into 9, which would break the
//!   client's limit);
//! * `client_max_window_bits` (with or without a value): accepted; our decompressor
//!   always runs a 32 KiB window, which decodes any smaller window. A value is
//!   echoed (§7.1.2.2), no value is left out of the answer.
//!
//! Inflation is bounded while it runs: output grows in steps of [`INFLATE_STEP`] and
//! stops with 1009 as soon as the message limit is passed, so a compression bomb
//! costs at most the limit, never its inflated size.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::close::CloseCode;

/// Output grows by at most this much per decompression step.
pub const INFLATE_STEP: usize = 16 * 1024;

/// RFC 7692 §7.2.1: the four octets a sync flush ends with, stripped on send and put
/// back on receive.
const SYNC_TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The agreed parameters of one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateParams {
    pub server_no_context_takeover: bool,
    pub client_no_context_takeover: bool,
    /// Window we compress with (9..=15).
    pub server_max_window_bits: u8,
    /// Whether the offer named `server_max_window_bits` (then it is echoed).
    server_window_named: bool,
    /// The client's own limit, echoed when it gave one.
    pub client_max_window_bits: Option<u8>,
}

impl DeflateParams {
    /// The `Sec-WebSocket-Extensions` value of the 101 response.
    pub fn response_header(&self) -> String {
        let mut s = String::from("permessage-deflate");
        if self.server_no_context_takeover {
            s.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            s.push_str("; client_no_context_takeover");
        }
        if self.server_window_named {
            s.push_str(&format!(
                "; server_max_window_bits={}",
                self.server_max_window_bits
            ));
        }
        if let Some(b) = self.client_max_window_bits {
            s.push_str(&format!("; client_max_window_bits={b}"));
        }
        s
    }
}

/// Picks the first acceptable permessage-deflate offer from the request's
/// `Sec-WebSocket-Extensions` values (several header lines, comma-separated offers).
pub fn negotiate<'a>(headers: impl Iterator<Item = &'a str>) -> Option<DeflateParams> {
    headers
        .flat_map(|h| h.split(','))
        .find_map(|offer| accept_offer(offer.trim()))
}

fn accept_offer(offer: &str) -> Option<DeflateParams> {
    let mut parts = offer.split(';').map(str::trim);
    if !parts.next()?.eq_ignore_ascii_case("permessage-deflate") {
        return None;
    }
    let mut p = DeflateParams {
        server_no_context_takeover: false,
        client_no_context_takeover: false,
        server_max_window_bits: 15,
        server_window_named: false,
        client_max_window_bits: None,
    };
    let mut seen = [false; 4];
    for param in parts {
        let (name, value) = match param.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
            None => (param, None),
        };
        let idx = match name.to_ascii_lowercase().as_str() {
            "server_no_context_takeover" => 0,
            "client_no_context_takeover" => 1,
            "server_max_window_bits" => 2,
            "client_max_window_bits" => 3,
            _ => return None,
        };
        if std::mem::replace(&mut seen[idx], true) {
            return None;
        }
        match (idx, value) {
            (0, None) => p.server_no_context_takeover = true,
            (1, None) => p.client_no_context_takeover = true,
            (2, Some(v)) => {
                let bits = window_bits(v)?;
                if bits < 9 {
                    return None;
                }
                p.server_max_window_bits = bits;
                p.server_window_named = true;
            }
            (3, None) => {}
            (3, Some(v)) => p.client_max_window_bits = Some(window_bits(v)?),
            _ => return None,
        }
    }
    Some(p)
}

/// RFC 7692 §7.1.2: a decimal 8..=15 without leading zeros.
fn window_bits(v: &str) -> Option<u8> {
    if v.is_empty() || v.len() > 2 || v.starts_with('0') || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u8 = v.parse().ok()?;
    (8..=15).contains(&n).then_some(n)
}

/// Compressor and decompressor of one connection, each created on first use so an
/// idle connection that never sent a compressed message holds no zlib state.
pub struct DeflateCodec {
    params: DeflateParams,
    compress: Option<Box<Compress>>,
    decompress: Option<Box<Decompress>>,
}

impl std::fmt::Debug for DeflateCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeflateCodec")
            .field("params", &self.params)
            .field("compress", &self.compress.is_some())
            .field("decompress", &self.decompress.is_some())
            .finish()
    }
}

impl DeflateCodec {
    pub fn new(params: DeflateParams) -> Self {
        DeflateCodec {
            params,
            compress: None,
            decompress: None,
        }
    }

    /// Whether zlib state has been allocated yet.
    pub fn has_state(&self) -> bool {
        self.compress.is_some() || self.decompress.is_some()
    }

    pub fn params(&self) -> DeflateParams {
        self.params
    }

    /// Compresses one whole message (RFC 7692 §7.2.1): deflate with a sync flush, the
    /// trailing `00 00 ff ff` removed.
    pub fn compress(&mut self, msg: &[u8]) -> Vec<u8> {
        let bits = self.params.server_max_window_bits.clamp(9, 15);
        let c = self.compress.get_or_insert_with(|| {
            Box::new(Compress::new_with_window_bits(
                Compression::fast(),
                false,
                bits,
            ))
        });
        let mut out = Vec::with_capacity(msg.len() / 2 + 64);
        let start_in = c.total_in();
        loop {
            let consumed = (c.total_in() - start_in) as usize;
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(256));
            }
            let before_out = c.total_out();
            // Errors from an in-memory deflate stream only come from API misuse; an
            // empty result would still be a valid (if corrupt-looking) message, so
            // stop rather than loop.
            if c.compress_vec(&msg[consumed..], &mut out, FlushCompress::Sync)
                .is_err()
            {
                break;
            }
            let done_in = (c.total_in() - start_in) as usize == msg.len();
            // Sync flush is complete when output stopped short of the buffer's end.
            if done_in && out.len() < out.capacity() && c.total_out() >= before_out {
                break;
            }
        }
        if out.ends_with(&SYNC_TAIL) {
            out.truncate(out.len() - SYNC_TAIL.len());
        }
        if self.params.server_no_context_takeover {
            c.reset();
        }
        out
    }

    /// Inflates a piece of a compressed message into `out`, refusing with 1009 as soon
    /// as `out` would exceed `limit` bytes, and with 1007 on corrupt data.
    pub fn decompress(
        &mut self,
        data: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), CloseCode> {
        let d = self
            .decompress
            .get_or_insert_with(|| Box::new(Decompress::new_with_window_bits(false, 15)));
        inflate(d, data, out, limit)
    }

    /// Ends a compressed message: feeds the stripped sync-flush tail (§7.2.2).
    pub fn finish_message(&mut self, out: &mut Vec<u8>, limit: usize) -> Result<(), CloseCode> {
        self.decompress(&SYNC_TAIL, out, limit)?;
        if self.params.client_no_context_takeover {
            if let Some(d) = self.decompress.as_mut() {
                d.reset(false);
            }
        }
        Ok(())
    }
}

impl DeflateCodec {
    /// Streaming form of [`Self::decompress`]: inflates in pieces of at most `step`
    /// bytes and hands each to `emit` at once, so output never piles up whatever
    /// the compression ratio. `emit` enforces the message limit.
    pub fn decompress_each(
        &mut self,
        data: &[u8],
        step: usize,
        emit: &mut dyn FnMut(Vec<u8>) -> Result<(), CloseCode>,
    ) -> Result<(), CloseCode> {
        let d = self
            .decompress
            .get_or_insert_with(|| Box::new(Decompress::new_with_window_bits(false, 15)));
        let mut data = data;
        loop {
            let mut out = Vec::with_capacity(step.max(1));
            let (in0, out0) = (d.total_in(), d.total_out());
            let status = d
                .decompress_vec(data, &mut out, FlushDecompress::Sync)
                .map_err(|_| CloseCode::INVALID_PAYLOAD)?;
            let consumed = (d.total_in() - in0) as usize;
            let produced = d.total_out() - out0;
            data = &data[consumed..];
            let full = out.len() == out.capacity();
            if !out.is_empty() {
                emit(out)?;
            }
            if status == Status::StreamEnd {
                d.reset(false);
                if data.is_empty() {
                    return Ok(());
                }
                continue;
            }
            if !full && (data.is_empty() || (consumed == 0 && produced == 0)) {
                return Ok(());
            }
        }
    }

    /// Streaming form of [`Self::finish_message`].
    pub fn finish_message_each(
        &mut self,
        step: usize,
        emit: &mut dyn FnMut(Vec<u8>) -> Result<(), CloseCode>,
    ) -> Result<(), CloseCode> {
        self.decompress_each(&SYNC_TAIL, step, emit)?;
        if self.params.client_no_context_takeover {
            if let Some(d) = self.decompress.as_mut() {
                d.reset(false);
            }
        }
        Ok(())
    }
}

fn inflate(
    d: &mut Decompress,
    mut data: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
) -> Result<(), CloseCode> {
    loop {
        if out.len() == out.capacity() {
            // One byte past the limit tells "exactly at the limit" from "over it".
            let room = (limit + 1).saturating_sub(out.len());
            if room == 0 {
                return Err(CloseCode::MESSAGE_TOO_BIG);
            }
            out.reserve_exact(room.min(INFLATE_STEP));
        }
        let (in0, out0) = (d.total_in(), d.total_out());
        let status = d.decompress_vec(data, out, FlushDecompress::Sync);
        // Past the limit is 1009 even when the same call then met corrupt data, so the
        // code does not depend on where a read or frame boundary split the input.
        if out.len() > limit {
            return Err(CloseCode::MESSAGE_TOO_BIG);
        }
        let status = status.map_err(|_| CloseCode::INVALID_PAYLOAD)?;
        let consumed = (d.total_in() - in0) as usize;
        let produced = d.total_out() - out0;
        data = &data[consumed..];
        if status == Status::StreamEnd {
            // A final block (BFINAL) ends the deflate stream; the next message starts
            // a fresh one.
            d.reset(false);
            if data.is_empty() {
                return Ok(());
            }
            continue;
        }
        if out.len() < out.capacity() && data.is_empty() {
            return Ok(());
        }
        if consumed == 0 && produced == 0 && out.len() < out.capacity() {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(h: &str) -> Option<DeflateParams> {
        negotiate(std::iter::once(h))
    }

    fn roundtrip(p: DeflateParams, msgs: &[&[u8]]) -> Vec<usize> {
        let mut server = DeflateCodec::new(p);
        // The peer's decompressor: same code, its own context.
        let mut peer = DeflateCodec::new(p);
        let mut sizes = Vec::new();
        for m in msgs {
            let wire = server.compress(m);
            sizes.push(wire.len());
            let mut out = Vec::new();
            peer.decompress(&wire, &mut out, 1 << 20).unwrap();
            peer.finish_message(&mut out, 1 << 20).unwrap();
            assert_eq!(&out[..], *m);
        }
        sizes
    }

    #[test]
    fn rfc7692_7_1_plain_offer_accepted_with_defaults() {
        let p = params("permessage-deflate").unwrap();
        assert_eq!(p.response_header(), "permessage-deflate");
        assert_eq!(p.server_max_window_bits, 15);
    }

    #[test]
    fn rfc7692_7_1_unknown_duplicate_or_bad_parameters_decline_the_offer() {
        assert_eq!(params("permessage-deflate; foo"), None);
        assert_eq!(
            params("permessage-deflate; server_no_context_takeover; server_no_context_takeover"),
            None
        );
        assert_eq!(
            params("permessage-deflate; server_no_context_takeover=1"),
            None
        );
        assert_eq!(params("permessage-deflate; server_max_window_bits"), None);
        assert_eq!(
            params("permessage-deflate; server_max_window_bits=16"),
            None
        );
        assert_eq!(
            params("permessage-deflate; server_max_window_bits=010"),
            None
        );
        assert_eq!(params("permessage-deflate; client_max_window_bits=7"), None);
        assert_eq!(params("x-webkit-deflate-frame"), None);
    }

    #[test]
    fn rfc7692_7_1_2_1_server_window_8_declined_then_next_offer_taken() {
        let p = negotiate(
            ["permessage-deflate; server_max_window_bits=8, permessage-deflate; server_max_window_bits=9"]
                .into_iter(),
        )
        .unwrap();
        assert_eq!(p.server_max_window_bits, 9);
        assert_eq!(
            p.response_header(),
            "permessage-deflate; server_max_window_bits=9"
        );
        assert_eq!(params("permessage-deflate; server_max_window_bits=8"), None);
    }

    #[test]
    fn rfc7692_7_1_2_2_client_window_echoed_only_with_a_value() {
        let p = params("permessage-deflate; client_max_window_bits").unwrap();
        assert_eq!(p.response_header(), "permessage-deflate");
        let p = params("permessage-deflate; client_max_window_bits=10").unwrap();
        assert_eq!(
            p.response_header(),
            "permessage-deflate; client_max_window_bits=10"
        );
        let p = params("permessage-deflate; client_max_window_bits=\"12\"").unwrap();
        assert_eq!(p.client_max_window_bits, Some(12));
    }

    #[test]
    fn rfc7692_7_2_context_takeover_shrinks_repeated_messages() {
        let p = params("permessage-deflate").unwrap();
        let msg: &[u8] = b"a message that repeats itself, a message that repeats itself!";
        let sizes = roundtrip(p, &[msg, msg, msg]);
        // The second copy refers back into the first message's window.
        assert!(sizes[1] < sizes[0], "{sizes:?}");
    }

    #[test]
    fn rfc7692_7_1_1_1_server_no_context_takeover_resets_every_message() {
        let p = params("permessage-deflate; server_no_context_takeover").unwrap();
        assert_eq!(
            p.response_header(),
            "permessage-deflate; server_no_context_takeover"
        );
        let msg: &[u8] = b"a message that repeats itself, a message that repeats itself!";
        let sizes = roundtrip(p, &[msg, msg, msg]);
        assert_eq!(sizes[0], sizes[1]);
        assert_eq!(sizes[1], sizes[2]);
    }

    #[test]
    fn rfc7692_7_1_1_2_client_no_context_takeover_roundtrip() {
        let p = params("permessage-deflate; client_no_context_takeover").unwrap();
        assert_eq!(
            p.response_header(),
            "permessage-deflate; client_no_context_takeover"
        );
        // Both sides reset: the server compressing for itself with takeover would not
        // decode on a resetting peer, so compress with a fresh codec per message.
        let mut rx = DeflateCodec::new(p);
        for m in [&b"hello hello hello"[..], b"hello hello hello", b""] {
            let wire = DeflateCodec::new(p).compress(m);
            let mut out = Vec::new();
            rx.decompress(&wire, &mut out, 1024).unwrap();
            rx.finish_message(&mut out, 1024).unwrap();
            assert_eq!(out, m);
        }
    }

    #[test]
    fn rfc7692_7_1_2_1_every_server_window_roundtrips() {
        let big: Vec<u8> = (0..200_000u32)
            .map(|i| (i % 251) as u8 ^ (i / 1000) as u8)
            .collect();
        for bits in 9..=15 {
            let p = params(&format!(
                "permessage-deflate; server_max_window_bits={bits}"
            ))
            .unwrap();
            assert_eq!(p.server_max_window_bits, bits);
            roundtrip(p, &[&big[..], b"tail", &big[..1000]]);
        }
    }

    #[test]
    fn rfc7692_7_2_2_compression_bomb_refused_without_allocating_it() {
        let p = params("permessage-deflate").unwrap();
        // 32 MiB of zeros at the best level: about 1,000:1, as a bomb is built.
        let zeros = vec![0u8; 32 << 20];
        let mut z = Compress::new_with_window_bits(Compression::best(), false, 15);
        let mut wire = Vec::with_capacity(1 << 20);
        z.compress_vec(&zeros, &mut wire, FlushCompress::Sync)
            .unwrap();
        assert!(wire.len() < 100_000, "{}", wire.len());
        let limit = 1 << 20;
        let mut rx = DeflateCodec::new(p);
        let mut out = Vec::new();
        assert_eq!(
            rx.decompress(&wire, &mut out, limit),
            Err(CloseCode::MESSAGE_TOO_BIG)
        );
        assert!(out.capacity() <= limit + INFLATE_STEP, "{}", out.capacity());
    }

    /// Corrupt-looking but valid deflate data (a fuzz find) that inflates past the
    /// limit: inflation stops at the one sentinel byte past it and refuses with 1009,
    /// whatever the data holds.
    #[test]
    fn rfc7692_inflation_never_exceeds_the_message_limit_past_its_sentinel_byte() {
        let p = params("permessage-deflate").unwrap();
        let input = include_bytes!(
            "../../../../fuzz/corpus/ws_frames/deflate-garbage-inflates-past-1k-limit"
        );
        let limit = 1024;
        let mut out = Vec::new();
        assert_eq!(
            DeflateCodec::new(p).decompress(&input[2..], &mut out, limit),
            Err(CloseCode::MESSAGE_TOO_BIG)
        );
        assert_eq!(out.len(), limit + 1);
        assert_eq!(out.capacity(), limit + 1);
    }

    /// Output past the limit and corrupt data in one inflate call (a fuzz find):
    /// the limit is checked first, so it is 1009, not 1007.
    #[test]
    fn rfc7692_inflation_past_the_limit_then_corrupt_data_is_1009() {
        let p = params("permessage-deflate").unwrap();
        let input =
            include_bytes!("../../../../fuzz/corpus/ws_frames/deflate-past-1k-limit-then-corrupt");
        let mut out = Vec::new();
        assert_eq!(
            DeflateCodec::new(p).decompress(&input[2..], &mut out, 1024),
            Err(CloseCode::MESSAGE_TOO_BIG)
        );
        assert_eq!(out.len(), 1025);
    }

    #[test]
    fn rfc7692_7_2_2_message_exactly_at_the_limit_is_accepted() {
        let p = params("permessage-deflate").unwrap();
        let msg = vec![7u8; 100_000];
        let wire = DeflateCodec::new(p).compress(&msg);
        let mut rx = DeflateCodec::new(p);
        let mut out = Vec::new();
        rx.decompress(&wire, &mut out, msg.len()).unwrap();
        rx.finish_message(&mut out, msg.len()).unwrap();
        assert_eq!(out, msg);
    }

    #[test]
    fn rfc7692_7_2_2_streamed_inflation_emits_bounded_pieces() {
        let p = params("permessage-deflate").unwrap();
        let msg: Vec<u8> = (0..300_000u32).map(|i| (i % 7) as u8).collect();
        let wire = DeflateCodec::new(p).compress(&msg);
        let mut rx = DeflateCodec::new(p);
        let mut got = Vec::new();
        let mut biggest = 0;
        let mut emit = |piece: Vec<u8>| {
            biggest = biggest.max(piece.capacity());
            got.extend_from_slice(&piece);
            Ok(())
        };
        rx.decompress_each(&wire, 4096, &mut emit).unwrap();
        rx.finish_message_each(4096, &mut emit).unwrap();
        assert_eq!(got, msg);
        assert!(biggest <= 4096, "{biggest}");
    }

    #[test]
    fn rfc7692_7_1_2_2_client_windows_9_to_15_all_inflate() {
        let msg: Vec<u8> = (0..100_000u32).map(|i| (i * 31 % 97) as u8).collect();
        for bits in 9..=15u8 {
            let p = params(&format!(
                "permessage-deflate; client_max_window_bits={bits}"
            ))
            .unwrap();
            // The client compresses with its announced window, context kept across
            // two messages.
            let mut client = Compress::new_with_window_bits(Compression::default(), false, bits);
            let mut rx = DeflateCodec::new(p);
            for _ in 0..2 {
                let mut z = Vec::with_capacity(msg.len() + 1024);
                client
                    .compress_vec(&msg, &mut z, FlushCompress::Sync)
                    .unwrap();
                assert!(z.ends_with(&SYNC_TAIL));
                z.truncate(z.len() - 4);
                let mut out = Vec::new();
                rx.decompress(&z, &mut out, msg.len()).unwrap();
                rx.finish_message(&mut out, msg.len()).unwrap();
                assert_eq!(out, msg, "client window {bits}");
            }
        }
    }

    /// Regression: `server_max_window_bits=9` with context takeover over several
    /// 128 KiB messages (Autobahn 13.3.x) ran one reused compressor through a hash
    /// slide every 512 input bytes; its output must still fit the promised window.
    #[test]
    fn rfc7692_7_1_2_1_small_server_windows_inflate_with_exactly_that_window_across_messages() {
        // Each 4 KiB: the same 2 KiB of noise (matches 4 KiB back, only within a
        // wide window) then 2 KiB of short-period text (matches within any window).
        let mut x = 1u32;
        let noise: Vec<u8> = (0..2048)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (x >> 16) as u8
            })
            .collect();
        let text: Vec<u8> = (0..128 * 1024usize)
            .map(|i| match i % 4096 {
                j if j < 2048 => noise[j],
                j => b"permessage-deflate window "[j % 26],
            })
            .collect();
        for bits in [9u8, 10, 12, 15] {
            let p = params(&format!(
                "permessage-deflate; server_max_window_bits={bits}"
            ))
            .unwrap();
            let mut server = DeflateCodec::new(p);
            let mut peer = Decompress::new_with_window_bits(false, bits);
            for round in 0..3 {
                let msg = &text[round * 1000..];
                let wire = server.compress(msg);
                assert!(wire.len() < msg.len(), "window {bits}: no compression");
                let mut got = Vec::with_capacity(msg.len() + 1);
                let mut input = wire.clone();
                input.extend_from_slice(&SYNC_TAIL);
                peer.decompress_vec(&input, &mut got, FlushDecompress::Sync)
                    .unwrap();
                assert!(got == msg, "window {bits}, message {round}");
            }
        }
    }

    /// Regression: one compressor per connection, reused for every message (a
    /// compressor rebuilt per message would also drop the context, RFC 7692 §7.2.1).
    #[test]
    fn rfc7692_7_2_1_one_compressor_reused_across_messages_at_every_window() {
        for bits in 9..=15u8 {
            for nct in ["", "; server_no_context_takeover"] {
                let p = params(&format!(
                    "permessage-deflate; server_max_window_bits={bits}{nct}"
                ))
                .unwrap();
                let mut server = DeflateCodec::new(p);
                server.compress(b"first message");
                let first: *const Compress = server.compress.as_deref().unwrap();
                for _ in 0..3 {
                    server.compress(&[b'x'; 4096]);
                    let now: *const Compress = server.compress.as_deref().unwrap();
                    assert!(std::ptr::eq(first, now), "window {bits}{nct}");
                }
            }
        }
    }

    /// Regression for the cause of the slow small-window case: unoptimized zlib-rs
    /// slides its 64 Ki-entry hash table every `2^bits` input bytes, which made
    /// window 9 take minutes per 1,000 x 128 KiB in dev builds. The workspace builds
    /// zlib-rs optimized in the dev profile; this keeps that setting from being lost.
    #[test]
    fn rfc7692_small_window_speed_dev_profile_builds_zlib_rs_optimized() {
        let manifest = include_str!("../../../../Cargo.toml");
        let section = manifest
            .split("[profile.dev.package.zlib-rs]")
            .nth(1)
            .expect("workspace Cargo.toml has [profile.dev.package.zlib-rs]");
        let body = section.split("\n[").next().unwrap_or("");
        assert!(
            body.lines().any(|l| l.replace(' ', "") == "opt-level=3"),
            "[profile.dev.package.zlib-rs] must set opt-level = 3: {body}"
        );
    }

    #[test]
    fn rfc7692_corrupt_data_is_invalid_payload() {
        let p = params("permessage-deflate").unwrap();
        let mut rx = DeflateCodec::new(p);
        let mut out = Vec::new();
        // BTYPE = 11 (reserved) is an error in RFC 1951 §3.2.3.
        assert_eq!(
            rx.decompress(&[0xff, 0xff, 0xff], &mut out, 1024),
            Err(CloseCode::INVALID_PAYLOAD)
        );
    }
}
