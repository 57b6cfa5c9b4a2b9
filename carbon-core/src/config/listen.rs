//! Values of the listener, worker-placement and control-plane keys:
//! `listen_address` (a list), `worker_cpu_affinity`, `metrics_path`, `control_group`.

use std::net::IpAddr;

use super::error::ValueError;

fn invalid(value: &str, expected: &str) -> ValueError {
    ValueError::Invalid {
        value: value.to_owned(),
        expected: expected.to_owned(),
    }
}

/// CPUs a list may name: far above any machine Carbon runs on, and it keeps a typo
/// such as `0-4000000` from building a huge list.
pub const MAX_CPU: usize = 4095;

/// Where worker threads run (`worker_cpu_affinity`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CpuAffinity {
    /// The scheduler places workers (the default).
    #[default]
    Off,
    /// Worker `i` is pinned to the `i`-th CPU the process may use, wrapping around.
    Auto,
    /// Worker `i` is pinned to `cpus[i % cpus.len()]`.
    List(Vec<usize>),
}

/// `listen_address`: one or more IP addresses separated by commas, each optionally
/// in brackets (`127.0.0.1, ::1`, `[::]`). Duplicates are an error: the second bind
/// would fail with a less helpful message.
pub(super) fn ip_addrs(v: &str) -> Result<Vec<IpAddr>, ValueError> {
    let mut out: Vec<IpAddr> = Vec::new();
    for part in v.split(',').map(str::trim) {
        let addr = super::value::ip_addr(part)?;
        if out.contains(&addr) {
            return Err(invalid(part, "each address once"));
        }
        out.push(addr);
    }
    Ok(out)
}

/// `off`, `auto`, or CPU numbers and ranges: `0,2,4-7`.
pub(super) fn cpu_affinity(v: &str) -> Result<CpuAffinity, ValueError> {
    const EXPECTED: &str = "off, auto, or CPU numbers and ranges such as 0,2,4-7";
    match v.to_ascii_lowercase().as_str() {
        "off" | "none" | "false" => return Ok(CpuAffinity::Off),
        "auto" | "true" => return Ok(CpuAffinity::Auto),
        _ => {}
    }
    let cpu = |s: &str| -> Result<usize, ValueError> {
        let s = s.trim();
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(v, EXPECTED));
        }
        match s.parse::<usize>() {
            Ok(n) if n <= MAX_CPU => Ok(n),
            _ => Err(ValueError::OutOfRange {
                value: s.to_owned(),
                range: format!("0..={MAX_CPU}"),
            }),
        }
    };
    let mut cpus = Vec::new();
    for part in v.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (cpu(a)?, cpu(b)?);
                if a > b {
                    return Err(invalid(part.trim(), "a range from low to high, e.g. 4-7"));
                }
                cpus.extend(a..=b);
            }
            None => cpus.push(cpu(part)?),
        }
    }
    cpus.dedup();
    Ok(CpuAffinity::List(cpus))
}

/// `metrics_path`: empty (off) or an absolute path of visible ASCII without a query,
/// compared exactly with the request's path.
pub(super) fn metrics_path(v: &str) -> Result<Option<String>, ValueError> {
    if v.is_empty() {
        return Ok(None);
    }
    let ok = v.starts_with('/')
        && v.bytes()
            .all(|b| b.is_ascii_graphic() && b != b'?' && b != b'#' && b != b'%');
    if ok {
        Ok(Some(v.to_owned()))
    } else {
        Err(invalid(
            v,
            "empty (off) or a path starting with / (e.g. /metrics)",
        ))
    }
}

/// `control_group`: empty, or a group name as `groupadd` accepts it.
pub(super) fn group_name(v: &str) -> Result<String, ValueError> {
    let ok = v.len() <= 32
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    if ok {
        Ok(v.to_owned())
    } else {
        Err(invalid(v, "a group name (letters, digits, _ - .)"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure
mod tests {
    use super::*;

    #[test]
    fn listen_address_list_of_ipv4_and_ipv6() {
        assert_eq!(
            ip_addrs("127.0.0.1, [::1]").unwrap(),
            vec![
                "127.0.0.1".parse::<IpAddr>().unwrap(),
                "::1".parse().unwrap()
            ]
        );
        assert!(ip_addrs("127.0.0.1,").is_err());
        assert!(ip_addrs("::1, ::1").is_err());
        assert!(ip_addrs("localhost").is_err());
    }

    #[test]
    fn cpu_affinity_forms() {
        assert_eq!(cpu_affinity("off").unwrap(), CpuAffinity::Off);
        assert_eq!(cpu_affinity("AUTO").unwrap(), CpuAffinity::Auto);
        assert_eq!(
            cpu_affinity("0, 2,4-6").unwrap(),
            CpuAffinity::List(vec![0, 2, 4, 5, 6])
        );
        for bad in ["", "x", "3-1", "1-", "-1", "4096", "0-99999"] {
            assert!(cpu_affinity(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn metrics_path_is_absolute_and_plain() {
        assert_eq!(metrics_path("").unwrap(), None);
        assert_eq!(
            metrics_path("/metrics").unwrap().as_deref(),
            Some("/metrics")
        );
        for bad in ["metrics", "/a b", "/m?x", "/%6d"] {
            assert!(metrics_path(bad).is_err(), "{bad}");
        }
    }
}
