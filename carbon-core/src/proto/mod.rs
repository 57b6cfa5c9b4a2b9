//! Sans-IO protocol engines. Nothing under this module may depend on mio, a socket,
//! a thread or the system clock: time is always a parameter.

pub mod h1;
pub mod out;
