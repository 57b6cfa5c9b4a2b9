//! Sans-IO protocol engines. Nothing under this module may depend on mio, a socket,
//! a thread or the system clock: time is always a parameter. (`spare` keeps spare
//! allocations per thread: it changes where memory comes from, never what an engine
//! does.)

pub mod forwarded;
pub mod h1;
pub mod h2;
pub mod out;
mod progress;
pub mod proxy;
mod request_memo;
pub(crate) mod spare;
pub mod ws;

pub use progress::{Phase, Progress};
pub(crate) use request_memo::{RequestMemo, SharedBlock};

/// The fields the driver puts on every response it sends (`Date`, `Server`),
/// written by the encoders right after the service's fields, where inserting them
/// last into the response's map would have put them, without the two map
/// insertions (and, over HTTP/2, the map walk and drop they cost).
#[derive(Debug, Clone, Copy)]
pub struct Stamp<'a> {
    pub date: &'a http::HeaderValue,
    pub server: &'a http::HeaderValue,
}

/// RFC 9110 §15 names, where the `http` crate still uses older ones (RFC 7231's
/// "Payload Too Large", RFC 4918's "Unprocessable Entity", and a hyphen lost in 203).
/// The phrase is informational only (RFC 9112 §4), but it is what people read.
pub fn reason_phrase(status: http::StatusCode) -> &'static str {
    match status.as_u16() {
        203 => "Non-Authoritative Information",
        413 => "Content Too Large",
        422 => "Unprocessable Content",
        _ => status.canonical_reason().unwrap_or(""),
    }
}
