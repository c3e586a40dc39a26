//! Reading a worker's stdout and stderr into its output, a line at a time.

use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

use crate::driver::WorkerOutput;
use crate::logs::LogSource;

/// One line longer than this is split: a runaway print must not exhaust memory.
const MAX_LINE_BYTES: usize = 256 * 1024;

/// Forwards every line of `stream` until it closes.
pub(super) async fn pump(
    stream: impl AsyncRead + Unpin,
    source: LogSource,
    output: Arc<dyn WorkerOutput>,
) {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        match read_line_capped(&mut reader, &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                output.line(source, text.trim_end_matches(['\n', '\r']).to_string());
            }
        }
    }
}

/// Reads up to a newline or `MAX_LINE_BYTES`, whichever comes first.
async fn read_line_capped(
    reader: &mut BufReader<impl AsyncRead + Unpin>,
    line: &mut Vec<u8>,
) -> std::io::Result<usize> {
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(line.len());
        }
        let room = MAX_LINE_BYTES - line.len();
        let (take, done) = match available.iter().position(|b| *b == b'\n') {
            Some(i) if i < room => (i + 1, true),
            _ => (available.len().min(room), available.len() >= room),
        };
        line.extend_from_slice(&available[..take]);
        reader.consume(take);
        if done || line.len() >= MAX_LINE_BYTES {
            return Ok(line.len());
        }
    }
}
