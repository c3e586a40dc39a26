//! What a worker's runtime and extensions send the Runtime API: the input is the raw bytes of
//! one HTTP/1.1 connection (pipelined requests, chunked bodies, trailers), served by the same
//! hyper server and routes as a connection accepted from the worker's listener
//! (`esb_agent::fuzzing::runtime_api_connection`), while the agent side hands out two
//! invocations (`fuzz-1`, then `fuzz-2`) and reads any streamed response.
//!
//! An extension named `harness` registers first on its own connection; `{ext-id}` in the
//! input stands for its identifier, so `event/next`, `init/error` and `exit/error` are
//! reachable. Time is paused: a request that waits forever (`GET /next` with nothing queued)
//! ends at the virtual time-out at once. Any answer is fine; a panic is a bug.

#![no_main]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use esb_agent::runtime_api::FunctionInfo;
use esb_agent::{Invocation, InvocationOutcome, RuntimeApi};
use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

const EXTENSION_ID: &[u8] = b"{ext-id}";
const REGISTER_BODY: &str = r#"{"events":["INVOKE","SHUTDOWN"]}"#;

fn invocation(id: &str) -> Invocation {
    Invocation {
        request_id: id.to_owned(),
        payload: Bytes::from_static(br#"{"hello":"world"}"#),
        deadline_ms: 1_700_000_000_123,
        invoked_function_arn: "arn:aws:lambda:us-east-1:000000000000:function:f".to_owned(),
        trace_id: Some("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1".to_owned()),
        client_context: Some(r#"{"custom":{"a":"b"}}"#.to_owned()),
        cognito_identity: None,
    }
}

/// A connection to `api`, served in its own task.
fn connect(api: &Arc<RuntimeApi>) -> DuplexStream {
    let (client, server) = tokio::io::duplex(64 * 1024);
    let api = Arc::clone(api);
    tokio::spawn(async move { esb_agent::fuzzing::runtime_api_connection(&api, server).await });
    client
}

/// Registers the `harness` extension and returns its identifier.
async fn register(api: &Arc<RuntimeApi>) -> Option<Vec<u8>> {
    let mut connection = connect(api);
    let register = format!(
        "POST /2020-01-01/extension/register HTTP/1.1\r\nLambda-Extension-Name: harness\r\n\
         Content-Length: {}\r\n\r\n{REGISTER_BODY}",
        REGISTER_BODY.len()
    );
    connection.write_all(register.as_bytes()).await.ok()?;
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let read = connection.read(&mut buffer).await.ok()?;
        if read == 0 {
            return None;
        }
        answer.extend_from_slice(&buffer[..read]);
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut response = httparse::Response::new(&mut headers);
        if let Ok(httparse::Status::Complete(_)) = response.parse(&answer) {
            return response
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("lambda-extension-identifier"))
                .map(|h| h.value.to_vec());
        }
    }
}

async fn run(data: &[u8]) {
    let api = Arc::new(RuntimeApi::new());
    api.expect_extensions(
        1,
        FunctionInfo {
            function_name: "f".to_owned(),
            function_version: "$LATEST".to_owned(),
            handler: "app.handler".to_owned(),
        },
    );
    let extension_id = register(&api)
        .await
        .expect("the harness extension registers");
    let input = esb_fuzz::replace(data, EXTENSION_ID, &extension_id);

    let agent = Arc::clone(&api);
    tokio::spawn(async move {
        for id in ["fuzz-1", "fuzz-2"] {
            match agent.invoke(invocation(id)).await {
                Ok(InvocationOutcome::Streaming { stream, .. }) => {
                    let _ = stream.collect().await;
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });

    let (mut reader, mut writer) = tokio::io::split(connect(&api));
    let write = async {
        let _ = writer.write_all(&input).await;
        let _ = writer.shutdown().await;
    };
    let read = async {
        let mut answers = Vec::new();
        let _ = reader.read_to_end(&mut answers).await;
    };
    let _ =
        tokio::time::timeout(Duration::from_secs(60), async { tokio::join!(write, read) }).await;
}

fuzz_target!(|data: &[u8]| {
    esb_fuzz::runtime().block_on(run(data));
});
