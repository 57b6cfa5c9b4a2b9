//! A connection's memory of its previous request's fields, already validated and
//! converted: a client's requests on one connection repeat most fields octet for
//! octet (`user-agent`, `accept`, `accept-encoding`, `host` or `:authority`), so field
//! `k` of a request that equals field `k` of the previous one reuses its `HeaderName`
//! and `HeaderValue` (a reference count: no validation, no allocation, no copy)
//! instead of being checked and converted again. Used by HTTP/2 (`h2/request.rs`,
//! with `:authority` and `:path`), whose connections carry many requests at once.
//! Not by HTTP/1.1 yet: an idle keep-alive connection would keep its last request's
//! fields (about 200 bytes for a bare `Host`, kilobytes for a browser's), where it
//! holds about 450 bytes in all today; that wants a release after some idle time
//! first, as HTTP/2's scratch buffers have.
//!
//! Why a reused field is exactly what building it again would give: validation and
//! conversion depend only on the field's octets as received, and an entry is used
//! only when the name and value octets are equal to those it was built from (the
//! name as it arrived, before HTTP/1.1's lowercasing). Fields that need more than
//! conversion (HTTP/2's `cookie`, joined from crumbs) are never kept.
//!
//! Bounded: at most [`MEMO_FIELDS`] fields of at most [`MEMO_FIELD_MAX`] octets,
//! plus one `:authority` and one `:path` of at most that size, each kept as a copy of
//! its own (made on a miss only), never as a slice of its request's block.

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::uri::PathAndQuery;

/// Regular fields remembered per request (a browser sends about a dozen).
const MEMO_FIELDS: usize = 16;

/// The longest field (name plus value) remembered: a longer one is rare enough that
/// checking it again costs less than the comparison would.
const MEMO_FIELD_MAX: usize = 512;

#[derive(Debug)]
struct Field {
    /// The name's octets as received.
    raw_name: Vec<u8>,
    name: HeaderName,
    value: HeaderValue,
}

#[derive(Debug, Default)]
pub struct RequestMemo {
    fields: Vec<Field>,
    /// `:authority`, validated, as the `Host` value it becomes.
    authority: Option<HeaderValue>,
    path: Option<PathAndQuery>,
}

impl RequestMemo {
    /// Nothing remembered (and nothing allocated).
    pub fn is_empty(&self) -> bool {
        self.fields.capacity() == 0 && self.authority.is_none() && self.path.is_none()
    }

    /// Regular field `k` of the previous request, if it had exactly these octets.
    #[inline]
    pub fn field(&self, k: usize, name: &[u8], value: &[u8]) -> Option<(HeaderName, HeaderValue)> {
        let f = self.fields.get(k)?;
        (f.value.as_bytes() == value && f.raw_name == name)
            .then(|| (f.name.clone(), f.value.clone()))
    }

    /// Field `k` of this request, received as `raw_name`, was validated and converted.
    pub fn keep_field(
        &mut self,
        k: usize,
        raw_name: &[u8],
        name: &HeaderName,
        value: &HeaderValue,
    ) {
        if k >= MEMO_FIELDS || raw_name.len() + value.len() > MEMO_FIELD_MAX {
            return;
        }
        // A copy, not the request's value: that is a slice of its whole block, which
        // would stay alive with it (16 slots kept from 16 requests could hold 16
        // blocks of up to SETTINGS_MAX_HEADER_LIST_SIZE each).
        let Some(value) = own(value) else {
            return;
        };
        let len = self.fields.len();
        if k < len {
            // The slot's name buffer is reused: no allocation once it is warm.
            let f = &mut self.fields[k];
            f.raw_name.clear();
            f.raw_name.extend_from_slice(raw_name);
            f.name = name.clone();
            f.value = value;
        } else if k == len {
            self.fields.push(Field {
                raw_name: raw_name.to_vec(),
                name: name.clone(),
                value,
            });
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
            self.authority = own(value);
        }
    }

    /// The previous `:path`, if it had exactly these octets.
    pub fn path(&self, octets: &[u8]) -> Option<PathAndQuery> {
        self.path
            .as_ref()
            .filter(|p| p.as_str().as_bytes() == octets)
            .cloned()
    }

    /// `path` must own its octets (not be a slice of a header block, which keeping it
    /// would pin: the builder parses `:path` from a copy of its own).
    pub fn keep_path(&mut self, path: &PathAndQuery) {
        if path.as_str().len() <= MEMO_FIELD_MAX {
            self.path = Some(path.clone());
        }
    }
}

/// `value` in a buffer of its own (it was valid, so it still is).
fn own(value: &HeaderValue) -> Option<HeaderValue> {
    HeaderValue::from_bytes(value.as_bytes()).ok()
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
