//! WebSocket handlers: the application side of an upgraded connection.
//!
//! * [`WsHandler`]: what an application implements (open, message, close, and
//!   optionally message chunks as they arrive). [`EchoHandler`] is the built-in one.
//! * [`WsContext`]: handed to every callback, on the connection's worker thread:
//!   send text, binary, ping and close.
//! * [`WsSender`]: a cloneable handle that reaches the connection from any thread
//!   (broadcast). Messages wait in a bounded mailbox; the driver's wake hook makes the
//!   worker drain it.
//! * [`WebSocketService`]: wraps a [`Service`](super::Service) and answers upgrade
//!   requests on the configured paths with a 101 response carrying a [`WsUpgrade`]
//!   extension; every other request goes to the wrapped service.
//! * [`WsSession`]: the engine ([`WsConn`](crate::proto::ws::WsConn)) and its
//!   handler joined, with the same input/output methods as the engine. The driver
//!   runs one per upgraded connection.

mod handler;
mod remote;
mod session;
mod upgrade;

pub use handler::{EchoHandler, MessagePart, WsContext, WsHandler};
pub use remote::{Outgoing, WakeHook, WsSender};
pub use session::WsSession;
pub use upgrade::{HandlerFactory, WebSocketService, WsSettings, WsUpgrade};

#[cfg(test)]
mod tests;
