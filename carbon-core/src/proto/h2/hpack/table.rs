//! The static table (RFC 7541 §2.3.1, Appendix A) and the dynamic table (§2.3.2, §4).
//!
//! Index space (§2.3.3): 1 to 61 are the static table, 62 onwards the dynamic table,
//! newest entry first. The dynamic table counts each entry as name + value + 32 octets
//! (§4.1) and evicts oldest entries first to make room (§4.4); an entry larger than the
//! whole table empties it and is not added.

use std::collections::VecDeque;

use super::error::DecodeError;

/// Per-entry overhead of RFC 7541 §4.1 (an estimate of two pointers and two lengths).
pub const ENTRY_OVERHEAD: usize = 32;

/// Entries in the static table.
pub const STATIC_LEN: usize = 61;

/// RFC 7541 Appendix A, typed from the RFC as data; index `i + 1` is `STATIC[i]`.
#[rustfmt::skip]
pub const STATIC: [(&[u8], &[u8]); STATIC_LEN] = [
    (b":authority", b""), // 1
    (b":method", b"GET"), // 2
    (b":method", b"POST"), // 3
    (b":path", b"/"), // 4
    (b":path", b"/index.html"), // 5
    (b":scheme", b"http"), // 6
    (b":scheme", b"https"), // 7
    (b":status", b"200"), // 8
    (b":status", b"204"), // 9
    (b":status", b"206"), // 10
    (b":status", b"304"), // 11
    (b":status", b"400"), // 12
    (b":status", b"404"), // 13
    (b":status", b"500"), // 14
    (b"accept-charset", b""), // 15
    (b"accept-encoding", b"gzip, deflate"), // 16
    (b"accept-language", b""), // 17
    (b"accept-ranges", b""), // 18
    (b"accept", b""), // 19
    (b"access-control-allow-origin", b""), // 20
    (b"age", b""), // 21
    (b"allow", b""), // 22
    (b"authorization", b""), // 23
    (b"cache-control", b""), // 24
    (b"content-disposition", b""), // 25
    (b"content-encoding", b""), // 26
    (b"content-language", b""), // 27
    (b"content-length", b""), // 28
    (b"content-location", b""), // 29
    (b"content-range", b""), // 30
    (b"content-type", b""), // 31
    (b"cookie", b""), // 32
    (b"date", b""), // 33
    (b"etag", b""), // 34
    (b"expect", b""), // 35
    (b"expires", b""), // 36
    (b"from", b""), // 37
    (b"host", b""), // 38
    (b"if-match", b""), // 39
    (b"if-modified-since", b""), // 40
    (b"if-none-match", b""), // 41
    (b"if-range", b""), // 42
    (b"if-unmodified-since", b""), // 43
    (b"last-modified", b""), // 44
    (b"link", b""), // 45
    (b"location", b""), // 46
    (b"max-forwards", b""), // 47
    (b"proxy-authenticate", b""), // 48
    (b"proxy-authorization", b""), // 49
    (b"range", b""), // 50
    (b"referer", b""), // 51
    (b"refresh", b""), // 52
    (b"retry-after", b""), // 53
    (b"server", b""), // 54
    (b"set-cookie", b""), // 55
    (b"strict-transport-security", b""), // 56
    (b"transfer-encoding", b""), // 57
    (b"user-agent", b""), // 58
    (b"vary", b""), // 59
    (b"via", b""), // 60
    (b"www-authenticate", b""), // 61
];

/// Longest name in the static table (`access-control-allow-origin`).
const MAX_STATIC_NAME: usize = 27;
/// Most distinct static names of one length (4: date, etag, from, host, link, vary).
const BUCKET: usize = 8;

/// `BY_LEN[len]`: the first static index of every distinct name of that length, 0-ended.
/// Derived from [`STATIC`] at compile time, so a name lookup compares a handful of
/// same-length names instead of scanning the table.
static BY_LEN: [[u8; BUCKET]; MAX_STATIC_NAME + 1] = build_by_len();

const fn build_by_len() -> [[u8; BUCKET]; MAX_STATIC_NAME + 1] {
    let mut by_len = [[0u8; BUCKET]; MAX_STATIC_NAME + 1];
    let mut i = 0;
    while i < STATIC_LEN {
        let name = STATIC[i].0;
        let first_of_name = i == 0 || !const_eq(STATIC[i - 1].0, name);
        if first_of_name {
            let bucket = &mut by_len[name.len()];
            let mut slot = 0;
            while bucket[slot] != 0 {
                slot += 1; // Overflowing BUCKET fails the build.
            }
            bucket[slot] = (i + 1) as u8;
        }
        i += 1;
    }
    by_len
}

/// `NAME_RUN[i]`: how many static entries from index `i` on share its name (e.g. 7
/// for `:status` at 8), so a lookup does not compare the names again.
static NAME_RUN: [u8; STATIC_LEN + 1] = build_name_run();

const fn build_name_run() -> [u8; STATIC_LEN + 1] {
    let mut run = [0u8; STATIC_LEN + 1];
    let mut i = STATIC_LEN;
    while i > 0 {
        let same_as_next = i < STATIC_LEN && const_eq(STATIC[i - 1].0, STATIC[i].0);
        run[i] = if same_as_next { run[i + 1] + 1 } else { 1 };
        i -= 1;
    }
    run
}

const fn const_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The static indexes holding `name`: the first one and how many follow with the same
/// name (`:status` has seven), or `None`.
pub fn static_name(name: &[u8]) -> Option<(usize, usize)> {
    let bucket = BY_LEN.get(name.len())?;
    for &first in bucket.iter().take_while(|&&i| i != 0) {
        let first = usize::from(first);
        if STATIC[first - 1].0 == name {
            return Some((first, usize::from(NAME_RUN[first])));
        }
    }
    None
}

/// The size of an entry as RFC 7541 §4.1 counts it.
pub fn entry_size(name: &[u8], value: &[u8]) -> usize {
    name.len()
        .saturating_add(value.len())
        .saturating_add(ENTRY_OVERHEAD)
}

/// One dynamic table entry: name and value in one allocation.
#[derive(Debug)]
struct Entry {
    data: Box<[u8]>,
    name_len: usize,
}

impl Entry {
    fn name(&self) -> &[u8] {
        &self.data[..self.name_len]
    }

    fn value(&self) -> &[u8] {
        &self.data[self.name_len..]
    }

    fn size(&self) -> usize {
        self.data.len() + ENTRY_OVERHEAD
    }
}

/// The dynamic table of one direction of one connection (RFC 7541 §2.3.2).
#[derive(Debug)]
pub struct DynamicTable {
    /// Newest first: `entries[0]` is index 62.
    entries: VecDeque<Entry>,
    /// Sum of the entries' sizes (§4.1), never above `capacity`.
    size: usize,
    /// The maximum size currently in effect (§4.2).
    capacity: usize,
}

impl DynamicTable {
    pub fn new(capacity: usize) -> Self {
        DynamicTable {
            entries: VecDeque::new(),
            size: 0,
            capacity,
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Current size as §4.1 counts it.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Maximum size in effect.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Entry `i` (0 = newest, i.e. HPACK index 62) as (name, value).
    pub fn get(&self, i: usize) -> Option<(&[u8], &[u8])> {
        self.entries.get(i).map(|e| (e.name(), e.value()))
    }

    /// Changes the maximum size, evicting oldest entries until the table fits (§4.3).
    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity;
        self.evict_to(capacity);
    }

    /// Adds `name` + `value` as the newest entry, evicting as §4.4 says.
    pub fn insert(&mut self, name: &[u8], value: &[u8]) {
        let mut data = Vec::with_capacity(name.len() + value.len());
        data.extend_from_slice(name);
        data.extend_from_slice(value);
        self.insert_entry(data.into_boxed_slice(), name.len());
    }

    /// Adds an entry whose octets are already `name ++ value`.
    pub fn insert_entry(&mut self, data: Box<[u8]>, name_len: usize) {
        let entry = Entry { data, name_len };
        let size = entry.size();
        if size > self.capacity {
            // §4.4: an entry larger than the table empties it and is not an error.
            self.entries.clear();
            self.size = 0;
            return;
        }
        self.evict_to(self.capacity - size);
        self.size += size;
        self.entries.push_front(entry);
    }

    /// Searches for `name` and `value`: `Ok(position)` of an exact match, else
    /// `Err(Some(position))` of the newest entry with that name, else `Err(None)`.
    /// Linear: the table holds at most 128 entries (4096 / 32), usually a few dozen.
    pub fn find(&self, name: &[u8], value: &[u8]) -> Result<usize, Option<usize>> {
        let mut name_match = None;
        for (i, e) in self.entries.iter().enumerate() {
            if e.name() == name {
                if e.value() == value {
                    return Ok(i);
                }
                if name_match.is_none() {
                    name_match = Some(i);
                }
            }
        }
        Err(name_match)
    }

    fn evict_to(&mut self, target: usize) {
        while self.size > target {
            match self.entries.pop_back() {
                Some(e) => self.size -= e.size(),
                None => {
                    self.size = 0;
                    break;
                }
            }
        }
    }
}

/// Resolves HPACK `index` (§2.3.3) against the static table and `dynamic`.
pub fn lookup(dynamic: &DynamicTable, index: usize) -> Result<(&[u8], &[u8]), DecodeError> {
    match index {
        0 => Err(DecodeError::ZeroIndex),
        1..=STATIC_LEN => Ok(STATIC[index - 1]),
        _ => dynamic
            .get(index - STATIC_LEN - 1)
            .ok_or(DecodeError::InvalidIndex(index)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn rfc7541_appendix_a_static_table_shape() {
        assert_eq!(STATIC[0], (&b":authority"[..], &b""[..]));
        assert_eq!(STATIC[7], (&b":status"[..], &b"200"[..]));
        assert_eq!(STATIC[60], (&b"www-authenticate"[..], &b""[..]));
        assert!(STATIC.iter().all(|(n, _)| n.len() <= MAX_STATIC_NAME));
    }

    #[test]
    fn rfc7541_2_3_1_static_name_lookup_agrees_with_the_table() {
        for (i, (name, _)) in STATIC.iter().enumerate() {
            let (first, count) = static_name(name).unwrap();
            assert!(first <= i + 1 && i + 1 < first + count, "{i}");
            assert_eq!(STATIC[first - 1].0, *name);
            assert!(first == 1 || STATIC[first - 2].0 != *name);
        }
        assert_eq!(static_name(b":status"), Some((8, 7)));
        assert_eq!(static_name(b"x-unknown"), None);
        assert_eq!(static_name(b""), None);
        assert_eq!(static_name(&[b'a'; 100]), None);
        assert_eq!(static_name(b"Date"), None);
    }

    #[test]
    fn rfc7541_2_3_3_index_space() {
        let mut t = DynamicTable::new(4096);
        t.insert(b"a", b"1");
        t.insert(b"b", b"2");
        assert_eq!(lookup(&t, 0), Err(DecodeError::ZeroIndex));
        assert_eq!(lookup(&t, 2).unwrap(), (&b":method"[..], &b"GET"[..]));
        assert_eq!(lookup(&t, 62).unwrap(), (&b"b"[..], &b"2"[..]));
        assert_eq!(lookup(&t, 63).unwrap(), (&b"a"[..], &b"1"[..]));
        assert_eq!(lookup(&t, 64), Err(DecodeError::InvalidIndex(64)));
        assert_eq!(
            lookup(&t, usize::MAX),
            Err(DecodeError::InvalidIndex(usize::MAX))
        );
    }

    #[test]
    fn rfc7541_4_1_entry_size_counts_32_octets_overhead() {
        let mut t = DynamicTable::new(4096);
        t.insert(b"custom-key", b"custom-header");
        assert_eq!(t.size(), 10 + 13 + 32);
        assert_eq!(entry_size(b"custom-key", b"custom-header"), 55);
    }

    #[test]
    fn rfc7541_4_4_insert_evicts_oldest_first() {
        // Room for exactly two 34-octet entries.
        let mut t = DynamicTable::new(68);
        t.insert(b"a", b"1");
        t.insert(b"b", b"2");
        assert_eq!(t.len(), 2);
        t.insert(b"c", b"3");
        assert_eq!(t.len(), 2);
        assert_eq!(t.get(0).unwrap(), (&b"c"[..], &b"3"[..]));
        assert_eq!(t.get(1).unwrap(), (&b"b"[..], &b"2"[..]));
        assert_eq!(t.size(), 68);
    }

    #[test]
    fn rfc7541_4_4_entry_larger_than_the_table_empties_it() {
        let mut t = DynamicTable::new(40);
        t.insert(b"a", b"1");
        t.insert(b"name", b"a-value-too-long");
        assert!(t.is_empty());
        assert_eq!(t.size(), 0);
    }

    #[test]
    fn rfc7541_4_4_entry_may_reference_the_entry_it_evicts() {
        // The new entry's name is copied before eviction, so it survives its source.
        let mut t = DynamicTable::new(34 + 35);
        t.insert(b"n", b"1");
        let name = t.get(0).unwrap().0.to_vec();
        t.insert(b"x", b"22");
        t.insert(&name, b"3");
        assert_eq!(t.get(0).unwrap(), (&b"n"[..], &b"3"[..]));
    }

    #[test]
    fn rfc7541_4_3_shrinking_evicts_and_zero_empties() {
        let mut t = DynamicTable::new(4096);
        for i in 0..10u8 {
            t.insert(b"k", &[i]);
        }
        assert_eq!(t.size(), 340);
        t.set_capacity(100);
        assert_eq!(t.len(), 2);
        assert_eq!(t.get(0).unwrap().1, [9]);
        t.set_capacity(0);
        assert!(t.is_empty());
        t.insert(b"k", b"v");
        assert!(t.is_empty());
    }

    #[test]
    fn dynamic_find_prefers_exact_then_newest_name() {
        let mut t = DynamicTable::new(4096);
        t.insert(b"k", b"1");
        t.insert(b"k", b"2");
        assert_eq!(t.find(b"k", b"1"), Ok(1));
        assert_eq!(t.find(b"k", b"3"), Err(Some(0)));
        assert_eq!(t.find(b"z", b"1"), Err(None));
    }
}
