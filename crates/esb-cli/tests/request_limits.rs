//! What a REST API declares in front of its functions, enforced as API Gateway enforces it: a
//! request model and required parameters (400), stage method throttling (429), API keys on a
//! usage plan with a quota (403, then 429 once the quota is spent, also after a restart), and
//! a `DefinitionBody`'s request validators, the key values the box generates, printed at `esb up` and kept across restarts.

mod support;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use support::http::send;
use support::project::{box_addr, project, shared_home, stderr};

fn esb(dir: &Path, args: &[&str]) -> Output {
    support::project::esb(dir, &shared_home(), args, Duration::from_secs(700))
}

const TEMPLATE: &str = r#"
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    Handler: app.handler
    CodeUri: src/
Resources:
  Orders:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
      Models:
        Order:
          type: object
          required: [item]
          properties:
            item: {type: string, minLength: 1}
            quantity: {type: integer, minimum: 1}
      MethodSettings:
        - ResourcePath: /~1limited
          HttpMethod: GET
          ThrottlingBurstLimit: 1
          ThrottlingRateLimit: 0.01
  Handler:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Create:
          Type: Api
          Properties:
            RestApiId: !Ref Orders
            Path: /orders
            Method: post
            RequestModel: {Model: Order, Required: true, ValidateBody: true, ValidateParameters: true}
            RequestParameters:
              - method.request.header.X-Tenant: {Required: true}
        Limited:
          Type: Api
          Properties: {RestApiId: !Ref Orders, Path: /limited, Method: get}
        Keyed:
          Type: Api
          Properties:
            RestApiId: !Ref Orders
            Path: /keyed
            Method: get
            Auth: {ApiKeyRequired: true}
  Catalog:
    Type: AWS::Serverless::Api
    Properties:
      StageName: v1
      DefinitionBody:
        swagger: "2.0"
        info: {title: catalog, version: "1"}
        x-amazon-apigateway-request-validators:
          body-only: {validateRequestBody: true, validateRequestParameters: false}
        paths:
          /items:
            post:
              x-amazon-apigateway-request-validator: body-only
              parameters:
                - {in: body, name: item, required: true, schema: {$ref: '#/definitions/Item'}}
              x-amazon-apigateway-integration:
                type: aws_proxy
                httpMethod: POST
                uri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Handler.Arn}/invocations
        definitions:
          Item:
            type: object
            required: [name]
            properties:
              name: {type: string}
              tags: {type: array, items: {$ref: '#/definitions/Tag'}}
          Tag: {type: string, maxLength: 8}
  PartnerKey:
    Type: AWS::ApiGateway::ApiKey
    Properties: {Name: partner, Enabled: true, Value: partner-key-0123456789abcdef}
  GeneratedKey:
    Type: AWS::ApiGateway::ApiKey
    Properties: {Name: generated, Enabled: true}
  Plan:
    Type: AWS::ApiGateway::UsagePlan
    Properties:
      ApiStages: [{ApiId: !Ref Orders, Stage: !Ref OrdersprodStage}]
      Quota: {Limit: 3, Period: DAY}
  PartnerPlanKey:
    Type: AWS::ApiGateway::UsagePlanKey
    Properties: {KeyId: !Ref PartnerKey, KeyType: API_KEY, UsagePlanId: !Ref Plan}
  GeneratedPlanKey:
    Type: AWS::ApiGateway::UsagePlanKey
    Properties: {KeyId: !Ref GeneratedKey, KeyType: API_KEY, UsagePlanId: !Ref Plan}
"#;

const APP: &str = r#"
import json
def handler(event, context):
    identity = event["requestContext"]["identity"]
    return {"statusCode": 200, "body": json.dumps({
        "path": event["resource"], "apiKeyId": identity.get("apiKeyId"), "body": event.get("body")})}
"#;

const PARTNER: &str = "partner-key-0123456789abcdef";

/// The value `esb up` printed for the key named `name`.
fn printed_key(up_text: &str, name: &str) -> String {
    let prefix = format!("API key {name}: ");
    up_text
        .lines()
        .find_map(|line| line.trim().strip_prefix(&prefix))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no API key {name} printed:\n{up_text}"))
        .to_string()
}

#[test]
fn models_throttles_keys_and_quotas_are_enforced() {
    let dir = project(&[("template.yaml", TEMPLATE), ("src/app.py", APP)]);
    let up = esb(dir.path(), &["up", "--http", "--port", "0"]);
    let up_text = stderr(&up);
    assert!(up.status.success(), "esb up failed: {up_text}");
    assert_eq!(printed_key(&up_text, "partner"), PARTNER);
    let generated = printed_key(&up_text, "generated");
    assert_eq!(generated.len(), 40, "{generated}");
    let addr = box_addr(dir.path());

    // Request validation: parameters first, then the body against the model.
    let tenant = [("X-Tenant", "t1"), ("Content-Type", "application/json")];
    let created = send(addr, "POST", "/prod/orders", &tenant, br#"{"item":"book"}"#);
    assert_eq!(created.status, 200, "{}", created.text());
    let no_tenant = send(
        addr,
        "POST",
        "/prod/orders",
        &[("Content-Type", "application/json")],
        br#"{"item":"book"}"#,
    );
    assert_eq!(no_tenant.status, 400);
    assert_eq!(
        no_tenant.json(),
        serde_json::json!({"message": "Missing required request parameters: [X-Tenant]"})
    );
    for bad in [
        &br#"{"quantity":2}"#[..],
        br#"{"item":"book","quantity":0}"#,
        br#"{"item":"#,
        b"",
    ] {
        let refused = send(addr, "POST", "/prod/orders", &tenant, bad);
        assert_eq!(refused.status, 400, "{}", String::from_utf8_lossy(bad));
        assert_eq!(
            refused.json(),
            serde_json::json!({"message": "Invalid request body"})
        );
    }

    // A DefinitionBody's validator and its models, `$ref`s between them included.
    let json = [("Content-Type", "application/json")];
    let item = send(
        addr,
        "POST",
        "/v1/items",
        &json,
        br#"{"name":"a","tags":["x"]}"#,
    );
    assert_eq!(item.status, 200, "{}", item.text());
    for bad in [
        &br#"{"tags":[]}"#[..],
        br#"{"name":"a","tags":["far too long"]}"#,
    ] {
        let refused = send(addr, "POST", "/v1/items", &json, bad);
        assert_eq!(refused.status, 400, "{}", String::from_utf8_lossy(bad));
    }

    // Stage throttling on one method: a burst of one, refilled once a hundred seconds.
    assert_eq!(send(addr, "GET", "/prod/limited", &[], b"").status, 200);
    let throttled = send(addr, "GET", "/prod/limited", &[], b"");
    assert_eq!(throttled.status, 429);
    assert_eq!(
        throttled.json(),
        serde_json::json!({"message": "Too Many Requests"})
    );

    // API keys: none or an unknown one is 403; a key on the plan is metered by the quota.
    assert_eq!(send(addr, "GET", "/prod/keyed", &[], b"").status, 403);
    let unknown = send(addr, "GET", "/prod/keyed", &[("x-api-key", "nope")], b"");
    assert_eq!(unknown.status, 403);
    assert_eq!(unknown.json(), serde_json::json!({"message": "Forbidden"}));
    for _ in 0..3 {
        let keyed = send(addr, "GET", "/prod/keyed", &[("x-api-key", PARTNER)], b"");
        assert_eq!(keyed.status, 200, "{}", keyed.text());
        assert_eq!(keyed.json()["apiKeyId"], "PartnerKey");
    }
    let spent = send(addr, "GET", "/prod/keyed", &[("x-api-key", PARTNER)], b"");
    assert_eq!(spent.status, 429);
    assert_eq!(
        spent.json(),
        serde_json::json!({"message": "Limit Exceeded"})
    );
    let other = send(
        addr,
        "GET",
        "/prod/keyed",
        &[("x-api-key", &generated)],
        b"",
    );
    assert_eq!(
        other.status,
        200,
        "each key has its own quota: {}",
        other.text()
    );

    // A restart keeps the generated value and the quota already spent.
    let down = esb(dir.path(), &["down"]);
    assert!(down.status.success(), "{}", stderr(&down));
    let again = esb(dir.path(), &["up", "--http", "--port", "0"]);
    let again_text = stderr(&again);
    assert!(again.status.success(), "esb up failed: {again_text}");
    assert_eq!(printed_key(&again_text, "generated"), generated);
    let addr = box_addr(dir.path());
    let still_spent = send(addr, "GET", "/prod/keyed", &[("x-api-key", PARTNER)], b"");
    assert_eq!(still_spent.status, 429, "{}", still_spent.text());
    let down = esb(dir.path(), &["down"]);
    assert!(down.status.success(), "{}", stderr(&down));
}
