//! Writes a self-signed certificate and its key (`carbond --gen-self-signed DIR`), for
//! development and for hosts that only need encryption towards clients that are told to
//! trust this one certificate (`curl --cacert DIR/cert.pem`).

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, KeyPair, PKCS_ECDSA_P256_SHA256};
use rustls::pki_types::DnsName;
use time::OffsetDateTime;

use super::error::TlsError;

/// Names every generated certificate covers, so `https://localhost/` works over IPv4
/// and IPv6 loopback without further arguments.
pub const DEFAULT_NAMES: &[&str] = &["localhost", "127.0.0.1", "::1"];

/// File names inside the output directory.
pub const CERT_FILE: &str = "cert.pem";
pub const KEY_FILE: &str = "key.pem";

/// One year: long enough for a development setup, and well inside the 398 days that
/// browsers accept for a leaf certificate (CA/Browser Forum Baseline Requirements
/// section 6.3.2).
const VALIDITY_DAYS: i64 = 365;

/// Generates an ECDSA P-256 key and a certificate for `localhost`, `127.0.0.1`, `::1`
/// and `names`, valid for one year, and writes `DIR/cert.pem` (mode 0644) and
/// `DIR/key.pem` (mode 0600).
///
/// `dir` is created if needed. Existing files are never overwritten: a key in that
/// place may be the only copy of a real one, so the call fails with
/// [`TlsError::WouldOverwrite`] and the operator removes it deliberately.
pub fn generate_self_signed(dir: &Path, names: &[String]) -> Result<(PathBuf, PathBuf), TlsError> {
    let mut all: Vec<String> = DEFAULT_NAMES.iter().map(|n| n.to_string()).collect();
    for name in names {
        let name = name.trim().to_ascii_lowercase();
        if !all.contains(&name) {
            all.push(name);
        }
    }
    // Backdated an hour so a client whose clock lags a little does not see a
    // certificate that is "not yet valid".
    let pem = generate_pem(&all, OffsetDateTime::now_utc() - time::Duration::hours(1))?;

    fs::create_dir_all(dir).map_err(|source| TlsError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let cert_path = dir.join(CERT_FILE);
    let key_path = dir.join(KEY_FILE);
    for path in [&cert_path, &key_path] {
        if path.symlink_metadata().is_ok() {
            return Err(TlsError::WouldOverwrite { path: path.clone() });
        }
    }
    // The key first: if it cannot be written there is no orphan certificate.
    write_new(&key_path, pem.key.as_bytes(), 0o600)?;
    write_new(&cert_path, pem.cert.as_bytes(), 0o644)?;
    Ok((cert_path, key_path))
}

pub(crate) struct GeneratedPem {
    pub cert: String,
    pub key: String,
}

/// The certificate and PKCS#8 key as PEM, valid from `not_before` for one year.
pub(crate) fn generate_pem(
    names: &[String],
    not_before: OffsetDateTime,
) -> Result<GeneratedPem, TlsError> {
    generate_pem_with(names, not_before, &PKCS_ECDSA_P256_SHA256)
}

pub(crate) fn generate_pem_with(
    names: &[String],
    not_before: OffsetDateTime,
    alg: &'static rcgen::SignatureAlgorithm,
) -> Result<GeneratedPem, TlsError> {
    let generate = |e: rcgen::Error| TlsError::Generate {
        reason: e.to_string(),
    };
    // rcgen turns each string into an IP SAN when it parses as an address, else a DNS
    // SAN; it refuses names that are neither.
    let mut params = CertificateParams::new(Vec::new()).map_err(generate)?;
    for name in names {
        let invalid = || TlsError::InvalidCertificateName { name: name.clone() };
        // rcgen accepts any ASCII as a DNS SAN; a name with a space would make a
        // certificate no client can match, so refuse it here.
        if name.parse::<std::net::IpAddr>().is_err() && !is_dns_name_or_wildcard(name) {
            return Err(invalid());
        }
        let one = CertificateParams::new(vec![name.clone()]).map_err(|_| invalid())?;
        params.subject_alt_names.extend(one.subject_alt_names);
    }
    let common_name = names.first().map_or("localhost", String::as_str);
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Carbon self-signed");
    // serverAuth only (RFC 5280 section 4.2.1.12): the key cannot be misused as a CA or
    // for client authentication even if someone trusts it too broadly.
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.not_before = not_before;
    params.not_after = not_before + time::Duration::days(VALIDITY_DAYS);

    let key = KeyPair::generate_for(alg).map_err(generate)?;
    let cert = params.self_signed(&key).map_err(generate)?;
    Ok(GeneratedPem {
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

/// A DNS name, or `*.` followed by one: a wildcard covers exactly one label (RFC 6125
/// section 6.4.3), which is what the SNI resolver matches too. webpki rejects `*`
/// inside a `DnsName`, so the wildcard label is split off before the check. A
/// wildcard directly over a top-level name (`*.test`) is refused: clients never
/// match it (RFC 6125 section 7.2).
fn is_dns_name_or_wildcard(name: &str) -> bool {
    match name.strip_prefix("*.") {
        Some(parent) => {
            parent.contains('.') && !parent.contains('*') && DnsName::try_from(parent).is_ok()
        }
        None => DnsName::try_from(name).is_ok(),
    }
}

/// Creates `path` with `mode` (never following or replacing an existing file) and
/// writes `contents`. The mode is set at creation, so the key is never readable by
/// others, not even for an instant.
fn write_new(path: &Path, contents: &[u8], mode: u32) -> Result<(), TlsError> {
    let write = || -> io::Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(path)?;
        file.write_all(contents)?;
        file.sync_all()
    };
    write().map_err(|source| match source.kind() {
        io::ErrorKind::AlreadyExists => TlsError::WouldOverwrite {
            path: path.to_path_buf(),
        },
        _ => TlsError::WriteFile {
            path: path.to_path_buf(),
            source,
        },
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};

    /// Verifies the certificate as its own trust anchor for `name`, the way a rustls
    /// client given `--cacert cert.pem` would.
    fn sans_cover(cert_pem: &[u8], name: &str) -> bool {
        use rustls::client::danger::ServerCertVerifier;
        let der = CertificateDer::from_pem_slice(cert_pem).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(der.clone()).unwrap();
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
            std::sync::Arc::new(roots),
            std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
        )
        .build()
        .unwrap();
        let name = ServerName::try_from(name.to_string()).unwrap();
        verifier
            .verify_server_cert(&der, &[], &name, &[], rustls::pki_types::UnixTime::now())
            .is_ok()
    }

    #[test]
    fn writes_cert_and_0600_key_covering_loopback_names_and_extras() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("new/sub");
        let (cert, key) = generate_self_signed(&out, &["Example.TEST".to_string()]).unwrap();
        assert_eq!(cert, out.join("cert.pem"));
        assert_eq!(key, out.join("key.pem"));
        let mode = fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let pem = fs::read(&cert).unwrap();
        for name in ["localhost", "127.0.0.1", "::1", "example.test"] {
            assert!(sans_cover(&pem, name), "{name} not covered");
        }
        assert!(!sans_cover(&pem, "other.test"));
        // The generated pair loads through the same path as configured files.
        let provider = crate::tls::policy::provider();
        crate::tls::load::certified_key(&cert, &key, &provider, std::time::SystemTime::now())
            .map(|l| assert!(l.warnings.is_empty(), "{:?}", l.warnings))
            .unwrap();
    }

    #[test]
    fn never_overwrites_an_existing_key() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("key.pem"), b"precious").unwrap();
        let err = generate_self_signed(dir.path(), &[]).unwrap_err();
        assert!(matches!(err, TlsError::WouldOverwrite { .. }), "{err}");
        assert!(err.to_string().contains("key.pem"), "{err}");
        assert_eq!(fs::read(dir.path().join("key.pem")).unwrap(), b"precious");
        assert!(!dir.path().join("cert.pem").exists());
    }

    #[test]
    fn uncreatable_directory_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain-file");
        fs::write(&file, b"").unwrap();
        let err = generate_self_signed(&file.join("sub"), &[]).unwrap_err();
        assert!(matches!(err, TlsError::CreateDir { .. }), "{err}");
        assert!(err.to_string().contains("plain-file/sub"), "{err}");
    }

    #[test]
    fn rfc6125_6_4_3_wildcard_name_is_accepted_and_covers_one_label() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, _) = generate_self_signed(dir.path(), &["*.c.test".to_string()]).unwrap();
        let pem = fs::read(&cert).unwrap();
        assert!(sans_cover(&pem, "a.c.test"));
        assert!(!sans_cover(&pem, "c.test"));
        assert!(!sans_cover(&pem, "a.b.c.test"));
        for bad in ["*.test", "a.*.test", "**.c.test", "*"] {
            let err = generate_pem(&[bad.to_string()], OffsetDateTime::now_utc());
            assert!(
                matches!(err, Err(TlsError::InvalidCertificateName { .. })),
                "{bad} accepted"
            );
        }
    }

    #[test]
    fn invalid_extra_name_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = generate_self_signed(dir.path(), &["bad name".to_string()]).unwrap_err();
        assert!(
            matches!(err, TlsError::InvalidCertificateName { .. }),
            "{err}"
        );
        assert!(!dir.path().join("key.pem").exists());
    }
}
