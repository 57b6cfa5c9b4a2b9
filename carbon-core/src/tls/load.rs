//! Loads one certificate chain and its private key from PEM files into a rustls
//! `CertifiedKey`, classifying every failure so the operator is told which file is wrong
//! and how.
//!
//! Accepted: a chain of `CERTIFICATE` blocks, leaf first (RFC 8446 section 4.4.2), and one
//! private key as PKCS#8, PKCS#1 (RSA) or SEC1 (EC) (RFC 7468). Other PEM blocks, such as
//! OpenSSL's `EC PARAMETERS`, are skipped, so one file may hold both chain and key.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

use super::error::{FileRole, KeyFormat, TlsError};
use super::validity;

/// A loaded pair plus the warnings it deserves (expiry); warnings never stop startup.
#[derive(Debug)]
pub struct Loaded {
    pub key: Arc<CertifiedKey>,
    pub warnings: Vec<String>,
}

/// Loads `cert_path` and `key_path` and checks that the key belongs to the leaf.
///
/// Both files are read and checked before returning, so a broken certificate and a
/// broken key are reported together.
pub fn certified_key(
    cert_path: &Path,
    key_path: &Path,
    provider: &CryptoProvider,
    now: SystemTime,
) -> Result<Loaded, TlsError> {
    let chain = read(cert_path, FileRole::Certificate).and_then(|pem| chain(cert_path, &pem));
    let key = read(key_path, FileRole::PrivateKey).and_then(|pem| private_key(key_path, &pem));
    let (chain, key) = match (chain, key) {
        (Ok(c), Ok(k)) => (c, k),
        (c, k) => {
            let errors = [c.err(), k.err()].into_iter().flatten().collect();
            return Err(TlsError::combine(errors));
        }
    };

    let format = match &key {
        PrivateKeyDer::Pkcs8(_) => KeyFormat::Pkcs8,
        PrivateKeyDer::Pkcs1(_) => KeyFormat::Pkcs1,
        _ => KeyFormat::Sec1,
    };
    // aws-lc-rs's key provider tries RSA (2048 to 8192 bits), then ECDSA (P-256, P-384,
    // P-521), then Ed25519 and ML-DSA (PKCS#8 only). Its message is generic, so ours names file and format.
    let signing_key =
        provider
            .key_provider
            .load_private_key(key)
            .map_err(|_| TlsError::UnsupportedKey {
                path: key_path.to_path_buf(),
                format,
            })?;

    let warnings = chain
        .iter()
        .enumerate()
        .filter_map(|(i, der)| {
            let what = match i {
                0 => format!("TLS certificate file {}", cert_path.display()),
                n => format!(
                    "TLS certificate file {} (chain certificate #{})",
                    cert_path.display(),
                    n + 1
                ),
            };
            validity::validity(der).and_then(|v| validity::warning(&what, &v, now))
        })
        .collect();

    let certified = CertifiedKey::new(chain, signing_key);
    // Compares the key's SubjectPublicKeyInfo with the leaf's (a serving mismatch makes
    // every handshake fail at CertificateVerify, RFC 8446 section 4.4.3).
    match certified.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            return Err(TlsError::KeyMismatch {
                cert: cert_path.to_path_buf(),
                key: key_path.to_path_buf(),
            })
        }
        // webpki could not parse the leaf. rustls words this for clients ("invalid peer
        // certificate"), so keep only the reason.
        Err(e) => {
            let reason = match e {
                rustls::Error::InvalidCertificate(why) => format!("{why:?}"),
                other => other.to_string(),
            };
            return Err(TlsError::MalformedCertificate {
                path: cert_path.to_path_buf(),
                reason,
            });
        }
    }
    Ok(Loaded {
        key: Arc::new(certified),
        warnings,
    })
}

fn read(path: &Path, role: FileRole) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => TlsError::FileMissing {
            path: path.to_path_buf(),
            role,
        },
        _ => TlsError::FileUnreadable {
            path: path.to_path_buf(),
            role,
            source,
        },
    })
}

/// Why a PEM file's framing is broken, in words that cannot quote the file.
fn pem_reason(e: &pem::Error) -> &'static str {
    match e {
        pem::Error::MissingSectionEnd { .. } => "a BEGIN line has no matching END line",
        pem::Error::IllegalSectionStart { .. } => "a BEGIN line is malformed",
        pem::Error::Base64Decode(_) => "a block is not valid base64",
        pem::Error::SectionTooLarge => "a block is larger than 256 MB",
        _ => "unreadable PEM",
    }
}

fn chain(path: &Path, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let chain = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::MalformedPem {
            path: path.to_path_buf(),
            role: FileRole::Certificate,
            reason: pem_reason(&e),
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    Ok(chain)
}

fn private_key(path: &Path, pem: &[u8]) -> Result<PrivateKeyDer<'static>, TlsError> {
    match PrivateKeyDer::from_pem_slice(pem) {
        Ok(key) => Ok(key),
        Err(pem::Error::NoItemsFound) if is_encrypted(pem) => Err(TlsError::EncryptedPrivateKey {
            path: path.to_path_buf(),
        }),
        Err(pem::Error::NoItemsFound) => Err(TlsError::NoPrivateKey {
            path: path.to_path_buf(),
        }),
        Err(e) => Err(TlsError::MalformedPem {
            path: path.to_path_buf(),
            role: FileRole::PrivateKey,
            reason: pem_reason(&e),
        }),
    }
}

/// PKCS#8 `ENCRYPTED PRIVATE KEY` (RFC 7468 section 11) or OpenSSL's legacy
/// `Proc-Type: 4,ENCRYPTED` header (RFC 1421 section 4.6.1.1).
fn is_encrypted(pem: &[u8]) -> bool {
    let contains = |needle: &[u8]| pem.windows(needle.len()).any(|w| w == needle);
    contains(b"-----BEGIN ENCRYPTED PRIVATE KEY-----") || contains(b"Proc-Type: 4,ENCRYPTED")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure
mod tests {
    use super::*;
    use crate::tls::test_util::*;
    use std::path::PathBuf;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/tls/testdata");

    fn fixture(name: &str) -> PathBuf {
        Path::new(FIXTURES).join(name)
    }

    fn load(cert: &Path, key: &Path) -> Result<Loaded, TlsError> {
        certified_key(
            cert,
            key,
            &crate::tls::policy::provider(),
            SystemTime::now(),
        )
    }

    /// A valid P-256 pair in `dir`.
    fn pair(dir: &Path, stem: &str) -> (PathBuf, PathBuf) {
        write_pem(
            dir,
            stem,
            &pem_for("localhost", &PKCS_ECDSA_P256_SHA256, yesterday()),
        )
    }

    fn assert_names(err: &TlsError, path: &Path) {
        let text = err.to_string();
        assert!(
            text.contains(&path.display().to_string()),
            "{text:?} does not name {path:?}"
        );
    }

    #[test]
    fn rfc5958_pkcs8_keys_of_every_supported_algorithm_load() {
        let dir = tempfile::tempdir().unwrap();
        for (i, alg) in [
            &PKCS_ECDSA_P256_SHA256,
            &PKCS_ECDSA_P384_SHA384,
            &PKCS_ED25519,
        ]
        .into_iter()
        .enumerate()
        {
            let (cert, key) = write_pem(
                dir.path(),
                &i.to_string(),
                &pem_for("a.test", alg, yesterday()),
            );
            assert!(std::fs::read_to_string(&key)
                .unwrap()
                .starts_with("-----BEGIN PRIVATE KEY-----"));
            load(&cert, &key).unwrap();
        }
        load(
            &fixture("rsa2048.cert.pem"),
            &fixture("rsa2048.pkcs8.key.pem"),
        )
        .unwrap();
    }

    #[test]
    fn rfc8017_pkcs1_rsa_key_loads() {
        load(
            &fixture("rsa2048.cert.pem"),
            &fixture("rsa2048.pkcs1.key.pem"),
        )
        .unwrap();
        // The same key, re-encoded here from its PKCS#8 form, is what OpenSSL wrote.
        let pkcs8 = std::fs::read_to_string(fixture("rsa2048.pkcs8.key.pem")).unwrap();
        let pkcs1 = PrivateKeyDer::from_pem_file(fixture("rsa2048.pkcs1.key.pem")).unwrap();
        assert_eq!(pkcs8_inner(&pkcs8), pkcs1.secret_der());
    }

    #[test]
    fn rfc5915_sec1_ec_keys_load_with_and_without_parameters() {
        // OpenSSL's shape: an EC PARAMETERS block, then the key with its curve OID.
        load(&fixture("p384.cert.pem"), &fixture("p384.sec1.key.pem")).unwrap();
        // The minimal shape: the ECPrivateKey taken out of a PKCS#8 wrapper.
        let dir = tempfile::tempdir().unwrap();
        for (i, alg) in [&PKCS_ECDSA_P256_SHA256, &PKCS_ECDSA_P384_SHA384]
            .into_iter()
            .enumerate()
        {
            let pem = pem_for("a.test", alg, yesterday());
            let (cert, key) = write_pem(dir.path(), &i.to_string(), &pem);
            std::fs::write(&key, pem_encode("EC PRIVATE KEY", &pkcs8_inner(&pem.key))).unwrap();
            load(&cert, &key).unwrap();
        }
    }

    #[test]
    fn chain_and_key_may_share_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let pem = pem_for("a.test", &PKCS_ECDSA_P256_SHA256, yesterday());
        let both = dir.path().join("both.pem");
        std::fs::write(&both, format!("{}{}", pem.key, pem.cert)).unwrap();
        load(&both, &both).unwrap();
    }

    #[test]
    fn missing_files_are_both_reported_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("nope.crt");
        let key = dir.path().join("nope.key");
        let err = load(&cert, &key).unwrap_err();
        let all = err.errors();
        assert_eq!(all.len(), 2, "{err}");
        assert!(
            matches!(
                all[0],
                TlsError::FileMissing {
                    role: FileRole::Certificate,
                    ..
                }
            ),
            "{err}"
        );
        assert!(
            matches!(
                all[1],
                TlsError::FileMissing {
                    role: FileRole::PrivateKey,
                    ..
                }
            ),
            "{err}"
        );
        assert_names(all[0], &cert);
        assert_names(all[1], &key);
    }

    #[test]
    fn unreadable_file_is_reported_with_the_os_reason() {
        let dir = tempfile::tempdir().unwrap();
        let (_, key) = pair(dir.path(), "a");
        // A directory cannot be read as a file, even by root (unlike mode 000).
        let err = load(dir.path(), &key).unwrap_err();
        assert!(
            matches!(
                err,
                TlsError::FileUnreadable {
                    role: FileRole::Certificate,
                    ..
                }
            ),
            "{err}"
        );
        assert_names(&err, dir.path());
    }

    #[test]
    fn permission_denied_is_unreadable_not_missing() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = pair(dir.path(), "a");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o000)).unwrap();
        if std::fs::read(&key).is_ok() {
            return; // running as root: permissions are not enforced, nothing to check
        }
        let err = load(&cert, &key).unwrap_err();
        assert!(
            matches!(
                err,
                TlsError::FileUnreadable {
                    role: FileRole::PrivateKey,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("ermission denied"), "{err}");
    }

    #[test]
    fn file_without_certificate_block_is_no_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let (_, key) = pair(dir.path(), "a");
        let err = load(&key, &key).unwrap_err();
        assert!(matches!(err, TlsError::NoCertificate { .. }), "{err}");
        assert_names(&err, &key);
    }

    #[test]
    fn rfc7468_broken_pem_framing_is_malformed_pem() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = pair(dir.path(), "a");
        std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\nMIIB\n").unwrap();
        let err = load(&cert, &key).unwrap_err();
        assert!(
            matches!(
                err,
                TlsError::MalformedPem {
                    role: FileRole::Certificate,
                    ..
                }
            ),
            "{err}"
        );
        assert_names(&err, &cert);
        std::fs::write(
            &cert,
            "-----BEGIN CERTIFICATE-----\n!!not base64!!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let err = load(&cert, &key).unwrap_err();
        assert!(matches!(err, TlsError::MalformedPem { .. }), "{err}");
    }

    #[test]
    fn certificate_block_that_is_not_x509_is_malformed_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = pair(dir.path(), "a");
        std::fs::write(&cert, pem_encode("CERTIFICATE", b"\x30\x03\x02\x01\x01")).unwrap();
        let err = load(&cert, &key).unwrap_err();
        assert!(
            matches!(err, TlsError::MalformedCertificate { .. }),
            "{err}"
        );
        assert_names(&err, &cert);
    }

    #[test]
    fn file_without_key_block_is_no_private_key() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, _) = pair(dir.path(), "a");
        let err = load(&cert, &cert).unwrap_err();
        assert!(matches!(err, TlsError::NoPrivateKey { .. }), "{err}");
        assert_names(&err, &cert);
    }

    #[test]
    fn rfc7468_11_encrypted_key_is_named_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = pair(dir.path(), "a");
        std::fs::write(&key, pem_encode("ENCRYPTED PRIVATE KEY", b"\x30\x00")).unwrap();
        let err = load(&cert, &key).unwrap_err();
        assert!(matches!(err, TlsError::EncryptedPrivateKey { .. }), "{err}");
        assert_names(&err, &key);
    }

    #[test]
    fn rfc8410_x25519_key_cannot_sign_and_is_unsupported() {
        // PKCS#8 for an X25519 key (RFC 8410 section 7): valid, but a key-agreement key.
        let mut der = b"\x30\x2e\x02\x01\x00\x30\x05\x06\x03\x2b\x65\x6e\x04\x22\x04\x20".to_vec();
        der.extend([7u8; 32]);
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = pair(dir.path(), "a");
        std::fs::write(&key, pem_encode("PRIVATE KEY", &der)).unwrap();
        let err = load(&cert, &key).unwrap_err();
        assert!(
            matches!(
                err,
                TlsError::UnsupportedKey {
                    format: KeyFormat::Pkcs8,
                    ..
                }
            ),
            "{err}"
        );
        assert_names(&err, &key);
    }

    #[test]
    fn key_of_another_certificate_is_a_mismatch_naming_both_files() {
        let dir = tempfile::tempdir().unwrap();
        let (cert_a, _) = pair(dir.path(), "a");
        let (_, key_b) = pair(dir.path(), "b");
        let err = load(&cert_a, &key_b).unwrap_err();
        assert!(matches!(err, TlsError::KeyMismatch { .. }), "{err}");
        assert_names(&err, &cert_a);
        assert_names(&err, &key_b);
    }

    #[test]
    fn messages_never_quote_key_material() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = pair(dir.path(), "a");
        let secret = "SECRETKEYBYTES";
        std::fs::write(
            &key,
            format!("-----BEGIN PRIVATE KEY-----\n{secret}!\n-----END PRIVATE KEY-----\n"),
        )
        .unwrap();
        let err = load(&cert, &key).unwrap_err();
        assert!(matches!(err, TlsError::MalformedPem { .. }), "{err}");
        assert!(!err.to_string().contains(secret), "{err}");
        assert!(!format!("{err:?}").contains(secret), "{err:?}");
    }

    #[test]
    fn rfc5280_4_1_2_5_expired_certificate_is_a_warning_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let long_ago = time::OffsetDateTime::now_utc() - time::Duration::days(400);
        let (cert, key) = write_pem(
            dir.path(),
            "old",
            &pem_for("a.test", &PKCS_ECDSA_P256_SHA256, long_ago),
        );
        let loaded = load(&cert, &key).unwrap();
        assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
        assert!(
            loaded.warnings[0].contains("EXPIRED"),
            "{:?}",
            loaded.warnings
        );
        assert!(loaded.warnings[0].contains(&cert.display().to_string()));
    }

    #[test]
    fn rfc5280_4_1_2_5_not_yet_valid_certificate_is_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let tomorrow = time::OffsetDateTime::now_utc() + time::Duration::days(1);
        let (cert, key) = write_pem(
            dir.path(),
            "new",
            &pem_for("a.test", &PKCS_ECDSA_P256_SHA256, tomorrow),
        );
        let loaded = load(&cert, &key).unwrap();
        assert!(
            loaded.warnings[0].contains("not valid until"),
            "{:?}",
            loaded.warnings
        );
    }
}
