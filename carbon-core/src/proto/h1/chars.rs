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

pub(super) fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

pub(super) fn is_uri_char(b: u8) -> bool {
    URI_CHAR[usize::from(b)]
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
