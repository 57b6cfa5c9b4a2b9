//! Socket activation: listening sockets passed by systemd (or
//! `systemd-socket-activate`) through `LISTEN_FDS`, `LISTEN_PID` and
//! `LISTEN_FDNAMES` are adopted instead of bound, so carbond can serve ports 80 and
//! 443 without ever being root.
//!
//! The descriptors are taken over by the `listenfd` crate, which checks that each
//! is a TCP socket (the conversion from a raw descriptor is the only unsafe step,
//! and it lives there). A socket named `http` or `https` (`FileDescriptorName=`)
//! speaks that; an unnamed one is matched to a configured listener by its local
//! address. A socket that matches nothing is a start-up error, not a silent guess.
//! A configured listener for which no socket was passed is bound as usual.

use std::net::{SocketAddr, TcpListener};

use carbon_core::config::Config;
use carbon_core::driver::Scheme;

/// The sockets passed to this process, each with what it speaks; `None` when
/// carbond was not socket-activated.
pub fn take(cfg: &Config) -> Result<Option<Vec<(TcpListener, Scheme)>>, String> {
    if std::env::var_os("LISTEN_FDS").is_none() {
        return Ok(None);
    }
    let names: Vec<String> = std::env::var("LISTEN_FDNAMES")
        .map(|v| v.split(':').map(str::to_owned).collect())
        .unwrap_or_default();
    // Not for our children (none today, but a variable left behind would hand them
    // descriptors they do not have).
    std::env::remove_var("LISTEN_FDNAMES");
    let mut fds = listenfd::ListenFd::from_env();
    if fds.len() == 0 {
        // LISTEN_PID names another process: the sockets were not meant for us.
        return Ok(None);
    }
    let http = SocketAddr::new(cfg.listen_address, cfg.port);
    let https = SocketAddr::new(cfg.listen_address, cfg.https_port);
    let configured = if cfg.use_https {
        format!("http on {http}, https on {https}")
    } else {
        format!("http on {http}; use_https is off")
    };
    let mut out = Vec::with_capacity(fds.len());
    for i in 0..fds.len() {
        let fd = 3 + i;
        let name = names.get(i).map_or("", String::as_str);
        let socket = match fds.take_tcp_listener(i) {
            Ok(Some(s)) => s,
            Ok(None) => continue,
            Err(e) => return Err(format!("socket activation: fd {fd} ({name}): {e}")),
        };
        let local = socket
            .local_addr()
            .map_err(|e| format!("socket activation: fd {fd}: {e}"))?;
        let scheme = match name {
            "http" => Scheme::Http,
            "https" if cfg.use_https => Scheme::Https,
            "https" => {
                return Err(format!(
                    "socket activation: fd {fd} named `https` ({local}) but use_https = false in the configuration"
                ))
            }
            _ if matches(local, http) => Scheme::Http,
            _ if cfg.use_https && matches(local, https) => Scheme::Https,
            _ => {
                return Err(format!(
                    "socket activation: fd {fd} ({local}{}) matches no configured listener ({configured}); \
                     name it with FileDescriptorName=http or https, or fix port/https_port",
                    if name.is_empty() { String::new() } else { format!(", named `{name}`") }
                ))
            }
        };
        out.push((socket, scheme));
    }
    // A configured listener the service manager passed no socket for is bound here,
    // as without activation (systemd may hand over port 443 only, say).
    let mut wanted = vec![(Scheme::Http, http)];
    if cfg.use_https {
        wanted.push((Scheme::Https, https));
    }
    for (scheme, addr) in wanted {
        if out.iter().any(|(_, s)| *s == scheme) {
            continue;
        }
        let socket = TcpListener::bind(addr).map_err(|e| {
            format!(
                "cannot listen on {addr}: {e} (no socket for {} was passed)",
                scheme.as_str()
            )
        })?;
        log::info!(
            "socket activation: no socket for {} was passed; bound {addr} ourselves",
            scheme.as_str()
        );
        out.push((socket, scheme));
    }
    Ok(Some(out))
}

/// Same port, and the same address unless the configured one is a wildcard.
fn matches(local: SocketAddr, want: SocketAddr) -> bool {
    local.port() == want.port() && (want.ip().is_unspecified() || local.ip() == want.ip())
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn unnamed_sockets_match_by_local_address() {
        let l = "127.0.0.1:8080".parse().unwrap_or_else(|_| unreachable!());
        assert!(matches(l, "127.0.0.1:8080".parse().unwrap_or(l)));
        assert!(matches(l, "0.0.0.0:8080".parse().unwrap_or(l)));
        assert!(!matches(l, "127.0.0.1:8081".parse().unwrap_or(l)));
        assert!(!matches(l, "10.0.0.1:8080".parse().unwrap_or(l)));
    }
}
