//! Hostile functions on a shared box, as the isolation issue lists them: each check is
//! something an unconfined worker can do (so these tests fail with `--sandbox off`) and a
//! sandboxed one must not. Python and Node.js functions try them; the same box also shows that
//! normal use (the box's S3, chained invocations) still works inside the sandbox.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::http::send;
use support::project::{box_addr, project, running, shared_home, stderr};

fn esb(dir: &Path, args: &[&str]) -> Output {
    support::project::esb(dir, &shared_home(), args, Duration::from_secs(700))
}

const TEMPLATE: &str = r#"
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Probe:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: py/
      MemorySize: 1024
      Timeout: 60
      EphemeralStorage: {Size: 512}
  Victim:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: py/
      MemorySize: 128
      Timeout: 30
  NodeProbe:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs20.x
      Handler: index.handler
      CodeUri: node/
      Timeout: 30
  Files:
    Type: AWS::S3::Bucket
    Properties: {BucketName: probe-files}
"#;

/// Does what the event asks and reports what happened, never raising.
const PY_APP: &str = r#"
import errno, json, os, signal, socket, subprocess, time

def attempt(action):
    try:
        return "ok: %s" % (action(),)
    except Exception as e:
        return "%s: %s" % (type(e).__name__, e)

def read(path):
    with open(path, "rb") as f:
        return len(f.read(64))

def write(path):
    with open(path, "w") as f:
        f.write("x")

def connect(addr):
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=2)
    s.close()

def handler(event, context):
    action = event.get("action")
    if action == "look":
        return {
            "uid": os.getuid(), "gid": os.getgid(),
            "root": sorted(os.listdir("/")),
            "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
            "ppid": os.getppid(),
            "runtimeApi": os.environ.get("AWS_LAMBDA_RUNTIME_API"),
            "taskRoot": os.environ.get("LAMBDA_TASK_ROOT"),
            "cwd": os.getcwd(),
        }
    if action == "read":
        return {p: attempt(lambda p=p: read(p)) for p in event["paths"]}
    if action == "write":
        return {p: attempt(lambda p=p: write(p)) for p in event["paths"]}
    if action == "connect":
        return {a: attempt(lambda a=a: connect(a)) for a in event["addrs"]}
    if action == "signal":
        # The box (by the pid the test passes) and this process's parent: never PID 1 as
        # such, which is the host's init if a sandbox ever failed to apply.
        pids = event["pids"] + [os.getppid()]
        return {str(p): attempt(lambda p=p: os.kill(p, signal.SIGKILL)) for p in pids}
    if action == "tmp":
        name = "/tmp/%s" % event["name"]
        write(name)
        return {"mine": os.path.exists(name), "tmp": sorted(os.listdir("/tmp"))}
    if action == "fill":
        written, chunk = 0, b"\0" * (1 << 20)
        try:
            with open("/tmp/fill", "wb") as f:
                while written < event["mb"] << 20:
                    f.write(chunk)
                    f.flush()
                    written += len(chunk)
            outcome = "no error"
        except OSError as e:
            outcome = errno.errorcode.get(e.errno, str(e.errno))
        os.remove("/tmp/fill")
        return {"outcome": outcome, "mb": written >> 20}
    if action == "spawn":
        children, outcome = [], "no error"
        try:
            for _ in range(event["count"]):
                children.append(subprocess.Popen(["sleep", "30"]))
        except OSError as e:
            outcome = errno.errorcode.get(e.errno, str(e.errno))
        for child in children:
            child.kill()
            child.wait()
        return {"outcome": outcome, "started": len(children)}
    if action == "alloc":
        hog = bytearray(event["mb"] << 20)
        for i in range(0, len(hog), 4096):
            hog[i] = 1
        return {"allocated": len(hog) >> 20}
    if action == "s3":
        import boto3
        s3 = boto3.client("s3")
        s3.put_object(Bucket="probe-files", Key="inside", Body=b"from the sandbox")
        return {"read": s3.get_object(Bucket="probe-files", Key="inside")["Body"].read().decode()}
    if action == "chain":
        import boto3
        answer = boto3.client("lambda").invoke(
            FunctionName="Victim", Payload=json.dumps({"action": "look"}))
        return json.loads(answer["Payload"].read())
    return {"unknown": action}
"#;

const NODE_APP: &str = r#"
const fs = require("fs");
const net = require("net");
const attempt = (f) => { try { return "ok: " + f(); } catch (e) { return (e.code || e.name) + ": " + e.message; } };
const connect = (addr) => new Promise((resolve) => {
  const [host, port] = [addr.slice(0, addr.lastIndexOf(":")), Number(addr.slice(addr.lastIndexOf(":") + 1))];
  const socket = net.connect({ host, port, timeout: 2000 });
  socket.on("connect", () => { socket.destroy(); resolve("ok: connected"); });
  socket.on("error", (e) => resolve(e.code + ": " + e.message));
  socket.on("timeout", () => { socket.destroy(); resolve("timeout"); });
});
exports.handler = async (event) => {
  const out = { uid: process.getuid(), pid: process.pid, read: {}, write: {}, connect: {} };
  for (const p of event.read || []) out.read[p] = attempt(() => fs.readFileSync(p).length);
  for (const p of event.write || []) out.write[p] = attempt(() => { fs.writeFileSync(p, "x"); return "written"; });
  for (const a of event.connect || []) out.connect[a] = await connect(a);
  return out;
};
"#;

fn sample() -> tempfile::TempDir {
    project(&[
        ("template.yaml", TEMPLATE),
        ("py/app.py", PY_APP),
        ("node/index.js", NODE_APP),
    ])
}

/// Invokes `function` through the box's Invoke API with `event`; the function's JSON answer.
fn invoke(addr: SocketAddr, function: &str, event: Value) -> Value {
    let reply = send(
        addr,
        "POST",
        &format!("/2015-03-31/functions/{function}/invocations"),
        &[],
        event.to_string().as_bytes(),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()
}

/// Held while a box of this file starts: a starting box sweeps what dead boxes left, and the
/// kill test needs to be the one that sweeps its own killed box.
static STARTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn up(dir: &Path, extra: &[&str]) -> (Output, SocketAddr) {
    let _turn = STARTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    start_box(dir, extra)
}

fn start_box(dir: &Path, extra: &[&str]) -> (Output, SocketAddr) {
    let mut args = vec!["up", "--http", "--port", "0", "--wait", "600"];
    args.extend(extra);
    let output = esb(dir, &args);
    assert!(
        output.status.success(),
        "esb up failed: {}",
        stderr(&output)
    );
    let addr = box_addr(dir);
    (output, addr)
}

fn state(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join(".esb/run/state.json")).expect("state file");
    serde_json::from_str(&text).expect("state JSON")
}

/// Every value of `answers` must be a failure (not starting with "ok").
fn all_fail(answers: &Value, what: &str) {
    for (key, answer) in answers.as_object().expect("an object of attempts") {
        let answer = answer.as_str().unwrap_or_default();
        assert!(!answer.starts_with("ok"), "{what}: {key} answered {answer}");
    }
}

#[test]
fn hostile_functions_cannot_reach_what_is_not_theirs() {
    let dir = sample();
    let (output, addr) = up(dir.path(), &["--sandbox", "on"]);
    let up_text = stderr(&output);
    assert!(
        up_text.contains("each worker in its own sandbox"),
        "{up_text}"
    );
    let state = state(dir.path());
    let box_pid = state["pid"].as_u64().expect("pid");
    let s3 = state["s3"]
        .as_str()
        .expect("s3")
        .trim_start_matches("http://")
        .to_string();

    // What the function sees: Lambda's user and layout, its own processes only.
    let look = invoke(addr, "Probe", json!({"action": "look"}));
    assert_eq!(look["uid"], 993, "{look}");
    assert_eq!(look["gid"], 990, "{look}");
    assert_eq!(look["runtimeApi"], "127.0.0.1:9001", "{look}");
    assert_eq!(look["taskRoot"], "/var/task", "{look}");
    assert_eq!(look["cwd"], "/var/task", "{look}");
    assert_eq!(look["ppid"], 1, "its init is PID 1: {look}");
    let pids: Vec<u64> = serde_json::from_value(look["pids"].clone()).expect("pids");
    assert!(
        pids.len() <= 3 && pids.contains(&1),
        "only its own processes: {look}"
    );
    assert!(!pids.contains(&box_pid), "{look}");

    // The box's data, keys and other functions' code are not there to read.
    let project = dir.path().display().to_string();
    let home = shared_home().display().to_string();
    let read = invoke(
        addr,
        "Probe",
        json!({"action": "read", "paths": [
            format!("{project}/template.yaml"),
            format!("{project}/.esb/run/state.json"),
            format!("{project}/.esb/functions/Victim/task/app.py"),
            format!("{home}/certs/ca-key.pem"),
            format!("{home}/certs/server-key.pem"),
            "/etc/shadow", "/root/.bash_history",
        ]}),
    );
    all_fail(&read, "reading the host");
    let data_files: Vec<String> = walk(&dir.path().join(".esb/data"))
        .into_iter()
        .take(20)
        .collect();
    assert!(
        !data_files.is_empty(),
        "the embedded services wrote their data"
    );
    all_fail(
        &invoke(
            addr,
            "Probe",
            json!({"action": "read", "paths": data_files}),
        ),
        "reading the S3/DynamoDB data",
    );

    // Code and layers are read-only; only /tmp is writable.
    let write = invoke(
        addr,
        "Probe",
        json!({"action": "write", "paths": ["/var/task/app.py", "/var/task/new", "/opt/new", "/new", "/etc/passwd"]}),
    );
    all_fail(&write, "writing outside /tmp");
    let tmp = invoke(
        addr,
        "Probe",
        json!({"action": "write", "paths": ["/tmp/mine"]}),
    );
    assert!(
        tmp["/tmp/mine"]
            .as_str()
            .is_some_and(|a| a.starts_with("ok")),
        "{tmp}"
    );

    // The host's loopback is out of reach (here: the box's public listener); only the box's
    // services the function's endpoint variables name are relayed in.
    let connect = invoke(
        addr,
        "Probe",
        json!({"action": "connect", "addrs": [addr.to_string()]}),
    );
    all_fail(&connect, "connecting to the host's loopback");
    // The box's S3 is there, at the address the function's endpoint variable names.
    let s3_reach = invoke(addr, "Probe", json!({"action": "connect", "addrs": [s3]}));
    assert!(
        s3_reach
            .as_object()
            .expect("answers")
            .values()
            .all(|a| a.as_str().is_some_and(|a| a.starts_with("ok"))),
        "{s3_reach}"
    );

    // Another worker's Runtime API is in that worker's own network namespace: neither another
    // function nor a local user of the host can connect to it to take or answer its invocations.
    let victim = invoke(addr, "Victim", json!({"action": "look"}));
    let victim_api = victim["runtimeApi"]
        .as_str()
        .expect("runtime API")
        .to_string();
    assert!(
        std::net::TcpStream::connect_timeout(
            &victim_api.parse().expect("address"),
            Duration::from_secs(1)
        )
        .is_err(),
        "the host reaches {victim_api}"
    );

    // The box and other workers cannot be signalled: they are not in the function's world.
    let signal = invoke(
        addr,
        "Probe",
        json!({"action": "signal", "pids": [box_pid]}),
    );
    all_fail(&signal, "signalling");
    assert!(running(box_pid), "the box survived");
    assert_eq!(
        invoke(addr, "Victim", json!({"action": "look"}))["uid"],
        993
    );

    // The same attempts from Node.js.
    let node = invoke(
        addr,
        "NodeProbe",
        json!({"read": [format!("{home}/certs/ca-key.pem"), format!("{project}/template.yaml")],
               "write": ["/var/task/index.js", "/opt/x"],
               "connect": [addr.to_string()]}),
    );
    assert_eq!(node["uid"], 993, "{node}");
    for part in ["read", "write", "connect"] {
        all_fail(&node[part], &format!("node {part}"));
    }

    // Normal use still works: the box's S3 through boto3, a chained invocation.
    let s3_use = invoke(addr, "Probe", json!({"action": "s3"}));
    assert_eq!(s3_use["read"], "from the sandbox", "{s3_use}");
    let chained = invoke(addr, "Probe", json!({"action": "chain"}));
    assert_eq!(chained["uid"], 993, "{chained}");

    let down = esb(dir.path(), &["down"]);
    assert!(down.status.success(), "{}", stderr(&down));
}

#[test]
fn limits_hit_the_function_only() {
    let dir = sample();
    let (_output, addr) = up(dir.path(), &["--sandbox", "on"]);

    // /tmp is EphemeralStorage (512 MB): filling it past that is ENOSPC inside the function.
    let fill = invoke(addr, "Probe", json!({"action": "fill", "mb": 700}));
    assert_eq!(fill["outcome"], "ENOSPC", "{fill}");
    assert!(
        fill["mb"]
            .as_u64()
            .is_some_and(|mb| (400..=512).contains(&mb)),
        "{fill}"
    );

    // Lambda's 1024 processes: a fork bomb stops inside the function.
    let spawn = invoke(addr, "Probe", json!({"action": "spawn", "count": 1100}));
    assert_eq!(spawn["outcome"], "EAGAIN", "{spawn}");
    assert!(
        spawn["started"].as_u64().is_some_and(|n| n < 1024),
        "{spawn}"
    );

    // Past MemorySize the kernel kills the worker: the caller gets Runtime.OutOfMemory.
    let reply = send(
        addr,
        "POST",
        "/2015-03-31/functions/Victim/invocations",
        &[],
        br#"{"action": "alloc", "mb": 400}"#,
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("x-amz-function-error"), Some("Unhandled"));
    assert!(
        reply.text().contains("Runtime.OutOfMemory"),
        "{}",
        reply.text()
    );

    // The box, the other function and a new worker of the killed one keep serving.
    assert_eq!(invoke(addr, "Probe", json!({"action": "look"}))["uid"], 993);
    assert_eq!(
        invoke(addr, "Victim", json!({"action": "look"}))["uid"],
        993
    );
    let fine = invoke(addr, "Victim", json!({"action": "alloc", "mb": 32}));
    assert_eq!(fine["allocated"], 32, "{fine}");

    let down = esb(dir.path(), &["down"]);
    assert!(down.status.success(), "{}", stderr(&down));
}

#[test]
fn two_boxes_with_same_named_functions_share_nothing() {
    let first = sample();
    let second = sample();
    let (_, first_addr) = up(first.path(), &[]);
    let (_, second_addr) = up(second.path(), &[]);
    let one = invoke(
        first_addr,
        "Probe",
        json!({"action": "tmp", "name": "first"}),
    );
    let two = invoke(
        second_addr,
        "Probe",
        json!({"action": "tmp", "name": "second"}),
    );
    assert_eq!(one["tmp"], json!(["first"]), "{one}");
    assert_eq!(two["tmp"], json!(["second"]), "{two}");
    // Each box's workers have cgroups of their own.
    let cgroups = |dir: &Path| {
        let pid = state(dir)["pid"].as_u64().expect("pid");
        instance_cgroups(pid)
    };
    let (a, b) = (cgroups(first.path()), cgroups(second.path()));
    assert!(!a.is_empty() && !b.is_empty(), "{a:?} {b:?}");
    assert!(a.iter().all(|dir| !b.contains(dir)), "{a:?} {b:?}");
    for dir in [&first, &second] {
        let down = esb(dir.path(), &["down"]);
        assert!(down.status.success(), "{}", stderr(&down));
    }
}

const PREWARMED: &str = r#"
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Warm:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: py/
      AutoPublishAlias: live
      ProvisionedConcurrencyConfig: {ProvisionedConcurrentExecutions: 5}
      ReservedConcurrentExecutions: 5
"#;

#[test]
fn a_killed_box_leaves_no_worker_and_the_next_one_sweeps() {
    let dir = project(&[
        ("template.yaml", PREWARMED),
        ("py/app.py", "def handler(event, context):\n    return {}\n"),
    ]);
    let _turn = STARTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (_, _) = start_box(dir.path(), &[]);
    let box_pid = state(dir.path())["pid"].as_u64().expect("pid");
    let mut workers = worker_pids(box_pid);
    assert!(workers.len() >= 5, "five warm workers: {workers:?}");
    // Their outbound networks (slirp4netns, children of the box outside the workers' cgroups).
    let slirps = children_named(box_pid, "slirp4netns");
    assert!(
        slirps.len() >= 5,
        "an outbound network per worker: {slirps:?}"
    );
    workers.extend(slirps);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(box_pid).expect("pid")),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill -9 the box");
    let deadline = Instant::now() + Duration::from_secs(2);
    while workers.iter().any(|pid| running(*pid)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let left: Vec<u64> = workers
        .iter()
        .copied()
        .filter(|pid| running(*pid))
        .collect();
    assert!(left.is_empty(), "workers left 2 s after kill -9: {left:?}");

    let (output, _) = start_box(dir.path(), &[]);
    let text = stderr(&output);
    assert!(
        text.contains("swept what an earlier box left")
            && text.contains(&format!("of box {box_pid}-")),
        "{text}"
    );
    let down = esb(dir.path(), &["down"]);
    assert!(down.status.success(), "{}", stderr(&down));
}

/// The pids of `parent`'s children whose command is `name`.
fn children_named(parent: u64, name: &str) -> Vec<u64> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_string_lossy().parse::<u64>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let Some((head, rest)) = stat.rsplit_once(')') else {
                return false;
            };
            let ppid = rest
                .split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok());
            head.ends_with(&format!("({name}")) && ppid == Some(parent)
        })
        .collect()
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path.display().to_string());
        }
    }
    files
}

/// The workers' cgroup directories of the box with this pid (`esb/<pid>-<start>/<worker>`).
fn instance_cgroups(box_pid: u64) -> Vec<std::path::PathBuf> {
    let root = Path::new("/sys/fs/cgroup");
    let parent = if root.join("cgroup.controllers").is_file() {
        root.join("esb")
    } else {
        root.join("pids/esb")
    };
    let prefix = format!("{box_pid}-");
    std::fs::read_dir(parent)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(&prefix))
        .flat_map(|entry| {
            std::fs::read_dir(entry.path())
                .into_iter()
                .flatten()
                .flatten()
        })
        .map(|worker| worker.path())
        .filter(|path| path.is_dir())
        .collect()
}

/// The host pids of every process in the box's worker cgroups.
fn worker_pids(box_pid: u64) -> Vec<u64> {
    instance_cgroups(box_pid)
        .iter()
        .flat_map(|dir| {
            std::fs::read_to_string(dir.join("cgroup.procs"))
                .unwrap_or_default()
                .lines()
                .filter_map(|line| line.trim().parse().ok())
                .collect::<Vec<u64>>()
        })
        .collect()
}

const RUST_TEMPLATE: &str = r#"
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  RustProbe:
    Type: AWS::Serverless::Function
    Metadata: {BuildMethod: rust-cargolambda}
    Properties:
      Runtime: provided.al2023
      Handler: bootstrap
      CodeUri: rust/
      Environment:
        Variables: {SECRETS: "@SECRETS@"}
"#;

const RUST_MANIFEST: &str = r#"[package]
name = "probe"
version = "0.1.0"
edition = "2021"

[[bin]]
name = "bootstrap"
path = "src/main.rs"
"#;

const RUST_LOCK: &str = r#"version = 3

[[package]]
name = "probe"
version = "0.1.0"
"#;

/// A Rust function with no dependencies, speaking the Runtime API itself: for every event (a
/// JSON string `<address>|<pid>`: a listener on the host and the box's pid) it tries to read
/// the files named in `SECRETS`, write its code, connect to that address and kill the box, and
/// answers what happened as JSON.
const RUST_MAIN: &str = r#"
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

fn outcome<T, E: std::fmt::Display>(result: Result<T, E>) -> String {
    match result { Ok(_) => "ok".to_string(), Err(e) => format!("error: {e}").replace('"', "'") }
}

fn main() {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API").expect("runtime api");
    let secrets = std::env::var("SECRETS").unwrap_or_default();
    loop {
        let mut stream = TcpStream::connect(&api).expect("connect");
        write!(stream, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: r\r\nConnection: close\r\n\r\n").expect("next");
        let mut reader = BufReader::new(stream);
        let mut id = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("head");
            if line.trim().is_empty() { break; }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("lambda-runtime-aws-request-id:") { id = v.trim().to_string(); }
        }
        let mut event = String::new();
        reader.read_to_string(&mut event).expect("body");
        let event = event.trim().trim_matches('"').to_string();
        let (target, box_pid) = event.split_once('|').unwrap_or((event.as_str(), ""));
        let uid = std::fs::read_to_string("/proc/self/status").unwrap_or_default()
            .lines().find(|l| l.starts_with("Uid:")).and_then(|l| l.split_whitespace().nth(1).map(str::to_string)).unwrap_or_default();
        let reads: Vec<String> = secrets.split(':').filter(|p| !p.is_empty()).map(|p| format!("\"{p}\": \"{}\"", outcome(std::fs::read(p)))).collect();
        let write = outcome(std::fs::write("/var/task/planted", "x"));
        let connect = outcome(target.parse::<std::net::SocketAddr>().map_err(|e| e.to_string())
            .and_then(|addr| TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2)).map_err(|e| e.to_string())));
        let kill = match std::process::Command::new("kill").args(["-9", box_pid]).status() {
            Ok(status) if status.success() => "ok".to_string(),
            Ok(status) => format!("error: {status}"),
            Err(e) => format!("error: {e}"),
        };
        let body = format!("{{\"uid\": \"{uid}\", \"read\": {{{}}}, \"write\": \"{write}\", \"connect\": \"{connect}\", \"kill\": \"{kill}\"}}", reads.join(", "));
        let mut answer = TcpStream::connect(&api).expect("connect");
        write!(answer, "POST /2018-06-01/runtime/invocation/{id}/response HTTP/1.1\r\nHost: r\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}", body.len()).expect("respond");
        let mut done = String::new();
        let _ = answer.read_to_string(&mut done);
    }
}
"#;

#[test]
fn a_hostile_rust_function_is_confined_too() {
    let home = shared_home();
    let dir = project(&[
        ("rust/Cargo.toml", RUST_MANIFEST),
        ("rust/Cargo.lock", RUST_LOCK),
        ("rust/src/main.rs", RUST_MAIN),
    ]);
    let secrets = [
        dir.path().join("rust/Cargo.toml"),
        home.join("certs/ca-key.pem"),
        dir.path().join(".esb/run/state.json"),
    ]
    .iter()
    .map(|p| p.display().to_string())
    .collect::<Vec<_>>()
    .join(":");
    std::fs::write(
        dir.path().join("template.yaml"),
        RUST_TEMPLATE.replace("@SECRETS@", &secrets),
    )
    .expect("template");
    let (_, addr) = up(dir.path(), &["--sandbox", "on"]);
    let box_pid = state(dir.path())["pid"].as_u64().expect("pid");
    let event = json!(format!("{addr}|{box_pid}"));
    let answer = invoke(addr, "RustProbe", event.clone());
    assert_eq!(answer["uid"], "993", "{answer}");
    all_fail(&answer["read"], "rust reading the host");
    assert_eq!(
        answer["read"].as_object().map(|r| r.len()),
        Some(3),
        "{answer}"
    );
    for attempt in ["write", "connect", "kill"] {
        let outcome = answer[attempt].as_str().unwrap_or_default();
        assert!(outcome.starts_with("error"), "rust {attempt}: {answer}");
    }
    assert!(running(box_pid), "the box survived");
    let again = invoke(addr, "RustProbe", event);
    assert_eq!(
        again["uid"], "993",
        "the box and the worker still serve: {again}"
    );
    let down = esb(dir.path(), &["down"]);
    assert!(down.status.success(), "{}", stderr(&down));
}

/// A host outside the box for the outbound-network test: a network namespace of this test's
/// own, joined to the host by a veth pair, with a TCP listener in it. Removed on drop.
struct TestHost {
    namespace: String,
    addr: SocketAddr,
    listener: std::process::Child,
}

impl TestHost {
    fn start() -> TestHost {
        let n = std::process::id() % 200 + 20;
        let namespace = format!("esb-egress-{n}");
        let (outside, inside) = (format!("esbeg{n}h"), format!("esbeg{n}n"));
        let (host_ip, test_ip) = (format!("10.231.{n}.1"), format!("10.231.{n}.2"));
        let ip = |args: &[&str]| {
            let status = std::process::Command::new("ip")
                .args(args)
                .status()
                .expect("ip (iproute2)");
            assert!(status.success(), "ip {args:?}");
        };
        // What an earlier run that was killed may have left.
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &namespace])
            .stderr(std::process::Stdio::null())
            .status();
        ip(&["netns", "add", &namespace]);
        ip(&[
            "link", "add", &outside, "type", "veth", "peer", "name", &inside,
        ]);
        ip(&["link", "set", &inside, "netns", &namespace]);
        ip(&["addr", "add", &format!("{host_ip}/30"), "dev", &outside]);
        ip(&["link", "set", &outside, "up"]);
        let in_ns = |args: &[&str]| {
            let mut all = vec!["netns", "exec", namespace.as_str(), "ip"];
            all.extend_from_slice(args);
            ip(&all);
        };
        in_ns(&["addr", "add", &format!("{test_ip}/30"), "dev", &inside]);
        in_ns(&["link", "set", &inside, "up"]);
        in_ns(&["link", "set", "lo", "up"]);
        let listener = std::process::Command::new("ip")
            .args(["netns", "exec", &namespace, "python3", "-c"])
            .arg(format!(
                "import socket, time\n\
                 s = socket.socket(); s.bind(('{test_ip}', 8080)); s.listen(8)\n\
                 s.settimeout(120)\n\
                 while True:\n    c, _ = s.accept(); c.sendall(b'hello'); c.close()\n"
            ))
            .spawn()
            .expect("a listener in the test host");
        let addr: SocketAddr = format!("{test_ip}:8080").parse().expect("address");
        // Listening once the host reaches it through the veth pair.
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(Instant::now() < deadline, "the test host does not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        TestHost {
            namespace,
            addr,
            listener,
        }
    }
}

impl Drop for TestHost {
    fn drop(&mut self) {
        let _ = self.listener.kill();
        let _ = self.listener.wait();
        // Deleting the namespace deletes the veth pair with it.
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.namespace])
            .status();
    }
}

#[test]
fn isolated_workers_reach_out_unless_egress_is_off() {
    let host = TestHost::start();
    let target = host.addr.to_string();
    let with = sample();
    let (output, addr) = up(with.path(), &["--sandbox", "on"]);
    assert!(
        stderr(&output).contains("network with outbound access"),
        "{}",
        stderr(&output)
    );
    let reached = invoke(
        addr,
        "Probe",
        json!({"action": "connect", "addrs": [target]}),
    );
    assert!(
        reached[&target]
            .as_str()
            .is_some_and(|a| a.starts_with("ok")),
        "{reached}"
    );
    // The outbound network does not open the host's loopback: slirp4netns refuses it.
    let loopback = invoke(
        addr,
        "Probe",
        json!({"action": "connect", "addrs": ["10.0.2.2:22", addr.to_string()]}),
    );
    all_fail(
        &loopback,
        "the host's loopback through the outbound network",
    );

    let without = sample();
    let (output, addr) = up(without.path(), &["--sandbox", "on", "--egress", "false"]);
    assert!(
        stderr(&output).contains("without outbound access: egress = false"),
        "{}",
        stderr(&output)
    );
    let cut = invoke(
        addr,
        "Probe",
        json!({"action": "connect", "addrs": [target]}),
    );
    all_fail(&cut, "egress = false");
    for dir in [&with, &without] {
        let down = esb(dir.path(), &["down"]);
        assert!(down.status.success(), "{}", stderr(&down));
    }
    drop(host);
}
