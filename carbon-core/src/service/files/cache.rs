//! The per-worker open-file cache: resolved path -> open descriptor, identity,
//! validators, media type and gzip variant.
//!
//! Owns the byte accounting and eviction; it never touches the file system (the
//! service resolves, opens and revalidates, then tells the cache). Bounds:
//! * total accounted bytes <= the configured size: each entry costs
//!   [`ENTRY_OVERHEAD`] plus its path lengths plus its in-memory gzip body;
//! * at most [`MAX_ENTRIES`] entries, since each holds an open descriptor and the
//!   worker's descriptors are shared with its connections;
//! * besides its accounted bytes, an entry keeps at most three `200` field templates
//!   (`template.rs`, one per content coding, about a kilobyte each).
//!
//! Eviction removes the least recently used entry (a linear scan: it only runs when
//! inserting over budget, over at most [`MAX_ENTRIES`] entries). Negative results
//! (404s) are not cached: a miss costs one `canonicalize`, and caching them would let
//! a client fill the cache with names of its choosing.

use std::borrow::Borrow;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::HeaderValue;

use super::encoding::Coding;
use super::mime::MediaType;
use super::resolve::FileIdentity;
use super::template::HeadTemplates;

/// An entry is re-stat'ed when older than this, so a changed file is served stale for
/// at most this long.
pub(super) const REVALIDATE_AFTER: Duration = Duration::from_secs(1);

/// `now` + [`REVALIDATE_AFTER`] (or `now` itself, checked at once, past the end of
/// the clock's range).
pub(super) fn recheck_after(now: Instant) -> Instant {
    now.checked_add(REVALIDATE_AFTER).unwrap_or(now)
}
pub(super) use crate::limits::FILE_CACHE_MAX_ENTRIES as MAX_ENTRIES;
/// Accounted size of an entry besides its paths and gzip body: the struct, the
/// header values and the hash-map slot, rounded up.
pub(super) const ENTRY_OVERHEAD: u64 = 512;

/// `ETag` and `Last-Modified` of one representation (RFC 9110 §8.8).
#[derive(Debug, Clone)]
pub(super) struct Validators {
    pub etag: HeaderValue,
    pub last_modified: HeaderValue,
    /// What `last_modified` says, for comparisons.
    pub modified: SystemTime,
    /// The file's own modification time, unclamped and at full precision: decides
    /// whether `last_modified` is a strong validator (RFC 9110 §8.8.2.2).
    pub mtime: SystemTime,
}

impl Validators {
    /// A strong entity-tag from mtime and size only (see [`entity_tag`]).
    /// `Last-Modified` is clamped to `wall` (§8.8.2.1: never later than the
    /// response's Date).
    pub fn new(identity: &FileIdentity, wall: SystemTime) -> Self {
        let modified = identity.mtime.min(wall);
        Validators {
            etag: entity_tag(identity, ""),
            last_modified: HeaderValue::from_str(&httpdate::fmt_http_date(modified))
                .unwrap_or(HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT")),
            modified,
            mtime: identity.mtime,
        }
    }

    /// The validators of a gzip variant: same modification time, its own entity-tag
    /// (RFC 9110 §8.8.3.3: each content coding is a distinct representation, so a
    /// strong tag must differ).
    pub fn gzip_variant(&self, identity: &FileIdentity) -> Self {
        self.variant(identity, Coding::Gzip)
    }

    /// The validators of the `coding` variant (see [`Self::gzip_variant`]).
    pub fn variant(&self, identity: &FileIdentity, coding: Coding) -> Self {
        Validators {
            etag: entity_tag(identity, coding.etag_suffix()),
            ..self.clone()
        }
    }
}

/// `"<mtime secs>-<size>"` in lower-case hex, the form nginx sends, so identical
/// files (same bytes, same mtime) get the same tag on every host of a pool and after
/// every redeploy that preserves mtimes (`cp -p`, `rsync -t`, `tar`), and a pool that
/// mixes Carbon and nginx agrees too. The inode is left out on purpose: a copy or an
/// atomic rename gives the same content a new inode, and browsers and CDNs would
/// revalidate for nothing (a 200 instead of a 304 after each deploy). Sub-second
/// mtime is left out too, because many copy tools keep only whole seconds.
///
/// The price, shared with nginx: a rewrite in place within the same second that keeps
/// the length keeps the tag. The body served is still the new one (the cache compares
/// the full identity, nanoseconds and inode included); only a client revalidating
/// within that second may keep its old copy.
fn entity_tag(identity: &FileIdentity, suffix: &str) -> HeaderValue {
    let secs = identity
        .mtime
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let tag = format!("\"{secs:x}-{:x}{suffix}\"", identity.size);
    // Hex digits, dashes and a fixed suffix are always a valid field value.
    HeaderValue::from_str(&tag).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// A precompressed `.gz` or `.br` file served instead of compressing.
#[derive(Debug, Clone)]
pub(super) struct GzipFile {
    pub canonical: PathBuf,
    pub file: Arc<File>,
    pub identity: FileIdentity,
    pub validators: Validators,
}

/// A compressed variant of an entry (the gzip one, or the brotli one: the states are
/// the same).
#[derive(Debug, Clone)]
pub(super) enum Gzip {
    /// Identity only: not compressible, gzip off, outside the size limits, or
    /// compressing did not pay.
    Unavailable,
    /// Worth compressing on first demand.
    Pending,
    /// A compression job is running in the pool; identity is served meanwhile.
    Compressing,
    /// Compressed once, kept here.
    Memory { body: Bytes, validators: Validators },
    /// A precompressed sibling.
    File(GzipFile),
}

#[derive(Debug)]
pub(super) struct Entry {
    pub canonical: PathBuf,
    pub file: Arc<File>,
    pub identity: FileIdentity,
    pub media: MediaType,
    pub validators: Validators,
    pub gzip: Gzip,
    /// The brotli variant, in the same states as `gzip`.
    pub br: Gzip,
    /// The whole identity body of a small file, so its response leaves in the same
    /// write as the head (one system call and usually one TCP segment, instead of a
    /// `writev` for the head plus a `sendfile` for a few bytes of body).
    pub memory: Option<Bytes>,
    /// When the file system must confirm this entry again: [`REVALIDATE_AFTER`] after
    /// it last did (an end, not a start: one comparison per request instead of a
    /// subtraction of two instants).
    recheck_at: Instant,
    /// The header fields of each representation's plain `200` (`template.rs`).
    pub heads: HeadTemplates,
    last_used: u64,
}

impl Entry {
    /// Whether the file system confirmed this entry less than [`REVALIDATE_AFTER`] ago.
    pub fn is_fresh(&self, now: Instant) -> bool {
        now < self.recheck_at
    }

    /// The file system confirmed this entry at `now`.
    pub fn confirmed(&mut self, now: Instant) {
        self.recheck_at = recheck_after(now);
    }

    pub fn new(
        canonical: PathBuf,
        file: File,
        identity: FileIdentity,
        media: MediaType,
        gzip: Gzip,
        ctx_wall: SystemTime,
        now: Instant,
    ) -> Self {
        Entry {
            canonical,
            file: Arc::new(file),
            validators: Validators::new(&identity, ctx_wall),
            identity,
            media,
            gzip,
            br: Gzip::Unavailable,
            memory: None,
            recheck_at: recheck_after(now),
            heads: HeadTemplates::default(),
            last_used: 0,
        }
    }

    /// The identity of the precompressed sibling this entry serves, if any.
    pub fn sibling_identity(&self, coding: Coding) -> Option<FileIdentity> {
        match self.variant(coding) {
            Gzip::File(f) => Some(f.identity),
            _ => None,
        }
    }

    pub fn variant(&self, coding: Coding) -> &Gzip {
        match coding {
            Coding::Gzip => &self.gzip,
            Coding::Br => &self.br,
        }
    }

    fn variant_mut(&mut self, coding: Coding) -> &mut Gzip {
        match coding {
            Coding::Gzip => &mut self.gzip,
            Coding::Br => &mut self.br,
        }
    }

    fn cost(&self, key: &Path) -> u64 {
        let paths = key.as_os_str().len() + self.canonical.as_os_str().len();
        let variant = |v: &Gzip| match v {
            Gzip::Memory { body, .. } => body.len(),
            Gzip::File(f) => f.canonical.as_os_str().len(),
            Gzip::Unavailable | Gzip::Pending | Gzip::Compressing => 0,
        };
        let memory = self.memory.as_ref().map_or(0, |m| m.len());
        ENTRY_OVERHEAD
            + paths as u64
            + variant(&self.gzip) as u64
            + variant(&self.br) as u64
            + memory as u64
    }
}

/// Counters for tests and statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct CacheStats {
    pub compressions: u64,
    pub evictions: u64,
}

/// A cache key: the path relative to the document root, hashed and compared as its
/// octets. `Path`'s own `Hash` and `Eq` walk its components (so `a//b` equals
/// `a/b`), which costs a parse per lookup; keys here are always built by
/// `resolve::parse_target` from normalised components, so equal paths have equal
/// octets.
#[derive(Debug, Clone)]
struct Key(PathBuf);

fn octets(path: &Path) -> &[u8] {
    path.as_os_str().as_bytes()
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // As `[u8]` hashes, so a lookup by octets (`Borrow`) finds it.
        octets(&self.0).hash(state)
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        octets(&self.0) == octets(&other.0)
    }
}

impl Eq for Key {}

impl Borrow<[u8]> for Key {
    fn borrow(&self) -> &[u8] {
        octets(&self.0)
    }
}

/// The cache's hash of a key's octets: a multiply-rotate over 8-octet words, mixed so
/// the table's low index bits depend on every octet. SipHash (the default) cost about
/// 1.5% of a small-file request in profiles. A keyed hash is not what stops collision
/// attacks here: only files that exist are ever inserted (negative results are not cached),
/// so a client cannot choose the keys that would collide; its requested path is only
/// ever looked up, among at most [`MAX_ENTRIES`] entries. Each cache still starts
/// from a random state ([`KeyHasherBuilder`]), so that on a site whose users can
/// create files (uploads), names that collide cannot be computed offline.
#[derive(Debug, Default, Clone, Copy)]
struct KeyHasher(u64);

/// [`KeyHasher`]s starting from one random state per cache.
#[derive(Debug, Clone, Copy)]
struct KeyHasherBuilder(u64);

impl KeyHasherBuilder {
    fn random() -> Self {
        // The standard library's per-process random keys, as a seed.
        use std::hash::BuildHasher;
        KeyHasherBuilder(std::hash::RandomState::new().hash_one(0x6361_7262_6f6e_u64))
    }
}

impl std::hash::BuildHasher for KeyHasherBuilder {
    type Hasher = KeyHasher;

    fn build_hasher(&self) -> KeyHasher {
        KeyHasher(self.0)
    }
}

impl KeyHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        // MurmurHash3's 64-bit finaliser: every input bit reaches every output bit.
        let mut h = self.0 ^ (self.0 >> 33);
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^ (h >> 33)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut word = [0u8; 8];
            word.copy_from_slice(w);
            self.add(u64::from_le_bytes(word));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
}

type KeyMap = std::collections::HashMap<Key, Entry, KeyHasherBuilder>;

#[derive(Debug)]
pub(super) struct FileCache {
    entries: KeyMap,
    used: u64,
    capacity: u64,
    tick: u64,
    pub stats: CacheStats,
}

impl FileCache {
    pub fn new(capacity: u64) -> Self {
        FileCache {
            entries: KeyMap::with_hasher(KeyHasherBuilder::random()),
            used: 0,
            capacity,
            tick: 0,
            stats: CacheStats::default(),
        }
    }

    /// Bytes currently accounted; never above the capacity.
    #[cfg(test)]
    pub fn used(&self) -> u64 {
        self.used
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The entry for `key`, marked as most recently used.
    pub fn get(&mut self, key: &Path) -> Option<&mut Entry> {
        self.tick += 1;
        let tick = self.tick;
        let entry = self.entries.get_mut(octets(key))?;
        entry.last_used = tick;
        Some(entry)
    }

    /// Drops every entry (the document root switched: they describe the old one).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.used = 0;
    }

    pub fn remove(&mut self, key: &Path) {
        if let Some(entry) = self.entries.remove(octets(key)) {
            self.used -= entry.cost(key);
        }
    }

    /// Inserts (replacing any entry for `key`), evicting least recently used entries
    /// to stay within both bounds. An entry that cannot fit even in an empty cache is
    /// handed back, to be served once and dropped.
    pub fn insert(&mut self, key: PathBuf, mut entry: Entry) -> Result<(), Box<Entry>> {
        self.remove(&key);
        let cost = entry.cost(&key);
        if cost > self.capacity {
            return Err(Box::new(entry));
        }
        while self.used + cost > self.capacity || self.entries.len() >= MAX_ENTRIES {
            if !self.evict_one(None) {
                return Err(Box::new(entry));
            }
        }
        self.tick += 1;
        entry.last_used = self.tick;
        self.used += cost;
        self.entries.insert(Key(key), entry);
        Ok(())
    }

    /// Stores a freshly compressed body as the entry's `coding` variant, evicting
    /// others to make room. Returns false (and marks that variant unavailable, so it
    /// is never compressed again) when the body cannot fit.
    pub fn attach(
        &mut self,
        key: &Path,
        coding: Coding,
        body: Bytes,
        validators: Validators,
    ) -> bool {
        let Some(before) = self.entries.get(octets(key)).map(|e| e.cost(key)) else {
            return false;
        };
        let after = before + body.len() as u64;
        let mut fits = after <= self.capacity;
        while fits && self.used - before + after > self.capacity {
            fits = self.evict_one(Some(key));
        }
        let state = if fits {
            Gzip::Memory { body, validators }
        } else {
            Gzip::Unavailable
        };
        self.set_variant(key, coding, state);
        fits
    }

    /// Replaces the state of an entry's `coding` variant, keeping the byte count exact.
    pub fn set_variant(&mut self, key: &Path, coding: Coding, state: Gzip) {
        if let Some(entry) = self.entries.get_mut(octets(key)) {
            self.used -= entry.cost(key);
            *entry.variant_mut(coding) = state;
            entry.heads.forget(coding);
            self.used += entry.cost(key);
        }
    }

    fn evict_one(&mut self, keep: Option<&Path>) -> bool {
        let victim = self
            .entries
            .iter()
            .filter(|(k, _)| keep.is_none_or(|keep| octets(keep) != octets(&k.0)))
            .min_by_key(|(_, e)| e.last_used)
            .map(|(k, _)| k.0.clone());
        match victim {
            Some(key) => {
                self.remove(&key);
                self.stats.evictions += 1;
                true
            }
            None => false,
        }
    }

    /// Sum of entry costs, recomputed, for checking the running total in tests.
    #[cfg(test)]
    pub fn recount(&self) -> u64 {
        self.entries.iter().map(|(k, e)| e.cost(&k.0)).sum()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure
mod tests {
    use super::*;
    use crate::service::files::mime;
    use std::hash::BuildHasher;

    /// Paths that differ in one octet, anywhere in an 8-octet word, must land in
    /// different buckets: the table indexes by the hash's low bits.
    #[test]
    fn key_hash_low_bits_depend_on_every_octet() {
        let hasher = KeyHasherBuilder::random();
        let mut buckets = std::collections::HashSet::new();
        for i in 0..1000 {
            let path = format!("assets/file{i:04}.js");
            buckets.insert(hasher.hash_one(path.as_bytes()) & 0xff);
        }
        assert!(
            buckets.len() > 200,
            "only {} of 256 buckets used",
            buckets.len()
        );
    }

    fn entry(dir: &Path) -> Entry {
        let path = dir.join("f");
        std::fs::write(&path, b"x").unwrap();
        let identity = FileIdentity {
            size: 1,
            mtime: UNIX_EPOCH,
            dev: 1,
            ino: 1,
        };
        Entry::new(
            path.clone(),
            File::open(&path).unwrap(),
            identity,
            mime::OCTET_STREAM,
            Gzip::Pending,
            UNIX_EPOCH,
            Instant::now(),
        )
    }

    #[test]
    fn bounded_by_bytes_with_lru_eviction() {
        let dir = tempfile::tempdir().unwrap();
        let one = entry(dir.path()).cost(Path::new("k0"));
        let mut cache = FileCache::new(one * 3);
        for i in 0..3 {
            cache
                .insert(PathBuf::from(format!("k{i}")), entry(dir.path()))
                .unwrap();
        }
        // Touch k0 so k1 is the least recently used.
        assert!(cache.get(Path::new("k0")).is_some());
        cache
            .insert(PathBuf::from("k3"), entry(dir.path()))
            .unwrap();
        assert!(cache.get(Path::new("k1")).is_none());
        assert!(cache.get(Path::new("k0")).is_some());
        assert_eq!(cache.len(), 3);
        assert!(cache.used() <= one * 3);
        assert_eq!(cache.used(), cache.recount());
        assert_eq!(cache.stats.evictions, 1);
    }

    #[test]
    fn entry_larger_than_cache_is_handed_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = FileCache::new(10);
        assert!(cache.insert(PathBuf::from("k"), entry(dir.path())).is_err());
        assert_eq!(cache.used(), 0);
    }

    #[test]
    fn gzip_bodies_count_and_evict_others() {
        let dir = tempfile::tempdir().unwrap();
        let one = entry(dir.path()).cost(Path::new("a"));
        let mut cache = FileCache::new(one * 2 + 100);
        cache.insert(PathBuf::from("a"), entry(dir.path())).unwrap();
        cache.insert(PathBuf::from("b"), entry(dir.path())).unwrap();
        let e = entry(dir.path());
        let v = Validators::new(&e.identity, UNIX_EPOCH).gzip_variant(&e.identity);
        assert!(cache.attach(
            Path::new("b"),
            Coding::Gzip,
            Bytes::from(vec![0; 150]),
            v.clone()
        ));
        assert!(
            cache.get(Path::new("a")).is_none(),
            "a evicted to make room"
        );
        assert_eq!(cache.used(), cache.recount());
        assert!(cache.used() <= one * 2 + 100);
        // Too big for the whole cache: refused and marked identity-only.
        let huge = Bytes::from(vec![0; (one * 3) as usize]);
        assert!(!cache.attach(Path::new("b"), Coding::Gzip, huge, v));
        assert!(matches!(
            cache.get(Path::new("b")).unwrap().gzip,
            Gzip::Unavailable
        ));
        assert_eq!(cache.used(), cache.recount());
    }

    #[test]
    fn rfc9110_8_8_3_3_variant_etags_differ() {
        let id = FileIdentity {
            size: 0x10,
            mtime: UNIX_EPOCH + Duration::from_secs(0x5f),
            dev: 1,
            ino: 7,
        };
        let plain = Validators::new(&id, SystemTime::now());
        let gz = plain.gzip_variant(&id);
        assert_eq!(plain.etag, "\"5f-10\"");
        assert_eq!(gz.etag, "\"5f-10-gz\"");
    }

    #[test]
    fn rfc9110_8_8_3_etag_is_mtime_and_size_in_hex_like_nginx() {
        // 1700000000 = 0x6553f100, 123456 = 0x1e240.
        let at = |ino, dev, nanos| FileIdentity {
            size: 123_456,
            mtime: UNIX_EPOCH + Duration::new(1_700_000_000, nanos),
            dev,
            ino,
        };
        let a = Validators::new(&at(7, 1, 0), SystemTime::now());
        assert_eq!(a.etag, "\"6553f100-1e240\"");
        // Another host, another inode, a copy that kept only whole seconds: same tag.
        let b = Validators::new(&at(9_999, 42, 123_000_000), SystemTime::now());
        assert_eq!(a.etag, b.etag);
        assert_eq!(
            a.gzip_variant(&at(7, 1, 0)).etag,
            b.gzip_variant(&at(9_999, 42, 5)).etag
        );
        // A different mtime second or size is a different representation.
        let mut later = at(7, 1, 0);
        later.mtime += Duration::from_secs(1);
        assert_ne!(Validators::new(&later, SystemTime::now()).etag, a.etag);
        let mut longer = at(7, 1, 0);
        longer.size += 1;
        assert_ne!(Validators::new(&longer, SystemTime::now()).etag, a.etag);
    }

    #[test]
    fn rfc9110_8_8_2_1_last_modified_not_after_date() {
        let id = FileIdentity {
            size: 1,
            mtime: UNIX_EPOCH + Duration::from_secs(2_000_000_000),
            dev: 1,
            ino: 1,
        };
        let wall = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(Validators::new(&id, wall).modified, wall);
    }
}
