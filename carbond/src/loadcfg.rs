//! Loading a configuration completely: the file, the checks that need the file
//! system, and the TLS material. Start-up, `--check-config` and reload all go
//! through [`load`], so "ok" from one means "ok" for the others.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use carbon_core::config::Config;

/// A configuration ready to serve, with its TLS configuration when HTTPS is on.
pub struct Loaded {
    pub cfg: Config,
    pub tls: Option<Arc<rustls::ServerConfig>>,
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
pub fn load(path: &Path, base: Option<&Path>) -> Result<Loaded, LoadErrors> {
    let path = rebase(base, path);
    let mut cfg = Config::load(&path)
        .map_err(|errors| LoadErrors(errors.iter().map(|e| e.to_string()).collect()))?;
    if let Some(base) = base {
        absolutize(&mut cfg, base);
    }
    let mut problems = crate::preflight::check(&cfg);
    let tls = if cfg.use_https {
        match carbon_core::tls::server_config(&cfg) {
            Ok(t) => Some(t),
            Err(e) => {
                problems.extend(e.to_string().lines().map(str::to_string));
                if !cfg.ssl_cert_path.exists() {
                    problems.push(
                        "hint: `carbond --gen-self-signed DIR` writes a development certificate and key"
                            .to_string(),
                    );
                }
                None
            }
        }
    } else {
        None
    };
    if !problems.is_empty() {
        return Err(LoadErrors(
            problems
                .into_iter()
                .map(|p| format!("{}: {p}", path.display()))
                .collect(),
        ));
    }
    Ok(Loaded { cfg, tls })
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
