//! The control-socket protocol between carbond and carbonctl, defined once.
//!
//! Line-delimited JSON over a Unix stream socket: the client sends one request line,
//! the server answers with one response line and closes the connection. Every message
//! carries the protocol version `v`; a server refuses a version it does not speak
//! with [`ErrorCode::UnsupportedVersion`]. Fields may be added to replies within a
//! version (readers ignore fields they do not know); removing or changing one needs a
//! new version. The full description, with examples, is docs/control-protocol.md.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// Where carbond listens unless `control_socket` says otherwise.
pub const DEFAULT_SOCKET: &str = "/run/carbon/carbond.sock";

/// Longest request line the server reads (newline included). Requests are tiny; the
/// bound keeps a client from making the server buffer without end.
pub const MAX_REQUEST_LINE: usize = 4096;

/// Longest response line a client accepts. A stats reply grows with the worker count
/// (a few hundred bytes each, at most 1024 workers).
pub const MAX_RESPONSE_LINE: usize = 4 * 1024 * 1024;

/// A request: `{"v":1,"cmd":"stats"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub v: u32,
    #[serde(flatten)]
    pub command: Command,
}

impl Request {
    pub fn new(command: Command) -> Request {
        Request {
            v: PROTOCOL_VERSION,
            command,
        }
    }

    /// The request as one line, newline included.
    pub fn to_line(&self) -> String {
        let mut s = serde_json::to_string(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// What the client asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "kebab-case")]
pub enum Command {
    /// Version, pid, uptime, listeners, configuration generation.
    Status,
    /// Every counter, summed and per worker.
    Stats,
    /// The statistics in the Prometheus text exposition format.
    Metrics,
    /// Re-read and apply the configuration file; the reply waits for the outcome.
    Reload,
    /// Graceful stop (as SIGTERM).
    Stop,
    /// Reopen the log files (as after log rotation).
    ReopenLogs,
}

/// A response: `{"v":1,"ok":true,"result":{...}}` or
/// `{"v":1,"ok":false,"error":{"code":"...","message":"..."}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub v: u32,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Reply>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorReply>,
}

impl Response {
    pub fn ok(reply: Reply) -> Response {
        Response {
            v: PROTOCOL_VERSION,
            ok: true,
            result: Some(reply),
            error: None,
        }
    }

    pub fn error(code: ErrorCode, message: impl Into<String>) -> Response {
        Response {
            v: PROTOCOL_VERSION,
            ok: false,
            result: None,
            error: Some(ErrorReply {
                code,
                message: message.into(),
            }),
        }
    }

    /// The response as one line, newline included.
    pub fn to_line(&self) -> String {
        let mut s = serde_json::to_string(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// The successful answer to each command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Reply {
    Status(Status),
    Stats(StatsReport),
    Metrics {
        text: String,
    },
    Reload(ReloadReport),
    /// `stop` and `reopen-logs`: what was done.
    Done {
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReply {
    pub code: ErrorCode,
    pub message: String,
}

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, not an object, or an unknown command.
    BadRequest,
    UnsupportedVersion,
    /// The request line exceeded [`MAX_REQUEST_LINE`].
    TooLarge,
    /// The request did not arrive in time.
    Timeout,
    /// The peer is neither root, nor carbond's user, nor in `control_group`.
    PermissionDenied,
    /// Too many control connections at once.
    Busy,
    /// The new configuration was refused; the old one keeps serving.
    ReloadFailed,
    /// The command exists but this build cannot do it.
    Unavailable,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::Timeout => "timeout",
            ErrorCode::PermissionDenied => "permission_denied",
            ErrorCode::Busy => "busy",
            ErrorCode::ReloadFailed => "reload_failed",
            ErrorCode::Unavailable => "unavailable",
        }
    }
}

/// The outcome of the last reload attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadResult {
    pub ok: bool,
    /// Seconds since the Unix epoch.
    pub at_unix: u64,
    /// Empty on success; the refusal (file, line, key) otherwise.
    pub message: String,
}

/// `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub version: String,
    pub pid: u32,
    pub uptime_secs: u64,
    pub config_file: Option<String>,
    pub config_generation: u64,
    pub workers: usize,
    /// `http://127.0.0.1:8080`, one per listening address.
    pub listeners: Vec<String>,
    pub connections_open: u64,
    pub requests: u64,
    pub last_reload: Option<ReloadResult>,
}

/// `reload` succeeded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadReport {
    /// The configuration generation now serving.
    pub generation: u64,
    /// What changed, in a line or a few.
    pub message: String,
}

/// `stats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsReport {
    pub uptime_secs: u64,
    pub config_generation: u64,
    pub last_reload: Option<ReloadResult>,
    pub log_write_errors: u64,
    /// All workers together.
    pub total: Counters,
    /// Index = worker number.
    pub workers: Vec<Counters>,
    /// Responses per `[site]` section (the global settings as `(default)`), by
    /// status class `1xx` .. `5xx`; empty without sections (and from a carbond
    /// that predates them).
    #[serde(default)]
    pub sites: BTreeMap<String, BTreeMap<String, u64>>,
}

/// Open and total connections of one protocol.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionCount {
    pub open: u64,
    pub total: u64,
}

/// The counters, for all workers or one. `requests` counts every answered request
/// once, rejected ones included, and equals the sum of `responses`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub connections_open: u64,
    pub connections_total: u64,
    /// By protocol: `http`, `https` (later `h2`, `ws`).
    pub connections: BTreeMap<String, ConnectionCount>,
    pub requests: u64,
    /// By status class: `1xx` .. `5xx`.
    pub responses: BTreeMap<String, u64>,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub tls_handshakes: u64,
    pub tls_handshake_failures: u64,
    pub rate_limited: u64,
    pub rejected: u64,
    pub timeouts: u64,
    pub panics: u64,
    pub file_cache_hits: u64,
    pub file_cache_misses: u64,
}

/// Why a request line could not be turned into a [`Request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub code: ErrorCode,
    pub message: String,
}

/// Parses one request line (without or with its newline). Checks the version before
/// the command, so a newer client gets "unsupported version", not "unknown command".
pub fn parse_request(line: &[u8]) -> Result<Request, ParseError> {
    let bad = |code, message: String| ParseError { code, message };
    let value: serde_json::Value = serde_json::from_slice(line)
        .map_err(|e| bad(ErrorCode::BadRequest, format!("not JSON: {e}")))?;
    let Some(obj) = value.as_object() else {
        return Err(bad(
            ErrorCode::BadRequest,
            "a request is a JSON object".into(),
        ));
    };
    match obj.get("v").and_then(serde_json::Value::as_u64) {
        Some(v) if v == u64::from(PROTOCOL_VERSION) => {}
        Some(v) => {
            return Err(bad(
                ErrorCode::UnsupportedVersion,
                format!(
                    "protocol version {v} is not supported; this carbond speaks {PROTOCOL_VERSION}"
                ),
            ))
        }
        None => {
            return Err(bad(
                ErrorCode::BadRequest,
                "missing protocol version `v`".into(),
            ))
        }
    }
    serde_json::from_value(value).map_err(|e| {
        bad(
            ErrorCode::BadRequest,
            format!("unknown or missing command `cmd`: {e}"),
        )
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure
mod tests {
    use super::*;

    #[test]
    fn request_wire_form() {
        let line = Request::new(Command::ReopenLogs).to_line();
        assert_eq!(line, "{\"v\":1,\"cmd\":\"reopen-logs\"}\n");
        assert_eq!(
            parse_request(line.as_bytes()).unwrap().command,
            Command::ReopenLogs
        );
    }

    #[test]
    fn malformed_requests_are_classified() {
        let code = |l: &str| parse_request(l.as_bytes()).unwrap_err().code;
        assert_eq!(code("stats"), ErrorCode::BadRequest);
        assert_eq!(code("[1]"), ErrorCode::BadRequest);
        assert_eq!(code("{\"cmd\":\"stats\"}"), ErrorCode::BadRequest);
        assert_eq!(
            code("{\"v\":2,\"cmd\":\"stats\"}"),
            ErrorCode::UnsupportedVersion
        );
        assert_eq!(
            code("{\"v\":1,\"cmd\":\"format-disk\"}"),
            ErrorCode::BadRequest
        );
        assert_eq!(code("{\"v\":1}"), ErrorCode::BadRequest);
    }

    #[test]
    fn responses_round_trip_and_ignore_unknown_fields() {
        let r = Response::ok(Reply::Done {
            message: "stopping".into(),
        });
        let back: Response = serde_json::from_str(r.to_line().trim_end()).unwrap();
        assert_eq!(back, r);
        let newer =
            r#"{"v":1,"ok":false,"error":{"code":"busy","message":"m","hint":"x"},"extra":1}"#;
        let back: Response = serde_json::from_str(newer).unwrap();
        assert_eq!(back.error.unwrap().code, ErrorCode::Busy);
    }
}
