//! Incremental frame decoding: bytes go in as they arrive, split anywhere; whole
//! frames come out. Only the frame being received is buffered, and never more than
//! 9 bytes of header plus our SETTINGS_MAX_FRAME_SIZE of payload (RFC 9113 §4.2), so a
//! peer announcing a large frame is refused from its header alone.

use bytes::{Buf, BytesMut};

use super::head::{Head, HEAD_LEN};
use super::{Frame, FrameError};

#[derive(Debug, Default)]
pub struct FrameReader {
    buf: BytesMut,
}

impl FrameReader {
    pub fn new() -> Self {
        FrameReader::default()
    }

    /// Append received bytes. The caller drains with [`FrameReader::next_frame`] after
    /// every push, so the buffer holds at most one read plus one partial frame.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes received and not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Drop everything buffered (after a connection error) and the allocation with it.
    pub fn clear(&mut self) {
        self.buf = BytesMut::new();
    }

    /// The next complete frame, `Ok(None)` if more input is needed. A frame longer than
    /// `max_frame_size` is a connection error FRAME_SIZE_ERROR as soon as its header is
    /// seen (a choice §4.2 allows for every frame type; it keeps an oversized frame from
    /// becoming a server-side stream reset, CVE-2025-8671).
    pub fn next_frame(&mut self, max_frame_size: u32) -> Result<Option<Frame>, FrameError> {
        let Some(head_bytes) = self.buf.get(..HEAD_LEN) else {
            return Ok(None);
        };
        let mut hb = [0u8; HEAD_LEN];
        hb.copy_from_slice(head_bytes);
        let head = Head::parse(&hb);
        if head.len > max_frame_size {
            return Err(FrameError::frame_size(
                "frame larger than SETTINGS_MAX_FRAME_SIZE",
            ));
        }
        let total = HEAD_LEN + head.len as usize;
        if self.buf.len() < total {
            // Reserve the rest of the frame once, not per read.
            self.buf.reserve(total - self.buf.len());
            return Ok(None);
        }
        self.buf.advance(HEAD_LEN);
        let payload = self.buf.split_to(head.len as usize).freeze();
        if self.buf.is_empty() {
            // An idle connection holds no input buffer (as over HTTP/1.1): thousands
            // of idle clients must not pin a read buffer each.
            self.buf = BytesMut::new();
        }
        Frame::parse(head, payload).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::h2::error::ErrorCode;
    use crate::proto::h2::frame::{Ping, Settings};
    use bytes::BytesMut;

    fn wire() -> Vec<u8> {
        let mut b = BytesMut::new();
        Settings {
            ack: false,
            params: vec![(1, 4096), (4, 1000)],
        }
        .encode(&mut b);
        Ping {
            ack: false,
            opaque: *b"abcdefgh",
        }
        .encode(&mut b);
        b.to_vec()
    }

    #[test]
    fn rfc9113_4_1_frames_decode_from_any_split() {
        let w = wire();
        let mut whole = FrameReader::new();
        whole.push(&w);
        let mut expect = Vec::new();
        while let Some(f) = whole.next_frame(16_384).unwrap() {
            expect.push(f);
        }
        assert_eq!(expect.len(), 2);
        for split in 0..=w.len() {
            let mut r = FrameReader::new();
            let mut got = Vec::new();
            for part in [&w[..split], &w[split..]] {
                r.push(part);
                while let Some(f) = r.next_frame(16_384).unwrap() {
                    got.push(f);
                }
            }
            assert_eq!(got, expect, "split at {split}");
            assert_eq!(r.buffered(), 0);
        }
    }

    #[test]
    fn no_buffer_kept_between_frames() {
        let mut r = FrameReader::new();
        r.push(&wire());
        while r.next_frame(16_384).unwrap().is_some() {}
        assert_eq!(r.buf.capacity(), 0);
    }

    #[test]
    fn rfc9113_4_2_oversized_frame_refused_from_its_header() {
        let mut r = FrameReader::new();
        r.push(&[0, 0x40, 0x01, 0, 0, 0, 0, 0, 1]);
        match r.next_frame(16_384) {
            Err(FrameError::Connection(e)) => assert_eq!(e.code, ErrorCode::FRAME_SIZE_ERROR),
            other => panic!("{other:?}"),
        }
    }
}
