//! Real-socket conformance: the logs role on 127.0.0.1 driven by Python `requests`
//! (tests/requests_client.py) on the test tools' Python (scripts/test-tools.sh; `requests`
//! comes with moto there).

#![allow(clippy::unwrap_used)]

mod support;

#[test]
fn python_requests_client() {
    let server = support::TestServer::start();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/requests_client.py");
    let stdout = esb_testkit::python(script, &[&server.endpoint()], &[]);
    assert!(stdout.contains("all checks passed"), "{stdout}");
}

#[test]
fn raw_socket_smoke() {
    let server = support::TestServer::start();
    let reply = support::http(&server.addr, "GET", "/health", b"").unwrap();
    assert_eq!((reply.status, reply.body.as_str()), (200, "OK\n"));
    let ingest = support::http(
        &server.addr,
        "POST",
        "/insert/jsonline",
        b"{\"_msg\":\"over a socket\"}\n",
    )
    .unwrap();
    assert_eq!(ingest.status, 200);
    let query = support::http(
        &server.addr,
        "GET",
        "/select/logsql/query?query=socket",
        b"",
    )
    .unwrap();
    assert!(query.body.contains("over a socket"), "{}", query.body);
}
