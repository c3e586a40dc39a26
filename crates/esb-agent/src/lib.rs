//! Edge Serverless Box agent: runs function workers on this node and serves each its own
//! Lambda Runtime API.
//!
//! `invoker` is the invoke lifecycle over warm pools, `catalog` turns a built function into a
//! worker spec, `runtime_api` is the per-worker Runtime API server, `process` the process driver (a worker
//! is a child process), `runtimes` how each Lambda runtime starts, `environment` the variables
//! a worker gets, `logs` the worker log stream.

pub mod catalog;
pub mod environment;
pub mod invoker;
pub mod logs;
pub mod process;
pub mod registry;
pub mod runtime_api;
pub mod runtimes;

pub use invoker::{InvokeError, Invoker, InvokerConfig};
pub use process::{
    BodyStream, FunctionError, InvokeInput, InvokeResult, ProcessWorker, WorkerError, WorkerSpec,
};
pub use runtime_api::{
    Invocation, InvocationOutcome, ResponseStream, RuntimeApi, RuntimeApiError, StreamError,
};
