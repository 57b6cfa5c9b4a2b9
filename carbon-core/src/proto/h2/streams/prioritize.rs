//! Which stream sends its next DATA frame: RFC 9218 extensible priorities.
//!
//! The `priority` request header gives an urgency (0 most urgent .. 7, default 3) and
//! an incremental flag. The lowest urgency with something to send goes first. Within
//! it, non-incremental streams are served one at a time in stream-id order (RFC 9218
//! §10: they are useful only whole), then incremental ones round robin, one frame each.
//! A request without a `priority` header is taken as urgency 3 *incremental*: RFC 9218
//! defaults to non-incremental, but a client that says nothing gets fairness rather
//! than one large download holding back every small one behind it.
//! RFC 7540 PRIORITY frames and HEADERS priority blocks are ignored (RFC 9113 §5.3.2).

/// RFC 9218 §4.1 default urgency.
pub const DEFAULT_URGENCY: u8 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Priority {
    pub urgency: u8,
    pub incremental: bool,
}

impl Default for Priority {
    fn default() -> Self {
        Priority {
            urgency: DEFAULT_URGENCY,
            incremental: true,
        }
    }
}

impl Priority {
    /// Parses the value of a `priority` header (an RFC 8941 dictionary). Members that
    /// are not understood or out of range are ignored (RFC 9218 §4).
    pub fn from_header(value: &[u8]) -> Priority {
        let mut p = Priority {
            urgency: DEFAULT_URGENCY,
            incremental: false,
        };
        for member in value.split(|&b| b == b',') {
            let member = member.trim_ascii();
            // Parameters after ';' are ignored.
            let member = member.split(|&b| b == b';').next().unwrap_or(member);
            let (key, val) = match member.iter().position(|&b| b == b'=') {
                Some(i) => (&member[..i], Some(&member[i + 1..])),
                None => (member, None),
            };
            match (key, val) {
                (b"u", Some([d])) if (b'0'..=b'7').contains(d) => p.urgency = d - b'0',
                (b"i", None) | (b"i", Some(b"?1")) => p.incremental = true,
                (b"i", Some(b"?0")) => p.incremental = false,
                _ => {}
            }
        }
        p
    }
}

/// A stream that has DATA it may send now.
#[derive(Debug, Clone, Copy)]
pub struct Candidate {
    pub id: u32,
    pub priority: Priority,
}

/// Picks the next stream among `candidates`; `cursor` is the stream that sent last
/// (round robin continues after it).
pub fn pick(candidates: impl Iterator<Item = Candidate>, cursor: u32) -> Option<u32> {
    // (urgency, non-incremental lowest id, incremental first after cursor, incremental lowest)
    let mut best_u = u8::MAX;
    let mut seq: Option<u32> = None;
    let mut after: Option<u32> = None;
    let mut lowest: Option<u32> = None;
    for c in candidates {
        let u = c.priority.urgency;
        if u > best_u {
            continue;
        }
        if u < best_u {
            best_u = u;
            seq = None;
            after = None;
            lowest = None;
        }
        if !c.priority.incremental {
            seq = Some(seq.map_or(c.id, |s| s.min(c.id)));
        } else {
            lowest = Some(lowest.map_or(c.id, |s| s.min(c.id)));
            if c.id > cursor {
                after = Some(after.map_or(c.id, |s| s.min(c.id)));
            }
        }
    }
    seq.or(after).or(lowest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(id: u32, urgency: u8, incremental: bool) -> Candidate {
        Candidate {
            id,
            priority: Priority {
                urgency,
                incremental,
            },
        }
    }

    #[test]
    fn rfc9218_4_priority_header_parsed() {
        assert_eq!(
            Priority::from_header(b"u=1, i"),
            Priority {
                urgency: 1,
                incremental: true
            }
        );
        assert_eq!(
            Priority::from_header(b"u=9, i=?0, x=3"),
            Priority {
                urgency: 3,
                incremental: false
            }
        );
    }

    #[test]
    fn rfc9218_10_lowest_urgency_first_then_round_robin() {
        let cands = [c(1, 3, true), c(3, 3, true), c(5, 3, true), c(7, 5, false)];
        assert_eq!(pick(cands.iter().copied(), 0), Some(1));
        assert_eq!(pick(cands.iter().copied(), 1), Some(3));
        assert_eq!(pick(cands.iter().copied(), 5), Some(1), "wraps around");
        let cands = [c(1, 3, true), c(9, 1, false), c(5, 1, false)];
        assert_eq!(
            pick(cands.iter().copied(), 0),
            Some(5),
            "non-incremental in id order"
        );
    }
}
