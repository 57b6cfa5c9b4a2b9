//! Randomized robustness tests of the file service: request paths assembled from the
//! pieces traversal attacks are made of (dot segments in every spelling, encoded
//! separators, NUL, backslashes, symlinks out of the root, a sibling directory whose
//! name extends the root's, unicode, over-long names), with random conditional, range
//! and encoding fields. Invariants:
//!
//! * no response ever carries a byte of a file outside the root (CVE-2021-41773,
//!   CVE-2021-42013) nor of a dotfile when dotfiles are off;
//! * statuses stay in the set the service documents, and nothing panics;
//! * a 200 body is exactly a file that lives under the root (gzip bodies after
//!   decompression), a 206 body a slice of one, and every file region lies inside its
//!   file;
//! * a redirect never leaves the origin (`Location` is a path, never `//host`).
//!
//! Deterministic: fixed seeds, an inline xorshift generator, bounded iteration counts.
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure

use std::io::Read;
use std::net::SocketAddr;
use std::os::unix::fs::{symlink, FileExt};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use http::header::{
    ACCEPT_ENCODING, CONTENT_ENCODING, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, LOCATION,
    X_FRAME_OPTIONS,
};
use http::{HeaderValue, Method, StatusCode};
use tempfile::TempDir;

use super::*;

/// In every file outside the root: no response may ever contain it.
const OUTSIDE: &[u8] = b"OUTSIDE-MARKER-7f3a";
/// In the dotfiles under the root: served only when dotfiles are on.
const HIDDEN: &[u8] = b"HIDDEN-MARKER-19c2";

use crate::test_rng::Rng;

/// `base/www` is the root; `base/www-outside` is a sibling whose name starts with the
/// root's (a containment check by string prefix would let it through), and
/// `base/secret.txt` sits right above the root.
struct Site {
    _dir: TempDir,
    root: PathBuf,
    /// Contents of the regular files under the root (not following symlinks), and
    /// whether each is a dotfile.
    files: Vec<(Vec<u8>, bool)>,
}

fn site() -> Site {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().to_path_buf();
    let root = base.join("www");
    let outside = base.join("www-outside");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::create_dir_all(root.join(".well-known")).unwrap();
    std::fs::create_dir_all(root.join(".git")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();

    let secret = [b"secret: ".as_slice(), OUTSIDE].concat();
    std::fs::write(outside.join("secret.txt"), &secret).unwrap();
    std::fs::write(outside.join("index.html"), &secret).unwrap();
    std::fs::write(base.join("secret.txt"), &secret).unwrap();

    let hidden = [b"hidden: ".as_slice(), HIDDEN].concat();
    let css = "body { color: red; margin: 0 auto; }\n".repeat(40);
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("index.html", b"<h1>home</h1>".to_vec()),
        ("a.txt", b"alpha file".to_vec()),
        ("big.css", css.into_bytes()),
        ("sub/b.txt", b"bravo in sub".to_vec()),
        ("sub/index.html", b"<h1>sub</h1>".to_vec()),
        ("\u{fc}.txt", b"u-umlaut".to_vec()),
        ("%2e%2e", b"literal percent name".to_vec()),
        ("sp ace.txt", b"space".to_vec()),
        (".well-known/t.txt", b"token".to_vec()),
        (".hidden", hidden.clone()),
        (".git/config", hidden),
    ];
    for (name, data) in &files {
        std::fs::write(root.join(name), data).unwrap();
    }
    symlink("../www-outside/secret.txt", root.join("link_out")).unwrap();
    symlink("../www-outside", root.join("link_dir")).unwrap();
    symlink(outside.join("secret.txt"), root.join("link_abs")).unwrap();
    symlink("../secret.txt", root.join("sub/link_up")).unwrap();
    symlink("a.txt", root.join("link_in")).unwrap();
    symlink(".hidden", root.join("link_hidden")).unwrap();
    symlink("..", root.join("sub/parent")).unwrap();
    symlink("loop", root.join("loop")).unwrap();
    nix::unistd::mkfifo(&root.join("fifo"), nix::sys::stat::Mode::S_IRWXU).unwrap();

    let files = files
        .into_iter()
        .map(|(name, data)| (data, name.starts_with('.') && !name.starts_with(".well")))
        .collect();
    Site {
        _dir: dir,
        root,
        files,
    }
}

/// The dangerous pieces paths are built from.
const PIECES: &[&str] = &[
    "..",
    ".",
    "%2e",
    "%2E",
    "%2e%2e",
    "%2E%2e",
    "%252e%252e",
    ".%2e",
    "%c0%ae",
    "%2f",
    "%2F",
    "..%2f",
    "%5c",
    "..%5c",
    "\\",
    "%00",
    "%25",
    "%",
    "%g1",
    "%ff",
    "~",
    "~root",
    "/",
    "//",
    "a.txt",
    "index.html",
    "big.css",
    "sub",
    "b.txt",
    "link_out",
    "link_dir",
    "link_abs",
    "link_up",
    "link_in",
    "link_hidden",
    "parent",
    "loop",
    "fifo",
    "secret.txt",
    "www-outside",
    "www",
    ".hidden",
    ".git",
    "config",
    ".well-known",
    "t.txt",
    "%C3%BC.txt",
    "\u{fc}.txt",
    "sp%20ace.txt",
    "?x=1",
    ";p",
    "#f",
    "*",
];

fn long_segment(rng: &mut Rng) -> String {
    "x".repeat(*rng.pick(&[255, 256, 300, 5000]))
}

fn random_path(rng: &mut Rng) -> String {
    let mut p = String::new();
    if !rng.one_in(20) {
        p.push('/');
    }
    for i in 0..1 + rng.below(8) {
        if i > 0 && rng.one_in(2) {
            p.push('/');
        }
        if rng.one_in(40) {
            p.push_str(&long_segment(rng));
        } else {
            let piece = *rng.pick(PIECES);
            p.push_str(piece);
        }
    }
    p
}

fn random_request(rng: &mut Rng, path: &str) -> Option<Request> {
    let method = match rng.below(20) {
        0 => Method::POST,
        1 => Method::OPTIONS,
        2..=5 => Method::HEAD,
        _ => Method::GET,
    };
    let mut b = http::Request::builder().method(method).uri(path);
    if rng.one_in(3) {
        b = b.header(ACCEPT_ENCODING, "gzip");
    }
    if rng.one_in(6) {
        let range = *rng.pick(&[
            "bytes=0-3",
            "bytes=-4",
            "bytes=5-",
            "bytes=3-1",
            "bytes=99999-",
            "bytes=0-0,2-3",
            "bytes=--1",
            "bytes=18446744073709551615-",
            "chars=1-2",
        ]);
        b = b.header(RANGE, range);
    }
    if rng.one_in(8) {
        b = b.header(IF_NONE_MATCH, *rng.pick(&["*", "\"x\"", "W/\"y\", \"z\""]));
    }
    if rng.one_in(8) {
        b = b.header(IF_MODIFIED_SINCE, "Sun, 06 Nov 1994 08:49:37 GMT");
    }
    if rng.one_in(10) {
        b = b.header(IF_RANGE, "\"nope\"");
    }
    // A path the `http` crate refuses never reaches the service (the engine answers
    // 400 first), so there is nothing to test.
    b.body(Bytes::new()).ok()
}

fn body_bytes(body: &Body) -> Result<Vec<u8>, String> {
    match body {
        Body::Empty => Ok(Vec::new()),
        Body::Bytes(b) => Ok(b.to_vec()),
        Body::File(region) => {
            let size = region.file.metadata().map_err(|e| e.to_string())?.len();
            if region
                .offset
                .checked_add(region.len)
                .is_none_or(|end| end > size)
            {
                return Err(format!(
                    "file region {}+{} beyond the file's {size} bytes",
                    region.offset, region.len
                ));
            }
            let mut buf = vec![0; region.len as usize];
            region
                .file
                .read_exact_at(&mut buf, region.offset)
                .map_err(|e| e.to_string())?;
            Ok(buf)
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

fn gunzip(data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    libflate::gzip::Decoder::new(data)
        .and_then(|mut d| d.read_to_end(&mut out))
        .map_err(|e| format!("gzip body does not decode: {e}"))?;
    Ok(out)
}

fn unbrotli(data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    ::brotli::Decompressor::new(data, 4096)
        .read_to_end(&mut out)
        .map_err(|e| format!("br body does not decode: {e}"))?;
    Ok(out)
}

/// Checks one response against every invariant of the module docs.
fn check(site: &Site, dotfiles: bool, req: &Request, resp: &Response) -> Result<(), String> {
    let status = resp.status().as_u16();
    let allowed = [200, 206, 301, 304, 400, 403, 404, 405, 412, 416];
    let options = req.method() == Method::OPTIONS && status == 204;
    if !allowed.contains(&status) && !options {
        return Err(format!("status {status}"));
    }
    let body = body_bytes(resp.body())?;
    if contains(&body, OUTSIDE) {
        return Err("body holds a file from outside the root".into());
    }
    if !dotfiles && contains(&body, HIDDEN) {
        return Err("body holds a dotfile".into());
    }
    if status == 301 {
        let location = resp
            .headers()
            .get(LOCATION)
            .ok_or("301 without Location")?
            .as_bytes();
        if !location.starts_with(b"/") || location.starts_with(b"//") {
            return Err(format!(
                "Location {:?} leaves the origin",
                String::from_utf8_lossy(location)
            ));
        }
    }
    let served = |data: &[u8]| {
        site.files
            .iter()
            .filter(|(_, hidden)| dotfiles || !hidden)
            .any(|(file, _)| file == data)
    };
    match status {
        200 if req.method() == Method::GET => {
            let identity = match resp.headers().get(CONTENT_ENCODING) {
                Some(v) if v == "gzip" => gunzip(&body)?,
                Some(v) if v == "br" => unbrotli(&body)?,
                Some(v) => return Err(format!("unexpected content-encoding {v:?}")),
                None => body,
            };
            if !served(&identity) {
                return Err("200 body is not a file under the root".into());
            }
        }
        // HEAD gets GET's status and headers (RFC 9110 §9.3.2) but never a body.
        206 if req.method() == Method::HEAD && !body.is_empty() => {
            return Err("HEAD 206 carries a body".into());
        }
        206 if req.method() == Method::HEAD => {}
        206 => {
            let slice_of_file = site
                .files
                .iter()
                .filter(|(_, hidden)| dotfiles || !hidden)
                .any(|(file, _)| file.windows(body.len().max(1)).any(|w| w == body));
            if body.is_empty() || !slice_of_file {
                return Err("206 body is not part of a file under the root".into());
            }
        }
        _ => {}
    }
    Ok(())
}

fn ctx(now: Instant) -> RequestContext<'static> {
    RequestContext {
        peer: SocketAddr::from(([127, 0, 0, 1], 40000)),
        secure: false,
        now,
        wall: SystemTime::now(),
        sni: None,
        https_port: None,
    }
}

fn options(root: &Path, dotfiles: bool, error_page_404: Option<&str>) -> FileOptions {
    FileOptions {
        root: root.to_path_buf(),
        index_file: "index.html".into(),
        serve_dotfiles: dotfiles,
        gzip: true,
        gzip_min_length: 64,
        cache_size: 1 << 20,
        cache_max_file: 1 << 16,
        gzip_max_file: 1 << 20,
        error_page_404: error_page_404.map(PathBuf::from),
        security_headers: Vec::new(),
        cache_control: Vec::new(),
        header_remove: Vec::new(),
        header_set: Vec::new(),
        header_add: Vec::new(),
        spa_fallback: None,
        spa_fallback_exclude: Vec::new(),
        brotli_static: true,
        brotli: false,
    }
}

/// Runs `cases` random requests against one service; panics with the path on the
/// first violation.
fn fuzz(seed: u64, dotfiles: bool, error_page_404: Option<&str>, cases: usize) {
    let site = site();
    let mut svc = FileService::new(options(&site.root, dotfiles, error_page_404)).unwrap();
    let mut rng = Rng::new(seed);
    let mut now = Instant::now();
    let mut tested = 0;
    let mut served = 0;
    for _ in 0..cases {
        let path = random_path(&mut rng);
        let Some(req) = random_request(&mut rng, &path) else {
            continue;
        };
        if rng.one_in(50) {
            // Past the cache's revalidation interval.
            now += Duration::from_secs(10);
        }
        tested += 1;
        let outcome = catch_unwind(AssertUnwindSafe(|| svc.call(&req, &ctx(now))));
        let verdict = match &outcome {
            Ok(resp) => check(&site, dotfiles, &req, resp),
            Err(_) => Err("panic".into()),
        };
        if let Err(why) = verdict {
            panic!(
                "{why}: {} {:?} {:?} (dotfiles={dotfiles}, error_page_404={error_page_404:?})",
                req.method(),
                path,
                req.headers()
            );
        }
        if outcome.is_ok_and(|r| r.status().is_success()) {
            served += 1;
        }
    }
    // Guard against a generator that only produces refusals.
    assert!(
        tested > cases / 2,
        "only {tested} of {cases} paths were valid URIs"
    );
    assert!(
        served > cases / 50,
        "only {served} successes: the generator lost its aim"
    );
}

#[test]
fn rfc3986_5_2_4_no_path_reaches_outside_the_root() {
    fuzz(0x5eed_f001, false, None, 10_000);
}

#[test]
fn rfc3986_5_2_4_no_path_reaches_outside_the_root_with_dotfiles() {
    fuzz(0x5eed_f002, true, None, 5000);
}

#[test]
fn error_page_404_is_bound_by_the_root_like_requests() {
    // Relative error pages obey the request rules: one leading out of the root (by
    // symlink or dot segments) or into a dotfile must never be served.
    for (seed, page) in [
        (0x5eed_f003, "link_out"),
        (0x5eed_f004, "../www-outside/secret.txt"),
        (0x5eed_f005, ".hidden"),
        (0x5eed_f006, "sub/link_up"),
        (0x5eed_f007, "a.txt"),
    ] {
        fuzz(seed, false, Some(page), 1500);
    }
}

/// The site settings on (SPA fallback, brotli, header rules): the invariants of
/// [`check`] still hold, and a path that looks like a file (`*.*`, the default
/// exclusion) never gets the fallback's body with a 200.
#[test]
fn spa_fallback_and_brotli_keep_every_path_inside_the_root() {
    let site = site();
    let mut opts = options(&site.root, false, None);
    opts.spa_fallback = Some(PathBuf::from("index.html"));
    opts.spa_fallback_exclude = vec![crate::config::PathPattern::last_segment_has_dot()];
    opts.brotli = true;
    opts.header_remove = vec![X_FRAME_OPTIONS];
    let mut svc = FileService::new(opts).unwrap();
    let mut rng = Rng::new(0x5eed_f009);
    let mut now = Instant::now();
    let mut fell_back = 0;
    for _ in 0..5000 {
        let path = random_path(&mut rng);
        let Some(mut req) = random_request(&mut rng, &path) else {
            continue;
        };
        if rng.one_in(2) {
            req.headers_mut()
                .insert(ACCEPT_ENCODING, HeaderValue::from_static("br, gzip"));
        }
        if rng.one_in(50) {
            now += Duration::from_secs(10);
        }
        // Let finished pool jobs be picked up now and then.
        if rng.one_in(100) {
            svc.finish_compressions("big.css");
        }
        let resp = catch_unwind(AssertUnwindSafe(|| svc.call(&req, &ctx(now))))
            .unwrap_or_else(|_| panic!("panic: {} {path:?}", req.method()));
        if let Err(why) = check(&site, false, &req, &resp) {
            panic!("{why}: {} {path:?}", req.method());
        }
        if resp.status() != StatusCode::OK || req.method() != Method::GET {
            continue;
        }
        let body = body_bytes(resp.body()).unwrap();
        let body = match resp.headers().get(CONTENT_ENCODING) {
            Some(v) if v == "gzip" => gunzip(&body).unwrap(),
            Some(v) if v == "br" => unbrotli(&body).unwrap(),
            _ => body,
        };
        let last = req.uri().path().rsplit('/').next().unwrap_or("");
        // The home page's body under a name that is not an index: the fallback.
        // Percent-escapes and dot segments are left out: decoding or normalising
        // them may reveal a name the plain text does not show.
        let plain = !last.contains('%') && last != "." && last != "..";
        if body == b"<h1>home</h1>" && last != "index.html" && !last.is_empty() && plain {
            assert!(!last.contains('.'), "fallback for an asset path {path:?}");
            fell_back += 1;
        }
    }
    assert!(
        fell_back > 10,
        "only {fell_back} fallbacks: the generator lost its aim"
    );
}

#[test]
fn mutated_known_paths_stay_inside_the_root() {
    // Mutations of paths that succeed: bytes flipped, pieces spliced in.
    let site = site();
    let mut svc = FileService::new(options(&site.root, false, None)).unwrap();
    let mut rng = Rng::new(0x5eed_f008);
    let now = Instant::now();
    let bases = [
        "/a.txt",
        "/sub/b.txt",
        "/link_in",
        "/sub/",
        "/.well-known/t.txt",
        "/%C3%BC.txt",
        "/big.css",
    ];
    for _ in 0..2000 {
        let mut p = rng.pick(&bases).as_bytes().to_vec();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(p.len() + 1);
            match rng.below(4) {
                0 if at < p.len() => p[at] ^= 1 << rng.below(7),
                1 if at < p.len() => {
                    p.remove(at);
                }
                _ => {
                    let piece = rng.pick(PIECES).as_bytes();
                    p.splice(at..at, piece.iter().copied());
                }
            }
        }
        let Ok(path) = String::from_utf8(p) else {
            continue;
        };
        let Some(req) = random_request(&mut rng, &path) else {
            continue;
        };
        let resp = svc.call(&req, &ctx(now));
        if let Err(why) = check(&site, false, &req, &resp) {
            panic!("{why}: {} {path:?}", req.method());
        }
    }
}
