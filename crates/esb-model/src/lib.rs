//! Shared vocabulary of Edge Serverless Box.
//!
//! `Project` is what a SAM template resolves to: functions, layers, APIs with their routes,
//! tables and buckets, every intrinsic already evaluated. `artifacts` holds the file formats
//! that `esb build` writes under `.esb/config/` and every other role reads.

pub mod api;
pub mod artifacts;
pub mod credentials;
pub mod function;
pub mod ids;
pub mod project;
pub mod runtime;
pub mod storage;
pub mod usage_plan;

pub use api::{
    Api, ApiAuth, ApiKind, Authorizer, Cors, MethodThrottling, ParameterLocation, RequestParameter,
    RequestValidation, Route, RouteAuth, RouteKind, Throttle,
};
pub use function::{
    Architecture, DEFAULT_EPHEMERAL_STORAGE, DEFAULT_MEMORY_SIZE, DEFAULT_TIMEOUT, Event, Function,
    FunctionUrl, Layer, LayerRef, PackageType,
};
pub use project::{Project, UnsupportedResource};
pub use storage::{
    AttributeDefinition, Bucket, BucketCorsRule, KeyElement, KeyType, LifecycleRule, Projection,
    SecondaryIndex, Table,
};
pub use usage_plan::{ApiKey, ApiStage, Quota, QuotaPeriod, UsagePlan};
