//! The smallest possible Lambda runtime: a blocking loop over one keep-alive connection to the
//! Runtime API (`GET /next`, `POST /response`), no framework. The invoke benchmark runs it as a
//! `provided` function's `bootstrap` to measure the floor a real runtime client cannot beat:
//!
//! ```sh
//! cargo build --release -p esb-agent --example raw_runtime
//! mkdir -p /tmp/raw-runtime && cp "$CARGO_TARGET_DIR"/release/examples/raw_runtime /tmp/raw-runtime/bootstrap
//! ESB_BENCH_BOOTSTRAP=/tmp/raw-runtime cargo bench -p esb-agent --bench invoke
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

const RESPONSE: &[u8] = br#"{"statusCode":200,"body":"hello"}"#;

fn main() -> std::io::Result<()> {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API").map_err(std::io::Error::other)?;
    let stream = TcpStream::connect(&api)?;
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    loop {
        write!(
            writer,
            "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: runtime\r\n\r\n"
        )?;
        let (request_id, length) = read_head(&mut reader)?;
        let mut event = vec![0; length];
        reader.read_exact(&mut event)?;
        write!(
            writer,
            "POST /2018-06-01/runtime/invocation/{request_id}/response HTTP/1.1\r\nHost: runtime\r\nContent-Length: {}\r\n\r\n",
            RESPONSE.len()
        )?;
        writer.write_all(RESPONSE)?;
        let (_, length) = read_head(&mut reader)?;
        let mut accepted = vec![0; length];
        reader.read_exact(&mut accepted)?;
    }
}

/// Reads a response head: the request id header (if any) and the content length.
fn read_head(reader: &mut impl BufRead) -> std::io::Result<(String, usize)> {
    let (mut request_id, mut length) = (String::new(), 0);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end();
        if line.is_empty() {
            return Ok((request_id, length));
        }
        if let Some((name, value)) = line.split_once(':') {
            match name.to_ascii_lowercase().as_str() {
                "lambda-runtime-aws-request-id" => request_id = value.trim().to_string(),
                "content-length" => length = value.trim().parse().unwrap_or(0),
                _ => {}
            }
        }
    }
}
