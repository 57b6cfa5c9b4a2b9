//! What parsing one frame can go wrong with: either a connection error or a stream
//! error, exactly as RFC 9113 §6 names it for each malformed field.

use crate::proto::h2::error::{ConnError, ErrorCode, StreamError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    Connection(ConnError),
    Stream(StreamError),
}

impl FrameError {
    pub fn conn(code: ErrorCode, reason: &'static str) -> Self {
        FrameError::Connection(ConnError::new(code, reason))
    }

    pub fn protocol(reason: &'static str) -> Self {
        FrameError::conn(ErrorCode::PROTOCOL_ERROR, reason)
    }

    pub fn frame_size(reason: &'static str) -> Self {
        FrameError::conn(ErrorCode::FRAME_SIZE_ERROR, reason)
    }

    pub fn stream(id: u32, code: ErrorCode, reason: &'static str) -> Self {
        FrameError::Stream(StreamError::new(id, code, reason))
    }
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Connection(e) => e.fmt(f),
            FrameError::Stream(e) => e.fmt(f),
        }
    }
}
