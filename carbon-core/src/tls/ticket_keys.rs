//! `ssl_ticket_key_file`: session tickets sealed with keys shared by several
//! instances, so a client resumes its TLS session on whichever instance the balancer
//! picks (RFC 8446 §4.6.1, RFC 5077).
//!
//! The file holds one or more 80-byte keys back to back (the size of nginx's
//! `ssl_session_ticket_key` files, e.g. `openssl rand 80 > ticket.key`): the first 16
//! bytes name the key, the next 32 are an AES-256-GCM key; the last 32 (nginx's HMAC
//! key) are unused, since the AEAD authenticates. The first key seals new tickets; the
//! others only open tickets, so a rotation prepends a new key and drops the oldest.
//! Tickets sealed by nginx are not readable here (a different ticket layout), and the
//! keys are never logged.
//!
//! Ticket layout: key name (16) || nonce (12, random) || AES-256-GCM(state) with tag.

use std::fmt;
use std::path::Path;

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};

/// One key's length in the file.
pub const KEY_FILE_ENTRY: usize = 80;
const NAME_LEN: usize = 16;
/// Tickets are accepted for this long (rustls asks the ticketer); 12 hours, like the
/// built-in ticketer's lifetime.
const LIFETIME_SECS: u32 = 12 * 3600;
/// A file with more keys than this is a mistake (rotation keeps two or three).
const MAX_KEYS: usize = 16;

struct Key {
    name: [u8; NAME_LEN],
    aead: LessSafeKey,
}

/// The ticketer built from a key file.
pub struct SharedTicketer {
    keys: Vec<Key>,
    rng: SystemRandom,
}

impl fmt::Debug for SharedTicketer {
    // Never the key material: only how many keys there are.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SharedTicketer({} keys)", self.keys.len())
    }
}

impl SharedTicketer {
    /// Reads `path`; the error names the file and what is wrong, never the bytes.
    pub fn from_file(path: &Path) -> Result<SharedTicketer, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::from_bytes(&bytes).map_err(|why| format!("{}: {why}", path.display()))
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<SharedTicketer, String> {
        if bytes.is_empty() || !bytes.len().is_multiple_of(KEY_FILE_ENTRY) {
            return Err(format!(
                "{} bytes: a ticket key file holds one or more {KEY_FILE_ENTRY}-byte keys \
                 (e.g. `openssl rand 80`)",
                bytes.len()
            ));
        }
        if bytes.len() / KEY_FILE_ENTRY > MAX_KEYS {
            return Err(format!("more than {MAX_KEYS} keys"));
        }
        let keys = bytes
            .chunks_exact(KEY_FILE_ENTRY)
            .map(|k| {
                let mut name = [0; NAME_LEN];
                name.copy_from_slice(&k[..NAME_LEN]);
                let unbound = UnboundKey::new(&AES_256_GCM, &k[NAME_LEN..NAME_LEN + 32])
                    .map_err(|_| "unusable key".to_owned())?;
                Ok(Key {
                    name,
                    aead: LessSafeKey::new(unbound),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(SharedTicketer {
            keys,
            rng: SystemRandom::new(),
        })
    }
}

impl rustls::server::ProducesTickets for SharedTicketer {
    fn enabled(&self) -> bool {
        true
    }

    fn lifetime(&self) -> u32 {
        LIFETIME_SECS
    }

    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        let key = self.keys.first()?;
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).ok()?;
        let mut sealed = plain.to_vec();
        key.aead
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&key.name),
                &mut sealed,
            )
            .ok()?;
        let mut out = Vec::with_capacity(NAME_LEN + NONCE_LEN + sealed.len());
        out.extend_from_slice(&key.name);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Some(out)
    }

    fn decrypt(&self, ticket: &[u8]) -> Option<Vec<u8>> {
        let name = ticket.get(..NAME_LEN)?;
        let nonce: [u8; NONCE_LEN] = ticket
            .get(NAME_LEN..NAME_LEN + NONCE_LEN)?
            .try_into()
            .ok()?;
        let key = self.keys.iter().find(|k| k.name == name)?;
        let mut sealed = ticket.get(NAME_LEN + NONCE_LEN..)?.to_vec();
        let plain = key
            .aead
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&key.name),
                &mut sealed,
            )
            .ok()?;
        Some(plain.to_vec())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use rustls::server::ProducesTickets;

    use super::*;

    fn key(fill: u8) -> Vec<u8> {
        (0..KEY_FILE_ENTRY as u8).map(|i| i ^ fill).collect()
    }

    #[test]
    fn rfc5077_ticket_round_trips_between_instances_with_the_same_file() {
        let a = SharedTicketer::from_bytes(&key(1)).unwrap();
        let b = SharedTicketer::from_bytes(&key(1)).unwrap();
        let t = a.encrypt(b"session state").unwrap();
        assert_eq!(b.decrypt(&t).unwrap(), b"session state");
        // Two tickets for the same state differ (random nonce).
        assert_ne!(a.encrypt(b"session state").unwrap(), t);
    }

    #[test]
    fn rotation_first_key_seals_older_keys_still_open() {
        let old = SharedTicketer::from_bytes(&key(1)).unwrap();
        let rotated = SharedTicketer::from_bytes(&[key(2), key(1)].concat()).unwrap();
        let t = old.encrypt(b"s").unwrap();
        assert_eq!(rotated.decrypt(&t).unwrap(), b"s");
        // New tickets use the new key, which the old set cannot open.
        assert!(old.decrypt(&rotated.encrypt(b"s").unwrap()).is_none());
    }

    #[test]
    fn tampered_truncated_or_foreign_tickets_are_refused() {
        let a = SharedTicketer::from_bytes(&key(1)).unwrap();
        let other = SharedTicketer::from_bytes(&key(3)).unwrap();
        let mut t = a.encrypt(b"state").unwrap();
        assert!(other.decrypt(&t).is_none());
        for cut in 0..t.len() {
            assert!(a.decrypt(&t[..cut]).is_none(), "cut at {cut}");
        }
        let last = t.len() - 1;
        t[last] ^= 1;
        assert!(a.decrypt(&t).is_none());
    }

    #[test]
    fn key_file_sizes_other_than_multiples_of_80_are_refused_without_echoing_bytes() {
        for n in [0, 48, 79, 81] {
            let err = SharedTicketer::from_bytes(&vec![0x41; n]).unwrap_err();
            assert!(err.contains("80-byte"), "{err}");
            assert!(!err.contains("AAAA"), "{err}");
        }
        let dbg = format!("{:?}", SharedTicketer::from_bytes(&key(1)).unwrap());
        assert_eq!(dbg, "SharedTicketer(1 keys)");
    }
}
