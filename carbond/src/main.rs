//! carbond: the Carbon web server daemon.
//!
//! Loads and validates the configuration, takes the pid file, binds the listeners
//! (or adopts the sockets systemd passed), drops root, starts the workers, reports
//! the bound addresses on standard output (`carbond: listening on http://ADDR`) and
//! tells the service manager it is ready. Then it serves until a signal says stop;
//! SIGHUP reloads the configuration. docs/operations.md has the operator's view.
#![forbid(unsafe_code)]

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use carbon_core::config::{Config, LogTarget};
use carbon_core::driver::{Server, ServiceFactory};
use carbon_core::service::files::{FileOptions, FileService};
use carbon_core::service::policy::{PolicyService, SitePolicy};
use carbon_core::service::vhost::{SiteTable, VirtualHosts};
use carbon_core::service::ws::{EchoHandler, WebSocketService, WsHandler, WsSettings};
use carbon_core::service::Service;
use clap::Parser;

mod activation;
mod cli;
mod control;
mod daemonize;
mod loadcfg;
mod logger;
mod nofile;
mod notify;
mod pidfile;
mod preflight;
mod privdrop;
mod reload;
mod signals;

use daemonize::Stage;

fn main() -> ExitCode {
    let stage = daemonize::stage();
    if stage == Stage::One {
        return daemonize::stage_one();
    }
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    match cli.command() {
        cli::Command::GenSelfSigned { dir, names } => gen_self_signed(&dir, &names),
        cli::Command::Check { config } => match loadcfg::load(&config, None) {
            Ok(l) => {
                print_warnings(&config, &l.warnings);
                println!("carbond: {}: ok: {}", config.display(), l.cfg.summary());
                for site in l.cfg.site_summaries() {
                    println!("carbond:   {site}");
                }
                if !l.cfg.sites.is_empty() {
                    let unknown = match l.cfg.unknown_host {
                        carbon_core::config::UnknownHost::Default => "served by the global site",
                        carbon_core::config::UnknownHost::Refuse => "refused with 421",
                    };
                    println!("carbond:   other names: {unknown}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                print_errors(&e);
                ExitCode::FAILURE
            }
        },
        cli::Command::Run { config, daemon } => run(&config, daemon, stage),
    }
}

/// On the terminal before anything else: the logger is not installed yet, and the
/// operator running `--check-config` or starting carbond must see them.
fn print_warnings(path: &Path, warnings: &[String]) {
    for w in warnings {
        eprintln!("carbond: {}: warning: {w}", path.display());
    }
}

fn print_errors(e: &loadcfg::LoadErrors) {
    eprintln!("carbond: configuration errors:");
    for line in &e.0 {
        eprintln!("carbond: {line}");
    }
}

/// One service per worker, built from `cfg` (start-up and every reload): the global
/// site behind its policy (`service/policy.rs`), and with `[site]` sections a router
/// (`service/vhost.rs`) over every site, each with its own file service.
pub(crate) fn service_factory(cfg: &Config) -> ServiceFactory {
    // `enable_websocket`: upgrade requests on `websocket_paths` get the built-in
    // echo endpoint (docs/websocket.md); everything else is the file service.
    let websocket = cfg.enable_websocket.then(|| cfg.websocket.clone());
    let default = SiteParts::new(cfg);
    if cfg.sites.is_empty() {
        return Arc::new(move |_worker| default.build(websocket.as_ref()));
    }
    let names: Vec<Vec<String>> = cfg.sites.iter().map(|s| s.names.clone()).collect();
    let table = Arc::new(SiteTable::new(&names, cfg.unknown_host));
    let sites: Vec<SiteParts> = cfg.sites.iter().map(|s| SiteParts::new(&s.cfg)).collect();
    Arc::new(move |_worker| {
        let default = default.build(websocket.as_ref())?;
        let sites = sites
            .iter()
            .map(|s| s.build(websocket.as_ref()))
            .collect::<std::io::Result<Vec<_>>>()?;
        let router = VirtualHosts::new(table.clone(), default, sites);
        Ok(Box::new(router) as Box<dyn Service>)
    })
}

/// What one site's service is built from, on each worker.
struct SiteParts {
    files: FileOptions,
    policy: SitePolicy,
}

impl SiteParts {
    fn new(cfg: &Config) -> SiteParts {
        SiteParts {
            files: FileOptions::from_config(cfg),
            policy: SitePolicy::from_config(cfg),
        }
    }

    fn build(&self, websocket: Option<&WsSettings>) -> std::io::Result<Box<dyn Service>> {
        let files = FileService::new(self.files.clone())?;
        let policy = self.policy.clone();
        Ok(match websocket {
            Some(ws) => Box::new(PolicyService::new(
                WebSocketService::new(
                    files,
                    ws.clone(),
                    Arc::new(|_| Box::new(EchoHandler) as Box<dyn WsHandler>),
                ),
                policy,
            )),
            None => Box::new(PolicyService::new(files, policy)),
        })
    }
}

fn run(path: &Path, daemon_flag: Option<bool>, stage: Stage) -> ExitCode {
    let base = if stage == Stage::Two {
        match daemonize::settle() {
            Ok(b) => Some(b),
            Err(e) => {
                eprintln!("carbond: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let loaded = match loadcfg::load(path, base.as_deref()) {
        Ok(l) => l,
        Err(e) => {
            print_errors(&e);
            return ExitCode::FAILURE;
        }
    };
    print_warnings(path, &loaded.warnings);
    let cfg = loaded.cfg;
    let warnings = loaded.warnings;
    if !cfg.running {
        println!(
            "carbond: `running = false` (from {} or CARBON_RUNNING): not starting",
            path.display()
        );
        return ExitCode::SUCCESS;
    }
    if stage == Stage::None && daemon_flag.unwrap_or(cfg.daemon) {
        return daemonize::detach();
    }
    let config_path = match &base {
        Some(b) if path.is_relative() => b.join(path),
        _ => path.to_path_buf(),
    };
    // Before binding: a second instance must hear about the pid file, not about a
    // port in use.
    let pid_file = match &cfg.pid_file {
        Some(p) => match pidfile::PidFile::acquire(p) {
            Ok(f) => Some(Arc::new(f)),
            Err(e) => {
                eprintln!("carbond: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => None,
    };
    if let Err(e) = logger::install(&cfg) {
        eprintln!("carbond: {e}");
        return ExitCode::FAILURE;
    }
    preflight::log_warnings(&cfg, &warnings);
    nofile::check_at_startup(cfg.max_connections, cfg.max_threads, cfg.log_file.is_some());
    let on_stderr = match cfg.log_target {
        LogTarget::Stderr => true,
        LogTarget::File => cfg.log_file.is_none(),
        LogTarget::Syslog => false,
    };
    if stage == Stage::Two && on_stderr {
        eprintln!(
            "carbond: warning: running in the background with the error log on standard \
             error, which goes to /dev/null once started; set log_file or log_target = syslog"
        );
    }
    let cfg = Arc::new(cfg);
    let adopted = match activation::take(&cfg) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("carbond: {e}");
            return ExitCode::FAILURE;
        }
    };
    let server = match adopted {
        Some(sockets) => Server::from_listeners(cfg.clone(), loaded.tls, sockets),
        None => Server::bind(cfg.clone(), loaded.tls),
    };
    let mut server = match server {
        Ok(s) => s,
        Err(e) => {
            eprintln!("carbond: {e}");
            return ExitCode::FAILURE;
        }
    };
    if cfg
        .access_log
        .as_deref()
        .is_some_and(|p| p.as_os_str() == carbon_core::driver::access_log::SYSLOG)
    {
        let sink = logger::access_log_syslog(&cfg).and_then(|s| server.set_access_log(s));
        if let Err(e) = sink {
            eprintln!("carbond: access_log = syslog: {e}");
            return ExitCode::FAILURE;
        }
    }
    match privdrop::apply(&cfg) {
        Ok(Some(msg)) => log::info!("{msg}"),
        Ok(None) => {}
        Err(e) => {
            eprintln!("carbond: {e}");
            return ExitCode::FAILURE;
        }
    }
    let addrs = server.local_addrs();
    let handle = server.handle();
    let notifier = notify::Notifier::from_env();
    let state = Arc::new(reload::DaemonState::new(
        config_path,
        base,
        handle.clone(),
        notifier.clone(),
        cfg.clone(),
    ));
    // Kept until `run` returns: dropping it removes the socket file.
    let _control = control::start(&cfg, &state.config_path, &server, state.clone());
    let stopping = Arc::new(AtomicBool::new(false));
    let pid_for_exit = Mutex::new(pid_file.clone());
    let on_exit: signals::OnExit = Box::new(move || {
        if let Ok(p) = pid_for_exit.lock() {
            if let Some(p) = p.as_ref() {
                p.remove();
            }
        }
    });
    // Installed before the workers start, so a SIGTERM that arrives while they
    // come up is a graceful stop and not the default disposition.
    if let Err(e) = signals::spawn(state.clone(), stopping.clone(), on_exit) {
        eprintln!("carbond: cannot install signal handlers: {e}");
        return ExitCode::FAILURE;
    }
    let running = match server.start(service_factory(&cfg)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("carbond: {e}");
            if let Some(p) = &pid_file {
                p.remove();
            }
            return ExitCode::FAILURE;
        }
    };
    state
        .serving
        .store(true, std::sync::atomic::Ordering::SeqCst);
    {
        let mut out = std::io::stdout().lock();
        for (scheme, addr) in &addrs {
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
    notifier.ready(&state.status_line());
    if let Err(e) = notify::spawn_status_thread(state.clone(), stopping.clone()) {
        log::warn!("cannot start the status thread: {e}");
    }
    if stage == Stage::Two {
        daemonize::ready();
    }
    let result = running.wait();
    stopping.store(true, std::sync::atomic::Ordering::SeqCst);
    // The signal thread holds a reference too, so removal cannot wait for the drop.
    if let Some(p) = &pid_file {
        p.remove();
    }
    match result {
        Ok(()) => {
            let s = handle.stats().total;
            let (dropped, failed) = handle.access_log_losses();
            log::info!(
                "carbond stopped after {}s: connections={} requests={} 2xx={} 3xx={} 4xx={} 5xx={} \
                 rate_limited={} timeouts={} tls_handshake_failures={} panics={} \
                 access_log_dropped_batches={dropped} access_log_write_errors={failed} \
                 error_log_write_errors={}",
                state.uptime().as_secs(),
                s.accepted_all(),
                s.requests,
                s.class(2),
                s.class(3),
                s.class(4),
                s.class(5),
                s.rate_limited,
                s.timeouts,
                s.tls_handshake_failures,
                s.panics,
                logger::write_errors()
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
