//! Turning a decoded field block into a request (RFC 9113 §8.1-§8.3), or refusing it
//! as malformed (§8.1.1: a stream error PROTOCOL_ERROR).
//!
//! The request handed to the service looks like an HTTP/1.1 one, so the same service
//! serves both: the URI is the origin form (`:path`), and `:authority` becomes the
//! `Host` field when the client sent none (§8.3.1 lets a server do either). Cookie
//! crumbs are joined with "; " (§8.2.3).
//!
//! The decoded fields of a block are kept in one reusable buffer ([`Fields`]), and
//! the request's values, `:path` and `:authority` are slices of one shared copy of
//! it: a request costs two allocations for its field bytes, not two per field.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, COOKIE, HOST};
use http::uri::{Authority, PathAndQuery};
use http::{Method, Uri, Version};

use super::delivered::Delivered;
use super::streams::prioritize::Priority;
use crate::limits::{H2_BLOCK_MEMO_MAX, H2_FIELDS_KEEP};
use crate::proto::{RequestMemo, SharedBlock};

/// The fields of one header block as the decoder hands them over, in order, their
/// octets back to back in one buffer. The decoder stops handing fields over past
/// SETTINGS_MAX_HEADER_LIST_SIZE, so the buffer never grows beyond it.
#[derive(Debug, Default)]
pub struct Fields {
    bytes: Vec<u8>,
    /// Where each field's name ends and its value ends, in `bytes`; a name starts
    /// where the previous value ended.
    ends: Vec<(usize, usize)>,
    /// The block these fields were decoded from, and the decoder generation it was
    /// decoded at, when decoding it left the table unchanged and every field was
    /// handed over ([`Fields::remember_block`]).
    block: Vec<u8>,
    block_generation: Option<u64>,
    /// The request these fields built, while they are a remembered block's: the same
    /// fields build the same request, so a repeated block shares it.
    head: Option<RequestHead>,
}

impl Fields {
    /// Empties the list for the next block; a buffer grown past [`H2_FIELDS_KEEP`] by
    /// an unusually large block is released rather than kept for the connection's life.
    pub fn clear(&mut self) {
        if self.bytes.capacity() > H2_FIELDS_KEEP {
            self.bytes = Vec::new();
            self.ends = Vec::new();
        }
        self.bytes.clear();
        self.ends.clear();
        self.block_generation = None;
        self.head = None;
    }

    /// The request these fields build ([`build_request_with`]). `repeated`: they are
    /// a remembered block's, decoded from its repetition; the request is then kept,
    /// and it and further repetitions share it ([`Delivered::Shared`]). A block seen
    /// once is not kept: most are never repeated (a browser's `:path` changes from
    /// request to request).
    pub fn request_head(
        &mut self,
        memo: &mut RequestMemo,
        repeated: bool,
    ) -> Result<RequestHead, Malformed> {
        if let Some(head) = &self.head {
            return Ok(head.clone());
        }
        let head = build_request_with(self, memo)?;
        if !repeated || self.block_generation.is_none() {
            return Ok(head);
        }
        let shared = RequestHead {
            request: Delivered::Shared(Arc::new(head.request.into_owned())),
            ..head
        };
        self.head = Some(shared.clone());
        Ok(shared)
    }

    /// True while the buffers hold memory (released with the connection's scratch).
    pub fn holds_memory(&self) -> bool {
        self.bytes.capacity() > 0 || self.block.capacity() > 0 || self.head.is_some()
    }

    /// Whether these fields are what `block` decodes to at decoder `generation`.
    ///
    /// HPACK decoding is a function of the block's octets and the decoder's state
    /// (RFC 7541 §3.1: the dynamic table and the size updates owed), so a block equal
    /// octet for octet to the last one, at the generation that one left, decodes to
    /// these fields again. Load generators, health checks and pollers repeat their
    /// blocks exactly; a browser's differ (`:path` at least) and cost one comparison.
    pub fn are_decoding_of(&self, block: &[u8], generation: u64) -> bool {
        self.block_generation == Some(generation) && self.block == block
    }

    /// These fields are the whole decoding of `block`, which left the decoder at
    /// `generation`, as it found it. Blocks over [`H2_BLOCK_MEMO_MAX`] are not kept.
    pub fn remember_block(&mut self, block: &[u8], generation: u64) {
        if block.len() > H2_BLOCK_MEMO_MAX {
            return;
        }
        self.block.clear();
        self.block.extend_from_slice(block);
        self.block_generation = Some(generation);
    }

    pub fn push(&mut self, name: &[u8], value: &[u8]) {
        self.bytes.extend_from_slice(name);
        let name_end = self.bytes.len();
        self.bytes.extend_from_slice(value);
        self.ends.push((name_end, self.bytes.len()));
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    /// Each field as (name, (value start, value end)), positions in `bytes`.
    fn spans(&self) -> impl Iterator<Item = (&[u8], (usize, usize))> + '_ {
        let mut start = 0;
        self.ends.iter().map(move |&(name_end, value_end)| {
            let name = &self.bytes[start..name_end];
            start = value_end;
            (name, (name_end, value_end))
        })
    }

    /// Each field as (name, value).
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.spans()
            .map(|(name, (start, end))| (name, &self.bytes[start..end]))
    }
}

#[derive(Debug, Clone)]
pub struct RequestHead {
    /// With an empty body, which the DATA frames that follow replace.
    pub request: Delivered,
    /// The declared `content-length`, checked against the DATA received (§8.1.1).
    pub content_length: Option<u64>,
    pub priority: Priority,
    /// RFC 8441 §4: the `:protocol` of an extended CONNECT (e.g. `websocket`). The
    /// connection refuses it unless it advertised SETTINGS_ENABLE_CONNECT_PROTOCOL.
    pub protocol: Option<String>,
}

/// Why a request is malformed, for logs.
pub type Malformed = &'static str;

/// RFC 9113 §8.2.2: fields that only make sense on an HTTP/1.1 connection.
fn connection_specific(name: &[u8]) -> bool {
    matches!(
        name,
        b"connection" | b"proxy-connection" | b"keep-alive" | b"transfer-encoding" | b"upgrade"
    )
}

/// §8.2.1: a field name is lowercase tchars; a value has no NUL, CR or LF and no
/// leading or trailing whitespace.
fn check_field(name: &[u8], value: &[u8]) -> Result<(), Malformed> {
    if name.is_empty() {
        return Err("empty field name");
    }
    if name.iter().any(u8::is_ascii_uppercase) {
        return Err("uppercase field name");
    }
    if value.iter().any(|&b| b == 0 || b == b'\r' || b == b'\n') {
        return Err("NUL, CR or LF in a field value");
    }
    if matches!(value.first(), Some(b' ' | b'\t')) || matches!(value.last(), Some(b' ' | b'\t')) {
        return Err("whitespace around a field value");
    }
    if connection_specific(name) {
        return Err("connection-specific field");
    }
    // §8.2.2: TE may only say "trailers".
    if name == b"te" && !value.eq_ignore_ascii_case(b"trailers") {
        return Err("te other than trailers");
    }
    Ok(())
}

/// Validates and builds a request from the fields of its HEADERS block.
#[cfg(test)]
pub fn build_request(fields: &Fields) -> Result<RequestHead, Malformed> {
    build_request_with(fields, &mut RequestMemo::default())
}

/// [`build_request`], reusing the fields `memo` holds from the connection's
/// previous request and keeping this one's for the next.
pub fn build_request_with(
    fields: &Fields,
    memo: &mut RequestMemo,
) -> Result<RequestHead, Malformed> {
    // One shared copy of the block's octets, made on first need: values, `:path` and
    // `:authority` are slices of it (a reference count each, no allocation or copy
    // per field).
    let mut shared = SharedBlock::new(&fields.bytes);
    let octets = |(start, end): (usize, usize)| &fields.bytes[start..end];
    let mut method: Option<(usize, usize)> = None;
    let mut scheme: Option<(usize, usize)> = None;
    let mut authority: Option<(usize, usize)> = None;
    let mut path: Option<(usize, usize)> = None;
    let mut protocol: Option<(usize, usize)> = None;
    let mut regular_seen = false;
    // Whether a `host` field came: without one, `:authority` becomes it with no lookup.
    let mut host_seen = false;
    let mut headers = crate::proto::spare::header_map(fields.len());
    let mut cookie: Option<Vec<u8>> = None;
    let mut content_length: Option<u64> = None;
    let mut priority: Option<Priority> = None;

    // Regular fields so far: the position in the memo.
    let mut k = 0;
    for (name, span) in fields.spans() {
        let value = octets(span);
        if let Some(pseudo) = name.strip_prefix(b":") {
            // §8.3: pseudo-headers come first, once each, and only the defined ones.
            if regular_seen {
                return Err("pseudo-header after a regular field");
            }
            let slot = match pseudo {
                b"method" => &mut method,
                b"scheme" => &mut scheme,
                b"authority" => &mut authority,
                b"path" => &mut path,
                b"protocol" => &mut protocol,
                _ => return Err("unknown or response pseudo-header"),
            };
            if slot.is_some() {
                return Err("duplicate pseudo-header");
            }
            if value.iter().any(|&b| b <= b' ' || b == 0x7f) {
                return Err("invalid byte in a pseudo-header");
            }
            *slot = Some(span);
            continue;
        }
        regular_seen = true;
        let remembered = memo.field(k, name, value);
        if remembered.is_none() {
            check_field(name, value)?;
        }
        if name == b"cookie" {
            // §8.2.3: crumbs are joined back into one field.
            match &mut cookie {
                Some(c) => {
                    c.extend_from_slice(b"; ");
                    c.extend_from_slice(value);
                }
                None => cookie = Some(value.to_vec()),
            }
            continue;
        }
        if name == b"content-length" {
            let n = parse_content_length(value)?;
            if content_length.is_some_and(|c| c != n) {
                return Err("conflicting content-length");
            }
            content_length = Some(n);
        }
        if name == b"priority" {
            priority = Some(Priority::from_header(value));
        }
        host_seen |= name == b"host";
        let (name, value) = match remembered {
            Some(pair) => pair,
            None => {
                let converted = HeaderName::from_bytes(name).map_err(|_| "invalid field name")?;
                let value = HeaderValue::from_maybe_shared(shared.slice(span))
                    .map_err(|_| "invalid field value")?;
                memo.keep_field(k, name, &converted, &value);
                (converted, value)
            }
        };
        k += 1;
        headers.append(name, value);
    }

    let method = method.ok_or("missing :method")?;
    let method = Method::from_bytes(octets(method)).map_err(|_| "invalid :method")?;
    if let Some(a) = authority {
        // §8.3.1: no userinfo in :authority.
        if octets(a).contains(&b'@') {
            return Err(":authority with userinfo");
        }
    }
    let protocol = match protocol {
        // RFC 8441 §4: `:protocol` only on CONNECT; §5 needs :scheme, :path and
        // :authority on such a request (RFC 9113 §8.1.1: malformed otherwise).
        Some(_) if method != Method::CONNECT => return Err(":protocol on a non-CONNECT request"),
        Some(p) => {
            if authority.is_none() || scheme.is_none() || path.is_none() {
                return Err("extended CONNECT without :scheme, :path or :authority");
            }
            Some(String::from_utf8(octets(p).to_vec()).map_err(|_| "invalid :protocol")?)
        }
        None => None,
    };
    let uri = if method == Method::CONNECT && protocol.is_none() {
        // §8.5: CONNECT has :authority and neither :scheme nor :path.
        let a = authority.ok_or("CONNECT without :authority")?;
        if scheme.is_some() || path.is_some() {
            return Err("CONNECT with :scheme or :path");
        }
        Uri::from_maybe_shared(shared.slice(a)).map_err(|_| "invalid :authority")?
    } else {
        if scheme.is_none() {
            return Err("missing :scheme");
        }
        let path = path.ok_or("missing :path")?;
        let p = octets(path);
        // §8.3.1: never empty; origin form, or "*" for OPTIONS.
        let asterisk = p == b"*" && method == Method::OPTIONS;
        if p.first() != Some(&b'/') && !asterisk {
            return Err(":path empty or not origin form");
        }
        let pq = match memo.path(p) {
            Some(pq) => pq,
            None => {
                // A buffer of its own (not a slice of the block): the memo can then
                // keep the same path without pinning the block or parsing it again.
                let pq = PathAndQuery::from_maybe_shared(Bytes::copy_from_slice(p))
                    .map_err(|_| "invalid :path")?;
                // A path the parser shortened (a `#fragment` dropped) still holds the
                // whole copy; the memo could never match it either (it compares the
                // octets as sent), so it is not kept.
                if pq.as_str().len() == p.len() {
                    memo.keep_path(&pq);
                }
                pq
            }
        };
        Uri::from(pq)
    };
    if let Some(a) = authority {
        // Validated as an authority once per distinct value on the connection; the
        // same octets then serve as the `Host` value.
        let host = match memo.authority(octets(a)) {
            Some(v) => v,
            None => {
                let a = shared.slice(a);
                Authority::from_maybe_shared(a.clone()).map_err(|_| "invalid :authority")?;
                let v = HeaderValue::from_maybe_shared(a).map_err(|_| "invalid :authority")?;
                memo.keep_authority(&v);
                v
            }
        };
        match host_seen.then(|| headers.get(HOST)).flatten() {
            // §8.3.1: Host and :authority naming different origins is malformed.
            Some(h) if !h.as_bytes().eq_ignore_ascii_case(host.as_bytes()) => {
                return Err("host differs from :authority");
            }
            Some(_) => {}
            None => {
                headers.append(HOST, host);
            }
        }
    }
    if let Some(c) = cookie {
        let v = HeaderValue::from_bytes(&c).map_err(|_| "invalid cookie")?;
        headers.insert(COOKIE, v);
    }

    let mut request = Box::new(http::Request::new(Bytes::new()));
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = Version::HTTP_2;
    *request.headers_mut() = headers;
    Ok(RequestHead {
        request: Delivered::Owned(request),
        content_length,
        priority: priority.unwrap_or_default(),
        protocol,
    })
}

fn parse_content_length(v: &[u8]) -> Result<u64, Malformed> {
    if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
        return Err("invalid content-length");
    }
    v.iter()
        .try_fold(0u64, |n, &d| {
            n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        })
        .ok_or("invalid content-length")
}

/// §8.1: trailers carry no pseudo-header and follow the field rules.
pub fn check_trailers(fields: &Fields) -> Result<(), Malformed> {
    for (name, value) in fields.iter() {
        if name.first() == Some(&b':') {
            return Err("pseudo-header in trailers");
        }
        check_field(name, value)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A SETTINGS_HEADER_TABLE_SIZE reduction obliges the client to start its next
    /// block with a size update (RFC 7541 §4.2): the block that decoded before must now
    /// be refused, so its remembered fields must not stand in for it.
    #[test]
    fn rfc7541_4_2_a_remembered_block_is_not_reused_after_our_table_size_changes() {
        let mut decoder = super::super::hpack::Decoder::new(4096);
        // :method GET, :path /, :scheme http: static references, the table untouched.
        let block = [0x82, 0x84, 0x86];
        let mut fields = Fields::default();
        let before = decoder.generation();
        decoder
            .decode(&block, 16 * 1024, &mut |h| fields.push(h.name, h.value))
            .unwrap();
        assert_eq!(decoder.generation(), before);
        fields.remember_block(&block, before);
        assert!(fields.are_decoding_of(&block, decoder.generation()));
        decoder.set_max_table_size(0);
        assert!(!fields.are_decoding_of(&block, decoder.generation()));
        assert!(decoder.decode(&block, 16 * 1024, &mut |_| {}).is_err());
    }

    /// A repeated block's request is the first one's, shared (RFC 7541 §3.1: the same
    /// octets at the same decoder state are the same fields): every field in order,
    /// repeated names included, the method, target, version and body length.
    #[test]
    fn rfc7541_3_1_a_repeated_blocks_request_is_shared_not_rebuilt() {
        let mut fields = with(&[
            ("accept", "text/html"),
            ("x-custom", "1"),
            ("accept", "*/*"),
            ("cookie", "a=1"),
            ("cookie", "b=2"),
            ("content-length", "0"),
        ]);
        fields.remember_block(b"block", 7);
        let mut memo = RequestMemo::default();
        let first = fields.request_head(&mut memo, true).unwrap();
        let copy = fields.request_head(&mut memo, true).unwrap();
        let pairs = |h: &RequestHead| -> Vec<(String, Vec<u8>)> {
            h.request
                .headers()
                .iter()
                .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
                .collect()
        };
        assert_eq!(pairs(&copy), pairs(&first));
        assert_eq!(pairs(&copy).len(), 6, "{:?}", pairs(&copy));
        assert_eq!(copy.request.method(), first.request.method());
        assert_eq!(copy.request.uri(), first.request.uri());
        assert_eq!(copy.request.version(), first.request.version());
        assert_eq!(copy.content_length, Some(0));
        match (&first.request, &copy.request) {
            (Delivered::Shared(a), Delivered::Shared(b)) => assert!(Arc::ptr_eq(a, b)),
            _ => panic!("a repeated block's request is not shared"),
        }
        // A block seen once is not kept.
        let mut once = with(&[("accept", "*/*")]);
        once.remember_block(b"other", 7);
        let head = once.request_head(&mut memo, false).unwrap();
        assert!(matches!(head.request, Delivered::Owned(_)));
        assert!(once.head.is_none());
    }

    fn f(fields: &[(&str, &str)]) -> Fields {
        let mut list = Fields::default();
        for (n, v) in fields {
            list.push(n.as_bytes(), v.as_bytes());
        }
        list
    }

    const BASE: [(&str, &str); 4] = [
        (":method", "GET"),
        (":scheme", "https"),
        (":authority", "example.com"),
        (":path", "/a?b"),
    ];

    fn with(extra: &[(&str, &str)]) -> Fields {
        let mut v = BASE.to_vec();
        v.extend_from_slice(extra);
        f(&v)
    }

    #[test]
    fn rfc9113_8_3_1_valid_request_builds_origin_form_with_host() {
        let r = build_request(&with(&[("cookie", "a=1"), ("cookie", "b=2")])).unwrap();
        assert_eq!(r.request.uri(), "/a?b");
        assert_eq!(r.request.headers()[HOST], "example.com");
        assert_eq!(r.request.headers()[COOKIE], "a=1; b=2");
        assert_eq!(r.request.version(), Version::HTTP_2);
    }

    #[test]
    fn rfc9113_8_3_request_outlives_the_reused_field_buffer() {
        let mut list = with(&[("accept", "text/html"), ("x-custom", "one")]);
        let r = build_request(&list).unwrap();
        list.clear();
        list.push(b":method", b"HEAD");
        list.push(b"x-custom", b"two");
        assert_eq!(r.request.headers()["x-custom"], "one");
        assert_eq!(r.request.headers()["accept"], "text/html");
        assert_eq!(r.request.uri(), "/a?b");
        assert_eq!(
            list.iter().collect::<Vec<_>>(),
            vec![(&b":method"[..], &b"HEAD"[..]), (b"x-custom", b"two")]
        );
        // An unusually large block's buffer is not kept for the connection's life.
        list.push(b"x-big", &vec![b'a'; H2_FIELDS_KEEP + 1]);
        list.clear();
        assert!(list.bytes.capacity() <= H2_FIELDS_KEEP);
    }

    #[test]
    fn rfc9113_8_3_1_host_equal_to_authority_kept_once_and_host_alone_kept() {
        let r = build_request(&with(&[("host", "Example.com")])).unwrap();
        let hosts: Vec<_> = r.request.headers().get_all(HOST).iter().collect();
        assert_eq!(hosts, ["Example.com"]);
        // Without :authority, a `host` field is the request's authority as it is.
        let r = build_request(&f(&[
            (":method", "GET"),
            (":scheme", "http"),
            (":path", "/"),
            ("host", "h.example"),
        ]))
        .unwrap();
        assert_eq!(r.request.headers()[HOST], "h.example");
        // Without either, the request has no Host (the service answers 400 as over h1).
        let r = build_request(&f(&[
            (":method", "GET"),
            (":scheme", "http"),
            (":path", "/"),
        ]));
        assert!(r.unwrap().request.headers().get(HOST).is_none());
    }

    #[test]
    fn rfc9113_8_2_malformed_fields_rejected() {
        for bad in [
            &[("Accept", "x")][..],
            &[("connection", "close")],
            &[("transfer-encoding", "chunked")],
            &[("te", "gzip")],
            &[("x", " lead")],
            &[("content-length", "1"), ("content-length", "2")],
            &[("content-length", "-1")],
            &[("host", "other.example")],
        ] {
            assert!(build_request(&with(bad)).is_err(), "{bad:?}");
        }
        assert!(build_request(&with(&[("te", "trailers")])).is_ok());
    }

    const EXTENDED_CONNECT: [(&str, &str); 5] = [
        (":method", "CONNECT"),
        (":protocol", "websocket"),
        (":scheme", "https"),
        (":path", "/chat?room=1"),
        (":authority", "example.com"),
    ];

    #[test]
    fn rfc8441_4_extended_connect_carries_protocol_and_origin_form_path() {
        let r = build_request(&f(&EXTENDED_CONNECT)).unwrap();
        assert_eq!(r.protocol.as_deref(), Some("websocket"));
        assert_eq!(r.request.method(), Method::CONNECT);
        assert_eq!(r.request.uri(), "/chat?room=1");
        assert_eq!(r.request.headers()[HOST], "example.com");
        // Plain CONNECT (RFC 9113 §8.5) has no protocol.
        let plain = build_request(&f(&[(":method", "CONNECT"), (":authority", "a:443")]));
        assert_eq!(plain.unwrap().protocol, None);
    }

    #[test]
    fn rfc8441_4_protocol_on_a_non_connect_request_is_malformed() {
        let mut v = BASE.to_vec();
        v.insert(1, (":protocol", "websocket"));
        assert!(build_request(&f(&v)).is_err());
    }

    #[test]
    fn rfc8441_5_extended_connect_needs_scheme_path_and_authority() {
        for missing in [":scheme", ":path", ":authority"] {
            let v: Vec<_> = EXTENDED_CONNECT
                .iter()
                .copied()
                .filter(|(n, _)| *n != missing)
                .collect();
            assert!(build_request(&f(&v)).is_err(), "without {missing}");
        }
        let mut dup = f(&EXTENDED_CONNECT);
        dup.push(b":protocol", b"websocket");
        assert!(build_request(&dup).is_err(), "duplicate :protocol");
    }

    #[test]
    fn rfc9113_8_3_pseudo_header_rules() {
        let mut after = with(&[("accept", "x")]);
        after.push(b":method", b"GET");
        assert!(build_request(&after).is_err(), "pseudo after regular");
        let mut dup = with(&[]);
        dup.push(b":path", b"/");
        assert!(build_request(&dup).is_err(), "duplicate");
        assert!(build_request(&f(&[(":method", "GET"), (":scheme", "http")])).is_err());
        assert!(build_request(&f(&[
            (":method", "GET"),
            (":scheme", "http"),
            (":path", "")
        ]))
        .is_err());
        assert!(build_request(&with(&[(":status", "200")])).is_err());
        assert!(build_request(&f(&[(":method", "CONNECT"), (":path", "/")])).is_err());
        assert!(build_request(&f(&[(":method", "CONNECT"), (":authority", "a:443")])).is_ok());
        assert!(build_request(&f(&[
            (":method", "OPTIONS"),
            (":scheme", "http"),
            (":path", "*")
        ]))
        .is_ok());
    }

    /// What a build gives, in a form two builds can be compared by.
    fn outcome(r: Result<RequestHead, Malformed>) -> Result<String, Malformed> {
        r.map(|h| {
            let fields: Vec<String> = h
                .request
                .headers()
                .iter()
                .map(|(n, v)| format!("{n}: {v:?}"))
                .collect();
            format!(
                "{} {} {:?} {:?} {:?} {fields:?}",
                h.request.method(),
                h.request.uri(),
                h.content_length,
                h.protocol,
                h.priority,
            )
        })
    }

    /// A connection's requests built with its memory of the previous request give
    /// exactly what building each afresh gives, malformed ones included (RFC 9113
    /// §8.1.1, §8.2, §8.3): fields that repeat, change, move, turn invalid, grow past
    /// what the memory keeps.
    /// RFC 3986 §3.5: a fragment is not part of the target; the parser drops it but
    /// keeps the whole buffer, so such a path must not stay in the memo (a long
    /// fragment would stay pinned while the connection is busy).
    #[test]
    fn rfc3986_3_5_a_path_shortened_by_a_fragment_is_not_remembered() {
        let mut memo = RequestMemo::default();
        let padded = format!("/a#{}", "x".repeat(4000));
        let fields = f(&[
            (":method", "GET"),
            (":scheme", "https"),
            (":authority", "example.com"),
            (":path", &padded),
        ]);
        let head = build_request_with(&fields, &mut memo).unwrap();
        assert_eq!(head.request.uri().path(), "/a");
        assert!(memo.path(b"/a").is_none());
        let plain = f(&[
            (":method", "GET"),
            (":scheme", "https"),
            (":authority", "example.com"),
            (":path", "/a"),
        ]);
        build_request_with(&plain, &mut memo).unwrap();
        assert!(memo.path(b"/a").is_some(), "an ordinary path is remembered");
    }

    #[test]
    fn rfc9113_8_2_memo_builds_exactly_as_building_afresh() {
        let mut rng = crate::test_rng::Rng::new(911_382);
        let long = "v".repeat(600);
        let authorities = [
            "example.com",
            "example.com:8443",
            "Example.com",
            "a@b",
            "bad host",
            "",
        ];
        let paths = ["/", "/a?b", "/a#frag", "", "*", "/x y", "/1k.bin"];
        let regular: Vec<(&str, &str)> = vec![
            ("user-agent", "h2load nghttp2/1.52"),
            ("accept", "*/*"),
            ("accept-encoding", "gzip, deflate, br"),
            ("cookie", "a=1"),
            ("cookie", "b=2"),
            ("content-length", "0"),
            ("content-length", "12"),
            ("host", "example.com"),
            ("host", "other.example"),
            ("te", "trailers"),
            ("te", "gzip"),
            ("priority", "u=1, i"),
            ("x-long", &long),
            ("Upper", "x"),
            ("x-cr", "a\rb"),
            ("x-space", " padded"),
            ("connection", "close"),
            ("x-custom", "one"),
        ];
        let mut memo = RequestMemo::default();
        for request in 0..3000 {
            let mut list: Vec<(&str, &str)> = vec![
                (":method", *rng.pick(&["GET", "HEAD", "POST", "OPTIONS"])),
                (":scheme", "https"),
            ];
            if !rng.one_in(10) {
                list.push((":authority", *rng.pick(&authorities)));
            }
            if !rng.one_in(20) {
                list.push((":path", *rng.pick(&paths)));
            }
            // Mostly the same fields in the same order, as a client sends them.
            for (n, v) in regular.iter().take(3) {
                if !rng.one_in(8) {
                    list.push((n, v));
                }
            }
            for _ in 0..rng.below(4) {
                list.push(*rng.pick(&regular));
            }
            let fields = f(&list);
            let fresh = outcome(build_request(&fields));
            let remembered = outcome(build_request_with(&fields, &mut memo));
            assert_eq!(remembered, fresh, "request {request}: {list:?}");
        }
    }
}
