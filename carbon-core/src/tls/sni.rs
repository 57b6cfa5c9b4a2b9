//! Picks the certificate for a handshake from the client's Server Name Indication
//! (RFC 6066 section 3).
//!
//! Names match case-insensitively (RFC 4343). An exact entry wins over a wildcard; a
//! `*.example.com` entry covers exactly one extra label (`a.example.com`, not
//! `example.com` nor `a.b.example.com`), as a wildcard certificate does (RFC 6125
//! section 6.4.3). No SNI, or a name no entry covers, gets the default certificate:
//! refusing the handshake would break clients that omit SNI.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use rustls::pki_types::DnsName;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::error::TlsError;

/// The `ssl_sni` entries: server name (or `*.` wildcard) to certificate, validated.
#[derive(Debug, Default)]
pub struct SniNames {
    exact: HashMap<String, Arc<CertifiedKey>>,
    /// Keyed by the parent domain: `*.example.com` is stored as `example.com`.
    wildcard: HashMap<String, Arc<CertifiedKey>>,
}

impl SniNames {
    /// Adds an entry. `name` is a DNS name or `*.` followed by one.
    pub fn add(&mut self, name: &str, key: Arc<CertifiedKey>) -> Result<(), TlsError> {
        let (table, key_name) = match check_name(name)? {
            Pattern::Exact(n) => (&mut self.exact, n),
            Pattern::Wildcard(parent) => (&mut self.wildcard, parent),
        };
        if table.contains_key(&key_name) {
            return Err(TlsError::DuplicateSniName {
                name: name.to_string(),
            });
        }
        table.insert(key_name, key);
        Ok(())
    }

    /// The entry covering `server_name`, if any.
    pub fn get(&self, server_name: &str) -> Option<&Arc<CertifiedKey>> {
        let name = normalize(server_name);
        self.exact.get(&name).or_else(|| {
            name.split_once('.')
                .and_then(|(_, parent)| self.wildcard.get(parent))
        })
    }
}

/// The server's certificate chooser: a default plus the `ssl_sni` entries.
#[derive(Debug)]
pub struct SniResolver {
    default: Arc<CertifiedKey>,
    names: SniNames,
}

impl SniResolver {
    pub fn new(default: Arc<CertifiedKey>, names: SniNames) -> Self {
        SniResolver { default, names }
    }

    /// The certificate for a ClientHello carrying `server_name` (`None`: no SNI).
    pub fn lookup(&self, server_name: Option<&str>) -> &Arc<CertifiedKey> {
        server_name
            .and_then(|name| self.names.get(name))
            .unwrap_or(&self.default)
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(self.lookup(client_hello.server_name())))
    }
}

enum Pattern {
    Exact(String),
    Wildcard(String),
}

/// Lower case, and without the trailing dot of an absolute name: RFC 6066 section 3
/// sends host names without it, so a configured `example.com.` must still match.
fn normalize(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// Validates an `ssl_sni` name. Also used for entries whose files failed to load, so
/// every mistake in the configuration is reported in one go.
pub(crate) fn validate_name(name: &str) -> Result<(), TlsError> {
    check_name(name).map(|_| ())
}

fn check_name(name: &str) -> Result<Pattern, TlsError> {
    let invalid = |reason| TlsError::InvalidSniName {
        name: name.to_string(),
        reason,
    };
    let normalized = normalize(name);
    let (wildcard, host) = match normalized.strip_prefix("*.") {
        Some(parent) => (true, parent),
        None => (false, normalized.as_str()),
    };
    if host.contains('*') {
        return Err(invalid(
            "a wildcard is allowed only as the whole first label (\"*.example.com\")",
        ));
    }
    // RFC 6066 section 3: "Literal IPv4 and IPv6 addresses are not permitted in
    // HostName", so an address entry could never match.
    if host.parse::<IpAddr>().is_ok() {
        return Err(invalid(
            "IP addresses are never sent as SNI (RFC 6066 section 3); use a host name",
        ));
    }
    if host.is_empty() || DnsName::try_from(host).is_err() {
        return Err(invalid("not a valid DNS host name"));
    }
    Ok(if wildcard {
        Pattern::Wildcard(host.to_string())
    } else {
        Pattern::Exact(host.to_string())
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure
mod tests {
    use super::*;
    use crate::tls::test_util::generated_key;

    fn resolver_with(
        extra: &[(&str, &Arc<CertifiedKey>)],
    ) -> (SniResolver, [Arc<CertifiedKey>; 3]) {
        let keys = [
            generated_key("default.test"),
            generated_key("a.test"),
            generated_key("w.test"),
        ];
        let mut names = SniNames::default();
        names.add("A.Test", keys[1].clone()).unwrap();
        names.add("*.w.test", keys[2].clone()).unwrap();
        for (name, key) in extra {
            names.add(name, (*key).clone()).unwrap();
        }
        (SniResolver::new(keys[0].clone(), names), keys)
    }

    fn resolver() -> (SniResolver, [Arc<CertifiedKey>; 3]) {
        resolver_with(&[])
    }

    #[test]
    fn rfc6066_3_exact_name_is_case_insensitive() {
        let (r, keys) = resolver();
        assert!(Arc::ptr_eq(r.lookup(Some("a.test")), &keys[1]));
        assert!(Arc::ptr_eq(r.lookup(Some("A.TEST")), &keys[1]));
        assert!(Arc::ptr_eq(r.lookup(Some("a.test.")), &keys[1]));
    }

    #[test]
    fn rfc6066_3_absent_or_unknown_sni_gets_the_default() {
        let (r, keys) = resolver();
        assert!(Arc::ptr_eq(r.lookup(None), &keys[0]));
        assert!(Arc::ptr_eq(r.lookup(Some("other.test")), &keys[0]));
        assert!(Arc::ptr_eq(r.lookup(Some("b.a.test")), &keys[0]));
    }

    #[test]
    fn rfc6125_6_4_3_wildcard_covers_exactly_one_label() {
        let (r, keys) = resolver();
        assert!(Arc::ptr_eq(r.lookup(Some("x.w.test")), &keys[2]));
        assert!(Arc::ptr_eq(r.lookup(Some("X.W.Test")), &keys[2]));
        assert!(Arc::ptr_eq(r.lookup(Some("w.test")), &keys[0]));
        assert!(Arc::ptr_eq(r.lookup(Some("y.x.w.test")), &keys[0]));
    }

    #[test]
    fn exact_entry_wins_over_wildcard() {
        let exact = generated_key("x.w.test");
        let (r, _) = resolver_with(&[("x.w.test", &exact)]);
        assert!(Arc::ptr_eq(r.lookup(Some("x.w.test")), &exact));
    }

    #[test]
    fn invalid_and_duplicate_names_are_refused() {
        let key = generated_key("a.test");
        let mut r = SniNames::default();
        r.add("a.test", key.clone()).unwrap();
        r.add("*.w.test", key.clone()).unwrap();
        for bad in [
            "",
            "*.",
            "a*.test",
            "*.*.test",
            "x.*.test",
            "127.0.0.1",
            "::1",
            "bad name.test",
        ] {
            let err = r.add(bad, key.clone()).unwrap_err();
            assert!(
                matches!(err, TlsError::InvalidSniName { .. }),
                "{bad:?}: {err}"
            );
        }
        let err = r.add("a.TEST.", key.clone()).unwrap_err();
        assert!(matches!(err, TlsError::DuplicateSniName { .. }), "{err}");
        let err = r.add("*.W.test", key.clone()).unwrap_err();
        assert!(matches!(err, TlsError::DuplicateSniName { .. }), "{err}");
    }
}
