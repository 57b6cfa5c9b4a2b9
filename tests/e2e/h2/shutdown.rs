//! Graceful shutdown over HTTP/2 (RFC 9113 §6.8): SIGTERM while a large download
//! runs; the server sends GOAWAY, the stream in flight completes whole, then the
//! daemon exits.

use std::time::Duration;

use super::{connect_h2c, rt, start, ClientOpts};

#[test]
fn rfc9113_6_8_sigterm_lets_the_download_in_flight_finish() {
    let mut s = start("shutdown_timeout = 30s\nfile_cache_max_file = 0");
    let big: Vec<u8> = (0..8 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_246_822_519) >> 11) as u8)
        .collect();
    std::fs::write(s.server.www().join("eight.bin"), &big).unwrap();
    let addr = s.server.addr();
    let auth = super::h2c_authority(&s.server);
    let runtime = rt();
    let (got, after_goaway) = runtime.block_on(async {
        // A 64 KiB window: the server can only send as fast as we release capacity.
        let opts = ClientOpts {
            stream_window: 65_535,
            conn_window: 65_535,
        };
        let send = connect_h2c(addr, opts).await;
        let req = http::Request::get(format!("{auth}/eight.bin"))
            .body(())
            .unwrap();
        let mut ready = send.ready().await.unwrap();
        let (resp, _) = ready.send_request(req, true).unwrap();
        let resp = resp.await.unwrap();
        assert_eq!(resp.status(), 200);
        let mut body = resp.into_body();
        let mut got = Vec::new();
        let mut signalled = false;
        while let Some(chunk) = tokio::time::timeout(Duration::from_secs(20), body.data())
            .await
            .unwrap()
        {
            let chunk = chunk.unwrap();
            got.extend_from_slice(&chunk);
            if !signalled && got.len() >= 256 * 1024 {
                s.server.signal("TERM");
                signalled = true;
                // Give the server time to send its GOAWAY before we open the window.
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            body.flow_control().release_capacity(chunk.len()).unwrap();
        }
        // A new stream on the same connection is refused after the final GOAWAY.
        let req = http::Request::get(format!("{auth}/")).body(()).unwrap();
        let after = match ready.clone().ready().await {
            Ok(mut r) => match r.send_request(req, true) {
                Ok((resp, _)) => resp.await.is_err(),
                Err(_) => true,
            },
            Err(_) => true,
        };
        (got, after)
    });
    assert_eq!(got.len(), big.len(), "download cut short by the shutdown");
    assert!(got == big, "download corrupted");
    assert!(after_goaway, "a stream opened after GOAWAY was served");
    let st = s.server.wait_exit(Duration::from_secs(10));
    assert!(
        st.is_some_and(|st| st.success()),
        "carbond did not exit cleanly after the streams finished: {st:?}"
    );
}
