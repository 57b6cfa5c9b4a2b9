//! WebSocket echo server on tokio + tokio-tungstenite, written the way the
//! tokio-tungstenite README and its `echo-server` example do it: one task per
//! connection, `read.forward(write)` over the data messages. Used only by
//! bench/ws_echo.sh as the baseline carbond is compared with.
//!
//! Usage: ws-peer [--threads N] [--port P]
//!
//! Binds 127.0.0.1:P (0: an ephemeral port) and prints `listening on 127.0.0.1:PORT`.
//! `--threads` sets tokio's worker threads (default 1, to match carbond's
//! `max_threads = 1` in the benchmark). permessage-deflate is not offered:
//! tokio-tungstenite negotiates no extension, so every message travels as is.

use std::net::SocketAddr;

use futures_util::{future, StreamExt, TryStreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

fn main() {
    let mut threads = 1usize;
    let mut port = 0u16;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args.next().unwrap_or_default();
        match a.as_str() {
            "--threads" => threads = v.parse().unwrap_or_else(|_| usage()),
            "--port" => port = v.parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_io()
        .build()
        .unwrap_or_else(|e| fail(&format!("tokio runtime: {e}")));
    rt.block_on(serve(port));
}

fn usage() -> ! {
    fail("usage: ws-peer [--threads N] [--port P]")
}

fn fail(msg: &str) -> ! {
    eprintln!("ws-peer: {msg}");
    std::process::exit(2)
}

async fn serve(port: u16) {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .unwrap_or_else(|e| fail(&format!("bind: {e}")));
    let local = listener
        .local_addr()
        .unwrap_or_else(|e| fail(&format!("{e}")));
    println!("listening on {local}");
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(echo(stream));
            }
            Err(e) => eprintln!("ws-peer: accept: {e}"),
        }
    }
}

async fn echo(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    // The same message bound as carbond's default `websocket_max_message` (16 MiB).
    let mut config = WebSocketConfig::default();
    config.max_message_size = Some(16 << 20);
    config.max_frame_size = Some(16 << 20);
    let Ok(ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else {
        return;
    };
    let (write, read) = ws.split();
    // Pings are answered by tungstenite itself; only data messages are echoed.
    let _ = read
        .try_filter(|m| future::ready(m.is_text() || m.is_binary()))
        .forward(write)
        .await;
}
