//! WebSocket sessions and the connection-slot policy (`driver/slots.rs`,
//! docs/configuration.md "Connection slots under pressure"): near
//! `max_connections`, a newcomer may take the slot of a session that has carried no
//! message for `websocket_reclaim_after`, which is told so with Close 1001
//! (RFC 6455 §7.4.1); a session in use never goes, and with the key off none does.
//!
//! One worker (victims are chosen among the accepting worker's own connections), 20
//! slots (pressure from 18 on), at most ~40 connections and ~15 s per test.

use std::io::ErrorKind;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::WebSocket;
use tungstenite::Message;

use crate::harness::Server;
use crate::ws::{connect, start, WS_TIMEOUT};

/// With `max_connections = 20`, the policy reclaims from 18 open connections on.
const QUIET: usize = 17;
const CONFIG: &str = "max_connections = 20\nmax_threads = 1\nmetrics_path = /metrics\n\
                      websocket_ping_interval = 10m";

/// Sends one message on the session in use and checks its echo, so its last data
/// frame stays recent.
fn keep_busy(ws: &mut WebSocket<TcpStream>, n: &mut u32) {
    *n += 1;
    let text = format!("busy {n}");
    ws.send(Message::text(text.clone())).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text(text));
}

/// Waits `d` while the busy session keeps talking every 200 ms.
fn wait_busy(ws: &mut WebSocket<TcpStream>, n: &mut u32, d: Duration) {
    let until = Instant::now() + d;
    while Instant::now() < until {
        keep_busy(ws, n);
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Nothing has arrived and the connection is open.
fn is_open_and_silent(ws: &mut WebSocket<TcpStream>) -> Result<(), String> {
    ws.get_ref().set_nonblocking(true).unwrap();
    let r = match ws.read() {
        Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => Ok(()),
        other => Err(format!("{other:?}")),
    };
    ws.get_ref().set_nonblocking(false).unwrap();
    r
}

/// The session got Close 1001 and then its connection ended.
fn closed_going_away(ws: &mut WebSocket<TcpStream>) -> Result<(), String> {
    match ws.read() {
        Ok(Message::Close(Some(f))) if f.code == CloseCode::Away => {}
        other => return Err(format!("expected Close 1001, got {other:?}")),
    }
    // tungstenite answers the Close; the server has closed the TCP connection.
    let _ = ws.flush();
    match ws.read() {
        Err(tungstenite::Error::ConnectionClosed)
        | Err(tungstenite::Error::AlreadyClosed)
        | Err(tungstenite::Error::Io(_)) => Ok(()),
        other => Err(format!(
            "connection still delivering after the Close: {other:?}"
        )),
    }
}

fn metric(server: &Server, line_start: &str) -> String {
    let body = server.get("/metrics", "").body_str();
    body.lines()
        .find(|l| l.starts_with(line_start))
        .unwrap_or_else(|| panic!("no {line_start} in\n{body}"))
        .to_string()
}

/// The scene of both tests: one busy session and `QUIET` silent ones, run until the
/// silent ones are past a 2 s quiet time.
fn busy_and_quiet(server: &Server) -> (WebSocket<TcpStream>, u32, Vec<WebSocket<TcpStream>>) {
    let mut busy = connect(server, "/");
    let mut n = 0;
    let quiet = (0..QUIET).map(|_| connect(server, "/")).collect();
    wait_busy(&mut busy, &mut n, Duration::from_millis(2500));
    (busy, n, quiet)
}

/// A newcomer that must be accepted and served (its echo comes back).
fn served_newcomer(server: &Server, i: usize) -> WebSocket<TcpStream> {
    let mut ws = connect(server, "/");
    ws.send(Message::text(format!("new {i}"))).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text(format!("new {i}")));
    ws
}

#[test]
fn rfc6455_7_4_1_near_max_connections_quiet_sessions_give_way_with_1001_oldest_first() {
    let server = start(&format!("{CONFIG}\nwebsocket_reclaim_after = 2s"));
    // Past the quiet time for the 17 silent sessions; the busy one keeps talking.
    let (mut busy, mut n, mut quiet) = busy_and_quiet(&server);

    // Three newcomers: each is accepted at 18 open connections, so each costs one
    // victim, and the only ones are the quiet sessions, longest quiet first.
    let mut newcomers = Vec::new();
    for i in 0..3 {
        newcomers.push(served_newcomer(&server, i));
        keep_busy(&mut busy, &mut n);
    }
    for (i, ws) in quiet.iter_mut().enumerate() {
        ws.get_mut().set_read_timeout(Some(WS_TIMEOUT)).unwrap();
        if i < 3 {
            closed_going_away(ws).unwrap_or_else(|e| panic!("quiet session {i}: {e}"));
        } else {
            is_open_and_silent(ws).unwrap_or_else(|e| panic!("quiet session {i}: {e}"));
        }
    }
    keep_busy(&mut busy, &mut n);

    // Back under the high-water mark (the server closes each newcomer in the turn
    // it answers its Close, before it accepts again), so reading the count by reason
    // costs no victim.
    for mut ws in newcomers {
        ws.close(None).unwrap();
        while ws.read().is_ok() {}
    }
    assert_eq!(
        metric(&server, "carbon_evicted_total{reason=\"websocket\"}"),
        "carbon_evicted_total{reason=\"websocket\"} 3"
    );
}

#[test]
fn websocket_reclaim_after_off_never_closes_a_session_for_a_newcomer() {
    let server = start(&format!("{CONFIG}\nwebsocket_reclaim_after = off"));
    let (mut busy, mut n, mut quiet) = busy_and_quiet(&server);
    // Two newcomers fit below the limit itself (18 and 19 open); neither may cost a
    // session its slot.
    let mut newcomers = Vec::new();
    for i in 0..2 {
        newcomers.push(served_newcomer(&server, i));
    }
    for (i, ws) in quiet.iter_mut().enumerate() {
        is_open_and_silent(ws).unwrap_or_else(|e| panic!("quiet session {i}: {e}"));
    }
    keep_busy(&mut busy, &mut n);
    for mut ws in newcomers {
        ws.close(None).unwrap();
        while ws.read().is_ok() {}
    }
    assert_eq!(
        metric(&server, "carbon_evicted_total{reason=\"websocket\"}"),
        "carbon_evicted_total{reason=\"websocket\"} 0"
    );
}
