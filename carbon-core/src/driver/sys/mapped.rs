//! Plain HTTP/2 output sent straight from memory mappings of the files it carries.
//!
//! An h2c file body is a train of 16 KiB DATA frames, each a 9-byte head and a file
//! region, and one `write` should carry a whole TCP packet of them (`transport.rs`,
//! `gather_limit`). Read with `pread` into a buffer first, every byte is copied twice
//! on its way to the socket (page cache to buffer, buffer to socket) and every frame
//! costs a system call; given to `sendmsg` as an iovec into a mapping of the file, it
//! is copied once, by the kernel, and a packet's frames cost one call. Measured in
//! docs/performance.md ("HTTP/2, seventh round").
//!
//! A mapping is never read from user space: no Rust reference to its memory is ever
//! made, only its address is handed to the kernel. That is what makes it safe against
//! a file truncated while it is sent: a process touching a mapped page beyond the new
//! end of file gets `SIGBUS`, but the kernel's own copy in `sendmsg` only faults and
//! the call fails with `EFAULT` (or returns what it copied before). And so that no
//! byte past a new end of file is sent (the page holding it reads as zeros after it),
//! [`send_front`] reads the size of each file it sends once per write and cuts its
//! regions there: a
//! truncated file ends its response with the error `pread` coming up short gives.
//!
//! Mappings live in a small table per worker thread ([`DRIVER_MAPPED_FILES`] files of
//! at most [`DRIVER_MAPPED_FILE_MAX`] bytes, least recently used evicted), each
//! holding its `Arc<File>`; a file the open-file cache and every queue have let go of
//! is unmapped within a second ([`release_unused`]), so a deleted file's space is not
//! held for long. Mapped pages are the page cache's own: they add nothing to the
//! memory in use, though `ps` counts those touched in the worker's RSS.
#![allow(unsafe_code)]

use std::cell::RefCell;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::ptr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::libc;

use crate::limits::{DRIVER_MAPPED_FILES, DRIVER_MAPPED_FILE_MAX};
use crate::proto::out::{Chunk, OutQueue};
use crate::service::FileRegion;

/// Iovecs in one `sendmsg`: a 64 KiB packet of 16 KiB DATA frames needs about ten,
/// of small frames more; the kernel takes up to 1,024 (`UIO_MAXIOV`).
const IOV_MAX: usize = 64;

/// A read-only shared mapping of a whole file, unmapped when dropped.
struct Mapping {
    addr: *mut libc::c_void,
    len: usize,
}

impl Mapping {
    /// Maps the first `size` bytes of `file` (its size just read); `None` when the
    /// kernel refuses.
    fn of(file: &File, size: usize) -> Option<Mapping> {
        // SAFETY: no address hint, a length the file has, read-only and shared, on a
        // descriptor borrowed (so open) for the call; a failure is `MAP_FAILED`,
        // checked below. The memory is only ever given to the kernel (see the module
        // comment), so no Rust reference to it exists that a truncation could break.
        let addr = unsafe {
            libc::mmap(
                ptr::null_mut(),
                size,
                libc::PROT_READ,
                libc::MAP_SHARED,
                file.as_fd().as_raw_fd(),
                0,
            )
        };
        (addr != libc::MAP_FAILED).then_some(Mapping { addr, len: size })
    }

    /// The address of `len` bytes at `offset`, if the mapping holds them.
    fn slice(&self, offset: u64, len: usize) -> Option<*mut libc::c_void> {
        let offset = usize::try_from(offset).ok()?;
        (offset.checked_add(len)? <= self.len).then(|| self.addr.wrapping_byte_add(offset))
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `addr` and `len` are exactly what `mmap` returned, and this is the
        // one place they are unmapped. Iovecs into the mapping live only within one
        // `send_front` call, which never drops a mapping it has pointed into.
        unsafe {
            libc::munmap(self.addr, self.len);
        }
    }
}

struct Entry {
    file: Arc<File>,
    /// `Err(size)`: the kernel refused to map the file at that size; tried again only
    /// once the size has changed, so a file that cannot be mapped costs no `mmap` per
    /// write.
    map: Result<Mapping, usize>,
}

/// The worker's mappings.
struct Table {
    /// Most recently used first.
    entries: Vec<Entry>,
    /// When [`release_unused`] last looked.
    swept: Option<Instant>,
}

thread_local! {
    static TABLE: RefCell<Table> = const {
        RefCell::new(Table {
            entries: Vec::new(),
            swept: None,
        })
    };
}

/// How often [`release_unused`] looks for files nothing else holds: a deleted file's
/// space comes back within this, and a busy worker does not scan its table every turn.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// The address of `len` bytes of `file` (of `size` bytes now, at most
/// [`DRIVER_MAPPED_FILE_MAX`]) at `offset` in its mapping, mapping it first if needed.
/// `pinned`: this call already points into mappings, so none may be dropped. `None`:
/// not mappable, or only by dropping one of those.
fn address(
    table: &mut Vec<Entry>,
    file: &Arc<File>,
    size: usize,
    offset: u64,
    len: usize,
    pinned: bool,
) -> Option<*mut libc::c_void> {
    if let Some(i) = table.iter().position(|e| Arc::ptr_eq(&e.file, file)) {
        table[..=i].rotate_right(1);
        let entry = &mut table[0];
        if let Some(addr) = entry.map.as_ref().ok().and_then(|m| m.slice(offset, len)) {
            return Some(addr);
        }
        if pinned || entry.map.as_ref().err() == Some(&size) {
            return None;
        }
        // Grown since it was mapped: map it as it is now.
        entry.map = Mapping::of(file, size).ok_or(size);
    } else {
        if table.len() >= DRIVER_MAPPED_FILES {
            if pinned {
                return None;
            }
            table.pop();
        }
        let entry = Entry {
            file: Arc::clone(file),
            map: Mapping::of(file, size).ok_or(size),
        };
        table.insert(0, entry);
    }
    table[0]
        .map
        .as_ref()
        .ok()
        .and_then(|m| m.slice(offset, len))
}

/// A file region the file no longer reaches (also `transport.rs`'s `pread` path).
pub(crate) fn truncated() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "file truncated while sending")
}

/// File sizes read (`fstat`) in one [`send_front`] call: a write interleaving the
/// frames of a few files (RFC 9218 incremental streams take turns) reads each once.
struct Sizes {
    seen: [(*const File, u64); 4],
    next: usize,
}

impl Sizes {
    fn of(&mut self, file: &Arc<File>) -> io::Result<u64> {
        let key = Arc::as_ptr(file);
        if let Some((_, size)) = self.seen.iter().find(|(f, _)| ptr::eq(*f, key)) {
            return Ok(*size);
        }
        let size = file.metadata()?.len();
        self.seen[self.next % self.seen.len()] = (key, size);
        self.next += 1;
        Ok(size)
    }
}

/// Why a file region gives no iovec.
enum Stop {
    /// The file no longer reaches the region: the truncation error.
    Truncated,
    /// It cannot be mapped now (too large, refused, its size unreadable, or the table
    /// would have to drop a mapping this write points into).
    Unmapped,
}

/// The iovec for up to `len` bytes of region `r`, cut at the file's current size:
/// its address, its length, and whether the region goes on past the end of the file.
fn region_iovec(
    table: &mut Vec<Entry>,
    sizes: &mut Sizes,
    r: &FileRegion,
    len: usize,
    pinned: bool,
) -> Result<(*mut libc::c_void, usize, bool), Stop> {
    let size = sizes.of(&r.file).map_err(|_| Stop::Unmapped)?;
    if r.offset >= size {
        return Err(Stop::Truncated);
    }
    let left = usize::try_from(size - r.offset).unwrap_or(usize::MAX);
    let mappable = usize::try_from(size)
        .ok()
        .filter(|&size| size <= DRIVER_MAPPED_FILE_MAX)
        .ok_or(Stop::Unmapped)?;
    let cut = left < len;
    let len = len.min(left);
    let addr = address(table, &r.file, mappable, r.offset, len, pinned).ok_or(Stop::Unmapped)?;
    Ok((addr, len, cut))
}

/// Sends up to `limit` bytes from the front of `out` with one `sendmsg`: in-memory
/// chunks from where they are, file regions from their mappings. Nothing is consumed;
/// the caller `advance`s by what was sent. Returns the result and the bytes offered,
/// or `None` when the first file region in reach cannot be mapped (or its size read):
/// the caller then reads the front with `pread`, heads and file together.
///
/// Each file's size is read (`fstat`) once per call and its regions are cut there: a
/// mapping's last page reads as zeros beyond a new end of file, so without the check a
/// file truncated in the middle of that page would be sent padded with zeros, as a
/// well-framed response. A region the file no longer reaches is the truncation error
/// `pread` gives. (A truncation between the `fstat` and the `sendmsg` is the one case
/// left to the kernel: `EFAULT`, or a short write the write-stall timeout ends.) A
/// write that stops at a region it cannot send ends after the last region it has, so
/// the frame heads queued before that region wait to leave with it.
pub(crate) fn send_front(
    sock: &impl AsFd,
    out: &OutQueue,
    limit: usize,
) -> Option<(io::Result<usize>, usize)> {
    TABLE.with(|table| {
        let table = &mut table.borrow_mut().entries;
        let mut iov = [libc::iovec {
            iov_base: ptr::null_mut(),
            iov_len: 0,
        }; IOV_MAX];
        let mut sizes = Sizes {
            seen: [(ptr::null(), 0); 4],
            next: 0,
        };
        let (mut n, mut total) = (0, 0);
        // Iovecs and bytes up to the end of the last file region taken.
        let mut with_files: Option<(usize, usize)> = None;
        for chunk in out.iter() {
            if n == IOV_MAX || total == limit {
                break;
            }
            let len = usize::try_from(chunk.len())
                .unwrap_or(usize::MAX)
                .min(limit - total);
            let (base, len, cut) = match chunk {
                Chunk::Bytes(b) => (b.as_ptr().cast_mut().cast(), len, false),
                Chunk::File(r) => {
                    match (
                        region_iovec(table, &mut sizes, r, len, with_files.is_some()),
                        with_files,
                    ) {
                        (Ok(found), _) => found,
                        (Err(_), Some(kept)) => {
                            (n, total) = kept;
                            break;
                        }
                        (Err(Stop::Truncated), None) => return Some((Err(truncated()), 0)),
                        (Err(Stop::Unmapped), None) => return None,
                    }
                }
            };
            iov[n] = libc::iovec {
                iov_base: base,
                iov_len: len,
            };
            n += 1;
            total += len;
            if matches!(chunk, Chunk::File(_)) {
                with_files = Some((n, total));
            }
            if cut {
                // The rest of the region is past the end of the file: the next call
                // reports it.
                break;
            }
        }
        if n == 0 {
            return Some((Ok(0), 0));
        }
        Some((send(sock, &iov[..n]), total))
    })
}

/// `sendmsg(fd, iov, MSG_NOSIGNAL)`; `EFAULT` (a mapped file truncated under us)
/// becomes `UnexpectedEof`.
fn send(sock: &impl AsFd, iov: &[libc::iovec]) -> io::Result<usize> {
    // SAFETY: an all-zero `msghdr` is valid (no address, no control data); only the
    // iovec fields are set, to `iov`, which outlives the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov.as_ptr().cast_mut();
    msg.msg_iovlen = iov.len() as _;
    // SAFETY: the descriptor is borrowed, so open. Each iovec points either into a
    // `Bytes` of the output queue, borrowed by `send_front` for the call, or into a
    // live mapping of the thread's table, which `send_front` holds borrowed and never
    // shrinks once it points into it; the kernel only reads them.
    let rc = unsafe { libc::sendmsg(sock.as_fd().as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
    match usize::try_from(rc) {
        Ok(sent) => Ok(sent),
        Err(_) => {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EFAULT) {
                Err(truncated())
            } else {
                Err(e)
            }
        }
    }
}

/// Unmaps the files nothing but this table still holds (the open-file cache let go
/// of them and no queue refers to them), closing their descriptors. Called every
/// worker turn; looks at most once per [`SWEEP_EVERY`], and not at all while the
/// table is empty.
pub(crate) fn release_unused(now: Instant) {
    TABLE.with(|table| {
        let Ok(mut table) = table.try_borrow_mut() else {
            return;
        };
        if table.entries.is_empty() || table.swept.is_some_and(|s| now < s + SWEEP_EVERY) {
            return;
        }
        table.swept = Some(now);
        table.entries.retain(|e| Arc::strong_count(&e.file) > 1);
    });
}

/// Files mapped by this thread, for tests.
#[cfg(test)]
pub(crate) fn mapped_files() -> usize {
    TABLE.with(|table| {
        let table = table.borrow();
        table.entries.iter().filter(|e| e.map.is_ok()).count()
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a test failure
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;

    fn file(len: usize) -> Arc<File> {
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&data).unwrap();
        Arc::new(f)
    }

    fn region(file: &Arc<File>, offset: u64, len: u64) -> FileRegion {
        FileRegion {
            file: Arc::clone(file),
            offset,
            len,
        }
    }

    /// Sends the whole queue as the driver does (`send_front`, then `advance`) and
    /// returns what the peer received.
    fn drain(q: &mut OutQueue, limit: usize) -> Vec<u8> {
        let (a, mut b) = UnixStream::pair().unwrap();
        let total = q.total() as usize;
        let reader = std::thread::spawn(move || {
            let mut got = vec![0u8; total];
            b.read_exact(&mut got).unwrap();
            got
        });
        while !q.is_empty() {
            let (res, offered) = send_front(&a, q, limit).unwrap();
            let sent = res.unwrap();
            assert!(sent > 0 && sent <= offered && offered <= limit);
            q.advance(sent as u64);
        }
        reader.join().unwrap()
    }

    /// RFC 9113 §6.1: DATA frames are heads and file bytes in queue order; sent from
    /// the mapping they must arrive exactly as `pread` would have read them, whatever
    /// the write size cuts.
    #[test]
    fn rfc9113_6_1_data_frames_sent_from_the_mapping_arrive_byte_exact() {
        let f = file(100_000);
        let data: Vec<u8> = (0..100_000).map(|i| (i % 251) as u8).collect();
        for limit in [65_483, 16_393, 1_000, 7] {
            let (mut q, mut wire) = (OutQueue::new(), Vec::new());
            for (i, at) in (0..100_000u64).step_by(16_384).enumerate() {
                let len = 16_384.min(100_000 - at);
                let head = Bytes::from(vec![i as u8; 9]);
                wire.extend_from_slice(&head);
                q.push_bytes(head);
                q.push_file(region(&f, at, len));
                wire.extend_from_slice(&data[at as usize..(at + len) as usize]);
            }
            assert!(drain(&mut q, limit) == wire, "limit {limit}");
        }
        assert_eq!(mapped_files(), 1, "one mapping, reused by every region");
    }

    /// A file truncated while it is sent must end the response with an error, never
    /// with a `SIGBUS` (what touching the lost pages from user space would raise) nor
    /// with bytes that are not the file's: the page holding the new end reads as
    /// zeros after it, so the region is cut at the end, and what lies beyond is the
    /// error.
    #[test]
    fn a_file_truncated_under_its_mapping_is_an_error_not_zeros_or_a_crash() {
        let f = file(64 * 1024);
        let data: Vec<u8> = (0..5000).map(|i| (i % 251) as u8).collect();
        let mut q = OutQueue::new();
        q.push_file(region(&f, 0, 4096));
        q.push_file(region(&f, 4096, 16 * 1024));
        q.push_file(region(&f, 32 * 1024, 16 * 1024));
        let (a, mut b) = UnixStream::pair().unwrap();
        let (res, _) = send_front(&a, &q, 4096).unwrap();
        assert_eq!(res.unwrap(), 4096);
        q.advance(4096);
        f.set_len(5000).unwrap();
        let (res, offered) = send_front(&a, &q, 65_536).unwrap();
        assert_eq!((res.unwrap(), offered), (904, 904), "cut at the new end");
        q.advance(904);
        let (res, offered) = send_front(&a, &q, 65_536).unwrap();
        let e = res.expect_err("the rest of the region is gone");
        assert_eq!((e.kind(), offered), (io::ErrorKind::UnexpectedEof, 0));
        let mut got = vec![0u8; 5000];
        b.read_exact(&mut got).unwrap();
        assert!(got == data, "only the file's bytes");
        // Truncated to nothing: the next region's pages are gone altogether.
        f.set_len(0).unwrap();
        let mut q = OutQueue::new();
        q.push_file(region(&f, 32 * 1024, 16 * 1024));
        let e = send_front(&a, &q, 65_536).unwrap().0.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    }

    /// Between the size check and the send, a truncation is caught by the kernel:
    /// `EFAULT`, never `SIGBUS`.
    #[test]
    fn a_page_gone_under_the_iovec_is_efault_reported_as_truncation() {
        let f = file(64 * 1024);
        let map = Mapping::of(&f, 64 * 1024).unwrap();
        f.set_len(0).unwrap();
        let iov = [libc::iovec {
            iov_base: map.slice(32 * 1024, 4096).unwrap(),
            iov_len: 4096,
        }];
        let (a, _b) = UnixStream::pair().unwrap();
        let e = send(&a, &iov).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn a_file_too_large_to_map_is_left_to_pread_heads_and_all() {
        let f = tempfile::tempfile().unwrap();
        // Sparse: no disk space, the size is all that matters.
        f.set_len(DRIVER_MAPPED_FILE_MAX as u64 + 1).unwrap();
        let f = Arc::new(f);
        let (a, _b) = UnixStream::pair().unwrap();
        let mut q = OutQueue::new();
        q.push_bytes(Bytes::from_static(b"head"));
        q.push_file(region(&f, 0, 4096));
        assert!(
            send_front(&a, &q, 65_536).is_none(),
            "the head waits to go with its region"
        );
        assert_eq!(TABLE.with(|t| t.borrow().entries.len()), 0, "takes no slot");
    }

    /// A frame head is sent with its region even when the table is full and the
    /// region's file new: a head alone would be a small packet of its own.
    #[test]
    fn a_head_and_the_region_of_a_new_file_leave_together() {
        let files: Vec<Arc<File>> = (0..=DRIVER_MAPPED_FILES).map(|_| file(1024)).collect();
        for f in &files[..DRIVER_MAPPED_FILES] {
            let mut q = OutQueue::new();
            q.push_file(region(f, 0, 1024));
            drain(&mut q, 65_536);
        }
        let (a, _b) = UnixStream::pair().unwrap();
        let mut q = OutQueue::new();
        q.push_bytes(Bytes::from(vec![0u8; 9]));
        q.push_file(region(&files[DRIVER_MAPPED_FILES], 0, 1024));
        let (res, offered) = send_front(&a, &q, 65_536).unwrap();
        assert_eq!((res.unwrap(), offered), (1033, 1033));
    }

    /// A 4 KiB file of ones, sent (so mapped), then grown by 4 KiB of twos; the queue
    /// it was sent from, empty.
    fn mapped_then_grown() -> (Arc<File>, OutQueue) {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&[1u8; 4096]).unwrap();
        let f = Arc::new(f);
        let mut q = OutQueue::new();
        q.push_file(region(&f, 0, 4096));
        assert_eq!(drain(&mut q, 65_536), vec![1u8; 4096]);
        (&*f).write_all(&[2u8; 4096]).unwrap();
        (f, q)
    }

    /// A write that stops at a region it cannot send (a file too large to map, here)
    /// ends after the last region it has: the next frame's head waits to leave with
    /// its region instead of going alone.
    #[test]
    fn a_write_stopping_at_a_region_keeps_that_regions_head_back() {
        let small = file(1024);
        let big = tempfile::tempfile().unwrap();
        big.set_len(DRIVER_MAPPED_FILE_MAX as u64 + 1).unwrap();
        let big = Arc::new(big);
        let mut q = OutQueue::new();
        q.push_bytes(Bytes::from(vec![1u8; 9]));
        q.push_file(region(&small, 0, 1024));
        q.push_bytes(Bytes::from(vec![2u8; 9]));
        q.push_file(region(&big, 0, 1024));
        let (a, _b) = UnixStream::pair().unwrap();
        let (res, offered) = send_front(&a, &q, 65_536).unwrap();
        assert_eq!((res.unwrap(), offered), (1033, 1033));
        q.advance(1033);
        assert!(
            send_front(&a, &q, 65_536).is_none(),
            "head and region: pread"
        );
        // Heads before a region the file no longer reaches: the error at once.
        let mut q = OutQueue::new();
        q.push_bytes(Bytes::from(vec![3u8; 9]));
        q.push_file(region(&small, 2048, 1024));
        let e = send_front(&a, &q, 65_536).unwrap().0.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn a_file_that_grew_is_mapped_again_at_its_new_size() {
        let (f, mut q) = mapped_then_grown();
        q.push_file(region(&f, 4096, 4096));
        assert_eq!(drain(&mut q, 65_536), vec![2u8; 4096]);
        assert_eq!(mapped_files(), 1);
    }

    /// The table holds at most `DRIVER_MAPPED_FILES` mappings, and lets go of a file
    /// within `SWEEP_EVERY` once nothing else holds it: its descriptor and, if it was
    /// deleted, its disk space are not kept.
    #[test]
    fn the_table_is_bounded_and_unmaps_what_nothing_else_holds() {
        let files: Vec<Arc<File>> = (0..DRIVER_MAPPED_FILES + 4).map(|_| file(8192)).collect();
        for f in &files {
            let mut q = OutQueue::new();
            q.push_file(region(f, 0, 8192));
            drain(&mut q, 65_536);
        }
        assert_eq!(mapped_files(), DRIVER_MAPPED_FILES);
        let t0 = Instant::now();
        release_unused(t0);
        assert_eq!(mapped_files(), DRIVER_MAPPED_FILES, "all still held");
        let kept = files[DRIVER_MAPPED_FILES + 3].clone();
        drop(files);
        release_unused(t0 + SWEEP_EVERY / 2);
        assert_eq!(
            mapped_files(),
            DRIVER_MAPPED_FILES,
            "not looked at again yet"
        );
        release_unused(t0 + SWEEP_EVERY);
        assert_eq!(mapped_files(), 1, "only the file still held elsewhere");
        drop(kept);
    }

    /// A mapping this write already points into is never replaced or evicted (that
    /// would hand the kernel unmapped memory): a region of a file that grew past its
    /// mapping, after a region of the same file in the same write, waits for the next
    /// write, which maps the file again.
    #[test]
    fn a_mapping_the_write_points_into_is_never_replaced() {
        let (f, mut q) = mapped_then_grown();
        q.push_file(region(&f, 0, 4096));
        q.push_file(region(&f, 4096, 4096));
        let (a, _b) = UnixStream::pair().unwrap();
        let (res, offered) = send_front(&a, &q, 65_536).unwrap();
        assert_eq!(
            (res.unwrap(), offered),
            (4096, 4096),
            "stops before the remap"
        );
        q.advance(4096);
        assert_eq!(drain(&mut q, 65_536), vec![2u8; 4096]);
    }
}
