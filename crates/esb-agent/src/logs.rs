//! A worker's log stream: every line the function prints, tagged with the function, the worker
//! and the request it belongs to, plus the `START`/`END`/`REPORT` lines Lambda writes.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

/// Where a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogSource {
    Stdout,
    Stderr,
    /// Written by the platform (`START`, `END`, `REPORT`, platform errors).
    Platform,
}

/// One line of a function's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub time: SystemTime,
    pub function: String,
    pub worker_id: String,
    /// The invocation in progress when the line was written, if any (init output has none).
    pub request_id: Option<String>,
    pub source: LogSource,
    pub text: String,
}

/// Receives log lines; the CLI prints them, later the logs service stores them.
pub trait LogSink: Send + Sync + 'static {
    fn write(&self, line: LogLine);
}

pub(crate) fn start_line(request_id: &str) -> String {
    format!("START RequestId: {request_id} Version: $LATEST")
}

pub(crate) fn end_line(request_id: &str) -> String {
    format!("END RequestId: {request_id}")
}

/// The numbers of one invocation's `REPORT` line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Report {
    pub duration: Duration,
    pub memory_size_mb: u32,
    pub max_memory_used_mb: u64,
    pub init_duration: Option<Duration>,
}

pub(crate) fn report_line(request_id: &str, report: &Report) -> String {
    let millis = report.duration.as_secs_f64() * 1000.0;
    // Lambda bills whole milliseconds, rounding up, at least 1 ms.
    let billed = (millis.ceil() as u64).max(1);
    let mut line = format!(
        "REPORT RequestId: {request_id}\tDuration: {millis:.2} ms\tBilled Duration: {billed} ms\t\
         Memory Size: {} MB\tMax Memory Used: {} MB",
        report.memory_size_mb, report.max_memory_used_mb
    );
    if let Some(init) = report.init_duration {
        line.push_str(&format!(
            "\tInit Duration: {:.2} ms",
            init.as_secs_f64() * 1000.0
        ));
    }
    line
}

/// The last bytes of one invocation's log, for `X-Amz-Log-Result` / `--log-type tail`.
#[derive(Debug, Default)]
pub(crate) struct Tail {
    lines: VecDeque<String>,
    bytes: usize,
}

/// Lambda returns the last 4 KB.
pub(crate) const TAIL_BYTES: usize = 4096;

impl Tail {
    pub(crate) fn push(&mut self, line: &str) {
        self.lines.push_back(format!("{line}\n"));
        self.bytes += line.len() + 1;
        while self.bytes > TAIL_BYTES && self.lines.len() > 1 {
            if let Some(front) = self.lines.pop_front() {
                self.bytes -= front.len();
            }
        }
    }

    /// The tail as text, cut to the last `TAIL_BYTES` bytes on a character boundary.
    pub(crate) fn text(&self) -> String {
        let text: String = self.lines.iter().map(String::as_str).collect();
        let mut start = text.len().saturating_sub(TAIL_BYTES);
        while !text.is_char_boundary(start) {
            start += 1;
        }
        text[start..].to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_lines_look_like_lambdas() {
        let report = Report {
            duration: Duration::from_micros(1_234),
            memory_size_mb: 128,
            max_memory_used_mb: 40,
            init_duration: Some(Duration::from_micros(98_765)),
        };
        assert_eq!(
            report_line("r1", &report),
            "REPORT RequestId: r1\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\t\
             Max Memory Used: 40 MB\tInit Duration: 98.77 ms"
        );
        assert_eq!(start_line("r1"), "START RequestId: r1 Version: $LATEST");
        assert_eq!(end_line("r1"), "END RequestId: r1");
    }

    #[test]
    fn tail_keeps_the_last_four_kilobytes() {
        let mut tail = Tail::default();
        for i in 0..1000 {
            tail.push(&format!("line {i}"));
        }
        let text = tail.text();
        assert!(text.len() <= TAIL_BYTES);
        assert!(text.ends_with("line 999\n"));
        let mut one = Tail::default();
        one.push(&"é".repeat(3000));
        assert!(one.text().len() <= TAIL_BYTES);
    }
}
