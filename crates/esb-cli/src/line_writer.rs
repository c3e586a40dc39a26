//! Log lines written off the request path: callers append a finished line to a shared buffer
//! and a dedicated thread writes the buffer out every few milliseconds in one batch. Producers
//! never wake the thread per line (no syscall, no context switch on the request path); they
//! only wake it early when the buffer is full.
//!
//! A log must never cost the box its memory or its life: when the output fails (a full disk)
//! the thread keeps going, drops what it cannot write and says so once, and when the output is
//! slower than the producers (a terminal that stopped reading) the buffer stops growing at
//! [`LIMIT`] lines and later ones are dropped and counted.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

/// Lines buffered before a producer wakes the writer early.
const CAPACITY: usize = 16_384;
/// Lines buffered at most; more are dropped until the writer catches up.
const LIMIT: usize = 4 * CAPACITY;
/// How long lines may wait before they are written.
const INTERVAL: Duration = Duration::from_millis(20);

#[derive(Debug, Default)]
struct Shared {
    lines: Mutex<Buffer>,
    wake: Condvar,
}

#[derive(Debug, Default)]
struct Buffer {
    lines: Vec<String>,
    /// Lines producers dropped because the buffer was at its limit.
    dropped: u64,
    stop: bool,
}

/// The sending side; cheap to clone. Dropping the last clone flushes and stops the thread.
#[derive(Debug, Clone)]
pub struct LineWriter {
    shared: Arc<Shared>,
    _stop: Arc<StopOnDrop>,
}

#[derive(Debug)]
struct StopOnDrop(Arc<Shared>, Mutex<Option<std::thread::JoinHandle<()>>>);

impl Drop for StopOnDrop {
    /// Writes what is left before the process may exit.
    fn drop(&mut self) {
        self.0
            .lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .stop = true;
        self.0.wake.notify_one();
        if let Some(thread) = self.1.lock().unwrap_or_else(PoisonError::into_inner).take() {
            let _ = thread.join();
        }
    }
}

impl LineWriter {
    /// Starts the writer thread for `out`.
    pub fn spawn(name: &str, out: Box<dyn Write + Send>) -> std::io::Result<LineWriter> {
        let shared = Arc::new(Shared::default());
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("esb-log-{name}"))
            .spawn({
                let name = name.to_string();
                move || write_lines(&name, &thread_shared, out)
            })?;
        Ok(LineWriter {
            _stop: Arc::new(StopOnDrop(Arc::clone(&shared), Mutex::new(Some(thread)))),
            shared,
        })
    }

    /// Queues one line (without its newline).
    pub fn line(&self, line: String) {
        let mut guard = self
            .shared
            .lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if guard.lines.len() >= LIMIT {
            guard.dropped += 1;
            return;
        }
        guard.lines.push(line);
        if guard.lines.len() >= CAPACITY {
            self.shared.wake.notify_one();
        }
    }
}

fn write_lines(name: &str, shared: &Shared, out: Box<dyn Write + Send>) {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
    let mut batch = Vec::new();
    // Lines lost since the output last worked, and whether it is failing now.
    let (mut lost, mut failing) = (0u64, false);
    loop {
        let (stopping, dropped) = {
            let guard = shared.lines.lock().unwrap_or_else(PoisonError::into_inner);
            let (mut guard, _) = shared
                .wake
                .wait_timeout_while(guard, INTERVAL, |buffer| {
                    buffer.lines.len() < CAPACITY && !buffer.stop
                })
                .unwrap_or_else(PoisonError::into_inner);
            std::mem::swap(&mut batch, &mut guard.lines);
            (guard.stop, std::mem::take(&mut guard.dropped))
        };
        lost += dropped;
        let count = batch.len() as u64;
        let written = batch.drain(..).try_for_each(|line| {
            out.write_all(line.as_bytes())
                .and_then(|()| out.write_all(b"\n"))
        });
        match written.and_then(|()| out.flush()) {
            Ok(()) => {
                if lost > 0 {
                    tracing::warn!(
                        log = name,
                        lost,
                        "log lines were dropped while the log could not keep up or be written"
                    );
                }
                (lost, failing) = (0, false);
            }
            Err(error) => {
                if !failing {
                    tracing::warn!(log = name, %error, "cannot write the log; dropping its lines until it can be written again");
                }
                failing = true;
                lost += count;
                // What the buffered writer still holds is part of the failed batch: drop it,
                // or it would be written out of order, or grow, on the next try.
                let (inner, _) = out.into_parts();
                out = std::io::BufWriter::with_capacity(64 * 1024, inner);
            }
        }
        if stopping {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::Error::other("poisoned"))?
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Fails every write while `failing` is set.
    #[derive(Clone, Default)]
    struct Flaky {
        sink: Shared,
        failing: Arc<std::sync::atomic::AtomicBool>,
    }

    impl Write for Flaky {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(std::io::Error::from(std::io::ErrorKind::StorageFull));
            }
            self.sink.write(buf)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn buffered(writer: &LineWriter) -> usize {
        writer.shared.lines.lock().expect("lock").lines.len()
    }

    #[test]
    fn a_failing_output_costs_lines_not_memory_and_writing_resumes() {
        let flaky = Flaky::default();
        flaky
            .failing
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let writer = LineWriter::spawn("test", Box::new(flaky.clone())).expect("thread");
        for i in 0..(3 * LIMIT) {
            writer.line(format!("lost {i}"));
            assert!(buffered(&writer) <= LIMIT);
        }
        // The writer thread is still there: once the output works again, lines arrive.
        std::thread::sleep(INTERVAL * 5);
        flaky
            .failing
            .store(false, std::sync::atomic::Ordering::SeqCst);
        std::thread::sleep(INTERVAL * 5);
        writer.line("kept".to_string());
        drop(writer);
        let written = String::from_utf8(flaky.sink.0.lock().expect("lock").clone()).expect("utf8");
        assert!(written.ends_with("kept\n"), "{written:?}");
        assert!(
            !written.contains("lost"),
            "{}",
            &written[..written.len().min(200)]
        );
    }

    #[test]
    fn lines_arrive_in_order_and_whole() {
        let sink = Shared::default();
        let writer = LineWriter::spawn("test", Box::new(sink.clone())).expect("thread");
        for i in 0..1000 {
            writer.line(format!("line {i}"));
        }
        drop(writer);
        let expected: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        // Dropping the writer waited for the thread to write everything.
        assert_eq!(
            String::from_utf8(sink.0.lock().expect("lock").clone()).expect("utf8"),
            expected
        );
    }
}
