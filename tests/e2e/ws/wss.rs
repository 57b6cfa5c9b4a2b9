//! wss://: the same endpoint through TLS, with a rustls client trusting exactly the
//! daemon's certificate and tungstenite on top.

use std::net::TcpStream;
use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::{ClientConnection, StreamOwned};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::CloseFrame;
use tungstenite::Message;

use super::WS_TIMEOUT;
use crate::tls::TlsServer;

#[test]
fn rfc6455_wss_echo_over_tls_and_clean_close() {
    let tls = TlsServer::start("enable_websocket = true\n");
    let cfg = Arc::new(tls.client(rustls::DEFAULT_VERSIONS));
    let sock = TcpStream::connect(tls.https_addr()).unwrap();
    sock.set_read_timeout(Some(WS_TIMEOUT)).unwrap();
    sock.set_write_timeout(Some(WS_TIMEOUT)).unwrap();
    let conn = ClientConnection::new(cfg, ServerName::try_from("localhost").unwrap()).unwrap();
    let stream = StreamOwned::new(conn, sock);
    let url = format!("wss://localhost:{}/echo", tls.https_port);
    let (mut ws, resp) = tungstenite::client::client(url, stream)
        .unwrap_or_else(|e| panic!("wss handshake: {e}\n{}", tls.server.output()));
    assert_eq!(resp.status(), 101);
    for len in [0usize, 125, 126, 65_535, 65_536, 1024 * 1024] {
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        ws.send(Message::binary(data.clone())).unwrap();
        match ws.read().unwrap() {
            Message::Binary(b) => assert!(b[..] == data[..], "wss echo of {len} bytes"),
            other => panic!("{len}: got {other:?}"),
        }
    }
    ws.send(Message::text("über TLS")).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("über TLS"));
    ws.close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    }))
    .unwrap();
    let mut echoed = None;
    loop {
        match ws.read() {
            Ok(Message::Close(f)) => echoed = f.map(|f| f.code),
            Ok(_) => {}
            Err(tungstenite::Error::ConnectionClosed) => break,
            // The server may end TLS with close_notify or just the TCP close.
            Err(tungstenite::Error::Io(_)) => break,
            Err(e) => panic!("after close: {e}"),
        }
    }
    assert_eq!(echoed, Some(CloseCode::Normal));
}
