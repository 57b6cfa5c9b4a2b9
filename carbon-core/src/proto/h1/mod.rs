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
//!   decode). Both Content-Length and Transfer-Encoding: 400, never "TE wins".
//! * A well-formed version other than 1.0/1.1 (including the HTTP/2 preface
//!   `PRI * HTTP/2.0`) gets 505; a malformed one gets 400.
//! * A partial request cut short by the peer's FIN is dropped without response.
//! * Any rejection closes the connection after the error response.
//! * Up to 16 empty lines before a request line are ignored (RFC 9112 §2.2).
//! * A fresh connection gets the request_header timeout until its first byte; after a
//!   response, the keep-alive timeout.

mod chunked;
mod conn;
mod encode;
mod error;
mod parse;
mod scan;

pub use conn::{Event, H1Conn};
pub use error::RequestError;
#[cfg(test)]
mod robustness_tests;
