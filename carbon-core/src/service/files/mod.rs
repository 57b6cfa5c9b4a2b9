//! The static-file service: answers GET, HEAD and OPTIONS from a document root.
//!
//! Owns the request-to-response logic for files; each concern lives in its own file:
//! path safety (`resolve`), the document root's directory and kernel-contained opens
//! (`root`), media types (`mime`), the per-worker open-file cache (`cache`),
//! conditional requests (`conditional`), byte ranges (`range`), content coding
//! (`encoding`: gzip and brotli), compressed variants made off the event loop
//! (`compress`) and the header fields written (`headers`). The site settings of
//! docs/sites.md apply here too: `Cache-Control` rules and the configured header
//! fields (`secured`, `respond`) and the single-page-app fallback (`spa_fallback`).
//!
//! One [`FileService`] per worker thread: the cache is plain `&mut self` state. Each
//! request first re-resolves the root if a second has passed (`root`) and picks up
//! the compressions the pool finished (`compress`).
//!
//! OPTIONS answers 204 with `Allow` for `*` and for a path that exists (file or
//! directory), and whatever GET would for one that does not (404, 400); other methods
//! are 405 whether or not the path exists.
//!
//! Order of evaluation for GET/HEAD, following RFC 9110 §13.2.2:
//! resolve -> directory redirect (or, for a missing path, the SPA fallback) -> choose
//! the representation (br, gzip or identity by the client's weights, identity
//! whenever a GET carries Range) -> If-Match / If-Unmodified-Since (412) ->
//! If-None-Match / If-Modified-Since (304) -> Range / If-Range (206, 416) -> 200.

#[cfg(test)]
mod brotli_tests;
mod cache;
mod compress;
mod conditional;
mod encoding;
mod headers;
mod mime;
mod range;
mod resolve;
#[cfg(test)]
mod robustness_tests;
mod root;
#[cfg(test)]
mod site_tests;
mod template;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::fs::File;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::header::{
    CONTENT_SECURITY_POLICY, CONTENT_TYPE, RANGE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};

use crate::config::{any_matches, CacheRule, Config, HeaderLine, PathPattern};
use crate::service::{
    error_response, Body, FileRegion, PreEncoded, Request, RequestContext, Response, Service,
    ServiceCounters, Template,
};

use cache::{Entry, FileCache, Gzip, GzipFile, Validators};
use compress::Compressor;
use conditional::Precondition;
use encoding::Coding;
use range::RangeOutcome;
use resolve::{Kind, Located};
use root::DocumentRoot;

/// Settings of the file service (a view of [`Config`]).
#[derive(Debug, Clone)]
pub struct FileOptions {
    /// Document root; canonicalized once by [`FileService::new`].
    pub root: PathBuf,
    /// Served for a request naming a directory with a trailing slash.
    pub index_file: String,
    /// Serve names starting with `.` (`/.well-known/` is served regardless).
    pub serve_dotfiles: bool,
    pub gzip: bool,
    /// Smaller files are never compressed.
    pub gzip_min_length: u64,
    /// Byte budget of the per-worker cache.
    pub cache_size: u64,
    /// Larger files are served from a freshly opened descriptor, and their gzip
    /// variant (if any) is made into a temporary file instead of memory.
    pub cache_max_file: u64,
    /// Larger files are never compressed on the fly (0 = none above
    /// `cache_max_file`).
    pub gzip_max_file: u64,
    /// Body of 404 responses: relative to the root (and then bound by the same rules
    /// as requests), or absolute (trusted, may lie anywhere).
    pub error_page_404: Option<PathBuf>,
    /// Added to every response of this service (HSTS is the driver's: TLS only).
    pub security_headers: Vec<(HeaderName, HeaderValue)>,
    /// `Cache-Control` of 200, 206 and 304 responses by served path; first match wins.
    pub cache_control: Vec<CacheRule>,
    /// Applied after the security headers, in this order: remove, set, add.
    pub header_remove: Vec<HeaderName>,
    pub header_set: Vec<HeaderLine>,
    pub header_add: Vec<HeaderLine>,
    /// Relative to the root: served for a missing path (single-page applications).
    pub spa_fallback: Option<PathBuf>,
    /// Request paths that never fall back.
    pub spa_fallback_exclude: Vec<PathPattern>,
    /// Serve `.br` siblings.
    pub brotli_static: bool,
    /// Compress with brotli on the fly.
    pub brotli: bool,
}

impl FileOptions {
    pub fn from_config(cfg: &Config) -> Self {
        let mut security_headers = Vec::new();
        if cfg.security_headers {
            let configured = [
                (X_CONTENT_TYPE_OPTIONS, &cfg.header_x_content_type_options),
                (X_FRAME_OPTIONS, &cfg.header_x_frame_options),
                (REFERRER_POLICY, &cfg.header_referrer_policy),
                (CONTENT_SECURITY_POLICY, &cfg.header_content_security_policy),
                (
                    HeaderName::from_static("permissions-policy"),
                    &cfg.header_permissions_policy,
                ),
            ];
            for (name, value) in configured {
                if value.is_empty() {
                    continue;
                }
                match HeaderValue::from_str(value) {
                    Ok(value) => security_headers.push((name, value)),
                    Err(_) => {
                        log::warn!("{name}: value is not a valid header field value; omitted")
                    }
                }
            }
        }
        FileOptions {
            root: cfg.www_path.clone(),
            index_file: cfg.index_file.clone(),
            serve_dotfiles: cfg.serve_dotfiles,
            gzip: cfg.gzip,
            gzip_min_length: cfg.gzip_min_length,
            cache_size: cfg.file_cache_size,
            cache_max_file: cfg.file_cache_max_file,
            gzip_max_file: cfg.gzip_max_file,
            error_page_404: cfg.error_page_404.clone(),
            security_headers,
            cache_control: cfg.cache_control.clone(),
            header_remove: cfg.header_remove.clone(),
            header_set: cfg.header_set.clone(),
            header_add: cfg.header_add.clone(),
            spa_fallback: cfg.spa_fallback.clone(),
            spa_fallback_exclude: cfg.spa_fallback_exclude.clone(),
            brotli_static: cfg.brotli_static,
            brotli: cfg.brotli,
        }
    }
}

/// Serves files under one document root. See the module docs for the rules.
#[derive(Debug)]
pub struct FileService {
    opts: FileOptions,
    /// `opts.root` as an open directory, re-resolved once a second (a deploy that
    /// switches a symlinked root is followed); every served path lies under it.
    root: DocumentRoot,
    cache: FileCache,
    /// Compression jobs of this worker in the shared pool, and large variants.
    compressor: Compressor,
    /// Cache hits and misses for the statistics (the driver attaches its worker's).
    counters: Option<Arc<ServiceCounters>>,
    /// The template of the response being built, when [`Service::call_pre_encoded`]
    /// asked for it to be kept aside: set by `respond`, taken right after.
    aside: Option<Option<PreEncoded>>,
}

/// Where a looked-up file is.
enum Found {
    Cached(PathBuf),
    /// Not cacheable (larger than `cache_max_file`, or than the whole cache): used
    /// for this response only.
    Fresh(Box<Entry>),
    Directory,
}

/// A file served from its descriptor (not from memory) is checked with one `fstat`
/// per request: a file rewritten in place keeps its inode, and serving it with the
/// old length would cut the body short or mix old headers with new bytes. Paths
/// (renames, deletions) are still re-checked once a second.
fn still_same_content(entry: &Entry) -> bool {
    if entry.memory.is_some() {
        // The snapshot in memory is self-consistent whatever happens to the file.
        return true;
    }
    match entry.file.metadata() {
        Ok(meta) => {
            let now = resolve::FileIdentity::of(&meta);
            now.size == entry.identity.size && now.mtime == entry.identity.mtime
        }
        Err(_) => false,
    }
}

/// A root-relative path as patterns see it: `/` + the path, `/` at the end for a
/// directory request.
fn served_path(rel: &Path, directory: bool) -> String {
    let rel = rel.to_string_lossy();
    let mut path = String::with_capacity(rel.len() + 2);
    path.push('/');
    path.push_str(&rel);
    if directory && !path.ends_with('/') {
        path.push('/');
    }
    path
}

/// Files up to this size are kept in memory by the cache (counted in
/// `file_cache_size`) and sent from there; larger ones go out with `sendfile`.
const IN_MEMORY_MAX: u64 = 64 * 1024;

/// The file's bytes, if it still has exactly the size we recorded (a file being
/// rewritten right now is served from the descriptor instead, and re-read once its
/// metadata settles).
fn read_whole(file: &File, size: u64) -> Option<Bytes> {
    use std::os::unix::fs::FileExt;
    let len = usize::try_from(size).ok()?;
    let mut buf = vec![0u8; len];
    let mut filled = 0;
    while filled < len {
        match file.read_at(&mut buf[filled..], filled as u64) {
            Ok(0) => return None,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    // One more byte would mean the file grew since it was measured.
    let mut probe = [0u8; 1];
    match file.read_at(&mut probe, size) {
        Ok(0) => Some(Bytes::from(buf)),
        _ => None,
    }
}

/// The representation one response sends, copied out of the cache entry.
struct Selected {
    source: Source,
    len: u64,
    content_type: &'static str,
    validators: Validators,
    vary: bool,
    /// The content coding sent; `None` = identity.
    coding: Option<Coding>,
    /// The fields of this representation's plain `200`, when the cache holds them
    /// (`template.rs`).
    head: Option<Arc<Template>>,
}

enum Source {
    File(Arc<File>),
    Bytes(Bytes),
}

impl Selected {
    /// The first of `prefs` whose variant is ready, else identity. `compressing` says
    /// whether any coding may be made on the fly (then `Vary` is always sent).
    fn from_entry(entry: &Entry, prefs: &[Coding], compressing: bool) -> Self {
        let mut selected = Selected {
            source: match &entry.memory {
                Some(bytes) => Source::Bytes(bytes.clone()),
                None => Source::File(entry.file.clone()),
            },
            len: entry.identity.size,
            content_type: entry.media.value,
            validators: entry.validators.clone(),
            // §12.5.5: the response differs by Accept-Encoding whenever some
            // client could get another coding of it.
            vary: entry.media.compressible
                && (compressing
                    || matches!(entry.gzip, Gzip::File(_))
                    || matches!(entry.br, Gzip::File(_))),
            coding: None,
            head: None,
        };
        for &coding in prefs {
            match entry.variant(coding) {
                Gzip::Memory { body, validators } => {
                    selected.source = Source::Bytes(body.clone());
                    selected.len = body.len() as u64;
                    selected.validators = validators.clone();
                }
                Gzip::File(sibling) => {
                    selected.source = Source::File(sibling.file.clone());
                    selected.len = sibling.identity.size;
                    selected.validators = sibling.validators.clone();
                }
                Gzip::Unavailable | Gzip::Pending | Gzip::Compressing => continue,
            }
            selected.coding = Some(coding);
            break;
        }
        selected
    }

    fn body(&self, start: u64, len: u64) -> Body {
        if len == 0 {
            return Body::Empty;
        }
        match &self.source {
            Source::File(file) => Body::File(FileRegion {
                file: file.clone(),
                offset: start,
                len,
            }),
            Source::Bytes(bytes) => {
                let (Ok(start), Ok(len)) = (usize::try_from(start), usize::try_from(len)) else {
                    return Body::Empty;
                };
                Body::Bytes(bytes.slice(start..start + len))
            }
        }
    }
}

impl FileService {
    /// Fails when the root does not exist or is not a directory, so a misconfigured
    /// server refuses to start instead of answering 404 to everything.
    pub fn new(opts: FileOptions) -> io::Result<Self> {
        let root = DocumentRoot::open(&opts.root)?;
        Ok(FileService {
            cache: FileCache::new(opts.cache_size),
            compressor: Compressor::new(opts.cache_size),
            opts,
            root,
            counters: None,
            aside: None,
        })
    }

    fn count(&self, which: impl Fn(&ServiceCounters) -> &AtomicU64) {
        if let Some(c) = &self.counters {
            // This worker's block, written by this service alone: no locked add.
            let c = which(c);
            c.store(c.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
        }
    }

    fn secured(&self, mut resp: Response) -> Response {
        secure_fields(&self.opts, resp.headers_mut());
        resp
    }

    /// The `Cache-Control` of the first rule matching the served file's path.
    fn cache_control_for(&self, served: &str) -> Option<HeaderValue> {
        self.opts
            .cache_control
            .iter()
            .find(|rule| any_matches(&rule.patterns, served))
            .map(|rule| rule.value.clone())
    }

    /// The common case in one hash lookup: `key` is cached, confirmed less than
    /// [`REVALIDATE_AFTER`](cache::REVALIDATE_AFTER) ago, and every coding the client accepts is either ready
    /// or not to be made; the selection carries the cached `200` fields (built here
    /// on first use). Anything else (`None`) takes [`Self::lookup`] and
    /// [`Self::select`], which decide the same way with the file system at hand.
    ///
    /// The key is the client's path, so the cache map keeps std's keyed SipHash: a
    /// cheaper unkeyed hash would let a client pick names that collide.
    fn hit(
        &mut self,
        key: &Path,
        prefs: &[Coding],
        cache_control: Option<&HeaderValue>,
        ctx: &RequestContext,
    ) -> Option<Selected> {
        let compressing = self.opts.gzip || self.opts.brotli;
        let entry = self.cache.get(key)?;
        if !entry.is_fresh(ctx.now)
            || !still_same_content(entry)
            || prefs
                .iter()
                .any(|&c| matches!(entry.variant(c), Gzip::Pending))
        {
            return None;
        }
        let mut sel = Selected::from_entry(entry, prefs, compressing);
        let head = match entry.heads.get(sel.coding, sel.vary) {
            Some(head) => head,
            None => {
                let head = build_head(
                    &self.opts,
                    &sel,
                    (StatusCode::OK, 0, sel.len),
                    cache_control.cloned(),
                    false,
                );
                entry.heads.set(sel.coding, sel.vary, head)
            }
        };
        sel.head = Some(head);
        self.count(|c| &c.file_cache_hits);
        Some(sel)
    }

    /// nginx's `try_files $uri /index.html`: the configured file, for a GET/HEAD of a
    /// path that does not exist, unless the path looks like an asset (a missing
    /// `app.3f2a.js` must stay a 404: HTML in its place breaks the page and gets
    /// cached by CDNs as JavaScript).
    fn spa_fallback(&mut self, requested: &str, ctx: &RequestContext) -> Option<(Found, String)> {
        let fallback = self.opts.spa_fallback.clone()?;
        if any_matches(&self.opts.spa_fallback_exclude, requested) {
            return None;
        }
        let served = served_path(&fallback, false);
        match self.lookup(fallback, false, ctx) {
            Ok(found @ (Found::Cached(_) | Found::Fresh(_))) => Some((found, served)),
            Ok(Found::Directory) | Err(_) => None,
        }
    }

    /// Finds `key` through the cache, revalidating entries older than
    /// [`REVALIDATE_AFTER`](cache::REVALIDATE_AFTER). `configured` marks an operator-given absolute path.
    fn lookup(
        &mut self,
        key: PathBuf,
        configured: bool,
        ctx: &RequestContext,
    ) -> Result<Found, StatusCode> {
        if let Some(entry) = self.cache.get(&key) {
            if entry.is_fresh(ctx.now) && still_same_content(entry) {
                self.count(|c| &c.file_cache_hits);
                return Ok(Found::Cached(key));
            }
        }
        let located = if configured {
            resolve::locate_configured(&key)
        } else {
            resolve::locate(self.root.canonical(), &key, self.opts.serve_dotfiles)
        };
        let located = match located {
            Ok(located) if located.kind == Kind::File => located,
            Ok(_) => {
                self.cache.remove(&key);
                return Ok(Found::Directory);
            }
            Err(status) => {
                self.cache.remove(&key);
                return Err(status);
            }
        };
        let media = mime::for_name(key.file_name().map_or(&[][..], |n| n.as_bytes()));
        let sibling = if configured || !self.opts.gzip || !media.compressible {
            None
        } else {
            self.locate_sibling(&key, &located, Coding::Gzip)
        };
        let br_sibling = if configured || !self.opts.brotli_static || !media.compressible {
            None
        } else {
            self.locate_sibling(&key, &located, Coding::Br)
        };
        if let Some(entry) = self.cache.get(&key) {
            if entry.canonical == located.canonical
                && entry.identity == located.identity
                && entry.sibling_identity(Coding::Gzip) == sibling.as_ref().map(|s| s.identity)
                && entry.sibling_identity(Coding::Br) == br_sibling.as_ref().map(|s| s.identity)
            {
                entry.confirmed(ctx.now);
                self.count(|c| &c.file_cache_hits);
                return Ok(Found::Cached(key));
            }
        }
        self.count(|c| &c.file_cache_misses);
        let opened = if configured {
            resolve::open_regular(&located.canonical)
        } else {
            self.root.open_file(&located.canonical)
        };
        let (file, identity) = match opened {
            Ok(opened) => opened,
            Err(status) => {
                self.cache.remove(&key);
                return Err(status);
            }
        };
        let gzip = match sibling.and_then(|s| self.open_sibling(s, Coding::Gzip, ctx)) {
            Some(sibling) => Gzip::File(sibling),
            None if !configured
                && self.opts.gzip
                && media.compressible
                && identity.size >= self.opts.gzip_min_length
                && identity.size <= self.opts.cache_max_file =>
            {
                Gzip::Pending
            }
            None => Gzip::Unavailable,
        };
        // Brotli on the fly stays in memory: no temporary-file variants for it.
        let br = match br_sibling.and_then(|s| self.open_sibling(s, Coding::Br, ctx)) {
            Some(sibling) => Gzip::File(sibling),
            None if !configured
                && self.opts.brotli
                && media.compressible
                && identity.size >= self.opts.gzip_min_length
                && identity.size <= self.opts.cache_max_file =>
            {
                Gzip::Pending
            }
            None => Gzip::Unavailable,
        };
        let mut entry = Entry::new(
            located.canonical,
            file,
            identity,
            media,
            gzip,
            ctx.wall,
            ctx.now,
        );
        entry.br = br;
        if identity.size <= IN_MEMORY_MAX && identity.size <= self.opts.cache_max_file {
            entry.memory = read_whole(&entry.file, identity.size);
        }
        if identity.size > self.opts.cache_max_file {
            self.cache.remove(&key);
            return Ok(Found::Fresh(Box::new(entry)));
        }
        match self.cache.insert(key.clone(), entry) {
            Ok(()) => Ok(Found::Cached(key)),
            Err(entry) => Ok(Found::Fresh(entry)),
        }
    }

    /// A `<name>.gz` (or `.br`) next to the file, if it is a regular file under the
    /// root and not older than the file (an older one is a stale build artefact).
    fn locate_sibling(&self, key: &Path, file: &Located, coding: Coding) -> Option<Located> {
        let path = encoding::sibling_path(key, coding);
        let sibling =
            resolve::locate(self.root.canonical(), &path, self.opts.serve_dotfiles).ok()?;
        (sibling.kind == Kind::File && sibling.identity.mtime >= file.identity.mtime)
            .then_some(sibling)
    }

    /// Opens a located `.gz` or `.br` sibling; a sibling that vanished or cannot be
    /// read simply means compressing on demand (or identity) instead.
    fn open_sibling(
        &self,
        located: Located,
        coding: Coding,
        ctx: &RequestContext,
    ) -> Option<GzipFile> {
        let (file, identity) = self.root.open_file(&located.canonical).ok()?;
        Some(GzipFile {
            canonical: located.canonical,
            file: Arc::new(file),
            validators: Validators::new(&identity, ctx.wall).variant(&identity, coding),
            identity,
        })
    }

    /// Drops everything cached from the old root once the configured root resolves to
    /// another directory (a symlink switched by a deploy).
    fn follow_root(&mut self, ctx: &RequestContext) {
        // Large variants are shared and keyed by canonical path and identity: the
        // new root's files never match the old root's, so they need no clearing.
        if self.root.refresh(ctx.now) {
            self.cache.clear();
        }
    }

    /// Attaches the in-memory variants the pool finished since the last request.
    fn collect_compressed(&mut self) {
        for done in self.compressor.try_collect() {
            self.attach(done);
        }
    }

    /// Waits (bounded) for every in-memory job in flight and attaches the results,
    /// and for the large variant of `rel` if one is being made: tests only, a worker
    /// never waits.
    #[cfg(test)]
    fn finish_compressions(&mut self, rel: &str) {
        let limit = std::time::Duration::from_secs(30);
        for done in self.compressor.collect_all(limit) {
            self.attach(done);
        }
        compress::wait_large(&self.root.canonical().join(rel), limit);
    }

    /// Stores a finished in-memory variant on its entry, if the entry still describes
    /// the file the job read (it may have changed, been evicted, or the root switched).
    fn attach(&mut self, done: compress::Done) {
        let Some(entry) = self.cache.get(&done.key) else {
            return;
        };
        let coding = done.coding;
        if entry.identity != done.identity || !matches!(entry.variant(coding), Gzip::Compressing) {
            return;
        }
        let validators = entry.validators.variant(&done.identity, coding);
        match done.outcome {
            compress::Outcome::Memory(body) => {
                self.cache.attach(&done.key, coding, body, validators);
            }
            compress::Outcome::Failed(err) => {
                log::debug!("{} of {} failed: {err}", coding.token(), done.key.display());
                self.cache.set_variant(&done.key, coding, Gzip::Unavailable);
            }
            compress::Outcome::NotWorthIt | compress::Outcome::TempFile { .. } => {
                self.cache.set_variant(&done.key, coding, Gzip::Unavailable)
            }
        }
    }

    /// Makes the `coding` variant of the cached entry `key` on its first request for
    /// it: at once for a small body already in memory, otherwise in the pool (this
    /// response then goes out in another acceptable coding or as identity).
    /// Afterwards the variant is reused until the file changes.
    fn ensure_variant(&mut self, key: &Path, coding: Coding) {
        let Some(entry) = self.cache.get(key) else {
            return;
        };
        if !matches!(entry.variant(coding), Gzip::Pending) {
            return;
        }
        let identity = entry.identity;
        let file = entry.file.clone();
        let validators = entry.validators.variant(&identity, coding);
        let inline_max = compress::inline_max(coding);
        let inline = entry
            .memory
            .clone()
            .filter(|m| inline_max > 0 && m.len() as u64 <= inline_max);
        if let Some(data) = inline {
            self.cache.stats.compressions += 1;
            match compress::compress_inline(&data, &identity, coding) {
                // Only a smaller body is worth a second representation.
                Ok(packed) if (packed.len() as u64) < identity.size => {
                    self.cache
                        .attach(key, coding, Bytes::from(packed), validators);
                }
                Ok(_) => self.cache.set_variant(key, coding, Gzip::Unavailable),
                Err(err) => {
                    log::debug!("{} of {} failed: {err}", coding.token(), key.display());
                    self.cache.set_variant(key, coding, Gzip::Unavailable);
                }
            }
            return;
        }
        // No room in the pool or the budget: stay Pending, a later request retries.
        if self.compressor.submit_memory(key, &file, identity, coding) {
            self.cache.stats.compressions += 1;
            self.cache.set_variant(key, coding, Gzip::Compressing);
        }
    }

    /// The gzip variant of a file too large for the cache, made into a temporary file
    /// in the pool on first demand (identity is served until it is ready).
    fn large_gzip(&mut self, entry: &mut Entry, ctx: &RequestContext) {
        if !matches!(entry.gzip, Gzip::Unavailable)
            || !self.opts.gzip
            || !entry.media.compressible
            || entry.identity.size > self.opts.gzip_max_file
            || entry.identity.size < self.opts.gzip_min_length
        {
            return;
        }
        if let Some(variant) =
            self.compressor
                .large_variant(&entry.canonical, &entry.file, entry.identity, ctx.wall)
        {
            entry.gzip = Gzip::File(variant);
        }
    }

    /// `prefs`: the codings the client accepts over identity, best first (already
    /// limited to the ones configured).
    fn select(&mut self, found: Found, prefs: &[Coding], ctx: &RequestContext) -> Option<Selected> {
        let compressing = self.opts.gzip || self.opts.brotli;
        match found {
            Found::Cached(key) => {
                // Every acceptable coding is started, so a client that prefers one
                // still being made gets its second choice meanwhile.
                for &coding in prefs {
                    self.ensure_variant(&key, coding);
                }
                let entry = self.cache.get(&key)?;
                Some(Selected::from_entry(entry, prefs, compressing))
            }
            Found::Fresh(mut entry) => {
                if prefs.contains(&Coding::Gzip) {
                    self.large_gzip(&mut entry, ctx);
                }
                Some(Selected::from_entry(&entry, prefs, compressing))
            }
            Found::Directory => None,
        }
    }

    /// §13.2.2 from step 1 on, then the response itself. `ranged`: the request has a
    /// `Range` field.
    fn respond(
        &mut self,
        req: &Request,
        head: bool,
        ranged: bool,
        sel: &mut Selected,
        cache_control: Option<HeaderValue>,
        ctx: &RequestContext,
    ) -> Response {
        let etag = sel.validators.etag.to_str().unwrap_or_default();
        match conditional::evaluate(req.headers(), etag, sel.validators.modified) {
            Precondition::Proceed => {}
            Precondition::NotModified => {
                let mut resp = Response::new(Body::Empty);
                *resp.status_mut() = StatusCode::NOT_MODIFIED;
                headers::validators(resp.headers_mut(), &sel.validators, sel.vary);
                // RFC 9110 §15.4.5: a 304 carries the Cache-Control the 200 would.
                headers::cache_control(resp.headers_mut(), cache_control);
                return self.secured(resp);
            }
            Precondition::Failed => return self.error(StatusCode::PRECONDITION_FAILED, ctx),
        }
        // §14.2 defines Range for GET; HEAD answers with the headers GET would get
        // (§9.3.2), so it is evaluated the same way. gzip is never chosen with Range.
        let outcome = if sel.coding.is_some() || !ranged {
            RangeOutcome::Full
        } else {
            range::evaluate(req.headers(), sel.len, &sel.validators, ctx.wall)
        };
        let (status, start, len) = match outcome {
            RangeOutcome::Full => (StatusCode::OK, 0, sel.len),
            RangeOutcome::Partial { start, len } => (StatusCode::PARTIAL_CONTENT, start, len),
            RangeOutcome::Unsatisfiable => {
                let mut resp = self.error(StatusCode::RANGE_NOT_SATISFIABLE, ctx);
                headers::unsatisfied_range(resp.headers_mut(), sel.len);
                return resp;
            }
        };
        let mut resp = Response::new(if head {
            Body::Empty
        } else {
            sel.body(start, len)
        });
        *resp.status_mut() = status;
        match sel.head.take() {
            Some(t) if status == StatusCode::OK && !head => {
                if self.aside.is_some() && t.h1.is_some() {
                    // The map stays empty: fields set later follow the template's.
                    self.aside = Some(PreEncoded::new(t));
                } else {
                    *resp.headers_mut() = HeaderMap::clone(&t.fields);
                }
            }
            _ => {
                *resp.headers_mut() =
                    build_head(&self.opts, sel, (status, start, len), cache_control, head)
            }
        }
        resp
    }

    /// RFC 9110 §9.3.7: `OPTIONS *` describes the server, which always answers; an
    /// OPTIONS for a path describes that resource, so a missing one is 404 like GET
    /// (same rules, same status: resolving never reveals more than GET would).
    fn options(&mut self, req: &Request, ctx: &RequestContext) -> Response {
        if req.uri().path() == "*" {
            return self.secured(headers::options());
        }
        let target = match resolve::parse_target(req.uri().path(), self.opts.serve_dotfiles) {
            Ok(target) => target,
            Err(status) => return self.error(status, ctx),
        };
        match resolve::locate(self.root.canonical(), &target.rel, self.opts.serve_dotfiles) {
            // `/file/` names nothing: GET would look for `file/index` and find none.
            Ok(located) if target.directory && located.kind == Kind::File => {
                self.error(StatusCode::NOT_FOUND, ctx)
            }
            Ok(_) => self.secured(headers::options()),
            Err(status) => self.error(status, ctx),
        }
    }

    /// The configured 404 page, read through the cache, or `None` to fall back to the
    /// default text.
    fn custom_not_found(&mut self, ctx: &RequestContext) -> Option<Response> {
        let page = self.opts.error_page_404.clone()?;
        let configured = page.is_absolute();
        let found = self.lookup(page, configured, ctx).ok()?;
        let sel = self.select(found, &[], ctx)?;
        let mut resp = Response::new(sel.body(0, sel.len));
        *resp.status_mut() = StatusCode::NOT_FOUND;
        resp.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(sel.content_type));
        Some(self.secured(resp))
    }
}

/// How many fields a 200 can carry: the representation's (Content-Type, ETag,
/// Last-Modified, Vary, Accept-Ranges, Content-Encoding, Content-Range,
/// Cache-Control, Content-Length), the configured ones, and the driver's `Date`
/// and `Server`.
fn head_fields(opts: &FileOptions) -> usize {
    11 + opts.security_headers.len() + opts.header_set.len() + opts.header_add.len()
}

/// The security headers, then the operator's `header_*` rules.
fn secure_fields(opts: &FileOptions, h: &mut HeaderMap) {
    headers::secure(h, &opts.security_headers);
    headers::configured(h, &opts.header_remove, &opts.header_set, &opts.header_add);
}

/// The fields of a 200 or 206 of `sel` (`range`: status, first byte, length), for
/// HEAD or GET: the one place they are built, for a response or a template.
fn build_head(
    opts: &FileOptions,
    sel: &Selected,
    range: (StatusCode, u64, u64),
    cache_control: Option<HeaderValue>,
    head: bool,
) -> HeaderMap {
    let (status, start, len) = range;
    // Sized for every field this response gets, so the map is allocated once
    // instead of growing (and rehashing) as the fields go in.
    let mut h = HeaderMap::with_capacity(head_fields(opts));
    headers::representation(
        &mut h,
        sel.content_type,
        &sel.validators,
        sel.vary,
        sel.coding.map(Coding::token),
    );
    if status == StatusCode::PARTIAL_CONTENT {
        headers::content_range(&mut h, start, len, sel.len);
    }
    headers::cache_control(&mut h, cache_control);
    if head {
        headers::head_length(&mut h, len);
    }
    secure_fields(opts, &mut h);
    h
}

impl FileService {
    /// GET, HEAD and OPTIONS of the document root's files (the whole of
    /// [`Service::call`]).
    fn serve(&mut self, req: &Request, ctx: &RequestContext) -> Response {
        self.follow_root(ctx);
        self.collect_compressed();
        let head = match *req.method() {
            Method::GET => false,
            Method::HEAD => true,
            Method::OPTIONS => return self.options(req, ctx),
            // Whether or not the path exists: the method is refused for every resource.
            _ => return self.secured(headers::method_not_allowed()),
        };
        let target = match resolve::parse_target(req.uri().path(), self.opts.serve_dotfiles) {
            Ok(target) => target,
            Err(status) => return self.error(status, ctx),
        };
        // The request's path as patterns see it: only built when a pattern will look.
        let requested = self
            .opts
            .spa_fallback
            .is_some()
            .then(|| served_path(&target.rel, target.directory));
        let key = if target.directory {
            Cow::Owned(target.rel.join(&self.opts.index_file))
        } else {
            target.rel
        };
        let mut served = (!self.opts.cache_control.is_empty()).then(|| served_path(&key, false));
        // A GET with Range gets identity so the range applies to it (RFC 9110 §14.1.1
        // ranges are of the selected representation; keeping that identity makes
        // resumed downloads independent of Accept-Encoding).
        let ranged = req.headers().contains_key(RANGE);
        let prefs = if ranged {
            encoding::Prefs::default()
        } else {
            encoding::preferences(req.headers()).retain(|c| match c {
                Coding::Gzip => self.opts.gzip,
                Coding::Br => self.opts.brotli || self.opts.brotli_static,
            })
        };
        let hit_cache_control = served
            .as_deref()
            .and_then(|served| self.cache_control_for(served));
        if let Some(mut sel) = self.hit(&key, &prefs, hit_cache_control.as_ref(), ctx) {
            return self.respond(req, head, ranged, &mut sel, hit_cache_control, ctx);
        }
        let found = match self.lookup(key.into_owned(), false, ctx) {
            Ok(Found::Directory) if !target.directory => {
                return match headers::moved_to_directory(req.uri().path(), req.uri().query()) {
                    Some(resp) => self.secured(resp),
                    None => self.error(StatusCode::BAD_REQUEST, ctx),
                };
            }
            // The index name itself is a directory: no listings.
            Ok(Found::Directory) => return self.error(StatusCode::NOT_FOUND, ctx),
            Ok(found) => found,
            Err(StatusCode::NOT_FOUND) => match requested
                .as_deref()
                .and_then(|requested| self.spa_fallback(requested, ctx))
            {
                Some((found, fallback)) => {
                    served = Some(fallback);
                    found
                }
                None => return self.error(StatusCode::NOT_FOUND, ctx),
            },
            Err(status) => return self.error(status, ctx),
        };
        let cache_control = served.and_then(|served| self.cache_control_for(&served));
        match self.select(found, &prefs, ctx) {
            Some(mut sel) => self.respond(req, head, ranged, &mut sel, cache_control, ctx),
            None => self.error(StatusCode::INTERNAL_SERVER_ERROR, ctx),
        }
    }
}

impl Service for FileService {
    fn attach_counters(&mut self, counters: Arc<ServiceCounters>) {
        self.counters = Some(counters);
    }

    fn call(&mut self, req: &Request, ctx: &RequestContext) -> Response {
        self.serve(req, ctx)
    }

    /// A cached `200`'s fields stay in their template, handed over aside, and the
    /// map holds only the fields set later ([`PreEncoded`]).
    fn call_pre_encoded(
        &mut self,
        req: &Request,
        ctx: &RequestContext,
    ) -> (Response, Option<PreEncoded>) {
        self.aside = Some(None);
        let resp = self.serve(req, ctx);
        (resp, self.aside.take().flatten())
    }

    /// The methods this service refuses, it refuses for every resource: a POST
    /// (PUT, DELETE, ...) gets its 405 before its body is read, so an upload to a
    /// static site costs one head, not the whole body.
    fn early_response(
        &mut self,
        head: &http::Request<()>,
        _ctx: &RequestContext,
    ) -> Option<Response> {
        match *head.method() {
            Method::GET | Method::HEAD | Method::OPTIONS => None,
            _ => Some(self.secured(headers::method_not_allowed())),
        }
    }

    fn error(&mut self, status: StatusCode, ctx: &RequestContext) -> Response {
        if status == StatusCode::NOT_FOUND {
            if let Some(resp) = self.custom_not_found(ctx) {
                return resp;
            }
        }
        self.secured(error_response(status))
    }
}
