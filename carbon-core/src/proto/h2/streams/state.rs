//! Stream states of a server that never pushes (RFC 9113 §5.1).
//!
//! ```text
//!                          +--------+
//!                  recv H  |        |
//!          idle ---------->|  open  |
//!                          |        |
//!                          +--------+
//!                   recv ES |      | send ES
//!                           v      v
//!                 +----------+    +----------+
//!                 |   half-  |    |   half-  |
//!                 |  closed  |    |  closed  |
//!                 | (remote) |    |  (local) |
//!                 +----------+    +----------+
//!                      |  send ES   |  recv ES
//!                      |  send R /  |  send R /
//!                      |  recv R    |  recv R
//!                      v            v
//!                          closed
//! ```
//!
//! Idle and closed streams are not stored: a stream id above the highest one the
//! client opened is idle, one at or below it and absent from the table is closed.
//! The reserved states belong to server push, which this server does not do.

/// The state of a stored (open or half-closed) stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamState {
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
            StreamState::HalfClosedRemote | StreamState::HalfClosedLocal => None,
        }
    }

    /// We ended our side. Returns None when the stream is now closed.
    pub fn send_end_stream(self) -> Option<StreamState> {
        match self {
            StreamState::Open => Some(StreamState::HalfClosedLocal),
            StreamState::HalfClosedRemote | StreamState::HalfClosedLocal => None,
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
}
