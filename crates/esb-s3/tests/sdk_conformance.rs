//! Real-socket conformance with aws-sdk-s3: the server started in process (`esb_s3::run`)
//! on 127.0.0.1:0 over a temp data dir, driven by the Rust SDK through every operation the
//! store supports and S3's error cases. Each test uses its own bucket.

#![allow(clippy::unwrap_used, clippy::too_many_lines)]

#[path = "support/sigv4.rs"]
mod sigv4;
mod support;

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::delete_objects::DeleteObjectsOutput;
use aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput;
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketVersioningStatus, ChecksumAlgorithm, ChecksumMode,
    CompletedMultipartUpload, CompletedPart, CorsConfiguration, CorsRule, Delete, EncodingType,
    ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleFilter, MetadataDirective,
    ObjectAttributes, ObjectIdentifier, StorageClass, Tag, Tagging, VersioningConfiguration,
};
use support::{TestServer, raw_request};

/// The S3 error code and HTTP status of a failed call.
fn code<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(
    result: Result<T, SdkError<E, HttpResponse>>,
) -> (String, u16) {
    let err = result.expect_err("the call should fail");
    let status = err.raw_response().map_or(0, |r| r.status().as_u16());
    (err.code().unwrap_or_default().to_owned(), status)
}

async fn body(client: &Client, bucket: &str, key: &str) -> Vec<u8> {
    let out = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    out.body.collect().await.unwrap().into_bytes().to_vec()
}

async fn put_object(client: &Client, bucket: &str, key: &str, data: &[u8]) -> PutObjectOutput {
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(data.to_vec()))
        .send()
        .await
        .unwrap()
}

/// Puts an object; returns its ETag.
async fn put(client: &Client, bucket: &str, key: &str, data: &[u8]) -> String {
    let out = put_object(client, bucket, key, data).await;
    out.e_tag().unwrap().to_owned()
}

async fn set_versioning(client: &Client, bucket: &str, status: BucketVersioningStatus) {
    client
        .put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(VersioningConfiguration::builder().status(status).build())
        .send()
        .await
        .unwrap();
}

async fn list_versions(client: &Client, bucket: &str, prefix: &str) -> ListObjectVersionsOutput {
    client
        .list_object_versions()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .unwrap()
}

/// The version ids of a listing's object versions (delete markers apart), in listed order.
fn version_ids(listed: &ListObjectVersionsOutput) -> Vec<&str> {
    listed
        .versions()
        .iter()
        .filter_map(|v| v.version_id())
        .collect()
}

async fn delete_objects(
    client: &Client,
    bucket: &str,
    ids: Vec<ObjectIdentifier>,
) -> DeleteObjectsOutput {
    client
        .delete_objects()
        .bucket(bucket)
        .delete(Delete::builder().set_objects(Some(ids)).build().unwrap())
        .send()
        .await
        .unwrap()
}

async fn object_tags(client: &Client, bucket: &str, key: &str) -> Vec<Tag> {
    let out = client
        .get_object_tagging()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    out.tag_set().to_vec()
}

fn md5_etag(data: &[u8]) -> String {
    use md5::Digest;
    let digest = md5::Md5::digest(data);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_buckets_and_errors() {
    let server = TestServer::start();
    let s3 = server.sdk_client();
    s3.create_bucket()
        .bucket("sdk-buckets")
        .send()
        .await
        .unwrap();
    // S3 answers 200 to the owner re-creating a bucket in us-east-1 (409 elsewhere).
    s3.create_bucket()
        .bucket("sdk-buckets")
        .send()
        .await
        .unwrap();
    let (c, status) = code(s3.create_bucket().bucket("Bad_Name").send().await);
    assert_eq!((c.as_str(), status), ("InvalidBucketName", 400));
    let listed = s3.list_buckets().send().await.unwrap();
    let names: Vec<&str> = listed.buckets().iter().filter_map(|b| b.name()).collect();
    assert_eq!(names, ["sdk-buckets"]);
    s3.head_bucket().bucket("sdk-buckets").send().await.unwrap();
    let err = s3
        .head_bucket()
        .bucket("sdk-missing")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 404);
    s3.get_bucket_location()
        .bucket("sdk-buckets")
        .send()
        .await
        .unwrap();

    put(&s3, "sdk-buckets", "k", b"x").await;
    let (c, status) = code(s3.delete_bucket().bucket("sdk-buckets").send().await);
    assert_eq!((c.as_str(), status), ("BucketNotEmpty", 409));
    let (c, status) = code(s3.get_object().bucket("sdk-missing").key("k").send().await);
    assert_eq!((c.as_str(), status), ("NoSuchBucket", 404));
    let result = s3
        .get_object()
        .bucket("sdk-buckets")
        .key("nope")
        .send()
        .await;
    let err = result.unwrap_err();
    assert_eq!(err.code(), Some("NoSuchKey"));
    // The request id in the XML error body is the one in the header.
    let raw = err.raw_response().unwrap();
    let header = raw.headers().get("x-amz-request-id").unwrap().to_owned();
    let text = String::from_utf8_lossy(raw.body().bytes().unwrap()).into_owned();
    assert!(
        text.contains(&format!("<RequestId>{header}</RequestId>")),
        "{text}"
    );

    let wrong = server.sdk_client_with_secret("not-the-secret");
    let (c, status) = code(wrong.list_buckets().send().await);
    assert_eq!((c.as_str(), status), ("SignatureDoesNotMatch", 403));

    s3.delete_object()
        .bucket("sdk-buckets")
        .key("k")
        .send()
        .await
        .unwrap();
    s3.delete_bucket()
        .bucket("sdk-buckets")
        .send()
        .await
        .unwrap();
    let (c, _) = code(s3.delete_bucket().bucket("sdk-buckets").send().await);
    assert_eq!(c, "NoSuchBucket");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_objects_headers_conditions_and_copy() {
    let server = TestServer::start();
    let s3 = server.sdk_client();
    let b = "sdk-objects";
    s3.create_bucket().bucket(b).send().await.unwrap();
    let data = b"hello, object world".to_vec();
    let expires = DateTime::from_secs(2_000_000_000);
    let put_out = s3
        .put_object()
        .bucket(b)
        .key("dir/a b.txt")
        .body(ByteStream::from(data.clone()))
        .content_type("text/plain")
        .cache_control("max-age=60")
        .content_disposition("attachment; filename=\"a.txt\"")
        .content_encoding("identity")
        .content_language("en")
        .expires(expires)
        .metadata("colour", "blue")
        .metadata("Mixed-Case", "yes")
        .send()
        .await
        .unwrap();
    assert_eq!(put_out.e_tag(), Some(md5_etag(&data).as_str()));
    // The SDK sends a CRC32 by default; the server checks and returns it.
    assert!(put_out.checksum_crc32().is_some());

    let head = s3
        .head_object()
        .bucket(b)
        .key("dir/a b.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(data.len() as i64));
    assert_eq!(head.content_type(), Some("text/plain"));
    assert_eq!(head.cache_control(), Some("max-age=60"));
    assert_eq!(
        head.content_disposition(),
        Some("attachment; filename=\"a.txt\"")
    );
    assert_eq!(head.content_encoding(), Some("identity"));
    assert_eq!(head.content_language(), Some("en"));
    assert_eq!(head.expires_string(), Some("Wed, 18 May 2033 03:33:20 GMT"));
    let meta = head.metadata().unwrap();
    assert_eq!(meta.get("colour").map(String::as_str), Some("blue"));
    assert_eq!(meta.get("mixed-case").map(String::as_str), Some("yes"));
    assert_eq!(body(&s3, b, "dir/a b.txt").await, data);

    // Ranges.
    let ranged = s3
        .get_object()
        .bucket(b)
        .key("dir/a b.txt")
        .range("bytes=0-4")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.content_range(), Some("bytes 0-4/19"));
    assert_eq!(
        ranged.body.collect().await.unwrap().into_bytes().as_ref(),
        b"hello"
    );
    let suffix = s3
        .get_object()
        .bucket(b)
        .key("dir/a b.txt")
        .range("bytes=-5")
        .send()
        .await
        .unwrap();
    assert_eq!(
        suffix.body.collect().await.unwrap().into_bytes().as_ref(),
        b"world"
    );
    let (c, status) = code(
        s3.get_object()
            .bucket(b)
            .key("dir/a b.txt")
            .range("bytes=100-200")
            .send()
            .await,
    );
    assert_eq!((c.as_str(), status), ("InvalidRange", 416));

    // Conditional reads.
    let etag = md5_etag(&data);
    s3.get_object()
        .bucket(b)
        .key("dir/a b.txt")
        .if_match(&etag)
        .send()
        .await
        .unwrap();
    let (c, status) = code(
        s3.get_object()
            .bucket(b)
            .key("dir/a b.txt")
            .if_match("\"0000\"")
            .send()
            .await,
    );
    assert_eq!((c.as_str(), status), ("PreconditionFailed", 412));
    let err = s3
        .get_object()
        .bucket(b)
        .key("dir/a b.txt")
        .if_none_match(&etag)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 304);
    let err = s3
        .get_object()
        .bucket(b)
        .key("dir/a b.txt")
        .if_modified_since(DateTime::from_secs(4_000_000_000))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 304);
    s3.get_object()
        .bucket(b)
        .key("dir/a b.txt")
        .if_modified_since(DateTime::from_secs(1_000_000_000))
        .send()
        .await
        .unwrap();

    // Conditional PUT: create-only.
    let (c, status) = code(
        s3.put_object()
            .bucket(b)
            .key("dir/a b.txt")
            .if_none_match("*")
            .body(ByteStream::from_static(b"no"))
            .send()
            .await,
    );
    assert_eq!((c.as_str(), status), ("PreconditionFailed", 412));
    s3.put_object()
        .bucket(b)
        .key("fresh")
        .if_none_match("*")
        .body(ByteStream::from_static(b"yes"))
        .send()
        .await
        .unwrap();

    // Copy: metadata kept, replaced, and a failed source condition.
    let copied = s3
        .copy_object()
        .bucket(b)
        .key("copy-kept")
        .copy_source(format!("{b}/dir/a%20b.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        copied.copy_object_result().unwrap().e_tag(),
        Some(etag.as_str())
    );
    let kept = s3
        .head_object()
        .bucket(b)
        .key("copy-kept")
        .send()
        .await
        .unwrap();
    assert_eq!(kept.content_type(), Some("text/plain"));
    assert_eq!(
        kept.metadata().unwrap().get("colour").map(String::as_str),
        Some("blue")
    );
    s3.copy_object()
        .bucket(b)
        .key("copy-replaced")
        .copy_source(format!("{b}/dir/a%20b.txt"))
        .metadata_directive(MetadataDirective::Replace)
        .content_type("application/json")
        .metadata("new", "1")
        .send()
        .await
        .unwrap();
    let replaced = s3
        .head_object()
        .bucket(b)
        .key("copy-replaced")
        .send()
        .await
        .unwrap();
    assert_eq!(replaced.content_type(), Some("application/json"));
    let meta = replaced.metadata().unwrap();
    assert_eq!(
        (meta.get("new").map(String::as_str), meta.get("colour")),
        (Some("1"), None)
    );
    let (c, status) = code(
        s3.copy_object()
            .bucket(b)
            .key("copy-nope")
            .copy_source(format!("{b}/dir/a%20b.txt"))
            .copy_source_if_match("\"0000\"")
            .send()
            .await,
    );
    assert_eq!((c.as_str(), status), ("PreconditionFailed", 412));

    // Additional checksums: SHA-256 stored and returned with checksum mode; a wrong CRC32
    // is refused.
    let summed = s3
        .put_object()
        .bucket(b)
        .key("summed")
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .body(ByteStream::from_static(b"hello"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        summed.checksum_sha256(),
        Some("LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=")
    );
    let got = s3
        .get_object()
        .bucket(b)
        .key("summed")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.checksum_sha256(),
        Some("LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=")
    );
    let (c, status) = code(
        s3.put_object()
            .bucket(b)
            .key("bad-sum")
            .checksum_crc32("AAAAAA==")
            .body(ByteStream::from_static(b"hello"))
            .send()
            .await,
    );
    assert_eq!((c.as_str(), status), ("BadDigest", 400));

    // A streamed body: the SDK sends aws-chunked with the CRC32 as a trailer.
    let file = server.dir.path().join("upload.bin");
    let streamed: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &streamed).unwrap();
    let out = s3
        .put_object()
        .bucket(b)
        .key("streamed")
        .body(ByteStream::from_path(&file).await.unwrap())
        .send()
        .await
        .unwrap();
    assert!(out.checksum_crc32().is_some());
    assert_eq!(body(&s3, b, "streamed").await, streamed);
    let head = s3
        .head_object()
        .bucket(b)
        .key("streamed")
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.content_encoding(),
        None,
        "aws-chunked must not be stored"
    );

    // DeleteObjects, then the keys are gone.
    let ids = ["fresh", "copy-kept", "never-existed"]
        .iter()
        .map(|k| ObjectIdentifier::builder().key(*k).build().unwrap())
        .collect::<Vec<_>>();
    let deleted = delete_objects(&s3, b, ids).await;
    assert_eq!(deleted.deleted().len(), 3);
    let (c, status) = code(s3.head_object().bucket(b).key("fresh").send().await);
    assert_eq!((c.as_str(), status), ("NotFound", 404));
    s3.delete_object()
        .bucket(b)
        .key("fresh")
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_listing() {
    let server = TestServer::start();
    let s3 = server.sdk_client();
    let b = "sdk-listing";
    s3.create_bucket().bucket(b).send().await.unwrap();
    let keys = ["a/1", "a/2", "b", "c/x/1", "c/y", "d", "sp ace/ü"];
    for key in keys {
        put(&s3, b, key, key.as_bytes()).await;
    }
    // v2: pages of two with continuation tokens.
    let mut token = None;
    let mut seen = Vec::new();
    loop {
        let page = s3
            .list_objects_v2()
            .bucket(b)
            .max_keys(2)
            .set_continuation_token(token.clone())
            .send()
            .await
            .unwrap();
        seen.extend(page.contents().iter().map(|o| o.key().unwrap().to_owned()));
        assert!(page.key_count().unwrap() <= 2);
        if !page.is_truncated().unwrap() {
            break;
        }
        token = page.next_continuation_token().map(str::to_owned);
    }
    assert_eq!(seen, keys);
    let page = s3
        .list_objects_v2()
        .bucket(b)
        .delimiter("/")
        .send()
        .await
        .unwrap();
    let objects: Vec<&str> = page.contents().iter().filter_map(|o| o.key()).collect();
    let prefixes: Vec<&str> = page
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(objects, ["b", "d"]);
    assert_eq!(prefixes, ["a/", "c/", "sp ace/"]);
    let page = s3
        .list_objects_v2()
        .bucket(b)
        .prefix("c/")
        .delimiter("/")
        .start_after("c/x/1")
        .send()
        .await
        .unwrap();
    let objects: Vec<&str> = page.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(objects, ["c/y"]);
    // encoding-type=url: keys come percent-encoded (the Rust SDK leaves them so).
    let page = s3
        .list_objects_v2()
        .bucket(b)
        .prefix("sp")
        .encoding_type(EncodingType::Url)
        .send()
        .await
        .unwrap();
    assert_eq!(page.contents()[0].key(), Some("sp%20ace/%C3%BC"));

    // v1: markers.
    let page = s3
        .list_objects()
        .bucket(b)
        .max_keys(3)
        .send()
        .await
        .unwrap();
    assert!(page.is_truncated().unwrap());
    let last = page.contents().last().unwrap().key().unwrap().to_owned();
    assert_eq!(last, "b");
    let page = s3
        .list_objects()
        .bucket(b)
        .marker(&last)
        .delimiter("/")
        .send()
        .await
        .unwrap();
    let objects: Vec<&str> = page.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(objects, ["d"]);
    assert!(!page.is_truncated().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_multipart_and_part_numbers() {
    let server = TestServer::start();
    let s3 = server.sdk_client();
    let b = "sdk-multipart";
    s3.create_bucket().bucket(b).send().await.unwrap();
    let source: Vec<u8> = (0..1_000_000u32).map(|i| (i % 253) as u8).collect();
    put(&s3, b, "source", &source).await;

    let created = s3
        .create_multipart_upload()
        .bucket(b)
        .key("big")
        .content_type("application/x-big")
        .metadata("m", "v")
        .send()
        .await
        .unwrap();
    let upload_id = created.upload_id().unwrap().to_owned();
    let part1 = vec![1u8; 5 * 1024 * 1024];
    let p1 = s3
        .upload_part()
        .bucket(b)
        .key("big")
        .upload_id(&upload_id)
        .part_number(1)
        .body(ByteStream::from(part1.clone()))
        .send()
        .await
        .unwrap();
    let copy_part_2 = |range: &str| {
        s3.upload_part_copy()
            .bucket(b)
            .key("big")
            .upload_id(&upload_id)
            .part_number(2)
            .copy_source(format!("{b}/source"))
            .copy_source_range(range)
            .send()
    };
    let p2 = copy_part_2("bytes=0-5242879").await;
    // The source is 1 MB, so that range is not satisfiable; copy its first 100 bytes.
    let (c, _) = code(p2);
    assert_eq!(c, "InvalidRange");
    let p2 = copy_part_2("bytes=0-99").await.unwrap();
    let uploads = s3.list_multipart_uploads().bucket(b).send().await.unwrap();
    assert_eq!(uploads.uploads().len(), 1);
    assert_eq!(uploads.uploads()[0].upload_id(), Some(upload_id.as_str()));
    let parts = s3
        .list_parts()
        .bucket(b)
        .key("big")
        .upload_id(&upload_id)
        .send()
        .await
        .unwrap();
    let sizes: Vec<i64> = parts.parts().iter().filter_map(|p| p.size()).collect();
    assert_eq!(sizes, [5 * 1024 * 1024, 100]);
    let completed = CompletedMultipartUpload::builder()
        .parts(
            CompletedPart::builder()
                .part_number(1)
                .e_tag(p1.e_tag().unwrap())
                .build(),
        )
        .parts(
            CompletedPart::builder()
                .part_number(2)
                .e_tag(p2.copy_part_result().unwrap().e_tag().unwrap())
                .build(),
        )
        .build();
    let done = s3
        .complete_multipart_upload()
        .bucket(b)
        .key("big")
        .upload_id(&upload_id)
        .multipart_upload(completed)
        .send()
        .await
        .unwrap();
    assert!(
        done.e_tag().unwrap().ends_with("-2\""),
        "{:?}",
        done.e_tag()
    );
    let head = s3.head_object().bucket(b).key("big").send().await.unwrap();
    assert_eq!(head.content_length(), Some(5 * 1024 * 1024 + 100));
    assert_eq!(head.content_type(), Some("application/x-big"));

    // GET and HEAD by part number.
    let part = s3
        .get_object()
        .bucket(b)
        .key("big")
        .part_number(2)
        .send()
        .await
        .unwrap();
    assert_eq!(part.parts_count(), Some(2));
    assert_eq!(
        part.content_range(),
        Some(format!("bytes 5242880-5242979/{}", 5 * 1024 * 1024 + 100).as_str())
    );
    let bytes = part.body.collect().await.unwrap().into_bytes();
    assert_eq!(bytes.as_ref(), &source[..100]);
    let head = s3
        .head_object()
        .bucket(b)
        .key("big")
        .part_number(1)
        .send()
        .await
        .unwrap();
    assert_eq!(head.parts_count(), Some(2));
    assert_eq!(head.content_length(), Some(5 * 1024 * 1024));
    let (c, status) = code(
        s3.get_object()
            .bucket(b)
            .key("big")
            .part_number(3)
            .send()
            .await,
    );
    assert_eq!((c.as_str(), status), ("InvalidPartNumber", 416));

    // Abort: the upload is gone.
    let other = s3
        .create_multipart_upload()
        .bucket(b)
        .key("aborted")
        .send()
        .await
        .unwrap();
    let other_id = other.upload_id().unwrap();
    s3.abort_multipart_upload()
        .bucket(b)
        .key("aborted")
        .upload_id(other_id)
        .send()
        .await
        .unwrap();
    let (c, status) = code(
        s3.list_parts()
            .bucket(b)
            .key("aborted")
            .upload_id(other_id)
            .send()
            .await,
    );
    assert_eq!((c.as_str(), status), ("NoSuchUpload", 404));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_object_attributes() {
    let server = TestServer::start();
    let s3 = server.sdk_client();
    let b = "sdk-attributes";
    s3.create_bucket().bucket(b).send().await.unwrap();
    let etag = put(&s3, b, "k", b"hello").await;
    let attrs = s3
        .get_object_attributes()
        .bucket(b)
        .key("k")
        .object_attributes(ObjectAttributes::Etag)
        .object_attributes(ObjectAttributes::ObjectSize)
        .object_attributes(ObjectAttributes::StorageClass)
        .object_attributes(ObjectAttributes::Checksum)
        .send()
        .await
        .unwrap();
    // S3 answers this ETag without quotes.
    assert_eq!(attrs.e_tag(), Some(etag.trim_matches('"')));
    assert_eq!(attrs.object_size(), Some(5));
    assert_eq!(attrs.storage_class(), Some(&StorageClass::Standard));
    // The SDK sent its default CRC32 with the PUT.
    let checksum = attrs.checksum().unwrap();
    assert_eq!(checksum.checksum_crc32(), Some("NhCmhg=="));
    assert!(attrs.object_parts().is_none() && attrs.last_modified().is_some());
    let (c, status) = code(
        s3.get_object_attributes()
            .bucket(b)
            .key("missing")
            .object_attributes(ObjectAttributes::Etag)
            .send()
            .await,
    );
    assert_eq!((c.as_str(), status), ("NoSuchKey", 404));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_multipart_checksums_round_trip() {
    let server = TestServer::start();
    let s3 = server.sdk_client();
    let b = "sdk-mp-checksums";
    s3.create_bucket().bucket(b).send().await.unwrap();
    let created = s3
        .create_multipart_upload()
        .bucket(b)
        .key("k")
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .send()
        .await
        .unwrap();
    assert_eq!(
        created.checksum_algorithm(),
        Some(&ChecksumAlgorithm::Crc32)
    );
    let upload_id = created.upload_id().unwrap();
    let chunks = [vec![7u8; 5 * 1024 * 1024], b"tail".to_vec()];
    let mut parts = CompletedMultipartUpload::builder();
    for (n, chunk) in (1..).zip(&chunks) {
        // The SDK computes and sends each part's CRC32; the server checks and returns it.
        let up = s3
            .upload_part()
            .bucket(b)
            .key("k")
            .upload_id(upload_id)
            .part_number(n)
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .body(ByteStream::from(chunk.clone()))
            .send()
            .await
            .unwrap();
        parts = parts.parts(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(up.e_tag().unwrap())
                .checksum_crc32(up.checksum_crc32().unwrap())
                .build(),
        );
    }
    let listed = s3
        .list_parts()
        .bucket(b)
        .key("k")
        .upload_id(upload_id)
        .send()
        .await
        .unwrap();
    assert!(listed.parts().iter().all(|p| p.checksum_crc32().is_some()));
    let done = s3
        .complete_multipart_upload()
        .bucket(b)
        .key("k")
        .upload_id(upload_id)
        .multipart_upload(parts.build())
        .send()
        .await
        .unwrap();
    let composite = done.checksum_crc32().unwrap().to_owned();
    assert!(composite.ends_with("-2"), "{composite}");
    // The SDK skips validating a composite checksum on GET, as it does against S3.
    let got = s3
        .get_object()
        .bucket(b)
        .key("k")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(got.checksum_crc32(), Some(composite.as_str()));
    let bytes = got.body.collect().await.unwrap().into_bytes();
    assert_eq!(bytes.len(), chunks[0].len() + chunks[1].len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_tagging_cors_lifecycle() {
    let server = TestServer::start();
    let s3 = server.sdk_client();
    let b = "sdk-config";
    s3.create_bucket().bucket(b).send().await.unwrap();
    put(&s3, b, "t", b"x").await;
    let tagging = Tagging::builder()
        .tag_set(Tag::builder().key("team").value("edge").build().unwrap())
        .build()
        .unwrap();
    s3.put_object_tagging()
        .bucket(b)
        .key("t")
        .tagging(tagging.clone())
        .send()
        .await
        .unwrap();
    let tags = object_tags(&s3, b, "t").await;
    assert_eq!(tags[0].key(), "team");
    s3.delete_object_tagging()
        .bucket(b)
        .key("t")
        .send()
        .await
        .unwrap();
    assert!(object_tags(&s3, b, "t").await.is_empty());
    s3.put_bucket_tagging()
        .bucket(b)
        .tagging(tagging)
        .send()
        .await
        .unwrap();
    let tags = s3.get_bucket_tagging().bucket(b).send().await.unwrap();
    assert_eq!(tags.tag_set()[0].value(), "edge");

    let cors = CorsConfiguration::builder()
        .cors_rules(
            CorsRule::builder()
                .allowed_methods("GET")
                .allowed_origins("https://example.com")
                .max_age_seconds(60)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    s3.put_bucket_cors()
        .bucket(b)
        .cors_configuration(cors)
        .send()
        .await
        .unwrap();
    let got = s3.get_bucket_cors().bucket(b).send().await.unwrap();
    assert_eq!(
        got.cors_rules()[0].allowed_origins(),
        ["https://example.com"]
    );
    s3.delete_bucket_cors().bucket(b).send().await.unwrap();
    let (c, status) = code(s3.get_bucket_cors().bucket(b).send().await);
    assert_eq!((c.as_str(), status), ("NoSuchCORSConfiguration", 404));

    let lifecycle = BucketLifecycleConfiguration::builder()
        .rules(
            LifecycleRule::builder()
                .id("expire-tmp")
                .status(ExpirationStatus::Enabled)
                .filter(LifecycleRuleFilter::builder().prefix("tmp/").build())
                .expiration(LifecycleExpiration::builder().days(1).build())
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    s3.put_bucket_lifecycle_configuration()
        .bucket(b)
        .lifecycle_configuration(lifecycle)
        .send()
        .await
        .unwrap();
    let got = s3
        .get_bucket_lifecycle_configuration()
        .bucket(b)
        .send()
        .await
        .unwrap();
    assert_eq!(got.rules()[0].id(), Some("expire-tmp"));
    s3.delete_bucket_lifecycle().bucket(b).send().await.unwrap();
    let (c, _) = code(
        s3.get_bucket_lifecycle_configuration()
            .bucket(b)
            .send()
            .await,
    );
    assert_eq!(c, "NoSuchLifecycleConfiguration");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_versioning() {
    let server = TestServer::start();
    let s3 = server.sdk_client();
    let b = "sdk-versions";
    s3.create_bucket().bucket(b).send().await.unwrap();
    let status = s3.get_bucket_versioning().bucket(b).send().await.unwrap();
    assert_eq!(status.status(), None);
    put(&s3, b, "k", b"before").await;
    set_versioning(&s3, b, BucketVersioningStatus::Enabled).await;
    let status = s3.get_bucket_versioning().bucket(b).send().await.unwrap();
    assert_eq!(status.status(), Some(&BucketVersioningStatus::Enabled));

    let v1 = put_object(&s3, b, "k", b"one").await;
    let v2 = put_object(&s3, b, "k", b"two").await;
    let (id1, id2) = (v1.version_id().unwrap(), v2.version_id().unwrap());
    assert_ne!(id1, id2);
    assert_eq!(body(&s3, b, "k").await, b"two");
    let old = s3
        .get_object()
        .bucket(b)
        .key("k")
        .version_id(id1)
        .send()
        .await
        .unwrap();
    assert_eq!(old.version_id(), Some(id1));
    assert_eq!(
        old.body.collect().await.unwrap().into_bytes().as_ref(),
        b"one"
    );
    let null = s3
        .head_object()
        .bucket(b)
        .key("k")
        .version_id("null")
        .send()
        .await
        .unwrap();
    assert_eq!(null.content_length(), Some(6));

    // Copy from an old version.
    let copied = s3
        .copy_object()
        .bucket(b)
        .key("from-v1")
        .copy_source(format!("{b}/k?versionId={id1}"))
        .send()
        .await
        .unwrap();
    assert_eq!(copied.copy_source_version_id(), Some(id1));
    assert!(copied.version_id().is_some());
    assert_eq!(body(&s3, b, "from-v1").await, b"one");

    // A delete marker hides the key; GET answers 404 with x-amz-delete-marker.
    let deleted = s3.delete_object().bucket(b).key("k").send().await.unwrap();
    assert_eq!(deleted.delete_marker(), Some(true));
    let marker = deleted.version_id().unwrap().to_owned();
    let err = s3.get_object().bucket(b).key("k").send().await.unwrap_err();
    let raw = err.raw_response().unwrap();
    assert_eq!(raw.status().as_u16(), 404);
    assert_eq!(raw.headers().get("x-amz-delete-marker"), Some("true"));
    let err = s3
        .head_object()
        .bucket(b)
        .key("k")
        .version_id(&marker)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 405);
    let listed = s3.list_objects_v2().bucket(b).send().await.unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["from-v1"]);

    let versions = list_versions(&s3, b, "k").await;
    let ids = version_ids(&versions);
    assert_eq!(ids, [id2, id1, "null"]);
    assert_eq!(versions.delete_markers().len(), 1);
    assert_eq!(versions.delete_markers()[0].is_latest(), Some(true));
    // Pages of one with key and version-id markers.
    let mut seen = Vec::new();
    let (mut key_marker, mut version_marker) = (None, None);
    loop {
        let page = s3
            .list_object_versions()
            .bucket(b)
            .prefix("k")
            .max_keys(1)
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(version_marker.clone())
            .send()
            .await
            .unwrap();
        seen.extend(
            page.versions()
                .iter()
                .filter_map(|v| v.version_id().map(str::to_owned)),
        );
        seen.extend(
            page.delete_markers()
                .iter()
                .filter_map(|v| v.version_id().map(str::to_owned)),
        );
        if !page.is_truncated().unwrap() {
            break;
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        version_marker = page.next_version_id_marker().map(str::to_owned);
    }
    assert_eq!(seen, [marker.as_str(), id2, id1, "null"]);

    // Deleting the marker by id brings the key back.
    let undone = s3
        .delete_object()
        .bucket(b)
        .key("k")
        .version_id(&marker)
        .send()
        .await
        .unwrap();
    assert_eq!(undone.delete_marker(), Some(true));
    assert_eq!(body(&s3, b, "k").await, b"two");

    // Suspended: the write is the null version.
    set_versioning(&s3, b, BucketVersioningStatus::Suspended).await;
    let suspended = put_object(&s3, b, "k", b"three").await;
    assert_eq!(suspended.version_id(), Some("null"));
    let versions = list_versions(&s3, b, "k").await;
    let ids = version_ids(&versions);
    assert_eq!(ids, ["null", id2, id1]);
    let (c, status) = code(
        s3.get_object()
            .bucket(b)
            .key("k")
            .version_id("0123456789abcdef0123456789abcdef")
            .send()
            .await,
    );
    assert_eq!((c.as_str(), status), ("NoSuchVersion", 404));

    // DeleteObjects by version id removes versions for good; the bucket can then go.
    let listed = s3.list_object_versions().bucket(b).send().await.unwrap();
    let mut ids: Vec<ObjectIdentifier> = listed
        .versions()
        .iter()
        .map(|v| (v.key().unwrap(), v.version_id().unwrap()))
        .chain(
            listed
                .delete_markers()
                .iter()
                .map(|m| (m.key().unwrap(), m.version_id().unwrap())),
        )
        .map(|(key, id)| {
            ObjectIdentifier::builder()
                .key(key)
                .version_id(id)
                .build()
                .unwrap()
        })
        .collect();
    let (c, _) = code(s3.delete_bucket().bucket(b).send().await);
    assert_eq!(c, "BucketNotEmpty");
    ids.sort_by(|a, b| a.key().cmp(b.key()));
    let deleted = delete_objects(&s3, b, ids).await;
    assert!(deleted.errors().is_empty(), "{:?}", deleted.errors());
    assert!(deleted.deleted().iter().all(|d| d.version_id().is_some()));
    s3.delete_bucket().bucket(b).send().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_presigned_get_and_put() {
    let server = TestServer::start();
    let s3 = server.sdk_client();
    let b = "sdk-presigned";
    s3.create_bucket().bucket(b).send().await.unwrap();
    let config = PresigningConfig::expires_in(Duration::from_secs(300)).unwrap();
    let put_req = s3
        .put_object()
        .bucket(b)
        .key("via url")
        .presigned(config.clone())
        .await
        .unwrap();
    let uri: http::Uri = put_req.uri().parse().unwrap();
    let headers: Vec<(&str, &str)> = put_req.headers().collect();
    let response = raw_request(
        server.authority(),
        "PUT",
        uri.path_and_query().unwrap().as_str(),
        &headers,
        b"presigned body",
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.text());
    let get_req = s3
        .get_object()
        .bucket(b)
        .key("via url")
        .presigned(config)
        .await
        .unwrap();
    let uri: http::Uri = get_req.uri().parse().unwrap();
    let response = raw_request(
        server.authority(),
        "GET",
        uri.path_and_query().unwrap().as_str(),
        &[],
        b"",
    )
    .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"presigned body");
    // A tampered signature is refused.
    let tampered = uri
        .path_and_query()
        .unwrap()
        .as_str()
        .replace("via%20url", "other");
    let response = raw_request(server.authority(), "GET", &tampered, &[], b"").await;
    assert_eq!(response.status, 403);
    assert!(response.text().contains("SignatureDoesNotMatch"));
}

/// An aws-chunked upload (unsigned payload, signed headers) whose trailing CRC32 is `crc32`.
async fn chunked_put_with_trailer(
    server: &TestServer,
    path: &str,
    data: &[u8],
    crc32: &str,
) -> support::RawResponse {
    let mut encoded = format!("{:x}\r\n", data.len()).into_bytes();
    encoded.extend_from_slice(data);
    encoded.extend_from_slice(format!("\r\n0\r\nx-amz-checksum-crc32:{crc32}\r\n\r\n").as_bytes());
    let amz_date = sigv4::amz_date_now();
    let decoded_len = data.len().to_string();
    let signed = [
        ("host", server.authority()),
        ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
        ("x-amz-date", amz_date.as_str()),
        ("x-amz-decoded-content-length", decoded_len.as_str()),
        ("x-amz-trailer", "x-amz-checksum-crc32"),
    ];
    let authorization = sigv4::authorization(
        support::ACCESS_KEY,
        support::SECRET_KEY,
        support::REGION,
        "PUT",
        path,
        &signed,
    );
    let mut headers: Vec<(&str, &str)> = signed[1..].to_vec();
    headers.push(("content-encoding", "aws-chunked"));
    headers.push(("authorization", authorization.as_str()));
    raw_request(server.authority(), "PUT", path, &headers, &encoded).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trailing_checksums_are_compared_with_the_data() {
    let server = TestServer::start();
    let s3 = server.sdk_client();
    s3.create_bucket()
        .bucket("sdk-trailer")
        .send()
        .await
        .unwrap();
    // CRC32 of "hello" is NhCmhg==.
    let ok = chunked_put_with_trailer(&server, "/sdk-trailer/good", b"hello", "NhCmhg==").await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(ok.header("x-amz-checksum-crc32"), Some("NhCmhg=="));
    assert_eq!(body(&s3, "sdk-trailer", "good").await, b"hello");
    let bad = chunked_put_with_trailer(&server, "/sdk-trailer/bad", b"hello", "AAAAAA==").await;
    assert_eq!(bad.status, 400, "{}", bad.text());
    assert!(
        bad.text().contains("<Code>BadDigest</Code>"),
        "{}",
        bad.text()
    );
    let request_id = bad.header("x-amz-request-id").unwrap();
    assert!(
        bad.text()
            .contains(&format!("<RequestId>{request_id}</RequestId>"))
    );
    let (c, _) = code(
        s3.head_object()
            .bucket("sdk-trailer")
            .key("bad")
            .send()
            .await,
    );
    assert_eq!(c, "NotFound");
}
