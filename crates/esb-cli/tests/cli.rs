//! The `esb` binary as a user runs it: flags, exit codes, stdout/stderr contents.

mod support;

use predicates::prelude::*;

use support::project::esb_command as esb;

const TEMPLATE: &str = r#"AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
    Default: dev
    AllowedValues: [dev, prod]
Resources:
  HelloFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: hello/
      Handler: app.handler
      Runtime: python3.12
      Layers:
        - !Ref SharedLayer
      Environment:
        Variables:
          STAGE: !Ref Stage
      Events:
        Hello:
          Type: Api
          Properties:
            Path: /hello
            Method: get
  SharedLayer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: layers/shared/
  Items:
    Type: AWS::Serverless::SimpleTable
"#;

fn project() -> tempfile::TempDir {
    support::project::project(&[
        ("template.yaml", TEMPLATE),
        (
            "hello/app.py",
            "def handler(event, context):\n    return {}\n",
        ),
        ("layers/shared/python/shared.py", "X = 1\n"),
    ])
}

#[test]
fn help_and_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    esb(dir.path())
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("build").and(predicate::str::contains("validate")));
    for command in [
        "build",
        "validate",
        "init",
        "completion",
        "env",
        "project",
        "prune",
    ] {
        esb(dir.path()).args([command, "--help"]).assert().success();
    }
    esb(dir.path())
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::contains(env!("CARGO_PKG_VERSION")));
    esb(dir.path()).arg("--no-such-flag").assert().code(2);
}

#[test]
fn completion_bash_prints_a_script() {
    let dir = tempfile::tempdir().expect("tempdir");
    esb(dir.path())
        .args(["completion", "bash"])
        .assert()
        .success()
        .stdout(predicate::str::contains("_esb()"));
}

#[test]
fn validate_json_has_the_documented_shape() {
    let dir = project();
    let output = esb(dir.path())
        .args(["validate", "--json"])
        .output()
        .expect("run");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let function = &json["functions"][0];
    for key in [
        "logicalId",
        "name",
        "runtime",
        "handler",
        "codeUri",
        "memorySize",
        "timeout",
        "environment",
        "layers",
        "reservedConcurrency",
        "provisionedConcurrency",
        "architectures",
        "events",
    ] {
        assert!(
            function.get(key).is_some(),
            "functions[0].{key} missing: {function}"
        );
    }
    assert_eq!(function["layers"], serde_json::json!(["SharedLayer"]));
    assert_eq!(function["environment"]["STAGE"], "dev");
    let event = &function["events"][0];
    assert_eq!(
        (
            &event["logicalId"],
            &event["type"],
            &event["method"],
            &event["path"]
        ),
        (
            &"Hello".into(),
            &"Api".into(),
            &"GET".into(),
            &"/hello".into()
        )
    );
    let route = &json["routes"][0];
    for key in ["api", "kind", "method", "path", "function"] {
        assert!(route.get(key).is_some(), "routes[0].{key} missing: {route}");
    }
    for key in ["tables", "buckets", "unsupported"] {
        assert!(json[key].is_array(), "{key} missing: {json}");
    }

    let output = esb(dir.path())
        .args(["validate", "--json", "--parameter-overrides", "Stage=prod"])
        .output()
        .expect("run");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(json["functions"][0]["environment"]["STAGE"], "prod");
}

#[test]
fn validate_reports_broken_yaml_with_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("template.yaml"),
        "Resources:\n  Fn:\n    Type: [unclosed\n",
    )
    .expect("write");
    let output = esb(dir.path())
        .args(["validate", "--json"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty(), "nothing on stdout");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("template.yaml:"), "{stderr}");
    assert!(
        stderr.contains(":3:") || stderr.contains(":4:"),
        "line and column expected: {stderr}"
    );
}

/// What a diagnostic on stderr says, with miette's line wrapping and margin undone.
fn unwrapped(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .replace('│', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A function whose `Properties` block ends with `extra` (indented six spaces).
fn function_template(extra: &str) -> String {
    format!(
        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: src/\n{extra}"
    )
}

#[test]
fn validate_fails_where_aws_would_naming_the_place() {
    let cycle = "Resources:\n  A:\n    Type: AWS::SQS::Queue\n    DependsOn: B\n  B:\n    Type: AWS::SQS::Queue\n    DependsOn: A\n";
    let cases = [
        (
            function_template("      Handler: app.handler\n      Runtime: python9.99\n"),
            "template.yaml:7:7: resource Fn, property Runtime: python9.99 is not a runtime AWS Lambda lists; did you mean python3.9?",
        ),
        (
            function_template("      Handler: app.handler\n      Runtime: nodejs12.x\n"),
            "template.yaml:7:7: resource Fn, property Runtime: nodejs12.x is retired",
        ),
        (
            function_template("      Runtime: python3.12\n")
                .replace("AWS::Serverless::Function", "AWS::Serverless::Functon"),
            "template.yaml:3:5: resource Fn, property Type: AWS::Serverless::Functon is not a resource type; did you mean AWS::Serverless::Function?",
        ),
        (
            function_template("      Runtime: python3.12\n"),
            "template.yaml:2:3: resource Fn, property Handler: a zip function needs a Handler",
        ),
        (
            cycle.to_string(),
            "template.yaml:4:5: resource A, property DependsOn: circular DependsOn: A -> B -> A",
        ),
        (
            function_template(
                "      Handler: app.handler\n      Runtime: python3.12\n      FunctionName: !Sub '${Fn.Arn}-x'\n",
            ),
            "circular reference: Fn -> Fn",
        ),
    ];
    for (template, expected) in cases {
        let dir = support::project::project(&[("template.yaml", template.as_str())]);
        let output = esb(dir.path()).arg("validate").output().expect("run");
        let stderr = unwrapped(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{template}\n{stderr}");
        assert!(
            stderr.contains(expected),
            "{template}\nwanted: {expected}\n{stderr}"
        );
    }
}

#[test]
fn validate_accepts_what_aws_accepts() {
    let template = function_template(
        "      Handler: app.handler\n      Runtime: python3.12\n      Runtime: provided.al2023\n      AutoPublishAlias: live\n      Environment:\n        Variables:\n          ALIAS: !Ref FnAliaslive\n          STAGE: !Ref ServerlessRestApiProdStage\n      Events:\n        Get: {Type: Api, Properties: {Path: /x, Method: get}}\n  Queue:\n    Type: AWS::SQS::Queue\n",
    );
    let dir = support::project::project(&[("template.yaml", template.as_str())]);
    let output = esb(dir.path())
        .args(["validate", "--json"])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let function = &json["functions"][0];
    assert_eq!(
        function["runtime"], "provided.al2023",
        "the last Runtime wins"
    );
    assert_eq!(function["environment"]["STAGE"], "Prod");
    assert!(
        function["environment"]["ALIAS"]
            .as_str()
            .is_some_and(|arn| arn.ends_with(":function:Fn:live")),
        "{function}"
    );
    let repeated = "template.yaml:8:7: key Runtime repeats the one on line 7";
    let warnings = json["warnings"].as_array().cloned().unwrap_or_default();
    assert!(
        warnings
            .iter()
            .filter_map(|w| w.as_str())
            .any(|w| w.contains(repeated)),
        "{warnings:?}"
    );
}

#[cfg(unix)]
#[test]
fn validate_refuses_an_endless_template_without_reading_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let started = std::time::Instant::now();
    let output = esb(dir.path())
        .args(["validate", "-t", "/dev/zero"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("larger than 1048576 bytes"), "{stderr}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

/// The 1 MB cap is CloudFormation's; a site with larger templates raises it.
#[test]
fn the_template_size_cap_is_a_flag_and_an_environment_variable() {
    let dir = project();
    let size = std::fs::metadata(dir.path().join("template.yaml"))
        .expect("template")
        .len();
    let below = (size - 1).to_string();
    let refused = esb(dir.path())
        .args(["validate", "--max-template-bytes", &below])
        .output()
        .expect("run");
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(&format!("larger than {below} bytes")),
        "{stderr}"
    );
    let by_env = esb(dir.path())
        .env("ESB_MAX_TEMPLATE_BYTES", &below)
        .arg("build")
        .output()
        .expect("run");
    assert_eq!(by_env.status.code(), Some(1));
    esb(dir.path())
        .args(["validate", "--max-template-bytes", &size.to_string()])
        .assert()
        .success();
}

#[test]
fn a_second_build_reports_unchanged() {
    let dir = project();
    esb(dir.path())
        .arg("build")
        .assert()
        .success()
        .stderr(predicate::str::contains("Built 1 function(s), 0 unchanged"));
    assert!(dir.path().join(".esb/config/functions.yml").is_file());
    assert!(
        dir.path()
            .join(".esb/functions/HelloFunction/opt/python/shared.py")
            .is_file()
    );
    esb(dir.path())
        .arg("build")
        .assert()
        .success()
        .stderr(predicate::str::contains("0 function(s), 1 unchanged"));
}

#[cfg(unix)]
#[test]
fn build_refuses_a_link_out_of_the_project_unless_allowed() {
    let outside = tempfile::tempdir().expect("tempdir");
    let secret = outside.path().join("secret");
    std::fs::write(&secret, "secret\n").expect("write");
    let dir = project();
    std::os::unix::fs::symlink(&secret, dir.path().join("hello/secret")).expect("symlink");
    // miette wraps lines at 80 columns: the message's first part, then the way out.
    esb(dir.path()).arg("build").assert().code(1).stderr(
        predicate::str::contains("HelloFunction: link hello/secret points outside the project")
            .and(predicate::str::contains("pass --allow-outside-links")),
    );
    assert!(!dir.path().join(".esb").exists(), "nothing written");

    esb(dir.path())
        .args(["build", "--allow-outside-links"])
        .assert()
        .success();
    let copied = dir.path().join(".esb/functions/HelloFunction/task/secret");
    assert_eq!(std::fs::read_to_string(copied).expect("copied"), "secret\n");
}

#[test]
fn build_dry_run_writes_nothing() {
    let dir = project();
    esb(dir.path())
        .args(["build", "--dry-run"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "would write .esb/config/functions.yml",
        ));
    assert!(!dir.path().join(".esb").exists());
}

#[test]
fn init_yes_writes_generator_yml_once() {
    let dir = project();
    esb(dir.path())
        .args(["init", "--yes", "--tag", "v1"])
        .assert()
        .success();
    let text = std::fs::read_to_string(dir.path().join("generator.yml")).expect("written");
    assert!(
        text.contains("tag: v1") && text.contains("Stage: dev"),
        "{text}"
    );
    esb(dir.path())
        .args(["init", "--yes"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--force"));
    esb(dir.path())
        .args(["init", "--yes", "--force"])
        .assert()
        .success();
}

#[test]
fn init_without_a_terminal_asks_for_yes() {
    let dir = project();
    esb(dir.path())
        .arg("init")
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--yes"));
}

#[test]
fn no_color_output_has_no_ansi_escapes() {
    let dir = project();
    for args in [
        &["build"][..],
        &["validate"],
        &["validate", "--template", "missing.yaml"],
    ] {
        let output = esb(dir.path()).args(args).output().expect("run");
        for stream in [&output.stdout, &output.stderr] {
            let text = String::from_utf8_lossy(stream);
            assert!(!text.contains('\u{1b}'), "{args:?}: {text}");
        }
    }
}

#[test]
fn worker_settings_refuse_what_is_not_built_or_not_a_value() {
    let dir = project();
    // ESB_MODE as in the original ESB: a container driver is named and refused, with the way out.
    esb(dir.path())
        .args(["invoke", "HelloFunction"])
        .env("ESB_MODE", "docker")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "the docker driver is not built yet",
        ))
        .stderr(predicate::str::contains("ESB_MODE=process"));
    esb(dir.path())
        .args(["invoke", "HelloFunction"])
        .env("ESB_SANDBOX", "maybe")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("use auto, on, off"));
    std::fs::write(
        dir.path().join("esb.toml"),
        "[workers]\nnetwork = \"bridge\"\n",
    )
    .expect("esb.toml");
    esb(dir.path())
        .args(["invoke", "HelloFunction"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("use isolated, host"));
    esb(dir.path())
        .args(["up", "--sandbox", "maybe"])
        .assert()
        .code(2);
}
