//! HTTP/2 (RFC 9113) with HPACK (RFC 7541): Carbon's own sans-IO engine.
//!
//! * [`hpack`]: header compression (static and dynamic tables, Huffman code).
//! * [`frame`]: the wire format, one file per frame type, plus the codec.
//! * [`error`]: error codes, and the connection / stream error types.
//!
//! Nothing here reads a socket or a clock: time is a parameter.

mod conn;
mod delivered;
pub mod error;
mod flood;
pub mod frame;
pub mod hpack;
mod request;
mod response;
pub(crate) use response::{run_fields, RunField};
#[cfg(test)]
mod robustness_tests;
pub mod streams;

pub use conn::{Event, H2Conn, H2Stats, NoPush, Protocol, PREFACE};
pub use delivered::Delivered;
