//! The client's address from `Forwarded` (RFC 7239) or `X-Forwarded-For`, believed
//! only as far as the chain of proxies is trusted.
//!
//! Each proxy appends the address it received the request from, so the list reads
//! client, proxy 1, proxy 2, ... and the direct peer is the last proxy. Anyone can
//! write anything on the left of the list; only what our trusted proxies appended is
//! true. So the list is walked from the right: while the address is a trusted proxy,
//! step left; the first address that is not trusted is the client (the "right-most
//! untrusted address"). If every address is trusted, the left-most one is the client.
//! An entry that is not an address (RFC 7239 §6.2 `unknown`, §6.3 obfuscated `_id`,
//! or garbage) ends the walk: the hop to its right, which we trust, is the best
//! address known.
//!
//! `Forwarded` wins when present (it is the standard); `X-Forwarded-For` is read
//! otherwise. Several header lines form one list in order (RFC 9110 §5.3).

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;

use crate::limits::MAX_FORWARDED_HOPS;

/// The client address for a request whose direct peer is `peer`: unchanged unless
/// `trusted(peer)`; then the right-most untrusted address of the forwarding list.
pub fn client_address(
    peer: SocketAddr,
    headers: &HeaderMap,
    trusted: impl Fn(IpAddr) -> bool,
) -> SocketAddr {
    if !trusted(peer.ip()) {
        return peer;
    }
    let forwarded: Vec<&[u8]> = headers
        .get_all(http::header::FORWARDED)
        .iter()
        .map(|v| v.as_bytes())
        .collect();
    let hops: Vec<Option<SocketAddr>> = if !forwarded.is_empty() {
        list_items(&forwarded).map(forwarded_for).collect()
    } else {
        let xff: Vec<&[u8]> = headers
            .get_all("x-forwarded-for")
            .iter()
            .map(|v| v.as_bytes())
            .collect();
        list_items(&xff).map(node).collect()
    };
    let mut client = peer;
    for hop in hops.into_iter().rev().take(MAX_FORWARDED_HOPS) {
        let Some(addr) = hop else {
            break;
        };
        client = addr;
        if !trusted(addr.ip()) {
            break;
        }
    }
    client
}

/// The comma-separated items of all header lines, trimmed, empty ones dropped
/// (RFC 9110 §5.6.1). A comma inside a quoted string (a `Forwarded` value) does not
/// split.
fn list_items<'a>(lines: &'a [&'a [u8]]) -> impl Iterator<Item = &'a [u8]> + 'a {
    lines
        .iter()
        .flat_map(|line| split_outside_quotes(line, b','))
        .filter_map(|item| {
            let item = item.trim_ascii();
            (!item.is_empty()).then_some(item)
        })
}

fn split_outside_quotes(s: &[u8], sep: u8) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, &b) in s.iter().enumerate() {
        if escaped {
            escaped = false;
        } else if quoted && b == b'\\' {
            escaped = true;
        } else if b == b'"' {
            quoted = !quoted;
        } else if b == sep && !quoted {
            out.push(&s[start..i]);
            start = i + 1;
        }
    }
    out.push(&s[start..]);
    out
}

/// The `for=` parameter of one `Forwarded` element (RFC 7239 §4), as an address; a
/// missing `for` counts as unknown.
fn forwarded_for(element: &[u8]) -> Option<SocketAddr> {
    split_outside_quotes(element, b';')
        .into_iter()
        .find_map(|pair| {
            let pair = pair.trim_ascii();
            let (name, value) = pair.split_at(pair.iter().position(|&b| b == b'=')?);
            if !name.trim_ascii().eq_ignore_ascii_case(b"for") {
                return None;
            }
            let value = value[1..].trim_ascii();
            let value = value
                .strip_prefix(b"\"")
                .and_then(|v| v.strip_suffix(b"\""))
                .unwrap_or(value);
            Some(node(value))
        })?
}

/// A node (RFC 7239 §6): `a.b.c.d`, `[v6]`, either with `:port`, or a bare IPv6
/// address as `X-Forwarded-For` writes it. Anything else (`unknown`, `_hidden`, an
/// obfuscated port) is not an address.
fn node(text: &[u8]) -> Option<SocketAddr> {
    let text = std::str::from_utf8(text).ok()?;
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(SocketAddr::new(ip, 0));
    }
    if let Some(v6) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        return v6.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, 0));
    }
    text.parse::<SocketAddr>().ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    /// 10.0.0.0/8 are our proxies.
    fn trusted(ip: IpAddr) -> bool {
        matches!(ip, IpAddr::V4(a) if a.octets()[0] == 10)
    }

    fn client(pairs: &[(&str, &str)]) -> String {
        let peer: SocketAddr = "10.0.0.1:5000".parse().unwrap();
        client_address(peer, &headers(pairs), trusted)
            .ip()
            .to_string()
    }

    #[test]
    fn untrusted_peer_headers_are_ignored() {
        let peer: SocketAddr = "192.0.2.1:5000".parse().unwrap();
        let h = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(client_address(peer, &h, trusted), peer);
    }

    #[test]
    fn xff_right_most_untrusted_address_is_the_client() {
        assert_eq!(client(&[("x-forwarded-for", "203.0.113.9")]), "203.0.113.9");
        // A client forging the left part cannot choose its address.
        assert_eq!(
            client(&[("x-forwarded-for", "1.2.3.4, 203.0.113.9, 10.0.0.2")]),
            "203.0.113.9"
        );
        // Several lines are one list, in order.
        assert_eq!(
            client(&[
                ("x-forwarded-for", "1.2.3.4"),
                ("x-forwarded-for", "198.51.100.7,10.0.0.3")
            ]),
            "198.51.100.7"
        );
        assert_eq!(client(&[("x-forwarded-for", "2001:db8::7")]), "2001:db8::7");
        assert_eq!(
            client(&[("x-forwarded-for", "[2001:db8::7]:443")]),
            "2001:db8::7"
        );
    }

    #[test]
    fn xff_all_trusted_gives_the_left_most() {
        assert_eq!(
            client(&[("x-forwarded-for", "10.0.0.9, 10.0.0.2")]),
            "10.0.0.9"
        );
    }

    #[test]
    fn xff_garbage_stops_at_the_last_trusted_hop() {
        assert_eq!(client(&[("x-forwarded-for", "evil, 10.0.0.2")]), "10.0.0.2");
        assert_eq!(client(&[("x-forwarded-for", "")]), "10.0.0.1");
        assert_eq!(client(&[]), "10.0.0.1");
    }

    #[test]
    fn rfc7239_4_forwarded_for_with_quotes_ports_and_other_parameters() {
        assert_eq!(
            client(&[("forwarded", "for=192.0.2.60;proto=http;by=203.0.113.43")]),
            "192.0.2.60"
        );
        assert_eq!(
            client(&[("forwarded", "for=\"[2001:db8:cafe::17]:4711\"")]),
            "2001:db8:cafe::17"
        );
        assert_eq!(
            client(&[("forwarded", "For=\"192.0.2.43:47011\", for=10.0.0.4")]),
            "192.0.2.43"
        );
        // A quoted comma does not split an element.
        assert_eq!(
            client(&[("forwarded", "for=1.2.3.4;host=\"a,b\", for=198.51.100.1")]),
            "198.51.100.1"
        );
    }

    #[test]
    fn rfc7239_6_unknown_and_obfuscated_nodes_stop_the_walk() {
        assert_eq!(
            client(&[("forwarded", "for=unknown, for=10.0.0.4")]),
            "10.0.0.4"
        );
        assert_eq!(client(&[("forwarded", "for=_hidden")]), "10.0.0.1");
        assert_eq!(client(&[("forwarded", "proto=https")]), "10.0.0.1");
    }

    #[test]
    fn rfc7239_forwarded_wins_over_x_forwarded_for() {
        assert_eq!(
            client(&[
                ("x-forwarded-for", "203.0.113.1"),
                ("forwarded", "for=203.0.113.2")
            ]),
            "203.0.113.2"
        );
    }

    #[test]
    fn hops_beyond_the_bound_are_not_walked() {
        let list = vec!["10.0.0.5"; MAX_FORWARDED_HOPS + 5].join(",");
        let forged = format!("203.0.113.66,{list}");
        assert_eq!(client(&[("x-forwarded-for", &forged)]), "10.0.0.5");
    }
}
