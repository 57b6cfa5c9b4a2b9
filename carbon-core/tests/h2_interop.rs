//! The HTTP/2 engine against an independent client: the `h2` crate, over an in-memory
//! pipe. A small loop plays the driver (feeds bytes, answers events, writes the
//! output, file regions included). Checks that a real client's HPACK, flow control
//! and stream handling agree with ours: concurrent streams, a large body through the
//! default 64 KiB window, an upload larger than the window, a file body.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use carbon_core::limits::Http2Limits;
use carbon_core::proto::h2::{Event, H2Conn};
use carbon_core::proto::out::Chunk;
use carbon_core::service::{error_response, Body, FileRegion, Request, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 249) as u8).collect()
}

fn answer(req: &Request, file: &Arc<std::fs::File>, file_len: u64) -> Response {
    let body = match req.uri().path() {
        "/big" => Body::Bytes(Bytes::from(pattern(1 << 20))),
        "/file" => Body::File(FileRegion {
            file: file.clone(),
            offset: 0,
            len: file_len,
        }),
        "/echo" => Body::Bytes(req.body().clone()),
        p => Body::Bytes(Bytes::from(format!("hello {p}"))),
    };
    http::Response::new(body)
}

/// The driver stand-in: runs until the engine closes.
async fn serve(mut io: DuplexStream, file: Arc<std::fs::File>, file_len: u64) {
    let mut conn = H2Conn::new(Http2Limits::default(), Instant::now());
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let now = Instant::now();
        loop {
            let q = conn.poll_transmit(now);
            let Some(chunk) = q.front().cloned() else {
                break;
            };
            let written = match &chunk {
                Chunk::Bytes(b) => io.write_all(b).await,
                Chunk::File(f) => {
                    let mut v = vec![0; f.len as usize];
                    f.file.read_exact_at(&mut v, f.offset).unwrap();
                    io.write_all(&v).await
                }
            };
            if written.is_err() {
                // The client closed the pipe (after its GOAWAY): nothing more to do.
                return;
            }
            q.advance(chunk.len());
        }
        conn.handle_output_drained(now);
        if conn.is_closed() {
            return;
        }
        let n = io.read(&mut buf).await.unwrap_or(0);
        if n == 0 {
            conn.handle_read_closed(now);
        } else {
            conn.handle_input(now, &buf[..n]);
        }
        while let Some(ev) = conn.poll_event() {
            match ev {
                Event::Request { stream_id, request } => {
                    if request.uri().path() == "/shutdown" {
                        conn.start_shutdown(now);
                    }
                    let resp = answer(&request, &file, file_len);
                    conn.send_response(now, stream_id, resp);
                }
                Event::Reject { stream_id, status } => {
                    conn.send_response(now, stream_id, error_response(status))
                }
                Event::StreamReset { .. } => {}
            }
        }
        if n == 0 && conn.poll_transmit(now).is_empty() && !conn.is_closed() {
            return;
        }
    }
}

async fn body_of(resp: http::Response<h2::RecvStream>) -> (u16, Vec<u8>) {
    let status = resp.status().as_u16();
    let mut body = resp.into_body();
    let mut out = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.unwrap();
        // The client's WINDOW_UPDATEs: without them a body over 64 KiB would stall.
        body.flow_control().release_capacity(chunk.len()).unwrap();
        out.extend_from_slice(&chunk);
    }
    (status, out)
}

fn setup() -> (DuplexStream, tokio::task::JoinHandle<()>, Vec<u8>) {
    let content = pattern(300_000);
    let mut f = tempfile::tempfile().unwrap();
    f.write_all(&content).unwrap();
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let server = tokio::spawn(serve(server_io, Arc::new(f), content.len() as u64));
    (client_io, server, content)
}

fn get(path: &str) -> http::Request<()> {
    http::Request::builder()
        .uri(format!("https://example.com{path}"))
        .body(())
        .unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn h2_crate_client_100_concurrent_streams() {
    let (io, server, _) = setup();
    let (client, conn) = h2::client::handshake(io).await.unwrap();
    let conn_task = tokio::spawn(async move { conn.await.unwrap() });
    let mut pending = Vec::new();
    for i in 0..100 {
        let mut c = client.clone().ready().await.unwrap();
        let (resp, _) = c.send_request(get(&format!("/s{i}")), true).unwrap();
        pending.push((i, resp));
    }
    for (i, resp) in pending {
        let (status, body) = body_of(resp.await.unwrap()).await;
        assert_eq!(status, 200);
        assert_eq!(body, format!("hello /s{i}").into_bytes());
    }
    drop(client);
    conn_task.await.unwrap();
    server.await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn h2_crate_client_large_bodies_through_the_default_window() {
    let (io, server, file_content) = setup();
    let (client, conn) = h2::client::handshake(io).await.unwrap();
    let conn_task = tokio::spawn(async move { conn.await.unwrap() });
    // The connection ends once every handle on it is gone: `c` lives in the block.
    let (big, file) = {
        let mut c = client.clone().ready().await.unwrap();
        let (big, _) = c.send_request(get("/big"), true).unwrap();
        let mut c = c.ready().await.unwrap();
        let (file, _) = c.send_request(get("/file"), true).unwrap();
        (big, file)
    };
    // Read both at once: a body left unread holds the client's connection window.
    let ((s1, b1), (s2, b2)) = tokio::join!(async { body_of(big.await.unwrap()).await }, async {
        body_of(file.await.unwrap()).await
    });
    assert_eq!((s1, s2), (200, 200));
    assert_eq!(b1, pattern(1 << 20));
    assert_eq!(b2, file_content);
    drop(client);
    conn_task.await.unwrap();
    server.await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn h2_crate_client_upload_larger_than_the_initial_window() {
    let (io, server, _) = setup();
    let (client, conn) = h2::client::handshake(io).await.unwrap();
    let conn_task = tokio::spawn(async move { conn.await.unwrap() });
    let mut c = client.clone().ready().await.unwrap();
    let req = http::Request::builder()
        .method("POST")
        .uri("https://example.com/echo")
        .body(())
        .unwrap();
    let (resp, mut send) = c.send_request(req, false).unwrap();
    let upload = pattern(200_000);
    send.send_data(Bytes::from(upload.clone()), true).unwrap();
    drop((c, send));
    let (status, body) = body_of(resp.await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(body, upload);
    drop(client);
    conn_task.await.unwrap();
    server.await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn h2_crate_client_sees_graceful_shutdown_and_in_flight_streams_finish() {
    let (io, server, _) = setup();
    let (client, conn) = h2::client::handshake(io).await.unwrap();
    let conn_task = tokio::spawn(conn);
    let (big, stop) = {
        let mut c = client.clone().ready().await.unwrap();
        let (big, _) = c.send_request(get("/big"), true).unwrap();
        let mut c = c.ready().await.unwrap();
        let (stop, _) = c.send_request(get("/shutdown"), true).unwrap();
        (big, stop)
    };
    let ((s1, b1), (s2, b2)) = tokio::join!(async { body_of(big.await.unwrap()).await }, async {
        body_of(stop.await.unwrap()).await
    });
    assert_eq!((s1, s2), (200, 200));
    assert_eq!(b1.len(), 1 << 20, "the stream in flight finished");
    assert_eq!(b2, b"hello /shutdown");
    // The engine closed after its final GOAWAY: the connection ends without error,
    // and no new request can be sent on it.
    server.await.unwrap();
    let ended = conn_task.await.unwrap();
    assert!(ended.is_ok(), "{ended:?}");
    let after = client.clone().ready().await;
    assert!(after.is_err() || after.unwrap().send_request(get("/late"), true).is_err());
}
