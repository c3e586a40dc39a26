//! Writes [`Report`] lines back to the box on the init's standard input (a Unix stream socket,
//! so it is writable too).

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::sync::Mutex;

use crate::spec::Report;

/// The write side of the box's socket. Every thread of the init reports through one of these,
/// so one mutex keeps lines whole.
#[derive(Debug)]
pub struct Reporter {
    /// A duplicate of fd 0 (close-on-exec, so no program inherits it); `None` when fd 0 is not
    /// open, in which case reports go nowhere, as they would to a box that is gone.
    out: Mutex<Option<File>>,
}

impl Reporter {
    /// A reporter on a duplicate of standard input.
    pub fn on_stdin() -> Self {
        let out = io::stdin()
            .as_fd()
            .try_clone_to_owned()
            .ok()
            .map(File::from);
        Reporter {
            out: Mutex::new(out),
        }
    }

    /// Writes one JSON line. Errors are ignored: the box may be gone, and then nobody is left
    /// to tell (the reader thread sees the end of the socket and stops the worker).
    pub fn send(&self, report: &Report) {
        let Ok(mut line) = serde_json::to_vec(report) else {
            return;
        };
        line.push(b'\n');
        // A poisoned lock only means another thread panicked mid-write; keep reporting.
        let mut out = self
            .out
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(out) = out.as_mut() {
            let _ = out.write_all(&line);
        }
    }

    /// Reports a failure.
    pub fn failed(&self, message: impl Into<String>) {
        self.send(&Report::Failed {
            message: message.into(),
        });
    }
}
