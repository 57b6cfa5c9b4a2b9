//! A request as the HTTP/2 engine hands it over: built for its stream, or shared with
//! the engine's memory of a repeated header block.
//!
//! A header block equal octet for octet to the previous one, at the same decoder
//! state, decodes to the same fields (RFC 7541 §3.1) and so builds the same request.
//! Load generators, pollers and health checks send such blocks request after
//! request; the engine then hands out the request it built the first time, shared,
//! instead of building or copying one per stream. A service only ever reads a
//! request (`Service::call` takes `&Request`); whoever needs to change one (a body
//! that followed, an extension) gets its own copy through [`Delivered::make_mut`].

use std::ops::Deref;
use std::sync::Arc;

use crate::service::Request;

#[derive(Debug, Clone)]
pub enum Delivered {
    /// Built for this stream.
    Owned(Box<Request>),
    /// Built for an earlier stream from the same header block.
    Shared(Arc<Request>),
}

impl Deref for Delivered {
    type Target = Request;

    fn deref(&self) -> &Request {
        match self {
            Delivered::Owned(r) => r,
            Delivered::Shared(r) => r,
        }
    }
}

impl Delivered {
    /// The request, to change: a shared one is copied first (and only then).
    pub fn make_mut(&mut self) -> &mut Request {
        match self {
            Delivered::Owned(r) => r,
            Delivered::Shared(r) => Arc::make_mut(r),
        }
    }

    /// The request itself (a copy when it is still shared).
    pub fn into_owned(self) -> Request {
        match self {
            Delivered::Owned(r) => *r,
            Delivered::Shared(r) => Arc::unwrap_or_clone(r),
        }
    }

    /// Done with: an owned request's header map goes back to the thread's spare
    /// ones (`proto/spare.rs`); a shared one stays with whoever still holds it.
    #[cfg_attr(not(feature = "driver"), allow(dead_code))]
    pub fn recycle(self) {
        if let Delivered::Owned(r) = self {
            crate::proto::spare::recycle_request(*r);
        }
    }
}
