//! Test helpers: certificates generated with rcgen, written to temporary files, and
//! re-encoded into the PEM shapes OpenSSL produces.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use time::OffsetDateTime;

use super::self_signed::{generate_pem_with, GeneratedPem};
use super::validity::der_element;

pub use rcgen::{SignatureAlgorithm, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384, PKCS_ED25519};

pub fn pem_for(
    name: &str,
    alg: &'static SignatureAlgorithm,
    not_before: OffsetDateTime,
) -> GeneratedPem {
    generate_pem_with(&[name.to_string()], not_before, alg).unwrap()
}

/// A P-256 certificate for `name`, valid from yesterday, as rustls holds it.
pub fn generated_key(name: &str) -> Arc<CertifiedKey> {
    let pem = pem_for(name, &PKCS_ECDSA_P256_SHA256, yesterday());
    let chain = vec![CertificateDer::from_pem_slice(pem.cert.as_bytes()).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(pem.key.as_bytes()).unwrap();
    Arc::new(CertifiedKey::from_der(chain, key, &super::policy::provider()).unwrap())
}

pub fn yesterday() -> OffsetDateTime {
    OffsetDateTime::now_utc() - time::Duration::days(1)
}

/// Writes `stem.cert.pem` and `stem.key.pem` under `dir`.
pub fn write_pem(dir: &Path, stem: &str, pem: &GeneratedPem) -> (PathBuf, PathBuf) {
    let cert = dir.join(format!("{stem}.cert.pem"));
    let key = dir.join(format!("{stem}.key.pem"));
    std::fs::write(&cert, &pem.cert).unwrap();
    std::fs::write(&key, &pem.key).unwrap();
    (cert, key)
}

/// The `privateKey` OCTET STRING of a PKCS#8 `PrivateKeyInfo` (RFC 5208 section 5):
/// for RSA that is the PKCS#1 `RSAPrivateKey`, for EC the SEC1 `ECPrivateKey`.
pub fn pkcs8_inner(pkcs8_pem: &str) -> Vec<u8> {
    let der = PrivateKeyDer::from_pem_slice(pkcs8_pem.as_bytes()).unwrap();
    let (_, info, _) = der_element(der.secret_der()).unwrap();
    let (_, _version, rest) = der_element(info).unwrap();
    let (_, _algorithm, rest) = der_element(rest).unwrap();
    let (tag, inner, _) = der_element(rest).unwrap();
    assert_eq!(tag, 0x04, "OCTET STRING");
    inner.to_vec()
}

/// PEM-encodes `der` under `label` (RFC 7468 section 2: base64, 64-column lines).
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for chunk in der.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                b64.push('=');
            }
        }
    }
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[test]
fn pem_encode_round_trips_through_the_pem_parser() {
    for len in 0..70 {
        let der: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
        let pem = pem_encode("CERTIFICATE", &der);
        let back = CertificateDer::from_pem_slice(pem.as_bytes());
        if len == 0 {
            continue;
        }
        assert_eq!(back.unwrap().as_ref(), &der[..], "len {len}");
    }
}
