//! Making gzip and brotli variants off the event loop.
//!
//! Owns the jobs sent to the process-wide compression pool (`service/pool.rs`), the
//! results coming back to one worker, and the process-wide store of variants of files
//! too large for the in-memory cache. Never runs a compression on the caller's thread, except
//! [`compress_inline`] for bodies already in memory and at most [`INLINE_MAX`] bytes.
//!
//! Flow: the first gzip request for a file finds no variant, submits a job and is
//! served the identity encoding. The job runs on a pool thread, reading the file in
//! [`CHUNK`]-sized pieces through the descriptor it was handed (the job holds the open
//! file, never its bytes, while it waits), and sends its result to the worker's
//! channel (or, for a large file, puts it in the shared store). The worker picks
//! results up at the start of its next request ([`Compressor::try_collect`]): no
//! wake-up of the event loop is needed, because only a later request can use the
//! variant, and that request finds it.
//!
//! Two destinations:
//! * files up to `file_cache_max_file` are compressed into memory, then kept by the
//!   worker's cache (counted in `file_cache_size`);
//! * larger files, up to `gzip_max_file`, are compressed into an anonymous temporary
//!   file (`O_TMPFILE` in `$TMPDIR`, else `/tmp`: no name, removed by the kernel when
//!   the last descriptor closes) and sent from it with `sendfile` like a `.gz`
//!   sibling. Memory stays at one read chunk plus the encoder's window, whatever the
//!   file's size. These variants are shared by all workers (one compression per
//!   file per process), keyed by canonical path and checked against the file's
//!   identity, so a switched root or a changed file never gets an old variant.
//!
//! Bounds: per worker, the source bytes of in-memory jobs in flight never exceed the
//! worker's cache budget (the memory their results will occupy). Process-wide, at
//! most [`LARGE_MAX`] large variants (done or in flight; the least recently used
//! finished one is dropped for a new one), [`POOL_QUEUE`] waiting jobs and
//! [`POOL_MAX_THREADS`] threads. A job refused for lack of room is simply tried again
//! by a later request.
//!
//! Brotli (RFC 7932, `brotli = true`) goes through the same jobs, into memory only:
//! files above `file_cache_max_file` get no brotli variant made on the fly (gzip's
//! temporary-file path serves them). Quality [`BROTLI_QUALITY`], not the maximum 11:
//! 11 compresses text only a few percent smaller at a small fraction of the speed
//! (minutes of a pool thread for a large file).
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
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use libflate::gzip::{EncodeOptions, Encoder, HeaderBuilder};
use rustix::fs::{Mode, OFlags};

use crate::service::pool::BlockingPool;

use super::cache::{GzipFile, Validators};
use super::encoding::Coding;
use super::resolve::FileIdentity;

/// Bodies already in memory up to this size are compressed on the worker itself: no
/// I/O and about 0.3 ms of CPU with libflate (64 KiB took about 1 ms, too long a
/// pause for every other connection of the worker; docs/performance.md), and the very
/// first client gets the smaller body. Below the cache's in-memory limit, so every
/// such body is in memory.
pub(super) const INLINE_MAX: u64 = 16 * 1024;
/// Brotli quality (0..=11) of variants made on the fly: 5 compresses text about as
/// well as gzip -9 or better, several times faster than 11 (what precompressed `.br`
/// files built ahead of time should use).
pub(super) const BROTLI_QUALITY: u32 = 5;
/// Brotli window: at most 2^22 = 4 MiB, the format's default; bounds the encoder's
/// memory. Smaller files get a window just above their size ([`brotli_window`]): a
/// larger one finds nothing more and costs memory to set up on every compression.
const BROTLI_LGWIN: u32 = 22;
/// RFC 7932 §9.1: the smallest window the format has (WBITS = 10).
const BROTLI_LGWIN_MIN: u32 = 10;

fn brotli_window(size: u64) -> u32 {
    let bits = u64::BITS - size.leading_zeros() + 1;
    bits.clamp(BROTLI_LGWIN_MIN, BROTLI_LGWIN)
}

/// The largest body a worker compresses itself with `coding`. Brotli: none. Setting
/// up its encoder alone costs about a millisecond (4 KiB of CSS took 1.2 ms at
/// quality 5, 8 KiB 2.9 ms, against 0.3 and 0.6 ms for gzip; docs/performance.md),
/// too long a pause for every other connection of the worker, so every brotli
/// variant is made in the pool and the first client gets gzip or identity.
pub(super) fn inline_max(coding: Coding) -> u64 {
    match coding {
        Coding::Gzip => INLINE_MAX,
        Coding::Br => 0,
    }
}
/// Read size of a job: bounded memory per running job whatever the file's size.
pub(super) const CHUNK: usize = 64 * 1024;
pub(super) use crate::limits::COMPRESS_POOL_QUEUE as POOL_QUEUE;
/// Compression threads, process-wide: half the CPUs, at least one, at most this, so
/// compression can never take every core from the event loops.
pub(super) const POOL_MAX_THREADS: usize = 4;
pub(super) use crate::limits::COMPRESS_LARGE_MAX as LARGE_MAX;

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

/// Compresses a body already in memory (at most [`INLINE_MAX`] bytes; gzip only on a
/// worker, see [`inline_max`]).
pub(super) fn compress_inline(
    data: &[u8],
    identity: &FileIdentity,
    coding: Coding,
) -> io::Result<Vec<u8>> {
    let mut out = Stream::new(Vec::with_capacity(data.len() / 3), identity, coding)?;
    out.write_all(data)?;
    out.finish()
}

/// The encoder of one coding.
enum Stream<W: Write> {
    Gzip(Encoder<W>),
    Br(Box<brotli::CompressorWriter<W>>),
}

impl<W: Write> Stream<W> {
    fn new(out: W, identity: &FileIdentity, coding: Coding) -> io::Result<Self> {
        Ok(match coding {
            Coding::Gzip => Stream::Gzip(encoder(out, identity)?),
            Coding::Br => Stream::Br(Box::new(brotli::CompressorWriter::new(
                out,
                CHUNK,
                BROTLI_QUALITY,
                brotli_window(identity.size),
            ))),
        })
    }

    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            Stream::Gzip(e) => e.write_all(data),
            Stream::Br(e) => e.write_all(data),
        }
    }

    fn finish(self) -> io::Result<W> {
        match self {
            Stream::Gzip(e) => e.finish().into_result(),
            Stream::Br(mut e) => {
                // `into_inner` finishes the stream but drops a write error, so the
                // buffered output is flushed first, where an error is reported.
                e.flush()?;
                Ok(e.into_inner())
            }
        }
    }
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
enum Destination {
    Memory,
    TempFile,
}

/// What a finished in-memory job hands back to its worker.
#[derive(Debug)]
pub(super) struct Done {
    /// The cache key.
    pub key: PathBuf,
    /// The file's identity when the job was queued.
    pub identity: FileIdentity,
    pub coding: Coding,
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
fn compress_stream<W: Write>(
    file: &File,
    identity: &FileIdentity,
    coding: Coding,
    out: W,
) -> io::Result<W> {
    let mut encoder = Stream::new(out, identity, coding)?;
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
    let out = encoder.finish()?;
    // The bytes read must be the bytes the identity describes.
    let now = FileIdentity::of(&file.metadata()?);
    if now.size != identity.size || now.mtime != identity.mtime {
        return Err(io::Error::other("file changed while it was compressed"));
    }
    Ok(out)
}

fn run(file: &File, identity: &FileIdentity, coding: Coding, destination: Destination) -> Outcome {
    let result = match destination {
        Destination::Memory => {
            let cap = usize::try_from(identity.size / 3).unwrap_or(0);
            compress_stream(file, identity, coding, Vec::with_capacity(cap)).map(|v| {
                if (v.len() as u64) < identity.size {
                    Outcome::Memory(Bytes::from(v))
                } else {
                    Outcome::NotWorthIt
                }
            })
        }
        Destination::TempFile => temp_file().and_then(|tmp| {
            let out =
                compress_stream(file, identity, coding, BufWriter::with_capacity(CHUNK, tmp))?;
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

/// A large file's variant in the process-wide store.
#[derive(Debug)]
struct Large {
    /// The source file's identity the variant is (being) made from.
    identity: FileIdentity,
    /// The temporary file and its identity; `None` while the job runs or when
    /// compressing did not pay or failed (not retried until the file changes).
    variant: Option<(Arc<File>, FileIdentity)>,
    in_flight: bool,
    last_used: u64,
}

/// Large variants shared by every worker, by canonical path: each large file is
/// compressed once per process, not once per worker, and at most [`LARGE_MAX`]
/// temporary files exist. Locked only for a lookup of a file above
/// `file_cache_max_file` (whose transfer dwarfs it) and when a job finishes.
#[derive(Debug, Default)]
struct LargeStore {
    map: HashMap<PathBuf, Large>,
    tick: u64,
}

fn large_store() -> std::sync::MutexGuard<'static, LargeStore> {
    static STORE: OnceLock<Mutex<LargeStore>> = OnceLock::new();
    let store = STORE.get_or_init(Mutex::default);
    // A panic while holding the lock leaves a consistent map (every update is one
    // statement), so a poisoned lock is simply taken over.
    store
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl LargeStore {
    /// Drops the least recently used variant that is not being made.
    fn evict_one(&mut self) -> bool {
        let victim = self
            .map
            .iter()
            .filter(|(_, l)| !l.in_flight)
            .min_by_key(|(_, l)| l.last_used)
            .map(|(k, _)| k.clone());
        victim.is_some_and(|k| self.map.remove(&k).is_some())
    }

    /// Stores a finished job's result if the entry still waits for exactly it.
    fn finish(&mut self, key: &Path, identity: FileIdentity, outcome: Outcome) {
        let Some(large) = self.map.get_mut(key) else {
            return;
        };
        if !large.in_flight || large.identity != identity {
            return;
        }
        large.in_flight = false;
        match outcome {
            Outcome::TempFile { file, len } => {
                let Ok(meta) = file.metadata() else {
                    return;
                };
                let mut variant = FileIdentity::of(&meta);
                variant.size = len;
                variant.mtime = identity.mtime;
                large.variant = Some((Arc::new(file), variant));
            }
            Outcome::Failed(err) => log::debug!("gzip of {} failed: {err}", key.display()),
            Outcome::Memory(_) | Outcome::NotWorthIt => {}
        }
    }
}

/// One worker's side of compression: results of its in-memory jobs and their budget.
#[derive(Debug)]
pub(super) struct Compressor {
    tx: Sender<Done>,
    rx: Receiver<Done>,
    /// Source bytes of in-memory jobs in flight, bounded by `memory_budget`.
    memory_in_flight: u64,
    memory_budget: u64,
    /// In-memory jobs submitted and not yet collected.
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
            in_flight: 0,
        }
    }

    /// Queues an in-memory compression of `file`. False when there is no room now
    /// (budget or queue): the caller serves identity and may try again later.
    pub fn submit_memory(
        &mut self,
        key: &Path,
        file: &Arc<File>,
        identity: FileIdentity,
        coding: Coding,
    ) -> bool {
        if self.memory_in_flight + identity.size > self.memory_budget {
            return false;
        }
        let tx = self.tx.clone();
        let key = key.to_path_buf();
        let file = file.clone();
        let job = Box::new(move || {
            let outcome = guarded(&file, &identity, coding, Destination::Memory);
            // The worker may be gone (reload, shutdown): nothing to deliver then.
            let _ = tx.send(Done {
                key,
                identity,
                coding,
                outcome,
            });
        });
        if pool().try_submit(job).is_err() {
            return false;
        }
        self.in_flight += 1;
        self.memory_in_flight += identity.size;
        true
    }

    /// The variant of a large file (by canonical path) if it is ready for exactly
    /// this identity; otherwise queues its compression (when there is room and no job
    /// for it runs) and returns `None`, so the caller serves identity this time.
    /// The validators are computed for this response (`wall`: `Last-Modified` is
    /// never later than its `Date`).
    pub fn large_variant(
        &mut self,
        canonical: &Path,
        file: &Arc<File>,
        identity: FileIdentity,
        wall: std::time::SystemTime,
    ) -> Option<GzipFile> {
        let mut store = large_store();
        store.tick += 1;
        let tick = store.tick;
        if let Some(large) = store.map.get_mut(canonical) {
            if large.identity == identity {
                large.last_used = tick;
                let (file, variant) = large.variant.clone()?;
                return Some(GzipFile {
                    canonical: canonical.to_path_buf(),
                    file,
                    identity: variant,
                    validators: Validators::new(&identity, wall).gzip_variant(&identity),
                });
            }
            if large.in_flight {
                return None; // its result will not match and is dropped
            }
            store.map.remove(canonical);
        }
        if store.map.len() >= LARGE_MAX && !store.evict_one() {
            return None;
        }
        let key = canonical.to_path_buf();
        let source = file.clone();
        let job = Box::new(move || {
            let outcome = guarded(&source, &identity, Coding::Gzip, Destination::TempFile);
            large_store().finish(&key, identity, outcome);
        });
        if pool().try_submit(job).is_ok() {
            store.map.insert(
                canonical.to_path_buf(),
                Large {
                    identity,
                    variant: None,
                    in_flight: true,
                    last_used: tick,
                },
            );
        }
        None
    }

    /// Results of in-memory jobs that are ready, without waiting.
    pub fn try_collect(&mut self) -> Vec<Done> {
        let mut done = Vec::new();
        // Every result answers a job counted in flight: with none, the channel (a
        // few atomic operations per request) need not be looked at.
        if self.in_flight == 0 {
            return done;
        }
        while let Ok(d) = self.rx.try_recv() {
            done.push(self.accept(d));
        }
        done
    }

    /// Like [`Self::try_collect`], waiting up to `limit` for every in-memory job in
    /// flight (tests only: a worker never waits).
    #[cfg(test)]
    pub fn collect_all(&mut self, limit: std::time::Duration) -> Vec<Done> {
        let deadline = std::time::Instant::now() + limit;
        let mut done = Vec::new();
        while self.in_flight > 0 {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let Ok(d) = self.rx.recv_timeout(left) else {
                break;
            };
            done.push(self.accept(d));
        }
        done
    }

    fn accept(&mut self, done: Done) -> Done {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.memory_in_flight = self.memory_in_flight.saturating_sub(done.identity.size);
        done
    }

    #[cfg(test)]
    pub fn memory_in_flight(&self) -> u64 {
        self.memory_in_flight
    }
}

/// Runs a job; a panic still yields an outcome, so the worker's budget and the
/// store's in-flight mark are always released.
fn guarded(
    file: &File,
    identity: &FileIdentity,
    coding: Coding,
    destination: Destination,
) -> Outcome {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run(file, identity, coding, destination)
    }))
    .unwrap_or_else(|_| Outcome::Failed(io::Error::other("compression panicked")))
}

/// Whether the store knows `canonical` at all (a job was ever queued for it; tests).
#[cfg(test)]
pub(super) fn large_known(canonical: &Path) -> bool {
    large_store().map.contains_key(canonical)
}

/// Waits (bounded, tests only) until no large job for `canonical` is in flight.
#[cfg(test)]
pub(super) fn wait_large(canonical: &Path, limit: std::time::Duration) {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if !large_store()
            .map
            .get(canonical)
            .is_some_and(|l| l.in_flight)
        {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
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
        let Outcome::Memory(packed) = run(&file, &identity, Coding::Gzip, Destination::Memory)
        else {
            panic!("expected an in-memory variant");
        };
        assert_eq!(gunzip(&packed), data);
        let Outcome::TempFile { file: tmp, len } =
            run(&file, &identity, Coding::Gzip, Destination::TempFile)
        else {
            panic!("expected a temporary-file variant");
        };
        let mut on_disk = vec![0; len as usize];
        tmp.read_exact_at(&mut on_disk, 0).unwrap();
        assert_eq!(on_disk, packed.to_vec(), "same bytes either way");
    }

    #[test]
    fn rfc7932_9_1_brotli_window_fits_the_file() {
        assert_eq!(brotli_window(0), 10);
        assert_eq!(brotli_window(8 * 1024), 15);
        assert_eq!(brotli_window(100_000), 18);
        assert_eq!(brotli_window(u64::MAX), 22);
    }

    #[test]
    fn rfc7932_brotli_streamed_in_chunks_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.txt");
        let data = b"line of compressible text, again and again\n".repeat(5_000);
        std::fs::write(&path, &data).unwrap();
        let file = File::open(&path).unwrap();
        let identity = identity_of(&file);
        let Outcome::Memory(packed) = run(&file, &identity, Coding::Br, Destination::Memory) else {
            panic!("expected an in-memory variant");
        };
        assert!(packed.len() < data.len() / 10, "{}", packed.len());
        let mut out = Vec::new();
        brotli::Decompressor::new(&packed[..], 4096)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data);
        let inline = compress_inline(&data[..4000], &identity, Coding::Br).unwrap();
        let mut out = Vec::new();
        brotli::Decompressor::new(&inline[..], 4096)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, &data[..4000]);
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
            run(&file, &identity, Coding::Gzip, Destination::Memory),
            Outcome::Failed(_)
        ));
        identity.size += 1;
        assert!(matches!(
            run(&file, &identity, Coding::Gzip, Destination::Memory),
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
            run(
                &file,
                &identity_of(&file),
                Coding::Gzip,
                Destination::Memory
            ),
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
        assert!(c.submit_memory(Path::new("one"), &file, identity, Coding::Gzip));
        assert!(
            !c.submit_memory(Path::new("two"), &file, identity, Coding::Gzip),
            "600 + 600 > 1000"
        );
        assert_eq!(c.memory_in_flight(), 600);
        let done = c.collect_all(Duration::from_secs(10));
        assert_eq!(done.len(), 1);
        assert_eq!(c.memory_in_flight(), 0);
        assert!(c.submit_memory(Path::new("two"), &file, identity, Coding::Gzip));
        c.collect_all(Duration::from_secs(10));
    }

    #[test]
    fn large_variant_is_made_once_per_process_and_only_for_the_same_identity() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.txt");
        let data = b"0123456789abcdef".repeat(20_000);
        std::fs::write(&path, &data).unwrap();
        let file = Arc::new(File::open(&path).unwrap());
        let identity = identity_of(&file);
        let now = std::time::SystemTime::now();
        // Two workers.
        let (mut a, mut b) = (Compressor::new(0), Compressor::new(0));
        assert!(
            a.large_variant(&path, &file, identity, now).is_none(),
            "queued"
        );
        assert!(
            b.large_variant(&path, &file, identity, now).is_none(),
            "running"
        );
        wait_large(&path, Duration::from_secs(30));
        let va = a.large_variant(&path, &file, identity, now).unwrap();
        let vb = b.large_variant(&path, &file, identity, now).unwrap();
        assert!(
            Arc::ptr_eq(&va.file, &vb.file),
            "one temporary file for both"
        );
        let mut packed = vec![0; va.identity.size as usize];
        va.file.read_exact_at(&mut packed, 0).unwrap();
        assert_eq!(gunzip(&packed), data);
        // Another version of the file does not get the old variant.
        let mut changed = identity;
        changed.mtime += Duration::from_secs(1);
        assert!(a.large_variant(&path, &file, changed, now).is_none());
        wait_large(&path, Duration::from_secs(30));
    }
}
