//! The HTTP side of the endpoint: handshake refusals, plain requests to a WebSocket
//! path, and the statistics.

use std::io::{Read, Write};

use super::{connect, start, tcp, upgrade_request};
use crate::harness::parse_first;

#[test]
fn rfc6455_4_2_2_wrong_version_is_426_with_the_supported_version() {
    let server = start("");
    let mut s = tcp(&server);
    s.write_all(upgrade_request("/", "Sec-WebSocket-Version: 8\r\n").as_bytes())
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).unwrap();
    let resp = parse_first(&buf[..n]);
    assert_eq!(resp.status, 426);
    assert_eq!(resp.header("sec-websocket-version"), Some("13"));
}

#[test]
fn rfc6455_4_2_1_missing_key_is_400() {
    let server = start("");
    let mut s = tcp(&server);
    s.write_all(
        b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Version: 13\r\n\r\n",
    )
    .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).unwrap();
    assert_eq!(parse_first(&buf[..n]).status, 400);
}

#[test]
fn non_upgrade_get_to_a_websocket_path_is_served_normally() {
    let server = start("websocket_paths = /\n");
    let resp = server.get("/index.html", "");
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.body,
        std::fs::read(server.www().join("index.html")).unwrap()
    );
}

#[test]
fn upgrade_outside_websocket_paths_is_plain_http() {
    let server = start("websocket_paths = /chat\n");
    let mut s = tcp(&server);
    s.write_all(upgrade_request("/index.html", "Sec-WebSocket-Version: 13\r\n").as_bytes())
        .unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let n = s.read(&mut buf).unwrap();
    let resp = parse_first(&buf[..n]);
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&buf[..n]));
    assert!(!resp.header_has_token("connection", "upgrade"));
    let _ = connect(&server, "/chat");
}

#[test]
fn websocket_connections_are_counted_in_the_statistics() {
    let server = start("metrics_path = /metrics\n");
    let mut a = connect(&server, "/");
    let mut b = connect(&server, "/x");
    a.send(tungstenite::Message::text("x")).unwrap();
    a.read().unwrap();
    b.send(tungstenite::Message::text("y")).unwrap();
    b.read().unwrap();
    let metrics = server.get("/metrics", "").body_str();
    assert!(
        metrics.contains("carbon_websocket_connections_total 2"),
        "{metrics}"
    );
}
