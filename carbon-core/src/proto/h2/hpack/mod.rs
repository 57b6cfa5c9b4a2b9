//! HPACK (RFC 7541): header compression for HTTP/2.
//!
//! PLACEHOLDER: this minimal implementation only exists so the HTTP/2 connection
//! compiles and its tests can encode header blocks until the real HPACK module lands.
//! It has the final API but: no Huffman decoding (a Huffman string is a decoding
//! error), a naive dynamic table, and an encoder that only writes literals without
//! indexing. Do not use it for anything else.

use std::collections::VecDeque;
use std::fmt;

/// One header field as decoded or to encode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderField<'a> {
    pub name: &'a [u8],
    pub value: &'a [u8],
    /// Never indexed (RFC 7541 §6.2.3).
    pub sensitive: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// The block ends inside a representation, or an integer overflows.
    Truncated,
    BadIndex,
    Huffman,
    TableSizeUpdate,
    /// The decoded list exceeds `max_header_list_size`; the block was still fully
    /// processed, so the table stays in sync.
    HeaderListTooLarge,
}

impl DecodeError {
    /// False only for [`DecodeError::HeaderListTooLarge`].
    pub fn is_connection_error(&self) -> bool {
        !matches!(self, DecodeError::HeaderListTooLarge)
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HPACK decoding error: {self:?}")
    }
}

const STATIC: [(&str, &str); 61] = [
    (":authority", ""),
    (":method", "GET"),
    (":method", "POST"),
    (":path", "/"),
    (":path", "/index.html"),
    (":scheme", "http"),
    (":scheme", "https"),
    (":status", "200"),
    (":status", "204"),
    (":status", "206"),
    (":status", "304"),
    (":status", "400"),
    (":status", "404"),
    (":status", "500"),
    ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"),
    ("accept-language", ""),
    ("accept-ranges", ""),
    ("accept", ""),
    ("access-control-allow-origin", ""),
    ("age", ""),
    ("allow", ""),
    ("authorization", ""),
    ("cache-control", ""),
    ("content-disposition", ""),
    ("content-encoding", ""),
    ("content-language", ""),
    ("content-length", ""),
    ("content-location", ""),
    ("content-range", ""),
    ("content-type", ""),
    ("cookie", ""),
    ("date", ""),
    ("etag", ""),
    ("expect", ""),
    ("expires", ""),
    ("from", ""),
    ("host", ""),
    ("if-match", ""),
    ("if-modified-since", ""),
    ("if-none-match", ""),
    ("if-range", ""),
    ("if-unmodified-since", ""),
    ("last-modified", ""),
    ("link", ""),
    ("location", ""),
    ("max-forwards", ""),
    ("proxy-authenticate", ""),
    ("proxy-authorization", ""),
    ("range", ""),
    ("referer", ""),
    ("refresh", ""),
    ("retry-after", ""),
    ("server", ""),
    ("set-cookie", ""),
    ("strict-transport-security", ""),
    ("transfer-encoding", ""),
    ("user-agent", ""),
    ("vary", ""),
    ("via", ""),
    ("www-authenticate", ""),
];

#[derive(Debug)]
pub struct Decoder {
    table: VecDeque<(Vec<u8>, Vec<u8>)>,
    size: usize,
    max: usize,
    limit: usize,
}

impl Decoder {
    pub fn new(max_table_size: usize) -> Decoder {
        Decoder {
            table: VecDeque::new(),
            size: 0,
            max: max_table_size,
            limit: max_table_size,
        }
    }

    pub fn set_max_table_size(&mut self, max: usize) {
        self.limit = max;
        self.max = self.max.min(max);
        self.evict();
    }

    fn evict(&mut self) {
        while self.size > self.max {
            match self.table.pop_back() {
                Some((n, v)) => self.size -= n.len() + v.len() + 32,
                None => break,
            }
        }
    }

    fn get(&self, index: usize) -> Result<(Vec<u8>, Vec<u8>), DecodeError> {
        if index == 0 {
            return Err(DecodeError::BadIndex);
        }
        if let Some((n, v)) = STATIC.get(index - 1) {
            return Ok((n.as_bytes().to_vec(), v.as_bytes().to_vec()));
        }
        self.table
            .get(index - 62)
            .cloned()
            .ok_or(DecodeError::BadIndex)
    }

    pub fn decode(
        &mut self,
        block: &[u8],
        max_header_list_size: usize,
        emit: &mut dyn FnMut(HeaderField<'_>),
    ) -> Result<(), DecodeError> {
        let mut pos = 0;
        let mut list = 0usize;
        let mut too_large = false;
        while pos < block.len() {
            let b = block[pos];
            let (name, value, sensitive) = if b & 0x80 != 0 {
                let i = int(block, &mut pos, 7)?;
                let (n, v) = self.get(i)?;
                (n, v, false)
            } else if b & 0xe0 == 0x20 {
                let max = int(block, &mut pos, 5)?;
                if max > self.limit {
                    return Err(DecodeError::TableSizeUpdate);
                }
                self.max = max;
                self.evict();
                continue;
            } else {
                let (prefix, index, sensitive) = if b & 0xc0 == 0x40 {
                    (6, true, false)
                } else {
                    (4, false, b & 0x10 != 0)
                };
                let i = int(block, &mut pos, prefix)?;
                let name = if i == 0 {
                    string(block, &mut pos)?
                } else {
                    self.get(i)?.0
                };
                let value = string(block, &mut pos)?;
                if index {
                    self.size += name.len() + value.len() + 32;
                    self.table.push_front((name.clone(), value.clone()));
                    self.evict();
                }
                (name, value, sensitive)
            };
            list += name.len() + value.len() + 32;
            if list > max_header_list_size {
                too_large = true;
            }
            if !too_large {
                emit(HeaderField {
                    name: &name,
                    value: &value,
                    sensitive,
                });
            }
        }
        if too_large {
            return Err(DecodeError::HeaderListTooLarge);
        }
        Ok(())
    }
}

fn int(b: &[u8], pos: &mut usize, prefix: u8) -> Result<usize, DecodeError> {
    let mask = (1u16 << prefix) as u8 - 1;
    let first = *b.get(*pos).ok_or(DecodeError::Truncated)? & mask;
    *pos += 1;
    if first < mask {
        return Ok(usize::from(first));
    }
    let mut v = usize::from(mask);
    let mut shift = 0;
    loop {
        let c = *b.get(*pos).ok_or(DecodeError::Truncated)?;
        *pos += 1;
        if shift > 21 {
            return Err(DecodeError::Truncated);
        }
        v += usize::from(c & 0x7f) << shift;
        shift += 7;
        if c & 0x80 == 0 {
            return Ok(v);
        }
    }
}

fn string(b: &[u8], pos: &mut usize) -> Result<Vec<u8>, DecodeError> {
    let huffman = *b.get(*pos).ok_or(DecodeError::Truncated)? & 0x80 != 0;
    let len = int(b, pos, 7)?;
    if huffman {
        return Err(DecodeError::Huffman);
    }
    let end = pos.checked_add(len).ok_or(DecodeError::Truncated)?;
    let s = b.get(*pos..end).ok_or(DecodeError::Truncated)?.to_vec();
    *pos = end;
    Ok(s)
}

#[derive(Debug, Default)]
pub struct Encoder {
    _max: usize,
}

impl Encoder {
    pub fn new() -> Encoder {
        Encoder { _max: 4096 }
    }

    pub fn set_max_table_size(&mut self, max: usize) {
        self._max = max;
    }

    pub fn encode<'a>(
        &mut self,
        fields: impl IntoIterator<Item = HeaderField<'a>>,
        dst: &mut Vec<u8>,
    ) {
        for f in fields {
            dst.push(if f.sensitive { 0x10 } else { 0x00 });
            put_string(f.name, dst);
            put_string(f.value, dst);
        }
    }
}

fn put_string(s: &[u8], dst: &mut Vec<u8>) {
    put_int(s.len(), 7, 0, dst);
    dst.extend_from_slice(s);
}

fn put_int(mut v: usize, prefix: u8, high: u8, dst: &mut Vec<u8>) {
    let mask = (1usize << prefix) - 1;
    if v < mask {
        dst.push(high | v as u8);
        return;
    }
    dst.push(high | mask as u8);
    v -= mask;
    while v >= 128 {
        dst.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    dst.push(v as u8);
}
