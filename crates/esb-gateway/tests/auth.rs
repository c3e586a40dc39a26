//! The gateway's auth seen from a client: the ESB login and bearer gate, `ApiKeyRequired`,
//! JWT authorizers (HS256, RS256 and ES256 with JWKS files, issuer, audience, expiry, scopes)
//! and Lambda authorizers (TOKEN, REQUEST, simple responses, errors, caching), plus a property
//! that no header or body makes auth panic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use esb_gateway::auth::{
    AUTHORIZED_HEADER, Auth, AuthConfig, AuthDecision, AuthorizerInvoker, InvokeFuture, JwksSource,
    sub_for,
};
use esb_gateway::limits::{ApiKeys, Limits, StageThrottling, Validators};
use esb_gateway::{EventContext, RouteMatch, Router};
use esb_model::artifacts::RoutingFile;
use esb_model::{ApiKind, Authorizer, RouteKind};
use http::{Method, Request, Response, StatusCode};
use proptest::prelude::*;
use ring::rand::SystemRandom;
use ring::signature::{self, KeyPair};
use serde_json::{Value, json};

use common::{HTTP, REST, api, route};

const SECRET: &str = "an-esb-secret-that-is-at-least-32-bytes";
const API_KEY: &str = "key-123";
const NOW: u64 = 1_700_000_000;
const ISSUER: &str = "https://issuer.example.com";

/// A throwaway 2048-bit RSA key, for tests only.
const RSA_TEST_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDl+wqV2FYlIXy6
RMSI2JroiRghSiYh2Csl8S60L4LEfMYZ14jEGw51WLGxNDpoheEKa5cyBDhIOQHa
4eBRZDdmWzZj73nW+PkEG9mEU5y0/qXVp5J4Vfwf+UGfylGKV71vy9ug8pTkapxi
ahUqMH5sQeJNH5swaoga3R82xEkYASB/wjueo7CVlu7j3uY+kU+LhCNPA33Jg9mf
QsXNiJ9+GRy6Sdd7PV8D7mbiEAzI/+3t1DaUVHMUhjiWEByhTvwjUCGkPLJh2tao
aliWru5//HliUwkKTy1s0M6Qn01upWm8T4IOaV7Hqdxr9NM96Q1+QPg3o/qqjnnF
T6JA0OfBAgMBAAECggEAGoBTN/E1/BFfzhcejqZnM2SY4z0oJ75BOp4QQ7M13m6C
ZXfwyqhTgjI2R7U9Bc5noEvFoH3b/naTQCXHM5nYyHK6UcnGwH7wMwkCh70a0cCG
W5hzyGogI48VgNRPkSGLMtbK+ED751ZhrvWKetIbv13YNgruVyXviSjx792ujpVa
rhhGAZqNmE8J94sA1Z13ZnvsgkghJFNozAV4cBKTAxdz0JXaCRRdp9Aad4I9Yg9l
soogH/VDl2BgfD9c6RkTK8PiUbRbASvXPrTWNEdaP0Fp5frQyh+6IjWMs1goEZBw
ilDf+PZRLULYNdcngFON45HRLwIGqge6P9V0tXPuAQKBgQD+Kcn+rxm8/IRmhH1o
SfzMGhcCu7yTCLV7x0gJYLY0X5sJ2ON1MISbjPTLL70DVKnsfno8tc4yZgvei2i4
S4F4qwblBOGyS0093ZxECg0KHh5CXHtNDE0L6nxyG6YH9PL9kBAV8fLI2uM5Qgte
b5dlbnk7SeeqU0KTwhahj0UygwKBgQDnpIN9JKwl8Q0IJkNgpXOHpex7wTizAkdp
y5BHoIQ2UR7spFOVT6hDmCLAUeTE+D3g07JK4iNrpJSpV60MLxdnGjdnR86jJ61P
wbetMIMG3sLJNn8ZHOfz4lccJ8rIZmztb3Q54SGhvF5Q+JPZ+eBcbim/Efc9fdwG
THP3pVIZawKBgQD9D9S8jdGdtvuJK5/GB+z5t3xzz0M6TvCMNuaF19JzIUI4Msh+
9XkDe/x8lqKmv1SVUXUaH5cX3T0yLzJsVVmrMPajbxHduVZGI/IkWLGVAln0jyqB
k57fH3EbGGZfA8gxKZCqmQW4cSDO8PBq7ccbSjzRCIvurgnbHuPzprgqSwKBgFGo
hg3UorcRXdW0n2XvjWWRUWdi+xjnwcMC1s7ZQCJhwHQNjcWB+kAx3nZLqEjjdfTO
y/hn9bKZpyp3VPKJm0dmT4eiIa8Uap1GHfj4tAf0+VezVWTF8uLftHOhd3Pj35xo
AOHygkegvuLubjiWRMhwsVjA/ZZ4ytqRkwQHDIUXAoGBAMNxRdZ3KP0uUXgFbUgy
+PgbHXNmMrFpEeZjslpttma8NzAqrH4oi/GNmbVNiFwqJyLG7NK1bJaR3GBod//x
mEFQqKB2nbj9a3YegG9E1fTFnR22m0GczQN6O5kwKRoEdcotWqQTmYY5L5PuyOyi
A4QJXg4ezeQz/W5f9+PEG63U
-----END PRIVATE KEY-----";

// ---------------------------------------------------------------- fixtures

fn clock() -> (Arc<AtomicU64>, esb_gateway::auth::Clock) {
    let now = Arc::new(AtomicU64::new(NOW));
    let read = now.clone();
    (
        now,
        Arc::new(move || UNIX_EPOCH + Duration::from_secs(read.load(Ordering::SeqCst))),
    )
}

fn authorizer(name: &str, kind: &str, properties: Value) -> Authorizer {
    Authorizer {
        name: name.to_owned(),
        kind: kind.to_owned(),
        properties,
    }
}

fn guarded(
    api: &str,
    kind: RouteKind,
    path: &str,
    authorizer: Option<&str>,
    key: bool,
    scopes: &[&str],
) -> esb_model::Route {
    let mut r = route(api, kind, "GET", path, "Fn");
    r.auth.authorizer = authorizer.map(str::to_owned);
    r.auth.api_key_required = key;
    r.auth.authorization_scopes = scopes.iter().map(|s| (*s).to_owned()).collect();
    r
}

fn routing(issuer_dir: &str) -> RoutingFile {
    use RouteKind::{Http, Rest};
    let mut rest = api(REST, ApiKind::Rest, "Prod", &[]);
    rest.auth.authorizers = vec![
        authorizer(
            "TokenAuth",
            "lambda-token",
            json!({"FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:token-auth",
                   "Identity": {"Header": "Authorization", "ValidationExpression": "Bearer .+"}}),
        ),
        authorizer(
            "RequestAuth",
            "lambda-request",
            json!({"FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:request-auth",
                   "FunctionPayloadType": "REQUEST",
                   "Identity": {"Headers": ["X-User"], "QueryStrings": ["tenant"], "ReauthorizeEvery": 0}}),
        ),
        authorizer(
            "CognitoAuth",
            "cognito",
            json!({"UserPoolArn": "arn:aws:cognito-idp:x"}),
        ),
    ];
    let mut http = api(HTTP, ApiKind::Http, "$default", &[]);
    http.auth.authorizers = vec![
        authorizer(
            "JwtAuth",
            "jwt",
            json!({"IdentitySource": "$request.header.Authorization",
                   "JwtConfiguration": {"issuer": ISSUER, "audience": ["app", "other"]}}),
        ),
        authorizer(
            "FileIssuer",
            "jwt",
            json!({"JwtConfiguration": {"issuer": format!("file://{issuer_dir}"), "audience": ["app"]}}),
        ),
        authorizer(
            "EcAuth",
            "jwt",
            json!({"JwtConfiguration": {"issuer": ISSUER, "audience": ["app"]}}),
        ),
        authorizer(
            "SimpleAuth",
            "lambda-request",
            json!({"FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:simple-auth",
                   "AuthorizerPayloadFormatVersion": "2.0", "EnableSimpleResponses": true,
                   "Identity": {"Headers": ["Authorization"], "ReauthorizeEvery": 60}}),
        ),
    ];
    RoutingFile {
        apis: vec![rest, http],
        routes: vec![
            guarded(REST, Rest, "/open", None, false, &[]),
            guarded(REST, Rest, "/keyed", None, true, &[]),
            guarded(REST, Rest, "/token/{id}", Some("TokenAuth"), false, &[]),
            guarded(REST, Rest, "/request/{id}", Some("RequestAuth"), false, &[]),
            guarded(REST, Rest, "/cognito", Some("CognitoAuth"), false, &[]),
            guarded(REST, Rest, "/iam", Some("AWS_IAM"), false, &[]),
            guarded(HTTP, Http, "/jwt", Some("JwtAuth"), false, &[]),
            guarded(
                HTTP,
                Http,
                "/scoped",
                Some("JwtAuth"),
                false,
                &["admin", "delete"],
            ),
            guarded(HTTP, Http, "/rsa", Some("FileIssuer"), false, &[]),
            guarded(HTTP, Http, "/ec", Some("EcAuth"), false, &[]),
            guarded(HTTP, Http, "/simple", Some("SimpleAuth"), false, &[]),
        ],
        ..RoutingFile::default()
    }
}

type Reply = dyn Fn(&str, &Value) -> Result<Value, String> + Send + Sync;

/// A fake invoker: answers with `reply`, counts calls, keeps the last payload.
struct FakeInvoker {
    calls: AtomicUsize,
    last: Mutex<Option<(String, Value)>>,
    reply: Box<Reply>,
}

impl FakeInvoker {
    fn new(reply: impl Fn(&str, &Value) -> Result<Value, String> + Send + Sync + 'static) -> Self {
        FakeInvoker {
            calls: AtomicUsize::new(0),
            last: Mutex::new(None),
            reply: Box::new(reply),
        }
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn last(&self) -> (String, Value) {
        self.last.lock().unwrap().clone().expect("invoked")
    }
}

impl AuthorizerInvoker for FakeInvoker {
    fn invoke<'a>(&'a self, function: &'a str, payload: Bytes) -> InvokeFuture<'a> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let event: Value = serde_json::from_slice(&payload).map_err(|e| e.to_string())?;
            *self.last.lock().unwrap() = Some((function.to_owned(), event.clone()));
            (self.reply)(function, &event).map(|v| Bytes::from(v.to_string()))
        })
    }
}

fn never() -> FakeInvoker {
    FakeInvoker::new(|_, _| Err("not expected".into()))
}

struct Box_ {
    auth: Auth,
    limits: Limits,
    router: Router,
    now: Arc<AtomicU64>,
    _dir: tempfile::TempDir,
}

fn setup(configure: impl FnOnce(&mut AuthConfig, &std::path::Path)) -> Box_ {
    let dir = tempfile::tempdir().unwrap();
    let issuer_dir = dir.path().join("idp");
    std::fs::create_dir_all(issuer_dir.join(".well-known")).unwrap();
    std::fs::write(issuer_dir.join(".well-known/jwks.json"), rsa_jwks()).unwrap();
    let routing = routing(issuer_dir.to_str().unwrap());
    let (now, clock) = clock();
    let mut config = AuthConfig {
        api_keys: vec![API_KEY.into()],
        jwt_secret: Some(SECRET.into()),
        clock,
        ..AuthConfig::default()
    };
    configure(&mut config, dir.path());
    let limits = Limits {
        throttling: StageThrottling::new(&routing),
        api_keys: ApiKeys::load(&routing, config.api_keys.clone(), dir.path()).unwrap(),
        validators: Validators::new(&routing).unwrap(),
    };
    Box_ {
        auth: Auth::new(config, &routing).unwrap(),
        limits,
        router: Router::new(&routing),
        now,
        _dir: dir,
    }
}

fn esb_box() -> Box_ {
    setup(|c, _| c.esb_users = vec![("alice".into(), "s3cret".into())])
}

fn get(path: &str, headers: &[(&str, &str)]) -> Request<Bytes> {
    let mut b = Request::builder().method(Method::GET).uri(path);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Bytes::new()).unwrap()
}

fn context() -> EventContext {
    EventContext {
        request_id: "req-1".into(),
        source_ip: "127.0.0.1".into(),
        stage: "Prod".into(),
        api_id: "api".into(),
        domain_name: "localhost".into(),
        request_time_epoch_ms: NOW * 1000,
        authorizer: None,
        api_key: None,
    }
}

impl Box_ {
    async fn check(&self, request: &Request<Bytes>, invoker: &FakeInvoker) -> AuthDecision {
        let RouteMatch::Matched(matched) =
            self.router.route(request.method(), request.uri().path())
        else {
            panic!("no route for {}", request.uri());
        };
        self.auth
            .authorize(request, &matched, &context(), invoker)
            .await
    }

    /// What the gateway checks after auth: the route's API key among them.
    fn admit(&self, request: &Request<Bytes>) -> Result<(), StatusCode> {
        let RouteMatch::Matched(matched) =
            self.router.route(request.method(), request.uri().path())
        else {
            panic!("no route for {}", request.uri());
        };
        self.limits
            .admit(request, &matched)
            .map(|_| ())
            .map_err(|refused| refused.response().status())
    }

    async fn allow(&self, request: &Request<Bytes>, invoker: &FakeInvoker) -> Option<Value> {
        match self.check(request, invoker).await {
            AuthDecision::Allow { context } => context,
            AuthDecision::Deny(r) => panic!("denied {}: {}", r.status(), body(&r)),
        }
    }

    async fn deny(&self, request: &Request<Bytes>, invoker: &FakeInvoker) -> Response<Bytes> {
        match self.check(request, invoker).await {
            AuthDecision::Allow { context } => panic!("allowed with {context:?}"),
            AuthDecision::Deny(r) => r,
        }
    }

    fn login(&self, key: Option<&str>, body: &str) -> Response<Bytes> {
        let mut b = Request::builder()
            .method(Method::POST)
            .uri("/user/auth/ver1.0");
        if let Some(key) = key {
            b = b.header("x-api-key", key);
        }
        self.auth
            .login(&b.body(Bytes::from(body.to_owned())).unwrap())
            .expect("the login path is served")
    }

    fn token(&self) -> String {
        let r = self.login(
            Some(API_KEY),
            r#"{"AuthParameters":{"USERNAME":"alice","PASSWORD":"s3cret"}}"#,
        );
        assert_eq!(r.status(), StatusCode::OK);
        json_body(&r)["AuthenticationResult"]["IdToken"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

fn body(r: &Response<Bytes>) -> String {
    String::from_utf8_lossy(r.body()).into_owned()
}

fn json_body(r: &Response<Bytes>) -> Value {
    serde_json::from_slice(r.body()).unwrap()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

// ---------------------------------------------------------------- token minting

fn segments(header: Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

fn hs256(claims: &Value, secret: &str) -> String {
    let input = segments(json!({"alg":"HS256","typ":"JWT"}), claims);
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

fn rsa_key() -> signature::RsaKeyPair {
    let b64: String = RSA_TEST_KEY
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    signature::RsaKeyPair::from_pkcs8(&STANDARD.decode(b64).unwrap()).unwrap()
}

fn rsa_jwks() -> String {
    let key = rsa_key();
    let public = signature::RsaPublicKeyComponents::<Vec<u8>>::from(key.public());
    json!({"keys": [{"kty": "RSA", "kid": "rsa-1", "alg": "RS256", "use": "sig",
                     "n": URL_SAFE_NO_PAD.encode(&public.n), "e": URL_SAFE_NO_PAD.encode(&public.e)}]})
    .to_string()
}

fn rs256(claims: &Value) -> String {
    let key = rsa_key();
    let input = segments(json!({"alg":"RS256","kid":"rsa-1"}), claims);
    let mut sig = vec![0; key.public().modulus_len()];
    key.sign(
        &signature::RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn ec_key() -> (signature::EcdsaKeyPair, String) {
    let rng = SystemRandom::new();
    let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
    let pkcs8 = signature::EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
    let key = signature::EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap();
    let point = key.public_key().as_ref();
    let jwks = json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "ec-1",
                                "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                                "y": URL_SAFE_NO_PAD.encode(&point[33..65])}]});
    (key, jwks.to_string())
}

fn es256(key: &signature::EcdsaKeyPair, claims: &Value) -> String {
    let input = segments(json!({"alg":"ES256","kid":"ec-1"}), claims);
    let sig = key.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
}

fn claims(aud: &str) -> Value {
    json!({"iss": ISSUER, "aud": aud, "sub": "user-1", "exp": NOW + 60, "iat": NOW,
           "scope": "read write", "groups": ["a", "b"]})
}

// ---------------------------------------------------------------- ESB flow

#[tokio::test]
async fn esb_login_issues_a_token_that_opens_every_route() {
    let b = esb_box();
    assert!(b.auth.esb_mode());
    let r = b.login(
        Some(API_KEY),
        r#"{"AuthParameters":{"USERNAME":"alice","PASSWORD":"s3cret"}}"#,
    );
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[AUTHORIZED_HEADER], "true");
    assert_eq!(r.headers()["content-type"], "application/json");
    let token = json_body(&r)["AuthenticationResult"]["IdToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let payload: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(payload["cognito:username"], "alice");
    assert_eq!(payload["sub"], sub_for("alice"));
    assert_eq!(payload["iat"], NOW);
    assert_eq!(payload["exp"], NOW + 3600);

    let rest = b
        .allow(
            &get("/open", &[("authorization", &bearer(&token))]),
            &never(),
        )
        .await;
    assert_eq!(
        rest,
        Some(
            json!({"claims": {"cognito:username": "alice", "username": "alice", "sub": sub_for("alice")}})
        )
    );
    let http = b
        .allow(
            &get("/jwt", &[("authorization", &bearer(&token))]),
            &never(),
        )
        .await;
    assert_eq!(http.unwrap()["jwt"]["claims"]["username"], "alice");
}

#[tokio::test]
async fn esb_login_refusals() {
    let b = esb_box();
    let good = r#"{"AuthParameters":{"USERNAME":"alice","PASSWORD":"s3cret"}}"#;
    for key in [None, Some("wrong")] {
        let r = b.login(key, good);
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(json_body(&r), json!({"message": "Unauthorized"}));
        assert!(r.headers().get(AUTHORIZED_HEADER).is_none());
    }
    for bad in [
        r#"{"AuthParameters":{"USERNAME":"alice","PASSWORD":"nope"}}"#,
        r#"{"AuthParameters":{"USERNAME":"bob","PASSWORD":"s3cret"}}"#,
    ] {
        let r = b.login(Some(API_KEY), bad);
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(json_body(&r), json!({"message": "Unauthorized"}));
        assert_eq!(r.headers()[AUTHORIZED_HEADER], "true");
    }
    for malformed in ["", "{", "[]", r#"{"AuthParameters":{"USERNAME":1}}"#] {
        assert_eq!(
            b.login(Some(API_KEY), malformed).status(),
            StatusCode::BAD_REQUEST
        );
    }
    // Other paths and methods are not the login.
    assert!(b.auth.login(&get("/user/auth/ver1.0", &[])).is_none());
    assert!(b.auth.login(&get("/open", &[])).is_none());
}

#[tokio::test]
async fn esb_gate_refuses_missing_expired_and_tampered_tokens() {
    let b = esb_box();
    let token = b.token();
    let r = b.deny(&get("/open", &[]), &never()).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json_body(&r), json!({"message": "Unauthorized"}));

    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    payload["cognito:username"] = json!("mallory");
    parts[1] = URL_SAFE_NO_PAD.encode(payload.to_string());
    let tampered = parts.join(".");
    let forged = hs256(&payload, "some-other-secret-that-is-32-bytes-long");
    for bad in [tampered.as_str(), forged.as_str(), "garbage", "Bearer", ""] {
        let r = b
            .deny(&get("/open", &[("authorization", &bearer(bad))]), &never())
            .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{bad}");
    }

    b.now.store(NOW + 3600, Ordering::SeqCst);
    let r = b
        .deny(
            &get("/open", &[("authorization", &bearer(&token))]),
            &never(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn esb_mode_still_needs_the_api_key_where_required() {
    let b = esb_box();
    let auth = bearer(&b.token());
    let without_key = get("/keyed", &[("authorization", &auth)]);
    b.allow(&without_key, &never()).await;
    assert_eq!(b.admit(&without_key), Err(StatusCode::FORBIDDEN));
    let with_key = get(
        "/keyed",
        &[("authorization", &auth), ("x-api-key", API_KEY)],
    );
    b.allow(&with_key, &never()).await;
    assert_eq!(b.admit(&with_key), Ok(()));
}

#[test]
fn config_errors() {
    let routing = routing("/nonexistent");
    let short = AuthConfig {
        jwt_secret: Some("short".into()),
        ..AuthConfig::default()
    };
    assert!(
        Auth::new(short, &routing)
            .unwrap_err()
            .to_string()
            .contains("at least 32")
    );
    let no_secret = AuthConfig {
        esb_users: vec![("a".into(), "b".into())],
        api_keys: vec!["k".into()],
        ..AuthConfig::default()
    };
    assert!(Auth::new(no_secret, &routing).is_err());
    // Without ESB mode nothing requires a secret; the file:// issuer's JWKS must exist though.
    let err = Auth::new(AuthConfig::default(), &routing)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("FileIssuer") && err.contains("/nonexistent"),
        "{err}"
    );
    let mut undeclared = routing.clone();
    undeclared.routes[0].auth.authorizer = Some("Nope".into());
    undeclared.apis[1].auth.authorizers.clear();
    let err = Auth::new(AuthConfig::default(), &undeclared)
        .unwrap_err()
        .to_string();
    assert!(err.contains("Nope"), "{err}");
}

// ---------------------------------------------------------------- API keys

#[tokio::test]
async fn api_key_required() {
    let b = setup(|_, _| {});
    assert!(!b.auth.esb_mode());
    b.allow(&get("/open", &[]), &never()).await;
    assert_eq!(b.admit(&get("/open", &[])), Ok(()));
    for headers in [vec![], vec![("x-api-key", "wrong")]] {
        // Auth lets the request through; its key is checked after, with usage plans.
        let request = get("/keyed", &headers);
        assert_eq!(b.allow(&request, &never()).await, None);
        assert_eq!(b.admit(&request), Err(StatusCode::FORBIDDEN));
    }
    let keyed = get("/keyed", &[("x-api-key", API_KEY)]);
    assert_eq!(b.allow(&keyed, &never()).await, None);
    assert_eq!(b.admit(&keyed), Ok(()));
    // AWS_IAM routes are not verified locally.
    assert_eq!(b.allow(&get("/iam", &[]), &never()).await, None);
}

// ---------------------------------------------------------------- JWT authorizers

#[tokio::test]
async fn jwt_authorizer_hs256() {
    let b = setup(|_, _| {});
    let token = hs256(&claims("app"), SECRET);
    let ctx = b
        .allow(
            &get("/jwt", &[("authorization", &bearer(&token))]),
            &never(),
        )
        .await;
    let ctx = ctx.unwrap();
    assert_eq!(ctx["jwt"]["claims"]["sub"], "user-1");
    assert_eq!(ctx["jwt"]["claims"]["exp"], (NOW + 60).to_string());
    assert_eq!(ctx["jwt"]["claims"]["groups"], "[a b]");
    assert_eq!(ctx["jwt"]["scopes"], json!(["read", "write"]));
    // The Bearer prefix is optional on HTTP API JWT authorizers.
    b.allow(&get("/jwt", &[("authorization", &token)]), &never())
        .await;

    let mut client_id = claims("x");
    client_id.as_object_mut().unwrap().remove("aud");
    client_id["client_id"] = json!("other");
    b.allow(
        &get(
            "/jwt",
            &[("authorization", &bearer(&hs256(&client_id, SECRET)))],
        ),
        &never(),
    )
    .await;
}

#[tokio::test]
async fn jwt_authorizer_refusals() {
    let b = setup(|_, _| {});
    let mut wrong_issuer = claims("app");
    wrong_issuer["iss"] = json!("https://evil.example.com");
    let mut expired = claims("app");
    expired["exp"] = json!(NOW - 1);
    let mut no_exp = claims("app");
    no_exp.as_object_mut().unwrap().remove("exp");
    let mut later = claims("app");
    later["nbf"] = json!(NOW + 30);
    for (what, token) in [
        ("wrong audience", hs256(&claims("stranger"), SECRET)),
        ("wrong issuer", hs256(&wrong_issuer, SECRET)),
        ("expired", hs256(&expired, SECRET)),
        ("no exp", hs256(&no_exp, SECRET)),
        ("not yet valid", hs256(&later, SECRET)),
        (
            "wrong secret",
            hs256(&claims("app"), "x-different-secret-also-32-bytes-long"),
        ),
        ("RS256 without a JWKS", rs256(&claims("app"))),
    ] {
        let r = b
            .deny(
                &get("/jwt", &[("authorization", &bearer(&token))]),
                &never(),
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(json_body(&r), json!({"message": "Unauthorized"}), "{what}");
    }
    let r = b.deny(&get("/jwt", &[]), &never()).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn jwt_authorizer_scopes_need_one_match() {
    let b = setup(|_, _| {});
    let r = b
        .deny(
            &get(
                "/scoped",
                &[("authorization", &bearer(&hs256(&claims("app"), SECRET)))],
            ),
            &never(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(json_body(&r), json!({"message": "Forbidden"}));
    let mut admin = claims("app");
    admin["scope"] = json!("read admin");
    b.allow(
        &get(
            "/scoped",
            &[("authorization", &bearer(&hs256(&admin, SECRET)))],
        ),
        &never(),
    )
    .await;
    let mut scp = claims("app");
    scp.as_object_mut().unwrap().remove("scope");
    scp["scp"] = json!(["delete"]);
    b.allow(
        &get(
            "/scoped",
            &[("authorization", &bearer(&hs256(&scp, SECRET)))],
        ),
        &never(),
    )
    .await;
}

#[tokio::test]
async fn jwt_authorizer_rs256_from_a_file_issuer_jwks() {
    let b = setup(|_, _| {});
    let dir = b._dir.path().join("idp");
    let issuer = format!("file://{}", dir.display());
    let mut good = claims("app");
    good["iss"] = json!(issuer);
    let ctx = b
        .allow(
            &get("/rsa", &[("authorization", &bearer(&rs256(&good)))]),
            &never(),
        )
        .await;
    assert_eq!(ctx.unwrap()["jwt"]["claims"]["iss"], issuer);
    // HS256 with the shared secret is accepted too; a tampered RS256 token is not.
    b.allow(
        &get("/rsa", &[("authorization", &bearer(&hs256(&good, SECRET)))]),
        &never(),
    )
    .await;
    let token = rs256(&good);
    let tampered = format!("{}x", &token[..token.len() - 1]);
    let r = b
        .deny(
            &get("/rsa", &[("authorization", &bearer(&tampered))]),
            &never(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn jwt_authorizer_es256_from_a_configured_jwks() {
    let (key, jwks) = ec_key();
    let b = setup(move |c, dir| {
        let path = dir.join("ec-jwks.json");
        std::fs::write(&path, jwks).unwrap();
        c.jwks.insert(
            "EcAuth".into(),
            JwksSource::from_location(&format!("file://{}", path.display())).unwrap(),
        );
    });
    let token = es256(&key, &claims("app"));
    b.allow(&get("/ec", &[("authorization", &bearer(&token))]), &never())
        .await;
    let (other, _) = ec_key();
    let r = b
        .deny(
            &get(
                "/ec",
                &[("authorization", &bearer(&es256(&other, &claims("app"))))],
            ),
            &never(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn cognito_authorizer_on_rest_gives_claims() {
    let b = setup(|_, _| {});
    let token = hs256(&claims("anything"), SECRET);
    let ctx = b
        .allow(&get("/cognito", &[("authorization", &token)]), &never())
        .await;
    assert_eq!(ctx.unwrap()["claims"]["sub"], "user-1");
    let r = b.deny(&get("/cognito", &[]), &never()).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

// ---------------------------------------------------------------- Lambda authorizers

fn policy(effect: &str, resource: &str) -> Value {
    json!({"principalId": "user-7",
           "policyDocument": {"Version": "2012-10-17",
               "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}]},
           "context": {"tenant": "t1", "level": 3, "admin": true}})
}

#[tokio::test]
async fn lambda_token_authorizer_allows_and_caches() {
    let b = setup(|_, _| {});
    let invoker = FakeInvoker::new(|_, event| {
        if event["authorizationToken"] == "Bearer good" {
            Ok(policy(
                "Allow",
                "arn:aws:execute-api:*:*:ServerlessRestApi/Prod/GET/token/*",
            ))
        } else {
            Ok(policy("Deny", "*"))
        }
    });
    let request = get("/token/42", &[("authorization", "Bearer good")]);
    let ctx = b.allow(&request, &invoker).await;
    assert_eq!(
        ctx,
        Some(json!({"principalId": "user-7", "tenant": "t1", "level": 3, "admin": true}))
    );
    let (function, event) = invoker.last();
    assert_eq!(function, "token-auth");
    assert_eq!(
        event,
        json!({"type": "TOKEN", "authorizationToken": "Bearer good",
               "methodArn": "arn:aws:execute-api:us-east-1:123456789012:ServerlessRestApi/Prod/GET/token/42"})
    );
    // Within the TTL the cached policy is reused, and evaluated against the new method ARN.
    b.allow(
        &get("/token/43", &[("authorization", "Bearer good")]),
        &invoker,
    )
    .await;
    assert_eq!(invoker.calls(), 1);
    b.now.store(NOW + 301, Ordering::SeqCst);
    b.allow(&request, &invoker).await;
    assert_eq!(invoker.calls(), 2);

    let r = b
        .deny(
            &get("/token/1", &[("authorization", "Bearer bad")]),
            &invoker,
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        json_body(&r),
        json!({"Message": "User is not authorized to access this resource with an explicit deny"})
    );
}

#[tokio::test]
async fn lambda_token_authorizer_refusals() {
    let b = setup(|_, _| {});
    let counted = never();
    // Missing token, or one failing ValidationExpression: 401 without invoking.
    for headers in [vec![], vec![("authorization", "Basic abc")]] {
        let r = b.deny(&get("/token/1", &headers), &counted).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(counted.calls(), 0);
    // An Allow for another resource is an implicit deny.
    let elsewhere =
        FakeInvoker::new(|_, _| Ok(policy("Allow", "arn:aws:execute-api:*:*:*/Prod/POST/*")));
    let r = b
        .deny(
            &get("/token/1", &[("authorization", "Bearer a")]),
            &elsewhere,
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        json_body(&r),
        json!({"Message": "User is not authorized to access this resource"})
    );
    // The authorizer throwing "Unauthorized" is a 401; any other failure a 500.
    let unauthorized = FakeInvoker::new(|_, _| Err(r#"{"errorMessage":"Unauthorized"}"#.into()));
    let r = b
        .deny(
            &get("/token/1", &[("authorization", "Bearer b")]),
            &unauthorized,
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let boom = FakeInvoker::new(|_, _| Err("boom".into()));
    let r = b
        .deny(&get("/token/1", &[("authorization", "Bearer c")]), &boom)
        .await;
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(json_body(&r), json!({"message": null}));
    assert_eq!(
        r.headers()["x-amzn-errortype"],
        "AuthorizerConfigurationException"
    );
    let junk = FakeInvoker::new(|_, _| Ok(json!({"hello": "world"})));
    let r = b
        .deny(&get("/token/1", &[("authorization", "Bearer d")]), &junk)
        .await;
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn lambda_request_authorizer_gets_the_request() {
    let b = setup(|_, _| {});
    let invoker = FakeInvoker::new(|_, event| {
        if event["headers"]["X-User"] == "ann" {
            Ok(policy("Allow", "*"))
        } else {
            Ok(policy("Deny", "*"))
        }
    });
    let request = get("/request/9?tenant=t1", &[("x-user", "ann")]);
    let ctx = b.allow(&request, &invoker).await;
    assert_eq!(ctx.unwrap()["principalId"], "user-7");
    let (function, event) = invoker.last();
    assert_eq!(function, "request-auth");
    assert_eq!(event["type"], "REQUEST");
    assert_eq!(
        event["methodArn"],
        "arn:aws:execute-api:us-east-1:123456789012:ServerlessRestApi/Prod/GET/request/9"
    );
    assert_eq!(event["resource"], "/request/{id}");
    assert_eq!(event["path"], "/request/9");
    assert_eq!(event["httpMethod"], "GET");
    assert_eq!(event["pathParameters"], json!({"id": "9"}));
    assert_eq!(event["queryStringParameters"], json!({"tenant": "t1"}));
    assert_eq!(event["requestContext"]["requestId"], "req-1");
    assert!(event.get("body").is_none());
    // ReauthorizeEvery: 0 disables the cache.
    b.allow(&request, &invoker).await;
    assert_eq!(invoker.calls(), 2);
    // A missing identity source is a 401 without invoking.
    let r = b
        .deny(&get("/request/9", &[("x-user", "ann")]), &invoker)
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(invoker.calls(), 2);
    let r = b
        .deny(&get("/request/9?tenant=t1", &[("x-user", "bob")]), &invoker)
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn lambda_http_api_simple_responses() {
    let b = setup(|_, _| {});
    let invoker = FakeInvoker::new(
        |_, event| match event["headers"]["authorization"].as_str() {
            Some("yes") => Ok(json!({"isAuthorized": true, "context": {"user": {"id": 1}}})),
            Some("no") => Ok(json!({"isAuthorized": false})),
            _ => Ok(json!({"something": "else"})),
        },
    );
    let ctx = b
        .allow(&get("/simple", &[("authorization", "yes")]), &invoker)
        .await;
    assert_eq!(ctx, Some(json!({"lambda": {"user": {"id": 1}}})));
    let (function, event) = invoker.last();
    assert_eq!(function, "simple-auth");
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["type"], "REQUEST");
    assert_eq!(
        event["routeArn"],
        "arn:aws:execute-api:us-east-1:123456789012:ServerlessHttpApi/$default/GET/simple"
    );
    assert_eq!(event["identitySource"], json!(["yes"]));
    assert_eq!(event["routeKey"], "GET /simple");
    assert_eq!(event["rawPath"], "/simple");
    // Cached for ReauthorizeEvery (60 s).
    b.allow(&get("/simple", &[("authorization", "yes")]), &invoker)
        .await;
    assert_eq!(invoker.calls(), 1);

    let r = b
        .deny(&get("/simple", &[("authorization", "no")]), &invoker)
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(json_body(&r), json!({"message": "Forbidden"}));
    let r = b
        .deny(&get("/simple", &[("authorization", "huh")]), &invoker)
        .await;
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(json_body(&r), json!({"message": "Internal Server Error"}));
    let r = b.deny(&get("/simple", &[]), &invoker).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

// ---------------------------------------------------------------- no panics

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn arbitrary_headers_and_bodies_never_panic(
        authorization in prop_oneof![
            any::<Vec<u8>>(),
            "(Bearer )?[A-Za-z0-9_.=+/-]{0,80}".prop_map(String::into_bytes),
            "[A-Za-z0-9_-]{0,20}\\.[A-Za-z0-9_-]{0,40}\\.[A-Za-z0-9_-]{0,20}".prop_map(String::into_bytes),
        ],
        key in any::<Vec<u8>>(),
        body in prop_oneof![any::<Vec<u8>>(), "\\{\"AuthParameters\":.{0,40}\\}".prop_map(String::into_bytes)],
        path in prop::sample::select(vec!["/open", "/keyed", "/token/1", "/request/1?tenant=x", "/cognito", "/jwt", "/scoped", "/rsa", "/simple"]),
    ) {
        let rt = runtime();
        let esb = esb_box();
        let plain = setup(|_, _| {});
        let mut login = Request::builder().method(Method::POST).uri("/user/auth/ver1.0");
        let mut request = Request::builder().method(Method::GET).uri(path);
        if let Ok(value) = http::HeaderValue::from_bytes(&authorization) {
            request = request.header("authorization", value.clone()).header("x-user", value);
        }
        if let Ok(value) = http::HeaderValue::from_bytes(&key) {
            login = login.header("x-api-key", value.clone());
            request = request.header("x-api-key", value);
        }
        let login = login.body(Bytes::from(body)).unwrap();
        let request = request.body(Bytes::new()).unwrap();
        let status = esb.auth.login(&login).unwrap().status();
        prop_assert!([200, 400, 401, 403].contains(&status.as_u16()));
        let invoker = FakeInvoker::new(|_, _| Ok(json!({"isAuthorized": false})));
        for b in [&esb, &plain] {
            let _ = rt.block_on(b.check(&request, &invoker));
        }
    }
}
