//! docs/tls.md: a certificate that expired, is not yet valid or expires within
//! `EXPIRY_WARNING_DAYS` gives a warning naming the file and the date, on the terminal
//! at start-up and in `--check-config`, and never stops the server.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rcgen::{CertificateParams, KeyPair};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use crate::harness::{run_carbond, Server};

fn utc(y: i32, m: Month, d: u8) -> OffsetDateTime {
    PrimitiveDateTime::new(Date::from_calendar_date(y, m, d).unwrap(), Time::MIDNIGHT).assume_utc()
}

/// Writes `NAME.cert.pem` and `NAME.key.pem` for `localhost` valid in [from, until].
fn write_pair(
    dir: &Path,
    name: &str,
    from: OffsetDateTime,
    until: OffsetDateTime,
) -> (PathBuf, PathBuf) {
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.not_before = from;
    params.not_after = until;
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let cert_path = dir.join(format!("{name}.cert.pem"));
    let key_path = dir.join(format!("{name}.key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (cert_path, key_path)
}

/// `yyyy-mm-dd` as the warning prints it.
fn day(t: OffsetDateTime) -> String {
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

struct Pairs {
    lines: String,
    expect: Vec<(PathBuf, String, &'static str)>,
}

/// An expired default certificate, a not-yet-valid and a soon-expiring SNI one.
fn pairs(dir: &Path) -> Pairs {
    let now = OffsetDateTime::now_utc();
    let expired_until = utc(2020, Month::June, 1);
    let (old_cert, old_key) = write_pair(dir, "expired", utc(2019, Month::June, 1), expired_until);
    let future_from = now + time::Duration::days(40);
    let (future_cert, future_key) = write_pair(
        dir,
        "future",
        future_from,
        future_from + time::Duration::days(90),
    );
    let soon_until = now + time::Duration::days(5);
    let (soon_cert, soon_key) = write_pair(dir, "soon", now - time::Duration::days(60), soon_until);
    let lines = format!(
        "use_https = true\nhttps_port = 0\nssl_cert_path = {}\nssl_key_path = {}\n\
         ssl_sni = future.test = {}, {}\nssl_sni = soon.test = {}, {}\n",
        old_cert.display(),
        old_key.display(),
        future_cert.display(),
        future_key.display(),
        soon_cert.display(),
        soon_key.display()
    );
    Pairs {
        lines,
        expect: vec![
            (old_cert, day(expired_until), "EXPIRED"),
            (future_cert, day(future_from), "not valid until"),
            (soon_cert, day(soon_until), "expires soon"),
        ],
    }
}

fn assert_warned(out: &str, expect: &[(PathBuf, String, &'static str)]) {
    for (file, date, what) in expect {
        let line = out
            .lines()
            .find(|l| l.contains(&file.display().to_string()) && l.contains("warning"))
            .unwrap_or_else(|| panic!("no warning naming {}:\n{out}", file.display()));
        assert!(line.contains(what) && line.contains(date), "{line}");
    }
}

#[test]
fn rfc5280_4_1_2_5_check_config_warns_about_expired_future_and_expiring_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let www = dir.path().join("www");
    std::fs::create_dir(&www).unwrap();
    let p = pairs(dir.path());
    let conf = dir.path().join("carbon.conf");
    std::fs::write(
        &conf,
        format!("port = 0\nwww_path = {}\n{}", www.display(), p.lines),
    )
    .unwrap();
    let (st, out) = run_carbond(
        &["--check-config", conf.to_str().unwrap()],
        Duration::from_secs(20),
    );
    // Warnings, not errors: the file is still valid.
    assert!(st.is_some_and(|s| s.success()), "{st:?}\n{out}");
    assert!(out.contains(": ok: "), "{out}");
    assert_warned(&out, &p.expect);
}

#[test]
fn rfc5280_4_1_2_5_startup_prints_expiry_warnings_on_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let p = pairs(dir.path());
    let server = Server::start(&p.lines);
    // Printed on stderr before the listening line on stdout; the two pipes are read
    // by different threads, so give the stderr reader a moment (bounded).
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while server.output().matches("warning").count() < p.expect.len()
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_warned(&server.output(), &p.expect);
}
