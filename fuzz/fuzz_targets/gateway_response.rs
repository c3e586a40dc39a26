//! A function's output (any bytes) through the gateway's response mappers: REST (payload 1.0,
//! with and without binary media types) and HTTP API (payload 2.0). Any result is fine; an
//! error must be the 502 API Gateway answers; a panic is a bug.

#![no_main]

use esb_gateway::{http_api_response, rest_response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|output: &[u8]| {
    for result in [
        rest_response(output, true),
        rest_response(output, false),
        http_api_response(output),
    ] {
        if let Err(error) = result {
            assert_eq!(error.response().status(), http::StatusCode::BAD_GATEWAY);
        }
    }
});
