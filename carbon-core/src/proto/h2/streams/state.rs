//! Stream states of a server (RFC 9113 §5.1): the client's streams, and the even
//! streams we reserve with PUSH_PROMISE (server push, §8.4).
//!
//! ```text
//!                   send PP              recv H
//!   reserved(local) <------- idle ---------------> open
//!          |                                      |    |
//!          | send H                       recv ES |    | send ES
//!          |                                      v    v
//!          +-----------------> half-closed(remote)    half-closed(local)
//!                                      |                     |
//!                           send ES / send R /     recv ES / send R /
//!                                  recv R                 recv R
//!                                      v                     v
//!                                    closed                closed
//! ```
//!
//! Idle and closed streams are not stored: an odd stream id above the highest one the
//! client opened is idle, one at or below it and absent from the table is closed; an
//! even id is idle until we promise it. Reserved(remote) is the client's side of push
//! and never happens here (a client cannot push, §8.4).

/// The state of a stored (open or half-closed) stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamState {
    /// We sent PUSH_PROMISE for this stream and not yet its response HEADERS.
    ReservedLocal,
    /// Both sides may send.
    Open,
    /// The client sent END_STREAM: its request is complete; our response goes on.
    HalfClosedRemote,
    /// We sent END_STREAM (a response before the end of the request, e.g. 413).
    HalfClosedLocal,
}

impl StreamState {
    /// The client ended its side. Returns None when the stream is now closed.
    pub fn recv_end_stream(self) -> Option<StreamState> {
        match self {
            StreamState::Open => Some(StreamState::HalfClosedRemote),
            StreamState::HalfClosedRemote
            | StreamState::HalfClosedLocal
            | StreamState::ReservedLocal => None,
        }
    }

    /// We sent the response HEADERS: a reserved (pushed) stream becomes
    /// half-closed(remote) (§5.1); other states do not change.
    pub fn send_headers(self) -> StreamState {
        match self {
            StreamState::ReservedLocal => StreamState::HalfClosedRemote,
            s => s,
        }
    }

    /// We ended our side. Returns None when the stream is now closed.
    pub fn send_end_stream(self) -> Option<StreamState> {
        match self {
            StreamState::Open => Some(StreamState::HalfClosedLocal),
            StreamState::HalfClosedRemote
            | StreamState::HalfClosedLocal
            | StreamState::ReservedLocal => None,
        }
    }

    /// RFC 9113 §5.1: may the client still send DATA or HEADERS on this stream?
    pub fn can_recv(self) -> bool {
        matches!(self, StreamState::Open | StreamState::HalfClosedLocal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9113_5_1_transitions() {
        let s = StreamState::Open;
        assert_eq!(s.recv_end_stream(), Some(StreamState::HalfClosedRemote));
        assert_eq!(s.send_end_stream(), Some(StreamState::HalfClosedLocal));
        assert_eq!(StreamState::HalfClosedRemote.send_end_stream(), None);
        assert_eq!(StreamState::HalfClosedLocal.recv_end_stream(), None);
        assert!(!StreamState::HalfClosedRemote.can_recv());
        assert!(StreamState::HalfClosedLocal.can_recv());
    }

    #[test]
    fn rfc9113_5_1_reserved_local_becomes_half_closed_remote_on_send_headers() {
        let s = StreamState::ReservedLocal;
        assert!(!s.can_recv(), "a client sends no DATA on a pushed stream");
        assert_eq!(s.send_headers(), StreamState::HalfClosedRemote);
        assert_eq!(s.send_headers().send_end_stream(), None);
        assert_eq!(StreamState::Open.send_headers(), StreamState::Open);
    }
}
