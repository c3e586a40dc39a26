//! Function log lines as the CLI shows and keeps them: on the terminal (stderr) and as JSON
//! lines in a file under `.esb/logs/`, both written off the request path by [`LineWriter`]s.

use std::path::Path;

use esb_agent::logs::{LogLine, LogSink};
use miette::{IntoDiagnostic, miette};

use crate::line_writer::LineWriter;

/// How lines appear on the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Terminal {
    /// As the function wrote them (`esb invoke`: one function).
    Plain,
    /// Prefixed with `[FunctionName]` (`esb up`: many functions).
    Tagged,
    /// Not at all (`esb invoke --log-type tail` prints the tail instead).
    Off,
}

#[derive(Debug)]
pub struct FunctionLog {
    terminal: Terminal,
    stderr: Option<LineWriter>,
    file: LineWriter,
}

impl FunctionLog {
    /// Appends JSON lines to `path`, creating its directory.
    pub fn open(path: &Path, terminal: Terminal) -> miette::Result<FunctionLog> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).into_diagnostic()?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| miette!("cannot open the log file {}: {e}", path.display()))?;
        let stderr = match terminal {
            Terminal::Off => None,
            _ => Some(LineWriter::spawn("stderr", Box::new(std::io::stderr())).into_diagnostic()?),
        };
        Ok(FunctionLog {
            terminal,
            stderr,
            file: LineWriter::spawn("file", Box::new(file)).into_diagnostic()?,
        })
    }
}

impl LogSink for FunctionLog {
    fn write(&self, line: LogLine) {
        if let Some(stderr) = &self.stderr {
            stderr.line(match self.terminal {
                Terminal::Tagged => format!("[{}] {}", line.function, line.text),
                _ => line.text.clone(),
            });
        }
        let record = serde_json::json!({
            "time_ms": line.time.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64),
            "function": line.function,
            "worker": line.worker_id,
            "aws_request_id": line.request_id,
            "stream": format!("{:?}", line.source).to_lowercase(),
            "message": line.text,
        });
        self.file.line(record.to_string());
    }
}
