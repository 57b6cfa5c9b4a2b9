//! One field and the octets an encoding gave it, for the encoder's caches that reuse
//! octets field by field ([`super::slots`], [`super::literals`]): the buffers are
//! reused when the field is replaced, and a lookup compares the field octet for octet.

#[derive(Debug, Default)]
pub(super) struct KeptField {
    /// Name then value.
    field: Vec<u8>,
    name_len: usize,
    wire: Vec<u8>,
}

impl KeptField {
    /// The octets kept, if they are those of exactly `name: value`.
    #[inline]
    pub(super) fn wire_for(&self, name: &[u8], value: &[u8]) -> Option<&[u8]> {
        let hit = self.name_len == name.len()
            && self.field.len() == name.len() + value.len()
            && &self.field[self.name_len..] == value
            && &self.field[..self.name_len] == name;
        hit.then_some(&self.wire[..])
    }

    /// Keeps `wire` as the octets of `name: value`, replacing what was kept (no
    /// allocation once the buffers are warm).
    pub(super) fn keep(&mut self, name: &[u8], value: &[u8], wire: &[u8]) {
        self.field.clear();
        self.field.extend_from_slice(name);
        self.field.extend_from_slice(value);
        self.name_len = name.len();
        self.wire.clear();
        self.wire.extend_from_slice(wire);
    }
}
