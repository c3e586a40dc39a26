//! The gateway's core, free of any socket: it matches a request to an API Gateway route
//! ([`Router`]), builds the Lambda proxy event a function receives ([`rest_event`] for REST
//! APIs, payload format 1.0; [`http_api_event`] for HTTP APIs, payload format 2.0), and turns the
//! function's output back into an HTTP response ([`rest_response`], [`http_api_response`]).
//!
//! Every function here is pure and total: no input (method, path, headers, body, function
//! output) makes it panic.
//!
//! Around that core: `app` handles one request (health, the Lambda Invoke API in
//! `lambda_api`, or a route to a function), `server` serves HTTP/1.1 and HTTP/2 over TLS
//! (`tls`) or plain TCP with a graceful drain, and `boot` brings the whole box up from a build.

pub mod app;
pub mod auth;
mod binary;
pub mod body;
pub mod boot;
pub mod breaker;
pub mod builtin;
pub mod connection;
pub mod cors;
mod events;
pub mod function_url;
mod host;
pub mod lambda_api;
pub mod limits;
pub mod listen;
pub mod metrics;
mod response;
mod router;
mod server;
mod streamed;
mod time;
pub mod tls;

pub use binary::{is_textual_media_type, matches_media_types};
pub use events::http_api::{
    HttpApiEvent, HttpApiHttpContext, HttpApiRequestContext, http_api_event,
};
pub use events::rest::{RestEvent, RestIdentity, RestRequestContext, rest_event};
pub use events::{ACCOUNT_ID, EventContext};
pub use response::{ResponseError, http_api_response, internal_server_error, rest_response};
pub use router::{DEFAULT_ROUTE, Matched, RouteMatch, Router, UrlForm};
pub use time::format_request_time;
