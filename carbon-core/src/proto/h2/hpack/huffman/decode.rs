//! Huffman decoding as a finite state machine over 4-bit input groups.
//!
//! The states are the internal nodes of the code tree (256 of them for 257 symbols).
//! From each state and each nibble, the table gives the next state, at most one symbol
//! emitted (no code is shorter than 5 bits, so four bits complete at most one), whether
//! EOS was reached, and whether the string may end in the new state. A string may end
//! only in a state reached from the root by at most 7 one-bits, which is exactly the
//! padding rule of RFC 7541 §5.2 (padding is the most significant bits of EOS, at most
//! 7 of them). The table is built from [`super::code::CODES`] once, at first use.

use std::sync::OnceLock;

use super::code::{CODES, EOS};
use crate::proto::h2::hpack::error::DecodeError;

/// The transition emits `sym`.
const EMIT: u8 = 1;
/// The transition reaches EOS (or a code the table lacks): the string is invalid.
const FAIL: u8 = 2;
/// The string may end after this transition.
const ACCEPT: u8 = 4;

#[derive(Clone, Copy, Default)]
struct Transition {
    next: u8,
    flags: u8,
    sym: u8,
}

/// `TABLE[state][nibble]`.
type Table = [[Transition; 16]; 256];

static TABLE: OnceLock<Box<Table>> = OnceLock::new();

/// Appends the decoding of `src` to `dst`.
pub fn decode(src: &[u8], dst: &mut Vec<u8>) -> Result<(), DecodeError> {
    let table = TABLE.get_or_init(build);
    // No code is shorter than 5 bits: at most 8/5 output octets per input octet.
    dst.reserve(src.len() + src.len() / 2 + 1);
    let mut state = 0usize;
    let mut accept = true;
    for &b in src {
        for nibble in [b >> 4, b & 0x0f] {
            let t = table[state][usize::from(nibble)];
            if t.flags & FAIL != 0 {
                return Err(DecodeError::HuffmanEos);
            }
            if t.flags & EMIT != 0 {
                dst.push(t.sym);
            }
            state = usize::from(t.next);
            accept = t.flags & ACCEPT != 0;
        }
    }
    if accept {
        Ok(())
    } else {
        Err(DecodeError::HuffmanPadding)
    }
}

/// A node's child: an internal node, a symbol, or nothing (only if the code table were
/// incomplete, which the tests rule out; such a path decodes as a failure).
#[derive(Clone, Copy)]
enum Child {
    Node(u8),
    Leaf(u16),
    Missing,
}

fn build() -> Box<Table> {
    // The code tree, internal nodes only; node 0 is the root.
    let mut nodes: Vec<[Child; 2]> = vec![[Child::Missing; 2]];
    for (sym, &(code, len)) in CODES.iter().enumerate() {
        let mut node = 0usize;
        for i in (0..len).rev() {
            let bit = ((code >> i) & 1) as usize;
            if i == 0 {
                nodes[node][bit] = Child::Leaf(sym as u16);
            } else {
                node = match nodes[node][bit] {
                    Child::Node(n) => usize::from(n),
                    _ => {
                        // 256 internal nodes for a complete code over 257 symbols: the
                        // index fits in a u8 (checked by the tests).
                        let n = nodes.len();
                        nodes.push([Child::Missing; 2]);
                        nodes[node][bit] = Child::Node(n as u8);
                        n
                    }
                };
            }
        }
    }
    // Accepting states: the root and the nodes reached by 1 to 7 one-bits.
    let mut accepting = [false; 256];
    accepting[0] = true;
    let mut node = 0usize;
    for _ in 0..7 {
        match nodes[node][1] {
            Child::Node(n) => {
                node = usize::from(n);
                accepting[node] = true;
            }
            _ => break,
        }
    }

    let mut table = Box::new([[Transition::default(); 16]; 256]);
    for (state, row) in table.iter_mut().enumerate().take(nodes.len()) {
        for (nibble, t) in row.iter_mut().enumerate() {
            let mut node = state;
            let mut flags = 0u8;
            let mut sym = 0u8;
            for i in (0..4).rev() {
                match nodes[node][(nibble >> i) & 1] {
                    Child::Node(n) => node = usize::from(n),
                    Child::Leaf(s) if usize::from(s) != EOS => {
                        flags |= EMIT;
                        sym = s as u8;
                        node = 0;
                    }
                    Child::Leaf(_) | Child::Missing => {
                        flags |= FAIL;
                        break;
                    }
                }
            }
            if accepting[node] {
                flags |= ACCEPT;
            }
            *t = Transition {
                next: node as u8,
                flags,
                sym,
            };
        }
    }
    table
}
