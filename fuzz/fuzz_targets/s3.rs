//! S3 requests (the input's requests, see `esb_fuzz::requests`) through the in-process service
//! (`esb_s3::server::handle`: s3s's routing and XML deserializers, our operations and store)
//! on a fresh store: CompleteMultipartUpload, DeleteObjects, lifecycle, versioning, tagging,
//! CORS and the other configuration bodies, headers and queries; then a lifecycle sweep a
//! year and a half later applies whatever rules the input set.
//!
//! Every input starts with bucket `bkt`, object `bkt/k` and a multipart upload of `bkt/mp`
//! with part 1 uploaded; `{upload-id}` in the input stands for that upload's id. Requests are
//! not signed (the service runs without auth). Any answer is fine; a panic is a bug.

#![no_main]

use std::sync::OnceLock;

use bytes::Bytes;
use esb_s3::{EsbS3, Store, server::handle};
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use s3s::service::{S3Service, S3ServiceBuilder};

const UPLOAD_ID: &[u8] = b"{upload-id}";
const DAY_MS: i64 = 24 * 3600 * 1000;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    // Not paused: the store's file work runs on blocking threads.
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime builds")
    })
}

/// A store directory in memory where there is one: the store syncs every write.
fn store_dir() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() {
        tempfile::tempdir_in(shm).expect("a directory in /dev/shm")
    } else {
        tempfile::tempdir().expect("a temporary directory")
    }
}

async fn call(service: &S3Service, request: http::Request<Bytes>) -> Bytes {
    let Ok(response) = handle(service, request.map(s3s::Body::from)).await else {
        return Bytes::new();
    };
    response
        .into_body()
        .collect()
        .await
        .map(|body| body.to_bytes())
        .unwrap_or_default()
}

fn request(method: &str, uri: &str, body: &'static [u8]) -> http::Request<Bytes> {
    http::Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "127.0.0.1:9000")
        .body(Bytes::from_static(body))
        .expect("a valid setup request")
}

/// Bucket `bkt`, object `bkt/k`, and an upload of `bkt/mp` with part 1; returns the upload id.
async fn set_up(service: &S3Service) -> Vec<u8> {
    call(service, request("PUT", "/bkt", b"")).await;
    call(service, request("PUT", "/bkt/k", b"hello")).await;
    let created = call(service, request("POST", "/bkt/mp?uploads", b"")).await;
    let text = String::from_utf8_lossy(&created);
    let id = text
        .split_once("<UploadId>")
        .and_then(|(_, rest)| rest.split_once("</UploadId>"))
        .map(|(id, _)| id.to_owned())
        .unwrap_or_else(|| panic!("CreateMultipartUpload answered {text}"));
    let part = format!("/bkt/mp?partNumber=1&uploadId={id}");
    call(service, request("PUT", &part, b"part one")).await;
    id.into_bytes()
}

fuzz_target!(|data: &[u8]| {
    let dir = store_dir();
    runtime().block_on(async {
        let store = Store::open(dir.path()).await.expect("the store opens");
        let mut builder = S3ServiceBuilder::new(EsbS3::new(store.clone()));
        builder.set_host(s3s::host::SingleDomain::new("s3.localhost:9000").expect("a domain"));
        let service = builder.build();
        let upload_id = set_up(&service).await;
        for request in esb_fuzz::requests(&esb_fuzz::replace(data, UPLOAD_ID, &upload_id)) {
            call(&service, request).await;
        }
        let later = esb_s3::store::now_ms() + 540 * DAY_MS;
        let _ = esb_s3::lifecycle::sweep(&store, later).await;
    });
});
