//! Deploy-safe behaviour: validators that survive copies and redeploys, and a document
//! root that follows an atomic symlink switch.

use std::os::unix::fs::MetadataExt;
use std::process::Command;

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
