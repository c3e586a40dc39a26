//! SigV4 as the DynamoDB front checks it: the input's first request (see
//! `esb_fuzz::requests`), its `Authorization: AWS4-HMAC-SHA256 …` header or presigned query
//! (`X-Amz-Credential`, `X-Amz-Expires`, …), canonical headers and query, and the body hash,
//! verified at a fixed time (`esb_dynamodb::fuzzing::verify_sigv4`, where the requests botocore
//! signed in the sigv4 tests verify); then the whole front (`esb_dynamodb::handle`, with
//! SigV4 on), which also checks the auth material is complete.
//!
//! The gateway has no SigV4 parsing to fuzz: its Invoke API is guarded by the caller's
//! address, and an `AWS_IAM` function URL only checks the header's prefix. Any answer is
//! fine; a panic is a bug.

#![no_main]

use std::sync::OnceLock;

use esb_dynamodb::{Auth, Credential, Engine, EngineConfig, Service, handle};
use libfuzzer_sys::fuzz_target;

/// 2026-11-23T14:35:07Z, when the botocore-signed requests of the sigv4 tests were signed.
const NOW: i64 = 1_795_444_507;

fn credentials() -> Vec<Credential> {
    vec![
        Credential {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: "session-secret".into(),
        },
        Credential {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
        },
    ]
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime builds")
    })
}

/// One service for every input: a request that passes its SigV4 check (signed within 15
/// minutes of the real clock) cannot be made without the secret, so the engine stays empty.
fn service() -> &'static Service {
    static SERVICE: OnceLock<Service> = OnceLock::new();
    SERVICE.get_or_init(|| {
        let config = EngineConfig {
            ttl_sweep_interval: None,
            ..EngineConfig::in_memory()
        };
        let engine = Engine::open(&config).expect("the engine opens");
        Service::new(engine, Auth::SigV4(credentials()))
    })
}

fuzz_target!(|data: &[u8]| {
    let Some(request) = esb_fuzz::requests(data).into_iter().next() else {
        return;
    };
    let uri = request.uri();
    let _ = esb_dynamodb::fuzzing::verify_sigv4(
        request.method().as_str(),
        uri.path(),
        uri.query().unwrap_or(""),
        uri.authority().map(|a| a.as_str()),
        request.headers(),
        request.body(),
        &credentials(),
        NOW,
    );
    runtime().block_on(handle(service(), request));
});
