//! Graceful stop: open sessions get a Close 1001 "going away" (RFC 6455 §7.4.1),
//! so browsers report a clean close.

use std::time::Duration;

use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::Message;

use super::{connect, start};

#[test]
fn rfc6455_7_4_1_sigterm_closes_open_sessions_with_1001() {
    let mut server = start("");
    let mut ws = connect(&server, "/");
    ws.send(Message::text("before")).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("before"));
    server.signal("TERM");
    let mut code = None;
    loop {
        match ws.read() {
            Ok(Message::Close(f)) => code = f.map(|f| f.code),
            Ok(other) => panic!("unexpected {other:?}"),
            Err(tungstenite::Error::ConnectionClosed) => break,
            Err(e) => panic!("read after SIGTERM: {e}"),
        }
    }
    assert_eq!(code, Some(CloseCode::Away));
    let status = server.wait_exit(Duration::from_secs(15));
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
}
