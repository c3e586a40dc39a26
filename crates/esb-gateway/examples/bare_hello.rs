//! The physical floor for the gateway benchmark: a bare hyper HTTP/1.1 server answering every
//! request with a fixed JSON body, on the same runtime shape as the gateway (tokio, 2 worker
//! threads). `cargo run --release -p esb-gateway --example bare_hello -- 127.0.0.1:18080`

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18080".to_string());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("bare hello server on http://{addr}");
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(|_request| async {
                let mut response = hyper::Response::new(Full::new(Bytes::from_static(
                    br#"{"message":"hello from rust"}"#,
                )));
                response.headers_mut().insert(
                    "content-type",
                    hyper::header::HeaderValue::from_static("application/json"),
                );
                Ok::<_, Infallible>(response)
            });
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
