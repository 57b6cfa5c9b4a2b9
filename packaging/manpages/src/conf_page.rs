//! carbon.conf(5), generated from [`carbon_core::config::KEYS`]: one entry per key with
//! its default, its meaning and its environment override. The prose around the table
//! is a summary of the file format in docs/configuration.md; the keys and defaults
//! come from the table only.

use carbon_core::config::KEYS;
use roff::{bold, italic, roman, Roff};

pub fn render() -> String {
    let mut r = Roff::new();
    r.control(
        "TH",
        ["CARBON.CONF", "5", "", env!("CARGO_PKG_VERSION"), "Carbon"],
    );
    r.control("SH", ["NAME"]);
    r.text([roman(
        "carbon.conf - configuration file of the Carbon web server",
    )]);
    r.control("SH", ["SYNOPSIS"]);
    r.text([bold("/etc/carbon/carbon.conf")]);
    r.control("SH", ["DESCRIPTION"]);
    for para in [
        "carbond(8) reads one configuration file, applies the environment overrides, \
         then validates everything together: either every setting is valid, or carbond \
         prints every problem as FILE:LINE: key `name`: message and does not start. \
         A reload (carbonctl reload, or SIGHUP) reads the file the same way; on error \
         the old configuration keeps serving.",
        "One key = value per line. The line is split at its first =. Blank lines are \
         ignored; a line whose first non-blank character is # is a comment, and so is \
         the rest of a value after a # that follows whitespace. A value may be wrapped \
         in double or single quotes, taken verbatim. Keys are lowercase; each appears \
         once, except ssl_sni. An unknown key is an error, with a suggestion when a \
         known key is close.",
        "Booleans: true, yes, on, 1 or false, no, off, 0. Sizes: bytes, or with k, m, \
         g (1k = 1024). Durations: seconds (0.5 allowed), or with ms, s, m (500ms, 30s, \
         2m). Relative paths are relative to the directory carbond is started from.",
        "carbond --check-config FILE checks a file, including what start-up checks on \
         disk (document root, log directories, certificates), and exits non-zero on \
         any error.",
    ] {
        r.control("PP", [] as [&str; 0]);
        r.text([roman(para)]);
    }
    r.control("SH", ["KEYS"]);
    r.text([roman(
        "Every key, in the order of the commented default file, with its default \
         (empty means unset).",
    )]);
    for k in KEYS {
        r.control("TP", [] as [&str; 0]);
        let default = if k.default.is_empty() {
            italic("(empty)")
        } else {
            roman(k.default)
        };
        r.text([bold(k.name), roman(" = "), default]);
        r.text([roman(format!("{}.", capitalised(k.help)))]);
        r.control("br", [] as [&str; 0]);
        r.text([roman("Environment: "), bold(k.env_var())]);
    }
    r.control("SH", ["ENVIRONMENT"]);
    r.text([
        roman("Every key can be overridden with "),
        bold("CARBON_"),
        italic("KEY"),
        roman(
            " (the key in uppercase), for example CARBON_PORT=9090. Overrides are \
             validated like the file; an error names the variable.",
        ),
    ]);
    r.control("SH", ["FILES"]);
    r.control("TP", [] as [&str; 0]);
    r.text([bold("/etc/carbon/carbon.conf")]);
    r.text([roman(
        "The packaged configuration: ports 80 and 443, document root /var/www/carbon, \
         logs in /var/log/carbon, HTTPS off until a certificate is configured (the \
         steps are in the file).",
    )]);
    r.control("SH", ["SEE ALSO"]);
    r.text([
        bold("carbond"),
        roman("(8), "),
        bold("carbonctl"),
        roman("(1); the full reference with ranges and examples: "),
        italic("/usr/share/doc/carbon/configuration.md"),
        roman("."),
    ]);
    r.render()
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn repo_file(rel: &str) -> String {
        let p = concat!(env!("CARGO_MANIFEST_DIR"), "/../../").to_owned() + rel;
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
    }

    /// Every key of the table has an entry with its default and its variable.
    #[test]
    fn carbon_conf_5_lists_every_key_with_default_and_env() {
        let page = render();
        for k in KEYS {
            let entry = format!("\\fB{}\\fR = ", k.name);
            let at = page
                .find(&entry)
                .unwrap_or_else(|| panic!("`{}` missing from carbon.conf(5)", k.name));
            let rest = &page[at + entry.len()..];
            let shown = rest.lines().next().unwrap();
            if !k.default.is_empty() {
                // roff escapes '-' as "\-", "'" as "\*(Aq" and guards a leading
                // "." or "'" with "\&".
                let unescaped = shown
                    .replace("\\-", "-")
                    .replace("\\*(Aq", "'")
                    .replace("\\&", "");
                assert!(
                    unescaped.contains(k.default),
                    "`{}`: page shows `{shown}`, table says `{}`",
                    k.name,
                    k.default
                );
            }
            assert!(page.contains(&format!("\\fB{}\\fR", k.env_var())));
        }
    }

    /// The tables of docs/configuration.md (`| \`key\` | \`default\` | ...`) show the
    /// default of the key table, so the man page and the docs agree where both give
    /// one. Rows whose default column is prose (e.g. "empty (off)") are left to the
    /// reader.
    #[test]
    fn docs_configuration_md_defaults_match_key_table() {
        let docs = repo_file("docs/configuration.md");
        let mut compared = 0;
        for line in docs.lines() {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            if cells.len() < 4 || !cells[0].is_empty() {
                continue;
            }
            let (Some(name), Some(default)) = (ticked(cells[1]), ticked(cells[2])) else {
                continue;
            };
            let Some(k) = carbon_core::config::key(name) else {
                continue;
            };
            assert_eq!(
                default, k.default,
                "docs/configuration.md default of `{name}`"
            );
            compared += 1;
        }
        // Most keys have a plain default in the docs; a table format change that
        // makes this compare nothing must fail rather than pass vacuously.
        assert!(compared >= KEYS.len() / 2, "only {compared} rows compared");
    }

    /// `x` when the whole cell is one backticked value.
    fn ticked(cell: &str) -> Option<&str> {
        let inner = cell.strip_prefix('`')?.strip_suffix('`')?;
        (!inner.contains('`')).then_some(inner)
    }

    #[test]
    fn carbond_8_is_generated_from_carbond_cli() {
        let page = String::from_utf8(crate::carbond_page().unwrap()).unwrap();
        assert!(page.contains(".TH carbond 8"), "{}", &page[..200]);
        for flag in [
            "check\\-config",
            "gen\\-self\\-signed",
            "foreground",
            "daemon",
        ] {
            assert!(page.contains(flag), "carbond(8) lacks --{flag}");
        }
    }
}
