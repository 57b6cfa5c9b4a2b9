//! Why a request was refused, and the status the peer gets for it.
//!
//! Every variant names what the peer did wrong; [`RequestError::status`] maps it to the
//! status code the RFC prescribes. The engine always closes the connection after the
//! error response, because after a framing error it can no longer tell where the next
//! request would start (RFC 9112 §6.3, request smuggling).

use std::fmt;

use bytes::Bytes;
use http::StatusCode;

pub use crate::limits::LOGGED_REQUEST_LINE_MAX;
pub use crate::limits::LOGGED_USER_AGENT_MAX;

/// A request the engine refused, with what the access log can say about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The status of the error response.
    pub status: StatusCode,
    pub reason: RequestError,
    /// The request line as received (raw bytes, without CRLF), cut at
    /// [`LOGGED_REQUEST_LINE_MAX`]; `None` when none of it had arrived. Peer-controlled:
    /// escape it before writing it anywhere.
    pub request_line: Option<Bytes>,
    /// The User-Agent value when the head got that far, cut at [`LOGGED_USER_AGENT_MAX`].
    pub user_agent: Option<Bytes>,
    /// Closed without a response: see [`H1Conn::expect_h2_prior_knowledge`].
    ///
    /// [`H1Conn::expect_h2_prior_knowledge`]: super::H1Conn::expect_h2_prior_knowledge
    pub unanswered: bool,
}

impl Rejection {
    /// Takes what can be read from the raw (possibly partial or malformed) head.
    pub(super) fn from_head(reason: RequestError, head: &[u8]) -> Rejection {
        // Leading empty lines are skipped before a request (RFC 9112 §2.2).
        let start = head
            .iter()
            .position(|&b| b != b'\r' && b != b'\n')
            .unwrap_or(head.len());
        let head = &head[start..];
        let line_end = head
            .iter()
            .position(|&b| b == b'\r' || b == b'\n')
            .unwrap_or(head.len());
        let line = &head[..line_end.min(LOGGED_REQUEST_LINE_MAX)];
        let user_agent = head[line_end..]
            .split(|&b| b == b'\n')
            .find_map(|l| {
                let (name, value) = l.split_at(l.iter().position(|&b| b == b':')?);
                name.eq_ignore_ascii_case(b"user-agent")
                    .then(|| value[1..].trim_ascii())
            })
            .map(|v| Bytes::copy_from_slice(&v[..v.len().min(LOGGED_USER_AGENT_MAX)]));
        Rejection {
            status: reason.status(),
            reason,
            request_line: (!line.is_empty()).then(|| Bytes::copy_from_slice(line)),
            user_agent,
            unanswered: false,
        }
    }

    /// For a request whose head was parsed (a body error or timeout).
    pub(super) fn from_request(reason: RequestError, req: &http::Request<()>) -> Rejection {
        let line = format!("{} {} {:?}", req.method(), req.uri(), req.version());
        let mut line = Bytes::from(line);
        line.truncate(LOGGED_REQUEST_LINE_MAX);
        let user_agent = req.headers().get(http::header::USER_AGENT).map(|v| {
            let v = v.as_bytes();
            Bytes::copy_from_slice(&v[..v.len().min(LOGGED_USER_AGENT_MAX)])
        });
        Rejection {
            status: reason.status(),
            reason,
            request_line: Some(line),
            user_agent,
            unanswered: false,
        }
    }
}

/// Coarse classes of rejection, for the statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectClass {
    /// Not a valid or supported HTTP/1.1 request (400, 501, 505, 417).
    Invalid,
    /// A size bound was exceeded (413, 414, 431).
    OverLimit,
    /// The head or body did not arrive in time (408).
    Timeout,
}

/// A request the engine refuses to hand to the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestError {
    /// The request line exceeds `Limits::max_request_line`.
    RequestLineTooLong,
    /// One header field line exceeds `Limits::max_header_line`.
    HeaderLineTooLong,
    /// The header section exceeds `Limits::max_headers_size`.
    HeadersTooLarge,
    /// More header fields than `Limits::max_headers`.
    TooManyHeaders,
    /// The trailer section of a chunked body exceeds the header limits.
    TrailersTooLarge,
    /// A line ended with LF alone.
    BareLf,
    /// A CR not followed by LF.
    BareCr,
    /// A control character (other than HTAB) or DEL in the head.
    InvalidByte,
    /// A field line starting with whitespace (obsolete line folding).
    ObsFold,
    /// Too many empty lines before the request line.
    TooManyEmptyLines,
    /// The request line does not have the `method SP target SP version` shape.
    MalformedRequestLine,
    /// The request line's last word is not an HTTP-version at all (RFC 9112 §2.3):
    /// the peer does not speak HTTP/1.x.
    NotHttp,
    /// A well-formed HTTP version whose major is not 1.
    UnsupportedVersion,
    /// The method is not a token.
    InvalidMethod,
    /// A well-formed method the engine does not recognise.
    UnknownMethod,
    /// The request-target has a byte outside the URI characters, or is not a valid URI
    /// of any form.
    InvalidTarget,
    /// A request-target form the method does not allow (asterisk without OPTIONS,
    /// authority without CONNECT, or CONNECT without authority).
    TargetFormMismatch,
    /// A field line that is not `token ":" value` (includes whitespace before the colon).
    MalformedField,
    /// HTTP/1.1 request without Host.
    MissingHost,
    /// More than one Host field line.
    DuplicateHost,
    /// A Host value that is not `uri-host [ ":" port ]`.
    InvalidHost,
    /// Both Content-Length and Transfer-Encoding.
    ContentLengthWithTransferEncoding,
    /// A Content-Length that is not 1*DIGIT or does not fit in 64 bits.
    InvalidContentLength,
    /// Several Content-Length values that differ.
    ConflictingContentLength,
    /// Transfer-Encoding in an HTTP/1.0 request.
    TransferEncodingInHttp10,
    /// Transfer-Encoding whose final coding is not chunked.
    ChunkedNotFinal,
    /// chunked applied more than once.
    ChunkedTwice,
    /// A transfer coding other than chunked.
    UnsupportedTransferCoding,
    /// chunked with a parameter (the chunked coding defines none).
    ChunkedWithParameters,
    /// A chunk-size that is not hexadecimal or not followed by CRLF.
    InvalidChunkSize,
    /// A chunk-size that does not fit in 64 bits.
    ChunkSizeOverflow,
    /// Chunk data not followed by CRLF, or a malformed trailer line.
    InvalidChunkFraming,
    /// A chunk extension that does not follow the chunk-ext grammar.
    InvalidChunkExtension,
    /// Chunk extensions over their bound.
    ChunkExtensionsTooLong,
    /// The body exceeds `Limits::max_body`.
    BodyTooLarge,
    /// An Expect value other than 100-continue.
    UnsupportedExpectation,
    /// The head or the body did not arrive in time.
    Timeout,
}

impl RequestError {
    /// The statistics class of this rejection.
    pub fn class(self) -> RejectClass {
        use RequestError::*;
        match self {
            Timeout => RejectClass::Timeout,
            RequestLineTooLong
            | HeaderLineTooLong
            | HeadersTooLarge
            | TooManyHeaders
            | TrailersTooLarge
            | BodyTooLarge
            | ChunkExtensionsTooLong => RejectClass::OverLimit,
            _ => RejectClass::Invalid,
        }
    }

    /// The status code of the error response.
    pub fn status(self) -> StatusCode {
        use RequestError::*;
        match self {
            // RFC 9112 §3: a server that receives a request-target longer than it wishes
            // to parse MUST respond with 414.
            RequestLineTooLong => StatusCode::URI_TOO_LONG,
            // RFC 6585 §5.
            HeaderLineTooLong | HeadersTooLarge | TooManyHeaders | TrailersTooLarge => {
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
            }
            // RFC 9110 §15.6.6.
            UnsupportedVersion => StatusCode::HTTP_VERSION_NOT_SUPPORTED,
            // RFC 9112 §6.1: a transfer coding the server does not understand.
            UnsupportedTransferCoding => StatusCode::NOT_IMPLEMENTED,
            // RFC 9110 §9.1, §15.6.2: a method the server does not recognise.
            UnknownMethod => StatusCode::NOT_IMPLEMENTED,
            // RFC 9110 §15.5.14.
            BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            // RFC 9110 §10.1.1.
            UnsupportedExpectation => StatusCode::EXPECTATION_FAILED,
            // RFC 9110 §15.5.9.
            Timeout => StatusCode::REQUEST_TIMEOUT,
            BareLf
            | BareCr
            | InvalidByte
            | ObsFold
            | TooManyEmptyLines
            | MalformedRequestLine
            | NotHttp
            | InvalidMethod
            | InvalidTarget
            | TargetFormMismatch
            | MalformedField
            | MissingHost
            | DuplicateHost
            | InvalidHost
            | ContentLengthWithTransferEncoding
            | InvalidContentLength
            | ConflictingContentLength
            | TransferEncodingInHttp10
            | ChunkedNotFinal
            | ChunkedTwice
            | ChunkedWithParameters
            | InvalidChunkSize
            | ChunkSizeOverflow
            | InvalidChunkFraming
            | InvalidChunkExtension
            | ChunkExtensionsTooLong => StatusCode::BAD_REQUEST,
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use RequestError::*;
        let what = match self {
            RequestLineTooLong => "peer sent a request line longer than the limit",
            HeaderLineTooLong => "peer sent a header field line longer than the limit",
            HeadersTooLarge => "peer sent a header section larger than the limit",
            TooManyHeaders => "peer sent more header fields than the limit",
            TrailersTooLarge => "peer sent a trailer section over the header limits",
            BareLf => "peer ended a line with a bare LF",
            BareCr => "peer sent a CR not followed by LF",
            InvalidByte => "peer sent a control character in the request head",
            ObsFold => "peer sent an obsolete folded field line",
            TooManyEmptyLines => "peer sent too many empty lines before a request",
            MalformedRequestLine => "peer sent a malformed request line",
            NotHttp => "peer sent a request line without an HTTP version",
            UnsupportedVersion => "peer used an HTTP major version other than 1",
            InvalidMethod => "peer sent a method that is not a token",
            UnknownMethod => "peer sent a method the server does not recognise",
            InvalidTarget => "peer sent an invalid request-target",
            TargetFormMismatch => "peer used a request-target form its method does not allow",
            MalformedField => "peer sent a malformed header field line",
            MissingHost => "peer sent an HTTP/1.1 request without Host",
            DuplicateHost => "peer sent more than one Host field",
            InvalidHost => "peer sent an invalid Host value",
            ContentLengthWithTransferEncoding => {
                "peer sent both Content-Length and Transfer-Encoding"
            }
            InvalidContentLength => "peer sent an invalid Content-Length",
            ConflictingContentLength => "peer sent differing Content-Length values",
            TransferEncodingInHttp10 => "peer sent Transfer-Encoding in an HTTP/1.0 request",
            ChunkedNotFinal => "peer sent a Transfer-Encoding whose final coding is not chunked",
            ChunkedTwice => "peer applied chunked more than once",
            UnsupportedTransferCoding => "peer used a transfer coding other than chunked",
            ChunkedWithParameters => "peer sent the chunked coding with a parameter",
            InvalidChunkSize => "peer sent an invalid chunk-size line",
            ChunkSizeOverflow => "peer sent a chunk-size that overflows",
            InvalidChunkFraming => "peer sent malformed chunk framing or trailer",
            InvalidChunkExtension => "peer sent a malformed chunk extension",
            ChunkExtensionsTooLong => "peer sent chunk extensions over the limit",
            BodyTooLarge => "peer sent a body larger than the limit",
            UnsupportedExpectation => "peer sent an expectation other than 100-continue",
            Timeout => "peer did not send the request in time",
        };
        f.write_str(what)
    }
}

impl std::error::Error for RequestError {}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap (STYLE.md).
mod tests {
    use super::*;

    #[test]
    fn rfc9110_15_status_mapping_of_limit_errors() {
        assert_eq!(RequestError::RequestLineTooLong.status(), 414);
        assert_eq!(RequestError::TooManyHeaders.status(), 431);
        assert_eq!(RequestError::BodyTooLarge.status(), 413);
        assert_eq!(RequestError::UnsupportedVersion.status(), 505);
        assert_eq!(RequestError::UnsupportedTransferCoding.status(), 501);
        assert_eq!(RequestError::UnknownMethod.status(), 501);
        assert_eq!(RequestError::ChunkedWithParameters.status(), 400);
        assert_eq!(RequestError::InvalidChunkExtension.status(), 400);
        assert_eq!(RequestError::UnsupportedExpectation.status(), 417);
        assert_eq!(RequestError::Timeout.status(), 408);
        assert_eq!(RequestError::ObsFold.status(), 400);
    }

    #[test]
    fn rejected_head_keeps_a_bounded_request_line_and_user_agent() {
        let r = Rejection::from_head(
            RequestError::InvalidTarget,
            b"\r\nGET /a\x01b HTTP/1.1\r\nHost: a\r\nuser-agent:  curl/8 \r\n\r\n",
        );
        assert_eq!(r.status, 400);
        assert_eq!(
            r.request_line.as_deref(),
            Some(&b"GET /a\x01b HTTP/1.1"[..])
        );
        assert_eq!(r.user_agent.as_deref(), Some(&b"curl/8"[..]));
        let mut long = b"GET /".to_vec();
        long.resize(10_000, b'a');
        let r = Rejection::from_head(RequestError::RequestLineTooLong, &long);
        assert_eq!(r.request_line.unwrap().len(), LOGGED_REQUEST_LINE_MAX);
        assert_eq!(r.user_agent, None);
        let r = Rejection::from_head(RequestError::Timeout, b"");
        assert_eq!((r.request_line, r.status.as_u16()), (None, 408));
    }
}
