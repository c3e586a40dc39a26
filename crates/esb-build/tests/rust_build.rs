//! `examples/hello-rust` built by `esb build` (`BuildMethod: rust-cargolambda`): the compiled
//! `task/bootstrap` is run against a small fake Lambda Runtime API and must answer the API
//! Gateway event; a second build is unchanged and does not compile again.
//!
//! Needs cargo and crates.io (or a warm cargo registry cache). The cargo target directory is
//! kept under `CARGO_TARGET_TMPDIR` between runs, so only the first run compiles cold.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use esb_build::{BuildOptions, BuildReport, BuildRequest, BuildStatus, build};

mod support;

use support::{copy_project, repo_root, share_cargo_target_dir};

/// Bound on every wait on the bootstrap: connections, reads and the captured response.
const WAIT: Duration = Duration::from_secs(30);
const NEXT: &str = "/2018-06-01/runtime/invocation/next";
const RESPONSE: &str = "/2018-06-01/runtime/invocation/r1/response";

fn build_project(project: &Path, no_cache: bool) -> BuildReport {
    build(&BuildRequest {
        template: project.join("template.yaml"),
        input: Default::default(),
        options: BuildOptions {
            no_cache,
            ..BuildOptions::default()
        },
    })
    .unwrap_or_else(|e| panic!("hello-rust should build: {e}"))
}

/// Kills the bootstrap however the test ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One HTTP/1.1 request: method, path and body.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(String, String, Vec<u8>)> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut length = 0;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((method, path, body))
}

fn api_gateway_event() -> String {
    serde_json::json!({
        "resource": "/hello",
        "path": "/hello",
        "httpMethod": "GET",
        "headers": {"Host": "localhost"},
        "multiValueHeaders": {"Host": ["localhost"]},
        "queryStringParameters": {"name": "esb"},
        "multiValueQueryStringParameters": {"name": ["esb"]},
        "pathParameters": null,
        "stageVariables": null,
        "requestContext": {
            "accountId": "123456789012",
            "resourceId": "abc123",
            "stage": "Prod",
            "requestId": "req-1",
            "identity": {"sourceIp": "127.0.0.1"},
            "resourcePath": "/hello",
            "httpMethod": "GET",
            "apiId": "api1",
            "path": "/Prod/hello",
            "protocol": "HTTP/1.1",
            "requestTimeEpoch": 1_700_000_000_000_u64
        },
        "body": null,
        "isBase64Encoded": false
    })
    .to_string()
}

/// Serves one connection of the fake Runtime API: the event once on `next`, then the
/// function's response (or error) sent to `results`.
fn serve(stream: TcpStream, served: &AtomicBool, results: &mpsc::Sender<(String, Vec<u8>)>) {
    if stream.set_read_timeout(Some(WAIT)).is_err() || stream.set_write_timeout(Some(WAIT)).is_err()
    {
        return;
    }
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while let Some((method, path, body)) = read_request(&mut reader) {
        let reply = if method == "GET" && path == NEXT {
            if served.swap(true, Ordering::SeqCst) {
                // The runtime polls again after responding: hold the poll open, as Lambda
                // does between invocations, until the bootstrap is killed (EOF) or `WAIT`.
                let _ = reader.read(&mut [0; 1]);
                return;
            }
            let deadline = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .expect("clock")
                .as_millis()
                + 30_000;
            let event = api_gateway_event();
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                 lambda-runtime-aws-request-id: r1\r\n\
                 lambda-runtime-deadline-ms: {deadline}\r\n\
                 lambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:123456789012:function:x\r\n\
                 content-length: {}\r\n\r\n{event}",
                event.len()
            )
        } else {
            let _ = results.send((format!("{method} {path}"), body));
            "HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: 16\r\n\r\n{\"status\":\"OK\"}\n".to_string()
        };
        if writer.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

/// A fake Runtime API on a free port: accepts connections until `WAIT` has passed.
fn fake_runtime_api() -> (String, mpsc::Receiver<(String, Vec<u8>)>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    listener.set_nonblocking(true).expect("nonblocking");
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let served = Arc::new(AtomicBool::new(false));
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            match listener.accept() {
                Ok((stream, _)) => {
                    let (served, sender) = (Arc::clone(&served), sender.clone());
                    if stream.set_nonblocking(false).is_ok() {
                        std::thread::spawn(move || serve(stream, &served, &sender));
                    }
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    (address, receiver)
}

#[test]
fn hello_rust_compiles_to_a_bootstrap_that_answers_an_api_gateway_event() {
    let project = tempfile::tempdir().expect("temp dir");
    copy_project(&repo_root().join("examples/hello-rust"), project.path());
    share_cargo_target_dir(project.path());

    // --no-cache: the shared target dir may be warm, but this build must run cargo.
    let report = build_project(project.path(), true);
    let function = &report.functions[0];
    assert_eq!(function.logical_id, "HelloRustFunction");
    assert_eq!(function.status, BuildStatus::Built);
    assert_eq!(function.installs, ["cargo: build --release"]);

    let task = project.path().join(".esb/functions/HelloRustFunction/task");
    let bootstrap = task.join("bootstrap");
    let files: Vec<_> = std::fs::read_dir(&task)
        .expect("read task")
        .map(|entry| entry.expect("entry").file_name())
        .collect();
    assert_eq!(files, ["bootstrap"], "task/ holds only the binary");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&bootstrap)
            .expect("bootstrap")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
    }
    assert!(
        !project.path().join("rust_app/target").exists(),
        "cargo writes under .esb/cache, not the code directory"
    );

    let (address, responses) = fake_runtime_api();
    let _child = Killed(
        Command::new(&bootstrap)
            .env("AWS_LAMBDA_RUNTIME_API", &address)
            .env("AWS_LAMBDA_FUNCTION_NAME", "HelloRustFunction")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn bootstrap"),
    );
    let (request, body) = responses
        .recv_timeout(WAIT)
        .expect("the bootstrap posts a response in time");
    let body = String::from_utf8_lossy(&body);
    assert_eq!(request, format!("POST {RESPONSE}"), "{body}");
    let response: serde_json::Value = serde_json::from_str(&body).expect("JSON response");
    assert_eq!(response["statusCode"], 200, "{response}");
    assert_eq!(
        response["headers"]["content-type"], "application/json",
        "{response}"
    );
    let greeting: serde_json::Value =
        serde_json::from_str(response["body"].as_str().expect("string body")).expect("JSON body");
    assert_eq!(greeting["message"], "hello from rust", "{greeting}");
    assert_eq!(greeting["path"], "/hello", "{greeting}");
    assert_eq!(greeting["name"], "esb", "{greeting}");
    assert_eq!(greeting["requestId"], "r1", "{greeting}");

    let built_at = std::fs::metadata(&bootstrap)
        .and_then(|meta| meta.modified())
        .expect("mtime");
    let again = build_project(project.path(), false);
    assert_eq!(again.functions[0].status, BuildStatus::Unchanged);
    assert!(again.functions[0].installs.is_empty(), "cargo did not run");
    let still = std::fs::metadata(&bootstrap)
        .and_then(|meta| meta.modified())
        .expect("mtime");
    assert_eq!(built_at, still, "bootstrap was not rewritten");
}
