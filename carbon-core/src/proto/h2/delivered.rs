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

    /// Done with: the request's header map goes back to the thread's spare ones
    /// (`proto/spare.rs`), unless another holder still shares it.
    #[cfg_attr(not(feature = "driver"), allow(dead_code))]
    pub fn recycle(self) {
        match self {
            Delivered::Owned(r) => crate::proto::spare::recycle_request(*r),
            Delivered::Shared(r) => {
                if let Some(r) = Arc::into_inner(r) {
                    crate::proto::spare::recycle_request(r);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::spare::spare_counts;

    fn request() -> Request {
        let mut r = Request::new(bytes::Bytes::new());
        r.headers_mut()
            .append(http::header::HOST, http::HeaderValue::from_static("a"));
        r
    }

    /// A shared request's header map is recycled by its last holder only: while the
    /// engine's memory of the block still holds it, dropping one stream's handle
    /// leaves it alone.
    #[test]
    fn a_shared_request_is_recycled_by_its_last_holder_only() {
        let shared = Arc::new(request());
        let kept = Delivered::Shared(Arc::clone(&shared));
        let before = spare_counts().0;
        Delivered::Shared(shared).recycle();
        assert_eq!(spare_counts().0, before, "recycled while still shared");
        kept.recycle();
        assert_eq!(spare_counts().0, before + 1);
        Delivered::Owned(Box::new(request())).recycle();
        assert_eq!(spare_counts().0, before + 2);
    }

    #[test]
    fn make_mut_copies_a_shared_request_and_leaves_the_other_holder_untouched() {
        let shared = Arc::new(request());
        let mut mine = Delivered::Shared(Arc::clone(&shared));
        *mine.make_mut().body_mut() = bytes::Bytes::from_static(b"body");
        assert_eq!(&mine.body()[..], b"body");
        assert!(shared.body().is_empty());
    }
}
