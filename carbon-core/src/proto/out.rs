//! The output queue shared by the engines: what a connection still has to send.
//!
//! An engine appends response heads and bodies; the driver drains the front with
//! `writev` (in-memory chunks) or `sendfile`/`pread` (file regions) and reports how much
//! went out with [`OutQueue::advance`].

use std::collections::VecDeque;

use bytes::Bytes;

use crate::service::FileRegion;

/// One piece of pending output.
#[derive(Debug, Clone)]
pub enum Chunk {
    Bytes(Bytes),
    File(FileRegion),
}

impl Chunk {
    pub fn len(&self) -> u64 {
        match self {
            Chunk::Bytes(b) => b.len() as u64,
            Chunk::File(f) => f.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// FIFO of output chunks. Empty chunks are never stored.
#[derive(Debug, Default)]
pub struct OutQueue {
    chunks: VecDeque<Chunk>,
    /// Bytes held in memory (file regions are not counted: they are references).
    mem_bytes: usize,
    total: u64,
}

impl OutQueue {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push_bytes(&mut self, b: Bytes) {
        if b.is_empty() {
            return;
        }
        self.mem_bytes += b.len();
        self.total += b.len() as u64;
        self.push(Chunk::Bytes(b));
    }

    fn push(&mut self, chunk: Chunk) {
        if self.chunks.capacity() == 0 {
            self.chunks = super::spare::chunk_queue();
        }
        self.chunks.push_back(chunk);
    }

    pub fn push_file(&mut self, f: FileRegion) {
        if f.len == 0 {
            return;
        }
        self.total += f.len;
        self.push(Chunk::File(f));
    }

    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    /// Bytes held in memory, for backpressure decisions.
    pub fn mem_bytes(&self) -> usize {
        self.mem_bytes
    }

    /// Everything still to send, file regions included.
    pub fn total(&self) -> u64 {
        self.total
    }

    pub fn front(&self) -> Option<&Chunk> {
        self.chunks.front()
    }

    /// The chunks in order, for gathering several in-memory ones into one `writev`.
    pub fn iter(&self) -> impl Iterator<Item = &Chunk> {
        self.chunks.iter()
    }

    /// Record that `n` bytes from the front went out.
    pub fn advance(&mut self, mut n: u64) {
        while n > 0 {
            let Some(front) = self.chunks.front_mut() else {
                return;
            };
            let len = front.len();
            if n >= len {
                if let Chunk::Bytes(b) = front {
                    self.mem_bytes -= b.len();
                }
                self.total -= len;
                n -= len;
                self.chunks.pop_front();
            } else {
                match front {
                    Chunk::Bytes(b) => {
                        let _ = b.split_to(n as usize);
                        self.mem_bytes -= n as usize;
                    }
                    Chunk::File(f) => {
                        f.offset += n;
                        f.len -= n;
                    }
                }
                self.total -= n;
                n = 0;
            }
        }
        if self.chunks.is_empty() && self.chunks.capacity() > 0 {
            // An idle keep-alive connection should hold no heap memory: a few hundred
            // bytes per connection is the difference between 10k idle clients fitting
            // in 4 MiB or in 6 MiB. The ring goes to the thread's spares, for the
            // next response on any connection.
            super::spare::give_chunk_queue(std::mem::take(&mut self.chunks));
        }
    }

    /// Moves `other`'s chunks behind this queue's (a protocol switch: the new
    /// engine's output follows the old one's last message).
    pub fn append(&mut self, mut other: OutQueue) {
        self.mem_bytes += other.mem_bytes;
        self.total += other.total;
        self.chunks.append(&mut other.chunks);
    }

    pub fn clear(&mut self) {
        self.chunks.clear();
        super::spare::give_chunk_queue(std::mem::take(&mut self.chunks));
        self.mem_bytes = 0;
        self.total = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_across_chunks_keeps_totals() {
        let mut q = OutQueue::new();
        q.push_bytes(Bytes::from_static(b"abc"));
        q.push_bytes(Bytes::new());
        q.push_bytes(Bytes::from_static(b"defg"));
        assert_eq!(q.total(), 7);
        q.advance(4);
        assert_eq!(q.total(), 3);
        assert_eq!(q.mem_bytes(), 3);
        match q.front() {
            Some(Chunk::Bytes(b)) => assert_eq!(&b[..], b"efg"),
            other => panic!("unexpected front {other:?}"),
        }
        q.advance(3);
        assert!(q.is_empty());
        assert_eq!(q.mem_bytes(), 0);
        assert_eq!(
            q.chunks.capacity(),
            0,
            "a drained queue keeps no allocation"
        );
    }
}
