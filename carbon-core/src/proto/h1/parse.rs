//! From a complete, scanned request head to an `http::Request` and its message framing.
//!
//! The scanner has already enforced the line rules and the size limits; this module
//! applies the semantic rules: version, method, request-target form, Host, and the
//! body-length decision of RFC 9112 §6.3 that keeps every request on the connection
//! delimited exactly one way (the defence against request smuggling).

use bytes::Bytes;
use http::header::{
    HeaderName, HeaderValue, CONNECTION, CONTENT_LENGTH, EXPECT, HOST, TRANSFER_ENCODING,
};
use http::{HeaderMap, Method, Uri, Version};

use crate::limits::Limits;

use super::chars::{is_lenient_target_char, is_uri_char};
use super::error::RequestError;

/// How the request body is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BodyFraming {
    /// Content-Length (0 when neither field is present, §6.3 rule 7).
    Length(u64),
    Chunked,
}

/// A parsed request head and what the connection needs to know about it.
#[derive(Debug)]
pub(super) struct ParsedHead {
    pub(super) request: http::Request<()>,
    pub(super) framing: BodyFraming,
    /// RFC 9110 §10.1.1: the client waits for `100 Continue` before sending the body.
    pub(super) expect_continue: bool,
    /// The client allows the connection to persist (RFC 9112 §9.3).
    pub(super) keep_alive: bool,
}

/// Headers parsed on the stack when a request has at most this many.
const STACK_HEADERS: usize = 32;

/// Parse `head` (request line through the empty line) holding `fields` field lines.
pub(super) fn parse_head(
    head: &[u8],
    fields: usize,
    limits: &Limits,
) -> Result<ParsedHead, RequestError> {
    let line = check_request_line(head)?;
    // httparse knows only HTTP/1.0 and HTTP/1.1: a higher HTTP/1 minor is handed to it
    // as 1.1 (RFC 9112 §2.3). A target with bytes browsers leave unencoded is handed
    // over percent-encoded. Both are rare, so the copy costs nothing in the common case.
    let patched;
    let head = match (line.higher_minor_at, line.lenient_target) {
        (None, false) => head,
        (minor_at, lenient) => {
            let mut copy = head.to_vec();
            if let Some(minor) = minor_at.and_then(|i| copy.get_mut(i)) {
                *minor = b'1';
            }
            if lenient {
                copy = encode_lenient_target(&copy, line.target.clone());
            }
            patched = copy;
            &patched[..]
        }
    };

    // The scanner counted the field lines, so the header array has exactly the right
    // size: no guessing, and no allocation for ordinary requests.
    let mut stack = [httparse::EMPTY_HEADER; STACK_HEADERS];
    let mut heap;
    let slots: &mut [httparse::Header<'_>] = if fields <= STACK_HEADERS {
        &mut stack[..fields]
    } else {
        heap = vec![httparse::EMPTY_HEADER; fields];
        &mut heap
    };
    let mut req = httparse::Request::new(slots);
    match req.parse(head) {
        Ok(httparse::Status::Complete(n)) if n == head.len() => {}
        Ok(_) => return Err(RequestError::MalformedRequestLine),
        Err(httparse::Error::TooManyHeaders) => return Err(RequestError::TooManyHeaders),
        Err(httparse::Error::Token) => return Err(RequestError::InvalidMethod),
        Err(httparse::Error::HeaderName | httparse::Error::HeaderValue) => {
            return Err(RequestError::MalformedField)
        }
        Err(_) => return Err(RequestError::MalformedRequestLine),
    }
    let (Some(method), Some(target), Some(_)) = (req.method, req.path, req.version) else {
        return Err(RequestError::MalformedRequestLine);
    };
    let method = recognized_method(method)?;
    let version = line.version;

    let mut headers = crate::proto::spare::header_map(req.headers.len());
    let mut seen = Seen::default();
    for h in req.headers.iter() {
        let name =
            HeaderName::from_bytes(h.name.as_bytes()).map_err(|_| RequestError::MalformedField)?;
        let value = HeaderValue::from_bytes(h.value).map_err(|_| RequestError::MalformedField)?;
        seen.note(&name, h.value);
        headers.append(name, value);
    }

    let uri = parse_target(&method, target)?;
    check_host(&mut headers, &seen, &uri, version)?;
    let framing = if seen.framing {
        body_framing(&headers, version)?
    } else {
        // §6.3 rule 7: neither Content-Length nor Transfer-Encoding.
        BodyFraming::Length(0)
    };
    if let BodyFraming::Length(n) = framing {
        // Decided at the head: no point reading a body we will refuse.
        if n > limits.max_body as u64 {
            return Err(RequestError::BodyTooLarge);
        }
    }
    let expect_continue = seen.expect && expectation(&headers, version, framing)?;
    let keep_alive = if seen.connection {
        keep_alive(&headers, version)
    } else {
        version == Version::HTTP_11
    };

    let mut request = http::Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = version;
    *request.headers_mut() = headers;
    Ok(ParsedHead {
        request,
        framing,
        expect_continue,
        keep_alive,
    })
}

/// Which fields with rules of their own a request carries, noted while the map is
/// built: Host is then checked without a map lookup, and a request without the
/// others (most) skips the lookups that would find nothing (each a hash of the name
/// and a probe).
#[derive(Default)]
struct Seen<'a> {
    /// How many Host fields, and the first one's value ([`check_host`]).
    hosts: usize,
    host: Option<&'a [u8]>,
    /// Content-Length or Transfer-Encoding ([`body_framing`]).
    framing: bool,
    expect: bool,
    connection: bool,
}

impl<'a> Seen<'a> {
    fn note(&mut self, name: &HeaderName, value: &'a [u8]) {
        if name == HOST {
            self.hosts += 1;
            self.host.get_or_insert(value);
        } else if name == CONTENT_LENGTH || name == TRANSFER_ENCODING {
            self.framing = true;
        } else if name == EXPECT {
            self.expect = true;
        } else if name == CONNECTION {
            self.connection = true;
        }
    }
}

/// The longest method [`recognized_method`] knows (CONNECT, OPTIONS). The scanner
/// answers 501 as soon as a request line's first token is longer (RFC 9112 §3).
pub(super) const LONGEST_METHOD: usize = 7;

/// What the pre-pass over the request line found.
struct RequestLine {
    version: Version,
    /// Index of the minor digit of an HTTP/1.x version with x >= 2.
    higher_minor_at: Option<usize>,
    /// Where the request-target sits in the head.
    target: std::ops::Range<usize>,
    /// The target holds bytes browsers send unencoded (`chars::is_lenient_target_char`).
    lenient_target: bool,
}

/// `head` with the bytes of its request-target at `target` that browsers leave
/// unencoded percent-encoded (RFC 3986 §2.1), as a strict client would have sent
/// them. The file service decodes them again, so `/a|b` and `/a%7Cb` name one file.
fn encode_lenient_target(head: &[u8], target: std::ops::Range<usize>) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = Vec::with_capacity(head.len() + 2 * target.len());
    out.extend_from_slice(&head[..target.start]);
    for &b in &head[target.clone()] {
        if is_lenient_target_char(b) {
            out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]]);
        } else {
            out.push(b);
        }
    }
    out.extend_from_slice(&head[target.end..]);
    out
}

/// Checks httparse does not make, on the request line alone:
///
/// * RFC 9112 §2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT. httparse reports every
///   version but 1.0 and 1.1 as a generic error. A higher HTTP/1 minor is served as
///   HTTP/1.1, the highest we support (RFC 9110 §2.5: SHOULD). A well-formed version
///   with another major (HTTP/2.0, as in the HTTP/2 connection preface `PRI *
///   HTTP/2.0`, or HTTP/3.0) is answered 505 rather than 400. Anything not of that
///   shape stays a 400.
/// * RFC 9112 §3.2: the request-target holds URI characters (RFC 3986 §2), plus the
///   bytes browsers send unencoded (`|`, `{`, `}`, `^`, backquote, `"`, `<`, `>`, `\`
///   and bytes >= 0x80; see `chars::is_lenient_target_char`), which are
///   percent-encoded before the URI is built. Control bytes, whitespace and `#` stay
///   a 400. A `\` is refused in the path (before `?`): browsers turn it into `/`, so
///   only other clients send it there, and some file systems and proxies read it as a
///   separator (path confusion); in the query it is plain data.
fn check_request_line(head: &[u8]) -> Result<RequestLine, RequestError> {
    let line_end = head
        .windows(2)
        .position(|w| w == b"\r\n")
        .ok_or(RequestError::MalformedRequestLine)?;
    let line = &head[..line_end];
    let (Some(first), Some(last)) = (
        line.iter().position(|&b| b == b' '),
        line.iter().rposition(|&b| b == b' '),
    ) else {
        return Err(RequestError::MalformedRequestLine);
    };
    // One space: no version word at all (an HTTP/0.9-style line), malformed.
    if first == last {
        return Err(RequestError::MalformedRequestLine);
    }
    let (version, higher_minor_at) = match &line[last + 1..] {
        b"HTTP/1.0" => (Version::HTTP_10, None),
        b"HTTP/1.1" => (Version::HTTP_11, None),
        [b'H', b'T', b'T', b'P', b'/', b'1', b'.', minor] if minor.is_ascii_digit() => {
            (Version::HTTP_11, Some(last + 8))
        }
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            return Err(RequestError::UnsupportedVersion)
        }
        // Not even an attempt at "HTTP/": the peer does not speak HTTP/1.x.
        v if !v.get(..5).is_some_and(|p| p.eq_ignore_ascii_case(b"HTTP/")) => {
            return Err(RequestError::NotHttp)
        }
        _ => return Err(RequestError::MalformedRequestLine),
    };
    let target = &line[first + 1..last];
    if target.is_empty() {
        return Err(RequestError::InvalidTarget);
    }
    let mut lenient_target = false;
    let mut in_query = false;
    for &b in target {
        in_query |= b == b'?';
        if is_uri_char(b) {
            continue;
        }
        if !is_lenient_target_char(b) || (b == b'\\' && !in_query) {
            return Err(RequestError::InvalidTarget);
        }
        lenient_target = true;
    }
    Ok(RequestLine {
        version,
        higher_minor_at,
        target: first + 1..last,
        lenient_target,
    })
}

/// RFC 9110 §9.1: a method the origin server does not recognise SHOULD get 501. We
/// recognise the methods RFC 9110 §9 defines and PATCH (RFC 5789); the service decides
/// which of them it allows (405). Methods are case-sensitive, so `get` is unknown too.
/// `method` is a token already (httparse checked).
fn recognized_method(method: &str) -> Result<Method, RequestError> {
    Ok(match method {
        "GET" => Method::GET,
        "HEAD" => Method::HEAD,
        "POST" => Method::POST,
        "PUT" => Method::PUT,
        "DELETE" => Method::DELETE,
        "CONNECT" => Method::CONNECT,
        "OPTIONS" => Method::OPTIONS,
        "TRACE" => Method::TRACE,
        "PATCH" => Method::PATCH,
        _ => return Err(RequestError::UnknownMethod),
    })
}

/// RFC 9112 §3.2: the four request-target forms and the methods that may use them.
fn parse_target(method: &Method, target: &str) -> Result<Uri, RequestError> {
    let parse = |t: &str| {
        Uri::from_maybe_shared(Bytes::copy_from_slice(t.as_bytes()))
            .map_err(|_| RequestError::InvalidTarget)
    };
    if *method == Method::CONNECT {
        // §3.2.3: authority-form, and only for CONNECT.
        let uri = parse(target)?;
        if uri.scheme().is_some() || uri.path_and_query().is_some() {
            return Err(RequestError::TargetFormMismatch);
        }
        match uri.authority() {
            Some(a) if a.port().is_some() && !a.as_str().contains('@') => Ok(uri),
            _ => Err(RequestError::TargetFormMismatch),
        }
    } else if target == "*" {
        // §3.2.4: asterisk-form only for a server-wide OPTIONS.
        if *method == Method::OPTIONS {
            parse(target)
        } else {
            Err(RequestError::TargetFormMismatch)
        }
    } else if target.starts_with('/') {
        // §3.2.1 origin-form.
        parse(target)
    } else {
        // §3.2.2 absolute-form: only our own schemes, and no userinfo (RFC 9110
        // §4.2.4: a recipient SHOULD treat userinfo in an http(s) URI as an error).
        let uri = parse(target)?;
        let scheme_ok = uri
            .scheme_str()
            .is_some_and(|s| s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https"));
        if !scheme_ok {
            return Err(RequestError::TargetFormMismatch);
        }
        match uri.authority() {
            Some(a) if !a.as_str().contains('@') && !a.host().is_empty() => Ok(uri),
            _ => Err(RequestError::InvalidTarget),
        }
    }
}

/// RFC 9112 §3.2: an HTTP/1.1 request MUST carry exactly one valid Host; more than one
/// (or an invalid one) is a 400 in every version. With an absolute-form target the
/// target's authority replaces Host (§3.2.2), so the service sees one consistent host.
fn check_host(
    headers: &mut HeaderMap,
    seen: &Seen<'_>,
    uri: &Uri,
    version: Version,
) -> Result<(), RequestError> {
    match (seen.hosts, seen.host) {
        (2.., _) => return Err(RequestError::DuplicateHost),
        (0, _) if version == Version::HTTP_11 => return Err(RequestError::MissingHost),
        (1, Some(h)) if !is_valid_host(h) => return Err(RequestError::InvalidHost),
        _ => {}
    }
    if uri.scheme().is_some() {
        if let Some(authority) = uri.authority() {
            let value = HeaderValue::from_str(authority.as_str())
                .map_err(|_| RequestError::InvalidTarget)?;
            headers.insert(HOST, value);
        }
    }
    Ok(())
}

/// RFC 9110 §7.2: Host = uri-host [ ":" port ]; uri-host is an IP-literal in brackets or
/// a reg-name (unreserved, pct-encoded, sub-delims); RFC 3986 §3.2. An empty value is
/// allowed (§7.2: a target without authority sends an empty Host).
fn is_valid_host(v: &[u8]) -> bool {
    let (host, port) = if v.first() == Some(&b'[') {
        let Some(close) = v.iter().position(|&b| b == b']') else {
            return false;
        };
        let inside = &v[1..close];
        let literal_ok = !inside.is_empty()
            && inside
                .iter()
                .all(|&b| b.is_ascii_hexdigit() || matches!(b, b':' | b'.' | b'v' | b'V'));
        if !literal_ok {
            return false;
        }
        match &v[close + 1..] {
            [] => (&v[..0], None),
            [b':', port @ ..] => (&v[..0], Some(port)),
            _ => return false,
        }
    } else {
        match v.iter().position(|&b| b == b':') {
            Some(i) => (&v[..i], Some(&v[i + 1..])),
            None => (v, None),
        }
    };
    let host_ok = host.iter().all(|&b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'%'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
            )
    });
    let port_ok = match port {
        None => true,
        Some(p) => p.len() <= 5 && p.iter().all(u8::is_ascii_digit),
    };
    host_ok && port_ok
}

/// RFC 9112 §6.3: decide how the body is delimited, refusing every ambiguous case.
fn body_framing(headers: &HeaderMap, version: Version) -> Result<BodyFraming, RequestError> {
    let has_te = headers.contains_key(http::header::TRANSFER_ENCODING);
    let has_cl = headers.contains_key(CONTENT_LENGTH);
    if has_te {
        // §6.1: Transfer-Encoding in HTTP/1.0 means faulty framing; refusing it is
        // the only way to stay in sync with the client.
        if version == Version::HTTP_10 {
            return Err(RequestError::TransferEncodingInHttp10);
        }
        // §6.3 rule 3: both fields is a likely smuggling attempt; we refuse rather
        // than let Transfer-Encoding win, and close.
        if has_cl {
            return Err(RequestError::ContentLengthWithTransferEncoding);
        }
        return transfer_codings(headers);
    }
    if has_cl {
        return content_length(headers).map(BodyFraming::Length);
    }
    Ok(BodyFraming::Length(0))
}

/// Transfer-Encoding must end in chunked (§6.3 rule 4: otherwise 400), must apply it
/// once (§7.1), and may not use codings we cannot decode (§6.1: 501). Codings we do
/// not decode are refused even when chunked comes last: we could find the body's end,
/// but the service would get a body in an encoding it did not ask for. chunked with a
/// parameter is an error wherever it appears (§7: the coding has no parameters and
/// their presence SHOULD be treated as an error): 400, like any other framing error.
fn transfer_codings(headers: &HeaderMap) -> Result<BodyFraming, RequestError> {
    let mut codings = Vec::new();
    for value in headers.get_all(http::header::TRANSFER_ENCODING) {
        // transfer-coding = token *( OWS ";" OWS transfer-parameter ); empty list
        // elements are ignored (RFC 9110 §5.6.1.2).
        for element in value.as_bytes().split(|&b| b == b',') {
            let (coding, has_parameters) = match element.iter().position(|&b| b == b';') {
                Some(i) => (&element[..i], true),
                None => (element, false),
            };
            let coding = coding.trim_ascii();
            if coding.eq_ignore_ascii_case(b"chunked") && has_parameters {
                return Err(RequestError::ChunkedWithParameters);
            }
            if !coding.is_empty() || has_parameters {
                codings.push(coding);
            }
        }
    }
    let is_chunked = |c: &&[u8]| c.eq_ignore_ascii_case(b"chunked");
    match codings.split_last() {
        Some((last, rest)) if is_chunked(last) => {
            if rest.iter().any(is_chunked) {
                Err(RequestError::ChunkedTwice)
            } else if !rest.is_empty() {
                Err(RequestError::UnsupportedTransferCoding)
            } else {
                Ok(BodyFraming::Chunked)
            }
        }
        _ => Err(RequestError::ChunkedNotFinal),
    }
}

/// RFC 9110 §8.6: Content-Length = 1*DIGIT. Repeated identical values (in several
/// lines or as a list) are accepted as one; differing values are refused (RFC 9112
/// §6.3 rule 5), as is anything that is not plain digits or does not fit in 64 bits.
fn content_length(headers: &HeaderMap) -> Result<u64, RequestError> {
    let mut found: Option<u64> = None;
    for value in headers.get_all(CONTENT_LENGTH) {
        for element in value.as_bytes().split(|&b| b == b',') {
            let n = parse_decimal(element.trim_ascii())?;
            match found {
                Some(prev) if prev != n => return Err(RequestError::ConflictingContentLength),
                _ => found = Some(n),
            }
        }
    }
    found.ok_or(RequestError::InvalidContentLength)
}

fn parse_decimal(digits: &[u8]) -> Result<u64, RequestError> {
    if digits.is_empty() {
        return Err(RequestError::InvalidContentLength);
    }
    digits.iter().try_fold(0u64, |acc, &b| {
        if !b.is_ascii_digit() {
            return Err(RequestError::InvalidContentLength);
        }
        acc.checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(b - b'0')))
            .ok_or(RequestError::InvalidContentLength)
    })
}

/// RFC 9110 §10.1.1: 100-continue is the only expectation; anything else MAY get 417,
/// and it does. An HTTP/1.0 client cannot know Expect, so it is ignored there (the
/// RFC requires that for 100-continue). A request without body has nothing to wait
/// for, so no 100 is sent.
fn expectation(
    headers: &HeaderMap,
    version: Version,
    framing: BodyFraming,
) -> Result<bool, RequestError> {
    if version == Version::HTTP_10 {
        return Ok(false);
    }
    let mut continue_ = false;
    for value in headers.get_all(EXPECT) {
        for element in value.as_bytes().split(|&b| b == b',') {
            let element = element.trim_ascii();
            if element.eq_ignore_ascii_case(b"100-continue") {
                continue_ = true;
            } else if !element.is_empty() {
                return Err(RequestError::UnsupportedExpectation);
            }
        }
    }
    Ok(continue_ && framing != BodyFraming::Length(0))
}

/// RFC 9112 §9.3: HTTP/1.1 persists unless `close`; HTTP/1.0 only with `keep-alive`
/// (RFC 9112 Appendix C.2.2).
fn keep_alive(headers: &HeaderMap, version: Version) -> bool {
    let (mut close, mut keep) = (false, false);
    for value in headers.get_all(CONNECTION) {
        for token in value.as_bytes().split(|&b| b == b',') {
            let token = token.trim_ascii();
            close |= token.eq_ignore_ascii_case(b"close");
            keep |= token.eq_ignore_ascii_case(b"keep-alive");
        }
    }
    !close && (version == Version::HTTP_11 || keep)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap (STYLE.md).
mod tests {
    use super::*;

    fn parse(head: &str) -> Result<ParsedHead, RequestError> {
        let fields = head.matches("\r\n").count().saturating_sub(2);
        parse_head(head.as_bytes(), fields, &Limits::default())
    }

    fn err(head: &str) -> RequestError {
        parse(head).expect_err(head)
    }

    #[test]
    fn origin_form_request_is_parsed() {
        let p = parse("GET /a?b=c HTTP/1.1\r\nHost: example.com:8080\r\nX-A: 1\r\n\r\n").unwrap();
        assert_eq!(p.request.method(), Method::GET);
        assert_eq!(p.request.uri().path(), "/a");
        assert_eq!(p.request.uri().query(), Some("b=c"));
        assert_eq!(p.request.version(), Version::HTTP_11);
        assert_eq!(p.request.headers()["x-a"], "1");
        assert_eq!(p.framing, BodyFraming::Length(0));
        assert!(p.keep_alive);
        assert!(!p.expect_continue);
    }

    #[test]
    fn many_fields_use_a_heap_array() {
        let mut head = String::from("GET / HTTP/1.1\r\nHost: a\r\n");
        for i in 0..60 {
            head.push_str(&format!("X-{i}: {i}\r\n"));
        }
        head.push_str("\r\n");
        assert_eq!(parse(&head).unwrap().request.headers().len(), 61);
    }

    #[test]
    fn rfc9112_2_3_unsupported_version_is_505() {
        assert_eq!(
            err("GET / HTTP/2.0\r\nHost: a\r\n\r\n"),
            RequestError::UnsupportedVersion
        );
        assert_eq!(
            err("GET / HTTP/3.0\r\nHost: a\r\n\r\n"),
            RequestError::UnsupportedVersion
        );
        assert_eq!(
            err("GET / HTTP/0.9\r\nHost: a\r\n\r\n"),
            RequestError::UnsupportedVersion
        );
        // The HTTP/2 connection preface (RFC 9113 §3.4) sent to an HTTP/1.1 server.
        assert_eq!(
            err("PRI * HTTP/2.0\r\n\r\n"),
            RequestError::UnsupportedVersion
        );
        assert_eq!(
            err("GET / http/1.1\r\nHost: a\r\n\r\n"),
            RequestError::MalformedRequestLine
        );
        assert_eq!(
            err("GET / HTTP/1.10\r\nHost: a\r\n\r\n"),
            RequestError::MalformedRequestLine
        );
        assert_eq!(err("GET /\r\n\r\n"), RequestError::MalformedRequestLine);
        assert_eq!(
            err("INVALID CONNECTION PREFACE\r\n\r\n"),
            RequestError::NotHttp
        );
        assert_eq!(
            err("GET / HTTQ/1.1\r\nHost: a\r\n\r\n"),
            RequestError::NotHttp
        );
    }

    #[test]
    fn rfc9110_2_5_higher_http1_minor_is_served_as_1_1() {
        for v in ["1.2", "1.9"] {
            let p = parse(&format!("GET /x HTTP/{v}\r\nHost: a\r\nX: 1\r\n\r\n")).unwrap();
            assert_eq!(p.request.version(), Version::HTTP_11, "{v}");
            assert_eq!(p.request.uri().path(), "/x");
            assert_eq!(p.request.headers()["x"], "1");
            assert!(p.keep_alive, "HTTP/1.1 persistence rules apply");
            // HTTP/1.1 rules: Host is required.
            assert_eq!(
                err(&format!("GET / HTTP/{v}\r\n\r\n")),
                RequestError::MissingHost
            );
        }
    }

    #[test]
    fn rfc9112_3_2_target_outside_the_uri_characters_is_400() {
        for bad in [
            &b"/a\\b"[..],
            b"/a\\b?q",
            b"/a#frag",
            b"/?a#frag",
            b"http://a\\b/",
        ] {
            let mut head = b"GET ".to_vec();
            head.extend_from_slice(bad);
            head.extend_from_slice(b" HTTP/1.1\r\nHost: a\r\n\r\n");
            let e = parse_head(&head, 1, &Limits::default()).unwrap_err();
            assert_eq!(e, RequestError::InvalidTarget, "{bad:?}");
            assert_eq!(e.status(), 400);
        }
        // Every allowed class still passes (RFC 3986 §2).
        let p = parse("GET /a-._~:@!$&'()*+,;=%41/[x]?q=/? HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
        assert_eq!(p.request.uri().query(), Some("q=/?"));
        assert!(parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").is_ok());
        assert_eq!(
            err("GET  HTTP/1.1\r\nHost: a\r\n\r\n"),
            RequestError::InvalidTarget
        );
    }

    #[test]
    fn whatwg_url_bytes_browsers_leave_unencoded_are_accepted_and_percent_encoded() {
        for (target, uri) in [
            ("/?fonts=Roboto|Open+Sans", "/?fonts=Roboto%7COpen+Sans"),
            ("/blog/?a={1}", "/blog/?a=%7B1%7D"),
            ("/a^b|c", "/a%5Eb%7Cc"),
            ("/?q=\"<x>\"&t=`a`^\\", "/?q=%22%3Cx%3E%22&t=%60a%60%5E%5C"),
            ("/caf\u{e9}?w=\u{fc}", "/caf%C3%A9?w=%C3%BC"),
            ("http://a/{b}", "http://a/%7Bb%7D"),
        ] {
            let p = parse(&format!("GET {target} HTTP/1.1\r\nHost: a\r\n\r\n"))
                .unwrap_or_else(|e| panic!("{target}: {e}"));
            assert_eq!(p.request.uri(), uri, "{target}");
        }
        // Raw bytes that are not UTF-8 are taken as bytes, as nginx does.
        let p = parse_head(
            b"GET /\xff HTTP/1.1\r\nHost: a\r\n\r\n",
            1,
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(p.request.uri(), "/%FF");
        // Together with a higher HTTP/1 minor, both patches apply.
        let p = parse("GET /a|b HTTP/1.7\r\nHost: a\r\n\r\n").unwrap();
        assert_eq!(p.request.uri(), "/a%7Cb");
    }

    #[test]
    fn rfc9110_15_6_2_unrecognized_method_is_501() {
        for m in ["FOO", "PROPFIND", "get", "Get", "M-SEARCH"] {
            let e = err(&format!("{m} / HTTP/1.1\r\nHost: a\r\n\r\n"));
            assert_eq!(e, RequestError::UnknownMethod, "{m}");
            assert_eq!(e.status(), 501);
        }
        for m in [
            "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH",
        ] {
            let p = parse(&format!("{m} / HTTP/1.1\r\nHost: a\r\n\r\n")).unwrap();
            assert_eq!(p.request.method().as_str(), m);
            assert!(m.len() <= LONGEST_METHOD);
        }
        assert!("CONNECT".len() == LONGEST_METHOD);
    }

    #[test]
    fn rfc9112_3_method_must_be_a_token() {
        assert_eq!(
            err("GE(T / HTTP/1.1\r\nHost: a\r\n\r\n"),
            RequestError::InvalidMethod
        );
        assert_eq!(err("GET  / HTTP/1.1\r\nHost: a\r\n\r\n").status(), 400);
    }

    #[test]
    fn rfc9112_5_1_whitespace_before_colon_is_400() {
        assert_eq!(
            err("GET / HTTP/1.1\r\nHost : a\r\n\r\n"),
            RequestError::MalformedField
        );
        assert_eq!(
            err("GET / HTTP/1.1\r\nHost: a\r\nX\t: 1\r\n\r\n"),
            RequestError::MalformedField
        );
    }

    #[test]
    fn rfc9112_3_2_host_rules() {
        assert_eq!(err("GET / HTTP/1.1\r\n\r\n"), RequestError::MissingHost);
        assert_eq!(
            err("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"),
            RequestError::DuplicateHost
        );
        assert_eq!(
            err("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"),
            RequestError::DuplicateHost
        );
        for bad in ["a b", "a/b", "a:80x", "a@b", "[zz]", "[::1", "a:123456"] {
            assert_eq!(
                err(&format!("GET / HTTP/1.1\r\nHost: {bad}\r\n\r\n")),
                RequestError::InvalidHost,
                "{bad}"
            );
        }
        for good in [
            "",
            "a",
            "a:80",
            "[::1]:8080",
            "192.0.2.1",
            "xn--bcher-kva.example",
        ] {
            assert!(
                parse(&format!("GET / HTTP/1.1\r\nHost: {good}\r\n\r\n")).is_ok(),
                "{good}"
            );
        }
        assert!(parse("GET / HTTP/1.0\r\n\r\n").is_ok());
    }

    #[test]
    fn rfc9112_3_2_2_absolute_form_replaces_host() {
        let p = parse("GET http://example.org:81/x?y HTTP/1.1\r\nHost: other\r\n\r\n").unwrap();
        assert_eq!(p.request.headers()[HOST], "example.org:81");
        assert_eq!(p.request.uri().path(), "/x");
        assert_eq!(
            err("GET ftp://example.org/x HTTP/1.1\r\nHost: a\r\n\r\n"),
            RequestError::TargetFormMismatch
        );
        assert_eq!(
            err("GET http://u:p@example.org/ HTTP/1.1\r\nHost: a\r\n\r\n"),
            RequestError::InvalidTarget
        );
        // Host is still required on HTTP/1.1 (§3.2).
        assert_eq!(
            err("GET http://example.org/ HTTP/1.1\r\n\r\n"),
            RequestError::MissingHost
        );
    }

    #[test]
    fn rfc9112_3_2_3_authority_form_only_with_connect() {
        let p = parse("CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n").unwrap();
        assert_eq!(p.request.method(), Method::CONNECT);
        assert_eq!(
            err("GET example.org:443 HTTP/1.1\r\nHost: a\r\n\r\n"),
            RequestError::TargetFormMismatch
        );
        assert_eq!(
            err("CONNECT /x HTTP/1.1\r\nHost: a\r\n\r\n"),
            RequestError::TargetFormMismatch
        );
    }

    #[test]
    fn rfc9112_3_2_4_asterisk_form_only_with_options() {
        assert!(parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").is_ok());
        assert_eq!(
            err("GET * HTTP/1.1\r\nHost: a\r\n\r\n"),
            RequestError::TargetFormMismatch
        );
    }

    #[test]
    fn rfc9112_6_3_cl_and_te_together_is_400() {
        assert_eq!(
            err("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"),
            RequestError::ContentLengthWithTransferEncoding
        );
    }

    #[test]
    fn rfc9112_6_3_content_length_values() {
        let cl = |v: &str| {
            parse(&format!(
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {v}\r\n\r\n"
            ))
        };
        assert_eq!(cl("42").unwrap().framing, BodyFraming::Length(42));
        assert_eq!(cl("42, 42").unwrap().framing, BodyFraming::Length(42));
        for bad in [
            "",
            "+5",
            "-1",
            "1a",
            "0x10",
            "1 2",
            "18446744073709551616",
            ",",
        ] {
            assert_eq!(cl(bad).map(|_| ()).unwrap_err().status(), 400, "{bad:?}");
        }
        assert_eq!(
            cl("42, 43").unwrap_err(),
            RequestError::ConflictingContentLength
        );
        assert_eq!(
            err("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            RequestError::ConflictingContentLength
        );
        assert!(parse(
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n"
        )
        .is_ok());
        // A valid but huge length is a 413 decided at the head.
        assert_eq!(
            cl("18446744073709551615").unwrap_err(),
            RequestError::BodyTooLarge
        );
    }

    #[test]
    fn rfc9112_6_1_transfer_codings() {
        let te = |v: &str| {
            parse(&format!(
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: {v}\r\n\r\n"
            ))
        };
        assert_eq!(te("chunked").unwrap().framing, BodyFraming::Chunked);
        assert_eq!(te("Chunked").unwrap().framing, BodyFraming::Chunked);
        assert_eq!(
            te("gzip, chunked").unwrap_err(),
            RequestError::UnsupportedTransferCoding
        );
        assert_eq!(te("gzip, chunked").unwrap_err().status(), 501);
        assert_eq!(
            te("chunked, gzip").unwrap_err(),
            RequestError::ChunkedNotFinal
        );
        assert_eq!(te("gzip").unwrap_err(), RequestError::ChunkedNotFinal);
        assert_eq!(te("").unwrap_err(), RequestError::ChunkedNotFinal);
        assert_eq!(
            te("chunked, chunked").unwrap_err(),
            RequestError::ChunkedTwice
        );
        assert_eq!(
            err("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"),
            RequestError::UnsupportedTransferCoding
        );
    }

    #[test]
    fn rfc9112_7_chunked_with_a_parameter_is_400() {
        let te = |v: &str| {
            parse(&format!(
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: {v}\r\n\r\n"
            ))
        };
        for v in [
            "chunked;x=1",
            "chunked ; x",
            "gzip, chunked;q=1",
            "chunked;x, chunked",
        ] {
            let e = te(v).unwrap_err();
            assert_eq!(e, RequestError::ChunkedWithParameters, "{v}");
            assert_eq!(e.status(), 400);
        }
        // A parameter on another coding keeps the existing rules.
        assert_eq!(
            te("gzip;level=1, chunked").unwrap_err(),
            RequestError::UnsupportedTransferCoding
        );
        assert_eq!(te("chunked").unwrap().framing, BodyFraming::Chunked);
    }

    #[test]
    fn rfc9112_6_1_transfer_encoding_in_http10_is_400() {
        assert_eq!(
            err("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
            RequestError::TransferEncodingInHttp10
        );
    }

    #[test]
    fn rfc9110_10_1_1_expectations() {
        let p = parse(
            "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n",
        )
        .unwrap();
        assert!(p.expect_continue);
        let p = parse("GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n").unwrap();
        assert!(!p.expect_continue, "no body, nothing to continue");
        let p =
            parse("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n").unwrap();
        assert!(!p.expect_continue, "HTTP/1.0 expectations are ignored");
        assert_eq!(
            err("POST / HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\n"),
            RequestError::UnsupportedExpectation
        );
    }

    #[test]
    fn rfc9112_9_3_persistence() {
        assert!(
            !parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n")
                .unwrap()
                .keep_alive
        );
        assert!(!parse("GET / HTTP/1.0\r\n\r\n").unwrap().keep_alive);
        assert!(
            parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                .unwrap()
                .keep_alive
        );
        assert!(
            !parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, close\r\n\r\n")
                .unwrap()
                .keep_alive
        );
    }
}
