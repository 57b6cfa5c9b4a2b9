//! TLS for Carbon, everything except socket I/O: the policy (versions, suites, groups,
//! ALPN, resumption), loading and checking certificates and keys, choosing a certificate
//! by SNI, and writing a self-signed pair.
//!
//! The output is an `Arc<rustls::ServerConfig>`. The driver creates one [`TlsSession`]
//! (rustls's unbuffered connection, buffers freed when empty) per accepted socket from
//! it and moves bytes. Building the config reads files and is
//! done at startup and on reload, never on a worker's hot path. See `docs/tls.md`.

mod client_hello;
mod error;
mod load;
pub mod policy;
mod self_signed;
mod session;
mod sni;
pub mod ticket_keys;
mod validity;

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure
mod handshake_tests;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod test_util;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use rustls::server::ServerSessionMemoryCache;
use rustls::{ServerConfig, ServerConnection};

use crate::config::{Config, SniCert};

pub use error::{FileRole, KeyFormat, TlsError};
pub use self_signed::{generate_self_signed, CERT_FILE, DEFAULT_NAMES, KEY_FILE};
#[cfg(feature = "driver")]
pub(crate) use session::MAX_FRAGMENT;
pub use session::{TlsSession, MAX_INCOMING, MAX_OUTGOING};
pub use sni::{SniNames, SniResolver};
pub use validity::EXPIRY_WARNING_DAYS;

/// The TLS part of the configuration: what [`TlsSettings::build`] needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// Default chain (leaf first), used when no `ssl_sni` entry matches.
    pub cert: PathBuf,
    pub key: PathBuf,
    pub sni: Vec<SniCert>,
    /// Offer `h2` in ALPN (RFC 9113 section 3.2) before `http/1.1`.
    pub offer_h2: bool,
    /// Bound of the TLS 1.2 session-ID cache; see [`policy::SESSION_CACHE_ENTRIES`].
    pub session_cache_entries: usize,
    /// `ssl_ticket_key_file`: session tickets sealed with shared keys
    /// (`ticket_keys.rs`); `None` = a fresh random key per configuration.
    pub ticket_key_file: Option<PathBuf>,
}

/// A built server configuration and the warnings found while building it.
#[derive(Debug)]
pub struct ServerTls {
    pub config: Arc<ServerConfig>,
    /// Human-readable, each naming its file: expired, not yet valid or soon-expiring
    /// certificates. They never prevent serving; print them where the operator looks.
    pub warnings: Vec<String>,
}

impl TlsSettings {
    pub fn from_config(cfg: &Config) -> Self {
        TlsSettings {
            cert: cfg.ssl_cert_path.clone(),
            key: cfg.ssl_key_path.clone(),
            sni: cfg.ssl_sni.clone(),
            offer_h2: cfg.enable_http2,
            session_cache_entries: policy::SESSION_CACHE_ENTRIES,
            ticket_key_file: cfg.ssl_ticket_key_file.clone(),
        }
    }

    /// Loads and checks every certificate and key, then assembles the rustls config.
    ///
    /// All files are checked even after the first failure, so one run reports every
    /// problem ([`TlsError::Several`]). Nothing is shared with a previous config: a
    /// reload gets fresh session-ticket keys (or reads `ssl_ticket_key_file` again),
    /// so without a key file clients resume no session from before the reload and do
    /// one full handshake instead. `now` decides the expiry warnings.
    pub fn build(&self, now: SystemTime) -> Result<ServerTls, TlsError> {
        let provider = policy::provider();
        let mut errors = Vec::new();
        let mut warnings = Vec::new();

        let default = match load::certified_key(&self.cert, &self.key, &provider, now) {
            Ok(loaded) => {
                warnings.extend(loaded.warnings);
                Some(loaded.key)
            }
            Err(e) => {
                errors.push(e);
                None
            }
        };

        let mut names = SniNames::default();
        for entry in &self.sni {
            match load::certified_key(&entry.cert, &entry.key, &provider, now) {
                Ok(loaded) => {
                    warnings.extend(loaded.warnings);
                    if let Err(e) = names.add(&entry.name, loaded.key) {
                        errors.push(e);
                    }
                }
                Err(e) => {
                    if let Err(name_error) = sni::validate_name(&entry.name) {
                        errors.push(name_error);
                    }
                    errors.extend(e.into_errors().into_iter().map(|e| TlsError::Sni {
                        name: entry.name.clone(),
                        error: Box::new(e),
                    }));
                }
            }
        }

        let default = match default {
            Some(default) if errors.is_empty() => default,
            // A missing default always pushed its error, so `errors` is not empty.
            _ => return Err(TlsError::combine(errors)),
        };
        let resolver = SniResolver::new(default, names);

        let mut config = ServerConfig::builder_with_provider(Arc::new(provider))
            .with_protocol_versions(policy::PROTOCOL_VERSIONS)
            .map_err(TlsError::Rustls)?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(resolver));
        config.alpn_protocols = policy::alpn_protocols(self.offer_h2);
        // Stateless tickets (RFC 8446 section 4.6.1, RFC 5077) serve TLS 1.3 and most
        // TLS 1.2 clients. The key rotates every 6 hours and tickets live 12 hours,
        // which bounds how long a stolen ticket key can decrypt recorded sessions.
        // With `ssl_ticket_key_file`, the file's keys (read again on each reload), so
        // instances sharing the file resume each other's sessions.
        config.ticketer = match &self.ticket_key_file {
            Some(path) => Arc::new(
                ticket_keys::SharedTicketer::from_file(path)
                    .map_err(|reason| TlsError::TicketKeys { reason })?,
            ),
            None => rustls::crypto::aws_lc_rs::Ticketer::new().map_err(TlsError::Rustls)?,
        };
        config.session_storage = ServerSessionMemoryCache::new(self.session_cache_entries);
        // 0-RTT stays off (rustls's default, `max_early_data_size = 0`): early data can
        // be replayed (RFC 8446 section 8) and nothing here needs the round trip saved.
        Ok(ServerTls {
            config: Arc::new(config),
            warnings,
        })
    }
}

/// Builds the rustls server configuration from Carbon's configuration, logging each
/// warning (expiring certificates) with `log::warn!`.
///
/// Call it at startup and again on reload: on error, keep serving with the previous
/// config and report the error, which names every bad file.
pub fn server_config(cfg: &Config) -> Result<Arc<ServerConfig>, TlsError> {
    let tls = TlsSettings::from_config(cfg).build(SystemTime::now())?;
    for warning in &tls.warnings {
        log::warn!("{warning}");
    }
    Ok(tls.config)
}

/// The application protocol a finished handshake agreed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppProtocol {
    Http11,
    H2,
}

/// Which engine to run on a connection once `is_handshaking()` is false. No ALPN
/// (clients that predate RFC 7301, or `curl --no-alpn`) means HTTP/1.1.
pub fn app_protocol(conn: &ServerConnection) -> AppProtocol {
    match conn.alpn_protocol() {
        Some(policy::ALPN_H2) => AppProtocol::H2,
        _ => AppProtocol::Http11,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure
mod tests {
    use super::test_util::*;
    use super::*;

    fn settings(dir: &std::path::Path) -> TlsSettings {
        let (cert, key) = write_pem(
            dir,
            "default",
            &pem_for("localhost", &PKCS_ECDSA_P256_SHA256, yesterday()),
        );
        TlsSettings {
            cert,
            key,
            sni: Vec::new(),
            offer_h2: false,
            session_cache_entries: 16,
            ticket_key_file: None,
        }
    }

    fn sni(name: &str, cert: &std::path::Path, key: &std::path::Path) -> SniCert {
        SniCert {
            name: name.into(),
            cert: cert.into(),
            key: key.into(),
        }
    }

    #[test]
    fn build_reports_every_problem_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = settings(dir.path());
        let good = s.clone();
        s.cert = dir.path().join("missing.pem");
        s.sni = vec![
            sni(
                "bad name",
                &dir.path().join("a.pem"),
                &dir.path().join("a.key"),
            ),
            sni("dup.test", &good.cert, &good.key),
            sni("DUP.test", &good.cert, &good.key),
        ];
        let err = s.build(SystemTime::now()).unwrap_err();
        let all = err.errors();
        assert_eq!(all.len(), 5, "{err}");
        assert!(matches!(all[0], TlsError::FileMissing { .. }), "{err}");
        assert!(matches!(all[1], TlsError::InvalidSniName { .. }), "{err}");
        assert!(matches!(all[2], TlsError::Sni { .. }), "{err}");
        assert!(matches!(all[3], TlsError::Sni { .. }), "{err}");
        assert!(matches!(all[4], TlsError::DuplicateSniName { .. }), "{err}");
        let text = err.to_string();
        assert!(text.contains("missing.pem"), "{text}");
        assert!(
            text.contains("ssl_sni entry \"bad name\": TLS certificate file"),
            "{text}"
        );
        assert!(
            text.contains("ssl_sni entry \"bad name\": TLS private key file"),
            "{text}"
        );
    }

    #[test]
    fn expired_sni_certificate_builds_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = settings(dir.path());
        let long_ago = time::OffsetDateTime::now_utc() - time::Duration::days(400);
        let (cert, key) = write_pem(
            dir.path(),
            "old",
            &pem_for("old.test", &PKCS_ECDSA_P256_SHA256, long_ago),
        );
        s.sni = vec![sni("old.test", &cert, &key)];
        let built = s.build(SystemTime::now()).unwrap();
        assert_eq!(built.warnings.len(), 1, "{:?}", built.warnings);
        assert!(built.warnings[0].contains("old.cert.pem"));
    }
}
