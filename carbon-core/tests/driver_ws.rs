//! WebSocket through the driver as a library user meets it: a handler of our own
//! behind `WebSocketService`, on an ephemeral port. Frames sent from another thread
//! through `WsSender` reach the client, which proves the driver's wake hook
//! (`mio::Waker` plus the worker's wake list) is wired; a broadcast from one
//! connection's handler reaches another connection on the same worker.

// A test: an unwrap that fails is a test failure with its message.
#![allow(clippy::unwrap_used)]
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use carbon_core::config::Config;
use carbon_core::driver::{Server, ServiceFactory};
use carbon_core::proto::ws::Message;
use carbon_core::service::ws::{WebSocketService, WsContext, WsHandler, WsSender};
use carbon_core::service::{error_response, Request, RequestContext, Response, Service};

struct NotFound;

impl Service for NotFound {
    fn call(&mut self, _req: &Request, _ctx: &RequestContext) -> Response {
        error_response(http::StatusCode::NOT_FOUND)
    }
}

/// On open: registers its sender and starts a thread that sends three texts. On a
/// message: sends it to every registered connection (a chat room).
struct Room {
    members: Arc<Mutex<Vec<WsSender>>>,
}

impl WsHandler for Room {
    fn on_open(&mut self, ws: &mut WsContext<'_>) {
        let sender = ws.sender();
        self.members.lock().unwrap().push(sender.clone());
        std::thread::spawn(move || {
            for i in 0..3 {
                std::thread::sleep(Duration::from_millis(20));
                sender.send_text(format!("tick {i}")).unwrap();
            }
        });
    }

    fn on_message(&mut self, _ws: &mut WsContext<'_>, msg: Message) {
        if let Message::Text(t) = msg {
            for m in self.members.lock().unwrap().iter() {
                let _ = m.send_text(format!("room: {t}"));
            }
        }
    }
}

fn connect(addr: std::net::SocketAddr) -> tungstenite::WebSocket<TcpStream> {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let (ws, resp) = tungstenite::client::client(format!("ws://{addr}/room"), s).unwrap();
    assert_eq!(resp.status(), 101);
    ws
}

fn text(ws: &mut tungstenite::WebSocket<TcpStream>) -> String {
    match ws.read().unwrap() {
        tungstenite::Message::Text(t) => t.as_str().to_string(),
        other => panic!("expected text, got {other:?}"),
    }
}

#[test]
fn wssender_from_other_threads_reaches_clients_through_the_worker_waker() {
    let cfg = Config {
        port: 0,
        max_threads: 1,
        access_log: None,
        enable_websocket: true,
        ..Config::default()
    };
    let settings = cfg.websocket.clone();
    let server = Server::bind(Arc::new(cfg), None).unwrap();
    let addr = server.local_addrs()[0].1;
    let handle = server.handle();
    let members = Arc::new(Mutex::new(Vec::new()));
    let factory: ServiceFactory = Arc::new(move |_| {
        let members = members.clone();
        Ok(Box::new(WebSocketService::new(
            NotFound,
            settings.clone(),
            Arc::new(move |_| {
                Box::new(Room {
                    members: members.clone(),
                }) as Box<dyn WsHandler>
            }),
        )) as Box<dyn Service>)
    });
    let runner = std::thread::spawn(move || server.run(factory));

    let mut a = connect(addr);
    for i in 0..3 {
        assert_eq!(text(&mut a), format!("tick {i}"));
    }
    let mut b = connect(addr);
    for i in 0..3 {
        assert_eq!(text(&mut b), format!("tick {i}"));
    }
    // A's message is broadcast to both, through each one's mailbox.
    a.send(tungstenite::Message::text("hi")).unwrap();
    assert_eq!(text(&mut a), "room: hi");
    assert_eq!(text(&mut b), "room: hi");

    handle.shutdown();
    // Shutdown closes both sessions with 1001 (RFC 6455 §7.4.1).
    for ws in [&mut a, &mut b] {
        match ws.read() {
            Ok(tungstenite::Message::Close(Some(f))) => assert_eq!(u16::from(f.code), 1001),
            other => panic!("expected Close 1001, got {other:?}"),
        }
        // Sends tungstenite's answering Close, so the server need not wait for its
        // close timeout.
        let _ = ws.flush();
    }
    runner.join().unwrap().unwrap();
}
