#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use bytes::Bytes;

use super::*;
use crate::limits::WsLimits;
use crate::proto::out::Chunk;
use crate::proto::ws::{CloseCode, Message, MessageKind, SendError};
use crate::service::{Body, Request, RequestContext, Response, Service};

struct Inner;

impl Service for Inner {
    fn call(&mut self, _req: &Request, _ctx: &RequestContext) -> Response {
        http::Response::new(Body::Bytes(Bytes::from_static(b"inner")))
    }
}

fn ctx() -> RequestContext<'static> {
    RequestContext {
        peer: SocketAddr::from(([127, 0, 0, 1], 1)),
        secure: false,
        now: Instant::now(),
        wall: SystemTime::now(),
        sni: None,
        https_port: None,
    }
}

fn upgrade_req(path: &str, version: &str) -> Request {
    http::Request::builder()
        .uri(path)
        .header("Host", "h")
        .header("Upgrade", "websocket")
        .header("Connection", "keep-alive, Upgrade")
        .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("Sec-WebSocket-Version", version)
        .body(Bytes::new())
        .unwrap()
}

fn echo_factory() -> HandlerFactory {
    Arc::new(|_req: &Request| Box::new(EchoHandler) as Box<dyn WsHandler>)
}

fn service(paths: &[&str]) -> WebSocketService<Inner> {
    let settings = WsSettings {
        paths: paths.iter().map(|p| p.to_string()).collect(),
        ..Default::default()
    };
    WebSocketService::new(Inner, settings, echo_factory())
}

/// A masked client frame (RFC 6455 §5.3) with a zero key, so the payload is as-is.
fn frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let mut f = vec![b0, 0x80 | payload.len() as u8, 0, 0, 0, 0];
    f.extend_from_slice(payload);
    f
}

fn wire(s: &mut WsSession) -> Vec<u8> {
    let mut w = Vec::new();
    let q = s.out();
    while let Some(c) = q.front().cloned() {
        if let Chunk::Bytes(b) = &c {
            w.extend_from_slice(b);
        }
        q.advance(c.len());
    }
    w
}

fn noop_wake() -> WakeHook {
    Arc::new(|| {})
}

#[test]
fn rfc6455_4_2_2_upgrade_answered_101_with_handler_extension() {
    let mut svc = service(&[]);
    let resp = svc.call(&upgrade_req("/any/path", "13"), &ctx());
    assert_eq!(resp.status(), 101);
    assert_eq!(resp.headers()["connection"], "Upgrade");
    assert_eq!(
        resp.headers()["sec-websocket-accept"],
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
    let up = resp.extensions().get::<WsUpgrade>().unwrap();
    assert!(up.take_handler().is_some());
    assert!(up.take_handler().is_none(), "the handler is taken once");
}

#[test]
fn non_upgrade_request_and_other_paths_served_by_the_inner_service() {
    let mut svc = service(&["/ws", "/rooms/"]);
    let plain = http::Request::builder()
        .uri("/ws")
        .body(Bytes::new())
        .unwrap();
    let r = svc.call(&plain, &ctx());
    assert_eq!(r.status(), 200);
    assert!(r.extensions().get::<WsUpgrade>().is_none());
    assert_eq!(svc.call(&upgrade_req("/other", "13"), &ctx()).status(), 200);
    assert_eq!(svc.call(&upgrade_req("/ws", "13"), &ctx()).status(), 101);
    assert_eq!(
        svc.call(&upgrade_req("/rooms/42", "13"), &ctx()).status(),
        101
    );
    assert_eq!(svc.call(&upgrade_req("/ws/x", "13"), &ctx()).status(), 200);
}

#[test]
fn rfc6455_4_2_2_bad_version_is_426_through_the_error_page() {
    let mut svc = service(&[]);
    let r = svc.call(&upgrade_req("/", "12"), &ctx());
    assert_eq!(r.status(), 426);
    assert_eq!(r.headers()["sec-websocket-version"], "13");
    assert!(r.extensions().get::<WsUpgrade>().is_none());
}

#[test]
fn echo_session_echoes_and_reports_close_once() {
    let now = Instant::now();
    let mut svc = service(&[]);
    let resp = svc.call(&upgrade_req("/", "13"), &ctx());
    let up = resp.extensions().get::<WsUpgrade>().unwrap();
    let mut s = WsSession::from_upgrade(up, WsLimits::default(), noop_wake(), now).unwrap();
    s.handle_input(now, &frame(0x81, b"hi"));
    s.handle_input(now, &frame(0x82, &[1, 2, 3]));
    assert_eq!(
        wire(&mut s),
        [&[0x81, 2, b'h', b'i'][..], &[0x82, 3, 1, 2, 3]].concat()
    );
    s.handle_input(now, &frame(0x88, &1000u16.to_be_bytes()));
    assert_eq!(wire(&mut s), vec![0x88, 2, 0x03, 0xe8]);
    assert!(s.is_closed());
}

/// Records what a handler saw.
#[derive(Default)]
struct Log {
    parts: Vec<MessagePart>,
    closes: Vec<Option<CloseCode>>,
}

struct Recorder {
    log: Arc<Mutex<Log>>,
    chunks: bool,
}

impl WsHandler for Recorder {
    fn on_message(&mut self, _ws: &mut WsContext<'_>, msg: Message) {
        if let Message::Binary(b) = msg {
            self.log.lock().unwrap().parts.push(MessagePart::Data(b));
        }
    }
    fn wants_chunks(&self) -> bool {
        self.chunks
    }
    fn on_chunk(&mut self, _ws: &mut WsContext<'_>, part: MessagePart) {
        self.log.lock().unwrap().parts.push(part);
    }
    fn on_close(&mut self, code: Option<CloseCode>, _reason: &str) {
        self.log.lock().unwrap().closes.push(code);
    }
}

fn recorder(chunks: bool, wake: WakeHook) -> (WsSession, Arc<Mutex<Log>>) {
    let log = Arc::new(Mutex::new(Log::default()));
    let h = Recorder {
        log: log.clone(),
        chunks,
    };
    let s = WsSession::new(
        Box::new(h),
        None,
        None,
        WsLimits::default(),
        wake,
        Instant::now(),
    );
    (s, log)
}

#[test]
fn chunked_handler_gets_parts_as_they_arrive() {
    let now = Instant::now();
    let (mut s, log) = recorder(true, noop_wake());
    s.handle_input(now, &frame(0x02, b"ab"));
    assert_eq!(
        log.lock().unwrap().parts,
        vec![
            MessagePart::Start(MessageKind::Binary),
            MessagePart::Data(Bytes::from_static(b"ab"))
        ]
    );
    s.handle_input(now, &frame(0x80, b"c"));
    assert_eq!(log.lock().unwrap().parts.len(), 4);
    assert_eq!(log.lock().unwrap().parts[3], MessagePart::End);
}

#[test]
fn sender_from_another_thread_wakes_and_is_delivered_then_refused_after_close() {
    let now = Instant::now();
    let wakes = Arc::new(AtomicUsize::new(0));
    let w = wakes.clone();
    let (mut s, log) = recorder(
        false,
        Arc::new(move || {
            w.fetch_add(1, Ordering::SeqCst);
        }),
    );
    let tx = s.sender();
    let t = std::thread::spawn(move || {
        tx.send_text("from afar").unwrap();
        tx.send_binary(Bytes::from_static(b"\x01")).unwrap();
        tx
    });
    let tx = t.join().unwrap();
    assert_eq!(wakes.load(Ordering::SeqCst), 2);
    assert!(
        wire(&mut s).is_empty(),
        "nothing sent before the worker takes the mail"
    );
    s.handle_wake(now);
    let mut expect = vec![0x81, 9];
    expect.extend_from_slice(b"from afar");
    expect.extend_from_slice(&[0x82, 1, 1]);
    assert_eq!(wire(&mut s), expect);
    s.handle_read_closed(now);
    assert_eq!(log.lock().unwrap().closes, vec![Some(CloseCode::ABNORMAL)]);
    assert_eq!(tx.send_text("late"), Err(SendError::Closed));
}

#[test]
fn sender_mailbox_is_bounded() {
    let (s, _log) = recorder(false, noop_wake());
    let tx = s.sender();
    for _ in 0..WsLimits::default().max_remote_queue {
        tx.send_text("x").unwrap();
    }
    assert_eq!(tx.send_text("x"), Err(SendError::QueueFull));
}

#[test]
fn echo_of_pipelined_messages_waits_for_the_queue_instead_of_closing() {
    let now = Instant::now();
    let limits = WsLimits {
        max_send_queue: 1000,
        ..Default::default()
    };
    let mut s = WsSession::new(Box::new(EchoHandler), None, None, limits, noop_wake(), now);
    let mut input = Vec::new();
    for i in 0..5u8 {
        // 100-byte messages, masked with a zero key.
        input.extend_from_slice(&[0x82, 0x80 | 100, 0, 0, 0, 0]);
        input.extend_from_slice(&[i; 100]);
    }
    // Twelve messages' worth in one read, against a 1,000-byte queue.
    let mut all = Vec::new();
    for _ in 0..3 {
        all.extend_from_slice(&input);
    }
    s.handle_input(now, &all[..all.len() - 102 * 3]);
    let mut out = Vec::new();
    for _ in 0..20 {
        out.extend(wire(&mut s));
        s.handle_output_drained(now);
    }
    // 12 echoes of 102 bytes each, no Close frame.
    assert_eq!(out.len(), 12 * 102, "{}", out.len());
    assert!(out.chunks(102).all(|f| f[0] == 0x82));
    assert!(!s.is_closed());
}

#[test]
fn rfc6455_7_1_5_session_dropped_unclosed_reports_1006_once_and_refuses_mail() {
    let (s, log) = recorder(false, Arc::new(|| {}));
    let tx = s.sender();
    drop(s);
    assert_eq!(log.lock().unwrap().closes, vec![Some(CloseCode::ABNORMAL)]);
    assert_eq!(tx.send_text("late"), Err(SendError::Closed));
    // A session whose close was reported says nothing more when dropped.
    let (mut s, log) = recorder(false, Arc::new(|| {}));
    s.handle_read_closed(Instant::now());
    drop(s);
    assert_eq!(log.lock().unwrap().closes, vec![Some(CloseCode::ABNORMAL)]);
}
