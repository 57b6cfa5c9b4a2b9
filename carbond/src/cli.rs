//! Command-line arguments, parsed with clap (derive). Every flag of the earlier
//! hand-written parser keeps its spelling: `-c/--config`, `-t/--check-config [FILE]`,
//! `--gen-self-signed DIR [NAME...]`, `-f/--foreground`, `-V/--version`, `-h/--help`.

use std::path::PathBuf;

use clap::Parser;

pub const DEFAULT_CONFIG: &str = "/etc/carbon/carbon.conf";

const AFTER_HELP: &str = "\
carbond runs in the foreground by default (what systemd's Type=notify and containers
want); --daemon (or `daemon = true`) detaches for init systems without supervision.

Signals: SIGHUP reloads the configuration (it used to reopen the logs: that is SIGUSR1
now), SIGTERM or SIGINT stop gracefully within shutdown_timeout (a second one exits at
once), SIGUSR1 reopens the log files after rotation, SIGQUIT stops at once.
See docs/operations.md.";

#[derive(Debug, Parser)]
#[command(name = "carbond", version, about = "The Carbon web server daemon", after_help = AFTER_HELP)]
pub struct Cli {
    /// Configuration file
    #[arg(short = 'c', long, value_name = "FILE", default_value = DEFAULT_CONFIG)]
    config: PathBuf,

    /// Validate the configuration (FILE, or --config), print a summary and exit
    #[arg(short = 't', long = "check-config", value_name = "FILE", num_args = 0..=1)]
    check_config: Option<Option<PathBuf>>,

    /// Write a development certificate (cert.pem, key.pem) for localhost, 127.0.0.1,
    /// ::1 and the NAMEs into DIR, and exit
    #[arg(long = "gen-self-signed", value_names = ["DIR", "NAME"], num_args = 1..)]
    gen_self_signed: Option<Vec<String>>,

    /// Run in the foreground (the default; accepted for scripts)
    #[arg(short = 'f', long, conflicts_with = "daemon")]
    foreground: bool,

    /// Detach from the terminal once the server is listening (double fork, setsid)
    #[arg(short = 'd', long)]
    daemon: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Run {
        config: PathBuf,
        /// `Some(true)` for --daemon, `Some(false)` for --foreground, `None` = the
        /// config file decides (`daemon`).
        daemon: Option<bool>,
    },
    Check {
        config: PathBuf,
    },
    GenSelfSigned {
        dir: PathBuf,
        names: Vec<String>,
    },
}

impl Cli {
    pub fn command(self) -> Command {
        if let Some(mut args) = self.gen_self_signed {
            let dir = PathBuf::from(args.remove(0));
            return Command::GenSelfSigned { dir, names: args };
        }
        match self.check_config {
            Some(Some(config)) => Command::Check { config },
            Some(None) => Command::Check {
                config: self.config,
            },
            None => Command::Run {
                config: self.config,
                daemon: if self.daemon {
                    Some(true)
                } else if self.foreground {
                    Some(false)
                } else {
                    None
                },
            },
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn p(a: &[&str]) -> Result<Command, String> {
        let mut v = vec!["carbond"];
        v.extend_from_slice(a);
        Cli::try_parse_from(v)
            .map(Cli::command)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn config_flag_forms() {
        let run = |c: &str, d| Command::Run {
            config: c.into(),
            daemon: d,
        };
        assert_eq!(p(&["-c", "x.conf"]), Ok(run("x.conf", None)));
        assert_eq!(
            p(&["--config=x.conf", "-f"]),
            Ok(run("x.conf", Some(false)))
        );
        assert_eq!(p(&[]), Ok(run(DEFAULT_CONFIG, None)));
        assert_eq!(p(&["--daemon"]), Ok(run(DEFAULT_CONFIG, Some(true))));
    }

    #[test]
    fn check_config_takes_file_or_uses_config_flag() {
        assert_eq!(
            p(&["--check-config", "a.conf"]),
            Ok(Command::Check {
                config: "a.conf".into()
            })
        );
        assert_eq!(
            p(&["-c", "b.conf", "-t"]),
            Ok(Command::Check {
                config: "b.conf".into()
            })
        );
    }

    #[test]
    fn gen_self_signed_takes_extra_names() {
        assert_eq!(
            p(&["--gen-self-signed", "d", "a.test", "192.0.2.1"]),
            Ok(Command::GenSelfSigned {
                dir: "d".into(),
                names: vec!["a.test".into(), "192.0.2.1".into()]
            })
        );
    }

    #[test]
    fn unknown_incomplete_or_conflicting_arguments_are_errors() {
        assert!(p(&["--bogus"]).unwrap_err().contains("--bogus"));
        assert!(p(&["--config"]).is_err());
        assert!(p(&["--daemon", "--foreground"]).is_err());
    }
}
