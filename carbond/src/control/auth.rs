//! Who may use the control socket: the kernel's SO_PEERCRED credentials of the
//! connecting process, checked on every connection.
//!
//! The socket file's mode (0660, group `control_group`) already keeps others from
//! connecting; this check is the second line, for a socket whose mode was loosened
//! by hand or a directory with looser rules. Allowed: root, the user carbond runs as,
//! and processes whose primary or supplementary groups include `control_group`.

use std::os::unix::net::UnixStream;

use nix::sys::socket::{getsockopt, sockopt};

/// The credentials of a peer process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups, from `/proc/PID/status` (SO_PEERCRED carries only the
    /// primary group). Empty when they cannot be read.
    pub groups: Vec<u32>,
}

/// The rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The effective uid carbond runs as.
    pub own_uid: u32,
    /// `control_group`'s gid, when the group exists.
    pub group: Option<u32>,
}

impl Policy {
    pub fn allows(&self, p: &Peer) -> bool {
        p.uid == 0
            || p.uid == self.own_uid
            || self
                .group
                .is_some_and(|g| p.gid == g || p.groups.contains(&g))
    }
}

/// Reads the peer's credentials from the kernel.
pub fn peer_of(stream: &UnixStream) -> std::io::Result<Peer> {
    let cred = getsockopt(stream, sockopt::PeerCredentials)?;
    let pid = cred.pid();
    Ok(Peer {
        pid,
        uid: cred.uid(),
        gid: cred.gid(),
        groups: supplementary_groups(pid),
    })
}

fn supplementary_groups(pid: i32) -> Vec<u32> {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return Vec::new();
    };
    parse_groups_line(&status)
}

/// The `Groups:` line of `/proc/PID/status`: gids separated by spaces or tabs.
fn parse_groups_line(status: &str) -> Vec<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Groups:"))
        .map(|rest| {
            rest.split_whitespace()
                .filter_map(|g| g.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure
mod tests {
    use super::*;

    fn peer(uid: u32, gid: u32, groups: &[u32]) -> Peer {
        Peer {
            pid: 1,
            uid,
            gid,
            groups: groups.to_vec(),
        }
    }

    #[test]
    fn root_own_user_and_group_members_only() {
        let p = Policy {
            own_uid: 998,
            group: Some(990),
        };
        assert!(p.allows(&peer(0, 0, &[])));
        assert!(p.allows(&peer(998, 998, &[])));
        assert!(p.allows(&peer(1000, 990, &[])));
        assert!(p.allows(&peer(1000, 1000, &[27, 990])));
        assert!(!p.allows(&peer(1000, 1000, &[27])));
        let no_group = Policy {
            own_uid: 998,
            group: None,
        };
        assert!(!no_group.allows(&peer(1000, 990, &[990])));
    }

    #[test]
    fn groups_line_of_proc_status() {
        let status =
            "Name:\tbash\nUid:\t1000\t1000\t1000\t1000\nGroups:\t4 27 990 \nVmPeak:\t1 kB\n";
        assert_eq!(parse_groups_line(status), vec![4, 27, 990]);
        assert_eq!(parse_groups_line("Groups:\n"), Vec::<u32>::new());
    }

    /// SO_PEERCRED on a real socket pair reports this very process.
    #[test]
    fn peer_credentials_of_a_socketpair_are_our_own() {
        let (a, _b) = UnixStream::pair().unwrap();
        let p = peer_of(&a).unwrap();
        assert_eq!(p.pid, std::process::id() as i32);
        assert_eq!(p.uid, nix::unistd::geteuid().as_raw());
        assert_eq!(p.gid, nix::unistd::getegid().as_raw());
    }
}
