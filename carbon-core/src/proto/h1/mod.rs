//! The HTTP/1.1 server engine (RFC 9112 message syntax, RFC 9110 semantics), sans-IO.
//!
//! It owns everything between the bytes of one connection and complete
//! [`Request`](crate::service::Request)s: head parsing (httparse, behind our own
//! incremental line scanner that enforces the limits and the strict line rules), body
//! framing and chunked decoding, persistence and pipelining, the request timers, and
//! response serialisation into the [`OutQueue`](crate::proto::out::OutQueue). It never
//! touches a socket, a file descriptor, a clock or a thread.
//!
//! Choices where the RFCs leave room:
//! * Bare LF line endings are refused with 400 (RFC 9112 §2.2 allows accepting them;
//!   accepting is how several smuggling attacks start).
//! * `Transfer-Encoding` whose final coding is not chunked: 400 (§6.3 rule 4, a MUST).
//!   chunked last but preceded by any other coding: 501 (§6.1, a coding we do not
//!   decode). chunked with a parameter (`chunked;x=1`): 400 (§7: chunked has none,
//!   SHOULD be an error). Both Content-Length and Transfer-Encoding: 400, never "TE
//!   wins".
//! * Chunk extensions must match the chunk-ext grammar (§7.1.1: tokens, quoted-strings,
//!   BWS only before `;` and around `=`), or 400; they are then skipped.
//! * HTTP/1.x with x >= 2 is served as HTTP/1.1 (RFC 9110 §2.5); the request says
//!   HTTP/1.1. A well-formed version with another major (HTTP/0.9, HTTP/2.0 including
//!   the HTTP/2 preface `PRI * HTTP/2.0`, HTTP/3.0) gets 505; a malformed one (or none)
//!   gets 400.
//! * The request-target may hold only RFC 3986 characters (unreserved, gen-delims but
//!   `#`, sub-delims, `%`); any other byte, raw UTF-8 included, is 400 (RFC 9112 §3.2).
//! * Recognised methods are those of RFC 9110 §9 and PATCH (RFC 5789), case-sensitive;
//!   any other token gets 501 (RFC 9110 §15.6.2), already once its first 8 bytes hold
//!   no space. Which recognised methods a resource allows is the service's call (405).
//! * A partial request cut short by the peer's FIN is dropped without response.
//! * Any rejection closes the connection after the error response, 501 included: the
//!   engine never reads the body of a request it refuses, so the stream is out of
//!   sync unless the body was empty, and one rule is simpler than two.
//! * The head of a request with a body is handed out on its own (`Event::Head`)
//!   before the body is read, so a request that will be refused anyway is answered
//!   at once and its body never awaited; the connection then closes.
//! * Up to 16 empty lines before a request line are ignored (RFC 9112 §2.2).
//! * A fresh connection gets the request_header timeout until its first byte; after a
//!   response, the keep-alive timeout.
//! * The request_header timeout bounds the whole head, and the request_body timeout
//!   the whole body from the end of the head (not the gap between reads: a slow POST
//!   must not hold a connection forever); either expiring is 408 and close.
//! * Reason phrases are RFC 9110's (413 Content Too Large, 422 Unprocessable Content),
//!   where the `http` crate still has older names.

mod chars;
mod chunked;
mod conn;
mod encode;
mod error;
mod parse;
mod scan;

pub use crate::proto::Stamp;
pub use conn::{Event, H1Conn};
pub(crate) use encode::field_lines;
pub use error::{RejectClass, Rejection, RequestError};
#[cfg(test)]
mod robustness_tests;
