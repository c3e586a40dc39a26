//! Property tests standing in for a fuzzer: whatever text or structure a template holds,
//! loading it returns a model or an error and never panics. Bounded by proptest's case count
//! (`PROPTEST_CASES`, 256 by default per property).

use esb_template::{LoadOptions, load_str};
use proptest::prelude::*;
use serde_json::{Value, json};

const SEED_TEMPLATE: &str = r#"
Parameters:
  Stage: {Type: String, Default: dev, AllowedValues: [dev, prod]}
  Ids: {Type: CommaDelimitedList, Default: "a,b"}
Mappings: {M: {dev: {Mem: 256}}}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  NotProd: !Not [!Condition IsProd]
Globals:
  Function: {Runtime: python3.12, Timeout: 5, Environment: {Variables: {A: "1"}}}
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      MemorySize: !FindInMap [M, !Ref Stage, Mem]
      Environment: {Variables: {T: !Ref Table, J: !Join [",", !Ref Ids], S: !Sub "${AWS::Region}-${Table.Arn}"}}
      Events:
        Get: {Type: Api, Properties: {Path: /x, Method: get}}
        H: {Type: HttpApi}
  Table: {Type: AWS::Serverless::SimpleTable}
  Bucket: {Type: AWS::S3::Bucket, Condition: IsProd}
"#;

fn load_does_not_panic(text: &str) {
    // The result is either; reaching here without a panic is the property.
    let _ = load_str("fuzz.yaml", text, &LoadOptions::default());
}

/// Values built from template-shaped pieces: intrinsic keys, resource names, scalars.
fn template_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(json!(null)),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        prop::sample::select(vec![
            "Fn",
            "Table",
            "Bucket",
            "Stage",
            "AWS::Region",
            "AWS::NoValue",
            "IsProd",
            "M",
            "${Fn}",
            "${Table.Arn}",
            "{{resolve:ssm:x}}",
            "",
            "a,b",
            "0",
            "prod",
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(6, 64, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            (
                prop::sample::select(vec![
                    "Ref",
                    "Fn::GetAtt",
                    "Fn::Sub",
                    "Fn::Join",
                    "Fn::Select",
                    "Fn::Split",
                    "Fn::If",
                    "Fn::Equals",
                    "Fn::And",
                    "Fn::Or",
                    "Fn::Not",
                    "Fn::FindInMap",
                    "Fn::Base64",
                    "Fn::GetAZs",
                    "Fn::ImportValue",
                    "Fn::Length",
                    "Fn::ToJsonString",
                    "Condition",
                    "Variables",
                    "Type",
                    "Properties",
                ]),
                inner
            )
                .prop_map(|(key, value)| json!({ key: value })),
        ]
    })
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        load_does_not_panic(&text);
    }

    #[test]
    fn mutated_templates_never_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<char>(), 0..3u8), 1..12)
    ) {
        let mut text: Vec<char> = SEED_TEMPLATE.chars().collect();
        for (at, ch, op) in edits {
            let i = at.index(text.len().max(1)).min(text.len());
            match op {
                0 => text.insert(i, ch),
                1 if i < text.len() => { text.remove(i); }
                _ if i < text.len() => text[i] = ch,
                _ => {}
            }
        }
        load_does_not_panic(&text.into_iter().collect::<String>());
    }

    #[test]
    fn random_property_values_never_panic(
        memory in template_value(),
        environment in template_value(),
        layers in template_value(),
        condition in template_value(),
    ) {
        let template = json!({
            "Parameters": {"Stage": {"Type": "String", "Default": "dev"}},
            "Mappings": {"M": {"dev": {"Mem": 256}}},
            "Conditions": {"IsProd": condition},
            "Resources": {
                "Fn": {"Type": "AWS::Serverless::Function", "Properties": {
                    "Runtime": "python3.12", "Handler": "a.b", "CodeUri": ".",
                    "MemorySize": memory,
                    "Environment": {"Variables": environment},
                    "Layers": layers,
                }},
                "Table": {"Type": "AWS::Serverless::SimpleTable", "Condition": "IsProd"},
                "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": {"Fn::Sub": "${Fn}-b"}}}
            }
        });
        load_does_not_panic(&template.to_string());
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    for depth in [200, 5_000, 100_000] {
        let yaml = format!("Resources: {}{}", "[".repeat(depth), "]".repeat(depth));
        assert!(load_str("deep.yaml", &yaml, &LoadOptions::default()).is_err());
        let json_text = format!(
            "{{\"Resources\": {}{}}}",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        assert!(load_str("deep.json", &json_text, &LoadOptions::default()).is_err());
    }
}

#[test]
fn the_seed_template_itself_loads() {
    let loaded = load_str("seed.yaml", SEED_TEMPLATE, &LoadOptions::default()).expect("seed loads");
    assert_eq!(loaded.project.functions[0].memory_size, 256);
}
