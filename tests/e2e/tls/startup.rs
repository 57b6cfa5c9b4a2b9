//! Certificate problems are found before serving: `carbond --check-config` exits
//! non-zero and names the offending file.

use std::path::Path;
use std::time::Duration;

use super::gen_cert;
use crate::harness::run_carbond;

/// Writes a config using `cert` and `key` and runs `carbond --check-config` on it.
fn check(dir: &Path, cert: &Path, key: &Path) -> (bool, String) {
    let www = dir.join("www");
    std::fs::create_dir_all(&www).unwrap();
    let conf = dir.join("carbon.conf");
    std::fs::write(
        &conf,
        format!(
            "port = 0\nwww_path = {}\nuse_https = true\nhttps_port = 0\n\
             ssl_cert_path = {}\nssl_key_path = {}\nlog_file =\n",
            www.display(),
            cert.display(),
            key.display()
        ),
    )
    .unwrap();
    let (status, out) = run_carbond(
        &["--check-config", conf.to_str().unwrap()],
        Duration::from_secs(20),
    );
    let status = status.unwrap_or_else(|| panic!("--check-config hung:\n{out}"));
    (status.success(), out)
}

#[test]
fn check_config_accepts_a_matching_pair() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = gen_cert(&dir.path().join("a"), &[]);
    let (ok, out) = check(dir.path(), &cert, &key);
    assert!(ok, "a generated pair was refused:\n{out}");
}

#[test]
fn check_config_fails_naming_a_missing_certificate_file() {
    let dir = tempfile::tempdir().unwrap();
    let (_, key) = gen_cert(&dir.path().join("a"), &[]);
    let missing = dir.path().join("no-such-cert.pem");
    let (ok, out) = check(dir.path(), &missing, &key);
    assert!(!ok, "a missing certificate was accepted:\n{out}");
    assert!(out.contains(&missing.display().to_string()), "{out}");
}

#[test]
fn check_config_fails_naming_a_key_that_does_not_match_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, _) = gen_cert(&dir.path().join("a"), &[]);
    let (_, other_key) = gen_cert(&dir.path().join("b"), &[]);
    let (ok, out) = check(dir.path(), &cert, &other_key);
    assert!(!ok, "a mismatched key was accepted:\n{out}");
    assert!(out.contains(&other_key.display().to_string()), "{out}");
    assert!(out.contains(&cert.display().to_string()), "{out}");
    // The key's contents never appear in the message.
    let pem = std::fs::read_to_string(&other_key).unwrap();
    let body_line = pem.lines().nth(1).unwrap();
    assert!(
        !out.contains(body_line),
        "key material in the error:\n{out}"
    );
}
