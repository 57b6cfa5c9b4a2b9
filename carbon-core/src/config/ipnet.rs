//! [`IpNet`]: parsing `addr/prefix`, membership, and display.
//!
//! IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2) are what a
//! dual-stack socket reports for IPv4 peers; they are treated as the IPv4 address on
//! both sides, so `10.0.0.0/8` matches a peer seen as `::ffff:10.1.2.3`.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use super::IpNet;

/// Why a text is not an address or CIDR block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpNetParseError;

impl fmt::Display for IpNetParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not an IP address or CIDR block")
    }
}

impl std::error::Error for IpNetParseError {}

fn max_prefix(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// Keeps the first `prefix` bits of `addr`.
fn mask(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let m = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((bits & m).into())
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let m = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((bits & m).into())
        }
    }
}

impl IpNet {
    /// The block of `addr/prefix` with host bits cleared (so `127.0.0.1/8` is stored
    /// as `127.0.0.0/8`, the way people often write it); `None` if the prefix is
    /// longer than the address.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<IpNet> {
        // A mapped address names an IPv4 block only with a prefix covering the
        // `::ffff:0:0/96` part; shorter prefixes would mix in non-mapped IPv6 space.
        let (addr, prefix) = match (addr, addr.to_canonical()) {
            (IpAddr::V6(_), v4 @ IpAddr::V4(_)) => (v4, prefix.checked_sub(96)?),
            _ => (addr, prefix),
        };
        if prefix > max_prefix(addr) {
            return None;
        }
        Some(IpNet {
            addr: mask(addr, prefix),
            prefix,
        })
    }

    /// True if `ip` lies inside this block.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        let same_family = matches!(
            (self.addr, ip),
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_))
        );
        same_family && self.prefix <= max_prefix(ip) && mask(ip, self.prefix) == self.addr
    }
}

impl FromStr for IpNet {
    type Err = IpNetParseError;

    /// `addr` (a single host) or `addr/prefix`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => {
                if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(IpNetParseError);
                }
                (a, Some(p.parse::<u8>().map_err(|_| IpNetParseError)?))
            }
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| IpNetParseError)?;
        let prefix = prefix.unwrap_or_else(|| max_prefix(addr));
        IpNet::new(addr, prefix).ok_or(IpNetParseError)
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn v4_cidr_membership() {
        let n = net("10.0.0.0/8");
        assert!(n.contains(ip("10.255.1.2")));
        assert!(!n.contains(ip("11.0.0.1")));
        assert!(net("0.0.0.0/0").contains(ip("203.0.113.9")));
        assert!(net("192.0.2.7").contains(ip("192.0.2.7")));
        assert!(!net("192.0.2.7").contains(ip("192.0.2.8")));
    }

    #[test]
    fn host_bits_are_cleared() {
        assert_eq!(net("127.0.0.1/8"), net("127.0.0.0/8"));
        assert_eq!(net("127.0.0.1/8").to_string(), "127.0.0.0/8");
        assert_eq!(net("2001:db8::1/32").to_string(), "2001:db8::/32");
    }

    #[test]
    fn v6_cidr_membership_and_family_mismatch() {
        let n = net("2001:db8::/32");
        assert!(n.contains(ip("2001:db8:ffff::1")));
        assert!(!n.contains(ip("2001:db9::1")));
        assert!(!n.contains(ip("10.0.0.1")));
        assert!(!net("0.0.0.0/0").contains(ip("::2")));
        assert!(net("::/0").contains(ip("::2")));
    }

    #[test]
    fn rfc4291_2_5_5_2_mapped_v4_matches_v4_blocks() {
        assert!(net("10.0.0.0/8").contains(ip("::ffff:10.1.2.3")));
        assert_eq!(net("::ffff:10.0.0.0/104"), net("10.0.0.0/8"));
        assert_eq!(net("::ffff:10.1.2.3"), net("10.1.2.3/32"));
    }

    #[test]
    fn bad_cidr_text_is_rejected() {
        for bad in [
            "",
            "10.0.0.0/",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/-1",
            "10.0.0/8",
            "x/8",
            "10.0.0.0/8/8",
            "::ffff:1.2.3.4/95",
        ] {
            assert!(bad.parse::<IpNet>().is_err(), "{bad}");
        }
    }
}
