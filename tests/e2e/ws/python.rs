//! permessage-deflate (RFC 7692) against Python `websockets`, an independent
//! implementation on zlib: compressed echo with each negotiated parameter.

use super::start;

fn have_websockets() -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import websockets.sync.client"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!(
            "SKIPPED: python3 with the `websockets` package is not installed \
             (pip install websockets); permessage-deflate is not checked end to end"
        );
    }
    ok
}

const SCRIPT: &str = r#"
import sys
from websockets.sync.client import connect
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
port, params = int(sys.argv[1]), sys.argv[2]
kw = {}
for p in params.split(",") if params else []:
    k, _, v = p.partition("=")
    kw[k] = int(v) if v else True
ext = [ClientPerMessageDeflateFactory(**kw)]
with connect(f"ws://127.0.0.1:{port}/echo", extensions=ext, max_size=None,
             open_timeout=20, close_timeout=20) as ws:
    print(ws.response.headers.get("Sec-WebSocket-Extensions", ""))
    msg = "compress me, compress me again " * 4000
    for _ in range(3):
        ws.send(msg)
        assert ws.recv(timeout=20) == msg
    data = bytes(range(256)) * 300
    ws.send(data)
    assert ws.recv(timeout=20) == data
    ws.close(1000)
    print("close", ws.close_code)
"#;

#[test]
fn rfc7692_compressed_echo_with_each_parameter() {
    if !have_websockets() {
        return;
    }
    let server = start("");
    for (params, expect) in [
        ("", "permessage-deflate"),
        (
            "server_no_context_takeover",
            "permessage-deflate; server_no_context_takeover",
        ),
        (
            "client_no_context_takeover",
            "permessage-deflate; client_no_context_takeover",
        ),
        (
            "server_max_window_bits=10",
            "permessage-deflate; server_max_window_bits=10",
        ),
        (
            "client_max_window_bits=9",
            "permessage-deflate; client_max_window_bits=9",
        ),
    ] {
        let out = std::process::Command::new("timeout")
            .args(["60", "python3", "-c", SCRIPT])
            .arg(server.port().to_string())
            .arg(params)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "python failed for {params:?}: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            server.output()
        );
        let out = String::from_utf8(out.stdout).unwrap();
        let mut lines = out.lines();
        assert_eq!(lines.next(), Some(expect), "{params}");
        assert_eq!(lines.next(), Some("close 1000"), "{params}");
    }
}
