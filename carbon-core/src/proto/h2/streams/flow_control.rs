//! Flow-control windows (RFC 9113 §5.2, §6.9).
//!
//! A send window is signed: when the client lowers SETTINGS_INITIAL_WINDOW_SIZE, every
//! open stream's window drops by the difference and may go negative (§6.9.2). Worked
//! example: a stream with 65,535 of window sent 60,000 bytes (5,535 left); the client
//! then sets the initial size to 16,384, a change of -49,151, so the window becomes
//! -43,616. Nothing more is sent on it until WINDOW_UPDATEs bring it above zero.
//!
//! A receive window is what we advertised minus what arrived. We count data as
//! consumed as soon as it is buffered or discarded, and give it back with a
//! WINDOW_UPDATE once half of the target window is owed, so a sender never stalls on a
//! full window and we never send one WINDOW_UPDATE per DATA frame.

use super::super::frame::settings::MAX_WINDOW;

/// A window would leave its range: FLOW_CONTROL_ERROR, of the stream or the connection
/// depending on the window (RFC 9113 §6.9.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowControlError;

/// What we may still send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendWindow(i64);

impl SendWindow {
    pub fn new(initial: u32) -> Self {
        SendWindow(i64::from(initial))
    }

    /// Bytes that may be sent now (0 when the window is negative).
    pub fn available(&self) -> u64 {
        self.0.max(0) as u64
    }

    pub fn consume(&mut self, n: u64) {
        self.0 -= n as i64;
    }

    /// A WINDOW_UPDATE increment; Err when the window would exceed 2^31-1 (§6.9.1).
    pub fn increase(&mut self, inc: u32) -> Result<(), FlowControlError> {
        let w = self.0 + i64::from(inc);
        if w > i64::from(MAX_WINDOW) {
            return Err(FlowControlError);
        }
        self.0 = w;
        Ok(())
    }

    /// A change of SETTINGS_INITIAL_WINDOW_SIZE by `delta` (§6.9.2); Err on overflow.
    pub fn adjust(&mut self, delta: i64) -> Result<(), FlowControlError> {
        let w = self.0 + delta;
        if w > i64::from(MAX_WINDOW) {
            return Err(FlowControlError);
        }
        self.0 = w;
        Ok(())
    }

    #[cfg(test)]
    pub fn raw(&self) -> i64 {
        self.0
    }
}

/// What the peer may still send, and what we owe it in WINDOW_UPDATEs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvWindow {
    window: i64,
    /// Consumed and not yet given back.
    owed: u32,
    /// The window we aim to keep open.
    target: u32,
}

impl RecvWindow {
    pub fn new(initial: u32) -> Self {
        RecvWindow {
            window: i64::from(initial),
            owed: 0,
            target: initial,
        }
    }

    /// A flow-controlled frame of `n` bytes arrived. Err when it exceeds the window
    /// (FLOW_CONTROL_ERROR, §6.9.1).
    pub fn recv(&mut self, n: u32) -> Result<(), FlowControlError> {
        if i64::from(n) > self.window {
            return Err(FlowControlError);
        }
        self.window -= i64::from(n);
        Ok(())
    }

    /// `n` received bytes were consumed (buffered or discarded).
    pub fn consumed(&mut self, n: u32) {
        self.owed = self.owed.saturating_add(n);
    }

    /// The increment to send now, if half the target window is owed.
    pub fn take_update(&mut self) -> Option<u32> {
        if self.owed == 0 || self.owed < self.target / 2 {
            return None;
        }
        let inc = self.owed;
        self.owed = 0;
        self.window += i64::from(inc);
        Some(inc)
    }

    /// Our own SETTINGS_INITIAL_WINDOW_SIZE changed by `delta` once acknowledged
    /// (§6.9.2 applies to the receiver as well).
    pub fn adjust(&mut self, delta: i64, new_target: u32) {
        self.window += delta;
        self.target = new_target;
    }

    pub fn window(&self) -> i64 {
        self.window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9113_6_9_2_initial_window_change_can_make_window_negative() {
        let mut w = SendWindow::new(65_535);
        w.consume(60_000);
        w.adjust(16_384 - 65_535).unwrap();
        assert_eq!(w.raw(), -43_616);
        assert_eq!(w.available(), 0);
        w.increase(50_000).unwrap();
        assert_eq!(w.available(), 6_384);
    }

    #[test]
    fn rfc9113_6_9_1_window_above_2_31_minus_1_is_an_error() {
        let mut w = SendWindow::new(MAX_WINDOW);
        assert!(w.increase(1).is_err());
        let mut w = SendWindow::new(65_535);
        assert!(w.increase(MAX_WINDOW - 65_535).is_ok());
    }

    #[test]
    fn rfc9113_6_9_recv_window_updates_after_half_consumed() {
        let mut r = RecvWindow::new(1000);
        r.recv(400).unwrap();
        r.consumed(400);
        assert_eq!(r.take_update(), None);
        r.recv(200).unwrap();
        r.consumed(200);
        assert_eq!(r.take_update(), Some(600));
        assert_eq!(r.window(), 1000);
        assert!(r.recv(1001).is_err());
    }
}
