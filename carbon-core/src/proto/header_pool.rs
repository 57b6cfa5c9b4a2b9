//! Spare request header maps, kept per worker thread between requests.
//!
//! Building an `http::HeaderMap` allocates twice (its index table and its entries)
//! and dropping it frees both: four allocator calls per request, several hundred
//! instructions on the small-file path. A request's map comes back here when its
//! response is queued (`recycle`), emptied but with its memory, and the next request
//! takes it (`take`).
//!
//! This changes only where a map's memory comes from, never what an engine does, so
//! the engines stay deterministic. Bounded by `HEADER_POOL_MAPS` maps of at most
//! `HEADER_POOL_MAP_FIELDS` fields each (`limits.rs`).

use crate::limits::{HEADER_POOL_MAPS, HEADER_POOL_MAP_FIELDS};
use http::HeaderMap;
use std::cell::RefCell;

thread_local! {
    static SPARE: RefCell<Vec<HeaderMap>> = const { RefCell::new(Vec::new()) };
}

/// An empty map: a spare one if the thread has one, else a new one sized for
/// `fields` (a spare map grows as usual if the request has more).
pub fn take(fields: usize) -> HeaderMap {
    SPARE
        .with_borrow_mut(Vec::pop)
        .unwrap_or_else(|| HeaderMap::with_capacity(fields))
}

/// Gives a finished request's map back for the next request.
pub fn give(mut map: HeaderMap) {
    if map.capacity() > HEADER_POOL_MAP_FIELDS {
        return;
    }
    // Dropping the values now, as dropping the map would have.
    map.clear();
    SPARE.with_borrow_mut(|spare| {
        if spare.len() < HEADER_POOL_MAPS {
            spare.push(map);
        }
    });
}

/// Gives back the map of a request whose response is queued.
pub fn recycle<B>(request: http::Request<B>) {
    give(request.into_parts().0.headers);
}

/// Maps kept by this thread now.
#[cfg(test)]
fn spare_count() -> usize {
    SPARE.with_borrow(Vec::len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::{ACCEPT, HOST};

    #[test]
    fn a_recycled_map_comes_back_empty_with_its_memory() {
        let mut map = take(4);
        map.append(HOST, "a".parse().unwrap());
        map.append(ACCEPT, "*/*".parse().unwrap());
        let capacity = map.capacity();
        let before = spare_count();
        give(map);
        assert_eq!(spare_count(), before + 1);
        let again = take(1);
        assert!(
            again.is_empty(),
            "a spare map carries no fields of the last request"
        );
        assert_eq!(again.capacity(), capacity);
        assert_eq!(spare_count(), before);
    }

    #[test]
    fn the_pool_is_bounded_in_maps_and_in_map_size() {
        let big = HeaderMap::with_capacity(HEADER_POOL_MAP_FIELDS * 4);
        let before = spare_count();
        give(big);
        assert_eq!(
            spare_count(),
            before,
            "a map grown past the bound is not kept"
        );
        for _ in 0..HEADER_POOL_MAPS * 2 {
            give(HeaderMap::with_capacity(2));
        }
        assert_eq!(spare_count(), HEADER_POOL_MAPS);
    }
}
