//! HTTP/2 error codes (RFC 9113 §7) and the two kinds of error (§5.4).
//!
//! [`ConnError`] ends the connection with GOAWAY; [`StreamError`] ends one stream with
//! RST_STREAM. They are distinct types with no conversion between them, so a stream
//! error can never escalate to a connection error by accident: code that handles a
//! stream's frame returns `Result<_, ConnError>` and resets the stream itself.

use std::fmt;

/// A 32-bit error code of RST_STREAM and GOAWAY. Unknown codes received from a peer
/// are kept as they are (RFC 9113 §7: they MUST NOT trigger special behaviour).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCode(pub u32);

impl ErrorCode {
    pub const NO_ERROR: ErrorCode = ErrorCode(0x0);
    pub const PROTOCOL_ERROR: ErrorCode = ErrorCode(0x1);
    pub const INTERNAL_ERROR: ErrorCode = ErrorCode(0x2);
    pub const FLOW_CONTROL_ERROR: ErrorCode = ErrorCode(0x3);
    pub const SETTINGS_TIMEOUT: ErrorCode = ErrorCode(0x4);
    pub const STREAM_CLOSED: ErrorCode = ErrorCode(0x5);
    pub const FRAME_SIZE_ERROR: ErrorCode = ErrorCode(0x6);
    pub const REFUSED_STREAM: ErrorCode = ErrorCode(0x7);
    pub const CANCEL: ErrorCode = ErrorCode(0x8);
    pub const COMPRESSION_ERROR: ErrorCode = ErrorCode(0x9);
    pub const CONNECT_ERROR: ErrorCode = ErrorCode(0xa);
    pub const ENHANCE_YOUR_CALM: ErrorCode = ErrorCode(0xb);
    pub const INADEQUATE_SECURITY: ErrorCode = ErrorCode(0xc);
    pub const HTTP_1_1_REQUIRED: ErrorCode = ErrorCode(0xd);

    /// The RFC's name, or None for a code it does not define.
    pub fn name(self) -> Option<&'static str> {
        const NAMES: [&str; 14] = [
            "NO_ERROR",
            "PROTOCOL_ERROR",
            "INTERNAL_ERROR",
            "FLOW_CONTROL_ERROR",
            "SETTINGS_TIMEOUT",
            "STREAM_CLOSED",
            "FRAME_SIZE_ERROR",
            "REFUSED_STREAM",
            "CANCEL",
            "COMPRESSION_ERROR",
            "CONNECT_ERROR",
            "ENHANCE_YOUR_CALM",
            "INADEQUATE_SECURITY",
            "HTTP_1_1_REQUIRED",
        ];
        NAMES.get(self.0 as usize).copied()
    }
}

impl fmt::Debug for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "0x{:x}", self.0),
        }
    }
}

/// A connection error (RFC 9113 §5.4.1): answered with GOAWAY carrying `code`, then the
/// connection closes. `reason` says what the peer did (logs and GOAWAY debug data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnError {
    pub code: ErrorCode,
    pub reason: &'static str,
}

impl ConnError {
    pub fn new(code: ErrorCode, reason: &'static str) -> Self {
        ConnError { code, reason }
    }

    pub fn protocol(reason: &'static str) -> Self {
        ConnError::new(ErrorCode::PROTOCOL_ERROR, reason)
    }
}

impl fmt::Display for ConnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "connection error {}: {}", self.code, self.reason)
    }
}

impl std::error::Error for ConnError {}

/// A stream error (RFC 9113 §5.4.2): answered with RST_STREAM on stream `id`; the
/// connection and its other streams go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamError {
    pub id: u32,
    pub code: ErrorCode,
    pub reason: &'static str,
}

impl StreamError {
    pub fn new(id: u32, code: ErrorCode, reason: &'static str) -> Self {
        StreamError { id, code, reason }
    }
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stream {} error {}: {}", self.id, self.code, self.reason)
    }
}

impl std::error::Error for StreamError {}
