//! AWS Signature Version 4 verification of DynamoDB requests.
//!
//! Two forms, as the AWS SDKs and tools send them: the `Authorization: AWS4-HMAC-SHA256 …`
//! header, and presigned query-string parameters (`X-Amz-Algorithm`, `X-Amz-Credential`, …).
//! Verification rebuilds the canonical request over the signed headers and the body as
//! received, derives the HMAC-SHA256 signing key from the secret, date, region and service,
//! compares in constant time, and checks the request time: within [`MAX_SKEW_SECS`] of now, or
//! within `X-Amz-Expires` for a presigned request. A session token (`X-Amz-Security-Token`, as
//! Lambda-style temporary credentials send) is covered by the signature like any other signed
//! header or parameter; the box issues no tokens, so its value is not checked further.

use http::HeaderMap;
use ring::{digest, hmac};

/// How far the request time may be from the server's clock, as AWS: 15 minutes.
pub const MAX_SKEW_SECS: i64 = 15 * 60;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// One access key the box accepts.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// The access key id (`AWS_ACCESS_KEY_ID`).
    pub access_key_id: String,
    /// The secret (`AWS_SECRET_ACCESS_KEY`).
    pub secret_access_key: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

/// Why a signature was refused; mapped to DynamoDB's errors in `wire`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SigError {
    /// The access key is not one of the box's.
    UnknownAccessKey,
    /// The header or query is not a well-formed SigV4 authorization.
    Malformed(&'static str),
    /// The request was signed more than [`MAX_SKEW_SECS`] before `now` (Unix seconds).
    Expired { signed_at: i64, now: i64 },
    /// The request was signed more than [`MAX_SKEW_SECS`] after `now`.
    NotYetCurrent { signed_at: i64, now: i64 },
    /// A presigned request used after `X-Amz-Date` + `X-Amz-Expires`.
    PresignExpired {
        signed_at: i64,
        expires: i64,
        now: i64,
    },
    /// The credential scope's date is not the request's date.
    ScopeDate {
        scope_date: String,
        amz_date: String,
    },
    /// The credential scope names another service.
    WrongService { expected: &'static str },
    /// The signature does not match.
    Mismatch,
}

/// The parts of a request the signature covers.
#[derive(Debug)]
pub(crate) struct Signed<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: &'a str,
    /// The `:authority` of an HTTP/2 request, used when no `host` header is present.
    pub authority: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// The signing parameters of a request, from its header or its query string.
struct Authorization {
    access_key: String,
    /// `date/region/service/aws4_request`.
    scope: String,
    date: String,
    region: String,
    service: String,
    signed_headers: String,
    signature: String,
    amz_date: String,
    /// `X-Amz-Expires` of a presigned request.
    expires: Option<i64>,
}

/// Presigned requests may live at most seven days, as AWS allows.
const MAX_PRESIGN_EXPIRES: i64 = 7 * 24 * 3600;
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Verify the request's SigV4 signature (header or presigned query) against `credentials`,
/// for `service` (`dynamodb`), with `now` in Unix seconds.
pub(crate) fn verify(
    req: &Signed<'_>,
    credentials: &[Credential],
    service: &'static str,
    now: i64,
) -> Result<(), SigError> {
    let presigned = query_params(req.query).any(|(k, _)| k == "X-Amz-Algorithm");
    let auth = if presigned {
        from_query(req.query)?
    } else {
        from_header(req.headers)?
    };
    if auth.service != service {
        return Err(SigError::WrongService { expected: service });
    }
    let secret = credentials
        .iter()
        .find(|c| c.access_key_id == auth.access_key)
        .map(|c| c.secret_access_key.as_str())
        .ok_or(SigError::UnknownAccessKey)?;
    let signed_at = parse_amz_date(&auth.amz_date).ok_or(SigError::Malformed("bad X-Amz-Date"))?;
    check_time(signed_at, auth.expires, now)?;
    if !auth.amz_date.starts_with(&auth.date) {
        return Err(SigError::ScopeDate {
            scope_date: auth.date.clone(),
            amz_date: auth.amz_date.clone(),
        });
    }

    let canonical_headers = canonical_headers(req, &auth.signed_headers);
    let query = canonical_query(req.query, presigned);
    let key = signing_key(secret, &auth.date, &auth.region, &auth.service);
    let provided = unhex(&auth.signature).ok_or(SigError::Mismatch)?;
    let body_hash = hex(digest::digest(&digest::SHA256, req.body).as_ref());
    // The SDKs hash the body; a presigned request may instead say UNSIGNED-PAYLOAD, as may a
    // client that sends `x-amz-content-sha256: UNSIGNED-PAYLOAD`.
    let unsigned =
        presigned || header(req.headers, "x-amz-content-sha256") == Some(UNSIGNED_PAYLOAD);
    let candidates: &[&str] = if unsigned {
        &[&body_hash, UNSIGNED_PAYLOAD]
    } else {
        &[&body_hash]
    };
    for payload_hash in candidates {
        let canonical_request = format!(
            "{}\n{}\n{query}\n{canonical_headers}\n{}\n{payload_hash}",
            req.method,
            if req.path.is_empty() { "/" } else { req.path },
            auth.signed_headers,
        );
        let string_to_sign = format!(
            "{ALGORITHM}\n{}\n{}\n{}",
            auth.amz_date,
            auth.scope,
            hex(digest::digest(&digest::SHA256, canonical_request.as_bytes()).as_ref())
        );
        if hmac::verify(&key, string_to_sign.as_bytes(), &provided).is_ok() {
            return Ok(());
        }
    }
    Err(SigError::Mismatch)
}

/// The signing parameters of an `Authorization: AWS4-HMAC-SHA256 …` header.
fn from_header(headers: &HeaderMap) -> Result<Authorization, SigError> {
    let value = header(headers, "authorization")
        .ok_or(SigError::Malformed("missing Authorization header"))?;
    let rest = value
        .strip_prefix(ALGORITHM)
        .ok_or(SigError::Malformed("unsupported signing algorithm"))?;
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed_headers = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let amz_date =
        header(headers, "x-amz-date").ok_or(SigError::Malformed("missing X-Amz-Date"))?;
    authorization(
        credential.ok_or(SigError::Malformed("missing Credential"))?,
        signed_headers.ok_or(SigError::Malformed("missing SignedHeaders"))?,
        signature.ok_or(SigError::Malformed("missing Signature"))?,
        amz_date,
        None,
    )
}

/// The signing parameters of a presigned request's query string.
fn from_query(query: &str) -> Result<Authorization, SigError> {
    let (mut algorithm, mut credential, mut signed_headers, mut signature) =
        (None, None, None, None);
    let (mut amz_date, mut expires) = (None, None);
    for (k, v) in query_params(query) {
        let v = percent_decode(v);
        match k {
            "X-Amz-Algorithm" => algorithm = Some(v),
            "X-Amz-Credential" => credential = Some(v),
            "X-Amz-SignedHeaders" => signed_headers = Some(v),
            "X-Amz-Signature" => signature = Some(v),
            "X-Amz-Date" => amz_date = Some(v),
            "X-Amz-Expires" => expires = Some(v),
            _ => {}
        }
    }
    if algorithm.as_deref() != Some(ALGORITHM) {
        return Err(SigError::Malformed("unsupported signing algorithm"));
    }
    // Without X-Amz-Expires a presigned request lives as long as a signed header does.
    let expires = match expires {
        None => None,
        Some(e) => match e.parse::<i64>() {
            Ok(n) if (1..=MAX_PRESIGN_EXPIRES).contains(&n) => Some(n),
            _ => {
                return Err(SigError::Malformed(
                    "X-Amz-Expires must be 1 to 604800 seconds",
                ));
            }
        },
    };
    authorization(
        &credential.ok_or(SigError::Malformed("missing X-Amz-Credential"))?,
        &signed_headers.ok_or(SigError::Malformed("missing X-Amz-SignedHeaders"))?,
        &signature.ok_or(SigError::Malformed("missing X-Amz-Signature"))?,
        &amz_date.ok_or(SigError::Malformed("missing X-Amz-Date"))?,
        expires,
    )
}

fn authorization(
    credential: &str,
    signed_headers: &str,
    signature: &str,
    amz_date: &str,
    expires: Option<i64>,
) -> Result<Authorization, SigError> {
    let (access_key, scope) = credential
        .split_once('/')
        .ok_or(SigError::Malformed("bad Credential scope"))?;
    let mut fields = scope.split('/');
    let (Some(date), Some(region), Some(service), Some("aws4_request"), None) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return Err(SigError::Malformed("bad Credential scope"));
    };
    Ok(Authorization {
        access_key: access_key.to_owned(),
        scope: scope.to_owned(),
        date: date.to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
        signed_headers: signed_headers.to_owned(),
        signature: signature.to_owned(),
        amz_date: amz_date.to_owned(),
        expires,
    })
}

/// A signed header may be 15 minutes off; a presigned URL is good from its date (give or take
/// the same skew) until its expiry.
fn check_time(signed_at: i64, expires: Option<i64>, now: i64) -> Result<(), SigError> {
    if signed_at - now > MAX_SKEW_SECS {
        return Err(SigError::NotYetCurrent { signed_at, now });
    }
    match expires {
        Some(expires) if now > signed_at + expires => Err(SigError::PresignExpired {
            signed_at,
            expires,
            now,
        }),
        Some(_) => Ok(()),
        None if now - signed_at > MAX_SKEW_SECS => Err(SigError::Expired { signed_at, now }),
        None => Ok(()),
    }
}

fn canonical_headers(req: &Signed<'_>, signed_headers: &str) -> String {
    let mut out = String::new();
    for name in signed_headers.split(';') {
        let value = if name == "host" && !req.headers.contains_key(http::header::HOST) {
            req.authority.unwrap_or("").to_owned()
        } else {
            let values: Vec<String> = req
                .headers
                .get_all(name)
                .iter()
                .map(|v| collapse_spaces(&String::from_utf8_lossy(v.as_bytes())))
                .collect();
            values.join(",")
        };
        out.push_str(name);
        out.push(':');
        out.push_str(&value);
        out.push('\n');
    }
    out
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> hmac::Key {
    let sign = |key: &[u8], data: &str| {
        hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes())
    };
    let k_date = sign(format!("AWS4{secret}").as_bytes(), date);
    let k_region = sign(k_date.as_ref(), region);
    let k_service = sign(k_region.as_ref(), service);
    let k_signing = sign(k_service.as_ref(), "aws4_request");
    hmac::Key::new(hmac::HMAC_SHA256, k_signing.as_ref())
}

/// The raw `name=value` pairs of a query string.
fn query_params(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
}

/// Query parameters URI-encoded as SigV4 wants (clients differ in what they escape), sorted
/// by name then value; a presigned request's own `X-Amz-Signature` is left out.
fn canonical_query(query: &str, presigned: bool) -> String {
    let mut pairs: Vec<(String, String)> = query_params(query)
        .filter(|(k, _)| !(presigned && *k == "X-Amz-Signature"))
        .map(|(k, v)| {
            (
                uri_encode(&percent_decode(k)),
                uri_encode(&percent_decode(v)),
            )
        })
        .collect();
    pairs.sort_unstable();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// `%XX` escapes decoded; anything else (a stray `%` included) kept as it is.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| s.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match escaped {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// SigV4's URI encoding: everything but `A-Z a-z 0-9 - _ . ~` as uppercase `%XX`.
fn uri_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn collapse_spaces(v: &str) -> String {
    v.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// SigV4's `X-Amz-Date` layout, `YYYYMMDDTHHMMSSZ` (always UTC).
const AMZ_DATE: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");

/// `YYYYMMDDTHHMMSSZ` to Unix seconds.
fn parse_amz_date(s: &str) -> Option<i64> {
    time::PrimitiveDateTime::parse(s, AMZ_DATE)
        .ok()
        .map(|t| t.assume_utc().unix_timestamp())
}

/// Unix seconds to `YYYYMMDDTHHMMSSZ`, for error messages.
pub(crate) fn format_amz_date(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|t| t.format(AMZ_DATE).ok())
        .unwrap_or_else(|| t.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn example_headers(signature: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8"
                .parse()
                .unwrap(),
        );
        h.insert("host", "iam.amazonaws.com".parse().unwrap());
        h.insert("x-amz-date", "20150830T123600Z".parse().unwrap());
        h.insert(
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
                 SignedHeaders=content-type;host;x-amz-date, Signature={signature}"
            )
            .parse()
            .unwrap(),
        );
        h
    }

    fn creds() -> Vec<Credential> {
        vec![Credential {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
        }]
    }

    /// The worked example of the AWS SigV4 documentation (IAM ListUsers).
    #[test]
    fn aws_documentation_example() {
        let good = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";
        let now = parse_amz_date("20150830T123600Z").unwrap();
        let headers = example_headers(good);
        let req = Signed {
            method: "GET",
            path: "/",
            query: "Version=2010-05-08&Action=ListUsers",
            authority: None,
            headers: &headers,
            body: b"",
        };
        assert_eq!(verify(&req, &creds(), "iam", now), Ok(()));
        assert_eq!(
            verify(&req, &creds(), "iam", now + 3600),
            Err(SigError::Expired {
                signed_at: now,
                now: now + 3600
            })
        );
        assert_eq!(
            verify(&req, &[], "iam", now),
            Err(SigError::UnknownAccessKey)
        );
        let bad = example_headers(&good.replace('5', "6"));
        let req = Signed {
            headers: &bad,
            ..req
        };
        assert_eq!(verify(&req, &creds(), "iam", now), Err(SigError::Mismatch));
    }

    #[test]
    fn dates() {
        assert_eq!(parse_amz_date("19700101T000000Z"), Some(0));
        assert_eq!(parse_amz_date("20150830T123600Z"), Some(1_440_938_160));
        assert_eq!(parse_amz_date("2015-08-30T12:36"), None);
        assert_eq!(parse_amz_date("20151330T123600Z"), None);
        assert_eq!(format_amz_date(1_440_938_160), "20150830T123600Z");
        assert_eq!(format_amz_date(0), "19700101T000000Z");
    }

    #[test]
    fn malformed_headers_do_not_panic() {
        for auth in [
            "AWS4-HMAC-SHA256",
            "AWS4-HMAC-SHA256 Credential=/",
            "AWS4-HMAC-SHA256 Credential=a/b/c/d/aws4_request/x, SignedHeaders=, Signature=zz",
            "Bearer x",
        ] {
            let mut h = HeaderMap::new();
            h.insert("authorization", auth.parse().unwrap());
            h.insert("x-amz-date", "20150830T123600Z".parse().unwrap());
            let req = Signed {
                method: "POST",
                path: "/",
                query: "",
                authority: None,
                headers: &h,
                body: b"",
            };
            assert!(verify(&req, &creds(), "dynamodb", 0).is_err());
        }
    }

    /// The presigned-URL example of the AWS SigV4 documentation (S3 GET, UNSIGNED-PAYLOAD).
    #[test]
    fn aws_documentation_presigned_example() {
        let query = "X-Amz-Algorithm=AWS4-HMAC-SHA256\
            &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
            &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\
            &X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
        let mut headers = HeaderMap::new();
        headers.insert("host", "examplebucket.s3.amazonaws.com".parse().unwrap());
        let creds = vec![Credential {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
        }];
        let req = Signed {
            method: "GET",
            path: "/test.txt",
            query,
            authority: None,
            headers: &headers,
            body: b"",
        };
        let signed_at = parse_amz_date("20130524T000000Z").unwrap();
        assert_eq!(verify(&req, &creds, "s3", signed_at + 3600), Ok(()));
        assert_eq!(
            verify(&req, &creds, "s3", signed_at + 86_401),
            Err(SigError::PresignExpired {
                signed_at,
                expires: 86_400,
                now: signed_at + 86_401
            })
        );
        assert_eq!(
            verify(&req, &creds, "dynamodb", signed_at),
            Err(SigError::WrongService {
                expected: "dynamodb"
            })
        );
    }

    // The two requests below were signed by botocore 1.44.5 (`SigV4Auth` and `SigV4QueryAuth`
    // for service `dynamodb`, us-east-1) with temporary credentials, as a Lambda function has.
    const SESSION_DATE: &str = "20261123T143507Z";
    const SESSION_TOKEN: &str = "FQoGZXIvYXdzEXAMPLE+token/with=chars";

    fn session_creds() -> Vec<Credential> {
        vec![Credential {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: "session-secret".into(),
        }]
    }

    /// The headers both botocore requests signed: a ListTables call to 127.0.0.1:8001.
    fn list_tables_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            "content-type",
            "application/x-amz-json-1.0".parse().unwrap(),
        );
        h.insert("host", "127.0.0.1:8001".parse().unwrap());
        h.insert(
            "x-amz-target",
            "DynamoDB_20120810.ListTables".parse().unwrap(),
        );
        h
    }

    /// The header-signed request's headers, with `token` as its session token.
    fn session_headers(token: &str) -> HeaderMap {
        let mut h = list_tables_headers();
        h.insert("x-amz-date", SESSION_DATE.parse().unwrap());
        h.insert("x-amz-security-token", token.parse().unwrap());
        h.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20261123/us-east-1/dynamodb/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, \
             Signature=6487c901ac2ff5d0d84c13962d276c46a079b8ead41bc3e9e891962276d82483"
                .parse()
                .unwrap(),
        );
        h
    }

    /// The header-signed request, with `headers` (from [`session_headers`]).
    fn session_request(headers: &HeaderMap) -> Signed<'_> {
        Signed {
            method: "POST",
            path: "/",
            query: "",
            authority: None,
            headers,
            body: br#"{"TableName":"t"}"#,
        }
    }

    #[test]
    fn header_signature_with_session_token_verifies() {
        let now = parse_amz_date(SESSION_DATE).unwrap();
        let headers = session_headers(SESSION_TOKEN);
        let req = session_request(&headers);
        assert_eq!(verify(&req, &session_creds(), "dynamodb", now), Ok(()));
        // The token is signed: another token does not verify.
        let headers = session_headers("another-token");
        let req = Signed {
            headers: &headers,
            ..req
        };
        assert_eq!(
            verify(&req, &session_creds(), "dynamodb", now),
            Err(SigError::Mismatch)
        );
    }

    #[test]
    fn presigned_query_with_session_token_verifies() {
        let query = "TableName=t&X-Amz-Algorithm=AWS4-HMAC-SHA256\
            &X-Amz-Credential=ASIAEXAMPLE%2F20261123%2Fus-east-1%2Fdynamodb%2Faws4_request\
            &X-Amz-Date=20261123T143507Z&X-Amz-Expires=300\
            &X-Amz-SignedHeaders=content-type%3Bhost%3Bx-amz-target\
            &X-Amz-Security-Token=FQoGZXIvYXdzEXAMPLE%2Btoken%2Fwith%3Dchars\
            &X-Amz-Signature=8ea69afc4de99815e822043eecd9f0b4e209649e0c48366ca7300f1fb8772da9";
        let headers = list_tables_headers();
        let req = Signed {
            method: "POST",
            path: "/",
            query,
            authority: None,
            headers: &headers,
            body: b"",
        };
        let signed_at = parse_amz_date(SESSION_DATE).unwrap();
        assert_eq!(
            verify(&req, &session_creds(), "dynamodb", signed_at + 299),
            Ok(())
        );
        assert!(matches!(
            verify(&req, &session_creds(), "dynamodb", signed_at + 301),
            Err(SigError::PresignExpired { .. })
        ));
        let tampered = query.replace("TableName=t", "TableName=u");
        let req = Signed {
            query: &tampered,
            ..req
        };
        assert_eq!(
            verify(&req, &session_creds(), "dynamodb", signed_at),
            Err(SigError::Mismatch)
        );
    }

    #[test]
    fn time_and_scope_checks() {
        let now = parse_amz_date(SESSION_DATE).unwrap();
        let headers = session_headers(SESSION_TOKEN);
        let req = session_request(&headers);
        assert_eq!(
            verify(&req, &session_creds(), "dynamodb", now - 901),
            Err(SigError::NotYetCurrent {
                signed_at: now,
                now: now - 901
            })
        );
        let mut other_day = session_headers(SESSION_TOKEN);
        other_day.insert("x-amz-date", "20261124T000000Z".parse().unwrap());
        let req = Signed {
            headers: &other_day,
            ..req
        };
        let now = parse_amz_date("20261124T000000Z").unwrap();
        assert_eq!(
            verify(&req, &session_creds(), "dynamodb", now),
            Err(SigError::ScopeDate {
                scope_date: "20261123".into(),
                amz_date: "20261124T000000Z".into()
            })
        );
        // A bad presign lifetime is malformed, not a crash.
        let query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a%2Fb%2Fc%2Fdynamodb%2Faws4_request\
            &X-Amz-Date=20261123T143507Z&X-Amz-Expires=-1&X-Amz-SignedHeaders=host&X-Amz-Signature=00";
        let req = Signed { query, ..req };
        assert!(matches!(
            verify(&req, &session_creds(), "dynamodb", now),
            Err(SigError::Malformed(_))
        ));
    }

    #[test]
    fn query_encoding_is_normalised() {
        assert_eq!(
            canonical_query("b=x y&a=%7e%2f&X-Amz-Signature=s", true),
            "a=~%2F&b=x%20y"
        );
        assert_eq!(percent_decode("%zz%41%"), "%zzA%");
    }

    #[test]
    fn amz_dates_format_back() {
        for s in [
            "19700101T000000Z",
            "20150830T123600Z",
            "20240229T235959Z",
            "21000301T000000Z",
        ] {
            assert_eq!(format_amz_date(parse_amz_date(s).unwrap()), s);
        }
    }
}
