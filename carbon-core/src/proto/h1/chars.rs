//! The character classes the request grammar is built from, as 256-entry tables so a
//! check costs one lookup per byte.

/// A table holding `true` for every byte listed in `allowed`.
const fn table(allowed: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < allowed.len() {
        t[allowed[i] as usize] = true;
        i += 1;
    }
    t
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
/// "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA.
static TCHAR: [bool; 256] = {
    let mut t = table(b"!#$%&'*+-.^_`|~");
    let alnum = table(ALNUM);
    let mut i = 0;
    while i < 256 {
        t[i] |= alnum[i];
        i += 1;
    }
    t
};

/// RFC 3986 §2: unreserved, gen-delims, sub-delims and "%" (pct-encoded), minus "#":
/// a fragment is never sent in a request-target (RFC 9112 §3.2). Everything else,
/// non-ASCII bytes included, must be percent-encoded by the client.
static URI_CHAR: [bool; 256] = {
    let mut t = table(b"-._~:/?[]@!$&'()*+,;=%");
    let alnum = table(ALNUM);
    let mut i = 0;
    while i < 256 {
        t[i] |= alnum[i];
        i += 1;
    }
    t
};

/// Bytes outside [`URI_CHAR`] that browsers send unencoded in a request-target and
/// nginx and caddy accept (WHATWG URL Standard §1.3, percent-encode sets: the path set
/// leaves `^` and `|` alone, the query set also `` ` ``, `{`, `}`, `\`, and Chromium
/// leaves `"`, `<`, `>` unencoded in queries), plus bytes >= 0x80 (UTF-8 typed into the
/// address bar and sent raw by many non-browser clients). None of them can end the
/// request line (SP, CR, LF stay refused), start a fragment (`#`) or a new path
/// segment, so they cannot change how the request is framed or which file it names;
/// the parser percent-encodes them before building the URI, which is the form a
/// strict client would have sent.
static LENIENT_TARGET: [bool; 256] = {
    let mut t = table(b"\"<>\\^`{|}");
    let mut i = 0x80;
    while i < 256 {
        t[i] = true;
        i += 1;
    }
    t
};

pub(super) fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

pub(super) fn is_uri_char(b: u8) -> bool {
    URI_CHAR[usize::from(b)]
}

/// A byte accepted in a request-target but percent-encoded before the URI is built.
pub(super) fn is_lenient_target_char(b: u8) -> bool {
    LENIENT_TARGET[usize::from(b)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9110_5_6_2_tchar_table() {
        let expected = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
        for b in 0..=255u8 {
            assert_eq!(is_tchar(b), expected(b), "{b:#04x}");
        }
    }

    #[test]
    fn lenient_target_bytes_never_include_framing_or_control_bytes() {
        for b in 0..=255u8 {
            let expected = b >= 0x80 || b"\"<>\\^`{|}".contains(&b);
            assert_eq!(is_lenient_target_char(b), expected, "{b:#04x}");
            if b <= 0x20 || b == 0x7f || b == b'#' {
                assert!(!is_lenient_target_char(b) && !is_uri_char(b), "{b:#04x}");
            }
        }
    }

    #[test]
    fn rfc3986_2_uri_char_table() {
        for b in 0..=255u8 {
            let expected = b.is_ascii_alphanumeric() || b"-._~:/?[]@!$&'()*+,;=%".contains(&b);
            assert_eq!(is_uri_char(b), expected, "{b:#04x}");
        }
        for b in [
            b'#', b'"', b'<', b'>', b'\\', b'^', b'`', b'{', b'|', b'}', b' ', 0x80,
        ] {
            assert!(!is_uri_char(b), "{b:#04x}");
        }
    }
}
