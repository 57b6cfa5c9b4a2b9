//! Spare allocations kept per worker thread between requests: request header maps
//! and output chunk queues.
//!
//! Building an `http::HeaderMap` allocates twice (its index table and its entries)
//! and dropping it frees both; an output queue allocates its ring when a response is
//! queued on an idle connection and frees it when drained (an idle connection holds
//! no heap memory). That is six allocator calls per small keep-alive request, several
//! hundred instructions. Each comes back here instead, emptied but with its memory,
//! and the next request or response takes it.
//!
//! This changes only where memory comes from, never what an engine does, so the
//! engines stay deterministic. Bounded per thread (`limits.rs`): `SPARE_MAPS` maps of
//! at most `SPARE_MAP_FIELDS` fields, `SPARE_QUEUES` queues of at most
//! `SPARE_QUEUE_CHUNKS` chunks; anything larger goes back to the allocator.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::thread::LocalKey;

use http::HeaderMap;

use super::out::Chunk;
use crate::limits::{SPARE_MAPS, SPARE_MAP_FIELDS, SPARE_QUEUES, SPARE_QUEUE_CHUNKS};

type Pool<T> = RefCell<Vec<T>>;

thread_local! {
    static MAPS: Pool<HeaderMap> = const { RefCell::new(Vec::new()) };
    static QUEUES: Pool<VecDeque<Chunk>> = const { RefCell::new(Vec::new()) };
}

fn take<T>(pool: &'static LocalKey<Pool<T>>) -> Option<T> {
    pool.with_borrow_mut(Vec::pop)
}

fn give<T>(pool: &'static LocalKey<Pool<T>>, item: T, max: usize) {
    pool.with_borrow_mut(|spare| {
        if spare.len() < max {
            spare.push(item);
        }
    });
}

/// An empty header map: a spare one if the thread has one, else a new one sized for
/// `fields` (a spare map grows as usual if the request has more).
pub fn header_map(fields: usize) -> HeaderMap {
    take(&MAPS).unwrap_or_else(|| HeaderMap::with_capacity(fields))
}

/// Gives a finished request's map back for the next request.
// Called by the driver only.
#[cfg_attr(not(feature = "driver"), allow(dead_code))]
pub fn give_header_map(mut map: HeaderMap) {
    // `capacity` counts distinct names; values repeated under one name live in a
    // second vector that `clear` keeps too, so the values are counted as well (an
    // HTTP/2 request may carry thousands of `a: b` within its header list size).
    if map.capacity() > SPARE_MAP_FIELDS || map.len() > SPARE_MAP_FIELDS {
        return;
    }
    // Dropping the values now, as dropping the map would have.
    map.clear();
    give(&MAPS, map, SPARE_MAPS);
}

/// Gives back the map of a request whose response is queued.
#[cfg_attr(not(feature = "driver"), allow(dead_code))]
pub fn recycle_request<B>(request: http::Request<B>) {
    give_header_map(request.into_parts().0.headers);
}

/// An empty chunk queue, with room for a few chunks when the thread has a spare one.
pub fn chunk_queue() -> VecDeque<Chunk> {
    take(&QUEUES).unwrap_or_default()
}

/// Gives back a drained queue's ring (a queue that still holds chunks is dropped).
pub fn give_chunk_queue(queue: VecDeque<Chunk>) {
    if queue.capacity() == 0 || queue.capacity() > SPARE_QUEUE_CHUNKS || !queue.is_empty() {
        return;
    }
    give(&QUEUES, queue, SPARE_QUEUES);
}

#[cfg(test)]
pub(crate) fn spare_counts() -> (usize, usize) {
    (MAPS.with_borrow(Vec::len), QUEUES.with_borrow(Vec::len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::header::{ACCEPT, HOST};

    #[test]
    fn a_recycled_map_comes_back_empty_with_its_memory() {
        let mut map = header_map(4);
        map.append(HOST, "a".parse().unwrap());
        map.append(ACCEPT, "*/*".parse().unwrap());
        let capacity = map.capacity();
        let before = spare_counts().0;
        give_header_map(map);
        assert_eq!(spare_counts().0, before + 1);
        let again = header_map(1);
        assert!(
            again.is_empty(),
            "a spare map carries no fields of the last request"
        );
        assert_eq!(again.capacity(), capacity);
        assert_eq!(spare_counts().0, before);
    }

    #[test]
    fn maps_are_bounded_in_number_and_size() {
        let before = spare_counts().0;
        give_header_map(HeaderMap::with_capacity(SPARE_MAP_FIELDS * 4));
        assert_eq!(
            spare_counts().0,
            before,
            "a map grown past the bound is not kept"
        );
        let mut repeated = HeaderMap::new();
        for _ in 0..SPARE_MAP_FIELDS * 4 {
            repeated.append(ACCEPT, "*/*".parse().unwrap());
        }
        assert!(
            repeated.capacity() <= SPARE_MAP_FIELDS,
            "one name, many values"
        );
        give_header_map(repeated);
        assert_eq!(
            spare_counts().0,
            before,
            "nor one holding many values of one name"
        );
        for _ in 0..SPARE_MAPS * 2 {
            give_header_map(HeaderMap::with_capacity(2));
        }
        assert_eq!(spare_counts().0, SPARE_MAPS);
    }

    #[test]
    fn queues_are_kept_only_drained_and_small() {
        let (_, before) = spare_counts();
        let mut holding = chunk_queue();
        holding.push_back(Chunk::Bytes(Bytes::from_static(b"x")));
        give_chunk_queue(holding);
        assert_eq!(spare_counts().1, before, "a queue with chunks is not kept");
        give_chunk_queue(VecDeque::with_capacity(SPARE_QUEUE_CHUNKS * 4));
        assert_eq!(
            spare_counts().1,
            before,
            "a queue grown past the bound is not kept"
        );
        give_chunk_queue(VecDeque::new());
        assert_eq!(
            spare_counts().1,
            before,
            "an empty ring has no memory to keep"
        );
        for _ in 0..SPARE_QUEUES * 2 {
            give_chunk_queue(VecDeque::with_capacity(4));
        }
        assert_eq!(spare_counts().1, SPARE_QUEUES);
        assert!(chunk_queue().capacity() >= 4);
    }
}
