//! WebSocket (RFC 6455) with permessage-deflate (RFC 7692), sans-IO.
//!
//! Split as the wire is layered: [`frame`] (codec), [`message`] (fragment sequence),
//! [`utf8`] (text validation), [`close`] (codes and the close handshake),
//! [`deflate`] (the extension), [`handshake`] (the HTTP upgrade) and [`conn`] (the
//! engine a driver runs after the 101 response). The engine runs over any byte
//! transport: plain TCP, TLS, or one HTTP/2 stream.

pub mod close;
pub mod conn;
pub mod deflate;
pub mod frame;
pub mod handshake;
pub mod message;
pub mod utf8;

#[cfg(test)]
mod conformance_tests;
#[cfg(test)]
mod conn_tests;
#[cfg(test)]
mod robustness_tests;

pub use close::CloseCode;
pub use conn::{Message, SendError, WsConn, WsEvent};
pub use message::MessageKind;
// Re-exported so `fuzz_invariants.rs` names everything through `super::`.
pub use crate::limits::WsLimits;
pub use crate::proto::out::Chunk;

#[cfg(test)]
mod activity_tests;
#[cfg(test)]
mod fuzz_invariants;
#[cfg(test)]
mod zero_copy_tests;
