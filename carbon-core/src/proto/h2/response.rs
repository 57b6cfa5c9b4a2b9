//! A service's response as HTTP/2 fields (RFC 9113 §8.3.2) and a body to send.
//!
//! The engine owns framing, as over HTTP/1.1: `content-length` is derived from the
//! body (a HEAD answer keeps the one the service set, RFC 9110 §9.3.2), no body is
//! sent for HEAD, 1xx, 204 or 304, and connection-specific fields are dropped
//! (RFC 9113 §8.2.2: a response carrying them would be malformed).
//!
//! The fields are borrowed from the response's header map when encoded, never copied:
//! a response costs no allocation per field. A [`PreEncoded`] template (a cached
//! file's fields) stays in its shared map and goes to the HPACK encoder as one run
//! ([`Encoded::with_run`]), so the encoder recognises it by identity; `Date` and `Server`
//! come from the driver's [`Stamp`], never through the map.

use std::sync::Arc;

use http::header::{
    HeaderMap, HeaderName, CONNECTION, CONTENT_LENGTH, DATE, SERVER, SET_COOKIE, TRANSFER_ENCODING,
    UPGRADE,
};
use http::StatusCode;

use super::hpack::HeaderField;
use crate::proto::Stamp;
use crate::service::{merge_pre_encoded, Body, PreEncoded, Response, Template};

/// A response ready for HPACK: its status, its fields and the body to send.
pub struct Encoded<'s> {
    status: StatusCode,
    /// The template's fields, sent before the response's own.
    template: Option<Arc<Template>>,
    headers: HeaderMap,
    stamp: Option<Stamp<'s>>,
    /// The `content-length` value to send, if any.
    length: Option<LengthValue>,
    pub body: Body,
}

#[derive(Debug, Clone)]
enum LengthValue {
    /// The service's own value (HEAD), kept as it is.
    Given(http::HeaderValue),
    /// The body length in decimal: at most 20 digits.
    Computed { digits: [u8; 20], len: usize },
}

impl LengthValue {
    fn as_bytes(&self) -> &[u8] {
        match self {
            LengthValue::Given(v) => v.as_bytes(),
            LengthValue::Computed { digits, len } => &digits[20 - len..],
        }
    }

    fn computed(mut n: u64) -> LengthValue {
        let mut digits = [0u8; 20];
        let mut len = 0;
        loop {
            len += 1;
            digits[20 - len] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        LengthValue::Computed { digits, len }
    }
}

const PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");
const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");

/// Connection-specific fields (RFC 9113 §8.2.2), plus `content-length`, which the
/// engine derives itself. Compared as `HeaderName`s: a standard name is one
/// comparison of its tag, not of its octets.
fn dropped(name: &HeaderName) -> bool {
    name == CONNECTION
        || name == TRANSFER_ENCODING
        || name == UPGRADE
        || name == CONTENT_LENGTH
        || name == PROXY_CONNECTION
        || name == KEEP_ALIVE
}

/// `date` and `server`: a service's own give way to the driver's stamp.
fn stamped_by_driver(name: &HeaderName) -> bool {
    name == DATE || name == SERVER
}

/// The fields of one map that go on the wire, borrowed; `set-cookie` is never
/// indexed (RFC 7541 §7.1.3).
pub struct MapFields<'a> {
    fields: http::header::Iter<'a, http::HeaderValue>,
    /// `date` and `server` come from the driver's stamp: a service's own are dropped,
    /// as the map insert the stamp replaced overwrote them.
    stamped: bool,
}

impl<'a> MapFields<'a> {
    fn new(map: &'a HeaderMap, stamped: bool) -> Self {
        MapFields {
            fields: map.iter(),
            stamped,
        }
    }
}

impl<'a> Iterator for MapFields<'a> {
    type Item = HeaderField<'a>;

    fn next(&mut self) -> Option<HeaderField<'a>> {
        for (n, v) in self.fields.by_ref() {
            if !(dropped(n) || self.stamped && stamped_by_driver(n)) {
                return Some(HeaderField {
                    name: n.as_str().as_bytes(),
                    value: v.as_bytes(),
                    sensitive: n == SET_COOKIE,
                });
            }
        }
        None
    }
}

/// A template's field as the encoder takes it, with what [`MapFields`] decides for it
/// worked out once, when the template is built (`service::Template`): walking a
/// `HeaderMap` and comparing each name with the dropped and stamped ones cost about 80
/// instructions a field, for every response whose run is not kept.
#[derive(Debug)]
pub(crate) struct RunField {
    name: HeaderName,
    value: http::HeaderValue,
    /// `date` or `server`: dropped when the driver stamps its own.
    stamp_field: bool,
    sensitive: bool,
}

/// The fields of `map` that go on the wire ([`dropped`] left out), in order.
pub(crate) fn run_fields(map: &HeaderMap) -> Box<[RunField]> {
    map.iter()
        .filter(|(n, _)| !dropped(n))
        .map(|(n, v)| RunField {
            name: n.clone(),
            value: v.clone(),
            stamp_field: stamped_by_driver(n),
            sensitive: n == SET_COOKIE,
        })
        .collect()
}

/// A template's fields for one response: [`MapFields`] over the precomputed list.
pub struct RunFields<'a> {
    fields: std::slice::Iter<'a, RunField>,
    stamped: bool,
}

impl<'a> Iterator for RunFields<'a> {
    type Item = HeaderField<'a>;

    fn next(&mut self) -> Option<HeaderField<'a>> {
        self.fields
            .by_ref()
            .find(|f| !(self.stamped && f.stamp_field))
            .map(|f| HeaderField {
                name: f.name.as_str().as_bytes(),
                value: f.value.as_bytes(),
                sensitive: f.sensitive,
            })
    }
}

impl<'s> Encoded<'s> {
    /// Every field in wire order: `:status`, the template's, the response's own,
    /// `date` and `server`, `content-length`.
    pub fn fields(&self) -> Fields<'_> {
        self.fields_from(Step::Status)
    }

    fn fields_from(&self, step: Step) -> Fields<'_> {
        Fields {
            encoded: self,
            step,
            map: None,
        }
    }

    /// The same fields in three parts for [`super::hpack::Encoder::encode_with_run`]:
    /// `:status`, the template as a run keyed by its shared allocation, and the rest.
    /// `None` without a template.
    #[allow(clippy::type_complexity)]
    pub fn with_run(&self) -> Option<(Fields<'_>, (&Arc<Template>, RunFields<'_>), Fields<'_>)> {
        let template = self.template.as_ref()?;
        Some((
            self.fields_from(Step::StatusOnly),
            (
                template,
                RunFields {
                    fields: template.h2.iter(),
                    stamped: self.stamp.is_some(),
                },
            ),
            self.fields_from(Step::Own),
        ))
    }
}

/// What the header block of a response made of a template's fields, its own few
/// fields, the driver's stamp and its length depends on (besides the encoder's
/// state): a response whose key is equal has the same fields in the same order, so
/// its block is the last one again when the encoder's table has not changed
/// ([`super::hpack::Encoder::repeat_run_block`]). Holds its template alive, so the
/// comparison by address is sound. Updated in place: a connection's responses differ
/// in a field or two, and a clone of each part per response would cost more than the
/// repeat saves.
#[derive(Debug)]
pub struct RepeatKey {
    template: Arc<Template>,
    status: StatusCode,
    stamp: Option<(http::HeaderValue, http::HeaderValue)>,
    length: Option<LengthValue>,
    /// The response's own fields, in the map's order (an HSTS field, ...).
    own: Vec<(HeaderName, http::HeaderValue)>,
}

impl Encoded<'_> {
    /// The address of this response's template, for telling whether two responses in a
    /// row are of the same file (an address may be reused once its template is gone,
    /// so a match is only a hint: [`RepeatKey`] holds the template it compares).
    pub fn template_addr(&self) -> Option<usize> {
        self.template.as_ref().map(|t| Arc::as_ptr(t) as usize)
    }
}

/// Own fields beyond this many are not compared: such a response is not repeated.
const REPEAT_OWN_MAX: usize = 8;

impl RepeatKey {
    /// Whether `e` has exactly the fields of the response this key was taken from.
    pub fn matches(&self, e: &Encoded<'_>) -> bool {
        let Some(template) = &e.template else {
            return false;
        };
        Arc::ptr_eq(template, &self.template)
            && e.status == self.status
            && same_stamp(&self.stamp, e.stamp.as_ref())
            && self.length.as_ref().map(LengthValue::as_bytes)
                == e.length.as_ref().map(LengthValue::as_bytes)
            && same_own(&self.own, &e.headers)
    }

    /// Makes `key` the key of `e`, reusing what it holds; `None` when `e`'s block is
    /// not one to repeat (no template, or many own fields).
    pub fn refresh(key: &mut Option<RepeatKey>, e: &Encoded<'_>) {
        let Some(template) = e.template.as_ref() else {
            *key = None;
            return;
        };
        if e.headers.len() > REPEAT_OWN_MAX {
            *key = None;
            return;
        }
        let length = e.length.clone();
        match key {
            Some(k) => {
                if !Arc::ptr_eq(&k.template, template) {
                    k.template = Arc::clone(template);
                }
                k.status = e.status;
                if !same_stamp(&k.stamp, e.stamp.as_ref()) {
                    k.stamp = e.stamp.map(|st| (st.date.clone(), st.server.clone()));
                }
                k.length = length;
                if !same_own(&k.own, &e.headers) {
                    k.own.clear();
                    k.own
                        .extend(e.headers.iter().map(|(n, v)| (n.clone(), v.clone())));
                }
            }
            None => {
                *key = Some(RepeatKey {
                    template: Arc::clone(template),
                    status: e.status,
                    stamp: e.stamp.map(|st| (st.date.clone(), st.server.clone())),
                    length,
                    own: e
                        .headers
                        .iter()
                        .map(|(n, v)| (n.clone(), v.clone()))
                        .collect(),
                });
            }
        }
    }
}

/// The map's fields are `own`, in the same order (the order the block lists them).
fn same_own(own: &[(HeaderName, http::HeaderValue)], map: &HeaderMap) -> bool {
    map.len() == own.len()
        && map
            .iter()
            .zip(own)
            .all(|((n, v), (on, ov))| n == on && v == ov)
}

fn same_stamp(
    kept: &Option<(http::HeaderValue, http::HeaderValue)>,
    st: Option<&Stamp<'_>>,
) -> bool {
    match (kept, st) {
        (None, None) => true,
        (Some((date, server)), Some(st)) => date == st.date && server == st.server,
        _ => false,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    Status,
    /// `:status` alone ([`Encoded::with_run`]'s first part).
    StatusOnly,
    Template,
    Own,
    Date,
    Server,
    Length,
    Done,
}

/// The iterator of [`Encoded::fields`]: one flat state machine rather than a chain of
/// adapters, as it runs for every field of every response.
pub struct Fields<'a> {
    encoded: &'a Encoded<'a>,
    step: Step,
    map: Option<MapFields<'a>>,
}

impl<'a> Iterator for Fields<'a> {
    type Item = HeaderField<'a>;

    fn next(&mut self) -> Option<HeaderField<'a>> {
        let e = self.encoded;
        loop {
            match self.step {
                Step::Status | Step::StatusOnly => {
                    self.step = match self.step {
                        Step::StatusOnly => Step::Done,
                        _ => Step::Template,
                    };
                    return Some(HeaderField {
                        name: b":status",
                        value: e.status.as_str().as_bytes(),
                        sensitive: false,
                    });
                }
                Step::Template | Step::Own => {
                    let map = match (self.step, &e.template) {
                        (Step::Template, Some(t)) => &t.fields,
                        (Step::Template, None) => {
                            self.step = Step::Own;
                            continue;
                        }
                        _ => &e.headers,
                    };
                    let stamped = e.stamp.is_some();
                    let fields = self.map.get_or_insert_with(|| MapFields::new(map, stamped));
                    if let Some(f) = fields.next() {
                        return Some(f);
                    }
                    self.map = None;
                    self.step = match self.step {
                        Step::Template => Step::Own,
                        _ => Step::Date,
                    };
                }
                Step::Date | Step::Server => {
                    let date = self.step == Step::Date;
                    self.step = if date { Step::Server } else { Step::Length };
                    if let Some(s) = &e.stamp {
                        return Some(if date {
                            HeaderField::new(b"date", s.date.as_bytes())
                        } else {
                            HeaderField::new(b"server", s.server.as_bytes())
                        });
                    }
                }
                Step::Length => {
                    self.step = Step::Done;
                    return e.length.as_ref().map(|l| HeaderField {
                        name: b"content-length",
                        value: l.as_bytes(),
                        sensitive: false,
                    });
                }
                Step::Done => return None,
            }
        }
    }
}

/// `resp` ready for HPACK, as the answer to a HEAD request or not, after the fields
/// the service kept aside (`pre`), with `Date` and `Server` from `stamp` when given.
pub fn prepare(
    resp: Response,
    pre: Option<PreEncoded>,
    head_request: bool,
    stamp: Option<Stamp<'_>>,
) -> Encoded<'_> {
    let (mut resp, mut pre) = (resp, pre);
    // A field set after the template that the template also holds replaces it in
    // place: only the merged map says where (as over HTTP/1.1).
    if let Some(p) = pre.take_if(|p| resp.headers().keys().any(|k| p.fields().contains_key(k))) {
        merge_pre_encoded(&mut resp, p);
    }
    let (parts, body) = resp.into_parts();
    let template = pre.map(PreEncoded::into_template);
    let status = parts.status;
    let bodiless = status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    let send_body = !bodiless && !head_request;
    let length = if bodiless {
        None
    } else {
        let service_length = parts
            .headers
            .get(CONTENT_LENGTH)
            .filter(|v| !v.is_empty() && v.as_bytes().iter().all(u8::is_ascii_digit));
        Some(match (head_request, service_length) {
            (true, Some(v)) => LengthValue::Given(v.clone()),
            _ => LengthValue::computed(body.len()),
        })
    };
    Encoded {
        status,
        template,
        headers: parts.headers,
        stamp,
        length,
        body: if send_body { body } else { Body::Empty },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use bytes::Bytes;

    /// The `date` and `server` values the stamp tests send.
    fn stamp_values() -> (http::HeaderValue, http::HeaderValue) {
        (
            http::HeaderValue::from_static("Sun, 06 Dec 2026 23:00:00 GMT"),
            http::HeaderValue::from_static("carbon"),
        )
    }

    fn names_values(e: &Encoded) -> Vec<(String, String)> {
        e.fields()
            .map(|f| {
                (
                    String::from_utf8_lossy(f.name).into_owned(),
                    String::from_utf8_lossy(f.value).into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn rfc9113_8_3_2_status_first_connection_fields_dropped_length_computed() {
        let resp = http::Response::builder()
            .status(200)
            .header("connection", "close")
            .header("keep-alive", "timeout=5")
            .header("content-type", "text/plain")
            .header("proxy-connection", "close")
            .header("upgrade", "h2c")
            .header("content-length", "999")
            .header("transfer-encoding", "chunked")
            .body(Body::Bytes(Bytes::from_static(b"hello world")))
            .unwrap();
        let e = prepare(resp, None, false, None);
        assert_eq!(
            names_values(&e),
            vec![
                (":status".into(), "200".into()),
                ("content-type".into(), "text/plain".into()),
                ("content-length".into(), "11".into()),
            ]
        );
        assert_eq!(e.body.len(), 11);
    }

    #[test]
    fn rfc9110_9_3_2_head_keeps_service_length_and_sends_no_body() {
        let resp = http::Response::builder()
            .status(200)
            .header("content-length", "1048576")
            .body(Body::Empty)
            .unwrap();
        let e = prepare(resp, None, true, None);
        assert_eq!(
            names_values(&e).last().unwrap(),
            &("content-length".to_string(), "1048576".to_string())
        );
        assert!(matches!(e.body, Body::Empty));
    }

    #[test]
    fn rfc9110_8_6_no_length_for_1xx_204_304_and_zero_is_written() {
        for status in [103, 204, 304] {
            let resp = http::Response::builder()
                .status(status)
                .body(Body::Empty)
                .unwrap();
            let e = prepare(resp, None, false, None);
            assert!(e.fields().all(|f| f.name != b"content-length"), "{status}");
        }
        let e = prepare(http::Response::new(Body::Empty), None, false, None);
        assert_eq!(
            names_values(&e).last().unwrap(),
            &("content-length".to_string(), "0".to_string())
        );
        assert_eq!(
            LengthValue::computed(u64::MAX).as_bytes(),
            b"18446744073709551615"
        );
    }

    #[test]
    fn rfc7541_7_1_3_set_cookie_is_sensitive() {
        let resp = http::Response::builder()
            .header("set-cookie", "a=b")
            .body(Body::Empty)
            .unwrap();
        let e = prepare(resp, None, false, None);
        assert!(e.fields().any(|f| f.name == b"set-cookie" && f.sensitive));
    }

    /// A template's fields come first, then the response's own, then `date` and
    /// `server`, then the length; split for the run encoder, the three parts are the
    /// same fields in the same order.
    #[test]
    fn rfc9113_8_3_2_template_then_own_fields_then_stamp_then_length() {
        let mut template = HeaderMap::new();
        template.insert("content-type", "text/css".parse().unwrap());
        template.insert("etag", "\"1\"".parse().unwrap());
        let resp = http::Response::builder()
            .header("strict-transport-security", "max-age=60")
            .body(Body::Bytes(Bytes::from_static(b"body")))
            .unwrap();
        let pre = PreEncoded::new(Arc::new(Template::new(template))).unwrap();
        let (date, server) = stamp_values();
        let stamp = Stamp {
            date: &date,
            server: &server,
        };
        let e = prepare(resp, Some(pre), false, Some(stamp));
        let all = names_values(&e);
        let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                ":status",
                "content-type",
                "etag",
                "strict-transport-security",
                "date",
                "server",
                "content-length"
            ]
        );
        let (head, (_, run), tail) = e.with_run().unwrap();
        let split: Vec<(String, String)> = head
            .chain(run)
            .chain(tail)
            .map(|f| {
                (
                    String::from_utf8_lossy(f.name).into_owned(),
                    String::from_utf8_lossy(f.value).into_owned(),
                )
            })
            .collect();
        assert_eq!(split, all);
    }

    /// The template's precomputed field list gives what walking its map gives, with
    /// and without a stamp: connection fields dropped (RFC 9113 §8.2.2), `date` and
    /// `server` left to the stamp, `set-cookie` sensitive (RFC 7541 §7.1.3).
    #[test]
    fn rfc9113_8_2_2_template_run_fields_match_the_map_walk() {
        let mut map = HeaderMap::new();
        map.insert("content-type", "text/css".parse().unwrap());
        map.insert("connection", "close".parse().unwrap());
        map.insert("date", "Thu, 01 Jan 1970 00:00:00 GMT".parse().unwrap());
        map.append("set-cookie", "a=1".parse().unwrap());
        map.append("set-cookie", "b=2".parse().unwrap());
        map.insert("server", "other".parse().unwrap());
        map.insert("x-custom", "1".parse().unwrap());
        let template = Template::new(map.clone());
        let owned = |f: HeaderField<'_>| (f.name.to_vec(), f.value.to_vec(), f.sensitive);
        for stamped in [false, true] {
            let run: Vec<_> = RunFields {
                fields: template.h2.iter(),
                stamped,
            }
            .map(owned)
            .collect();
            let walk: Vec<_> = MapFields::new(&map, stamped).map(owned).collect();
            assert_eq!(run, walk, "stamped: {stamped}");
            assert_eq!(run.len(), if stamped { 4 } else { 6 });
        }
    }

    /// A later field the template also holds replaces it in place, as in the merged
    /// map: no run then, and the field is sent once.
    #[test]
    fn rfc9113_8_3_2_field_set_over_the_template_is_sent_once() {
        let mut template = HeaderMap::new();
        template.insert("cache-control", "max-age=60".parse().unwrap());
        template.insert("etag", "\"1\"".parse().unwrap());
        let resp = http::Response::builder()
            .header("cache-control", "no-store")
            .body(Body::Empty)
            .unwrap();
        let pre = PreEncoded::new(Arc::new(Template::new(template))).unwrap();
        let e = prepare(resp, Some(pre), false, None);
        assert!(e.with_run().is_none());
        assert_eq!(
            names_values(&e),
            vec![
                (":status".into(), "200".into()),
                ("cache-control".into(), "no-store".into()),
                ("etag".into(), "\"1\"".into()),
                ("content-length".into(), "0".into()),
            ]
        );
    }

    /// The driver's `date` and `server` replace a service's own (the map insert the
    /// stamp stands for did), so neither is sent twice.
    #[test]
    fn rfc9110_6_6_1_stamped_date_and_server_replace_the_services() {
        let resp = http::Response::builder()
            .header("date", "Thu, 01 Jan 1970 00:00:00 GMT")
            .header("server", "other")
            .header("x-kept", "1")
            .body(Body::Empty)
            .unwrap();
        let (date, server) = stamp_values();
        let stamp = Stamp {
            date: &date,
            server: &server,
        };
        let e = prepare(resp, None, false, Some(stamp));
        assert_eq!(
            names_values(&e),
            vec![
                (":status".into(), "200".into()),
                ("x-kept".into(), "1".into()),
                ("date".into(), "Sun, 06 Dec 2026 23:00:00 GMT".into()),
                ("server".into(), "carbon".into()),
                ("content-length".into(), "0".into()),
            ]
        );
        // Without a stamp the service's own go out.
        let resp = http::Response::builder()
            .header("server", "other")
            .body(Body::Empty)
            .unwrap();
        let e = prepare(resp, None, false, None);
        assert!(names_values(&e).contains(&("server".into(), "other".into())));
    }
}
