//! Human-readable output: aligned columns, units (KiB, MiB, ...), rates.

use std::fmt::Write as _;

use carbon_control::{Counters, ReloadResult, StatsReport, Status};

/// `1h 02m 03s`, `3d 4h 05m`.
pub fn duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h) {
        (0, 0) if m == 0 => format!("{s}s"),
        (0, 0) => format!("{m}m {s:02}s"),
        (0, _) => format!("{h}h {m:02}m {s:02}s"),
        _ => format!("{d}d {h}h {m:02}m"),
    }
}

/// Binary units, one decimal: `512 B`, `1.5 KiB`, `2.0 GiB`.
pub fn bytes(n: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn rate(n: f64) -> String {
    if n >= 100.0 {
        format!("{n:.0}/s")
    } else {
        format!("{n:.1}/s")
    }
}

fn reload_line(r: &Option<ReloadResult>) -> String {
    match r {
        None => "none since start".to_owned(),
        Some(r) if r.ok => format!("applied (at {} UTC epoch s)", r.at_unix),
        Some(r) => format!("REFUSED (at {} UTC epoch s): {}", r.at_unix, r.message),
    }
}

pub fn status(s: &Status) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "carbond {} running, pid {}", s.version, s.pid);
    let rows: Vec<(&str, String)> = vec![
        ("uptime", duration(s.uptime_secs)),
        (
            "config",
            format!(
                "{} (generation {})",
                s.config_file.as_deref().unwrap_or("-"),
                s.config_generation
            ),
        ),
        ("last reload", reload_line(&s.last_reload)),
        ("workers", s.workers.to_string()),
        ("listening", s.listeners.join(", ")),
        ("connections", format!("{} open", s.connections_open)),
        ("requests", s.requests.to_string()),
    ];
    for (k, v) in rows {
        let _ = writeln!(o, "  {k:<12} {v}");
    }
    o
}

/// `prev` and `interval` (seconds) give rates over the interval; without them rates
/// are averages since start.
pub fn stats(r: &StatsReport, prev: Option<(&StatsReport, f64)>, workers: bool) -> String {
    let (base, secs, label) = match prev {
        Some((p, secs)) => (Some(&p.total), secs.max(0.001), "rate"),
        None => (None, (r.uptime_secs as f64).max(1.0), "avg since start"),
    };
    let t = &r.total;
    let per_s =
        |now: u64, before: Option<u64>| (now.saturating_sub(before.unwrap_or(0))) as f64 / secs;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "carbond up {}, config generation {}, last reload: {}",
        duration(r.uptime_secs),
        r.config_generation,
        reload_line(&r.last_reload)
    );
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "{:<24} {:>12} {:>12} {:>16}",
        "connections", "open", "total", label
    );
    let mut line = |name: &str, open: String, total: u64, before: Option<u64>| {
        let _ = writeln!(
            o,
            "  {name:<22} {open:>12} {total:>12} {:>16}",
            rate(per_s(total, before))
        );
    };
    for (proto, c) in &t.connections {
        let before = base.and_then(|b| b.connections.get(proto)).map(|c| c.total);
        line(proto, c.open.to_string(), c.total, before);
    }
    line(
        "all",
        t.connections_open.to_string(),
        t.connections_total,
        base.map(|b| b.connections_total),
    );
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "{:<24} {:>12} {:>12} {:>16}",
        "requests", "", "total", label
    );
    let mut line = |name: &str, total: u64, before: Option<u64>| {
        let _ = writeln!(
            o,
            "  {name:<22} {:>12} {total:>12} {:>16}",
            "",
            rate(per_s(total, before))
        );
    };
    line("all", t.requests, base.map(|b| b.requests));
    for (class, n) in &t.responses {
        line(
            class,
            *n,
            base.and_then(|b| b.responses.get(class).copied()),
        );
    }
    line("rejected", t.rejected, base.map(|b| b.rejected));
    line("rate limited", t.rate_limited, base.map(|b| b.rate_limited));
    line("timeouts", t.timeouts, base.map(|b| b.timeouts));
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "{:<24} {:>12} {:>12} {:>16}",
        "traffic", "", "total", label
    );
    for (name, n, before) in [
        ("received", t.bytes_in, base.map(|b| b.bytes_in)),
        ("sent", t.bytes_out, base.map(|b| b.bytes_out)),
    ] {
        let _ = writeln!(
            o,
            "  {name:<22} {:>12} {:>12} {:>16}",
            "",
            bytes(n as f64),
            format!("{}/s", bytes(per_s(n, before)))
        );
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "{:<24} {:>12} {:>12}", "other", "", "total");
    let cache_total = t.file_cache_hits + t.file_cache_misses;
    let hit_ratio = if cache_total == 0 {
        "-".to_owned()
    } else {
        format!(
            "{:.1}%",
            100.0 * t.file_cache_hits as f64 / cache_total as f64
        )
    };
    for (name, extra, n) in [
        ("tls handshakes", String::new(), t.tls_handshakes),
        (
            "tls handshake failures",
            String::new(),
            t.tls_handshake_failures,
        ),
        ("file cache hits", hit_ratio, t.file_cache_hits),
        ("file cache misses", String::new(), t.file_cache_misses),
        ("log write errors", String::new(), r.log_write_errors),
        ("panics", String::new(), t.panics),
    ] {
        let _ = writeln!(o, "  {name:<22} {extra:>12} {n:>12}");
    }
    if !r.sites.is_empty() {
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "{:<24} {:>10} {:>10} {:>10} {:>10} {:>10}",
            "site responses", "2xx", "3xx", "4xx", "5xx", "total"
        );
        for (site, classes) in &r.sites {
            let n = |c: &str| classes.get(c).copied().unwrap_or(0);
            let total: u64 = classes.values().sum();
            let _ = writeln!(
                o,
                "  {site:<22} {:>10} {:>10} {:>10} {:>10} {total:>10}",
                n("2xx"),
                n("3xx"),
                n("4xx"),
                n("5xx")
            );
        }
    }
    if workers {
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "{:<24} {:>12} {:>12} {:>16}",
            "worker", "open", "accepted", "requests"
        );
        for (i, w) in r.workers.iter().enumerate() {
            worker_line(&mut o, i, w);
        }
    }
    o
}

fn worker_line(o: &mut String, i: usize, w: &Counters) {
    let _ = writeln!(
        o,
        "  {i:<22} {:>12} {:>12} {:>16}",
        w.connections_open, w.connections_total, w.requests
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_durations() {
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(1536.0), "1.5 KiB");
        assert_eq!(bytes(3.0 * 1024.0 * 1024.0 * 1024.0), "3.0 GiB");
        assert_eq!(duration(59), "59s");
        assert_eq!(duration(3723), "1h 02m 03s");
        assert_eq!(duration(90_061), "1d 1h 01m");
    }
}
