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

/// Bytes before each framed record: payload length and crc32, little-endian u32s.
pub const FRAME_HEADER: usize = 8;

/// Starts a framed record in `out`; pass the result to [`end_frame`] once the payload is in.
pub fn begin_frame(out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0; FRAME_HEADER]);
    start
}

/// Fills in the length and crc32 of the record started at `start`.
pub fn end_frame(out: &mut [u8], start: usize) {
    let Some(payload) = out.get(start + FRAME_HEADER..) else {
        return;
    };
    let len = u32::try_from(payload.len())
        .unwrap_or(u32::MAX)
        .to_le_bytes();
    let crc = crc32fast::hash(payload).to_le_bytes();
    if let Some(header) = out.get_mut(start..start + FRAME_HEADER) {
        header[..4].copy_from_slice(&len);
        header[4..].copy_from_slice(&crc);
    }
}

/// The payload of the framed record at `pos` in `data`, if it is whole and its crc
/// matches; the next record starts at `pos + FRAME_HEADER + payload.len()`.
pub fn read_frame(data: &[u8], pos: usize) -> Option<&[u8]> {
    let header = data.get(pos..pos.checked_add(FRAME_HEADER)?)?;
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    let start = pos + FRAME_HEADER;
    let payload = data.get(start..start.checked_add(len)?)?;
    (crc32fast::hash(payload) == crc).then_some(payload)
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

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
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

    #[test]
    fn frames_round_trip_and_detect_damage() {
        let mut buf = Vec::new();
        let start = begin_frame(&mut buf);
        buf.extend_from_slice(b"payload");
        end_frame(&mut buf, start);
        assert_eq!(read_frame(&buf, 0), Some(&b"payload"[..]));
        assert_eq!(read_frame(&buf[..buf.len() - 1], 0), None);
        if let Some(b) = buf.last_mut() {
            *b ^= 1;
        }
        assert_eq!(read_frame(&buf, 0), None);
        assert_eq!(read_frame(&buf, 100), None);
    }

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
