//! Privilege drop. Started as root (binding ports below 1024 without socket
//! activation), carbond binds first and then, before any worker serves a request,
//! gives up root: supplementary groups, group, then user (in that order, since
//! after `setuid` the other two are no longer allowed). Serving as root is refused
//! unless `allow_root = true`.

use carbon_core::config::Config;
use nix::unistd::{self, Gid, Group, Uid, User};

/// What happened, for the log: `None` when there was nothing to do.
pub fn apply(cfg: &Config) -> Result<Option<String>, String> {
    let root = unistd::geteuid().is_root();
    let Some(user_name) = cfg.user.as_deref() else {
        if root && !cfg.allow_root {
            return Err(
                "refusing to serve as root: set `user = NAME` (carbond binds its ports, then \
                 switches to that user) or, if you really mean it, `allow_root = true`"
                    .into(),
            );
        }
        if root {
            return Ok(Some("serving as root (allow_root = true)".into()));
        }
        return Ok(None);
    };
    if !root {
        return Ok(Some(format!(
            "user = {user_name} ignored: carbond was not started as root (uid {})",
            unistd::geteuid()
        )));
    }
    let user = lookup_user(user_name)?;
    let gid = match cfg.group.as_deref() {
        Some(g) => lookup_group(g)?,
        None => user.gid,
    };
    hand_over_logs(cfg, user.uid, gid)?;
    unistd::setgroups(&[gid]).map_err(|e| format!("user: setgroups([{gid}]): {e}"))?;
    unistd::setgid(gid).map_err(|e| format!("group: setgid({gid}): {e}"))?;
    unistd::setuid(user.uid).map_err(|e| format!("user: setuid({}): {e}", user.uid))?;
    // Paranoia, as OpenSSH does: a process that can become root again has not
    // dropped anything.
    if user.uid.is_root() {
        if !cfg.allow_root {
            return Err(format!(
                "user = {user_name} is root: refusing to serve as root unless allow_root = true"
            ));
        }
    } else if unistd::setuid(Uid::from_raw(0)).is_ok() {
        return Err("privilege drop failed: root could be regained".into());
    }
    Ok(Some(format!(
        "switched to user {} (uid {}), group {gid}",
        user.name, user.uid
    )))
}

/// The log files were opened (and maybe created) as root. Handed to the user carbond
/// becomes, so that reopening them after log rotation (SIGUSR1) and a later start
/// without root (systemd with `User=`) can still write to them, as nginx does for
/// its worker's files.
fn hand_over_logs(cfg: &Config, uid: Uid, gid: Gid) -> Result<(), String> {
    for (key, path) in [("log_file", &cfg.log_file), ("access_log", &cfg.access_log)] {
        let Some(path) = path else { continue };
        if path.as_os_str() == carbon_core::driver::access_log::SYSLOG || !path.is_file() {
            continue;
        }
        unistd::chown(path, Some(uid), Some(gid))
            .map_err(|e| format!("{key} {}: cannot hand it to uid {uid}: {e}", path.display()))?;
    }
    Ok(())
}

fn lookup_user(name: &str) -> Result<User, String> {
    let found = match name.parse::<u32>() {
        Ok(id) => User::from_uid(Uid::from_raw(id)),
        Err(_) => User::from_name(name),
    };
    match found {
        Ok(Some(u)) => Ok(u),
        Ok(None) => Err(format!("user = {name}: no such user")),
        Err(e) => Err(format!("user = {name}: cannot look it up: {e}")),
    }
}

fn lookup_group(name: &str) -> Result<Gid, String> {
    if let Ok(id) = name.parse::<u32>() {
        return Ok(Gid::from_raw(id));
    }
    match Group::from_name(name) {
        Ok(Some(g)) => Ok(g.gid),
        Ok(None) => Err(format!("group = {name}: no such group")),
        Err(e) => Err(format!("group = {name}: cannot look it up: {e}")),
    }
}
