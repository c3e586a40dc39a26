//! End-to-end tests of the `esb-init` binary, run as root: `lifecycle` covers the PID-1 duties
//! (reports, stopping, signals, cgroups, failures), `sandbox` what the programs can see and do.
#![allow(clippy::unwrap_used)]

mod harness;
mod lifecycle;
mod sandbox;
