//! AWS Signature Version 4 verification of DynamoDB requests (header form, as the SDKs sign).
//!
//! Verifies the `Authorization: AWS4-HMAC-SHA256 …` header against the box's credentials:
//! canonical request over the signed headers and the body as received, HMAC-SHA256 signing
//! key from the secret, date, region and service, constant-time comparison, and the request
//! time within [`MAX_SKEW_SECS`] of now.

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
    /// The header is not a well-formed SigV4 authorization.
    Malformed(&'static str),
    /// The request time is too far from now.
    Expired,
    /// The signature does not match.
    Mismatch,
}

/// The parts of a request the signature covers.
#[derive(Debug)]
pub(crate) struct Signed<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    /// The `:authority` of an HTTP/2 request, used when no `host` header is present.
    pub authority: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// Verify the request's SigV4 header against `credentials`, with `now` in Unix seconds.
pub(crate) fn verify(
    req: &Signed<'_>,
    credentials: &[Credential],
    now: i64,
) -> Result<(), SigError> {
    let auth = req
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(SigError::Malformed("missing Authorization header"))?;
    let rest = auth
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
    let credential = credential.ok_or(SigError::Malformed("missing Credential"))?;
    let signed_headers = signed_headers.ok_or(SigError::Malformed("missing SignedHeaders"))?;
    let signature = signature.ok_or(SigError::Malformed("missing Signature"))?;

    let mut scope_parts = credential.splitn(2, '/');
    let access_key = scope_parts.next().unwrap_or("");
    let scope = scope_parts
        .next()
        .ok_or(SigError::Malformed("bad Credential scope"))?;
    let mut scope_fields = scope.split('/');
    let (Some(date), Some(region), Some(service), Some("aws4_request"), None) = (
        scope_fields.next(),
        scope_fields.next(),
        scope_fields.next(),
        scope_fields.next(),
        scope_fields.next(),
    ) else {
        return Err(SigError::Malformed("bad Credential scope"));
    };
    let secret = credentials
        .iter()
        .find(|c| c.access_key_id == access_key)
        .map(|c| c.secret_access_key.as_str())
        .ok_or(SigError::UnknownAccessKey)?;

    let amz_date =
        header(req.headers, "x-amz-date").ok_or(SigError::Malformed("missing X-Amz-Date"))?;
    let request_time = parse_amz_date(amz_date).ok_or(SigError::Malformed("bad X-Amz-Date"))?;
    if (now - request_time).abs() > MAX_SKEW_SECS {
        return Err(SigError::Expired);
    }
    if !amz_date.starts_with(date) {
        return Err(SigError::Malformed(
            "Credential date does not match X-Amz-Date",
        ));
    }

    let mut canonical_headers = String::new();
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
        canonical_headers.push_str(name);
        canonical_headers.push(':');
        canonical_headers.push_str(&value);
        canonical_headers.push('\n');
    }
    let canonical_request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        if req.path.is_empty() { "/" } else { req.path },
        canonical_query(req.query),
        canonical_headers,
        signed_headers,
        hex(digest::digest(&digest::SHA256, req.body).as_ref()),
    );
    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        hex(digest::digest(&digest::SHA256, canonical_request.as_bytes()).as_ref())
    );
    let key = signing_key(secret, date, region, service);
    let provided = unhex(signature).ok_or(SigError::Mismatch)?;
    hmac::verify(&key, string_to_sign.as_bytes(), &provided).map_err(|_| SigError::Mismatch)
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

/// Query parameters sorted by name then value (the SDKs send them already encoded).
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(&str, &str)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect();
    pairs.sort_unstable();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
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

/// `YYYYMMDDTHHMMSSZ` to Unix seconds.
fn parse_amz_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hh, mm, ss) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
        assert_eq!(verify(&req, &creds(), now), Ok(()));
        assert_eq!(verify(&req, &creds(), now + 3600), Err(SigError::Expired));
        assert_eq!(verify(&req, &[], now), Err(SigError::UnknownAccessKey));
        let bad = example_headers(&good.replace('5', "6"));
        let req = Signed {
            headers: &bad,
            ..req
        };
        assert_eq!(verify(&req, &creds(), now), Err(SigError::Mismatch));
    }

    #[test]
    fn dates() {
        assert_eq!(parse_amz_date("19700101T000000Z"), Some(0));
        assert_eq!(parse_amz_date("20150830T123600Z"), Some(1_440_938_160));
        assert_eq!(parse_amz_date("2015-08-30T12:36"), None);
        assert_eq!(parse_amz_date("20151330T123600Z"), None);
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
            assert!(verify(&req, &creds(), 0).is_err());
        }
    }
}
