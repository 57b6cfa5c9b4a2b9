//! Turning file text plus environment into a validated [`Config`]: keys are looked
//! up in [`KEYS`](super::KEYS), values parsed by their setters, environment overrides
//! applied after the file, then settings that depend on each other are resolved and
//! checked. Every error is collected; nothing is returned half-applied.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use super::env;
use super::error::{ConfigError, ConfigErrors, ErrorKind, Origin};
use super::keys::{key, suggest, Builder};
use super::parse;
use super::{default_threads, unavailable_features, Config};

/// The keys that may be given more than once, each with what separates several
/// entries in one `CARBON_<KEY>` variable (header values may hold `;`, as
/// Content-Security-Policy does, so the header keys use newlines).
const REPEATABLE: &[(&str, char)] = &[
    ("ssl_sni", ';'),
    ("cache_control", '\n'),
    ("header_add", '\n'),
    ("header_set", '\n'),
    ("header_remove", '\n'),
    ("http2_push", '\n'),
];

fn repeatable(name: &str) -> Option<char> {
    REPEATABLE
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, sep)| *sep)
}

/// Where each key was last set, so errors about combinations point at a line.
struct Origins<'p> {
    path: &'p Path,
    by_key: HashMap<&'static str, Origin>,
}

impl Origins<'_> {
    fn file_line(&self, line: usize) -> Origin {
        Origin::File {
            path: self.path.to_path_buf(),
            line: Some(line),
        }
    }

    /// The origin of the first of `keys` that was set, else the file as a whole.
    fn of(&self, keys: &[&str]) -> Origin {
        keys.iter()
            .find_map(|k| self.by_key.get(k).cloned())
            .unwrap_or_else(|| Origin::File {
                path: self.path.to_path_buf(),
                line: None,
            })
    }
}

pub(super) fn load_from(
    path: &Path,
    text: &str,
    env: &[(String, String)],
) -> Result<Config, ConfigErrors> {
    let (cfg, errors) = load_lenient(path, text, env);
    if errors.is_empty() {
        Ok(cfg)
    } else {
        Err(errors)
    }
}

/// Like [`load_from`], but always returns the configuration built from every value
/// that was valid (defaults for the rest), next to every error. Callers use it to run
/// the file-system checks in the same pass as the syntax checks, skipping the keys
/// that already have an error.
pub(super) fn load_lenient(
    path: &Path,
    text: &str,
    env: &[(String, String)],
) -> (Config, ConfigErrors) {
    let mut origins = Origins {
        path,
        by_key: HashMap::new(),
    };
    let mut b = Builder {
        cfg: Config::default(),
        verbose: false,
        log_mode_given: false,
        listen_address_given: false,
        max_threads_raw: 0,
    };
    let mut file_errors: Vec<(usize, ConfigError)> = Vec::new();

    let (entries, heads, line_errors) = parse::parse_sections(text);
    for e in line_errors {
        // `Port = 1`: keys are case-sensitive, but the fix is obvious, so say it.
        let kind = match (&e.kind, e.key.as_deref().and_then(suggest)) {
            (ErrorKind::BadKeyName, Some(s)) => ErrorKind::UnknownKey {
                suggestion: Some(s),
            },
            _ => e.kind,
        };
        let err = ConfigError {
            origin: origins.file_line(e.line),
            key: e.key,
            kind,
        };
        file_errors.push((e.line, err));
    }

    let mut first_line: HashMap<&'static str, usize> = HashMap::new();
    // Per section: its entries (applied once the global settings are complete) and
    // where each key was first given.
    let mut sections: Vec<SectionEntries> = heads.iter().map(|_| Default::default()).collect();
    for e in entries {
        let origin = origins.file_line(e.line);
        let fail = |kind| ConfigError {
            origin: origins.file_line(e.line),
            key: Some(e.key.clone()),
            kind,
        };
        let Some(k) = key(&e.key) else {
            let suggestion = suggest(&e.key);
            file_errors.push((e.line, fail(ErrorKind::UnknownKey { suggestion })));
            continue;
        };
        if let Some(section) = e.section.checked_sub(1).and_then(|i| sections.get_mut(i)) {
            if !super::is_site_key(k.name) {
                let why = "a global setting: it cannot be set in a [site] section \
                           (move it above the first section)";
                file_errors.push((e.line, fail(ErrorKind::Section(why.to_owned()))));
                continue;
            }
            if repeatable(k.name).is_none() {
                if let Some(&first) = section.first_line.get(k.name) {
                    let err = fail(ErrorKind::Duplicate { first_line: first });
                    file_errors.push((e.line, err));
                    continue;
                }
                section.first_line.insert(k.name, e.line);
            }
            section.entries.push((e.line, k, e.value));
            continue;
        }
        if repeatable(k.name).is_none() {
            if let Some(&first) = first_line.get(k.name) {
                let err = fail(ErrorKind::Duplicate { first_line: first });
                file_errors.push((e.line, err));
                continue;
            }
            first_line.insert(k.name, e.line);
        }
        if let Err(v) = (k.set)(&mut b, &e.value) {
            file_errors.push((e.line, fail(ErrorKind::Value(v))));
        }
        origins.by_key.insert(k.name, origin);
    }
    file_errors.sort_by_key(|(line, _)| *line);
    let mut errors: Vec<ConfigError> = file_errors.into_iter().map(|(_, e)| e).collect();

    let (overrides, env_errors) = env::overrides(env);
    errors.extend(env_errors);
    for o in overrides {
        let origin = Origin::Env { var: o.var.clone() };
        let results = if let Some(separator) = repeatable(o.key.name) {
            // The variable replaces every line of that key in the file.
            clear_list(&mut b.cfg, o.key.name);
            o.value
                .split(separator)
                .map(|part| (o.key.set)(&mut b, part.trim()))
                .collect()
        } else {
            vec![(o.key.set)(&mut b, &o.value)]
        };
        for r in results {
            if let Err(v) = r {
                errors.push(ConfigError {
                    origin: origin.clone(),
                    key: Some(o.key.name.to_owned()),
                    kind: ErrorKind::Value(v),
                });
            }
        }
        origins.by_key.insert(o.key.name, origin);
    }

    let builder_template = Builder {
        cfg: Config::default(),
        ..b.clone()
    };
    let mut cfg = resolve(b, path);
    errors.extend(cross_checks(&cfg, &origins));
    cfg.sites = sites(
        &cfg,
        &heads,
        sections,
        builder_template,
        &origins,
        &mut errors,
    );
    // A site's own certificate is offered for its names through the SNI table.
    for site in cfg.sites.clone() {
        if site.own_certificate {
            for name in &site.names {
                cfg.ssl_sni.push(super::SniCert {
                    name: name.clone(),
                    cert: site.cfg.ssl_cert_path.clone(),
                    key: site.cfg.ssl_key_path.clone(),
                });
            }
        }
    }
    (cfg, ConfigErrors(errors))
}

/// A section's `key = value` lines, in file order.
#[derive(Default)]
struct SectionEntries {
    entries: Vec<(usize, &'static super::KeyDoc, String)>,
    first_line: HashMap<&'static str, usize>,
}

/// Builds every section whose header was valid: names checked and unique across the
/// file, the global settings copied and the section's keys applied on top.
fn sites(
    global: &Config,
    heads: &[parse::SectionHead],
    sections: Vec<SectionEntries>,
    template: Builder,
    origins: &Origins<'_>,
    errors: &mut Vec<ConfigError>,
) -> Vec<super::Site> {
    let mut out = Vec::new();
    let mut site_errors: Vec<(usize, ConfigError)> = Vec::new();
    let mut owner: HashMap<String, usize> = HashMap::new();
    for (head, section) in heads.iter().zip(sections) {
        let at = |line: usize, key: Option<&str>, kind: ErrorKind| {
            (
                line,
                ConfigError {
                    origin: origins.file_line(line),
                    key: key.map(str::to_owned),
                    kind,
                },
            )
        };
        if head.names.is_empty() {
            continue; // the header's own error is already reported
        }
        let mut names = Vec::new();
        for raw in &head.names {
            match super::site::site_name(raw) {
                Ok(name) => {
                    if let Some(first) = owner.get(&name) {
                        let why = format!(
                            "site name `{name}` is already used by the site on line {first}"
                        );
                        site_errors.push(at(head.line, None, ErrorKind::Section(why)));
                    } else {
                        owner.insert(name.clone(), head.line);
                        names.push(name);
                    }
                }
                Err(kind) => site_errors.push(at(head.line, None, kind)),
            }
        }
        let mut b = template.clone();
        b.cfg = global.clone();
        b.cfg.sites = Vec::new();
        let mut cleared: Vec<&str> = Vec::new();
        let given = |k: &str| section.first_line.contains_key(k);
        let own_certificate = given("ssl_cert_path") || given("ssl_key_path");
        for (line, k, value) in &section.entries {
            // A repeatable key in a section replaces the inherited list.
            if repeatable(k.name).is_some() && !cleared.contains(&k.name) {
                cleared.push(k.name);
                clear_list(&mut b.cfg, k.name);
            }
            if let Err(v) = (k.set)(&mut b, value) {
                site_errors.push(at(*line, Some(k.name), ErrorKind::Value(v)));
            }
        }
        let line_of = |k: &str| section.first_line.get(k).copied().unwrap_or(head.line);
        if own_certificate && !(given("ssl_cert_path") && given("ssl_key_path")) {
            let k = if given("ssl_cert_path") {
                "ssl_cert_path"
            } else {
                "ssl_key_path"
            };
            let why = "a site's own certificate needs both `ssl_cert_path` and `ssl_key_path`";
            site_errors.push(at(line_of(k), Some(k), ErrorKind::Section(why.to_owned())));
        }
        if b.cfg.redirect_http_to_https && !b.cfg.use_https {
            let why = "needs `use_https = true` (there would be nothing to redirect to)";
            let k = "redirect_http_to_https";
            site_errors.push(at(line_of(k), Some(k), ErrorKind::Conflict(why.to_owned())));
        }
        if b.cfg.hsts_preload
            && (!b.cfg.hsts_include_subdomains || b.cfg.hsts_max_age < 31_536_000)
            && (given("hsts_preload") || given("hsts_max_age") || given("hsts_include_subdomains"))
        {
            let why = "needs `hsts_include_subdomains = true` and `hsts_max_age` of at least \
                       31536000 (the preload list refuses anything less)";
            let k = "hsts_preload";
            site_errors.push(at(line_of(k), Some(k), ErrorKind::Conflict(why.to_owned())));
        }
        if names.is_empty() {
            continue;
        }
        out.push(super::Site {
            names,
            line: head.line,
            cfg: b.cfg,
            own_certificate,
        });
    }
    site_errors.sort_by_key(|(line, _)| *line);
    errors.extend(site_errors.into_iter().map(|(_, e)| e));
    out
}

fn clear_list(cfg: &mut Config, key: &str) {
    match key {
        "ssl_sni" => cfg.ssl_sni.clear(),
        "cache_control" => cfg.cache_control.clear(),
        "header_add" => cfg.header_add.clear(),
        "header_set" => cfg.header_set.clear(),
        "header_remove" => cfg.header_remove.clear(),
        "http2_push" => cfg.http2_push.clear(),
        _ => {}
    }
}

/// Fills in the settings whose defaults depend on other settings.
fn resolve(b: Builder, path: &Path) -> Config {
    let mut cfg = b.cfg;
    cfg.source = Some(path.to_path_buf());
    cfg.max_threads = match b.max_threads_raw {
        0 => default_threads(),
        n => n,
    };
    if !b.listen_address_given {
        cfg.listen_address =
            super::value::ip_addr(&cfg.server_name).unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        cfg.listen_addresses = vec![cfg.listen_address];
    }
    // `verbose` is Carbon's older switch; an explicit `log_mode` is the newer, more
    // precise one, so it wins wherever either was given.
    if b.verbose && !b.log_mode_given {
        cfg.log_mode = super::LogMode::Debug;
    }
    cfg
}

fn cross_checks(cfg: &Config, origins: &Origins<'_>) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    let mut conflict = |keys: &[&str], why: String| {
        errors.push(ConfigError {
            origin: origins.of(keys),
            key: keys.first().map(|k| (*k).to_owned()),
            kind: ErrorKind::Conflict(why),
        });
    };
    // Port 0 means "any free port", so two zeros get two different ports.
    if cfg.use_https && cfg.port != 0 && cfg.port == cfg.https_port {
        conflict(
            &["https_port", "port", "use_https"],
            format!(
                "HTTPS port {} is also the HTTP port; use different ports",
                cfg.https_port
            ),
        );
    }
    if cfg.redirect_http_to_https && !cfg.use_https {
        conflict(
            &["redirect_http_to_https"],
            "needs `use_https = true` (there would be nothing to redirect to)".to_owned(),
        );
    }
    // hstspreload.org refuses a domain whose header lacks includeSubDomains or has a
    // max-age under one year; sending `preload` without them only misleads.
    if cfg.hsts_preload && (!cfg.hsts_include_subdomains || cfg.hsts_max_age < 31_536_000) {
        conflict(
            &["hsts_preload"],
            "needs `hsts_include_subdomains = true` and `hsts_max_age` of at least 31536000 \
             (the preload list refuses anything less)"
                .to_owned(),
        );
    }
    if (cfg.proxy_protocol || cfg.https_proxy_protocol) && cfg.proxy_protocol_from.is_empty() {
        conflict(
            &[
                "proxy_protocol_from",
                "proxy_protocol",
                "https_proxy_protocol",
            ],
            "a PROXY protocol listener needs `proxy_protocol_from` (the balancers' addresses): \
             anyone else could claim any client address"
                .to_owned(),
        );
    }
    for (key, why) in unavailable_features(cfg) {
        errors.push(ConfigError {
            origin: origins.of(&[key]),
            key: Some(key.to_owned()),
            kind: ErrorKind::Unavailable(why),
        });
    }
    errors
}
