//! carbonctl: the operator's command-line client for carbond's control socket
//! (docs/carbonctl.md; protocol in docs/control-protocol.md).
#![forbid(unsafe_code)]

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use carbon_control::{Command, Reply};
use clap::{CommandFactory, Parser};

mod cli;
mod client;
mod render;

use cli::{Cli, Cmd, Generate, StatsArgs};
use client::Failure;

/// Exit codes; documented in the `--help` text and docs/carbonctl.md.
pub mod exit {
    pub const OK: u8 = 0;
    pub const FAILED: u8 = 1;
    pub const NOT_RUNNING: u8 = 3;
    pub const PERMISSION: u8 = 4;
    pub const NO_ANSWER: u8 = 5;
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(f) => {
            eprintln!("carbonctl: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    let socket = || client::socket_path(cli.socket.clone(), cli.config.as_deref());
    match &cli.command {
        Cmd::Reload => match client::call(&socket()?, Command::Reload)? {
            Reply::Reload(r) => {
                println!("reloaded: configuration generation {}", r.generation);
                if !r.message.is_empty() {
                    println!("{}", r.message);
                }
                Ok(())
            }
            other => Err(unexpected(&other)),
        },
        Cmd::Stats(args) => stats(&socket()?, args),
        Cmd::Status { json } => match client::call(&socket()?, Command::Status)? {
            Reply::Status(s) => {
                if *json {
                    println!("{}", to_json(&s));
                } else {
                    print!("{}", render::status(&s));
                }
                Ok(())
            }
            other => Err(unexpected(&other)),
        },
        Cmd::Stop => done(&socket()?, Command::Stop),
        Cmd::ReopenLogs => done(&socket()?, Command::ReopenLogs),
        Cmd::CheckConfig { file } => check_config(file),
        Cmd::Version => {
            println!(
                "carbonctl {} (control protocol {})",
                env!("CARGO_PKG_VERSION"),
                carbon_control::PROTOCOL_VERSION
            );
            match socket().and_then(|s| client::call(&s, Command::Status)) {
                Ok(Reply::Status(s)) => println!("carbond {} (pid {})", s.version, s.pid),
                Ok(_) => {}
                Err(f) => println!("carbond: {}", f.message),
            }
            Ok(())
        }
        Cmd::Generate { what } => generate(what),
    }
}

fn done(socket: &Path, cmd: Command) -> Result<(), Failure> {
    match client::call(socket, cmd)? {
        Reply::Done { message } => {
            println!("carbond: {message}");
            Ok(())
        }
        other => Err(unexpected(&other)),
    }
}

fn stats(socket: &Path, args: &StatsArgs) -> Result<(), Failure> {
    if args.prometheus {
        loop {
            match client::call(socket, Command::Metrics)? {
                Reply::Metrics { text } => print!("{text}"),
                other => return Err(unexpected(&other)),
            }
            let Some(secs) = args.watch else {
                return Ok(());
            };
            let _ = std::io::stdout().flush();
            std::thread::sleep(Duration::from_secs(secs));
        }
    }
    let mut prev: Option<(carbon_control::StatsReport, Instant)> = None;
    loop {
        let report = match client::call(socket, Command::Stats)? {
            Reply::Stats(r) => r,
            other => return Err(unexpected(&other)),
        };
        let now = Instant::now();
        if args.json && args.watch.is_some() {
            // One object per line, so a consumer can read the stream line by line.
            println!("{}", serde_json::to_string(&report).unwrap_or_default());
        } else if args.json {
            println!("{}", to_json(&report));
        } else {
            if args.watch.is_some() && prev.is_some() {
                println!();
            }
            let p = prev
                .as_ref()
                .map(|(r, t)| (r, now.duration_since(*t).as_secs_f64()));
            print!("{}", render::stats(&report, p, args.workers));
        }
        let _ = std::io::stdout().flush();
        let Some(secs) = args.watch else {
            return Ok(());
        };
        prev = Some((report, now));
        std::thread::sleep(Duration::from_secs(secs));
    }
}

/// The same checks carbond runs before starting: the file (every error with file,
/// line and key) and, with HTTPS, the certificates and keys.
fn check_config(file: &Path) -> Result<(), Failure> {
    let cfg = carbon_core::config::Config::load(file).map_err(|e| Failure {
        code: exit::FAILED,
        message: format!("{}: configuration errors:\n{e}", file.display()),
    })?;
    if cfg.use_https {
        if let Err(e) = carbon_core::tls::server_config(&cfg) {
            return Err(Failure {
                code: exit::FAILED,
                message: format!("{}: {e}", file.display()),
            });
        }
    }
    println!("{}: ok: {}", file.display(), cfg.summary());
    Ok(())
}

fn generate(what: &Generate) -> Result<(), Failure> {
    let mut cmd = Cli::command();
    match what {
        Generate::Completions { shell } => {
            use clap_complete::Shell as S;
            let shell = match shell {
                cli::Shell::Bash => S::Bash,
                cli::Shell::Zsh => S::Zsh,
                cli::Shell::Fish => S::Fish,
                cli::Shell::Elvish => S::Elvish,
                cli::Shell::Powershell => S::PowerShell,
            };
            clap_complete::generate(shell, &mut cmd, "carbonctl", &mut std::io::stdout());
            Ok(())
        }
        Generate::Man { dir } => {
            let fail = |e: std::io::Error| Failure {
                code: exit::FAILED,
                message: format!("{}: {e}", dir.display()),
            };
            std::fs::create_dir_all(dir).map_err(fail)?;
            clap_mangen::generate_to(cmd, dir).map_err(fail)?;
            println!("man pages written to {}", dir.display());
            Ok(())
        }
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

fn unexpected(r: &Reply) -> Failure {
    Failure {
        code: exit::NO_ANSWER,
        message: format!("unexpected reply from carbond: {r:?}"),
    }
}
