//! Checks that need the file system, run by both `--check-config` and start-up, so
//! that "ok" from `--check-config` means the server will start with this file.

use std::path::{Path, PathBuf};

use carbon_core::config::Config;

/// Every problem found, one message each, naming the key and the path as resolved.
pub fn check(cfg: &Config) -> Vec<String> {
    let mut errors = Vec::new();
    let root = &cfg.www_path;
    if !root.is_dir() {
        errors.push(format!(
            "www_path {}: not a directory or not readable{}",
            root.display(),
            relative_hint(root)
        ));
    }
    for (key, file) in [("log_file", &cfg.log_file), ("access_log", &cfg.access_log)] {
        if let Some(file) = file {
            if let Some(e) = writable_parent(file) {
                errors.push(format!("{key} {}: {e}", file.display()));
            }
        }
    }
    if let Some(page) = &cfg.error_page_404 {
        // The file service reads a relative page from the document root.
        let resolved: PathBuf = if page.is_absolute() {
            page.clone()
        } else {
            root.join(page)
        };
        if !resolved.is_file() {
            errors.push(format!(
                "error_page_404 {}: not a readable file (resolved to {}; relative paths are inside www_path)",
                page.display(),
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
}
