//! AWS's event stream encoding (`application/vnd.amazon.eventstream`), as
//! `InvokeWithResponseStream` answers: each message is a prelude (total length, headers length,
//! the prelude's CRC-32), string headers (`:event-type`, `:content-type`, `:message-type`), the
//! payload, and the message's CRC-32, all big-endian.

use bytes::{BufMut, Bytes, BytesMut};

/// The header value type "string".
const STRING: u8 = 7;

/// One message with string `headers` and `payload`.
pub fn message(headers: &[(&str, &str)], payload: &[u8]) -> Bytes {
    let mut encoded_headers = BytesMut::new();
    for (name, value) in headers {
        // Names are ours and short; values too (event types and content types).
        encoded_headers.put_u8(u8::try_from(name.len()).unwrap_or(u8::MAX));
        encoded_headers.put_slice(name.as_bytes());
        encoded_headers.put_u8(STRING);
        encoded_headers.put_u16(u16::try_from(value.len()).unwrap_or(u16::MAX));
        encoded_headers.put_slice(value.as_bytes());
    }
    let total = 12 + encoded_headers.len() + payload.len() + 4;
    let mut message = BytesMut::with_capacity(total);
    message.put_u32(u32::try_from(total).unwrap_or(u32::MAX));
    message.put_u32(u32::try_from(encoded_headers.len()).unwrap_or(u32::MAX));
    let prelude_crc = crc32fast::hash(&message[..8]);
    message.put_u32(prelude_crc);
    message.put_slice(&encoded_headers);
    message.put_slice(payload);
    let message_crc = crc32fast::hash(&message);
    message.put_u32(message_crc);
    message.freeze()
}

/// A `PayloadChunk` event carrying part of the function's response.
pub fn payload_chunk(payload: &[u8]) -> Bytes {
    message(
        &[
            (":event-type", "PayloadChunk"),
            (":content-type", "application/octet-stream"),
            (":message-type", "event"),
        ],
        payload,
    )
}

/// The `InvokeComplete` event that ends the stream: empty on success, else the error's code
/// and details.
pub fn invoke_complete(error: Option<(&str, &str)>, log_result: Option<&str>) -> Bytes {
    let mut body = serde_json::Map::new();
    if let Some((code, details)) = error {
        body.insert("ErrorCode".into(), code.into());
        body.insert("ErrorDetails".into(), details.into());
    }
    if let Some(log) = log_result {
        body.insert("LogResult".into(), log.into());
    }
    message(
        &[
            (":event-type", "InvokeComplete"),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        serde_json::Value::Object(body).to_string().as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example message of AWS's event stream documentation: no headers, payload `{'foo':'bar'}`.
    #[test]
    fn a_message_is_framed_and_checksummed() {
        let encoded = message(&[], b"{'foo':'bar'}");
        assert_eq!(
            encoded.as_ref(),
            [
                0x00, 0x00, 0x00, 0x1D, 0x00, 0x00, 0x00, 0x00, 0xFD, 0x52, 0x8C, 0x5A, 0x7B, 0x27,
                0x66, 0x6F, 0x6F, 0x27, 0x3A, 0x27, 0x62, 0x61, 0x72, 0x27, 0x7D, 0xC3, 0x65, 0x39,
                0x36
            ]
        );
        let event = payload_chunk(b"hi");
        let total = u32::from_be_bytes([event[0], event[1], event[2], event[3]]) as usize;
        assert_eq!(total, event.len());
        let crc = u32::from_be_bytes(event[total - 4..].try_into().expect("4 bytes"));
        assert_eq!(crc, crc32fast::hash(&event[..total - 4]));
    }
}
