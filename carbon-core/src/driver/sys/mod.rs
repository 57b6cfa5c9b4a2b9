//! The system calls no safe API offers, and so carbon-core's only `unsafe` code: each
//! call sits in a small function with a `// SAFETY:` comment, and nothing outside
//! this folder sees a raw pointer or a raw descriptor.
//!
//! * [`sockopt`]: `TCP_DEFER_ACCEPT` and `TCP_NOTSENT_LOWAT`.
//! * [`mapped`]: plain HTTP/2 output written straight from memory mappings of the
//!   files it sends (`mmap` and `sendmsg` with an iovec into the mapping).

pub(crate) mod mapped;
pub(crate) mod sockopt;
