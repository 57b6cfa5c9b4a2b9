//! The command line: `--version`, `--help`, `--check-config`, and startup failures that
//! must exit non-zero with a message an operator can act on.

use std::time::Duration;

use crate::harness::*;

const T: Duration = Duration::from_secs(10);

fn write_conf(dir: &std::path::Path, text: &str) -> std::path::PathBuf {
    let p = dir.join("carbon.conf");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn version_exits_zero() {
    let (st, out) = run_carbond(&["--version"], T);
    assert!(st.is_some_and(|s| s.success()), "{st:?}\n{out}");
    assert!(out.contains(env!("CARGO_PKG_VERSION")), "{out}");
}

#[test]
fn help_exits_zero_and_mentions_options() {
    let (st, out) = run_carbond(&["--help"], T);
    assert!(st.is_some_and(|s| s.success()), "{st:?}\n{out}");
    assert!(out.contains("--config"), "{out}");
    assert!(out.contains("--check-config"), "{out}");
}

#[test]
fn check_config_accepts_a_valid_file() {
    let dir = tempfile::tempdir().unwrap();
    let www = dir.path().join("www");
    std::fs::create_dir(&www).unwrap();
    let conf = write_conf(
        dir.path(),
        &format!(
            "# comment\nport = 0\nserver_name = 127.0.0.1\nwww_path = {}\n\nmax_body_size = 16k\n\
             keep_alive_timeout = 0.5\ngzip = on\n",
            www.display()
        ),
    );
    let (st, out) = run_carbond(&["--check-config", conf.to_str().unwrap()], T);
    assert!(st.is_some_and(|s| s.success()), "{st:?}\n{out}");
    assert!(!out.trim().is_empty(), "no summary printed");
}

#[test]
fn check_config_unknown_key_names_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let conf = write_conf(
        dir.path(),
        &format!(
            "port = 0\nserver_name = 127.0.0.1\nbogus_key = 1\nwww_path = {}\n",
            dir.path().display()
        ),
    );
    let (st, out) = run_carbond(&["--check-config", conf.to_str().unwrap()], T);
    assert!(st.is_some_and(|s| !s.success()), "{st:?}\n{out}");
    assert!(out.contains("bogus_key"), "key not named: {out}");
    assert!(out.contains("carbon.conf"), "file not named: {out}");
    assert!(
        out.contains(":3") || out.contains("line 3"),
        "line not named: {out}"
    );
}

#[test]
fn check_config_bad_value_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let conf = write_conf(
        dir.path(),
        &format!("port = not-a-port\nwww_path = {}\n", dir.path().display()),
    );
    let (st, out) = run_carbond(&["--check-config", conf.to_str().unwrap()], T);
    assert!(st.is_some_and(|s| !s.success()), "{st:?}\n{out}");
    assert!(out.contains("port"), "{out}");
    assert!(out.contains(":1") || out.contains("line 1"), "{out}");
}

#[test]
fn config_error_prevents_startup() {
    let dir = tempfile::tempdir().unwrap();
    let conf = write_conf(
        dir.path(),
        &format!(
            "port = 0\nbogus_key = 1\nwww_path = {}\n",
            dir.path().display()
        ),
    );
    let (st, out) = run_carbond(&["--config", conf.to_str().unwrap()], T);
    assert!(
        st.is_some_and(|s| !s.success()),
        "carbond must refuse to start with an invalid config: {st:?}\n{out}"
    );
    assert!(out.contains("bogus_key"), "{out}");
}

#[test]
fn missing_config_file_fails_naming_it() {
    let (st, out) = run_carbond(&["--config", "/nonexistent/carbon-e2e.conf"], T);
    assert!(st.is_some_and(|s| !s.success()), "{st:?}\n{out}");
    assert!(out.contains("/nonexistent/carbon-e2e.conf"), "{out}");
}

#[test]
fn short_config_flag_works() {
    let (st, out) = run_carbond(&["-c", "/nonexistent/carbon-e2e-short.conf"], T);
    assert!(st.is_some_and(|s| !s.success()), "{st:?}\n{out}");
    assert!(out.contains("/nonexistent/carbon-e2e-short.conf"), "{out}");
}

#[test]
fn port_in_use_fails_clearly() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let conf = write_conf(
        dir.path(),
        &format!(
            "port = {port}\nserver_name = 127.0.0.1\nwww_path = {}\n",
            dir.path().display()
        ),
    );
    let (st, out) = run_carbond(&["--config", conf.to_str().unwrap()], T);
    assert!(st.is_some_and(|s| !s.success()), "{st:?}\n{out}");
    let lower = out.to_lowercase();
    assert!(
        out.contains(&port.to_string()) || lower.contains("in use"),
        "message does not say which address is taken: {out}"
    );
    drop(taken);
}

#[test]
fn unknown_flag_fails() {
    let (st, out) = run_carbond(&["--definitely-not-a-flag"], T);
    assert!(st.is_some_and(|s| !s.success()), "{st:?}\n{out}");
}

/// `std::env::args()` panics on an argument that is not UTF-8 (exit 101 and a
/// backtrace hint); carbond must refuse it with a message and its usage exit code.
#[test]
fn non_utf8_config_path_is_a_clean_error_not_a_panic() {
    use std::os::unix::ffi::OsStrExt;
    let bad = std::ffi::OsStr::from_bytes(b"/nonexistent/carbon-\xff.conf");
    // A path need not be UTF-8: it is looked up as given and reported lossily.
    let (st, out) = run_carbond(&[std::ffi::OsStr::new("--check-config"), bad], T);
    let st = st.expect("carbond did not exit");
    assert_eq!(st.code(), Some(1), "{out}");
    assert!(
        out.contains("/nonexistent/carbon-\u{FFFD}.conf: cannot read"),
        "{out}"
    );
    assert!(!out.contains("panicked"), "{out}");
    // An argument that is not UTF-8 where text is expected: a usage error, exit 2.
    let (st, out) = run_carbond(&[std::ffi::OsStr::from_bytes(b"--\xff")], T);
    let st = st.expect("carbond did not exit");
    assert_eq!(st.code(), Some(2), "{out}");
    assert!(!out.contains("panicked"), "{out}");
}
