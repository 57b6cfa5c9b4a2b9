//! Per-connection counters of frames a peer can send to make us work without asking
//! for anything (RFC 9113 §10.5), taken over a fixed window of time. Each has its
//! bound in [`Http2Limits`](crate::limits::Http2Limits); crossing one ends the
//! connection with GOAWAY(ENHANCE_YOUR_CALM).

use std::time::Instant;

use crate::limits::Http2Limits;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Streams reset by the peer or by us because of the peer's frame
    /// (CVE-2023-44487, CVE-2025-8671).
    Reset,
    Settings,
    Ping,
    Priority,
    /// Empty DATA / HEADERS / CONTINUATION, and unknown frame types (CVE-2019-9518).
    Empty,
    WindowUpdate,
}

#[derive(Debug)]
pub struct Flood {
    /// When the current window ends (`None`: a window longer than the clock can
    /// represent, which never ends). Kept as an end, not a start: one comparison per
    /// frame instead of a subtraction of two instants.
    end: Option<Instant>,
    counts: [u32; 6],
    /// DATA frames we sent in this window: each earns the peer one WINDOW_UPDATE.
    data_sent: u32,
}

impl Flood {
    pub fn new(now: Instant, limits: &Http2Limits) -> Self {
        Flood {
            end: now.checked_add(limits.flood_window),
            counts: [0; 6],
            data_sent: 0,
        }
    }

    fn roll(&mut self, now: Instant, limits: &Http2Limits) {
        if self.end.is_some_and(|end| now >= end) {
            self.end = now.checked_add(limits.flood_window);
            self.counts = [0; 6];
            self.data_sent = 0;
        }
    }

    pub fn data_sent(&mut self, now: Instant, limits: &Http2Limits) {
        self.roll(now, limits);
        self.data_sent = self.data_sent.saturating_add(1);
    }

    /// Counts one event; false when its bound is crossed.
    pub fn count(&mut self, now: Instant, kind: Kind, limits: &Http2Limits) -> bool {
        self.roll(now, limits);
        let (i, max) = match kind {
            Kind::Reset => (0, limits.max_resets_per_window),
            Kind::Settings => (1, limits.max_settings_per_window),
            Kind::Ping => (2, limits.max_pings_per_window),
            Kind::Priority => (3, limits.max_priority_per_window),
            Kind::Empty => (4, limits.max_empty_frames_per_window),
            Kind::WindowUpdate => (
                5,
                limits
                    .max_window_updates_per_window
                    .saturating_add(self.data_sent),
            ),
        };
        self.counts[i] = self.counts[i].saturating_add(1);
        self.counts[i] <= max
    }
}
