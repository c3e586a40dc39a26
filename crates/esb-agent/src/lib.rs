//! Edge Serverless Box agent: runs function workers on this node and serves each its own
//! Lambda Runtime API.
//!
//! `invoker` is the invoke lifecycle over warm pools, `invoke` its vocabulary (shared by every
//! front end), `worker` one execution environment's lifecycle, `driver` the seam below it (where
//! a worker's processes run: `driver::process`), `catalog` turns a built function into a worker
//! spec, `runtime_api` is the per-worker Runtime API server, `runtimes` how each Lambda runtime
//! starts, `environment` the variables a worker gets, `logs` the worker log stream.

pub mod catalog;
pub mod driver;
pub mod environment;
#[doc(hidden)]
pub mod fuzzing;
pub mod invoke;
pub mod invoker;
pub mod logs;
pub mod registry;
pub mod runtime_api;
pub mod runtimes;
pub mod worker;

pub use driver::Driver;
pub use invoke::{BodyStream, FunctionError, InvokeInput, InvokeResult, WorkerError};
pub use invoker::{InvokeError, Invoker, InvokerConfig};
pub use runtime_api::{
    Invocation, InvocationOutcome, ResponseStream, RuntimeApi, RuntimeApiError, StreamError,
};
pub use worker::{Worker, WorkerSpec};
