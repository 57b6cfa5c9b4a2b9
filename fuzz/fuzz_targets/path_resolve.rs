//! The file service's path resolution on arbitrary request paths, against a document
//! root with a symlink out of it and a sibling directory whose name extends the root's.
//! No response may carry a byte of a file outside the root.
#![no_main]

use std::cell::RefCell;
use std::net::SocketAddr;
use std::os::unix::fs::{symlink, FileExt};
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use carbon_core::service::files::{FileOptions, FileService};
use carbon_core::service::{Body, RequestContext, Service};
use libfuzzer_sys::fuzz_target;

const OUTSIDE: &[u8] = b"OUTSIDE-MARKER-7f3a";

struct Site {
    _dir: tempfile::TempDir,
    service: FileService,
}

fn site() -> Site {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("www");
    let outside = dir.path().join("www-outside");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret.txt"), OUTSIDE).unwrap();
    std::fs::write(dir.path().join("secret.txt"), OUTSIDE).unwrap();
    std::fs::write(root.join("index.html"), b"<h1>home</h1>").unwrap();
    std::fs::write(root.join("a.txt"), b"alpha").unwrap();
    std::fs::write(root.join("sub/b.txt"), b"bravo").unwrap();
    symlink("../www-outside/secret.txt", root.join("link_out")).unwrap();
    symlink("../www-outside", root.join("link_dir")).unwrap();
    symlink("a.txt", root.join("link_in")).unwrap();
    let service = FileService::new(FileOptions {
        root,
        index_file: "index.html".into(),
        serve_dotfiles: false,
        gzip: true,
        gzip_min_length: 16,
        cache_size: 1 << 20,
        cache_max_file: 1 << 16,
        gzip_max_file: 1 << 20,
        error_page_404: None,
        security_headers: Vec::new(),
        cache_control: Vec::new(),
        header_remove: Vec::new(),
        header_set: Vec::new(),
        header_add: Vec::new(),
        spa_fallback: None,
        spa_fallback_exclude: Vec::new(),
        brotli_static: true,
        brotli: false,
    })
    .unwrap();
    Site { _dir: dir, service }
}

thread_local! {
    static SITE: RefCell<Site> = RefCell::new(site());
}

fn body_bytes(body: &Body) -> Vec<u8> {
    match body {
        Body::Empty => Vec::new(),
        Body::Bytes(b) => b.to_vec(),
        Body::File(region) => {
            let mut buf = vec![0; region.len as usize];
            region.file.read_exact_at(&mut buf, region.offset).unwrap();
            buf
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    // A target the `http` crate refuses never reaches the service.
    let Ok(req) = http::Request::builder().uri(path).body(Bytes::new()) else {
        return;
    };
    let ctx = RequestContext {
        peer: SocketAddr::from(([127, 0, 0, 1], 40000)),
        secure: false,
        now: Instant::now(),
        wall: SystemTime::now(),
        sni: None,
        https_port: None,
    };
    SITE.with(|site| {
        let resp = site.borrow_mut().service.call(&req, &ctx);
        let body = body_bytes(resp.body());
        assert!(
            !body.windows(OUTSIDE.len()).any(|w| w == OUTSIDE),
            "{path:?} served a file outside the root"
        );
    });
});
