//! carbond: the Carbon web server daemon.
//!
//! Loads and validates the configuration, binds the listeners, reports the bound
//! addresses on standard output (`carbond: listening on http://ADDR`), runs the
//! workers in the foreground and stops gracefully on SIGTERM/SIGINT.
#![forbid(unsafe_code)]

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use carbon_core::config::Config;
use carbon_core::driver::{Server, ServiceFactory};
use carbon_core::service::files::{FileOptions, FileService};
use carbon_core::service::Service;

mod cli;
mod logger;
mod preflight;
mod signals;

fn main() -> ExitCode {
    // `args()` would panic on an argument that is not UTF-8; refuse it with a message.
    let cmd = match cli::utf8_args(std::env::args_os().skip(1)).and_then(|a| cli::parse(&a)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("carbond: {e}");
            return ExitCode::from(2);
        }
    };
    match cmd {
        cli::Command::Help => {
            print!("{}", cli::USAGE);
            ExitCode::SUCCESS
        }
        cli::Command::Version => {
            println!("carbond {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        cli::Command::GenSelfSigned { dir, names } => gen_self_signed(&dir, &names),
        cli::Command::Check { config } => match load(&config) {
            Ok((cfg, _)) => {
                println!("carbond: {}: ok: {}", config.display(), cfg.summary());
                ExitCode::SUCCESS
            }
            Err(()) => ExitCode::FAILURE,
        },
        cli::Command::Run { config } => run(&config),
    }
}

/// Everything that can be checked before binding: the file, TLS material, the root.
fn load(path: &Path) -> Result<(Config, Option<Arc<rustls::ServerConfig>>), ()> {
    let cfg = match Config::load(path) {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("carbond: configuration errors:\n{errors}");
            return Err(());
        }
    };
    let mut problems = preflight::check(&cfg);
    let tls = if cfg.use_https {
        match carbon_core::tls::server_config(&cfg) {
            Ok(t) => Some(t),
            Err(e) => {
                problems.extend(e.to_string().lines().map(str::to_string));
                if !cfg.ssl_cert_path.exists() {
                    problems.push(
                        "hint: `carbond --gen-self-signed DIR` writes a development certificate and key"
                            .to_string(),
                    );
                }
                None
            }
        }
    } else {
        None
    };
    if !problems.is_empty() {
        for p in problems {
            eprintln!("carbond: {}: {p}", path.display());
        }
        return Err(());
    }
    Ok((cfg, tls))
}

fn run(path: &Path) -> ExitCode {
    let (cfg, tls) = match load(path) {
        Ok(x) => x,
        Err(()) => return ExitCode::FAILURE,
    };
    if !cfg.running {
        println!(
            "carbond: `running = false` (from {} or CARBON_RUNNING): not starting",
            path.display()
        );
        return ExitCode::SUCCESS;
    }
    if let Err(e) = logger::install(cfg.log_mode, cfg.log_file.as_deref()) {
        eprintln!("carbond: {e}");
        return ExitCode::FAILURE;
    }
    let cfg = Arc::new(cfg);
    let server = match Server::bind(cfg.clone(), tls) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("carbond: {e}");
            return ExitCode::FAILURE;
        }
    };
    let opts = FileOptions::from_config(&cfg);
    let factory: ServiceFactory = Arc::new(move |_worker| {
        let svc: Box<dyn Service> = Box::new(FileService::new(opts.clone())?);
        Ok(svc)
    });
    let handle = server.handle();
    if let Err(e) = signals::spawn(handle.clone()) {
        eprintln!("carbond: cannot install signal handlers: {e}");
        return ExitCode::FAILURE;
    }
    {
        let mut out = std::io::stdout().lock();
        for (scheme, addr) in server.local_addrs() {
            let _ = writeln!(out, "carbond: listening on {}://{addr}", scheme.as_str());
            // The error log gets the bound address too (the real port when `port = 0`).
            log::info!("listening on {}://{addr}", scheme.as_str());
        }
        let _ = out.flush();
    }
    log::info!(
        "carbond {} started: {}",
        env!("CARGO_PKG_VERSION"),
        cfg.summary()
    );
    match server.run(factory) {
        Ok(()) => {
            let s = handle.stats();
            log::info!(
                "carbond stopped: connections={} requests={} 2xx={} 3xx={} 4xx={} 5xx={} \
                 rate_limited={} timeouts={} tls_handshake_failures={} panics={}",
                s.connections_accepted,
                s.requests,
                s.responses_2xx,
                s.responses_3xx,
                s.responses_4xx,
                s.responses_5xx,
                s.rate_limited,
                s.timeouts,
                s.tls_handshake_failures,
                s.panics
            );
            log::logger().flush();
            ExitCode::SUCCESS
        }
        Err(e) => {
            log::error!("carbond: {e}");
            eprintln!("carbond: {e}");
            ExitCode::FAILURE
        }
    }
}

fn gen_self_signed(dir: &Path, names: &[String]) -> ExitCode {
    match carbon_core::tls::generate_self_signed(dir, names) {
        Ok((cert, key)) => {
            let mut all: Vec<&str> = carbon_core::tls::DEFAULT_NAMES.to_vec();
            all.extend(names.iter().map(String::as_str));
            println!(
                "carbond: wrote {} and {} ({})",
                cert.display(),
                key.display(),
                all.join(", ")
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("carbond: {e}");
            ExitCode::FAILURE
        }
    }
}
