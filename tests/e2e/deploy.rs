//! Deploy-safe behaviour: validators that survive copies and redeploys, and a document
//! root that follows an atomic symlink switch.

use std::os::unix::fs::MetadataExt;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use crate::harness::*;

/// `cp -a`: copies the tree with its mtimes (new inodes, as on another host).
fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .expect("run cp");
    assert!(status.success(), "cp -a failed");
}

#[test]
fn rfc9110_8_8_3_etags_equal_across_instances_serving_copies_of_one_tree() {
    let a = Server::start("");
    let copy = tempfile::tempdir().unwrap();
    let www_b = copy.path().join("www");
    copy_tree(&a.www(), &www_b);
    let b = Server::start(&format!("www_path = {}", www_b.display()));
    for (path, accept) in [
        ("/index.html", ""),
        ("/style.css", ""),
        ("/big.bin", ""),
        ("/style.css", "Accept-Encoding: gzip\r\n"),
        ("/app.js", "Accept-Encoding: gzip\r\n"),
    ] {
        // Same content but a different inode: what a second host or a redeploy has.
        let name = path.trim_start_matches('/');
        let (ia, ib) = (
            std::fs::metadata(a.www().join(name)).unwrap().ino(),
            std::fs::metadata(www_b.join(name)).unwrap().ino(),
        );
        assert_ne!(ia, ib, "{path}: the copy should have its own inode");
        let ra = a.get(path, accept);
        let rb = b.get(path, accept);
        assert_eq!((ra.status, rb.status), (200, 200), "{path}");
        assert_eq!(ra.body, rb.body, "{path} {accept:?}");
        let (ea, eb) = (ra.header("etag"), rb.header("etag"));
        assert!(ea.is_some(), "{path}: no ETag");
        assert_eq!(ea, eb, "{path} {accept:?}: ETags differ across instances");
        // And each instance revalidates the other's tag.
        let tag = ea.unwrap();
        let r = b.get(path, &format!("{accept}If-None-Match: {tag}\r\n"));
        assert_eq!(r.status, 304, "{path} {accept:?}");
    }
}

/// One request of the swap test: when it was sent (since the test began), its status
/// and body.
struct Sample {
    sent: Duration,
    status: u16,
    body: String,
}

#[test]
fn symlinked_www_path_follows_an_atomic_switch_without_404_or_stale_files() {
    // The deploy pattern: `www_path = .../current`, `current -> releases/rN`, switched
    // with `ln -sfn releases/r2 current.tmp && mv -T current.tmp current`.
    let site = tempfile::tempdir().unwrap();
    let releases = site.path().join("releases");
    for (name, text) in [("r1", "release one\n"), ("r2", "release two\n")] {
        std::fs::create_dir_all(releases.join(name)).unwrap();
        std::fs::write(releases.join(name).join("page.txt"), text).unwrap();
        std::fs::write(releases.join(name).join("index.html"), text).unwrap();
    }
    let current = site.path().join("current");
    std::os::unix::fs::symlink("releases/r1", &current).unwrap();
    let s = Server::start(&format!("www_path = {}", current.display()));
    assert_eq!(s.get("/page.txt", "").body_str(), "release one\n");

    let begin = Instant::now();
    let addr = s.addr();
    // Bounded load: at most 2,000 requests or 6 s, from two client threads.
    let clients: Vec<_> = (0..2)
        .map(|_| {
            thread::spawn(move || {
                let mut samples = Vec::new();
                while samples.len() < 1000 && begin.elapsed() < Duration::from_secs(6) {
                    let sent = begin.elapsed();
                    let mut c = Conn::connect(addr);
                    c.send(
                        b"GET /page.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                    );
                    let r = c.response();
                    samples.push(Sample {
                        sent,
                        status: r.status,
                        body: r.body_str(),
                    });
                    thread::sleep(Duration::from_millis(5));
                }
                samples
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(1500));
    let tmp = site.path().join("current.tmp");
    std::os::unix::fs::symlink("releases/r2", &tmp).unwrap();
    std::fs::rename(&tmp, &current).unwrap();
    let switched = begin.elapsed();
    let samples: Vec<Sample> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();

    // The cache interval is 1 s; allow scheduling slack on a busy machine.
    let settled = switched + Duration::from_millis(1300);
    let mut after = 0;
    for sample in &samples {
        assert_eq!(sample.status, 200, "a request at {:?} failed", sample.sent);
        if sample.sent >= settled {
            after += 1;
            assert_eq!(
                sample.body,
                "release two\n",
                "stale file at {:?}, {:?} after the switch",
                sample.sent,
                sample.sent - switched
            );
        } else if sample.sent < switched {
            assert_eq!(sample.body, "release one\n");
        }
    }
    assert!(after > 10, "too few requests after the switch: {after}");

    // The old release deleted afterwards: every worker already serves the new one.
    std::fs::remove_dir_all(releases.join("r1")).unwrap();
    for _ in 0..20 {
        let r = s.get("/page.txt", "");
        assert_eq!(r.status, 200);
        assert_eq!(r.body_str(), "release two\n");
        let r = s.get("/", "");
        assert_eq!((r.status, r.body_str().as_str()), (200, "release two\n"));
    }
}
