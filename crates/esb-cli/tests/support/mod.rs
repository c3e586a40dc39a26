//! Helpers shared by esb-cli's integration tests: running `esb` on a project, raw HTTP
//! requests, data services on their own, Python with boto3. Each test file uses a part of them,
//! so the rest is dead code in that file's test crate.
#![allow(dead_code)]

pub mod http;
pub mod project;
pub mod services;
