//! The line syntax of `carbon.conf`: `key = value`, `#` comments, quoted values.
//!
//! This module only splits text into (line, key, value) entries; it knows nothing of
//! what the keys mean. Rules (documented in `docs/configuration.md`):
//!
//! * blank lines and lines whose first non-blank character is `#` are ignored;
//! * a line is split at its first `=`, so values may contain `=` (`ssl_sni` needs it);
//! * an unquoted value ends at a `#` that starts the value or follows whitespace, so
//!   `a#b` keeps its `#` while `a # note` drops the note;
//! * a value wrapped in `"` or `'` is taken verbatim between the quotes (no escape
//!   sequences; use the other quote character to include one), and only a comment may
//!   follow the closing quote;
//! * key names are lowercase ASCII letters, digits and `_` (case-sensitive);
//! * a line `[site NAME NAME ...]` (optionally followed by a `#` comment) starts a
//!   section: the `key = value` lines after it, up to the next section, belong to
//!   that site (`site.rs` checks the names and which keys a site may set).

use super::error::ErrorKind;

/// One `key = value` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    /// 1-based line number.
    pub line: usize,
    pub key: String,
    pub value: String,
    /// 0: before the first section (the global settings and default site); `n`:
    /// the `n`-th section header of the file.
    pub section: usize,
}

/// A `[site ...]` line: the words after `site`, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SectionHead {
    pub line: usize,
    pub names: Vec<String>,
}

/// A line that could not be split, with the key when one was recognisable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LineError {
    pub line: usize,
    pub key: Option<String>,
    pub kind: ErrorKind,
}

/// Splits a whole file. Every line is looked at, so all syntax errors are reported.
#[cfg(test)]
pub(super) fn parse(text: &str) -> (Vec<Entry>, Vec<LineError>) {
    let (entries, _, errors) = parse_sections(text);
    (entries, errors)
}

/// [`parse`], with the section headers (entry `section` n is `heads[n - 1]`).
pub(super) fn parse_sections(text: &str) -> (Vec<Entry>, Vec<SectionHead>, Vec<LineError>) {
    // Windows editors (Notepad until 2019) start UTF-8 files with a byte order mark.
    // It is not whitespace to `trim`, so it would end up invisible inside the first
    // key's name; it carries no meaning in UTF-8 (Unicode §23.8), so drop it.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut entries = Vec::new();
    let mut heads = Vec::new();
    let mut errors = Vec::new();
    // `str::lines` also strips a `\r` before each `\n`, so CRLF files work.
    for (idx, raw) in text.lines().enumerate() {
        let line = idx + 1;
        if let Some(head) = section_head(raw) {
            match head {
                Ok(names) => heads.push(SectionHead { line, names }),
                Err(kind) => {
                    errors.push(LineError {
                        line,
                        key: None,
                        kind,
                    });
                    // The lines that follow still belong to a (broken) section: they
                    // must not be taken for global settings.
                    heads.push(SectionHead {
                        line,
                        names: Vec::new(),
                    });
                }
            }
            continue;
        }
        let section = heads.len();
        match parse_line(raw) {
            Ok(None) => {}
            Ok(Some((key, value))) => entries.push(Entry {
                line,
                key,
                value,
                section,
            }),
            Err((key, kind)) => errors.push(LineError { line, key, kind }),
        }
    }
    (entries, heads, errors)
}

/// `None`: not a section line. A line starting with `[` is one (no key starts so).
fn section_head(raw: &str) -> Option<Result<Vec<String>, ErrorKind>> {
    let t = raw.trim();
    let inner = t.strip_prefix('[')?;
    let bad = |why: &str| {
        Some(Err(ErrorKind::Section(format!(
            "{why}; expected `[site NAME ...]`, found `{}`",
            shorten(t)
        ))))
    };
    let Some((inner, rest)) = inner.split_once(']') else {
        return bad("no closing `]`");
    };
    let rest = rest.trim_start();
    if !(rest.is_empty() || rest.starts_with('#')) {
        return bad("only a `#` comment may follow `]`");
    }
    let mut words = inner.split_whitespace();
    if words.next() != Some("site") {
        return bad("the only section kind is `site`");
    }
    let names: Vec<String> = words.map(str::to_owned).collect();
    if names.is_empty() {
        return bad("a site needs at least one name");
    }
    Some(Ok(names))
}

type LineResult = Result<Option<(String, String)>, (Option<String>, ErrorKind)>;

fn parse_line(raw: &str) -> LineResult {
    let trimmed = raw.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(None);
    }
    let Some((left, right)) = trimmed.split_once('=') else {
        return Err((
            None,
            ErrorKind::MissingEquals {
                line_text: shorten(trimmed),
            },
        ));
    };
    let key = left.trim();
    if !is_key_name(key) {
        return Err((Some(key.to_owned()), ErrorKind::BadKeyName));
    }
    let value = parse_value(right).map_err(|kind| (Some(key.to_owned()), kind))?;
    Ok(Some((key.to_owned(), value)))
}

/// Keys are matched exactly; rejecting other characters here gives a clearer
/// message than "unknown key" for `Port` or `max-threads`.
fn is_key_name(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn parse_value(right: &str) -> Result<String, ErrorKind> {
    let v = right.trim_start();
    if let Some(quote) = v.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let body = &v[1..];
        let Some(end) = body.find(quote) else {
            return Err(ErrorKind::UnterminatedQuote);
        };
        let rest = body[end + 1..].trim_start();
        if !(rest.is_empty() || rest.starts_with('#')) {
            return Err(ErrorKind::TextAfterQuote);
        }
        return Ok(body[..end].to_owned());
    }
    Ok(strip_comment(v).trim_end().to_owned())
}

/// Cuts an unquoted value at a `#` that begins it or follows whitespace.
fn strip_comment(v: &str) -> &str {
    let mut prev_space = true;
    for (i, c) in v.char_indices() {
        if c == '#' && prev_space {
            return &v[..i];
        }
        prev_space = c.is_whitespace();
    }
    v
}

/// Error messages quote the offending line; a pasted binary blob must not flood them.
fn shorten(s: &str) -> String {
    const MAX: usize = 60;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure
mod tests {
    use super::*;

    fn one(text: &str) -> Result<(String, String), ErrorKind> {
        let (entries, errors) = parse(text);
        if let Some(e) = errors.into_iter().next() {
            return Err(e.kind);
        }
        assert_eq!(entries.len(), 1, "{text:?}");
        let e = entries.into_iter().next().unwrap();
        Ok((e.key, e.value))
    }

    fn kv(k: &str, v: &str) -> Result<(String, String), ErrorKind> {
        Ok((k.to_owned(), v.to_owned()))
    }

    #[test]
    fn blank_and_comment_lines_are_skipped_and_lines_counted() {
        let (entries, errors) = parse("\n# c\n   # indented\n\t\nport = 1\n");
        assert!(errors.is_empty());
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].line, 5);
    }

    #[test]
    fn whitespace_around_key_and_value_is_trimmed() {
        assert_eq!(one("  port   =   8080   "), kv("port", "8080"));
        assert_eq!(one("port=8080"), kv("port", "8080"));
    }

    #[test]
    fn crlf_line_endings_are_accepted() {
        let (entries, errors) = parse("port = 1\r\ngzip = on\r\n");
        assert!(errors.is_empty());
        assert_eq!(entries[0].value, "1");
        assert_eq!(entries[1].value, "on");
    }

    #[test]
    fn trailing_comment_needs_whitespace_before_hash() {
        assert_eq!(one("port = 8080 # http"), kv("port", "8080"));
        assert_eq!(one("port = 8080\t# http"), kv("port", "8080"));
        assert_eq!(one("index_file = a#b"), kv("index_file", "a#b"));
        assert_eq!(one("access_log = # off"), kv("access_log", ""));
        assert_eq!(one("access_log ="), kv("access_log", ""));
    }

    #[test]
    fn double_and_single_quotes_are_stripped_and_keep_hash() {
        assert_eq!(
            one(r#"header_x_frame_options = "DENY # not a comment" # comment"#),
            kv("header_x_frame_options", "DENY # not a comment")
        );
        assert_eq!(one("server_name = 'a b'"), kv("server_name", "a b"));
        assert_eq!(one(r#"x = 'say "hi"'"#), kv("x", r#"say "hi""#));
        assert_eq!(one(r#"x = "  padded  ""#), kv("x", "  padded  "));
        assert_eq!(one(r#"x = """#), kv("x", ""));
    }

    #[test]
    fn quote_errors_are_reported() {
        assert_eq!(one(r#"x = "open"#), Err(ErrorKind::UnterminatedQuote));
        assert_eq!(one(r#"x = "a" b"#), Err(ErrorKind::TextAfterQuote));
    }

    #[test]
    fn value_may_contain_equals_sign() {
        assert_eq!(
            one("ssl_sni = example.com=/c.pem,/k.pem"),
            kv("ssl_sni", "example.com=/c.pem,/k.pem")
        );
    }

    #[test]
    fn line_without_equals_is_an_error_with_its_line() {
        let (entries, errors) = parse("port = 1\nlisten 80\n");
        assert_eq!(entries.len(), 1);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, 2);
        assert!(matches!(errors[0].kind, ErrorKind::MissingEquals { .. }));
    }

    #[test]
    fn keys_are_case_sensitive_lowercase() {
        assert_eq!(one("Port = 1"), Err(ErrorKind::BadKeyName));
        assert_eq!(one("max-threads = 1"), Err(ErrorKind::BadKeyName));
        assert_eq!(one(" = 1"), Err(ErrorKind::BadKeyName));
    }

    #[test]
    fn every_bad_line_is_reported_not_just_the_first() {
        let (_, errors) = parse("a\nb\nc = 'x\n");
        assert_eq!(
            errors.iter().map(|e| e.line).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
    }

    #[test]
    fn section_headers_split_the_file_and_number_the_entries() {
        let text = "port = 1\n[site a.test  www.a.test] # note\nwww_path = /a\n\n[site b.test]\nwww_path = /b\n";
        let (entries, heads, errors) = parse_sections(text);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            heads,
            vec![
                SectionHead {
                    line: 2,
                    names: vec!["a.test".into(), "www.a.test".into()]
                },
                SectionHead {
                    line: 5,
                    names: vec!["b.test".into()]
                },
            ]
        );
        let sections: Vec<(usize, usize)> = entries.iter().map(|e| (e.line, e.section)).collect();
        assert_eq!(sections, vec![(1, 0), (3, 1), (6, 2)]);
    }

    #[test]
    fn bad_section_headers_are_errors_with_their_line_and_still_open_a_section() {
        let text = "[site]\nwww_path = /a\n[server x]\n[site a.test\n[site b.test] x\n";
        let (entries, heads, errors) = parse_sections(text);
        assert_eq!(
            errors.iter().map(|e| e.line).collect::<Vec<_>>(),
            vec![1, 3, 4, 5]
        );
        assert!(errors
            .iter()
            .all(|e| matches!(e.kind, ErrorKind::Section(_))));
        assert_eq!(heads.len(), 4);
        // The key under the broken header is not taken for a global setting.
        assert_eq!(entries[0].section, 1);
    }

    #[test]
    fn long_bad_lines_are_shortened_in_messages() {
        let long = "x".repeat(500);
        let (_, errors) = parse(&long);
        match &errors[0].kind {
            ErrorKind::MissingEquals { line_text } => assert!(line_text.len() < 70),
            other => panic!("{other:?}"),
        }
    }
}
