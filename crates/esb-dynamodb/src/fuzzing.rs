//! Entry points for the fuzz targets in `fuzz/` (docs/fuzzing.md), not part of the crate's
//! API: each reaches code that is private to the crate without making that code public.

use http::HeaderMap;

use crate::sigv4::{self, Credential, Signed};

/// Verifies a request's SigV4 signature (`Authorization` header or presigned query) for the
/// `dynamodb` service against `credentials` at `now` (Unix seconds), as [`crate::handle`]
/// does; the refusal is returned as its debug text.
#[allow(clippy::too_many_arguments)]
pub fn verify_sigv4(
    method: &str,
    path: &str,
    query: &str,
    authority: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    credentials: &[Credential],
    now: i64,
) -> Result<(), String> {
    let signed = Signed {
        method,
        path,
        query,
        authority,
        headers,
        body,
    };
    sigv4::verify(&signed, credentials, "dynamodb", now).map_err(|e| format!("{e:?}"))
}
