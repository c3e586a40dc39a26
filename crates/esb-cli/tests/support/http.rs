//! Raw HTTP/1.1 requests to the box, so tests see exactly what goes over the wire.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::Value;

/// One HTTP response: header names lower-cased, in order, repeated headers kept apart.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// From connecting to the end of the response.
    pub elapsed: Duration,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// Every value of a header, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.all(name).first().copied()
    }

    /// Every header as `name: value` lines, lower-cased, for `contains` checks.
    pub fn head(&self) -> String {
        self.headers
            .iter()
            .map(|(n, v)| format!("{n}: {}\n", v.to_ascii_lowercase()))
            .collect()
    }
}

/// Sends one HTTP/1.1 request to `addr` (`Connection: close`) and reads the whole response. A write
/// error is tolerated (the server may answer 413 before taking the whole body).
pub fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    // A `Host` among `headers` replaces the default one.
    let host = if headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        ""
    } else {
        "Host: localhost\r\n"
    };
    let mut head = format!("{method} {path} HTTP/1.1\r\n{host}Connection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut request = head.into_bytes();
    request.extend_from_slice(body);
    send_raw(addr, &request)
}

/// Sends `request` as it is (it should ask for `Connection: close`) and reads the whole response.
pub fn send_raw(addr: SocketAddr, request: &[u8]) -> Reply {
    let started = Instant::now();
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    stream
        .set_write_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let written = stream.write_all(request);
    let mut response = Vec::new();
    let read = stream.read_to_end(&mut response);
    if response.is_empty() {
        let line = String::from_utf8_lossy(&request[..request.len().min(60)]).into_owned();
        panic!("no response to {line:?}: write {written:?}, read {read:?}");
    }
    parse_reply(&response, started)
}

/// One response's status, headers and body (everything after the head).
pub fn parse_reply(response: &[u8], started: Instant) -> Reply {
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP response head");
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status");
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Reply {
        status,
        headers,
        body: response[split + 4..].to_vec(),
        elapsed: started.elapsed(),
    }
}
