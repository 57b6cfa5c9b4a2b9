//! Content coding (RFC 9110 §8.4, §12.5.3): which codings the client accepts, in its
//! order of preference (gzip and br, RFC 7932), and where a precompressed sibling
//! would be (`compress.rs` makes variants).
//!
//! Owns no state: the cache decides when a variant is made and keeps it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use http::header::ACCEPT_ENCODING;
use http::HeaderMap;

/// A content coding Carbon can send besides identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    Gzip,
    /// RFC 7932 brotli.
    Br,
}

impl Coding {
    /// The `Content-Encoding` token (RFC 9110 §8.4.1).
    pub fn token(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Br => "br",
        }
    }

    /// Appended to the identity's entity-tag: each coding is its own representation
    /// (RFC 9110 §8.8.3.3), so a strong tag must differ.
    pub fn etag_suffix(self) -> &'static str {
        match self {
            Coding::Gzip => "-gz",
            Coding::Br => "-br",
        }
    }

    /// The extension of a precompressed sibling (`app.js.gz`, `app.js.br`).
    fn extension(self) -> &'static str {
        match self {
            Coding::Gzip => ".gz",
            Coding::Br => ".br",
        }
    }
}

/// §12.5.3: the codings to try instead of identity, best first (at most two).
///
/// * a coding's weight is that of its own member (`gzip` or its alias `x-gzip`,
///   §8.4.1.3; `br`) if listed, else that of `*`, else 0 (not acceptable);
/// * identity's is that of `identity` if listed, else that of `*`, else none:
///   identity is always acceptable as a fallback unless refused, but an unlisted one
///   states no preference;
/// * a coding is listed when its weight is non-zero and not below identity's, so
///   `gzip;q=0.5, identity` keeps identity (the client prefers it), `gzip;q=0.5`
///   alone gets gzip, and a tie, such as `gzip, identity`, goes to the smaller
///   transfer;
/// * the higher weight comes first; on a tie br comes first (smaller for text), so
///   `gzip, br` gets br while `br;q=0.5, gzip` gets gzip.
///
/// With no Accept-Encoding field the RFC allows any coding, but old clients that
/// omit it may not decode gzip, so identity is sent (as every common server does).
/// A member repeated with different weights counts at its highest.
pub(super) fn preferences(headers: &HeaderMap) -> Prefs {
    let mut gzip = None;
    let mut br = None;
    let mut identity = None;
    let mut any = None;
    for value in headers.get_all(ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else {
            continue;
        };
        for member in value.split(',') {
            let mut parts = member.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let Some(weight) = weight(parts) else {
                continue;
            };
            let slot =
                if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
                    &mut gzip
                } else if coding.eq_ignore_ascii_case("br") {
                    &mut br
                } else if coding.eq_ignore_ascii_case("identity") {
                    &mut identity
                } else if coding == "*" {
                    &mut any
                } else {
                    continue;
                };
            *slot = (*slot).max(Some(weight));
        }
    }
    // An unlisted identity is acceptable (RFC 9110 §12.5.3) but carries no preference,
    // so `gzip;q=0.5` alone still gets gzip; only an explicit higher weight for
    // identity (or for `*`) makes the client prefer the uncompressed form.
    let identity = identity.or(any).unwrap_or(0);
    let weight = |w: Option<u16>| w.or(any).unwrap_or(0);
    let (br, gzip) = (weight(br), weight(gzip));
    let mut out = Prefs::default();
    // On equal weights br goes ahead of gzip.
    let order = if gzip > br {
        [(gzip, Coding::Gzip), (br, Coding::Br)]
    } else {
        [(br, Coding::Br), (gzip, Coding::Gzip)]
    };
    for (w, c) in order {
        if w > 0 && w >= identity {
            out.push(c);
        }
    }
    out
}

/// The acceptable codings in preference order: at most the two Carbon sends, kept
/// inline, so a request's negotiation allocates nothing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Prefs {
    list: [Coding; 2],
    len: usize,
}

impl Default for Prefs {
    fn default() -> Self {
        Prefs {
            list: [Coding::Br; 2],
            len: 0,
        }
    }
}

impl Prefs {
    fn push(&mut self, c: Coding) {
        if self.len < self.list.len() {
            self.list[self.len] = c;
            self.len += 1;
        }
    }

    /// Keeps only the codings `keep` accepts, in order.
    pub fn retain(self, keep: impl Fn(Coding) -> bool) -> Prefs {
        let mut out = Prefs::default();
        for &c in self.iter() {
            if keep(c) {
                out.push(c);
            }
        }
        out
    }
}

impl std::ops::Deref for Prefs {
    type Target = [Coding];

    fn deref(&self) -> &[Coding] {
        &self.list[..self.len]
    }
}

/// §12.5.3: whether gzip is acceptable rather than identity (see [`preferences`]).
#[cfg(test)]
pub(super) fn accepts_gzip(headers: &HeaderMap) -> bool {
    preferences(headers).contains(&Coding::Gzip)
}

/// The `q` parameter in thousandths (1000 when absent); `None` when it is malformed,
/// which makes the member unusable rather than guessing a weight.
fn weight<'a>(params: impl Iterator<Item = &'a str>) -> Option<u16> {
    let mut q = 1000;
    for param in params {
        let Some((name, value)) = param.split_once('=') else {
            continue;
        };
        if name.trim().eq_ignore_ascii_case("q") {
            q = qvalue(value.trim())?;
        }
    }
    Some(q)
}

/// §12.4.2: `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`.
fn qvalue(s: &str) -> Option<u16> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = frac
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0u16, |acc, b| acc * 10 + u16::from(b - b'0'));
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// Where a precompressed variant of `rel` would be: the same name plus `.gz` / `.br`.
pub(super) fn sibling_path(rel: &Path, coding: Coding) -> PathBuf {
    let mut name = OsString::from(rel.as_os_str());
    name.push(coding.extension());
    PathBuf::from(name)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure
mod tests {
    use super::*;
    use http::HeaderValue;

    fn accepts(values: &[&str]) -> bool {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        }
        accepts_gzip(&h)
    }

    #[test]
    fn rfc9110_12_5_3_gzip_listed() {
        assert!(accepts(&["gzip"]));
        assert!(accepts(&["br, GZIP, deflate"]));
        assert!(accepts(&["x-gzip"]));
        assert!(accepts(&["deflate", "gzip;q=1"]));
        assert!(accepts(&["gzip ; q=0.001, identity;q=0"]));
    }

    #[test]
    fn rfc9110_12_5_3_q_zero_refuses() {
        assert!(!accepts(&["gzip;q=0"]));
        assert!(!accepts(&["gzip;q=0.000, deflate"]));
        assert!(!accepts(&["*;q=0"]));
        // An explicit gzip weight overrides `*`.
        assert!(!accepts(&["gzip;q=0, *"]));
        assert!(accepts(&["gzip;q=1, *;q=0"]));
        // Even with identity refused, gzip at q=0 is not chosen.
        assert!(!accepts(&["gzip;q=0, identity;q=0"]));
    }

    #[test]
    fn rfc9110_12_5_3_star_covers_gzip() {
        assert!(accepts(&["*"]));
        assert!(accepts(&["br;q=1, *;q=0.1"]));
    }

    #[test]
    fn rfc9110_12_5_3_identity_preferred_by_weight() {
        // The client ranks identity above gzip.
        assert!(!accepts(&["gzip;q=0.5, identity;q=1"]));
        assert!(!accepts(&["identity;q=0.9", "gzip;q=0.8"]));
        // Unlisted identity states no preference: any non-zero gzip weight wins,
        // unless `*` speaks for identity with a higher one.
        assert!(accepts(&["gzip;q=0.5"]));
        assert!(accepts(&["br, gzip;q=0.8"]));
        assert!(accepts(&["br, gzip;q=0.8, *;q=0.1"]));
        assert!(!accepts(&["gzip;q=0.5, *;q=0.7"]));
        // An explicit identity weight overrides `*`.
        assert!(accepts(&["gzip;q=0.5, identity;q=0.2, *"]));
        // Ties go to gzip.
        assert!(accepts(&["gzip;q=0.5, identity;q=0.5"]));
        assert!(accepts(&["gzip, identity"]));
        assert!(accepts(&["*;q=0.3"]));
        // Identity refused: any non-zero gzip weight wins.
        assert!(accepts(&["gzip;q=0.1, identity;q=0"]));
        assert!(accepts(&["gzip;q=0.1, *;q=0"]));
        assert!(accepts(&["IDENTITY;q=0.05, gzip;q=0.1"]));
    }

    #[test]
    fn rfc9110_12_5_3_absent_or_identity_only_means_identity() {
        assert!(!accepts(&[]));
        assert!(!accepts(&[""]));
        assert!(!accepts(&["identity"]));
        assert!(!accepts(&["identity;q=0"]));
        assert!(!accepts(&["br, deflate"]));
    }

    #[test]
    fn rfc9110_12_4_2_malformed_weights_make_the_member_unusable() {
        assert!(!accepts(&["gzip;q=2"]));
        assert!(!accepts(&["gzip;q=0.5000"]));
        assert!(!accepts(&["gzip;q=abc"]));
        assert!(!accepts(&["gzip;q=1.5"]));
        assert!(!accepts(&["gzip;q="]));
        assert_eq!(qvalue("1.000"), Some(1000));
        assert_eq!(qvalue("0.25"), Some(250));
        assert_eq!(qvalue("0"), Some(0));
    }

    #[test]
    fn sibling_appends_gz_or_br() {
        assert_eq!(
            sibling_path(Path::new("a/b.js"), Coding::Gzip),
            PathBuf::from("a/b.js.gz")
        );
        assert_eq!(
            sibling_path(Path::new("a/b.js"), Coding::Br),
            PathBuf::from("a/b.js.br")
        );
    }

    fn prefs(values: &[&str]) -> Vec<Coding> {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        }
        preferences(&h).to_vec()
    }

    #[test]
    fn rfc9110_12_5_3_br_against_gzip_by_weight() {
        use Coding::{Br, Gzip};
        // What browsers send: equal weights, br first (the smaller one).
        assert_eq!(prefs(&["gzip, deflate, br, zstd"]), [Br, Gzip]);
        assert_eq!(prefs(&["br;q=0.5, gzip"]), [Gzip, Br]);
        assert_eq!(prefs(&["br;q=1.0, gzip;q=0.8"]), [Br, Gzip]);
        assert_eq!(prefs(&["br"]), [Br]);
        assert_eq!(prefs(&["BR;q=0.1"]), [Br]);
        assert_eq!(prefs(&["br;q=0, gzip"]), [Gzip]);
        assert_eq!(prefs(&["gzip;q=0, br"]), [Br]);
        assert_eq!(prefs(&["*"]), [Br, Gzip]);
        assert_eq!(prefs(&["br;q=0.4, identity;q=0.5"]), Vec::<Coding>::new());
        assert_eq!(prefs(&["br;q=0.5, gzip;q=0.2, identity;q=0.3"]), [Br]);
        assert!(prefs(&["br;q=2"]).is_empty());
        assert!(prefs(&[]).is_empty());
    }
}
