//! Forwards SIGTERM and SIGINT received by the init to what it runs, from a thread.
//!
//! Catching them matters twice: the box (or a terminal) stops a worker with them, and PID 1 of
//! a namespace does not even receive a signal it has no handler for.

use std::io;
use std::thread;

use nix::sys::signal::Signal;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// The signals caught and forwarded.
const FORWARDED: [i32; 2] = [SIGTERM, SIGINT];

/// Signals caught from now on, forwarded once [`Caught::forward`] starts the thread. Catching
/// starts early (a signal that arrives meanwhile waits in the queue), the thread may only start
/// later (see the callers).
#[derive(Debug)]
pub struct Caught(Signals);

impl Caught {
    /// Installs the handlers.
    pub fn new() -> io::Result<Self> {
        Signals::new(FORWARDED).map(Caught)
    }

    /// Starts a thread that calls `to` with every signal caught, in order.
    pub fn forward(mut self, to: impl Fn(Signal) + Send + 'static) -> io::Result<()> {
        thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                for number in self.0.forever() {
                    if let Ok(signal) = Signal::try_from(number) {
                        to(signal);
                    }
                }
            })
            .map(drop)
    }
}
