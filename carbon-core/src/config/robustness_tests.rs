//! Randomized robustness tests of configuration loading: files assembled from real
//! keys, typos, separators, quotes, comments, unicode, control characters, huge
//! numbers and very long lines, plus random `CARBON_*` overrides. Invariants:
//!
//! * loading never panics;
//! * a failure lists at least one error, and every error names a line that exists in
//!   the file (a duplicate's first line too, and before it) or a variable that was
//!   actually given;
//! * each error prints as one line (`ConfigErrors` prints them one per line);
//! * a configuration that loads can be summarised.
//!
//! Deterministic: fixed seeds, an inline xorshift generator, bounded iteration counts.

use std::path::Path;

use super::*;

use crate::test_rng::Rng;

/// Values that sit on the edges of the value parsers.
const VALUES: &[&str] = &[
    "",
    "0",
    "1",
    "65535",
    "65536",
    "-1",
    "+1",
    "007",
    "99999999999999999999999999",
    "18446744073709551615",
    "18446744073709551616",
    "1.5",
    ".5",
    "5.",
    "1..2",
    "0.0000000000000000000001",
    "99999999999999999999.999999999999999999999",
    "1k",
    "1K",
    "16m",
    "4g",
    "4G ",
    "17179869183g",
    "18446744073709551615k",
    "1x",
    "k",
    "500ms",
    "0.5ms",
    "30s",
    "2m",
    "1.s",
    "ms",
    "999999999999999999999999m",
    "true",
    "false",
    "yes",
    "on",
    "TRUE",
    "/tmp/x",
    "www",
    ".",
    "..",
    "a/b",
    "index.html",
    "\"quoted value\"",
    "'single'",
    "\"unterminated",
    "\"a\" trailing",
    "\"a\" # comment",
    "'it\"s'",
    "\"\"",
    "a#b",
    "a # note",
    "#",
    "127.0.0.1",
    "::1",
    "[::1]",
    "[::1",
    "0.0.0.0",
    "256.1.1.1",
    "10.0.0.0/8",
    "10.0.0.0/33",
    "::/0",
    "::/129",
    "1.2.3.4/-1",
    "1.2.3.4/",
    "10.0.0.0/8, ::1,,",
    "example.com=/c.pem,/k.pem",
    "*.x=c,k",
    "=,",
    "a=b",
    "a=b,c,d",
    "off",
    "classic",
    "DEBUG",
    "advanced",
    "nosniff",
    "default-src 'self'",
    "\u{fc}ber",
    "\u{65e5}\u{672c}",
    "\u{202e}rtl",
    "\u{1f600}",
    "\t",
    "\x01",
    "\x7f",
    "\r",
    "a\rb",
    "\0",
    " = = ",
];

fn key_name(rng: &mut Rng) -> String {
    let real = rng.pick(KEYS).name;
    match rng.below(10) {
        0 => real.to_ascii_uppercase(),
        1 => {
            // A typo: one character changed, dropped or doubled.
            let mut k: Vec<char> = real.chars().collect();
            let at = rng.below(k.len());
            match rng.below(3) {
                0 => k[at] = *rng.pick(&['a', '_', '-', '\u{f6}', ' ']),
                1 => {
                    k.remove(at);
                }
                _ => k.insert(at, k[at]),
            }
            k.into_iter().collect()
        }
        2 => (*rng.pick(&["", " ", "9", "_", "x y", "p\u{f6}rt", "#port", "\"port\""])).to_owned(),
        // Long keys cost `suggest` an edit distance against every key: keep them few.
        3 if rng.one_in(4) => "k".repeat(rng.below(600)),
        _ => real.to_owned(),
    }
}

fn value(rng: &mut Rng) -> String {
    match rng.below(12) {
        0 => "9".repeat(1 + rng.below(5000)),
        1 => {
            let a = *rng.pick(VALUES);
            let b = *rng.pick(VALUES);
            format!("{a}{b}")
        }
        _ => (*rng.pick(VALUES)).to_owned(),
    }
}

fn line(rng: &mut Rng) -> String {
    match rng.below(14) {
        0 => String::new(),
        1 => format!("# {}", value(rng)),
        2 => format!("   {}", value(rng)),
        3 => "=".to_owned(),
        4 => "ssl_sni = a.example=/c.pem,/k.pem".to_owned(),
        _ => {
            let sep = *rng.pick(&["=", " = ", "==", "\t=\t", " =", "= ", ""]);
            let pad = *rng.pick(&["", "", " ", "\t"]);
            format!("{pad}{}{sep}{}", key_name(rng), value(rng))
        }
    }
}

fn file(rng: &mut Rng) -> String {
    let eol = *rng.pick(&["\n", "\n", "\r\n"]);
    let mut text = String::new();
    for i in 0..rng.below(25) {
        if i > 0 {
            text.push_str(eol);
        }
        text.push_str(&line(rng));
    }
    if rng.one_in(2) {
        text.push_str(eol);
    }
    text
}

fn env(rng: &mut Rng) -> Vec<(String, String)> {
    (0..rng.below(4))
        .map(|_| {
            let var = match rng.below(6) {
                0 => "CARBON_".to_owned(),
                1 => "CARBON_BOGUS".to_owned(),
                2 => "carbon_port".to_owned(),
                3 => "CARBON_SSL_SNI".to_owned(),
                _ => rng.pick(KEYS).env_var(),
            };
            // (Values with a newline: see `env_value_with_newline_prints_on_one_line`.)
            let value = match rng.below(4) {
                0 => "a=b,c;;d=e,f; ".to_owned(),
                _ => value(rng),
            };
            (var, value)
        })
        .collect()
}

/// Every invariant of the module docs, for one input.
fn check(text: &str, env: &[(String, String)]) -> Result<(), String> {
    let lines = text.lines().count();
    let loaded = std::panic::catch_unwind(|| Config::load_from(Path::new("<fuzz>"), text, env))
        .map_err(|_| "panic".to_owned())?;
    let errors = match loaded {
        Ok(cfg) => {
            let _ = cfg.summary();
            return Ok(());
        }
        Err(errors) => errors,
    };
    if errors.is_empty() {
        return Err("failed without an error".into());
    }
    for e in &errors {
        match &e.origin {
            Origin::File {
                line: Some(line), ..
            } => {
                if *line == 0 || *line > lines {
                    return Err(format!("line {line} of {lines}: {e}"));
                }
                if let ErrorKind::Duplicate { first_line } = e.kind {
                    if first_line == 0 || first_line >= *line {
                        return Err(format!("first line {first_line} not before {line}: {e}"));
                    }
                }
            }
            Origin::File { line: None, .. } => {}
            Origin::Env { var } => {
                if !env.iter().any(|(k, _)| k == var) {
                    return Err(format!("names a variable not given: {e}"));
                }
            }
        }
        let shown = e.to_string();
        if shown.contains('\n') {
            return Err(format!("error spans several lines: {shown:?}"));
        }
    }
    Ok(())
}

#[test]
fn random_files_never_panic_and_errors_name_real_lines() {
    let mut rng = Rng::new(0x5eed_c001);
    for _ in 0..700 {
        let text = file(&mut rng);
        if let Err(why) = check(&text, &[]) {
            panic!("{why}\n  file: {text:?}");
        }
    }
}

#[test]
fn random_text_never_panics_and_errors_name_real_lines() {
    const ALPHABET: &[char] = &[
        'a',
        'p',
        'o',
        'r',
        't',
        '_',
        '=',
        '#',
        '"',
        '\'',
        ' ',
        '\t',
        '\n',
        '\n',
        '\r',
        '0',
        '9',
        '.',
        '/',
        ',',
        ';',
        '\u{fc}',
        '\u{1f600}',
        '\0',
        '\u{85}',
        '\u{2028}',
    ];
    let mut rng = Rng::new(0x5eed_c002);
    for _ in 0..1500 {
        let text: String = (0..rng.below(300)).map(|_| *rng.pick(ALPHABET)).collect();
        if let Err(why) = check(&text, &[]) {
            panic!("{why}\n  file: {text:?}");
        }
    }
}

#[test]
fn environment_overrides_never_panic_and_errors_name_given_variables() {
    let mut rng = Rng::new(0x5eed_c003);
    for _ in 0..400 {
        let text = file(&mut rng);
        let env = env(&mut rng);
        if let Err(why) = check(&text, &env) {
            panic!("{why}\n  file: {text:?}\n  env: {env:?}");
        }
    }
}

/// Values are printed escaped, so one error stays one line (a log line, or an
/// sd_notify `STATUS=` assignment, cannot be split by a hostile value).
#[test]
fn env_value_with_newline_prints_on_one_line() {
    let env = [("CARBON_PORT".to_owned(), "1\n2".to_owned())];
    check("", &env).unwrap();
}
