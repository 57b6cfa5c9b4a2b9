//! Loading a configuration completely: the file, the checks that need the file
//! system, and the TLS material. Start-up, `--check-config` and reload all go
//! through [`load`], so "ok" from one means "ok" for the others.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use carbon_core::config::Config;
use carbon_core::tls::TlsSettings;

/// A configuration ready to serve, with its TLS configuration when HTTPS is on and
/// the warnings it deserves (certificates expired, not yet valid or expiring soon).
pub struct Loaded {
    pub cfg: Config,
    pub tls: Option<Arc<rustls::ServerConfig>>,
    pub warnings: Vec<String>,
}

/// Every problem found, one line each; configuration-file problems name the file,
/// line and key, the others the key and the path as resolved.
#[derive(Debug)]
pub struct LoadErrors(pub Vec<String>);

impl std::fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join("\n"))
    }
}

/// Load `path`. With `base`, relative paths (the file's own, and those inside it)
/// are taken from `base` instead of the working directory: a detached carbond runs
/// in `/` but keeps meaning what the operator wrote where it was started.
///
/// One pass reports everything: syntax and value errors from the file, then the
/// file-system and TLS checks on the values that were valid (`preflight.rs`).
pub fn load(path: &Path, base: Option<&Path>) -> Result<Loaded, LoadErrors> {
    let path = rebase(base, path);
    let (mut cfg, errors) = Config::load_lenient(&path)
        .map_err(|errors| LoadErrors(errors.iter().map(|e| e.to_string()).collect()))?;
    if let Some(base) = base {
        absolutize(&mut cfg, base);
    }
    let mut problems = crate::preflight::check_skipping(&cfg, &errors);
    let site_problems = crate::preflight::site_problems(&cfg);
    let mut warnings = Vec::new();
    let tls = if cfg.use_https && !errors.concerns("use_https") {
        match TlsSettings::from_config(&cfg).build(SystemTime::now()) {
            Ok(built) => {
                warnings = built.warnings;
                Some(built.config)
            }
            Err(e) => {
                problems.extend(crate::preflight::tls_problems(&cfg, &e));
                None
            }
        }
    } else {
        None
    };
    if !errors.is_empty() || !problems.is_empty() || !site_problems.is_empty() {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let mut lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        lines.extend(problems.into_iter().map(|p| {
            // A `[site]` certificate: the section's line, not an `ssl_sni` line.
            if let Some((line, label, key)) = site_tls_key(&cfg, &p) {
                return format!("{}:{line}: [site {label}] {key}: {p}", path.display());
            }
            let p = match tls_key(&cfg, &p) {
                Some(key) => format!("{key}: {p}"),
                None => p,
            };
            match key_line(&text, &p) {
                Some(line) => format!("{}:{line}: {p}", path.display()),
                None => format!("{}: {p}", path.display()),
            }
        }));
        lines.extend(
            site_problems
                .into_iter()
                .map(|(line, p)| format!("{}:{line}: {p}", path.display())),
        );
        return Err(LoadErrors(lines));
    }
    Ok(Loaded { cfg, tls, warnings })
}

/// TLS messages name the file, not the key (`TLS certificate file PATH: ...`): the
/// key whose value is that file, when it is one of ours.
fn tls_key(cfg: &Config, problem: &str) -> Option<&'static str> {
    if !problem.starts_with("TLS ") {
        return None;
    }
    let named = |p: &Path| {
        problem.contains(&format!(" {} ", p.display()))
            || problem.contains(&format!(" {}:", p.display()))
    };
    if named(&cfg.ssl_cert_path) {
        Some("ssl_cert_path")
    } else if named(&cfg.ssl_key_path) {
        Some("ssl_key_path")
    } else if cfg.ssl_sni.iter().any(|s| named(&s.cert) || named(&s.key)) {
        Some("ssl_sni")
    } else {
        None
    }
}

/// The `[site]` section whose own certificate or key a TLS problem names: its
/// header line, its first name and the key.
fn site_tls_key<'c>(cfg: &'c Config, problem: &str) -> Option<(usize, &'c str, &'static str)> {
    if !problem.starts_with("TLS ") && !problem.starts_with("ssl_sni ") {
        return None;
    }
    let named = |p: &Path| {
        problem.contains(&format!(" {} ", p.display()))
            || problem.contains(&format!(" {}:", p.display()))
    };
    cfg.sites
        .iter()
        .filter(|s| s.own_certificate)
        .find_map(|s| {
            let key = if named(&s.cfg.ssl_cert_path) {
                "ssl_cert_path"
            } else if named(&s.cfg.ssl_key_path) {
                "ssl_key_path"
            } else {
                return None;
            };
            Some((s.line, s.label(), key))
        })
}

/// The line setting the key a problem starts with (`www_path /srv: ...`), so checks
/// made after parsing still point at the line to fix. `None` when the message does
/// not start with a key or the value came from the environment or the default.
fn key_line(text: &str, problem: &str) -> Option<usize> {
    let key = problem.split([' ', ':']).next()?;
    carbon_core::config::key(key)?;
    let setting = |l: &str| -> Option<String> {
        let rest = l.trim_start().strip_prefix(key)?.trim_start();
        rest.strip_prefix('=').map(|v| v.trim().to_owned())
    };
    let lines: Vec<(usize, String)> = text
        .lines()
        .enumerate()
        .filter_map(|(i, l)| setting(l).map(|v| (i + 1, v)))
        .collect();
    // A repeatable key (ssl_sni): the line whose value the message mentions.
    let mentioned = lines.iter().find(|(_, v)| {
        v.split([',', '='])
            .map(str::trim)
            .any(|part| !part.is_empty() && problem.contains(part))
    });
    mentioned.or(lines.first()).map(|(i, _)| *i)
}

fn rebase(base: Option<&Path>, p: &Path) -> PathBuf {
    match base {
        Some(b) if p.is_relative() => b.join(p),
        _ => p.to_path_buf(),
    }
}

/// Every path key except `error_page_404`, which is relative to `www_path`.
fn absolutize(cfg: &mut Config, base: &Path) {
    let b = Some(base);
    cfg.www_path = rebase(b, &cfg.www_path);
    cfg.ssl_cert_path = rebase(b, &cfg.ssl_cert_path);
    cfg.ssl_key_path = rebase(b, &cfg.ssl_key_path);
    for sni in &mut cfg.ssl_sni {
        sni.cert = rebase(b, &sni.cert);
        sni.key = rebase(b, &sni.key);
    }
    for site in &mut cfg.sites {
        let s = &mut site.cfg;
        s.www_path = rebase(b, &s.www_path);
        s.ssl_cert_path = rebase(b, &s.ssl_cert_path);
        s.ssl_key_path = rebase(b, &s.ssl_key_path);
    }
    for p in [&mut cfg.log_file, &mut cfg.access_log, &mut cfg.pid_file]
        .into_iter()
        .flatten()
    {
        if p.as_os_str() != carbon_core::driver::access_log::SYSLOG {
            *p = rebase(b, p);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn checks_after_parsing_name_the_line_of_their_key() {
        let text = "# c\nport = 0\n  www_path = /nope\n";
        assert_eq!(key_line(text, "www_path /nope: not a directory"), Some(3));
        assert_eq!(key_line(text, "access_log /x: is a directory"), None);
        assert_eq!(key_line(text, "hint: run this"), None);
        let sni = "ssl_sni = a.test=/a.pem,/a.key\nssl_sni = b.test=/b.pem,/b.key\n";
        assert_eq!(
            key_line(sni, "ssl_sni: TLS certificate file /b.pem: no such file"),
            Some(2)
        );
    }

    #[test]
    fn detached_daemon_keeps_relative_paths_meaning_the_start_directory() {
        let mut cfg = Config::from_text(
            "www_path = www\naccess_log = log/a.log\npid_file = /run/c.pid\nerror_page_404 = 404.html\n",
        )
        .unwrap();
        absolutize(&mut cfg, Path::new("/srv/site"));
        assert_eq!(cfg.www_path, Path::new("/srv/site/www"));
        assert_eq!(cfg.access_log.unwrap(), Path::new("/srv/site/log/a.log"));
        assert_eq!(cfg.pid_file.unwrap(), Path::new("/run/c.pid"));
        assert_eq!(cfg.error_page_404.unwrap(), Path::new("404.html"));
    }
}
