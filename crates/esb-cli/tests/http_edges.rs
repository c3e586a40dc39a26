//! The gateway at the edges of HTTP (RFC 9112) and of API Gateway, end to end with `esb up`:
//! framing the function cannot corrupt, broken bodies and hosts refused with 400, an
//! absolute-form target naming the host, events over Lambda's 6 MB refused with 413, and the
//! connection limits of `esb.toml` (header-read and idle timeouts, a connection cap).
//! Every socket has a timeout; every wait is bounded.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use support::http::{parse_reply, send, send_raw};
use support::project::{box_addr, project, shared_home, stderr};

fn esb(dir: &std::path::Path, home: &std::path::Path, args: &[&str]) -> std::process::Output {
    support::project::esb(dir, home, args, Duration::from_secs(300))
}

const TEMPLATE: &str = r#"
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Echo:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src/
      Events:
        Any:
          Type: HttpApi
          Properties:
            Path: /{proxy+}
            Method: ANY
"#;

const APP: &str = r#"
import json
def handler(event, context):
    if event["rawPath"] == "/framing":
        # Framing of its own: the gateway must frame the response itself.
        return {"statusCode": 200, "body": "hello world",
                "headers": {"Content-Length": "3", "Transfer-Encoding": "chunked", "Connection": "close"}}
    headers = event.get("headers") or {}
    return {"statusCode": 200, "body": json.dumps({"host": headers.get("host"), "size": len(event.get("body") or "")})}
"#;

const ESB_TOML: &str = "[gateway]\nheader_read_timeout_seconds = 2\nconnection_idle_timeout_seconds = 2\nmax_connections = 6\n";

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream
}

/// How long until the server closes `stream` (reads end), at most `limit`.
fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    stream.set_read_timeout(Some(limit)).expect("timeout");
    let mut sink = [0u8; 4096];
    loop {
        match stream.read(&mut sink) {
            Ok(0) => return Some(started.elapsed()),
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return Some(started.elapsed()),
            Err(_) => return None,
        }
    }
}

#[test]
fn http_edges_and_connection_limits() {
    let dir = project(&[
        ("template.yaml", TEMPLATE),
        ("src/app.py", APP),
        ("esb.toml", ESB_TOML),
    ]);
    let home = shared_home();
    let up = esb(dir.path(), &home, &["up", "--http", "--port", "0"]);
    assert!(up.status.success(), "{}", stderr(&up));
    let addr = box_addr(dir.path());

    // The function's own Content-Length cannot cut the body into the next keep-alive response.
    let mut stream = connect(addr);
    stream
        .write_all(b"GET /framing HTTP/1.1\r\nHost: x\r\n\r\nGET /framing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut both = Vec::new();
    let _ = stream.read_to_end(&mut both);
    let both = String::from_utf8_lossy(&both);
    assert_eq!(both.matches("HTTP/1.1 200 OK").count(), 2, "{both}");
    assert_eq!(both.matches("hello world").count(), 2, "{both}");
    assert!(
        !both.to_ascii_lowercase().contains("content-length: 3\r"),
        "{both}"
    );
    // Nor break HTTP/2, which forbids connection-specific headers outright.
    let h2 = std::process::Command::new("curl")
        .args(["-sS", "--max-time", "20", "--http2-prior-knowledge"])
        .args(["-w", "\n%{http_version} %{http_code}"])
        .arg(format!("http://{addr}/framing"))
        .output()
        .expect("curl");
    assert_eq!(
        String::from_utf8_lossy(&h2.stdout),
        "hello world\n2 200",
        "{}",
        String::from_utf8_lossy(&h2.stderr)
    );

    // A malformed chunked body is 400, with its access-log line.
    let broken = send_raw(
        addr,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    );
    assert_eq!(broken.status, 400, "{}", broken.text());
    // Host: none or two on HTTP/1.1 is 400; HTTP/1.0 may leave it out.
    let no_host = send_raw(addr, b"GET /echo HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert_eq!(no_host.status, 400);
    let two_hosts = send_raw(
        addr,
        b"GET /echo HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(two_hosts.status, 400);
    let old = send_raw(addr, b"GET /echo HTTP/1.0\r\n\r\n");
    assert_eq!(old.status, 200, "{}", old.text());
    // An absolute-form target names the host, whatever Host says.
    let absolute = send_raw(
        addr,
        b"GET http://right.example/echo HTTP/1.1\r\nHost: wrong.example\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(absolute.status, 200, "{}", absolute.text());
    assert_eq!(absolute.json()["host"], "right.example");

    // Lambda takes events up to 6 MB: 5 MB of text reaches the function, 7 MB is 413 without
    // it (as is 5 MB of binary, which the event carries in base64).
    let text = [("content-type", "text/plain")];
    let five = send(addr, "POST", "/echo", &text, &vec![b'a'; 5_000_000]);
    assert_eq!(
        (five.status, five.json()["size"].as_u64()),
        (200, Some(5_000_000))
    );
    let binary = send(addr, "POST", "/echo", &[], &vec![b'a'; 5_000_000]);
    assert_eq!(binary.status, 413, "{}", binary.text());
    let seven = send(addr, "POST", "/echo", &text, &vec![b'a'; 7_000_000]);
    assert_eq!(seven.status, 413, "{}", seven.text());
    assert_eq!(seven.text(), r#"{"message":"Request Entity Too Large"}"#);

    // A silent connection, and one idle after its request, are closed after the idle timeout.
    let mut silent = connect(addr);
    let waited = closed_within(&mut silent, Duration::from_secs(6));
    assert!(
        waited.is_some_and(|w| w >= Duration::from_millis(1500)),
        "{waited:?}"
    );
    let mut kept = connect(addr);
    kept.write_all(b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    let mut head = [0u8; 12];
    kept.read_exact(&mut head).expect("a response");
    assert_eq!(&head, b"HTTP/1.1 200");
    assert!(closed_within(&mut kept, Duration::from_secs(6)).is_some());

    // Headers trickled a byte at a time keep the socket busy, but not past the header timeout.
    let mut slow = connect(addr);
    let started = Instant::now();
    let mut cut = false;
    for byte in b"GET /echo HTTP/1.1\r\nX-Slow: "
        .iter()
        .chain([b'a'; 40].iter())
    {
        if slow.write_all(&[*byte]).is_err() {
            cut = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(150));
        if started.elapsed() > Duration::from_secs(6) {
            break;
        }
    }
    let closed = cut || closed_within(&mut slow, Duration::from_secs(1)).is_some();
    assert!(
        closed && started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // At the connection cap, one more connection is closed at once.
    std::thread::sleep(Duration::from_millis(300));
    let mut held: Vec<TcpStream> = (0..6).map(|_| connect(addr)).collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut extra = connect(addr);
    let refused = closed_within(&mut extra, Duration::from_secs(1));
    assert!(refused.is_some(), "a seventh connection stayed open");
    held[0]
        .write_all(b"GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut reply = Vec::new();
    let _ = held[0].read_to_end(&mut reply);
    assert_eq!(parse_reply(&reply, Instant::now()).status, 200);
    drop(held);

    let down = esb(dir.path(), &home, &["down"]);
    assert!(down.status.success(), "{}", stderr(&down));
    let log = std::fs::read_to_string(dir.path().join(".esb/run/esb.log")).expect("log");
    assert!(
        log.lines()
            .any(|l| l.contains(r#""path":"/echo""#) && l.contains(r#""status":400"#)),
        "no access-log line for the broken body:\n{log}"
    );
}
