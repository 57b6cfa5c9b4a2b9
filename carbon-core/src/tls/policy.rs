//! Carbon's TLS policy, written out: protocol versions, cipher suites, key-exchange
//! groups, ALPN and session resumption. Changing what Carbon negotiates means changing
//! this file and `docs/tls.md` together.
//!
//! The policy follows Mozilla's "intermediate" server-side recommendation: TLS 1.2 and
//! 1.3, only AEAD suites with ephemeral (EC)DHE key exchange, so every connection has
//! forward secrecy. On top of it, the hybrid post-quantum group X25519MLKEM768 is
//! offered (Mozilla's profile lists groups a server must support, not a ceiling). The
//! list is filtered explicitly so that a future rustls or provider default cannot widen
//! it silently.

use rustls::crypto::{aws_lc_rs, CryptoProvider};
use rustls::{CipherSuite, NamedGroup, SupportedProtocolVersion};

/// TLS 1.3 (RFC 8446) first, then TLS 1.2 (RFC 5246). SSL 3.0, TLS 1.0 and 1.1 are
/// deprecated by RFC 8996; rustls never implemented them.
pub static PROTOCOL_VERSIONS: &[&SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// The cipher suites, in the order Mozilla's intermediate profile lists them. The
/// client's preference wins (rustls's default, and Mozilla's advice, since every suite
/// here is strong and clients know whether they have AES hardware).
pub const CIPHER_SUITES: &[CipherSuite] = &[
    // TLS 1.3 (RFC 8446 section B.4): all AEAD, key exchange is always ephemeral.
    CipherSuite::TLS13_AES_128_GCM_SHA256,
    CipherSuite::TLS13_AES_256_GCM_SHA384,
    CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
    // TLS 1.2: ECDHE (RFC 8422) with AES-GCM (RFC 5289) or ChaCha20-Poly1305 (RFC 7905).
    // No CBC suites (Lucky Thirteen, CVE-2013-0169), no static RSA key exchange (no
    // forward secrecy; ROBOT, CVE-2017-13099), no finite-field DHE (weak-group risk,
    // Logjam CVE-2015-4000).
    CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
];

/// Key-exchange groups: the hybrid X25519MLKEM768 (draft-ietf-tls-ecdhe-mlkem: X25519
/// and ML-KEM-768, FIPS 203, so recorded traffic stays safe against a future quantum
/// computer while X25519 keeps today's guarantee), then Mozilla intermediate's X25519
/// (RFC 7748), P-256 and P-384 (RFC 8446 section 4.2.7).
///
/// rustls picks the first group in the *client's* list that is also here (TLS 1.3 key
/// share, else a HelloRetryRequest; TLS 1.2 has no hybrid groups). Chrome and Firefox
/// list X25519MLKEM768 first, so they get it; older clients get X25519 as before.
pub const KX_GROUPS: &[NamedGroup] = &[
    NamedGroup::X25519MLKEM768,
    NamedGroup::X25519,
    NamedGroup::secp256r1,
    NamedGroup::secp384r1,
];

/// ALPN protocol IDs (RFC 7301, IANA registry). `h2` is RFC 9113 section 3.2.
pub const ALPN_H2: &[u8] = b"h2";
pub const ALPN_HTTP11: &[u8] = b"http/1.1";

pub use crate::limits::TLS_SESSION_CACHE_ENTRIES as SESSION_CACHE_ENTRIES;

/// The aws-lc-rs provider reduced to [`CIPHER_SUITES`] and [`KX_GROUPS`], in that
/// order (docs/tls.md says why aws-lc-rs and not ring).
///
/// Random numbers, key loading and signature verification stay the provider's. Entries
/// it lacks are skipped; a unit test proves none is missing today.
pub fn provider() -> CryptoProvider {
    let base = aws_lc_rs::default_provider();
    // The post-quantum groups are not all in `default_provider().kx_groups`, so the
    // lookup covers every group the provider implements.
    let all_groups = aws_lc_rs::ALL_KX_GROUPS;
    let cipher_suites = CIPHER_SUITES
        .iter()
        .filter_map(|wanted| {
            base.cipher_suites
                .iter()
                .find(|s| s.suite() == *wanted)
                .copied()
        })
        .collect();
    let kx_groups = KX_GROUPS
        .iter()
        .filter_map(|wanted| all_groups.iter().find(|g| g.name() == *wanted).copied())
        .collect();
    CryptoProvider {
        cipher_suites,
        kx_groups,
        ..base
    }
}

/// The ALPN list the server offers, in preference order (RFC 7301 section 3.2: the
/// server picks the first of its own protocols that the client also offers).
pub fn alpn_protocols(offer_h2: bool) -> Vec<Vec<u8>> {
    let mut list = Vec::with_capacity(2);
    if offer_h2 {
        list.push(ALPN_H2.to_vec());
    }
    list.push(ALPN_HTTP11.to_vec());
    list
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure
mod tests {
    use super::*;

    #[test]
    fn mozilla_intermediate_provider_has_exactly_the_listed_suites_in_order() {
        let suites: Vec<CipherSuite> = provider().cipher_suites.iter().map(|s| s.suite()).collect();
        assert_eq!(suites, CIPHER_SUITES);
    }

    #[test]
    fn mozilla_intermediate_provider_has_exactly_the_listed_groups_in_order() {
        let groups: Vec<NamedGroup> = provider().kx_groups.iter().map(|g| g.name()).collect();
        assert_eq!(groups, KX_GROUPS);
    }

    #[test]
    fn mozilla_intermediate_groups_stay_offered_beside_the_hybrid() {
        let groups: Vec<NamedGroup> = provider().kx_groups.iter().map(|g| g.name()).collect();
        for wanted in [
            NamedGroup::X25519,
            NamedGroup::secp256r1,
            NamedGroup::secp384r1,
            NamedGroup::X25519MLKEM768,
        ] {
            assert!(
                groups.contains(&wanted),
                "{wanted:?} missing from {groups:?}"
            );
        }
    }

    #[test]
    fn rfc7301_3_2_h2_is_offered_only_when_enabled_and_before_http11() {
        assert_eq!(alpn_protocols(false), vec![b"http/1.1".to_vec()]);
        assert_eq!(
            alpn_protocols(true),
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
    }
}
