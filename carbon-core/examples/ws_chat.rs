//! A broadcast chat room embedding carbon-core: every text a client sends over
//! WebSocket goes to every connected client, from any worker thread, through the
//! members' `WsSender`s. Everything else is served from `www/` (open
//! `http://127.0.0.1:8080/websocket.html` and connect from two tabs).
//!
//! Run from the repository root: `cargo run -p carbon-core --example ws_chat`
//! (an optional argument sets the port).

use std::sync::{Arc, Mutex};

use carbon_core::config::Config;
use carbon_core::driver::{Server, ServiceFactory};
use carbon_core::proto::ws::Message;
use carbon_core::service::files::{FileOptions, FileService};
use carbon_core::service::ws::{WebSocketService, WsContext, WsHandler, WsSender};
use carbon_core::service::Service;

/// The room: the senders of every open connection, shared by all workers.
type Members = Arc<Mutex<Vec<WsSender>>>;

struct Member {
    room: Members,
}

impl WsHandler for Member {
    fn on_open(&mut self, ws: &mut WsContext<'_>) {
        let mut room = self.room.lock().unwrap_or_else(|e| e.into_inner());
        // Connections that closed since are dropped here, so the list stays bounded
        // by the open connections.
        room.retain(|m| !m.is_closed());
        room.push(ws.sender());
        let _ = ws.send_text(&format!("welcome: {} in the room", room.len()));
    }

    fn on_message(&mut self, _ws: &mut WsContext<'_>, msg: Message) {
        let Message::Text(text) = msg else {
            return;
        };
        let room = self.room.lock().unwrap_or_else(|e| e.into_inner());
        for m in room.iter() {
            // A member whose mailbox is full misses this one (bounded queues).
            let _ = m.send_text(text.clone());
        }
    }
}

fn main() -> std::io::Result<()> {
    let port = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let cfg = Config {
        port,
        enable_websocket: true,
        ..Config::default()
    };
    let files = FileOptions::from_config(&cfg);
    let settings = cfg.websocket.clone();
    let room: Members = Arc::default();
    let server = Server::bind(Arc::new(cfg), None)?;
    for (_, addr) in server.local_addrs() {
        println!("chat room on ws://{addr}/ (test page: http://{addr}/websocket.html)");
    }
    let factory: ServiceFactory = Arc::new(move |_worker| {
        let room = room.clone();
        let svc = WebSocketService::new(
            FileService::new(files.clone())?,
            settings.clone(),
            Arc::new(move |_req| Box::new(Member { room: room.clone() }) as Box<dyn WsHandler>),
        );
        Ok(Box::new(svc) as Box<dyn Service>)
    });
    server.run(factory)
}
