//! HTTP/2 frames (RFC 9113 §4 and §6): one file per frame type plus the codec.
//!
//! Parsing checks everything a frame can get wrong by itself (length, stream 0 or
//! not, padding, field values) and returns exactly the connection or stream error
//! RFC 9113 names. What depends on the connection's state (stream states, flow
//! control windows, CONTINUATION sequencing) is checked by the connection.
//! Unknown frame types are returned as [`Frame::Unknown`] for the connection to
//! ignore (§4.1, §5.5); unknown flags are ignored.

mod codec;
mod continuation;
mod data;
mod error;
mod goaway;
pub mod head;
mod headers;
mod ping;
mod priority;
mod push_promise;
mod rst_stream;
pub mod settings;
mod window_update;

use bytes::Bytes;

pub use codec::FrameReader;
pub use continuation::Continuation;
pub use data::Data;
pub use error::FrameError;
pub use goaway::GoAway;
pub use head::{Head, HEAD_LEN};
pub use headers::Headers;
pub use ping::Ping;
pub use priority::{Priority, PrioritySpec};
pub use push_promise::PushPromise;
pub use rst_stream::RstStream;
pub use settings::Settings;
pub use window_update::WindowUpdate;

use head::{flags, kind};

/// One decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Data(Data),
    Headers(Headers),
    Priority(Priority),
    RstStream(RstStream),
    Settings(Settings),
    PushPromise(PushPromise),
    Ping(Ping),
    GoAway(GoAway),
    WindowUpdate(WindowUpdate),
    Continuation(Continuation),
    /// A frame type this implementation does not know: ignored (RFC 9113 §5.5).
    Unknown(Head),
}

impl Frame {
    pub fn parse(head: Head, payload: Bytes) -> Result<Frame, FrameError> {
        Ok(match head.kind {
            kind::DATA => Frame::Data(Data::parse(&head, payload)?),
            kind::HEADERS => Frame::Headers(Headers::parse(&head, payload)?),
            kind::PRIORITY => Frame::Priority(Priority::parse(&head, payload)?),
            kind::RST_STREAM => Frame::RstStream(RstStream::parse(&head, payload)?),
            kind::SETTINGS => Frame::Settings(Settings::parse(&head, payload)?),
            kind::PUSH_PROMISE => Frame::PushPromise(PushPromise::parse(&head, payload)?),
            kind::PING => Frame::Ping(Ping::parse(&head, payload)?),
            kind::GOAWAY => Frame::GoAway(GoAway::parse(&head, payload)?),
            kind::WINDOW_UPDATE => Frame::WindowUpdate(WindowUpdate::parse(&head, payload)?),
            kind::CONTINUATION => Frame::Continuation(Continuation::parse(&head, payload)?),
            _ => Frame::Unknown(head),
        })
    }
}

/// Removes the Pad Length byte and the padding of a PADDED frame (RFC 9113 §6.1, §6.2,
/// §6.6): padding as long as or longer than the rest of the payload is a connection
/// error PROTOCOL_ERROR.
fn strip_padding(head: &Head, payload: Bytes) -> Result<Bytes, FrameError> {
    if !head.has(flags::PADDED) {
        return Ok(payload);
    }
    let Some(&pad) = payload.first() else {
        return Err(FrameError::frame_size("PADDED frame without a Pad Length"));
    };
    let pad = usize::from(pad);
    if pad >= payload.len() {
        return Err(FrameError::protocol("padding as long as the payload"));
    }
    Ok(payload.slice(1..payload.len() - pad))
}

#[cfg(test)]
mod tests;
