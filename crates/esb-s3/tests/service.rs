//! In-process tests through the s3s service (no socket, no signing): path-style and
//! virtual-host addressing, S3's XML errors, and the request id on every response.

#![allow(clippy::unwrap_used)]

use http_body_util::BodyExt;
use s3s::service::{S3Service, S3ServiceBuilder};

use esb_s3::{EsbS3, Store, server::handle};

async fn service(dir: &std::path::Path) -> S3Service {
    let store = Store::open(dir).await.unwrap();
    let mut builder = S3ServiceBuilder::new(EsbS3::new(store));
    builder.set_host(s3s::host::SingleDomain::new("s3.localhost:9000").unwrap());
    builder.build()
}

async fn call(
    svc: &S3Service,
    method: &str,
    host: &str,
    path: &str,
    body: &'static [u8],
) -> (u16, http::HeaderMap, String) {
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", host)
        .body(s3s::Body::from(bytes::Bytes::from_static(body)))
        .unwrap();
    let response = handle(svc, request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

#[tokio::test]
async fn path_and_virtual_host_addressing_and_xml_errors() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service(dir.path()).await;
    let (status, headers, _) = call(&svc, "PUT", "127.0.0.1:9000", "/vhost", b"").await;
    assert_eq!(status, 200);
    assert!(headers.contains_key("x-amz-request-id"));

    // Virtual-host style write, path-style read.
    let (status, _, _) = call(
        &svc,
        "PUT",
        "vhost.s3.localhost:9000",
        "/dir/key.txt",
        b"hello",
    )
    .await;
    assert_eq!(status, 200);
    let (status, headers, body) =
        call(&svc, "GET", "127.0.0.1:9000", "/vhost/dir/key.txt", b"").await;
    assert_eq!((status, body.as_str()), (200, "hello"));
    assert_eq!(headers["etag"], "\"5d41402abc4b2a76b9719d911017c592\"");
    let (status, _, body) = call(&svc, "GET", "s3.localhost:9000", "/vhost/dir/key.txt", b"").await;
    assert_eq!((status, body.as_str()), (200, "hello"));

    let (status, headers, body) =
        call(&svc, "GET", "vhost.s3.localhost:9000", "/missing", b"").await;
    assert_eq!(status, 404);
    assert!(body.contains("<Code>NoSuchKey</Code>"), "{body}");
    let request_id = headers["x-amz-request-id"].to_str().unwrap();
    assert!(
        body.contains(&format!("<RequestId>{request_id}</RequestId>")),
        "{body}"
    );
    let (status, _, body) = call(&svc, "DELETE", "127.0.0.1:9000", "/vhost", b"").await;
    assert_eq!(status, 409);
    assert!(body.contains("<Code>BucketNotEmpty</Code>"), "{body}");
    let (status, _, body) = call(&svc, "GET", "127.0.0.1:9000", "/nope/key", b"").await;
    assert_eq!(status, 404);
    assert!(body.contains("<Code>NoSuchBucket</Code>"), "{body}");
}

/// s3s answers some errors with a code alone; S3 always says what went wrong, and SDKs show it.
#[tokio::test]
async fn errors_s3s_raises_before_our_code_still_carry_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service(dir.path()).await;
    let (status, _, _) = call(&svc, "PUT", "127.0.0.1:9000", "/long", b"").await;
    assert_eq!(status, 200);
    let key = format!("/long/{}", "k".repeat(1025));
    let (status, _, body) = call(&svc, "PUT", "127.0.0.1:9000", &key, b"x").await;
    assert_eq!(status, 400);
    assert!(body.contains("<Code>KeyTooLongError</Code>"), "{body}");
    assert!(
        body.contains("<Message>Your key is too long</Message>"),
        "{body}"
    );
    assert!(body.contains("<RequestId>"), "{body}");
}
