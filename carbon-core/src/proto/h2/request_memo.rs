//! A connection's memory of its previous request's fields, already validated and
//! converted: a client's requests on one connection repeat most fields octet for
//! octet (`user-agent`, `accept`, `accept-encoding`, `:authority`), so field `k` of
//! a request that equals field `k` of the previous one reuses its `HeaderName` and
//! `HeaderValue` (a reference count, no validation, no allocation) instead of being
//! checked (RFC 9113 §8.2.1) and converted again.
//!
//! Why a reused field is exactly what building it again would give: validation and
//! conversion depend only on the field's octets, and an entry is used only when the
//! name and value octets are equal to those it was built from. Fields that need more
//! than conversion (`cookie`, joined from crumbs) are never kept.
//!
//! Bounded: at most [`MEMO_FIELDS`] fields of at most [`MEMO_FIELD_MAX`] octets,
//! plus one `:authority` and one `:path` of at most that size. The values share the
//! previous request's block copy, so the memo holds at most one block per connection.

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::uri::PathAndQuery;

/// Regular fields remembered per request (a browser sends about a dozen).
const MEMO_FIELDS: usize = 16;

/// The longest field (name plus value) remembered: a longer one is rare enough that
/// checking it again costs less than the comparison would.
const MEMO_FIELD_MAX: usize = 512;

#[derive(Debug, Default)]
pub struct RequestMemo {
    fields: Vec<(HeaderName, HeaderValue)>,
    /// `:authority`, validated, as the `Host` value it becomes.
    authority: Option<HeaderValue>,
    path: Option<PathAndQuery>,
}

impl RequestMemo {
    /// Regular field `k` of the previous request, if it had exactly these octets.
    #[inline]
    pub fn field(&self, k: usize, name: &[u8], value: &[u8]) -> Option<(HeaderName, HeaderValue)> {
        let (n, v) = self.fields.get(k)?;
        (v.as_bytes() == value && n.as_str().as_bytes() == name).then(|| (n.clone(), v.clone()))
    }

    /// Field `k` of this request was validated and converted.
    pub fn keep_field(&mut self, k: usize, name: &HeaderName, value: &HeaderValue) {
        if k >= MEMO_FIELDS || name.as_str().len() + value.len() > MEMO_FIELD_MAX {
            return;
        }
        let entry = (name.clone(), value.clone());
        let len = self.fields.len();
        if k < len {
            self.fields[k] = entry;
        } else if k == len {
            self.fields.push(entry);
        }
        // Beyond: a field before `k` was not kept, so the positions after it stay
        // unremembered until it is.
    }

    /// The previous `:authority`, if it had exactly these octets.
    pub fn authority(&self, octets: &[u8]) -> Option<HeaderValue> {
        self.authority
            .as_ref()
            .filter(|v| v.as_bytes() == octets)
            .cloned()
    }

    pub fn keep_authority(&mut self, value: &HeaderValue) {
        if value.len() <= MEMO_FIELD_MAX {
            self.authority = Some(value.clone());
        }
    }

    /// The previous `:path`, if it had exactly these octets.
    pub fn path(&self, octets: &[u8]) -> Option<PathAndQuery> {
        self.path
            .as_ref()
            .filter(|p| p.as_str().as_bytes() == octets)
            .cloned()
    }

    pub fn keep_path(&mut self, path: &PathAndQuery) {
        if path.as_str().len() <= MEMO_FIELD_MAX {
            self.path = Some(path.clone());
        }
    }
}

/// The block's octets, copied into one shared buffer only when a field needs a
/// slice of it (every field a memo hit: no copy at all).
pub struct SharedBlock<'a> {
    octets: &'a [u8],
    copy: Option<Bytes>,
}

impl<'a> SharedBlock<'a> {
    pub fn new(octets: &'a [u8]) -> Self {
        SharedBlock { octets, copy: None }
    }

    pub fn slice(&mut self, (start, end): (usize, usize)) -> Bytes {
        let octets = self.octets;
        self.copy
            .get_or_insert_with(|| Bytes::copy_from_slice(octets))
            .slice(start..end)
    }
}
