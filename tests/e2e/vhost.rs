//! Name-based virtual hosts end to end (docs/sites.md): `[site ...]` sections with
//! their own roots, certificates, error pages and headers on one port, chosen by
//! Host (and checked against SNI), over HTTP/1.1 with a rustls client and over
//! HTTP/2 with curl; unknown names served by the default site or refused; a reload
//! adding a site; `--check-config` listing every site and accepting the example.

use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use rustls::version::TLS13;

use crate::harness::{curl, run_carbond, Server, INDEX_HTML, SUB_INDEX_HTML};
use crate::reload::reload;
use crate::tls::{
    cert_der, client_config, gen_cert, handshake, read_to_close, RecordingVerifier, TlsServer,
};

const A_INDEX: &str = "<p>site a</p>\n";
const A_404: &str = "<p>site a has no such page</p>\n";
const B_INDEX: &str = "<p>site b</p>\n";

/// Two sites, each with its own certificate and root, beside the default one.
fn two_sites(extra: &str) -> TlsServer {
    let config = format!(
        "www_path = {{base}}/www\n{extra}\n\
         [site a.test www.a.test]\n\
         www_path = {{certs}}/a/www\n\
         ssl_cert_path = {{certs}}/a/cert.pem\n\
         ssl_key_path = {{certs}}/a/key.pem\n\
         error_page_404 = 404.html\n\
         header_add = X-Site: a\n\
         hsts_max_age = 600\n\
         \n\
         [site b.test]\n\
         www_path = {{certs}}/b/www\n\
         ssl_cert_path = {{certs}}/b/cert.pem\n\
         ssl_key_path = {{certs}}/b/key.pem\n\
         redirect_http_to_https = true\n"
    );
    TlsServer::start_with(&config, |dir| {
        for (site, names, index) in [
            ("a", &["a.test", "www.a.test"][..], A_INDEX),
            ("b", &["b.test"][..], B_INDEX),
        ] {
            gen_cert(&dir.join(site), names);
            let www = dir.join(site).join("www");
            std::fs::create_dir_all(&www).unwrap();
            std::fs::write(www.join("index.html"), index).unwrap();
        }
        std::fs::write(dir.join("a/www/404.html"), A_404).unwrap();
    })
}

fn cert(s: &TlsServer, site: &str) -> std::path::PathBuf {
    s._certs.path().join(site).join("cert.pem")
}

#[test]
fn two_sites_with_two_certificates_on_one_port_each_serve_their_own_root() {
    let s = two_sites("");
    let (a_cert, b_cert) = (cert(&s, "a"), cert(&s, "b"));
    // Trust all three, so only the server's choice decides which one is shown.
    let cfg = Arc::new(client_config(&[&TLS13], &[&s.cert, &a_cert, &b_cert]));
    for (name, cert, body) in [
        ("a.test", &a_cert, A_INDEX),
        ("WWW.A.test", &a_cert, A_INDEX),
        ("b.test", &b_cert, B_INDEX),
    ] {
        let x = s.get(&cfg, name, "/");
        assert_eq!(x.peer_cert.as_ref(), Some(&cert_der(cert)), "{name}");
        assert_eq!(x.response.status, 200, "{name}");
        assert_eq!(x.response.body_str(), body, "{name}");
    }
    // The default site keeps its own certificate and root for any other name.
    let x = s.get(&cfg, "localhost", "/");
    assert_eq!(x.peer_cert.as_ref(), Some(&cert_der(&s.cert)));
    assert_eq!(x.response.body_str(), INDEX_HTML);
}

#[test]
fn each_site_has_its_own_error_page_and_headers() {
    let s = two_sites("");
    let cfg = Arc::new(client_config(
        &[&TLS13],
        &[&s.cert, &cert(&s, "a"), &cert(&s, "b")],
    ));
    let a = s.get(&cfg, "a.test", "/missing").response;
    assert_eq!(a.status, 404);
    assert_eq!(a.body_str(), A_404);
    assert_eq!(a.header("x-site"), Some("a"));
    assert_eq!(a.header("strict-transport-security"), Some("max-age=600"));
    let b = s.get(&cfg, "b.test", "/missing").response;
    assert_eq!(b.status, 404);
    assert_ne!(b.body_str(), A_404);
    assert_eq!(b.header("x-site"), None);
    assert_eq!(
        b.header("strict-transport-security"),
        Some("max-age=31536000")
    );
    // RFC 9110 §15.4.2: only site b moves plain HTTP to HTTPS.
    let plain = |host: &str| {
        s.server.request(
            format!("GET /x?y HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
    };
    let r = plain("b.test");
    assert_eq!(r.status, 301);
    let want = format!("https://b.test:{}/x?y", s.https_port);
    assert_eq!(r.header("location"), Some(want.as_str()));
    assert_eq!(r.header("strict-transport-security"), None);
    assert_eq!(plain("a.test").status, 404);
}

/// A client that accepts any certificate (recording it), for names no certificate
/// covers.
fn any_cert_client() -> Arc<rustls::ClientConfig> {
    let verifier = RecordingVerifier::new();
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .dangerous()
    .with_custom_certificate_verifier(verifier)
    .with_no_client_auth();
    Arc::new(cfg)
}

/// `GET /` over a connection whose handshake named `sni`, with `Host: host`.
fn get_with_host(s: &TlsServer, sni: &str, host: &str) -> crate::harness::Response {
    get_over(
        handshake(s.https_addr(), &any_cert_client(), sni).unwrap(),
        host,
    )
}

/// As [`get_with_host`], but the ClientHello is cut into records of 64 bytes, each
/// sent on its own after a pause, so the server reads (and rustls consumes) them one
/// by one (RFC 8446 §5.1 allows it; some clients do it to hide the name from
/// middleboxes).
fn get_with_host_fragmented(s: &TlsServer, sni: &str, host: &str) -> crate::harness::Response {
    use std::io::Write;
    let name = rustls::pki_types::ServerName::try_from(sni.to_string()).unwrap();
    let mut conn = rustls::ClientConnection::new(any_cert_client(), name).unwrap();
    let mut sock = crate::tls::tcp(s.https_addr());
    let mut hello = Vec::new();
    while conn.wants_write() {
        conn.write_tls(&mut hello).unwrap();
    }
    for part in hello[5..].chunks(64) {
        let mut record = hello[..3].to_vec();
        record.extend_from_slice(&(part.len() as u16).to_be_bytes());
        record.extend_from_slice(part);
        sock.write_all(&record).unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
    get_over(rustls::StreamOwned::new(conn, sock), host)
}

/// `GET /` with `Host: host` and `Connection: close` over `tls`, read to the close.
fn get_over(mut tls: impl std::io::Read + std::io::Write, host: &str) -> crate::harness::Response {
    let req = format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    tls.write_all(req.as_bytes()).unwrap();
    crate::harness::parse_first(&read_to_close(&mut tls).unwrap())
}

#[test]
fn rfc9110_15_5_20_sni_of_one_site_and_host_of_another_is_misdirected() {
    let s = two_sites("");
    let r = get_with_host(&s, "a.test", "b.test");
    assert_eq!(r.status, 421);
    let r = get_with_host(&s, "a.test", "unknown.test");
    assert_eq!(r.status, 421);
    // The same names agreeing, and an SNI no site names, are served.
    let r = get_with_host(&s, "a.test", "www.a.test:443");
    assert_eq!((r.status, r.body_str().as_str()), (200, A_INDEX));
    let r = get_with_host(&s, "unknown.test", "b.test");
    assert_eq!((r.status, r.body_str().as_str()), (200, B_INDEX));
}

/// The same check when the ClientHello arrives split over many records: its name is
/// read all the same, so a split hello cannot dodge the 421.
#[test]
fn rfc9110_15_5_20_sni_of_a_client_hello_split_over_records_is_checked_too() {
    let s = two_sites("");
    let r = get_with_host_fragmented(&s, "a.test", "b.test");
    assert_eq!(r.status, 421);
    let r = get_with_host_fragmented(&s, "a.test", "a.test");
    assert_eq!((r.status, r.body_str().as_str()), (200, A_INDEX));
}

#[test]
fn unknown_name_gets_the_default_site_and_421_with_unknown_host_refuse() {
    let s = two_sites("");
    let r = get_with_host(&s, "unknown.test", "unknown.test");
    assert_eq!((r.status, r.body_str().as_str()), (200, INDEX_HTML));
    let s = two_sites("unknown_host = refuse");
    let r = get_with_host(&s, "unknown.test", "unknown.test");
    assert_eq!(r.status, 421);
    let r = get_with_host(&s, "b.test", "b.test");
    assert_eq!((r.status, r.body_str().as_str()), (200, B_INDEX));
}

fn curl_h2(s: &TlsServer, name: &str, ca: &Path, path: &str) -> Output {
    let port = s.https_port;
    curl()
        .args(["--http2", "-i", "--cacert"])
        .arg(ca)
        .arg("--resolve")
        .arg(format!("{name}:{port}:127.0.0.1"))
        .arg(format!("https://{name}:{port}{path}"))
        .output()
        .unwrap()
}

#[test]
fn http2_each_site_by_authority_with_its_own_certificate() {
    let s = two_sites("");
    for (name, site, body) in [("a.test", "a", A_INDEX), ("b.test", "b", B_INDEX)] {
        // curl checks the certificate against the site's own CA file only.
        let out = curl_h2(&s, name, &cert(&s, site), "/");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{name}: {text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.starts_with("HTTP/2 200"), "{name}: {text}");
        assert!(text.ends_with(body), "{name}: {text}");
    }
    let out = curl_h2(&s, "a.test", &cert(&s, "a"), "/missing");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("HTTP/2 404"), "{text}");
    assert!(text.contains("x-site: a"), "{text}");
    assert!(text.ends_with(A_404), "{text}");
}

#[test]
fn http2_authority_of_another_site_on_a_connection_is_misdirected() {
    let s = two_sites("");
    // SNI a.test (from the URL), :authority b.test (the Host header curl turns into
    // :authority): the coalescing case RFC 9110 §15.5.20 names.
    let port = s.https_port;
    let out = curl()
        .args(["--http2", "-i", "--cacert"])
        .arg(cert(&s, "a"))
        .arg("--resolve")
        .arg(format!("a.test:{port}:127.0.0.1"))
        .args(["-H", "Host: b.test"])
        .arg(format!("https://a.test:{port}/"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("HTTP/2 421"), "{text}");
}

#[test]
fn plain_http_sites_by_host_and_reload_adds_one() {
    let s = Server::start("www_path = {base}/www\nunknown_host = default\n");
    let by_host = |host: &str| {
        s.request(format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes())
    };
    assert_eq!(by_host("a.test").body_str(), INDEX_HTML);
    let conf = s.base().join("carbon.conf");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    text.push_str(&format!(
        "[site a.test]\nwww_path = {}\n",
        s.www().join("sub").display()
    ));
    std::fs::write(&conf, &text).unwrap();
    reload(&s, 2).unwrap();
    let r = by_host("A.TEST.");
    assert_eq!((r.status, r.body_str().as_str()), (200, SUB_INDEX_HTML));
    assert_eq!(by_host("other.test").body_str(), INDEX_HTML);
    // A changed site root and refusing unknown names take effect with the next
    // reload too.
    let sub = format!("www_path = {}\n", s.www().join("sub").display());
    let root = format!("www_path = {}\n", s.www().display());
    text = text
        .replace("unknown_host = default", "unknown_host = refuse")
        .replace(&sub, &root);
    std::fs::write(&conf, &text).unwrap();
    reload(&s, 3).unwrap();
    assert_eq!(by_host("other.test").status, 421);
    let r = by_host("a.test");
    assert_eq!((r.status, r.body_str().as_str()), (200, INDEX_HTML));
}

#[test]
fn check_config_lists_every_site_and_names_errors_in_sections() {
    let dir = tempfile::tempdir().unwrap();
    let www = dir.path().join("www");
    std::fs::create_dir(&www).unwrap();
    let conf = dir.path().join("carbon.conf");
    std::fs::write(
        &conf,
        format!(
            "www_path = {w}\n[site a.test www.a.test]\nwww_path = {w}\n[site b.test]\nport = 1\nwww_path = {w}/nope\n",
            w = www.display()
        ),
    )
    .unwrap();
    let (status, out) = run_carbond(
        &[std::ffi::OsStr::new("--check-config"), conf.as_os_str()],
        Duration::from_secs(20),
    );
    assert!(!status.unwrap().success(), "{out}");
    let c = conf.display();
    assert!(
        out.contains(&format!("{c}:5: key `port`: a global setting")),
        "{out}"
    );
    assert!(
        out.contains(&format!("{c}:4: [site b.test] www_path")),
        "{out}"
    );

    std::fs::write(
        &conf,
        format!(
            "www_path = {w}\n[site a.test www.a.test]\nwww_path = {w}\n",
            w = www.display()
        ),
    )
    .unwrap();
    let (status, out) = run_carbond(
        &[std::ffi::OsStr::new("--check-config"), conf.as_os_str()],
        Duration::from_secs(20),
    );
    assert!(status.unwrap().success(), "{out}");
    assert!(
        out.contains("[site a.test www.a.test] (line 2): serving"),
        "{out}"
    );
}

#[test]
fn the_documented_multi_site_example_passes_check_config() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../etc/examples/sites.conf");
    let text = std::fs::read_to_string(&example).unwrap();
    // The example names /srv/... roots and /etc/carbon/... certificates: rebuild
    // them under a temporary directory, then check the file as written there.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().display().to_string();
    let text = text
        .replace("/srv/", &format!("{root}/srv/"))
        .replace("/etc/carbon/", &format!("{root}/etc/carbon/"))
        .replace("/var/log/carbon/", &format!("{root}/log/"));
    // Roots, log directories, certificates, and the files a site names inside its
    // root (error page, SPA fallback), section by section.
    let mut current_root = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with('[') {
            current_root.clear();
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if key.starts_with('#') {
            continue;
        }
        match key {
            "www_path" => {
                std::fs::create_dir_all(value).unwrap();
                current_root = value.to_owned();
            }
            "access_log" | "log_file" => {
                std::fs::create_dir_all(Path::new(value).parent().unwrap()).unwrap()
            }
            "ssl_cert_path" => {
                let cert = Path::new(value);
                let dir = cert.parent().unwrap().join(format!(
                    "gen-{}",
                    cert.file_stem().unwrap().to_string_lossy()
                ));
                let (c, k) = gen_cert(&dir, &[]);
                std::fs::rename(c, cert).unwrap();
                std::fs::rename(k, cert.with_extension("key")).unwrap();
            }
            "error_page_404" | "spa_fallback" => {
                assert!(
                    !current_root.is_empty(),
                    "{key} before any www_path in the example"
                );
                let p = Path::new(&current_root).join(value.trim_start_matches('/'));
                std::fs::write(p, "x").unwrap();
            }
            _ => {}
        }
    }
    let conf = dir.path().join("sites.conf");
    std::fs::write(&conf, &text).unwrap();
    let (status, out) = run_carbond(
        &[std::ffi::OsStr::new("--check-config"), conf.as_os_str()],
        Duration::from_secs(20),
    );
    assert!(status.unwrap().success(), "{out}\n{text}");
    assert!(out.contains("[site example.com www.example.com]"), "{out}");
}

#[test]
fn carbonctl_stats_counts_responses_per_site_in_every_format() {
    let s = Server::start(
        "www_path = {base}/www\n[site a.test www.a.test]\nwww_path = {base}/www/sub\n",
    );
    let get = |host: &str, path: &str| {
        s.request(
            format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
    };
    assert_eq!(get("a.test", "/").status, 200);
    assert_eq!(get("www.a.test", "/").status, 200);
    assert_eq!(get("a.test", "/missing").status, 404);
    assert_eq!(get("other.test", "/").status, 200);
    let sock = s.base().join("carbond.sock");
    let ctl = |args: &[&str]| {
        let o = std::process::Command::new(crate::control::carbonctl())
            .arg("--socket")
            .arg(&sock)
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{o:?}");
        String::from_utf8(o.stdout).unwrap()
    };
    let json: serde_json::Value = serde_json::from_str(&ctl(&["stats", "--json"])).unwrap();
    assert_eq!(json["sites"]["a.test"]["2xx"], 2, "{json}");
    assert_eq!(json["sites"]["a.test"]["4xx"], 1, "{json}");
    assert_eq!(json["sites"]["(default)"]["2xx"], 1, "{json}");
    let prom = ctl(&["stats", "--prometheus"]);
    assert!(
        prom.contains("carbon_site_responses_total{site=\"a.test\",class=\"2xx\"} 2"),
        "{prom}"
    );
    let human = ctl(&["stats"]);
    let line = human
        .lines()
        .find(|l| l.trim_start().starts_with("a.test"))
        .unwrap_or_else(|| panic!("{human}"));
    let numbers: Vec<&str> = line.split_whitespace().skip(1).collect();
    assert_eq!(numbers, ["2", "0", "1", "0", "3"], "{human}");
}

#[test]
fn check_config_names_the_section_of_a_missing_site_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = gen_cert(&dir.path().join("default"), &[]);
    let conf = dir.path().join("carbon.conf");
    std::fs::write(
        &conf,
        format!(
            "www_path = {d}\nuse_https = on\nssl_cert_path = {c}\nssl_key_path = {k}\n\n\
             [site a.test]\nssl_cert_path = {d}/a.pem\nssl_key_path = {d}/a.key\n",
            d = dir.path().display(),
            c = cert.display(),
            k = key.display()
        ),
    )
    .unwrap();
    let (status, out) = run_carbond(
        &[std::ffi::OsStr::new("--check-config"), conf.as_os_str()],
        Duration::from_secs(20),
    );
    assert!(!status.unwrap().success(), "{out}");
    let want = format!("{}:6: [site a.test] ssl_cert_path: ", conf.display());
    assert!(out.contains(&want), "{want} not in:\n{out}");
}
