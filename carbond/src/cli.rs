//! Command-line arguments. carbond has few flags, so they are parsed by hand rather
//! than pulling in a parser crate; errors name the offending argument.

use std::ffi::OsString;
use std::path::PathBuf;

pub const DEFAULT_CONFIG: &str = "/etc/carbon/carbon.conf";

pub const USAGE: &str = "\
Usage: carbond [OPTIONS]

Options:
  -c, --config FILE          configuration file (default /etc/carbon/carbon.conf)
  -t, --check-config [FILE]  validate the configuration, print a summary, exit
      --gen-self-signed DIR [NAME...]
                             write a development certificate (cert.pem, key.pem)
                             for localhost, 127.0.0.1, ::1 and NAMEs into DIR, exit
  -f, --foreground           run in the foreground (the default; accepted for scripts)
  -V, --version              print the version and exit
  -h, --help                 print this help and exit

carbond always runs in the foreground; use systemd (or your supervisor) to run it
in the background. SIGTERM or SIGINT stops it gracefully (a second one at once);
SIGHUP reopens the log files after rotation.
";

#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Run { config: PathBuf },
    Check { config: PathBuf },
    GenSelfSigned { dir: PathBuf, names: Vec<String> },
    Version,
    Help,
}

/// The arguments as UTF-8 strings, or an error naming the first one that is not
/// (shown lossily, with U+FFFD for the invalid bytes). Configuration files hold UTF-8
/// paths only, so a path the command line could not spell in UTF-8 is refused too.
pub fn utf8_args(args: impl IntoIterator<Item = OsString>) -> Result<Vec<String>, String> {
    args.into_iter()
        .map(|a| {
            a.into_string().map_err(|bad| {
                format!(
                    "argument `{}` is not valid UTF-8; carbond takes UTF-8 arguments only",
                    bad.to_string_lossy()
                )
            })
        })
        .collect()
}

pub fn parse(args: &[String]) -> Result<Command, String> {
    let mut config: Option<PathBuf> = None;
    let mut check = false;
    let mut gen: Option<PathBuf> = None;
    let mut names: Vec<String> = Vec::new();
    let mut it = args.iter().peekable();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => it
                    .next()
                    .cloned()
                    .ok_or_else(|| format!("{name} needs a value")),
            }
        };
        match flag {
            "-c" | "--config" => config = Some(PathBuf::from(value(flag)?)),
            "-t" | "--check-config" => {
                check = true;
                if let Some(v) = inline.clone() {
                    config = Some(PathBuf::from(v));
                } else if let Some(next) = it.peek() {
                    if !next.starts_with('-') {
                        config = it.next().map(PathBuf::from);
                    }
                }
            }
            "--gen-self-signed" => {
                gen = Some(PathBuf::from(value(flag)?));
                while let Some(next) = it.peek() {
                    if next.starts_with('-') {
                        break;
                    }
                    names.extend(it.next().cloned());
                }
            }
            "-f" | "--foreground" => {}
            "-V" | "--version" => return Ok(Command::Version),
            "-h" | "--help" => return Ok(Command::Help),
            other => return Err(format!("unknown argument `{other}` (see --help)")),
        }
    }
    if let Some(dir) = gen {
        return Ok(Command::GenSelfSigned { dir, names });
    }
    let config = config.unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG));
    Ok(if check {
        Command::Check { config }
    } else {
        Command::Run { config }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(a: &[&str]) -> Result<Command, String> {
        parse(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn config_flag_forms() {
        let want = Command::Run {
            config: "x.conf".into(),
        };
        assert_eq!(p(&["-c", "x.conf"]), Ok(want));
        assert_eq!(
            p(&["--config=x.conf", "-f"]),
            Ok(Command::Run {
                config: "x.conf".into()
            })
        );
        assert_eq!(
            p(&[]),
            Ok(Command::Run {
                config: DEFAULT_CONFIG.into()
            })
        );
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
    fn non_utf8_argument_is_an_error_naming_it() {
        use std::os::unix::ffi::OsStringExt;
        let bad = OsString::from_vec(b"conf-\xff.conf".to_vec());
        let err = utf8_args(["-c".into(), bad]).unwrap_err();
        assert!(err.contains("conf-\u{fffd}.conf"), "{err}");
        assert!(err.contains("not valid UTF-8"), "{err}");
        assert_eq!(utf8_args(["-c".into()]), Ok(vec!["-c".to_string()]));
    }

    #[test]
    fn unknown_or_incomplete_arguments_are_errors() {
        assert!(p(&["--bogus"]).unwrap_err().contains("--bogus"));
        assert!(p(&["--config"]).unwrap_err().contains("needs a value"));
    }
}
