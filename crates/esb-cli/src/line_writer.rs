//! Log lines written off the request path: callers append a finished line to a shared buffer
//! and a dedicated thread writes the buffer out every few milliseconds in one batch. Producers
//! never wake the thread per line (no syscall, no context switch on the request path); they
//! only wake it early when the buffer is full.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

/// Lines buffered before a producer wakes the writer early.
const CAPACITY: usize = 16_384;
/// How long lines may wait before they are written.
const INTERVAL: Duration = Duration::from_millis(20);

#[derive(Debug, Default)]
struct Shared {
    lines: Mutex<(Vec<String>, bool)>,
    wake: Condvar,
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
            .1 = true;
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
            .spawn(move || write_lines(&thread_shared, out))?;
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
        guard.0.push(line);
        if guard.0.len() >= CAPACITY {
            self.shared.wake.notify_one();
        }
    }
}

fn write_lines(shared: &Shared, out: Box<dyn Write + Send>) {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
    let mut batch = Vec::new();
    loop {
        let stopping = {
            let guard = shared.lines.lock().unwrap_or_else(PoisonError::into_inner);
            let (mut guard, _) = shared
                .wake
                .wait_timeout_while(guard, INTERVAL, |(lines, stop)| {
                    lines.len() < CAPACITY && !*stop
                })
                .unwrap_or_else(PoisonError::into_inner);
            std::mem::swap(&mut batch, &mut guard.0);
            guard.1
        };
        for line in batch.drain(..) {
            if out
                .write_all(line.as_bytes())
                .and_then(|()| out.write_all(b"\n"))
                .is_err()
            {
                return;
            }
        }
        if out.flush().is_err() || stopping {
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
