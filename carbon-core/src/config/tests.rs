//! Loading whole configurations: the file format, overrides, errors and the
//! documentation that must list every key.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;

const FILE: &str = "/etc/carbon/carbon.conf";

fn load(text: &str) -> Result<Config, ConfigErrors> {
    Config::load_from(Path::new(FILE), text, &[])
}

fn load_env(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::load_from(Path::new(FILE), text, &env)
}

fn errors(text: &str) -> Vec<String> {
    match load(text) {
        Ok(_) => panic!("expected errors for {text:?}"),
        Err(e) => e.iter().map(ToString::to_string).collect(),
    }
}

fn repo_file(rel: &str) -> (PathBuf, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (path, text)
}

#[test]
fn empty_file_gives_defaults() {
    let cfg = load("").unwrap();
    let expected = Config {
        source: Some(PathBuf::from(FILE)),
        ..Config::default()
    };
    assert_eq!(cfg, expected);
    assert_eq!(cfg.port, 8080);
    assert_eq!(cfg.listen_address, IpAddr::from([127, 0, 0, 1]));
    assert!(cfg.max_threads >= 1);
}

#[test]
fn carbon_boolean_forms_through_the_file() {
    for (text, want) in [
        ("true", true),
        ("Yes", true),
        ("ON", true),
        ("1", true),
        ("false", false),
        ("no", false),
        ("Off", false),
        ("0", false),
    ] {
        let cfg = load(&format!("gzip = {text}\nserve_dotfiles = {text}")).unwrap();
        assert_eq!((cfg.gzip, cfg.serve_dotfiles), (want, want), "{text}");
    }
    assert_eq!(
        errors("gzip = maybe"),
        vec![format!(
            "{FILE}:1: key `gzip`: invalid value `maybe`: expected true/yes/on/1 or false/no/off/0"
        )]
    );
}

#[test]
fn quotes_and_comments() {
    let text = "# Carbon\n\
                server_name = \"example.org\"   # the public name\n\
                header_x_frame_options = 'DENY' # trailing\n\
                header_content_security_policy = \"default-src 'self' # kept\"\n\
                index_file = home#1.html\n";
    let cfg = load(text).unwrap();
    assert_eq!(cfg.server_name, "example.org");
    assert_eq!(cfg.header_x_frame_options, "DENY");
    assert_eq!(
        cfg.header_content_security_policy,
        "default-src 'self' # kept"
    );
    assert_eq!(cfg.index_file, "home#1.html");
}

#[test]
fn env_overrides_apply_after_the_file() {
    let cfg = load_env(
        "port = 8000\ngzip = on\n",
        &[
            ("CARBON_PORT", "9090"),
            ("CARBON_GZIP", "off"),
            ("HOME", "/root"),
        ],
    )
    .unwrap();
    assert_eq!(cfg.port, 9090);
    assert!(!cfg.gzip);
}

#[test]
fn env_errors_name_the_variable() {
    let err = load_env("", &[("CARBON_MAX_CONNECTIONS", "0")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "environment variable CARBON_MAX_CONNECTIONS: key `max_connections`: \
         value `0` is out of range (allowed: 1..=1000000)"
    );
}

#[test]
fn env_ssl_sni_replaces_file_entries() {
    let cfg = load_env(
        "ssl_sni = a.example=/a.pem,/a.key\n",
        &[(
            "CARBON_SSL_SNI",
            "b.example=/b.pem,/b.key; c.example=/c.pem,/c.key",
        )],
    )
    .unwrap();
    let names: Vec<_> = cfg.ssl_sni.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, vec!["b.example", "c.example"]);
}

#[test]
fn unknown_key_suggests_closest_and_names_line() {
    assert_eq!(
        errors("port = 1\n\nkeepalive_timeout = 5\nfrobnicate = 1\n"),
        vec![
            format!(
                "{FILE}:3: key `keepalive_timeout`: unknown key; did you mean `keep_alive_timeout`?"
            ),
            format!("{FILE}:4: key `frobnicate`: unknown key"),
        ]
    );
}

#[test]
fn uppercase_key_suggests_lowercase() {
    assert_eq!(
        errors("Port = 1"),
        vec![format!(
            "{FILE}:1: key `Port`: unknown key; did you mean `port`?"
        )]
    );
}

#[test]
fn duplicate_key_names_both_lines() {
    assert_eq!(
        errors("port = 1\ngzip = on\nport = 2\n"),
        vec![format!(
            "{FILE}:3: key `port`: given twice (first on line 1)"
        )]
    );
}

#[test]
fn line_without_equals_is_an_error() {
    assert_eq!(
        errors("port 8080"),
        vec![format!(
            "{FILE}:1: expected `key = value`, found `port 8080`"
        )]
    );
}

#[test]
fn all_errors_are_collected_in_line_order() {
    let errs = errors("port = x\nnonsense\nmax_threads = 99999\ngzip = on\ngzip = off\n");
    let lines: Vec<_> = errs
        .iter()
        .map(|e| e.split(':').nth(1).unwrap().to_owned())
        .collect();
    assert_eq!(lines, vec!["1", "2", "3", "5"], "{errs:#?}");
}

#[test]
fn bad_numbers_and_ranges() {
    assert_eq!(
        errors("port = 65536"),
        vec![format!(
            "{FILE}:1: key `port`: value `65536` is out of range (allowed: 0..=65535)"
        )]
    );
    assert_eq!(
        errors("max_connections = 1000001"),
        vec![format!(
            "{FILE}:1: key `max_connections`: value `1000001` is out of range (allowed: 1..=1000000)"
        )]
    );
    assert!(errors("port = -1")[0].contains("expected a whole number"));
    assert!(errors("max_threads = 1025")[0].contains("out of range"));
    assert!(errors("rate_limit_window = 0.5")[0].contains("out of range (allowed: 1s..=86400s)"));
    assert!(errors("keep_alive_timeout = 0")[0].contains("out of range"));
    assert!(errors("max_headers_size = 16m1")[0].contains("invalid value"));
    assert!(errors("max_request_line = 2m")[0].contains("allowed: 256..=1m"));
}

#[test]
fn port_zero_means_any_free_port_and_may_repeat() {
    let cfg = load("port = 0\nuse_https = yes\nhttps_port = 0\n").unwrap();
    assert_eq!((cfg.port, cfg.https_port), (0, 0));
}

#[test]
fn size_and_duration_suffixes() {
    let cfg = load(
        "max_body_size = 16k\nmax_output_queued = 1m\nfile_cache_size = 1g\n\
         gzip_min_length = 1000\nkeep_alive_timeout = 0.5\nwrite_timeout = 250ms\n\
         request_header_timeout = 2m\nshutdown_timeout = 0\nrate_limit_window = 90s\n",
    )
    .unwrap();
    assert_eq!(cfg.limits.max_body, 16 * 1024);
    assert_eq!(cfg.limits.max_output_queued, 1 << 20);
    assert_eq!(cfg.file_cache_size, 1 << 30);
    assert_eq!(cfg.gzip_min_length, 1000);
    assert_eq!(cfg.timeouts.keep_alive, Duration::from_millis(500));
    assert_eq!(cfg.timeouts.write, Duration::from_millis(250));
    assert_eq!(cfg.timeouts.request_header, Duration::from_secs(120));
    assert_eq!(cfg.timeouts.shutdown_drain, Duration::ZERO);
    assert_eq!(cfg.rate_limit_window, Duration::from_secs(90));
}

#[test]
fn rate_limit_exempt_cidrs_v4_and_v6() {
    let cfg = load("rate_limit_exempt = 127.0.0.1/8, ::1, 2001:db8::/32").unwrap();
    let shown: Vec<_> = cfg
        .rate_limit_exempt
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(shown, vec!["127.0.0.0/8", "::1/128", "2001:db8::/32"]);
    assert!(errors("rate_limit_exempt = 10.0.0.0/40")[0].contains("`10.0.0.0/40`"));
}

#[test]
fn missing_file_error_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.conf");
    let err = Config::load(&path).unwrap_err();
    assert_eq!(err.len(), 1);
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!(
            "{}: cannot read configuration file: ",
            path.display()
        )),
        "{msg}"
    );
}

#[test]
fn load_reads_a_real_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.conf");
    std::fs::write(&path, "max_threads = 3\n").unwrap();
    let cfg = Config::load(&path).unwrap();
    assert_eq!(cfg.max_threads, 3);
    assert_eq!(cfg.source.as_deref(), Some(path.as_path()));
}

#[test]
fn ssl_sni_may_repeat_but_names_may_not() {
    let cfg = load(
        "ssl_sni = example.com=/c/a.pem,/k/a.key\nssl_sni = www.example.com=/c/b.pem,/k/b.key\n",
    )
    .unwrap();
    assert_eq!(cfg.ssl_sni.len(), 2);
    assert_eq!(cfg.ssl_sni[1].name, "www.example.com");
    assert_eq!(cfg.ssl_sni[1].key, PathBuf::from("/k/b.key"));
    let errs = errors("ssl_sni = a.org=/a,/b\nssl_sni = A.org=/c,/d\n");
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].starts_with(&format!("{FILE}:2: key `ssl_sni`")),
        "{errs:?}"
    );
}

#[test]
fn enable_websocket_is_accepted_now_that_the_driver_runs_it() {
    assert!(load("enable_http2 = true\nenable_websocket = on\n").is_ok());
    assert!(load("enable_http2 = false\nenable_websocket = no").is_ok());
    assert!(super::unavailable_features(&load("enable_websocket = on").unwrap()).is_empty());
}

#[test]
fn use_https_with_same_port_is_a_conflict() {
    assert_eq!(
        errors("use_https = true\nport = 8443\n"),
        vec![format!(
            "{FILE}:2: key `https_port`: HTTPS port 8443 is also the HTTP port; use different ports"
        )]
    );
    assert!(load("port = 8443").is_ok(), "no conflict without use_https");
}

#[test]
fn redirect_requires_https() {
    assert!(errors("redirect_http_to_https = yes")[0].contains("needs `use_https = true`"));
    assert!(load("redirect_http_to_https = yes\nuse_https = yes").is_ok());
}

#[test]
fn verbose_means_debug_unless_log_mode_given() {
    assert_eq!(load("verbose = true").unwrap().log_mode, LogMode::Debug);
    assert_eq!(
        load("verbose = true\nlog_mode = advanced")
            .unwrap()
            .log_mode,
        LogMode::Advanced
    );
    assert_eq!(
        load("log_mode = off\nverbose = yes").unwrap().log_mode,
        LogMode::Off
    );
    assert_eq!(
        load_env("log_mode = classic", &[("CARBON_VERBOSE", "1")])
            .unwrap()
            .log_mode,
        LogMode::Classic
    );
    assert_eq!(load("verbose = false").unwrap().log_mode, LogMode::Classic);
}

#[test]
fn listen_address_defaults_from_server_name() {
    assert_eq!(
        load("server_name = ::1").unwrap().listen_address,
        "::1".parse::<IpAddr>().unwrap()
    );
    assert_eq!(
        load("server_name = example.org").unwrap().listen_address,
        IpAddr::from([127, 0, 0, 1])
    );
    assert_eq!(
        load("server_name = example.org\nlisten_address = 0.0.0.0")
            .unwrap()
            .listen_address,
        IpAddr::from([0, 0, 0, 0])
    );
}

#[test]
fn log_file_stderr_and_paths_kept_as_given() {
    let cfg = load("log_file = -\naccess_log = log/access.log\nwww_path = ./site").unwrap();
    assert_eq!(cfg.log_file, None);
    assert_eq!(cfg.access_log, Some(PathBuf::from("log/access.log")));
    assert_eq!(cfg.www_path, PathBuf::from("./site"));
    assert_eq!(
        load("log_file = log/server.log").unwrap().log_file,
        Some(PathBuf::from("log/server.log"))
    );
}

#[test]
fn running_false_parses() {
    assert!(!load("running = false").unwrap().running);
}

#[test]
fn summary_line() {
    let cfg = Config {
        max_threads: 2,
        www_path: PathBuf::from("/srv/www"),
        ..Config::default()
    };
    assert_eq!(
        cfg.summary(),
        "listening on 127.0.0.1:8080 (http), serving /srv/www with 2 workers, max 1024 connections"
    );
    let cfg = Config {
        max_threads: 1,
        use_https: true,
        listen_address: "::1".parse().unwrap(),
        listen_addresses: vec!["::1".parse().unwrap()],
        ..cfg
    };
    assert_eq!(
        cfg.summary(),
        "listening on [::1]:8080 (http) and [::1]:8443 (https), serving /srv/www with 1 worker, max 1024 connections"
    );
    let relative = Config::default().summary();
    let cwd = std::env::current_dir().unwrap().join("www");
    assert!(relative.contains(&cwd.display().to_string()), "{relative}");
}

/// Each key's documented default, fed through its own parser, must give exactly
/// `Config::default()`: the table and the code agree.
#[test]
fn key_table_defaults_match_config_default() {
    for k in KEYS {
        let cfg = load(&format!("{} = \"{}\"", k.name, k.default))
            .unwrap_or_else(|e| panic!("{}: {e}", k.name));
        let expected = Config {
            source: Some(PathBuf::from(FILE)),
            ..Config::default()
        };
        assert_eq!(cfg, expected, "default of `{}`", k.name);
    }
}

/// Every key is settable and changes something (no dead entries in the table).
#[test]
fn every_key_setter_is_wired() {
    let samples = [
        ("port", "1"),
        ("use_https", "true"),
        ("https_port", "2"),
        ("server_name", "example.org"),
        ("listen_address", "::1"),
        ("enable_http2", "false"),
        ("enable_h2c", "true"),
        ("http2_max_concurrent_streams", "100"),
        ("http2_max_header_list_size", "16k"),
        ("http2_max_request_body", "2m"),
        ("http2_max_resets_per_window", "50"),
        ("http2_idle_timeout", "30s"),
        ("http2_notsent_lowat", "16k"),
        ("early_hints", "/ </a.css>; rel=preload"),
        ("enable_websocket", "true"),
        ("max_threads", "1025"),
        ("max_connections", "7"),
        ("max_connections_per_ip", "5"),
        ("www_path", "/srv"),
        ("ssl_cert_path", "/c"),
        ("ssl_key_path", "/k"),
        ("ssl_sni", "a=/c,/k"),
        ("redirect_http_to_https", "true"),
        ("hsts_max_age", "0"),
        ("log_file", "/l"),
        ("log_mode", "off"),
        ("verbose", "true"),
        ("access_log", "/a"),
        ("running", "false"),
        ("request_header_timeout", "1"),
        ("request_body_timeout", "1"),
        ("keep_alive_timeout", "1"),
        ("write_timeout", "1"),
        ("tls_handshake_timeout", "1"),
        ("shutdown_timeout", "1"),
        ("max_request_line", "1k"),
        ("max_header_line", "1k"),
        ("max_headers_size", "2k"),
        ("max_headers", "3"),
        ("max_body_size", "0"),
        ("max_output_queued", "8k"),
        ("gzip", "false"),
        ("gzip_min_length", "0"),
        ("file_cache_size", "0"),
        ("file_cache_max_file", "0"),
        ("gzip_max_file", "0"),
        ("serve_dotfiles", "true"),
        ("index_file", "i.htm"),
        ("error_page_404", "/404.html"),
        ("security_headers", "false"),
        ("header_x_content_type_options", ""),
        ("header_x_frame_options", "DENY"),
        ("header_referrer_policy", "no-referrer"),
        ("header_content_security_policy", ""),
        ("header_permissions_policy", ""),
        ("rate_limit", "0"),
        ("rate_limit_window", "2"),
        ("rate_limit_exempt", "10.0.0.0/8"),
        ("daemon", "true"),
        ("pid_file", "/run/c.pid"),
        ("user", "www-data"),
        ("group", "www-data"),
        ("allow_root", "true"),
        ("log_target", "syslog"),
        ("syslog_facility", "local3"),
        ("listen_backlog", "7"),
        ("listen_defer_accept", "off"),
        ("worker_cpu_affinity", "auto"),
        ("control_socket", ""),
        ("control_group", "wheel"),
        ("metrics_path", "/metrics"),
        ("hsts_include_subdomains", "true"),
        ("hsts_preload", "true"),
        ("cache_control", "*.css: max-age=60"),
        ("header_add", "X-A: 1"),
        ("header_set", "X-B: 2"),
        ("header_remove", "X-Frame-Options"),
        ("spa_fallback", "/index.html"),
        ("spa_fallback_exclude", "/api/*"),
        ("brotli_static", "false"),
        ("brotli", "true"),
        ("websocket_paths", "/ws"),
        ("websocket_subprotocols", "chat"),
        ("websocket_origins", "https://example.com"),
        ("websocket_deflate", "false"),
        ("websocket_max_message", "1k"),
        ("websocket_send_queue", "8k"),
        ("websocket_ping_interval", "5s"),
        ("websocket_pong_timeout", "5s"),
        ("websocket_reclaim_after", "30s"),
        ("proxy_protocol", "on"),
        ("https_proxy_protocol", "on"),
        ("proxy_protocol_from", "10.0.0.5"),
        ("trusted_proxies", "10.0.0.0/8"),
        ("health_path", "/healthz"),
        ("drain_period", "5s"),
        ("ssl_ticket_key_file", "/etc/carbon/ticket.key"),
        ("unknown_host", "refuse"),
        ("http2_push", "/index.html: /style.css /app.js"),
    ];
    assert_eq!(samples.len(), KEYS.len());
    for k in KEYS {
        let (_, v) = samples
            .iter()
            .find(|(n, _)| *n == k.name)
            .unwrap_or_else(|| panic!("no sample for `{}`", k.name));
        let mut b = keys::Builder {
            cfg: Config::default(),
            verbose: false,
            log_mode_given: false,
            listen_address_given: false,
            max_threads_raw: 0,
        };
        let before = format!("{b:?}");
        // max_threads 1025 is out of range on purpose: the setter must look at it.
        match (k.set)(&mut b, v) {
            Ok(()) => assert_ne!(format!("{b:?}"), before, "`{}` changed nothing", k.name),
            Err(e) => assert_eq!(k.name, "max_threads", "{e}"),
        }
    }
}

#[test]
fn repo_carbon_conf_loads_and_matches_defaults() {
    let (path, text) = repo_file("etc/carbon.conf");
    let cfg = Config::load_from(&path, &text, &[]).unwrap_or_else(|e| panic!("{e}"));
    // The one deliberate difference: a control socket that works without root.
    let expected = Config {
        source: Some(path),
        control_socket: Some(PathBuf::from("run/carbond.sock")),
        ..Config::default()
    };
    assert_eq!(cfg, expected);
}

/// The example configurations of docs/sites.md parse and validate (their paths
/// exist only on a real server, so only what loading checks is checked).
#[test]
fn repo_example_configs_load() {
    let (path, text) = repo_file("etc/examples/spa-behind-cdn.conf");
    let cfg = Config::load_from(&path, &text, &[]).unwrap_or_else(|e| panic!("{e}"));
    assert!(cfg.spa_fallback.is_some());
    assert_eq!(cfg.cache_control.len(), 3);
    assert!(cfg.hsts_preload && cfg.brotli);
}

/// The first `key =` line of each key in etc/carbon.conf, commented out or not, shows
/// the default from the table; docs/configuration.md mentions every key.
#[test]
fn every_key_documented_in_carbon_conf_and_docs() {
    let (_, conf) = repo_file("etc/carbon.conf");
    let (_, docs) = repo_file("docs/configuration.md");
    for k in KEYS {
        let shown = conf.lines().find_map(|line| {
            let line = line.trim_start().trim_start_matches('#').trim_start();
            let (name, value) = line.split_once('=')?;
            (name.trim() == k.name).then(|| value.trim().to_owned())
        });
        let shown = shown.unwrap_or_else(|| panic!("`{}` missing from etc/carbon.conf", k.name));
        let shown = shown.trim_matches('"');
        assert_eq!(shown, k.default, "etc/carbon.conf default of `{}`", k.name);
        assert!(
            docs.contains(&format!("`{}`", k.name)),
            "`{}` missing from docs/configuration.md",
            k.name
        );
        assert!(
            docs.contains(&format!("`{}`", k.env_var())) || docs.contains("CARBON_<KEY>"),
            "env override not documented"
        );
    }
}

#[test]
fn config_errors_is_a_std_error() {
    let err = load("gzip = 2\nport = x").unwrap_err();
    let dyn_err: &dyn std::error::Error = &err;
    assert_eq!(dyn_err.to_string().lines().count(), 2);
}

#[test]
fn utf8_bom_at_start_of_file_is_ignored() {
    let cfg = load("\u{feff}port = 9090\nmax_threads = 1\n").unwrap();
    assert_eq!(cfg.port, 9090);
    // Only a leading BOM is dropped: one inside the file is still an error.
    assert!(load("port = 9090\n\u{feff}max_threads = 1\n").is_err());
}

#[test]
fn error_page_404_relative_path_must_stay_inside_www_path() {
    let errs = errors("error_page_404 = ../outside/secret.txt\n");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].contains("error_page_404") && errs[0].contains("inside www_path"));
    assert!(!errors("error_page_404 = errors/a/../404.html\n").is_empty());
    assert_eq!(
        load("error_page_404 = errors/404.html\n")
            .unwrap()
            .error_page_404,
        Some(PathBuf::from("errors/404.html"))
    );
    assert_eq!(
        load("error_page_404 = /srv/errors/404.html\n")
            .unwrap()
            .error_page_404,
        Some(PathBuf::from("/srv/errors/404.html"))
    );
}

#[test]
fn lenient_load_keeps_valid_values_next_to_every_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("carbon.conf");
    std::fs::write(
        &path,
        "port = x\nwww_path = /srv/site\nmax_threads = 3\nnot_a_key = 1\n",
    )
    .unwrap();
    let (cfg, errs) = Config::load_lenient(&path).unwrap();
    assert_eq!(errs.len(), 2, "{errs}");
    assert!(errs.concerns("port") && errs.concerns("not_a_key"));
    assert!(!errs.concerns("www_path"));
    assert_eq!(cfg.www_path, PathBuf::from("/srv/site"));
    assert_eq!(cfg.max_threads, 3);
    assert_eq!(Config::load(&path).unwrap_err(), errs);
}

#[test]
fn listen_address_list_keeps_order_and_first_is_listen_address() {
    let cfg = load("listen_address = 127.0.0.1, [::1]\nport = 80").unwrap();
    let v4: std::net::IpAddr = "127.0.0.1".parse().unwrap();
    let v6: std::net::IpAddr = "::1".parse().unwrap();
    assert_eq!(cfg.listen_addresses, vec![v4, v6]);
    assert_eq!(cfg.listen_address, v4);
    assert!(
        cfg.summary()
            .starts_with("listening on 127.0.0.1:80 (http), [::1]:80 (http),"),
        "{}",
        cfg.summary()
    );
    // Derived from server_name when not given, as before.
    let cfg = load("server_name = ::1").unwrap();
    assert_eq!(cfg.listen_addresses, vec![v6]);
    let errs = errors("listen_address = 127.0.0.1, 127.0.0.1");
    assert!(errs[0].contains("listen_address"), "{errs:?}");
}

#[test]
fn site_header_keys_repeat_and_errors_name_file_line_and_key() {
    let cfg = load(
        "cache_control = *.css, *.js: public, max-age=31536000, immutable\n\
         cache_control = *.html: no-cache\n\
         header_add = X-Robots-Tag: noindex\n\
         header_add = X-Robots-Tag: nofollow\n\
         header_remove = Content-Security-Policy\n",
    )
    .unwrap();
    assert_eq!(cfg.cache_control.len(), 2);
    assert_eq!(cfg.cache_control[1].value, "no-cache");
    assert_eq!(cfg.header_add.len(), 2);
    assert_eq!(cfg.header_remove[0], "content-security-policy");

    let err = load(
        "port = 1\n\
         cache_control = *.css public\n\
         header_set = Content-Length: 5\n\
         spa_fallback = ../outside.html\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains(&format!("{FILE}:2")), "{err}");
    assert!(err.contains("cache_control"), "{err}");
    assert!(err.contains(&format!("{FILE}:3")), "{err}");
    assert!(err.contains("header_set"), "{err}");
    assert!(err.contains("content-length"), "{err}");
    assert!(err.contains(&format!("{FILE}:4")), "{err}");
    assert!(err.contains("spa_fallback"), "{err}");
}

#[test]
fn spa_fallback_is_a_file_inside_www_path() {
    let cfg = load("spa_fallback = /index.html\n").unwrap();
    assert_eq!(cfg.spa_fallback.unwrap(), Path::new("index.html"));
    let cfg = load("spa_fallback = app/shell.html\n").unwrap();
    assert_eq!(cfg.spa_fallback.unwrap(), Path::new("app/shell.html"));
    assert!(load("spa_fallback =\n").unwrap().spa_fallback.is_none());
    for bad in ["/", "/../etc/passwd", "a/../../b.html"] {
        let err = load(&format!("spa_fallback = {bad}\n"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("{FILE}:1")) && err.contains("spa_fallback"),
            "{err}"
        );
    }
}

#[test]
fn env_header_keys_take_newline_separated_entries() {
    let env = vec![(
        "CARBON_HEADER_SET".to_owned(),
        "Content-Security-Policy: default-src 'self'; img-src *\nX-A: 1".to_owned(),
    )];
    let cfg = Config::load_from(Path::new(FILE), "header_set = X-B: 2\n", &env).unwrap();
    let names: Vec<_> = cfg.header_set.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["content-security-policy", "x-a"]);
    assert_eq!(cfg.header_set[0].value, "default-src 'self'; img-src *");
}

#[test]
fn rfc6797_hsts_preload_needs_include_subdomains_and_a_year() {
    let err = load("hsts_preload = true\n").unwrap_err().to_string();
    assert!(err.contains("hsts_preload"), "{err}");
    let err = load("hsts_preload = true\nhsts_include_subdomains = true\nhsts_max_age = 600\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("31536000"), "{err}");
    let cfg = load("hsts_preload = true\nhsts_include_subdomains = true\n").unwrap();
    assert!(cfg.hsts_preload && cfg.hsts_include_subdomains);
}

#[test]
fn websocket_lists_are_checked_and_name_the_bad_entry() {
    let cfg = load("websocket_paths = /echo, /rooms/\nwebsocket_origins = https://a.example\nwebsocket_subprotocols = chat, v2.json").unwrap();
    assert_eq!(cfg.websocket.paths, vec!["/echo", "/rooms/"]);
    assert_eq!(cfg.websocket.handshake.origins, vec!["https://a.example"]);
    assert_eq!(
        cfg.websocket.handshake.subprotocols,
        vec!["chat", "v2.json"]
    );
    assert!(cfg.websocket.handshake.permessage_deflate);
    let e = errors(
        "websocket_paths = echo\nwebsocket_origins = example.com\nwebsocket_subprotocols = a b",
    );
    assert_eq!(e.len(), 3, "{e:?}");
    assert!(
        e[0].contains("websocket_paths") && e[0].contains("echo"),
        "{e:?}"
    );
    assert!(e[1].contains("websocket_origins"), "{e:?}");
    assert!(e[2].contains("websocket_subprotocols"), "{e:?}");
}

#[test]
fn proxy_protocol_without_trusted_senders_is_a_conflict() {
    let errs = errors("proxy_protocol = on");
    assert!(errs[0].contains("proxy_protocol_from"), "{errs:?}");
    let errs = errors("https_proxy_protocol = on\nproxy_protocol_from =");
    assert!(errs[0].contains("proxy_protocol_from"), "{errs:?}");
    let cfg = load("proxy_protocol = on\nproxy_protocol_from = 10.0.0.5, 2001:db8::/64").unwrap();
    assert!(cfg.proxy_protocol && !cfg.https_proxy_protocol);
    assert_eq!(cfg.proxy_protocol_from.len(), 2);
}

#[test]
fn http2_push_repeats_one_page_per_line_and_errors_name_the_line() {
    let cfg =
        load("http2_push = /index.html: /a.css /b.js\nhttp2_push = /docs.html: /d.css\n").unwrap();
    assert_eq!(cfg.http2_push.len(), 2);
    assert_eq!(cfg.http2_push[1].resources, vec!["/d.css"]);
    let errs = errors("port = 1\nhttp2_push = /: https://cdn.example/a.css\n");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].contains(":2:") && errs[0].contains("http2_push"),
        "{errs:?}"
    );
}
