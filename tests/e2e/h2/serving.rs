//! Files over HTTP/2 behave exactly as over HTTP/1.1: same bytes, ranges, 304,
//! gzip, HEAD; many streams on one connection; a large file under a small window.

use std::time::Duration;

use super::{
    connect_h2c, connect_tls, fetch, h2c_authority, rt, start, tls_authority, ClientOpts,
    EXCHANGE_TIMEOUT,
};
use crate::harness::{app_js_gz, big_bin, gunzip, style_css};

/// Every fixture, fetched over HTTP/1.1, h2c and h2 over TLS, byte for byte equal,
/// with the same fields: each path is fetched twice per connection, so the second
/// answer's fields come from the HPACK encoder's memory of the file's template.
#[test]
fn h2_and_h2c_bodies_and_fields_are_identical_to_http11() {
    let s = start("");
    let paths = [
        "/",
        "/index.html",
        "/style.css",
        "/app.js",
        "/big.bin",
        "/sub/",
    ];
    let h1: Vec<_> = paths.iter().map(|p| s.server.get(p, "")).collect();
    let (h2c, h2) = rt().block_on(async {
        let mut a = connect_h2c(s.server.addr(), Default::default()).await;
        let mut b = connect_tls(&s, Default::default()).await;
        let mut h2c = Vec::new();
        let mut h2 = Vec::new();
        for _ in 0..2 {
            for p in paths {
                h2c.push(fetch(&mut a, "GET", &h2c_authority(&s.server), p, &[]).await);
                h2.push(fetch(&mut b, "GET", &tls_authority(&s), p, &[]).await);
            }
        }
        (h2c, h2)
    });
    // RFC 9113 §8.2.2: no connection-specific field over HTTP/2; `date` may have
    // moved on by a second.
    let comparable = |name: &str| !matches!(name, "connection" | "keep-alive" | "date");
    for (k, (a, b)) in h2c.iter().zip(&h2).enumerate() {
        let (i, p) = (k % paths.len(), paths[k % paths.len()]);
        assert_eq!(h1[i].status, 200, "{p}");
        assert_eq!(a.status, h1[i].status, "{p}");
        assert_eq!(b.status, h1[i].status, "{p}");
        assert!(a.body == h1[i].body, "h2c body of {p} differs");
        assert!(b.body == h1[i].body, "h2 body of {p} differs");
        let mut want: Vec<(String, String)> = h1[i]
            .headers
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
            .filter(|(n, _)| comparable(n))
            .collect();
        want.sort();
        for (proto, got) in [("h2c", a), ("h2", b)] {
            assert!(got.header("date").is_some(), "{proto} {p}: no date");
            // HSTS is sent over TLS only (RFC 6797 §7.2), and the HTTP/1.1 fetch is plain.
            let tls = proto == "h2";
            assert_eq!(got.header("strict-transport-security").is_some(), tls);
            let mut fields: Vec<(String, String)> = got
                .headers
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str().to_string(),
                        v.to_str().unwrap_or("?").to_string(),
                    )
                })
                .filter(|(n, _)| comparable(n) && n != "strict-transport-security")
                .collect();
            fields.sort();
            assert_eq!(fields, want, "{proto} {p} (round {})", k / paths.len());
        }
    }
}

#[test]
fn rfc9113_5_1_2_hundred_concurrent_streams_on_one_connection() {
    let s = start("");
    let results = rt().block_on(async {
        let send = connect_h2c(s.server.addr(), Default::default()).await;
        let auth = h2c_authority(&s.server);
        let mut tasks = Vec::new();
        for i in 0..100 {
            let mut send = send.clone();
            let auth = auth.clone();
            let path = if i % 2 == 0 { "/style.css" } else { "/big.bin" };
            tasks.push(tokio::spawn(async move {
                (path, fetch(&mut send, "GET", &auth, path, &[]).await)
            }));
        }
        let mut out = Vec::new();
        for t in tasks {
            out.push(
                tokio::time::timeout(EXCHANGE_TIMEOUT, t)
                    .await
                    .unwrap()
                    .unwrap(),
            );
        }
        out
    });
    assert_eq!(results.len(), 100);
    for (path, r) in results {
        assert_eq!(r.status, 200, "{path}");
        let want: &[u8] = if path == "/style.css" {
            style_css().as_bytes()
        } else {
            big_bin()
        };
        assert!(r.body == want, "{path} body differs");
    }
}

#[test]
fn rfc9113_6_9_ten_mib_file_through_a_64k_window_over_tls() {
    let s = start("file_cache_max_file = 0");
    let big: Vec<u8> = (0..10 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(s.server.www().join("ten.bin"), &big).unwrap();
    let opts = ClientOpts {
        stream_window: 65_535,
        conn_window: 65_535,
    };
    let r = rt().block_on(async {
        let mut send = connect_tls(&s, opts).await;
        tokio::time::timeout(
            Duration::from_secs(60),
            fetch(&mut send, "GET", &tls_authority(&s), "/ten.bin", &[]),
        )
        .await
        .unwrap()
    });
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), big.len());
    assert!(r.body == big, "10 MiB body differs");
    // And over h2c, where the frames are gathered into large writes.
    let r = rt().block_on(async {
        let mut send = connect_h2c(s.server.addr(), opts).await;
        fetch(&mut send, "GET", &h2c_authority(&s.server), "/ten.bin", &[]).await
    });
    assert!(r.body == big, "10 MiB h2c body differs");
}

/// h2c sends file bytes straight from a mapping of the file (`driver/sys/mapped.rs`),
/// TLS reads them with `pread`. A file truncated mid-download must end that download
/// with an error on both, never kill the worker (a process touching the lost pages
/// gets `SIGBUS`) nor send bytes that are not the file's (a mapped page reads as zeros
/// after a new end of file); the server serves on.
#[test]
fn file_truncated_mid_download_ends_that_download_and_the_server_serves_on() {
    let s = start("file_cache_max_file = 0");
    let big: Vec<u8> = (0..4 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8)
        .collect();
    let path = s.server.www().join("shrinks.bin");
    // Past what the client can have read (the windows below), inside a page that a
    // DATA frame ends on: without the cut at the file's size, that frame would
    // arrive whole with zeros after the new end.
    const NEW_END: usize = 1024 * 1024 - 100;
    // Windows of 64 KiB: the server cannot be far ahead of what the client read.
    let opts = ClientOpts {
        stream_window: 65_535,
        conn_window: 65_535,
    };
    for tls in [false, true] {
        std::fs::write(&path, &big).unwrap();
        let got = rt().block_on(async {
            let send = if tls {
                connect_tls(&s, opts).await
            } else {
                connect_h2c(s.server.addr(), opts).await
            };
            let authority = if tls {
                tls_authority(&s)
            } else {
                h2c_authority(&s.server)
            };
            let req = http::Request::get(format!("{authority}/shrinks.bin"))
                .body(())
                .unwrap();
            let (resp, _) = send.ready().await.unwrap().send_request(req, true).unwrap();
            let mut body = resp.await.unwrap().into_body();
            let mut got = body.data().await.unwrap().unwrap().to_vec();
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .unwrap()
                .set_len(NEW_END as u64)
                .unwrap();
            body.flow_control().release_capacity(got.len()).unwrap();
            let rest = async {
                loop {
                    match body.data().await {
                        Some(Ok(chunk)) => {
                            body.flow_control().release_capacity(chunk.len()).unwrap();
                            got.extend_from_slice(&chunk);
                        }
                        Some(Err(_)) => return true,
                        None => return false,
                    }
                }
            };
            let failed = tokio::time::timeout(EXCHANGE_TIMEOUT, rest).await.unwrap();
            (got, failed)
        });
        let (got, failed) = got;
        assert!(failed, "tls {tls}: the download must end in an error");
        assert!(got.len() <= NEW_END, "tls {tls}: {} bytes", got.len());
        assert!(
            got[..] == big[..got.len()],
            "tls {tls}: bytes not the file's"
        );
        // The worker lives: a new connection is served.
        let r = rt().block_on(async {
            let mut send = connect_h2c(s.server.addr(), Default::default()).await;
            fetch(
                &mut send,
                "GET",
                &h2c_authority(&s.server),
                "/style.css",
                &[],
            )
            .await
        });
        assert_eq!(r.status, 200, "tls {tls}");
        assert!(r.body == style_css().as_bytes());
    }
}

/// h2c gathers many DATA frames of several streams into one write
/// (`transport.rs`): concurrent large downloads and ranges on one connection, with
/// windows large enough that frames of different streams share a write, must still
/// arrive byte for byte, each stream's bytes in its own order.
#[test]
fn rfc9113_5_h2c_concurrent_large_downloads_and_ranges_arrive_byte_identical() {
    let s = start("");
    let files: Vec<(String, Vec<u8>)> = (0..3u32)
        .map(|k| {
            let body: Vec<u8> = (0..3 * 1024 * 1024 + 777 * k)
                .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(k) >> 11) as u8)
                .collect();
            let name = format!("/large{k}.bin");
            std::fs::write(s.server.www().join(&name[1..]), &body).unwrap();
            (name, body)
        })
        .collect();
    let opts = ClientOpts {
        stream_window: 8 * 1024 * 1024,
        conn_window: 32 * 1024 * 1024,
    };
    let results = rt().block_on(async {
        let send = connect_h2c(s.server.addr(), opts).await;
        let auth = h2c_authority(&s.server);
        let mut tasks = Vec::new();
        for round in 0..2 {
            for (name, _) in &files {
                let (mut send, auth, name) = (send.clone(), auth.clone(), name.clone());
                tasks.push(tokio::spawn(async move {
                    let range = (round == 1).then_some(("range", "bytes=100000-2100000"));
                    let headers: Vec<_> = range.into_iter().collect();
                    (
                        name.clone(),
                        round,
                        fetch(&mut send, "GET", &auth, &name, &headers).await,
                    )
                }));
            }
        }
        let mut out = Vec::new();
        for t in tasks {
            let r = tokio::time::timeout(Duration::from_secs(60), t).await;
            out.push(r.unwrap().unwrap());
        }
        out
    });
    assert_eq!(results.len(), 6);
    for (name, round, r) in results {
        let want = &files.iter().find(|(n, _)| *n == name).unwrap().1;
        if round == 0 {
            assert_eq!(r.status, 200, "{name}");
            assert_eq!(r.body.len(), want.len(), "{name}");
            assert!(r.body == *want, "{name} body differs");
        } else {
            assert_eq!(r.status, 206, "{name}");
            assert!(
                r.body[..] == want[100_000..=2_100_000],
                "{name} range differs"
            );
        }
    }
}

#[test]
fn rfc9110_14_range_request_over_h2_gets_206_with_the_same_bytes() {
    let s = start("");
    let r = rt().block_on(async {
        let mut send = connect_tls(&s, Default::default()).await;
        fetch(
            &mut send,
            "GET",
            &tls_authority(&s),
            "/big.bin",
            &[("range", "bytes=1000-1999")],
        )
        .await
    });
    assert_eq!(r.status, 206);
    assert_eq!(r.header("content-range"), Some("bytes 1000-1999/1048576"));
    assert!(r.body == big_bin()[1000..2000]);
}

#[test]
fn rfc9110_13_1_2_if_none_match_over_h2_gets_304_without_body() {
    let s = start("");
    let (first, second) = rt().block_on(async {
        let mut send = connect_h2c(s.server.addr(), Default::default()).await;
        let auth = h2c_authority(&s.server);
        let first = fetch(&mut send, "GET", &auth, "/style.css", &[]).await;
        let etag = first.header("etag").unwrap().to_string();
        let second = fetch(
            &mut send,
            "GET",
            &auth,
            "/style.css",
            &[("if-none-match", &etag)],
        )
        .await;
        (first, second)
    });
    assert_eq!(first.status, 200);
    assert_eq!(second.status, 304);
    assert!(second.body.is_empty());
    assert_eq!(second.header("etag"), first.header("etag"));
}

#[test]
fn gzip_variants_over_h2_on_the_fly_and_precompressed() {
    let s = start("");
    let (css, js) = rt().block_on(async {
        let mut send = connect_tls(&s, Default::default()).await;
        let auth = tls_authority(&s);
        let gz = [("accept-encoding", "gzip")];
        (
            fetch(&mut send, "GET", &auth, "/style.css", &gz).await,
            fetch(&mut send, "GET", &auth, "/app.js", &gz).await,
        )
    });
    assert_eq!(css.header("content-encoding"), Some("gzip"));
    assert_eq!(gunzip(&css.body), style_css().as_bytes());
    assert_eq!(js.header("content-encoding"), Some("gzip"));
    assert!(
        js.body == app_js_gz(),
        "precompressed app.js.gz not served as is"
    );
}

#[test]
fn rfc9110_9_3_2_head_over_h2_has_length_and_no_body() {
    let s = start("");
    let r = rt().block_on(async {
        let mut send = connect_h2c(s.server.addr(), Default::default()).await;
        fetch(
            &mut send,
            "HEAD",
            &h2c_authority(&s.server),
            "/big.bin",
            &[],
        )
        .await
    });
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("1048576"));
    assert!(r.body.is_empty());
}

#[test]
fn missing_file_over_h2_gets_the_same_404_as_http11() {
    let s = start("");
    let h1 = s.server.get("/nope.html", "");
    let r = rt().block_on(async {
        let mut send = connect_tls(&s, Default::default()).await;
        fetch(&mut send, "GET", &tls_authority(&s), "/nope.html", &[]).await
    });
    assert_eq!(r.status, 404);
    assert_eq!(r.body, h1.body);
}

/// Each stream gets its access-log line like an HTTP/1.1 request, with `HTTP/2.0`.
#[test]
fn access_log_line_per_stream_with_http2_version() {
    let mut s = start("access_log = {base}/access.log");
    rt().block_on(async {
        let mut a = connect_h2c(s.server.addr(), Default::default()).await;
        let mut b = connect_tls(&s, Default::default()).await;
        let ua = [("user-agent", "e2e-h2/1.0")];
        let r = fetch(&mut a, "GET", &h2c_authority(&s.server), "/style.css", &ua).await;
        assert_eq!(r.status, 200);
        let r = fetch(&mut b, "GET", &tls_authority(&s), "/missing", &ua).await;
        assert_eq!(r.status, 404);
    });
    s.server.signal("TERM");
    let st = s.server.wait_exit(Duration::from_secs(10));
    assert!(st.is_some_and(|st| st.success()), "exit {st:?}");
    let log = std::fs::read_to_string(s.server.base().join("access.log")).unwrap();
    let css = format!(
        "\"GET /style.css HTTP/2.0\" 200 {} \"-\" \"e2e-h2/1.0\"",
        style_css().len()
    );
    assert!(
        log.lines().any(|l| l.ends_with(&css)),
        "{css} not in:\n{log}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("\"GET /missing HTTP/2.0\" 404 ") && l.ends_with("\"e2e-h2/1.0\"")),
        "{log}"
    );
}
