//! `CARBON_<KEY>` environment overrides (containers configure Carbon this way).
//!
//! A variable whose name is `CARBON_` plus a key in uppercase overrides that key after
//! the file is read. `CARBON_*` names that are not keys are ignored, because other
//! software shares the prefix, unless they are within edit distance 2 of a key
//! (`CARBON_PROT`): those are typos and reported, since silently ignoring them would
//! leave the operator believing the override applies.

use super::error::{ConfigError, ErrorKind, Origin};
use super::keys::{key, suggest, KeyDoc};

pub(super) const PREFIX: &str = "CARBON_";

/// One override: the variable it came from, the key and the raw value.
#[derive(Debug, Clone)]
pub(super) struct EnvEntry {
    pub var: String,
    pub key: &'static KeyDoc,
    pub value: String,
}

/// Picks the overrides out of `env`, sorted by variable name so the result and the
/// error order do not depend on the order the OS lists them in.
pub(super) fn overrides(env: &[(String, String)]) -> (Vec<EnvEntry>, Vec<ConfigError>) {
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    let mut sorted: Vec<&(String, String)> = env.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    for (var, value) in sorted {
        let Some(rest) = var.strip_prefix(PREFIX) else {
            continue;
        };
        let upper_only = rest
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        let known = if upper_only {
            key(&rest.to_ascii_lowercase())
        } else {
            None
        };
        match known {
            Some(k) => entries.push(EnvEntry {
                var: var.clone(),
                key: k,
                value: value.trim().to_owned(),
            }),
            None => {
                if let Some(s) = suggest(rest) {
                    errors.push(ConfigError {
                        origin: Origin::Env { var: var.clone() },
                        key: Some(rest.to_ascii_lowercase()),
                        kind: ErrorKind::UnknownKey {
                            suggestion: Some(s),
                        },
                    });
                }
            }
        }
    }
    (entries, errors)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn carbon_prefixed_uppercase_keys_are_overrides() {
        let (entries, errors) = overrides(&env(&[
            ("PATH", "/bin"),
            ("CARBON_PORT", " 9090 "),
            ("CARBON_KEEP_ALIVE_TIMEOUT", "5"),
        ]));
        assert!(errors.is_empty());
        let got: Vec<_> = entries
            .iter()
            .map(|e| (e.var.as_str(), e.key.name, e.value.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("CARBON_KEEP_ALIVE_TIMEOUT", "keep_alive_timeout", "5"),
                ("CARBON_PORT", "port", "9090"),
            ]
        );
    }

    #[test]
    fn lowercase_suffix_is_not_a_key() {
        let (entries, _) = overrides(&env(&[("CARBON_port", "1")]));
        assert!(entries.is_empty());
    }

    #[test]
    fn near_miss_is_reported_unrelated_is_ignored() {
        let (entries, errors) = overrides(&env(&[
            ("CARBON_PROT", "1"),
            ("CARBON_HOME", "/opt/graphite"),
        ]));
        assert!(entries.is_empty());
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].to_string(),
            "environment variable CARBON_PROT: key `prot`: unknown variable; did you mean `CARBON_PORT`?"
        );
    }
}
