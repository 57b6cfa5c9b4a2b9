//! The command line, declared with clap's derive API (also the source of the shell
//! completions and man pages that `carbonctl generate` writes).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Control a running carbond through its control socket.
///
/// Exit codes: 0 success; 1 the command failed (reload refused, invalid
/// configuration, an error from carbond); 2 usage error; 3 carbond is not running
/// (no socket, or nothing listens on it); 4 permission denied; 5 no valid answer
/// (timeout, protocol error).
#[derive(Debug, Parser)]
#[command(name = "carbonctl", version, about, long_about)]
pub struct Cli {
    /// The control socket (default: control_socket of --config, else
    /// /run/carbon/carbond.sock).
    #[arg(
        long,
        short = 's',
        global = true,
        env = "CARBON_CONTROL_SOCKET",
        value_name = "PATH"
    )]
    pub socket: Option<PathBuf>,

    /// Read the socket path (control_socket) from this carbond configuration file.
    #[arg(long, short = 'c', global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Re-read carbond's configuration and apply it; waits for the outcome.
    Reload,
    /// Show connection, request and traffic counters.
    Stats(StatsArgs),
    /// Show version, pid, uptime, listeners and configuration generation.
    Status {
        /// Print the reply as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Stop carbond gracefully (in-flight responses finish).
    Stop,
    /// Reopen carbond's log files (after log rotation).
    ReopenLogs,
    /// Check a configuration file without a running carbond.
    CheckConfig {
        /// The configuration file.
        file: PathBuf,
    },
    /// Show carbonctl's version and, when it answers, carbond's.
    Version,
    /// Write shell completions or man pages (for packaging).
    #[command(hide = true)]
    Generate {
        #[command(subcommand)]
        what: Generate,
    },
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Print the counters as JSON (one object per line with --watch).
    #[arg(long, conflicts_with = "prometheus")]
    pub json: bool,
    /// Print the Prometheus text exposition format.
    #[arg(long)]
    pub prometheus: bool,
    /// Repeat every SECS seconds, with rates over the interval, until interrupted.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub watch: Option<u64>,
    /// Also show one line per worker.
    #[arg(long)]
    pub workers: bool,
}

#[derive(Debug, Subcommand)]
pub enum Generate {
    /// Print the completion script for SHELL on standard output.
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Write carbonctl.1 and one page per sub-command into DIR.
    Man { dir: PathBuf },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
}
