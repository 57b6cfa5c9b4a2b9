//! The byte stream of an extended CONNECT stream (RFC 8441 §5): after a 2xx, the
//! DATA frames of the stream carry another protocol (WebSocket) both ways.
//!
//! Input is held here until the driver reads it, and only what was read is credited
//! back to the client with WINDOW_UPDATE: the stream's receive window bounds the
//! inbox, and a consumer that stops reading stops the client (RFC 9113 §5.2).
//! Output waits in a queue bounded by `Http2Limits::tunnel_send_queue` until the
//! scheduler turns it into DATA frames as the windows allow.

use std::collections::VecDeque;
use std::time::Instant;

use bytes::{Bytes, BytesMut};

/// Small queued chunks are joined into one DATA frame up to this size (a WebSocket
/// frame is often a 2-10 byte header chunk followed by its payload chunk).
const COALESCE: usize = 16 * 1024;

#[derive(Debug, Default)]
pub struct Tunnel {
    /// The 2xx was sent: our DATA may flow.
    pub open: bool,
    inbox: VecDeque<Bytes>,
    inbox_len: usize,
    outbox: VecDeque<Bytes>,
    outbox_len: usize,
    /// The client sent END_STREAM (or the connection's read side closed).
    pub recv_fin: bool,
    /// END_STREAM goes out once the outbox is sent.
    pub send_fin: bool,
    /// We sent END_STREAM; the client's must arrive by then, or the stream is reset.
    pub linger: Option<Instant>,
}

impl Tunnel {
    pub fn push_input(&mut self, data: Bytes) {
        if !data.is_empty() {
            self.inbox_len += data.len();
            self.inbox.push_back(data);
        }
    }

    /// Everything received and not yet read, as one buffer.
    pub fn take_input(&mut self) -> Option<Bytes> {
        let first = self.inbox.pop_front()?;
        let total = std::mem::take(&mut self.inbox_len);
        if self.inbox.is_empty() {
            return Some(first);
        }
        let mut all = BytesMut::with_capacity(total);
        all.extend_from_slice(&first);
        for b in self.inbox.drain(..) {
            all.extend_from_slice(&b);
        }
        Some(all.freeze())
    }

    pub fn has_input(&self) -> bool {
        self.inbox_len > 0
    }

    /// What may still be queued under `bound` (`Http2Limits::tunnel_send_queue`).
    pub fn send_room(&self, bound: usize) -> usize {
        if self.send_fin {
            return 0;
        }
        bound.saturating_sub(self.outbox_len)
    }

    pub fn push_output(&mut self, data: Bytes) {
        if !data.is_empty() {
            self.outbox_len += data.len();
            self.outbox.push_back(data);
        }
    }

    pub fn output_is_empty(&self) -> bool {
        self.outbox.is_empty()
    }

    /// The next body to turn into DATA frames: queued chunks, small ones joined.
    pub fn next_output(&mut self) -> Option<Bytes> {
        let first = self.outbox.pop_front()?;
        let mut len = first.len();
        if len >= COALESCE || self.outbox.front().is_none_or(|b| len + b.len() > COALESCE) {
            self.outbox_len -= len;
            return Some(first);
        }
        let mut joined = BytesMut::with_capacity(COALESCE);
        joined.extend_from_slice(&first);
        while let Some(b) = self.outbox.front() {
            if len + b.len() > COALESCE {
                break;
            }
            len += b.len();
            joined.extend_from_slice(b);
            self.outbox.pop_front();
        }
        self.outbox_len -= len;
        Some(joined.freeze())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEND_QUEUE: usize = 64 * 1024;

    #[test]
    fn rfc8441_5_output_chunks_are_joined_up_to_the_coalescing_size_in_order() {
        let mut t = Tunnel::default();
        t.push_output(Bytes::from_static(b"\x81\x05"));
        t.push_output(Bytes::from_static(b"hello"));
        t.push_output(Bytes::from(vec![7u8; COALESCE]));
        assert_eq!(t.send_room(SEND_QUEUE), SEND_QUEUE - 7 - COALESCE);
        assert_eq!(t.next_output().unwrap(), &b"\x81\x05hello"[..]);
        assert_eq!(t.next_output().unwrap().len(), COALESCE);
        assert!(t.next_output().is_none() && t.output_is_empty());
        assert_eq!(t.send_room(SEND_QUEUE), SEND_QUEUE);
        t.send_fin = true;
        assert_eq!(t.send_room(SEND_QUEUE), 0, "nothing after END_STREAM");
    }

    #[test]
    fn rfc8441_5_input_is_read_whole_and_in_order() {
        let mut t = Tunnel::default();
        assert!(t.take_input().is_none());
        t.push_input(Bytes::from_static(b"ab"));
        t.push_input(Bytes::new());
        t.push_input(Bytes::from_static(b"c"));
        assert!(t.has_input());
        assert_eq!(t.take_input().unwrap(), &b"abc"[..]);
        assert!(!t.has_input());
    }
}
