//! A driver with no processes, for lifecycle tests: each worker is a task that speaks the
//! Runtime API over the socket the driver bound, like a runtime interface client would, and
//! does what each event asks (`{"fake": "echo" | "error" | "crash" | "oom" | "hang"}`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{
    BoxFuture, CodeView, Driver, DriverError, Exit, Isolation, Launch, Sandbox, Swept, Usage,
};
use crate::runtime_api::RuntimeApi;

/// How a fake worker's init goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FakeInit {
    /// Asks for its first invocation at once.
    Ready,
    /// Posts `/init/error`.
    Error,
    /// Exits with status 1 before asking for anything.
    Exit,
    /// The driver cannot start it at all.
    Refuse,
}

#[derive(Debug)]
pub(crate) struct FakeDriver {
    init: FakeInit,
    pub(crate) started: AtomicUsize,
    /// The last launch, for tests that check what the worker was given.
    pub(crate) last_launch: std::sync::Mutex<Option<Launch>>,
}

impl FakeDriver {
    pub(crate) fn new(init: FakeInit) -> Arc<FakeDriver> {
        Arc::new(FakeDriver {
            init,
            started: AtomicUsize::new(0),
            last_launch: std::sync::Mutex::new(None),
        })
    }
}

#[derive(Debug)]
struct FakeSandbox {
    exits: Vec<watch::Receiver<Option<Exit>>>,
    exit_tx: Arc<watch::Sender<Option<Exit>>>,
    oom: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl Driver for FakeDriver {
    fn isolation(&self) -> Isolation {
        Isolation {
            driver: "fake".into(),
            sandboxed: false,
            summary: "tasks of the test process".into(),
        }
    }

    fn code_view(&self) -> CodeView {
        CodeView::Lambda
    }

    fn start<'a>(
        &'a self,
        launch: Launch,
        api: &'a RuntimeApi,
    ) -> BoxFuture<'a, Result<Box<dyn Sandbox>, DriverError>> {
        Box::pin(async move {
            if self.init == FakeInit::Refuse {
                return Err(DriverError::start("the fake refuses"));
            }
            self.started.fetch_add(1, Ordering::Relaxed);
            let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
                .await
                .map_err(|e| DriverError::start(e.to_string()))?;
            let addr = api
                .serve(listener)
                .map_err(|e| DriverError::start(e.to_string()))?;
            *self
                .last_launch
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(launch);
            let (exit_tx, exit) = watch::channel(None);
            let exit_tx = Arc::new(exit_tx);
            let oom = Arc::new(AtomicBool::new(false));
            let task = tokio::spawn(run(addr, self.init, Arc::clone(&exit_tx), Arc::clone(&oom)));
            Ok(Box::new(FakeSandbox {
                exits: vec![exit],
                exit_tx,
                oom,
                task,
            }) as Box<dyn Sandbox>)
        })
    }

    fn sweep(&self) -> Swept {
        Swept::default()
    }

    fn release(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

impl Sandbox for FakeSandbox {
    fn exits(&self) -> &[watch::Receiver<Option<Exit>>] {
        &self.exits
    }

    fn kill(&self) {
        self.task.abort();
        self.exit_tx.send_if_modified(|exit| {
            let first = exit.is_none();
            if first {
                *exit = Some(Exit {
                    code: None,
                    signal: Some(9),
                });
            }
            first
        });
    }

    fn oom_killed(&self) -> bool {
        self.oom.load(Ordering::Relaxed)
    }

    fn peak_memory_mb(&self) -> u64 {
        42
    }

    fn usage(&self) -> Option<Usage> {
        self.exit_tx.borrow().is_none().then_some(Usage {
            memory_mb: 42.0,
            cpu_seconds: 0.0,
        })
    }
}

impl Drop for FakeSandbox {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The fake runtime: init as configured, then one invocation after another.
async fn run(
    addr: SocketAddr,
    init: FakeInit,
    exit: Arc<watch::Sender<Option<Exit>>>,
    oom: Arc<AtomicBool>,
) {
    let exit_with = |code: Option<i32>, signal: Option<i32>| {
        let _ = exit.send(Some(Exit { code, signal }));
    };
    let Ok(stream) = TcpStream::connect(addr).await else {
        return exit_with(Some(2), None);
    };
    let mut connection = BufReader::new(stream);
    match init {
        FakeInit::Exit => return exit_with(Some(1), None),
        FakeInit::Error => {
            let body = r#"{"errorMessage":"bad handler","errorType":"Runtime.ImportModuleError"}"#;
            let _ = request(
                &mut connection,
                "POST",
                "/2018-06-01/runtime/init/error",
                body,
            )
            .await;
            // A runtime exits after reporting its init error.
            return exit_with(Some(1), None);
        }
        FakeInit::Ready | FakeInit::Refuse => {}
    }
    loop {
        let Ok((request_id, event)) = request(
            &mut connection,
            "GET",
            "/2018-06-01/runtime/invocation/next",
            "",
        )
        .await
        else {
            return exit_with(Some(1), None);
        };
        let command = serde_json::from_str::<serde_json::Value>(&event)
            .ok()
            .and_then(|v| v.get("fake").and_then(|c| c.as_str()).map(str::to_owned));
        let path = |kind: &str| format!("/2018-06-01/runtime/invocation/{request_id}/{kind}");
        let answered = match command.as_deref() {
            Some("crash") => return exit_with(Some(1), None),
            Some("oom") => {
                oom.store(true, Ordering::Relaxed);
                return exit_with(None, Some(9));
            }
            Some("hang") => std::future::pending().await,
            Some("error") => {
                let body = r#"{"errorMessage":"boom","errorType":"Exception"}"#;
                request(&mut connection, "POST", &path("error"), body).await
            }
            _ => request(&mut connection, "POST", &path("response"), &event).await,
        };
        if answered.is_err() {
            return exit_with(Some(1), None);
        }
    }
}

/// One HTTP/1.1 exchange on the keep-alive connection: the response's request id header (if
/// any) and body.
async fn request(
    connection: &mut BufReader<TcpStream>,
    method: &str,
    path: &str,
    body: &str,
) -> std::io::Result<(String, String)> {
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: runtime\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    connection.get_mut().write_all(head.as_bytes()).await?;
    connection.get_mut().write_all(body.as_bytes()).await?;
    let (mut request_id, mut length) = (String::new(), 0usize);
    loop {
        let mut line = String::new();
        if connection.read_line(&mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap_or(0),
                "lambda-runtime-aws-request-id" => request_id = value.trim().to_owned(),
                _ => {}
            }
        }
    }
    let mut body = vec![0; length];
    connection.read_exact(&mut body).await?;
    Ok((request_id, String::from_utf8_lossy(&body).into_owned()))
}
