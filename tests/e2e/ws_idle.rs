//! WebSocket liveness with many idle connections (RFC 6455 §5.5.2-§5.5.3, the
//! `websocket_ping_interval` / `websocket_pong_timeout` keys): 1,000 idle sessions
//! whose client answers pings stay open and still echo; sessions whose client never
//! answers are closed with 1001 once the pong timeout has passed.
//!
//! The clients are `tungstenite` (which answers a Ping with a Pong by itself, on
//! the next read or flush) over non-blocking sockets swept by one thread, so a
//! thousand connections cost the test neither a thousand threads nor a thousand
//! timeouts. Every wait is bounded by a deadline; durations are only lower bounds
//! (a close that comes too early is a bug), never performance assertions.

use std::io::ErrorKind;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use nix::sys::resource::{getrlimit, setrlimit, Resource};
use tungstenite::protocol::WebSocket;
use tungstenite::Message;

use crate::harness::Server;
use crate::ws::{raw_upgrade, read_frame, WS_TIMEOUT};

/// Idle sessions kept alive by pings.
const IDLE_SESSIONS: usize = 1000;
/// Sessions that never answer a ping.
const SILENT_SESSIONS: usize = 100;
/// Pings each live session must have answered before the test is satisfied.
const PINGS: u32 = 3;
/// Upper bound for every phase of these tests.
const PHASE_LIMIT: Duration = Duration::from_secs(90);

/// Raises this process's open-file limit to `need`, or says loudly why the test
/// cannot run (false).
fn nofile_or_skip(need: u64, test: &str) -> bool {
    let (soft, hard) = match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("SKIPPED {test}: cannot read RLIMIT_NOFILE: {e}");
            return false;
        }
    };
    if soft >= need {
        return true;
    }
    if hard < need {
        eprintln!(
            "SKIPPED {test}: needs {need} open files, the hard limit is {hard} \
             (raise it with `ulimit -Hn` or LimitNOFILE=)"
        );
        return false;
    }
    if let Err(e) = setrlimit(Resource::RLIMIT_NOFILE, need, hard) {
        eprintln!("SKIPPED {test}: cannot raise RLIMIT_NOFILE from {soft} to {need}: {e}");
        return false;
    }
    true
}

struct Peer {
    ws: WebSocket<TcpStream>,
    pings: u32,
    echoes: Vec<String>,
    ended: Option<String>,
}

impl Peer {
    /// Reads what has arrived without blocking and flushes the Pongs tungstenite
    /// queued for the Pings it read.
    fn sweep(&mut self) {
        if self.ended.is_some() {
            return;
        }
        loop {
            match self.ws.read() {
                Ok(Message::Ping(_)) => self.pings += 1,
                Ok(Message::Text(t)) => self.echoes.push(t.to_string()),
                Ok(Message::Close(f)) => {
                    self.ended = Some(format!("server closed: {f:?}"));
                    return;
                }
                Ok(other) => {
                    self.ended = Some(format!("unexpected message {other:?}"));
                    return;
                }
                Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => {
                    self.ended = Some(format!("read: {e}"));
                    return;
                }
            }
        }
        match self.ws.flush() {
            Ok(()) => {}
            Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => self.ended = Some(format!("flush: {e}")),
        }
    }
}

fn sweep_all(peers: &mut [Peer]) {
    for p in peers.iter_mut() {
        p.sweep();
    }
}

/// Sweeps every `step` until `done` holds or the phase limit passes; returns whether
/// `done` held.
fn sweep_until(peers: &mut [Peer], done: impl Fn(&[Peer]) -> bool) -> bool {
    let deadline = Instant::now() + PHASE_LIMIT;
    loop {
        sweep_all(peers);
        if done(peers) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn ended(peers: &[Peer]) -> Vec<String> {
    peers
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.ended.as_ref().map(|e| format!("#{i}: {e}")))
        .take(5)
        .collect()
}

#[test]
fn rfc6455_5_5_2_thousand_idle_sessions_answering_pings_stay_open_and_echo() {
    let test = "rfc6455_5_5_2_thousand_idle_sessions_answering_pings_stay_open_and_echo";
    if !nofile_or_skip(IDLE_SESSIONS as u64 + 512, test) {
        return;
    }
    // A short interval, and a pong timeout long enough for a loaded machine's sweep.
    let server = crate::ws::start(
        "max_connections = 4096\nwebsocket_ping_interval = 1s\nwebsocket_pong_timeout = 5s",
    );
    let url = format!("ws://127.0.0.1:{}/", server.port());
    let mut peers: Vec<Peer> = Vec::with_capacity(IDLE_SESSIONS);
    let opening = Instant::now() + PHASE_LIMIT;
    for i in 0..IDLE_SESSIONS {
        assert!(
            Instant::now() < opening,
            "opening {IDLE_SESSIONS} sessions took too long"
        );
        let tcp = TcpStream::connect(server.addr())
            .unwrap_or_else(|e| panic!("connection {i}: {e}\n{}", server.output()));
        tcp.set_read_timeout(Some(WS_TIMEOUT)).unwrap();
        tcp.set_write_timeout(Some(WS_TIMEOUT)).unwrap();
        let (ws, resp) = tungstenite::client::client(url.as_str(), tcp)
            .unwrap_or_else(|e| panic!("handshake {i}: {e}\n{}", server.output()));
        assert_eq!(resp.status(), 101);
        ws.get_ref().set_nonblocking(true).unwrap();
        peers.push(Peer {
            ws,
            pings: 0,
            echoes: Vec::new(),
            ended: None,
        });
        // The first sessions are pinged while the last ones open: keep answering.
        if i % 50 == 49 {
            sweep_all(&mut peers);
        }
    }

    // Idle: no data at all, only the server's pings and our pongs.
    let all_pinged = sweep_until(&mut peers, |ps| {
        ps.iter().any(|p| p.ended.is_some()) || ps.iter().all(|p| p.pings >= PINGS)
    });
    let gone = ended(&peers);
    assert!(gone.is_empty(), "sessions ended while idle: {gone:?}");
    let fewest = peers.iter().map(|p| p.pings).min().unwrap_or(0);
    assert!(
        all_pinged,
        "after {PHASE_LIMIT:?} some session saw only {fewest} pings (want {PINGS})"
    );

    // Every session still echoes.
    for (i, p) in peers.iter_mut().enumerate() {
        match p.ws.send(Message::text(format!("still here {i}"))) {
            Ok(()) => {}
            Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => panic!("send on session {i}: {e}"),
        }
    }
    let echoed = sweep_until(&mut peers, |ps| {
        ps.iter().all(|p| p.ended.is_some() || !p.echoes.is_empty())
    });
    let gone = ended(&peers);
    assert!(
        gone.is_empty(),
        "sessions ended before their echo: {gone:?}"
    );
    assert!(echoed, "not every session echoed within {PHASE_LIMIT:?}");
    for (i, p) in peers.iter().enumerate() {
        assert_eq!(p.echoes, vec![format!("still here {i}")], "session {i}");
    }
    for mut p in peers {
        let _ = p.ws.close(None);
        let _ = p.ws.flush();
    }
}

#[test]
fn rfc6455_5_5_2_sessions_that_never_pong_are_closed_1001_after_the_pong_timeout() {
    let test = "rfc6455_5_5_2_sessions_that_never_pong_are_closed_1001_after_the_pong_timeout";
    if !nofile_or_skip(SILENT_SESSIONS as u64 + 512, test) {
        return;
    }
    let interval = Duration::from_secs(1);
    let pong_timeout = Duration::from_secs(2);
    let server: Server = crate::ws::start(
        "websocket_ping_interval = 1s\nwebsocket_pong_timeout = 2s\nmax_connections = 4096",
    );
    // Raw sockets: nothing ever answers the server's Ping.
    let mut socks = Vec::with_capacity(SILENT_SESSIONS);
    for _ in 0..SILENT_SESSIONS {
        // The server's idle clock starts at the upgrade, after the request left.
        let sent = Instant::now();
        let (s, _) = raw_upgrade(&server, b"");
        socks.push((s, sent));
    }
    for (i, (s, sent)) in socks.iter_mut().enumerate() {
        let (b0, payload) = read_frame(s).unwrap_or_else(|e| panic!("session {i}: no ping: {e}"));
        assert_eq!(b0, 0x89, "session {i}: first frame is a Ping with FIN");
        assert!(payload.len() <= 125);
        let (b0, payload) =
            read_frame(s).unwrap_or_else(|e| panic!("session {i}: no close after the ping: {e}"));
        let waited = sent.elapsed();
        assert_eq!(b0, 0x88, "session {i}: a Close follows the unanswered Ping");
        assert!(payload.len() >= 2, "session {i}: the Close carries a code");
        assert_eq!(
            u16::from_be_bytes([payload[0], payload[1]]),
            1001,
            "session {i}: going away (RFC 6455 §7.4.1)"
        );
        assert!(
            waited >= interval + pong_timeout,
            "session {i}: closed {waited:?} after the upgrade, before ping interval + pong timeout"
        );
    }
    // Then the server ends the TCP connection (after its close-handshake timeout,
    // as no Close comes back), within the read timeout.
    for (i, (s, _)) in socks.iter_mut().enumerate() {
        let mut rest = Vec::new();
        let r = std::io::Read::read_to_end(s, &mut rest);
        assert!(
            r.is_ok(),
            "session {i}: TCP not closed after the Close: {r:?}"
        );
        assert!(
            rest.is_empty(),
            "session {i}: data after the Close: {rest:?}"
        );
    }
}
