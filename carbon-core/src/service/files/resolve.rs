//! Safe mapping from a request target to a file under the document root.
//!
//! Owns two steps, and nothing else may turn a URL into a path:
//!
//! 1. [`parse_target`]: lexical. The origin-form path (RFC 9112 §3.2.1) is
//!    percent-decoded exactly once (RFC 3986 §2.1, §2.4: decoding twice is how
//!    `%252e%252e` became `..` in CVE-2001-0333 and CVE-2021-42013), then split on
//!    `/`. Decisions, each refused before any file-system call:
//!    * a target not starting with `/` (absolute-form is reduced to its path by the
//!      engine; `*` is only meaningful for OPTIONS) -> 400;
//!    * a malformed `%` escape -> 400; a decoded NUL -> 400 (it would truncate the path
//!      at the OS boundary);
//!    * a backslash, raw or `%5c` -> 400: Linux treats it as a name byte, but it is a
//!      separator on other systems and a classic traversal spelling (CVE-2000-0884), so
//!      no well-behaved client sends one;
//!    * `%2f` decodes to `/` and therefore separates segments like a literal slash;
//!    * dot segments are removed as RFC 3986 §5.2.4 `remove_dot_segments` does, on
//!      the decoded segments (so `%2e%2e` and `.%2e` are `..` too): `.` and empty
//!      segments vanish, `..` drops the segment before it. This is purely lexical, so
//!      `/link/..` is the root whatever `link` points to. A `..` with nothing left to
//!      drop would climb above the root: RFC 3986 would silently clamp it, but no
//!      well-behaved client sends one (they remove dot segments themselves), so it is
//!      refused with 400 rather than guessed at;
//!    * a segment of the normalized path starting with `.` -> 404 unless dotfiles are
//!      served, except a first segment `.well-known` (RFC 8615 reserves it for public metadata such as ACME
//!      challenges); dot segments *below* `.well-known` are still hidden;
//!    * decoded bytes need not be UTF-8: Linux names are bytes, so the path is built
//!      as an `OsStr` from the decoded bytes.
//! 2. [`locate`]: the joined path is canonicalized (symlinks resolved) and must still
//!    lie under the canonical root, and the part under the root is checked for hidden
//!    segments again, so a symlink cannot reach outside the root or into a dotfile
//!    (-> 404, the same answer as a missing file, so probing reveals nothing).
//!
//! Between `canonicalize` and `open` the tree can change: a writer inside the document
//! root could swap a parent directory for a symlink to `/etc` in that window. The open
//! itself is therefore done by `root.rs` with `openat2(RESOLVE_BENEATH)` relative to
//! the root's directory descriptor, so the kernel refuses any such escape. Only on a
//! kernel without `openat2` (before Linux 5.6) does the window stay open, as it was:
//! the final component is opened with `O_NOFOLLOW`, a swapped parent is not stopped,
//! and only someone who can already write the document root can do that.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use http::StatusCode;
use nix::errno::Errno;
use nix::fcntl::OFlag;

/// RFC 8615: the one hidden directory that is public by design.
const WELL_KNOWN: &[u8] = b".well-known";

/// A decoded, normalized request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Target<'a> {
    /// Relative to the root; never contains `..`, `.`, empty segments or NUL.
    /// Borrowed from the request when it needed no decoding (no allocation).
    pub rel: Cow<'a, Path>,
    /// The path ended in `/`, `/.` or `/..` (RFC 3986 §5.2.4 leaves a trailing slash
    /// for each): the client asked for a directory.
    pub directory: bool,
}

/// Lexical decoding and normalization (step 1 in the module docs).
pub(super) fn parse_target(path: &str, serve_dotfiles: bool) -> Result<Target<'_>, StatusCode> {
    let raw = path.as_bytes();
    if raw.first() != Some(&b'/') {
        return Err(StatusCode::BAD_REQUEST);
    }
    if let Some(target) = already_normal(raw) {
        return Ok(target);
    }
    normalize(raw, serve_dotfiles)
}

/// Decoding and normalization of any path that starts with `/`.
fn normalize(raw: &[u8], serve_dotfiles: bool) -> Result<Target<'static>, StatusCode> {
    let decoded = percent_decode(raw)?;
    if decoded.iter().any(|&b| b == 0 || b == b'\\') {
        return Err(StatusCode::BAD_REQUEST);
    }
    let mut kept: Vec<&[u8]> = Vec::new();
    let mut directory = false;
    for segment in decoded[1..].split(|&b| b == b'/') {
        directory = matches!(segment, b"" | b"." | b"..");
        match segment {
            b"" | b"." => {}
            b".." => {
                if kept.pop().is_none() {
                    return Err(StatusCode::BAD_REQUEST);
                }
            }
            _ => kept.push(segment),
        }
    }
    // Judged on the normalized path: `/.git/../a` names `a`, and a climb above the
    // root anywhere must be a 400 even after a hidden segment.
    let hidden = kept
        .iter()
        .enumerate()
        .any(|(i, segment)| is_hidden(segment, i == 0));
    if hidden && !serve_dotfiles {
        return Err(StatusCode::NOT_FOUND);
    }
    let rel: PathBuf = kept.iter().map(|s| OsStr::from_bytes(s)).collect();
    Ok(Target {
        rel: Cow::Owned(rel),
        directory,
    })
}

/// The common case, a path with nothing to decode or normalize (no `%`, `\`, NUL,
/// empty, `.`, `..` or hidden segment), taken as it is without the copies the general
/// path makes. `raw` starts with `/`. The result is the one the general path gives.
fn already_normal(raw: &[u8]) -> Option<Target<'_>> {
    let plain = !raw.iter().any(|&b| matches!(b, b'%' | b'\\' | 0))
        && !raw.windows(2).any(|w| w == b"//" || w == b"/.");
    if !plain {
        return None;
    }
    let directory = raw.ends_with(b"/");
    let rel = raw[1..].strip_suffix(b"/").unwrap_or(&raw[1..]);
    Some(Target {
        rel: Cow::Borrowed(Path::new(OsStr::from_bytes(rel))),
        directory,
    })
}

fn is_hidden(segment: &[u8], first: bool) -> bool {
    segment.first() == Some(&b'.') && !(first && segment == WELL_KNOWN)
}

/// RFC 3986 §2.1, decoded once. Any `%` not followed by two hex digits is malformed.
fn percent_decode(raw: &[u8]) -> Result<Vec<u8>, StatusCode> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%' {
            let hi = raw.get(i + 1).and_then(|&b| hex(b));
            let lo = raw.get(i + 2).and_then(|&b| hex(b));
            match (hi, lo) {
                (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
                _ => return Err(StatusCode::BAD_REQUEST),
            }
            i += 3;
        } else {
            out.push(raw[i]);
            i += 1;
        }
    }
    Ok(out)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// What identifies one version of a file: a change in any field means new content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FileIdentity {
    pub size: u64,
    pub mtime: SystemTime,
    pub dev: u64,
    pub ino: u64,
}

impl FileIdentity {
    pub(super) fn of(meta: &std::fs::Metadata) -> Self {
        FileIdentity {
            size: meta.len(),
            // Some file systems lack mtime; the epoch still yields a valid date.
            mtime: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    File,
    Directory,
}

/// A path that is proven to lie under the root (step 2 in the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Located {
    pub canonical: PathBuf,
    pub identity: FileIdentity,
    pub kind: Kind,
}

/// Canonicalizes `root/rel` and checks containment and hidden segments. `root` must be
/// canonical. Sockets, FIFOs and devices are reported as missing: opening a FIFO
/// would block the worker, and none of them is content.
pub(super) fn locate(root: &Path, rel: &Path, serve_dotfiles: bool) -> Result<Located, StatusCode> {
    let canonical = std::fs::canonicalize(root.join(rel)).map_err(|e| status_for_io(&e))?;
    let Ok(inside) = canonical.strip_prefix(root) else {
        return Err(StatusCode::NOT_FOUND);
    };
    if !serve_dotfiles && has_hidden_component(inside) {
        return Err(StatusCode::NOT_FOUND);
    }
    let meta = std::fs::metadata(&canonical).map_err(|e| status_for_io(&e))?;
    let kind = if meta.is_file() {
        Kind::File
    } else if meta.is_dir() {
        Kind::Directory
    } else {
        return Err(StatusCode::NOT_FOUND);
    };
    Ok(Located {
        canonical,
        identity: FileIdentity::of(&meta),
        kind,
    })
}

/// Like [`locate`] for a path the operator configured (an absolute error page):
/// trusted, so it may lie outside the root and no hidden-segment rule applies.
pub(super) fn locate_configured(path: &Path) -> Result<Located, StatusCode> {
    let canonical = std::fs::canonicalize(path).map_err(|e| status_for_io(&e))?;
    let meta = std::fs::metadata(&canonical).map_err(|e| status_for_io(&e))?;
    if !meta.is_file() {
        return Err(StatusCode::NOT_FOUND);
    }
    Ok(Located {
        canonical,
        identity: FileIdentity::of(&meta),
        kind: Kind::File,
    })
}

fn has_hidden_component(inside: &Path) -> bool {
    inside.components().enumerate().any(|(i, c)| match c {
        Component::Normal(name) => is_hidden(name.as_bytes(), i == 0),
        _ => true,
    })
}

/// Opens a located regular file of the operator's (an absolute error page: trusted,
/// so no containment). Files under the root are opened by `root.rs` instead.
/// `O_NONBLOCK` keeps a FIFO swapped in after `locate` from blocking the worker;
/// `O_NOFOLLOW` refuses a final component swapped for a symlink. The identity returned
/// comes from the open descriptor, so it describes exactly the bytes that will be sent.
pub(super) fn open_regular(path: &Path) -> Result<(File, FileIdentity), StatusCode> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags((OFlag::O_NONBLOCK | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC).bits())
        .open(path)
        .map_err(|e| status_for_io(&e))?;
    let meta = file.metadata().map_err(|e| status_for_io(&e))?;
    if !meta.is_file() {
        return Err(StatusCode::NOT_FOUND);
    }
    Ok((file, FileIdentity::of(&meta)))
}

/// Maps a file-system error to the status a client should see: absent things (or
/// names the kernel cannot resolve, or refuses to resolve beneath the root: `EXDEV`
/// from `openat2`) are 404, refused access is 403, the rest 500.
pub(super) fn status_for_io(err: &io::Error) -> StatusCode {
    match err.raw_os_error().map(Errno::from_raw) {
        Some(
            Errno::ENOENT | Errno::ENOTDIR | Errno::ELOOP | Errno::ENAMETOOLONG | Errno::EXDEV,
        ) => StatusCode::NOT_FOUND,
        Some(Errno::EACCES | Errno::EPERM) => StatusCode::FORBIDDEN,
        _ => match err.kind() {
            io::ErrorKind::NotFound => StatusCode::NOT_FOUND,
            io::ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure
mod tests {
    use super::*;

    fn rel(path: &str) -> Result<PathBuf, StatusCode> {
        parse_target(path, false).map(|t| t.rel.into_owned())
    }

    #[test]
    fn rfc3986_5_2_4_plain_path_shortcut_agrees_with_normalization() {
        let paths = [
            "/",
            "/a",
            "/a/",
            "/a/b",
            "/a/b/",
            "/a.b/c",
            "/a-b_c~d",
            "/index.html",
            "/a..",
            "/a./b",
            "/a//b",
            "//a",
            "/a/./b",
            "/a/../b",
            "/.",
            "/..",
            "/.git",
            "/.well-known/x",
            "/a/.hidden",
            "/a%2Fb",
            "/%41",
            "/a\\b",
            "/a/b/.",
            "/a/b/..",
        ];
        for path in paths {
            let raw = path.as_bytes();
            if let Some(short) = already_normal(raw) {
                assert_eq!(Ok(short), normalize(raw, false), "{path}");
                assert_eq!(parse_target(path, true), normalize(raw, true), "{path}");
            }
            for dotfiles in [false, true] {
                assert_eq!(
                    parse_target(path, dotfiles),
                    normalize(raw, dotfiles),
                    "{path}"
                );
            }
        }
        // The shortcut is taken for the plain ones (otherwise it saves nothing).
        for path in ["/", "/a", "/a/b/", "/a.b/c", "/a.."] {
            assert!(already_normal(path.as_bytes()).is_some(), "{path}");
        }
        for path in ["/a//b", "/./a", "/.git", "/%41", "/a\\b", "/a/."] {
            assert!(already_normal(path.as_bytes()).is_none(), "{path}");
        }
    }

    #[test]
    fn rfc9112_3_2_1_target_must_be_origin_form() {
        assert_eq!(rel("*"), Err(StatusCode::BAD_REQUEST));
        assert_eq!(rel(""), Err(StatusCode::BAD_REQUEST));
        assert_eq!(rel("a/b"), Err(StatusCode::BAD_REQUEST));
    }

    #[test]
    fn rfc3986_2_1_malformed_escapes_are_400() {
        for p in ["/%", "/%2", "/%zz", "/a%g1", "/%%41"] {
            assert_eq!(rel(p), Err(StatusCode::BAD_REQUEST), "{p}");
        }
    }

    #[test]
    fn rfc3986_2_4_decoded_exactly_once() {
        assert_eq!(rel("/%252e%252e").unwrap(), PathBuf::from("%2e%2e"));
        assert_eq!(rel("/a%20b/%41").unwrap(), PathBuf::from("a b/A"));
    }

    #[test]
    fn rfc3986_5_2_4_climbing_above_the_root_is_400_in_every_spelling() {
        for p in [
            "/..",
            "/../",
            "/../etc/passwd",
            "/a/../../etc/passwd",
            "/a/./../..",
            "/%2e%2e/",
            "/%2E%2E%2Fetc",
            "/%2e%2E/x",
            "/..%2f",
            "/..%2F..%2Fetc",
            "/.%2e/x",
            "/%2e./x",
            "/.%2E",
            "/a/%2e%2e/%2E%2e",
            "/a%2f..%2f..%2fb",
            "/a/b/../../../etc/passwd",
            // A hidden segment first does not turn the climb into a 404.
            "/.git/../../x",
        ] {
            assert_eq!(rel(p), Err(StatusCode::BAD_REQUEST), "{p}");
            assert_eq!(parse_target(p, true), Err(StatusCode::BAD_REQUEST), "{p}");
        }
    }

    #[test]
    fn rfc3986_5_2_4_dot_segments_inside_the_root_are_removed() {
        let t = |p| parse_target(p, false).unwrap();
        for (p, want, directory) in [
            ("/sub/../small.txt", "small.txt", false),
            ("/sub/%2e%2e/small.txt", "small.txt", false),
            ("/sub/.%2E/small.txt", "small.txt", false),
            ("/sub/%2E./small.txt", "small.txt", false),
            ("/sub/..%2fsmall.txt", "small.txt", false),
            ("/a/b/../c/./d", "a/c/d", false),
            ("/a/b/../../c", "c", false),
            ("/sub/..", "", true),
            ("/sub/../", "", true),
            ("/a/b/..", "a", true),
            ("/a/%2e%2e", "", true),
            ("/a/.", "a", true),
        ] {
            let target = t(p);
            assert_eq!(target.rel, PathBuf::from(want), "{p}");
            assert_eq!(target.directory, directory, "{p}");
        }
        // Decoded once: `%252e%252e` is the literal name `%2e%2e`, never a dot segment.
        assert_eq!(t("/sub/%252e%252e/x").rel, PathBuf::from("sub/%2e%2e/x"));
    }

    #[test]
    fn rfc3986_5_2_4_hidden_is_judged_after_dot_segment_removal() {
        assert_eq!(rel("/.git/../a").unwrap(), PathBuf::from("a"));
        assert_eq!(rel("/a/../.env"), Err(StatusCode::NOT_FOUND));
        assert_eq!(rel("/a/../%2egit/config"), Err(StatusCode::NOT_FOUND));
        assert!(rel("/x/../.well-known/t").is_ok());
        assert_eq!(
            rel("/.well-known/../x/.well-known"),
            Err(StatusCode::NOT_FOUND)
        );
    }

    #[test]
    fn nul_and_backslash_are_400() {
        for p in ["/a%00b", "/%00", "/a%5c..%5cb", "/a\\b"] {
            assert_eq!(rel(p), Err(StatusCode::BAD_REQUEST), "{p}");
        }
    }

    #[test]
    fn rfc3986_5_2_4_single_dots_and_empty_segments_vanish() {
        let t = parse_target("/a//./b/", false).unwrap();
        assert_eq!(t.rel, PathBuf::from("a/b"));
        assert!(t.directory);
        let t = parse_target("/a/.", false).unwrap();
        assert!(t.directory);
        let t = parse_target("/a/b", false).unwrap();
        assert!(!t.directory);
        let t = parse_target("/", false).unwrap();
        assert_eq!(t.rel, PathBuf::new());
        assert!(t.directory);
    }

    #[test]
    fn dotfiles_hidden_unless_enabled() {
        assert_eq!(rel("/.env"), Err(StatusCode::NOT_FOUND));
        assert_eq!(rel("/.git/config"), Err(StatusCode::NOT_FOUND));
        assert_eq!(rel("/a/.htpasswd"), Err(StatusCode::NOT_FOUND));
        assert_eq!(rel("/%2egit/HEAD"), Err(StatusCode::NOT_FOUND));
        assert!(parse_target("/.env", true).is_ok());
    }

    #[test]
    fn rfc8615_3_well_known_is_public() {
        assert!(rel("/.well-known/acme-challenge/tok").is_ok());
        assert_eq!(rel("/a/.well-known/x"), Err(StatusCode::NOT_FOUND));
        assert_eq!(rel("/.well-known/.secret"), Err(StatusCode::NOT_FOUND));
    }

    #[test]
    fn non_utf8_names_are_bytes() {
        let t = parse_target("/caf%E9", false).unwrap();
        assert_eq!(t.rel.as_os_str().as_bytes(), b"caf\xe9");
    }

    #[test]
    fn errno_maps_to_status() {
        let s = |e: Errno| status_for_io(&io::Error::from_raw_os_error(e as i32));
        assert_eq!(s(Errno::ENOENT), StatusCode::NOT_FOUND);
        assert_eq!(s(Errno::ENOTDIR), StatusCode::NOT_FOUND);
        assert_eq!(s(Errno::EACCES), StatusCode::FORBIDDEN);
        assert_eq!(s(Errno::EIO), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
