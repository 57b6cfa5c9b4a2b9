//! Making gzip variants off the event loop.
//!
//! Owns the jobs sent to the process-wide compression pool (`service/pool.rs`), the
//! results coming back to one worker, and the variants of files too large for the
//! in-memory cache. Never runs a compression on the caller's thread, except
//! [`compress_inline`] for bodies already in memory and at most [`INLINE_MAX`] bytes.
//!
//! Flow: the first gzip request for a file finds no variant, submits a job and is
//! served the identity encoding. The job runs on a pool thread, reading the file in
//! [`CHUNK`]-sized pieces through the descriptor it was handed (the job holds the open
//! file, never its bytes, while it waits), and sends its result to the worker's
//! channel. The worker picks results up at the start of its next request
//! ([`Compressor::try_collect`]): no wake-up of the event loop is needed, because
//! only a later request can use the variant, and that request finds it.
//!
//! Two destinations:
//! * files up to `file_cache_max_file` are compressed into memory, then kept by the
//!   worker's cache (counted in `file_cache_size`);
//! * larger files, up to `gzip_max_file`, are compressed into an anonymous temporary
//!   file (`O_TMPFILE` in `$TMPDIR`, else `/tmp`: no name, removed by the kernel when
//!   the last descriptor closes) and sent from it with `sendfile` like a `.gz`
//!   sibling. Memory stays at one read chunk plus the encoder's window, whatever the
//!   file's size.
//!
//! Bounds, per worker: the source bytes of in-memory jobs in flight never exceed the
//! worker's cache budget (the memory their results will occupy); at most
//! [`LARGE_MAX`] large variants (done or in flight), the least recently used one
//! dropped for a new one. Process-wide: [`POOL_QUEUE`] waiting jobs and
//! [`POOL_MAX_THREADS`] threads. A job refused for lack of room is simply tried again
//! by a later request.
//!
//! A variant is kept only when it is smaller than the file, and only if the file still
//! has the size and mtime it had when the job was queued (checked on the descriptor
//! after compressing), so a file rewritten meanwhile never gets a mixed variant.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use libflate::gzip::{EncodeOptions, Encoder, HeaderBuilder};
use rustix::fs::{Mode, OFlags};

use crate::service::pool::BlockingPool;

use super::cache::{GzipFile, Validators};
use super::resolve::FileIdentity;

/// Bodies already in memory up to this size are compressed on the worker itself: no
/// I/O and about 0.3 ms of CPU with libflate (64 KiB took about 1 ms, too long a
/// pause for every other connection of the worker; docs/performance.md), and the very
/// first client gets the smaller body. Below the cache's in-memory limit, so every
/// such body is in memory.
pub(super) const INLINE_MAX: u64 = 16 * 1024;
/// Read size of a job: bounded memory per running job whatever the file's size.
pub(super) const CHUNK: usize = 64 * 1024;
/// Jobs waiting for a thread, process-wide. A job is a descriptor and a few paths.
pub(super) const POOL_QUEUE: usize = 64;
/// Compression threads, process-wide: half the CPUs, at least one, at most this, so
/// compression can never take every core from the event loops.
pub(super) const POOL_MAX_THREADS: usize = 4;
/// Large variants (temporary files) per worker, each one descriptor and its disk.
pub(super) const LARGE_MAX: usize = 16;

/// The pool shared by every worker (and every service instance after a reload).
fn pool() -> &'static BlockingPool {
    static POOL: OnceLock<BlockingPool> = OnceLock::new();
    POOL.get_or_init(|| {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        BlockingPool::new(
            "carbon-gzip",
            (cpus / 2).clamp(1, POOL_MAX_THREADS),
            POOL_QUEUE,
        )
    })
}

/// Compresses a body already in memory (at most [`INLINE_MAX`] bytes).
pub(super) fn compress_inline(data: &[u8], identity: &FileIdentity) -> io::Result<Vec<u8>> {
    let mut out = encoder(Vec::with_capacity(data.len() / 3), identity)?;
    out.write_all(data)?;
    out.finish().into_result()
}

/// RFC 1952 member with MTIME set to the file's (seconds, saturating at the 32-bit
/// field), so the variant depends only on the file and not on when it was made.
fn encoder<W: Write>(out: W, identity: &FileIdentity) -> io::Result<Encoder<W>> {
    let secs = super::conditional::unix_secs(identity.mtime);
    let header = HeaderBuilder::new()
        .modification_time(u32::try_from(secs).unwrap_or(u32::MAX))
        .finish();
    Encoder::with_options(out, EncodeOptions::new().header(header))
}

/// Where a job's output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Destination {
    Memory,
    TempFile,
}

/// What a finished job hands back to its worker.
#[derive(Debug)]
pub(super) struct Done {
    /// The cache key (memory) or the canonical path (temporary file).
    pub key: PathBuf,
    /// The file's identity when the job was queued.
    pub identity: FileIdentity,
    pub destination: Destination,
    pub outcome: Outcome,
}

#[derive(Debug)]
pub(super) enum Outcome {
    Memory(Bytes),
    TempFile {
        file: File,
        len: u64,
    },
    /// Not smaller than the file: identity only.
    NotWorthIt,
    /// The file changed or could not be read, or the output could not be written.
    Failed(io::Error),
}

/// Reads `identity.size` bytes of `file` in chunks into the encoder.
fn compress_stream<W: Write>(file: &File, identity: &FileIdentity, out: W) -> io::Result<W> {
    let mut encoder = encoder(out, identity)?;
    let mut buf = vec![0u8; CHUNK];
    let mut offset = 0u64;
    while offset < identity.size {
        let want = usize::try_from((identity.size - offset).min(CHUNK as u64)).unwrap_or(CHUNK);
        let n = match file.read_at(&mut buf[..want], offset) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        encoder.write_all(&buf[..n])?;
        offset += n as u64;
    }
    let out = encoder.finish().into_result()?;
    // The bytes read must be the bytes the identity describes.
    let now = FileIdentity::of(&file.metadata()?);
    if now.size != identity.size || now.mtime != identity.mtime {
        return Err(io::Error::other("file changed while it was compressed"));
    }
    Ok(out)
}

fn run(file: &File, identity: &FileIdentity, destination: Destination) -> Outcome {
    let result = match destination {
        Destination::Memory => {
            let cap = usize::try_from(identity.size / 3).unwrap_or(0);
            compress_stream(file, identity, Vec::with_capacity(cap)).map(|v| {
                if (v.len() as u64) < identity.size {
                    Outcome::Memory(Bytes::from(v))
                } else {
                    Outcome::NotWorthIt
                }
            })
        }
        Destination::TempFile => temp_file().and_then(|tmp| {
            let out = compress_stream(file, identity, BufWriter::with_capacity(CHUNK, tmp))?;
            let tmp = out.into_inner().map_err(|e| e.into_error())?;
            let len = tmp.metadata()?.len();
            Ok(if len < identity.size {
                Outcome::TempFile { file: tmp, len }
            } else {
                Outcome::NotWorthIt
            })
        }),
    };
    result.unwrap_or_else(Outcome::Failed)
}

/// An unnamed file in the temporary directory: nothing to clean up, ever.
fn temp_file() -> io::Result<File> {
    let dir = std::env::temp_dir();
    let fd = rustix::fs::open(
        &dir,
        OFlags::TMPFILE | OFlags::RDWR | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )
    .map_err(|e| {
        io::Error::new(
            io::Error::from(e).kind(),
            format!("cannot create a temporary file in {}: {e}", dir.display()),
        )
    })?;
    Ok(File::from(fd))
}

/// A large file's variant, per worker.
#[derive(Debug)]
struct Large {
    /// The source file's identity the variant was made from.
    identity: FileIdentity,
    /// `None` while the job runs or when compressing did not pay.
    variant: Option<GzipFile>,
    in_flight: bool,
    /// The document root switched while the job ran: drop its result.
    discard: bool,
    last_used: u64,
}

/// One worker's side of compression: results coming back, budgets, large variants.
#[derive(Debug)]
pub(super) struct Compressor {
    tx: Sender<Done>,
    rx: Receiver<Done>,
    /// Source bytes of in-memory jobs in flight, bounded by `memory_budget`.
    memory_in_flight: u64,
    memory_budget: u64,
    large: HashMap<PathBuf, Large>,
    tick: u64,
    /// Jobs submitted and not yet collected.
    in_flight: usize,
}

impl Compressor {
    pub fn new(memory_budget: u64) -> Self {
        let (tx, rx) = mpsc::channel();
        Compressor {
            tx,
            rx,
            memory_in_flight: 0,
            memory_budget,
            large: HashMap::new(),
            tick: 0,
            in_flight: 0,
        }
    }

    /// Queues an in-memory compression of `file`. False when there is no room now
    /// (budget or queue): the caller serves identity and may try again later.
    pub fn submit_memory(&mut self, key: &Path, file: &Arc<File>, identity: FileIdentity) -> bool {
        if self.memory_in_flight + identity.size > self.memory_budget {
            return false;
        }
        if !self.submit(key, file, identity, Destination::Memory) {
            return false;
        }
        self.memory_in_flight += identity.size;
        true
    }

    /// The variant of a large file (by canonical path) if it is ready for exactly
    /// this identity; otherwise queues its compression (when there is room) and
    /// returns `None`, so the caller serves identity this time.
    pub fn large_variant(
        &mut self,
        canonical: &Path,
        file: &Arc<File>,
        identity: FileIdentity,
    ) -> Option<GzipFile> {
        self.tick += 1;
        let tick = self.tick;
        if let Some(large) = self.large.get_mut(canonical) {
            if large.identity == identity && !large.discard {
                large.last_used = tick;
                return large.variant.clone();
            }
            if large.in_flight {
                return None; // the old job's result will be discarded
            }
            self.large.remove(canonical);
        }
        if self.large.len() >= LARGE_MAX && !self.evict_large() {
            return None;
        }
        if self.submit(canonical, file, identity, Destination::TempFile) {
            self.large.insert(
                canonical.to_path_buf(),
                Large {
                    identity,
                    variant: None,
                    in_flight: true,
                    discard: false,
                    last_used: tick,
                },
            );
        }
        None
    }

    /// Drops the least recently used large variant that is not being made.
    fn evict_large(&mut self) -> bool {
        let victim = self
            .large
            .iter()
            .filter(|(_, l)| !l.in_flight)
            .min_by_key(|(_, l)| l.last_used)
            .map(|(k, _)| k.clone());
        victim.is_some_and(|k| self.large.remove(&k).is_some())
    }

    fn submit(
        &mut self,
        key: &Path,
        file: &Arc<File>,
        identity: FileIdentity,
        destination: Destination,
    ) -> bool {
        let tx = self.tx.clone();
        let key = key.to_path_buf();
        let file = file.clone();
        let job = Box::new(move || {
            // A panic must still report back, or the worker's budget would leak.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run(&file, &identity, destination)
            }))
            .unwrap_or_else(|_| Outcome::Failed(io::Error::other("compression panicked")));
            // The worker may be gone (reload, shutdown): nothing to deliver then.
            let _ = tx.send(Done {
                key,
                identity,
                destination,
                outcome,
            });
        });
        let queued = pool().try_submit(job).is_ok();
        if queued {
            self.in_flight += 1;
        }
        queued
    }

    /// Results that are ready, without waiting. In-memory results are returned for
    /// the cache; large ones are kept here.
    pub fn try_collect(&mut self, wall: std::time::SystemTime) -> Vec<Done> {
        let mut memory = Vec::new();
        while let Ok(done) = self.rx.try_recv() {
            if let Some(done) = self.accept(done, wall) {
                memory.push(done);
            }
        }
        memory
    }

    /// Like [`Self::try_collect`], waiting up to `limit` for every job in flight
    /// (tests only: a worker never waits).
    #[cfg(test)]
    pub fn collect_all(
        &mut self,
        wall: std::time::SystemTime,
        limit: std::time::Duration,
    ) -> Vec<Done> {
        let deadline = std::time::Instant::now() + limit;
        let mut memory = Vec::new();
        while self.in_flight > 0 {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let Ok(done) = self.rx.recv_timeout(left) else {
                break;
            };
            if let Some(done) = self.accept(done, wall) {
                memory.push(done);
            }
        }
        memory
    }

    fn accept(&mut self, done: Done, wall: std::time::SystemTime) -> Option<Done> {
        self.in_flight = self.in_flight.saturating_sub(1);
        match done.destination {
            Destination::Memory => {
                self.memory_in_flight = self.memory_in_flight.saturating_sub(done.identity.size);
                Some(done)
            }
            Destination::TempFile => {
                let large = self.large.get_mut(&done.key)?;
                if large.discard || large.identity != done.identity {
                    self.large.remove(&done.key);
                    return None;
                }
                large.in_flight = false;
                match done.outcome {
                    Outcome::TempFile { file, len } => {
                        let meta = file.metadata().ok()?;
                        let mut identity = FileIdentity::of(&meta);
                        identity.size = len;
                        identity.mtime = done.identity.mtime;
                        large.variant = Some(GzipFile {
                            canonical: done.key,
                            file: Arc::new(file),
                            identity,
                            validators: Validators::new(&done.identity, wall)
                                .gzip_variant(&done.identity),
                        });
                    }
                    Outcome::Failed(err) => {
                        log::debug!("gzip of {} failed: {err}", done.key.display());
                    }
                    Outcome::Memory(_) | Outcome::NotWorthIt => {}
                }
                None
            }
        }
    }

    /// Forgets every large variant (the document root switched).
    pub fn clear_large(&mut self) {
        self.large.retain(|_, l| l.in_flight);
        for large in self.large.values_mut() {
            large.discard = true;
        }
    }

    /// Jobs submitted and not yet collected.
    #[cfg(test)]
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    #[cfg(test)]
    pub fn memory_in_flight(&self) -> u64 {
        self.memory_in_flight
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure
mod tests {
    use super::*;
    use std::io::Read;
    use std::time::Duration;

    fn identity_of(file: &File) -> FileIdentity {
        FileIdentity::of(&file.metadata().unwrap())
    }

    fn gunzip(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        libflate::gzip::Decoder::new(data)
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn rfc1952_streamed_in_chunks_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.txt");
        // Several chunks, not a multiple of the chunk size.
        let data = b"line of compressible text, again and again\n".repeat(5_000);
        std::fs::write(&path, &data).unwrap();
        let file = File::open(&path).unwrap();
        let identity = identity_of(&file);
        let Outcome::Memory(packed) = run(&file, &identity, Destination::Memory) else {
            panic!("expected an in-memory variant");
        };
        assert_eq!(gunzip(&packed), data);
        let Outcome::TempFile { file: tmp, len } = run(&file, &identity, Destination::TempFile)
        else {
            panic!("expected a temporary-file variant");
        };
        let mut on_disk = vec![0; len as usize];
        tmp.read_exact_at(&mut on_disk, 0).unwrap();
        assert_eq!(on_disk, packed.to_vec(), "same bytes either way");
    }

    #[test]
    fn a_file_changed_during_compression_gives_no_variant() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.txt");
        std::fs::write(&path, "a".repeat(1000)).unwrap();
        let file = File::open(&path).unwrap();
        let mut identity = identity_of(&file);
        // As if the file had been measured before a rewrite.
        identity.mtime -= Duration::from_secs(10);
        assert!(matches!(
            run(&file, &identity, Destination::Memory),
            Outcome::Failed(_)
        ));
        identity.size += 1;
        assert!(matches!(
            run(&file, &identity, Destination::Memory),
            Outcome::Failed(_)
        ));
    }

    #[test]
    fn incompressible_data_gives_no_variant() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.bin");
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let data: Vec<u8> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        std::fs::write(&path, data).unwrap();
        let file = File::open(&path).unwrap();
        assert!(matches!(
            run(&file, &identity_of(&file), Destination::Memory),
            Outcome::NotWorthIt
        ));
    }

    #[test]
    fn memory_jobs_in_flight_stay_within_the_budget() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.txt");
        std::fs::write(&path, "b".repeat(600)).unwrap();
        let file = Arc::new(File::open(&path).unwrap());
        let identity = identity_of(&file);
        let mut c = Compressor::new(1000);
        assert!(c.submit_memory(Path::new("one"), &file, identity));
        assert!(
            !c.submit_memory(Path::new("two"), &file, identity),
            "600 + 600 > 1000"
        );
        assert_eq!(c.memory_in_flight(), 600);
        let done = c.collect_all(std::time::SystemTime::now(), Duration::from_secs(10));
        assert_eq!(done.len(), 1);
        assert_eq!(c.memory_in_flight(), 0);
        assert!(c.submit_memory(Path::new("two"), &file, identity));
        c.collect_all(std::time::SystemTime::now(), Duration::from_secs(10));
    }

    #[test]
    fn large_variant_is_served_once_ready_and_only_for_the_same_identity() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.txt");
        let data = b"0123456789abcdef".repeat(20_000);
        std::fs::write(&path, &data).unwrap();
        let file = Arc::new(File::open(&path).unwrap());
        let identity = identity_of(&file);
        let mut c = Compressor::new(0);
        assert!(
            c.large_variant(&path, &file, identity).is_none(),
            "first: queued"
        );
        assert_eq!(c.in_flight(), 1);
        assert!(
            c.large_variant(&path, &file, identity).is_none(),
            "still running"
        );
        assert_eq!(c.in_flight(), 1, "not queued twice");
        assert!(c
            .collect_all(std::time::SystemTime::now(), Duration::from_secs(30))
            .is_empty());
        let variant = c.large_variant(&path, &file, identity).unwrap();
        let mut packed = vec![0; variant.identity.size as usize];
        variant.file.read_exact_at(&mut packed, 0).unwrap();
        assert_eq!(gunzip(&packed), data);
        // Another version of the file does not get the old variant.
        let mut changed = identity;
        changed.mtime += Duration::from_secs(1);
        assert!(c.large_variant(&path, &file, changed).is_none());
        c.collect_all(std::time::SystemTime::now(), Duration::from_secs(30));
    }
}
