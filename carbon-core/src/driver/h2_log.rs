//! Access-log lines and `bytes_sent_body` of HTTP/2 streams, written when each
//! stream is over, with the body bytes the engine framed for it
//! ([`H2Conn::poll_stream_finished`](crate::proto::h2::H2Conn::poll_stream_finished)),
//! as HTTP/1.1 logs what left the socket (`access_log::PendingLines`). A client that
//! resets a stream mid-body (RST_STREAM) or drops the connection is logged with what
//! it was sent, to the DATA frame, not with the full length.
//!
//! Bounded: one entry per answered stream with a line still in flight; the engine
//! reports every answered stream once (a response for a stream already gone at
//! once, with 0).

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::time::Instant;

use crate::proto::h2::streams::StreamIdHasher;

use super::access_log::LogSink;
use super::engine::Engine;
use super::stats::WorkerCounters;

#[derive(Debug, Default)]
pub(crate) struct H2PendingLines {
    /// Stream id -> the line without its size and where the size goes. Only streams
    /// with a line: without an access log the map stays empty, and the body bytes of
    /// every stream are counted from the engine's reports alone. Keyed by the
    /// engine's stream-id hash, as its stream table is: the ids are the client's, but
    /// the map holds only streams in flight.
    lines: HashMap<u32, (String, usize), BuildHasherDefault<StreamIdHasher>>,
}

/// Entries whose room is kept while no stream is in flight: enough for a client's
/// usual burst of concurrent streams, so each burst does not allocate the map again,
/// yet an idle connection keeps under a kilobyte for it.
const KEEP_ENTRIES: usize = 16;

impl H2PendingLines {
    /// The response of `stream_id` was handed to the engine (`text`: its access-log
    /// line, `None` without an access log).
    pub fn push(&mut self, stream_id: u32, text: Option<(String, usize)>) {
        if let Some(text) = text {
            self.lines.insert(stream_id, text);
        }
    }

    /// Writes the lines of the streams the engine reports over, and counts the body
    /// bytes of every one.
    pub fn complete(
        &mut self,
        engine: &mut Engine,
        mut log: Option<&mut LogSink>,
        stats: &WorkerCounters,
        now: Instant,
    ) {
        while let Some((id, sent)) = engine.poll_stream_finished() {
            let text = self.lines.remove(&id);
            write(text, sent, log.as_deref_mut(), stats, Some(now));
        }
        if self.lines.is_empty() && self.lines.capacity() > KEEP_ENTRIES {
            self.lines = HashMap::default();
        }
    }

    /// The connection closes: the engine's last reports, then every stream still in
    /// flight with what it was sent so far (a line left for a stream the engine no
    /// longer has, with 0 bytes).
    pub fn abort(
        &mut self,
        engine: &mut Engine,
        mut log: Option<&mut LogSink>,
        stats: &WorkerCounters,
    ) {
        while let Some((id, sent)) = engine.poll_stream_finished() {
            let text = self.lines.remove(&id);
            write(text, sent, log.as_deref_mut(), stats, None);
        }
        let in_flight = engine.answered_body_sent();
        let mut logged = 0;
        let mut rest: Vec<_> = std::mem::take(&mut self.lines).into_iter().collect();
        rest.sort_by_key(|(id, _)| *id);
        for (id, text) in rest {
            let sent = engine.stream_body_sent(id).unwrap_or(0);
            logged += sent;
            write(Some(text), sent, log.as_deref_mut(), stats, None);
        }
        // The streams without a line.
        WorkerCounters::add(&stats.bytes_sent_body, in_flight.saturating_sub(logged));
    }
}

fn write(
    text: Option<(String, usize)>,
    body_sent: u64,
    log: Option<&mut LogSink>,
    stats: &WorkerCounters,
    now: Option<Instant>,
) {
    WorkerCounters::add(&stats.bytes_sent_body, body_sent);
    if let (Some(log), Some((text, at))) = (log, text) {
        let now = now.or(log.last_tick).unwrap_or_else(Instant::now);
        log.record_sized(&text, at, body_sent, now);
    }
}
