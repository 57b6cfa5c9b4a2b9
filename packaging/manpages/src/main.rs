//! Writes the reference pages the packages install, from the sources they describe,
//! so a page cannot say something the code does not:
//!
//! - `carbond.8` from carbond's clap command line (`carbond/src/cli.rs`, included
//!   below as a module, the very file carbond is built from), with clap_mangen;
//! - `carbon.conf.5` from carbon-core's key table ([`carbon_core::config::KEYS`]),
//!   the table whose names and defaults the tests hold `etc/carbon.conf` and
//!   `docs/configuration.md` to (see `tests` here and in carbon-core's config);
//! - carbond's bash, zsh and fish completions, with clap_complete.
//!
//! carbonctl writes its own pages and completions (`carbonctl generate`).
//!
//! Usage: `carbon-manpages OUT_DIR` (packaging/build.sh runs it).
#![forbid(unsafe_code)]

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::CommandFactory;
use roff::{bold, italic, roman, Inline, Roff};

// carbond's command line, compiled here from the same file. Only `Cli` is used.
#[allow(dead_code)]
#[path = "../../../carbond/src/cli.rs"]
mod carbond_cli;

mod conf_page;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(out), None) = (args.next(), args.next()) else {
        eprintln!("usage: carbon-manpages OUT_DIR");
        return ExitCode::from(2);
    };
    match write_all(Path::new(&out)) {
        Ok(files) => {
            for f in files {
                println!("{}", f.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("carbon-manpages: {e}");
            ExitCode::FAILURE
        }
    }
}

fn write_all(out: &Path) -> io::Result<Vec<PathBuf>> {
    let with_path =
        |p: &Path, e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", p.display()));
    fs::create_dir_all(out).map_err(|e| with_path(out, e))?;
    let mut written = Vec::new();
    let mut put = |name: &str, bytes: Vec<u8>| -> io::Result<()> {
        let p = out.join(name);
        fs::write(&p, bytes).map_err(|e| with_path(&p, e))?;
        written.push(p);
        Ok(())
    };
    put("carbond.8", carbond_page()?)?;
    put("carbon.conf.5", conf_page::render().into_bytes())?;
    for (shell, name) in [
        (clap_complete::Shell::Bash, "carbond.bash"),
        (clap_complete::Shell::Zsh, "_carbond"),
        (clap_complete::Shell::Fish, "carbond.fish"),
    ] {
        let mut buf = Vec::new();
        let mut cmd = carbond_command();
        clap_complete::generate(shell, &mut cmd, "carbond", &mut buf);
        put(name, buf)?;
    }
    Ok(written)
}

fn carbond_command() -> clap::Command {
    <carbond_cli::Cli as CommandFactory>::command()
}

/// carbond(8): clap_mangen's page, plus the FILES and SEE ALSO sections a daemon's
/// page has.
fn carbond_page() -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(carbond_command())
        .section("8")
        .manual("Carbon")
        .render(&mut buf)?;
    let mut extra = Roff::new();
    extra.control("SH", ["FILES"]);
    for (path, what) in [
        (
            "/etc/carbon/carbon.conf",
            "the configuration, see carbon.conf(5)",
        ),
        ("/var/www/carbon", "the packaged document root"),
        ("/var/log/carbon", "log files (log_file, access_log)"),
        (
            "/run/carbon/carbond.sock",
            "the control socket carbonctl(1) talks to",
        ),
    ] {
        extra.control("TP", [] as [&str; 0]);
        extra.text([bold(path)]);
        extra.text([roman(what)]);
    }
    see_also(
        &mut extra,
        &[
            ("carbonctl", "1"),
            ("carbon.conf", "5"),
            ("systemd.socket", "5"),
        ],
    );
    buf.extend_from_slice(extra.render().as_bytes());
    Ok(buf)
}

fn see_also(r: &mut Roff, pages: &[(&str, &str)]) {
    r.control("SH", ["SEE ALSO"]);
    let mut line: Vec<Inline> = Vec::new();
    for (i, (name, section)) in pages.iter().enumerate() {
        if i > 0 {
            line.push(roman(", "));
        }
        line.push(bold(*name));
        line.push(roman(format!("({section})")));
    }
    r.text(line);
    r.control("PP", [] as [&str; 0]);
    r.text([
        roman("The operator's guide and the full key reference: "),
        italic("/usr/share/doc/carbon/operations.md"),
        roman(" and "),
        italic("/usr/share/doc/carbon/configuration.md"),
        roman("."),
    ]);
}
