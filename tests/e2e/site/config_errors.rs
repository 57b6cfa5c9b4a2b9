//! `--check-config` reports every problem one pass can find: a syntax error does not
//! hide the missing directories, the missing 404 page and the TLS problems.

use std::time::Duration;

use crate::harness::run_carbond;
use crate::tls::gen_cert;

#[test]
fn check_config_lists_syntax_and_semantic_errors_in_one_pass() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let www = d.join("www");
    std::fs::create_dir(&www).unwrap();
    let (cert, _) = gen_cert(&d.join("tls"), &[]);
    let conf = d.join("carbon.conf");
    // A UTF-8 BOM first, as Windows editors write it: accepted, not an error.
    let text = format!(
        "\u{feff}port = 0\nbogus_key = 1\nwww_path = {www}\naccess_log = {d}/no-dir/access.log\n\
         error_page_404 = missing-404.html\nuse_https = true\nhttps_port = 0\n\
         ssl_cert_path = {cert}\nssl_key_path = {d}/tls/no-key.pem\n\
         ssl_sni = 192.0.2.1 = {cert}, {d}/tls/key.pem\n",
        www = www.display(),
        d = d.display(),
        cert = cert.display()
    );
    std::fs::write(&conf, text).unwrap();
    let (st, out) = run_carbond(
        &["--check-config", conf.to_str().unwrap()],
        Duration::from_secs(20),
    );
    assert!(st.is_some_and(|s| !s.success()), "{st:?}\n{out}");
    for expected in [
        "bogus_key",
        "no-dir",
        "missing-404.html",
        "no-key.pem",
        "192.0.2.1",
    ] {
        assert!(out.contains(expected), "{expected} not reported:\n{out}");
    }
    assert!(
        !out.contains("port = 0\u{feff}") && !out.contains('\u{feff}'),
        "{out}"
    );
    // The certificate exists: no advice to generate one.
    assert!(!out.contains("--gen-self-signed"), "{out}");
}
