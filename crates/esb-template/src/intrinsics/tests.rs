use serde_json::{Value, json};

use super::Resolver;
use crate::LoadOptions;
use crate::source::Positions;

fn with_resolver<T>(
    template: Value,
    options: &LoadOptions,
    check: impl FnOnce(&Resolver) -> T,
) -> T {
    let template = template.as_object().expect("object").clone();
    let resources = template["Resources"]
        .as_object()
        .expect("resources")
        .clone();
    let positions = Positions::new("t.yaml");
    let resolver = Resolver::new(&template, &resources, &positions, options).expect("resolver");
    check(&resolver)
}

fn base() -> Value {
    json!({
        "Parameters": {
            "Stage": {"Type": "String", "Default": "dev", "AllowedValues": ["dev", "prod"]},
            "Subnets": {"Type": "CommaDelimitedList", "Default": "a, b,c"},
            "Size": {"Type": "Number", "Default": 256},
            "Required": {"Type": "String"}
        },
        "Mappings": {"Sizes": {"dev": {"Memory": 512}}},
        "Conditions": {
            "IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
            "IsDev": {"Fn::Not": [{"Condition": "IsProd"}]},
            "Both": {"Fn::And": [{"Condition": "IsDev"}, {"Fn::Equals": ["1", 1]}]}
        },
        "Resources": {
            "Fn": {"Type": "AWS::Serverless::Function", "Properties": {"FunctionName": {"Fn::Sub": "${AWS::StackName}-fn"}}},
            "Table": {"Type": "AWS::DynamoDB::Table"},
            "Bucket": {"Type": "AWS::S3::Bucket"},
            "Queue": {"Type": "AWS::SQS::Queue"},
            "ProdOnly": {"Type": "AWS::S3::Bucket", "Condition": "IsProd"}
        }
    })
}

fn eval(template: Value, value: Value) -> Result<Option<Value>, String> {
    with_resolver(template, &LoadOptions::default(), |r| r.resolve(&value))
}

#[test]
fn refs_resolve_parameters_pseudo_parameters_and_resources() {
    let v = eval(
        base(),
        json!({
            "stage": {"Ref": "Stage"},
            "subnets": {"Ref": "Subnets"},
            "size": {"Ref": "Size"},
            "region": {"Ref": "AWS::Region"},
            "fn": {"Ref": "Fn"},
            "fnArn": {"Fn::GetAtt": ["Fn", "Arn"]},
            "table": {"Ref": "Table"},
            "bucket": {"Ref": "Bucket"},
            "queue": {"Ref": "Queue"},
            "role": {"Fn::GetAtt": ["FnRole", "Arn"]},
            "gone": {"Ref": "AWS::NoValue"}
        }),
    )
    .expect("resolves")
    .expect("value");
    assert_eq!(v["stage"], "dev");
    assert_eq!(v["subnets"], json!(["a", "b", "c"]));
    assert_eq!(v["size"], "256");
    assert_eq!(v["region"], "us-east-1");
    assert_eq!(v["fn"], "esb-fn");
    assert_eq!(
        v["fnArn"],
        "arn:aws:lambda:us-east-1:123456789012:function:esb-fn"
    );
    assert_eq!(v["table"], "Table");
    assert_eq!(v["bucket"], "bucket");
    assert_eq!(
        v["queue"],
        "https://sqs.us-east-1.amazonaws.com/123456789012/Queue"
    );
    assert_eq!(v["role"], "arn:aws:iam::123456789012:role/FnRole");
    assert!(v.get("gone").is_none(), "AWS::NoValue removes the key");
}

#[test]
fn string_functions() {
    let cases = [
        (
            json!({"Fn::Sub": "${AWS::Region}-${Stage}-${!Literal}"}),
            json!("us-east-1-dev-${Literal}"),
        ),
        (
            json!({"Fn::Sub": ["${A}/${Table.Arn}", {"A": {"Ref": "Stage"}}]}),
            json!("dev/arn:aws:dynamodb:us-east-1:123456789012:table/Table"),
        ),
        (
            json!({"Fn::Join": ["-", ["a", {"Ref": "Stage"}, 3]]}),
            json!("a-dev-3"),
        ),
        (
            json!({"Fn::Join": [",", {"Ref": "Subnets"}]}),
            json!("a,b,c"),
        ),
        (json!({"Fn::Select": ["1", {"Ref": "Subnets"}]}), json!("b")),
        (
            json!({"Fn::Select": [0, {"Fn::Split": ["/", "x/y"]}]}),
            json!("x"),
        ),
        (
            json!({"Fn::FindInMap": ["Sizes", {"Ref": "Stage"}, "Memory"]}),
            json!(512),
        ),
        (
            json!({"Fn::FindInMap": ["Sizes", "prod", "Memory", {"DefaultValue": 128}]}),
            json!(128),
        ),
        (json!({"Fn::Base64": "hello"}), json!("aGVsbG8=")),
        (
            json!({"Fn::GetAZs": ""}),
            json!(["us-east-1a", "us-east-1b", "us-east-1c"]),
        ),
        (
            json!({"Fn::If": ["IsProd", "big", "small"]}),
            json!("small"),
        ),
        (json!({"Fn::If": ["Both", "yes", "no"]}), json!("yes")),
        (json!({"Fn::Length": [1, 2, 3]}), json!(3)),
        (
            json!({"Fn::ToJsonString": {"a": {"Ref": "Stage"}}}),
            json!("{\"a\":\"dev\"}"),
        ),
    ];
    for (input, expected) in cases {
        let got = eval(base(), input.clone())
            .expect("resolves")
            .expect("value");
        assert_eq!(got, expected, "{input}");
    }
}

#[test]
fn no_value_in_if_and_lists_disappears() {
    let v = eval(
        base(),
        json!([
            "a",
            {"Fn::If": ["IsProd", "b", {"Ref": "AWS::NoValue"}]}
        ]),
    )
    .expect("resolves");
    assert_eq!(v, Some(json!(["a"])));
}

#[test]
fn errors_say_what_is_wrong() {
    let cases = [
        (json!({"Ref": "Nope"}), "neither a parameter nor a resource"),
        (
            json!({"Ref": "Required"}),
            "--parameter-overrides Required=VALUE",
        ),
        (json!({"Ref": "ProdOnly"}), "Condition is false"),
        (
            json!({"Fn::ImportValue": "shared-vpc"}),
            "values.shared-vpc",
        ),
        (json!("{{resolve:ssm:/app/key}}"), "values./app/key"),
        (json!({"Fn::Select": [5, ["a"]]}), "past the end"),
        (
            json!({"Fn::FindInMap": ["Sizes", "x", "y"]}),
            "no value at Sizes.x.y",
        ),
        (json!({"Fn::Sub": "${Unclosed"}), "unclosed"),
        (
            json!({"Fn::GetAtt": ["Table", "Bogus"]}),
            "has no attribute Bogus",
        ),
        (json!({"Fn::Cidr": ["10.0.0.0/16", 2, 8]}), "not supported"),
        (
            json!({"Fn::If": ["Missing", 1, 2]}),
            "no condition named Missing",
        ),
    ];
    for (input, expected) in cases {
        let err = eval(base(), input.clone()).expect_err("fails");
        assert!(err.contains(expected), "{input}: {err}");
    }
}

#[test]
fn configured_values_fill_imports_and_dynamic_references() {
    let mut options = LoadOptions::default();
    options
        .resolve_values
        .insert("shared-vpc".into(), "vpc-1".into());
    options
        .resolve_values
        .insert("/app/key".into(), "secret".into());
    options
        .parameter_overrides
        .insert("Stage".into(), "prod".into());
    with_resolver(base(), &options, |r| {
        assert_eq!(
            r.resolve(&json!({"Fn::ImportValue": "shared-vpc"})),
            Ok(Some(json!("vpc-1")))
        );
        assert_eq!(
            r.resolve(&json!("k={{resolve:ssm:/app/key}}")),
            Ok(Some(json!("k=secret")))
        );
        assert_eq!(
            r.resolve(&json!({"Ref": "ProdOnly"})),
            Ok(Some(json!("prodonly")))
        );
    });
}

#[test]
fn bad_parameters_fail_early_and_cyclic_conditions_on_use() {
    let mut options = LoadOptions::default();
    options
        .parameter_overrides
        .insert("Stage".into(), "qa".into());
    let template = base();
    let template = template.as_object().expect("object").clone();
    let resources = template["Resources"]
        .as_object()
        .expect("resources")
        .clone();
    let err = Resolver::new(&template, &resources, &Positions::new("t.yaml"), &options)
        .expect_err("qa is not allowed");
    assert!(err.to_string().contains("AllowedValues"), "{err}");

    let cyclic = json!({
        "Conditions": {"A": {"Fn::Not": [{"Condition": "B"}]}, "B": {"Fn::Not": [{"Condition": "A"}]}},
        "Resources": {}
    });
    with_resolver(cyclic, &LoadOptions::default(), |r| {
        let err = r.condition("A").expect_err("cycle");
        assert_eq!(
            err,
            "circular reference: Conditions.A -> Conditions.B -> Conditions.A"
        );
    });
}
