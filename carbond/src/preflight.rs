//! Checks that need the file system, run by both `--check-config` and start-up, so
//! that "ok" from `--check-config` means the server will start with this file.
//!
//! One pass reports everything: syntax and value errors from the file, then the
//! file-system checks (directories, the 404 page, TLS files) on the values that were
//! valid. A key whose value was already refused is not checked again, so the operator
//! never sees a complaint about a default they did not choose.

use std::path::{Path, PathBuf};
#[cfg(test)]
use std::time::SystemTime;

use carbon_core::config::{Config, ConfigErrors};
use carbon_core::tls::TlsError;
#[cfg(test)]
use carbon_core::tls::TlsSettings;

/// Repeats the start-up warnings in the error log once it is installed, when that log
/// is a file (on standard error they were already shown).
pub fn log_warnings(cfg: &Config, warnings: &[String]) {
    if cfg.log_file.is_some() {
        for w in warnings {
            log::warn!("{w}");
        }
    }
}

/// Every line of a TLS error, plus what helps fixing it: where relative paths were
/// looked for, and the self-signed generator only when the default certificate is
/// really absent (not when it exists but cannot be read).
pub(crate) fn tls_problems(cfg: &Config, e: &TlsError) -> Vec<String> {
    let mut out: Vec<String> = e.to_string().lines().map(str::to_string).collect();
    let mut relative: Vec<String> = [&cfg.ssl_cert_path, &cfg.ssl_key_path]
        .into_iter()
        .chain(cfg.ssl_sni.iter().flat_map(|s| [&s.cert, &s.key]))
        .filter(|p| p.is_relative())
        .map(|p| p.display().to_string())
        .collect();
    relative.dedup();
    if !relative.is_empty() {
        let cwd = std::env::current_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_else(|_| "(unknown)".to_string());
        out.push(format!(
            "note: relative TLS paths ({}) are resolved against the working directory {cwd}",
            relative.join(", ")
        ));
    }
    let default_cert_missing = e
        .errors()
        .iter()
        .any(|e| matches!(e, TlsError::FileMissing { path, .. } if *path == cfg.ssl_cert_path));
    if default_cert_missing {
        out.push(
            "hint: `carbond --gen-self-signed DIR` writes a development certificate and key"
                .to_string(),
        );
    }
    out
}

/// Every problem found, one message each, naming the key and the path as resolved.
#[cfg(test)]
fn check(cfg: &Config) -> Vec<String> {
    check_skipping(cfg, &ConfigErrors(Vec::new()))
}

pub(crate) fn check_skipping(cfg: &Config, known: &ConfigErrors) -> Vec<String> {
    // The root first, then the logs, then the files inside the root.
    let (mut errors, files): (Vec<String>, Vec<String>) =
        site_files(cfg, !known.concerns("www_path"))
            .into_iter()
            .partition(|e| e.starts_with("www_path "));
    for (key, file) in [("log_file", &cfg.log_file), ("access_log", &cfg.access_log)] {
        if let Some(file) = file {
            if let Some(e) = writable_parent(file) {
                errors.push(format!("{key} {}: {e}", file.display()));
            }
        }
    }
    errors.extend(files);
    errors
}

/// The same checks for every `[site]` section that sets its own files, each with
/// the line of its section header and the site's first name.
pub(crate) fn site_problems(cfg: &Config) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for site in &cfg.sites {
        let s = &site.cfg;
        let differs = s.www_path != cfg.www_path
            || s.error_page_404 != cfg.error_page_404
            || s.spa_fallback != cfg.spa_fallback;
        if !differs {
            continue;
        }
        for p in site_files(s, true) {
            out.push((site.line, format!("[site {}] {p}", site.label())));
        }
    }
    out
}

/// Document root, 404 page and SPA fallback of one site.
fn site_files(cfg: &Config, check_root: bool) -> Vec<String> {
    let mut errors = Vec::new();
    let root = &cfg.www_path;
    let root_ok = root.is_dir();
    if !root_ok && check_root {
        errors.push(format!(
            "www_path {}: not a directory or not readable{}",
            root.display(),
            relative_hint(root)
        ));
    }
    if let Some(page) = &cfg.error_page_404 {
        // The file service reads a relative page from the document root; without a
        // root there is nothing to resolve it against.
        let resolved: PathBuf = if page.is_absolute() {
            page.clone()
        } else {
            root.join(page)
        };
        if (page.is_absolute() || root_ok) && !resolved.is_file() {
            errors.push(format!(
                "error_page_404 {}: not a readable file (resolved to {}; relative paths are inside www_path)",
                page.display(),
                resolved.display()
            ));
        }
    }
    if let Some(fallback) = &cfg.spa_fallback {
        // Without the file every deep link would be a 404 with no hint why.
        let resolved = root.join(fallback);
        if root_ok && !resolved.is_file() {
            errors.push(format!(
                "spa_fallback {}: not a readable file (resolved to {}; the path is inside www_path)",
                fallback.display(),
                resolved.display()
            ));
        }
    }
    errors
}

/// Log files are created on start-up, so their directory must exist.
fn writable_parent(file: &Path) -> Option<String> {
    if file.is_dir() {
        return Some("is a directory".into());
    }
    let parent = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Some(format!(
            "directory {} does not exist{}",
            parent.display(),
            relative_hint(parent)
        ));
    }
    None
}

fn relative_hint(p: &Path) -> String {
    if p.is_absolute() {
        return String::new();
    }
    match std::env::current_dir() {
        Ok(cwd) => format!(" (relative to the working directory {})", cwd.display()),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> Config {
        Config::from_text(text).unwrap()
    }

    #[test]
    fn missing_log_directory_and_error_page_are_reported_before_start() {
        let dir = tempfile::tempdir().unwrap();
        let www = dir.path().join("www");
        std::fs::create_dir(&www).unwrap();
        let text = format!(
            "www_path = {}\naccess_log = {}/nope/access.log\nerror_page_404 = missing.html\n",
            www.display(),
            dir.path().display()
        );
        let errors = check(&cfg(&text));
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].starts_with("access_log ") && errors[0].contains("does not exist"));
        assert!(errors[1].starts_with("error_page_404 missing.html"));

        std::fs::write(www.join("missing.html"), "x").unwrap();
        let text = format!(
            "www_path = {}\naccess_log = {}/access.log\nerror_page_404 = missing.html\n",
            www.display(),
            dir.path().display()
        );
        assert_eq!(check(&cfg(&text)), Vec::<String>::new());
    }

    #[test]
    fn missing_spa_fallback_file_is_reported_before_start() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "www_path = {}\nspa_fallback = /app.html\n",
            dir.path().display()
        );
        let errors = check(&cfg(&text));
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].starts_with("spa_fallback app.html"), "{errors:?}");
        std::fs::write(dir.path().join("app.html"), "x").unwrap();
        assert_eq!(check(&cfg(&text)), Vec::<String>::new());
    }

    #[test]
    fn unreadable_certificate_gets_no_self_signed_hint_and_names_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the certificate should be: it exists but cannot be read.
        std::fs::create_dir(dir.path().join("cert.pem")).unwrap();
        let text = format!(
            "use_https = true\nssl_cert_path = {}/cert.pem\nssl_key_path = rel/key.pem\n",
            dir.path().display()
        );
        let c = cfg(&text);
        let e = TlsSettings::from_config(&c)
            .build(SystemTime::now())
            .unwrap_err();
        let lines = tls_problems(&c, &e);
        let all = lines.join("\n");
        assert!(all.contains("cannot read it"), "{all}");
        assert!(!all.contains("--gen-self-signed"), "{all}");
        let cwd = std::env::current_dir().unwrap();
        assert!(
            all.contains(&format!(
                "relative TLS paths (rel/key.pem) are resolved against the working directory {}",
                cwd.display()
            )),
            "{all}"
        );

        // A certificate that does not exist at all does get the hint.
        let text = format!(
            "use_https = true\nssl_cert_path = {0}/none.pem\nssl_key_path = {0}/k.pem\n",
            dir.path().display()
        );
        let c = cfg(&text);
        let e = TlsSettings::from_config(&c)
            .build(SystemTime::now())
            .unwrap_err();
        assert!(tls_problems(&c, &e)
            .join("\n")
            .contains("--gen-self-signed"));
    }

    #[test]
    fn checks_skip_keys_whose_value_was_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("carbon.conf");
        // A value error (port) does not hide the file-system problems found in the
        // same pass: the missing root and the missing access_log directory.
        std::fs::write(
            &path,
            format!(
                "port = nope\nwww_path = {0}/no-such-root\naccess_log = {0}/nodir/a.log\n",
                dir.path().display()
            ),
        )
        .unwrap();
        let (c, errors) = Config::load_lenient(&path).unwrap();
        assert!(errors.concerns("port"));
        let problems = check_skipping(&c, &errors);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("www_path "), "{problems:?}");
        assert!(problems[1].starts_with("access_log "), "{problems:?}");
    }
}
