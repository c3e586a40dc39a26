//! Byte encodings shared by the WAL and the blocks: LEB128 varints, zigzag for signed
//! values, length-prefixed strings, and a bounds-checked reader that turns any truncation or
//! garbage into `None` instead of a panic.

/// Appends `value` as a LEB128 varint.
pub fn put_uvarint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Appends a signed value, zigzag-encoded so small magnitudes stay short.
pub fn put_ivarint(out: &mut Vec<u8>, value: i64) {
    put_uvarint(out, ((value << 1) ^ (value >> 63)) as u64);
}

/// Appends a length-prefixed byte string.
pub fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_uvarint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Reads the encodings above from a slice; every read checks bounds.
#[derive(Debug)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    /// Whether everything was read.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// A LEB128 varint.
    pub fn uvarint(&mut self) -> Option<u64> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = *self.data.get(self.pos)?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    /// A varint that must fit a `usize` and stay below `max` (sizes, counts).
    pub fn len(&mut self, max: usize) -> Option<usize> {
        let value = usize::try_from(self.uvarint()?).ok()?;
        (value <= max).then_some(value)
    }

    /// A zigzag varint.
    pub fn ivarint(&mut self) -> Option<i64> {
        let raw = self.uvarint()?;
        Some(((raw >> 1) as i64) ^ -((raw & 1) as i64))
    }

    /// `count` raw bytes.
    pub fn take(&mut self, count: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(count)?;
        let slice = self.data.get(self.pos..end)?;
        self.pos = end;
        Some(slice)
    }

    /// One byte.
    pub fn byte(&mut self) -> Option<u8> {
        let byte = *self.data.get(self.pos)?;
        self.pos += 1;
        Some(byte)
    }

    /// A little-endian u64.
    pub fn u64_le(&mut self) -> Option<u64> {
        let bytes: [u8; 8] = self.take(8)?.try_into().ok()?;
        Some(u64::from_le_bytes(bytes))
    }

    /// A length-prefixed UTF-8 string.
    pub fn str(&mut self) -> Option<&'a str> {
        let len = self.len(self.data.len())?;
        std::str::from_utf8(self.take(len)?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn varints_round_trip(u in any::<u64>(), i in any::<i64>(), s in ".{0,40}") {
            let mut buf = Vec::new();
            put_uvarint(&mut buf, u);
            put_ivarint(&mut buf, i);
            put_bytes(&mut buf, s.as_bytes());
            let mut reader = Reader::new(&buf);
            prop_assert_eq!(reader.uvarint(), Some(u));
            prop_assert_eq!(reader.ivarint(), Some(i));
            prop_assert_eq!(reader.str(), Some(s.as_str()));
            prop_assert!(reader.is_empty());
        }

        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut reader = Reader::new(&data);
            while reader.str().is_some() {}
            let mut reader = Reader::new(&data);
            while reader.ivarint().is_some() {}
        }
    }
}
