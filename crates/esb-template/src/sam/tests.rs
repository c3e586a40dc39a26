use esb_model::{ApiKind, LayerRef, PackageType, RouteKind};

use crate::{LoadOptions, TemplateError, load_str};

fn load(text: &str) -> crate::Loaded {
    match load_str("template.yaml", text, &LoadOptions::default()) {
        Ok(loaded) => loaded,
        Err(e) => panic!("template should load: {e}"),
    }
}

fn load_err(text: &str) -> TemplateError {
    load_str("template.yaml", text, &LoadOptions::default()).expect_err("template should fail")
}

const APP: &str = r#"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage: {Type: String, Default: dev}
Globals:
  Function:
    Runtime: python3.12
    Timeout: 10
    Environment:
      Variables: {STAGE: !Ref Stage, SHARED: global}
    Layers: [!Ref Deps]
Resources:
  Hello:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: hello/
      Handler: app.handler
      Environment:
        Variables: {TABLE: !Ref Items, SHARED: local}
      Layers: [arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV2:78]
      Events:
        Get: {Type: Api, Properties: {Path: "/hello/{name}", Method: get}}
        Any: {Type: HttpApi}
        Tick: {Type: Schedule, Properties: {Schedule: rate(1 minute)}}
      FunctionUrlConfig: {AuthType: NONE}
  Deps:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: layers/deps/, CompatibleRuntimes: [python3.12]}
    Metadata: {BuildMethod: python3.12}
  Items:
    Type: AWS::Serverless::SimpleTable
  Files:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub ${Stage}-files
      VersioningConfiguration: {Status: Enabled}
      LifecycleConfiguration:
        Rules: [{Id: expire, Status: Enabled, ExpirationInDays: 7}]
  Queue:
    Type: AWS::SQS::Queue
"#;

#[test]
fn a_small_application_resolves_completely() {
    let project = load(APP).project;
    assert_eq!(project.functions.len(), 1);
    let f = &project.functions[0];
    assert_eq!(f.name, "Hello");
    assert_eq!(f.package_type, PackageType::Zip);
    assert_eq!(f.runtime.as_deref(), Some("python3.12"));
    assert_eq!(f.memory_size, 128);
    assert_eq!(f.timeout, 10);
    assert_eq!(f.code_uri.as_deref(), Some("hello/"));
    let env: Vec<(&str, &str)> = f
        .environment
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        env,
        [("STAGE", "dev"), ("SHARED", "local"), ("TABLE", "Items")]
    );
    assert_eq!(
        f.layers.len(),
        2,
        "global layers come first, then the function's"
    );
    assert_eq!(
        f.layers[0],
        LayerRef::Local {
            layer: "Deps".into()
        }
    );
    assert!(matches!(f.layers[1], LayerRef::Arn { .. }));
    assert_eq!(f.events.len(), 3);
    assert!(!f.events[2].is_served());

    assert_eq!(
        project.layers[0].build_method.as_deref(),
        Some("python3.12")
    );
    assert_eq!(project.tables[0].name, "Items");
    assert_eq!(project.tables[0].billing_mode, "PAY_PER_REQUEST");
    assert_eq!(project.buckets[0].name, "dev-files");
    assert!(project.buckets[0].versioning);
    assert_eq!(
        project.buckets[0].lifecycle_rules[0].expiration_days,
        Some(7)
    );
    assert_eq!(project.unsupported.len(), 1);
    assert_eq!(project.unsupported[0].resource_type, "AWS::SQS::Queue");

    let kinds: Vec<(ApiKind, &str, bool)> = project
        .apis
        .iter()
        .map(|a| (a.kind, a.stage_name.as_str(), a.implicit))
        .collect();
    assert_eq!(
        kinds,
        [
            (ApiKind::Rest, "Prod", true),
            (ApiKind::Http, "$default", true)
        ]
    );
    let routes: Vec<(RouteKind, &str, &str, &str)> = project
        .routes
        .iter()
        .map(|r| (r.kind, r.api.as_str(), r.method.as_str(), r.path.as_str()))
        .collect();
    assert_eq!(
        routes,
        [
            (RouteKind::Rest, "ServerlessRestApi", "GET", "/hello/{name}"),
            (RouteKind::Http, "ServerlessHttpApi", "ANY", "$default"),
            (RouteKind::Url, "Hello", "ANY", "$default"),
        ]
    );
}

#[test]
fn conditions_remove_resources() {
    let project = load(
        r#"
Parameters: {Env: {Type: String, Default: dev}}
Conditions: {IsProd: !Equals [!Ref Env, prod]}
Resources:
  Always: {Type: AWS::Serverless::Function, Properties: {Runtime: python3.12, Handler: a.b, CodeUri: .,
    MemorySize: !If [IsProd, 1024, !Ref AWS::NoValue]}}
  ProdOnly: {Type: AWS::Serverless::Function, Condition: IsProd, Properties: {Runtime: python3.12, Handler: a.b, CodeUri: .}}
"#,
    )
    .project;
    let names: Vec<&str> = project.functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["Always"]);
    assert_eq!(project.functions[0].memory_size, 128);
}

#[test]
fn explicit_apis_with_auth_cors_and_definition_bodies() {
    let project = load(
        r#"
Resources:
  MyApi:
    Type: AWS::Serverless::Api
    Properties:
      StageName: v1
      Cors: {AllowOrigin: "'https://example.com'", AllowMethods: "'GET,POST'", MaxAge: "'600'"}
      Auth:
        DefaultAuthorizer: Jwt
        ApiKeyRequired: true
        Authorizers:
          Jwt: {FunctionArn: !GetAtt Authz.Arn}
      DefinitionBody:
        paths:
          /items:
            post:
              x-amazon-apigateway-integration:
                uri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Handler.Arn}/invocations
  Http:
    Type: AWS::Serverless::HttpApi
    Properties:
      CorsConfiguration: true
  Handler:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs20.x
      Handler: index.handler
      InlineCode: "exports.handler = async () => ({statusCode: 200})"
      Events:
        Get: {Type: Api, Properties: {RestApiId: !Ref MyApi, Path: /items, Method: GET, Auth: {Authorizer: NONE}}}
        H: {Type: HttpApi, Properties: {ApiId: !Ref Http, Path: /x, Method: post}}
  Authz:
    Type: AWS::Serverless::Function
    Properties: {Runtime: nodejs20.x, Handler: index.handler, InlineCode: x}
"#,
    )
    .project;
    let api = &project.apis[0];
    assert_eq!(api.stage_name, "v1");
    let cors = api.cors.as_ref().expect("cors");
    assert_eq!(cors.allow_origins, ["https://example.com"]);
    assert_eq!(cors.allow_methods, ["GET", "POST"]);
    assert_eq!(cors.max_age, Some(600));
    assert_eq!(api.auth.authorizers[0].kind, "lambda-token");
    assert_eq!(
        project.apis[1].cors.as_ref().expect("cors").allow_origins,
        ["*"]
    );

    let get = &project.routes[0];
    assert_eq!(
        (get.method.as_str(), get.auth.authorizer.as_deref()),
        ("GET", None)
    );
    assert!(get.auth.api_key_required);
    assert_eq!(project.routes[1].api, "Http");
    let post = project
        .routes
        .iter()
        .find(|r| r.method == "POST" && r.api == "MyApi")
        .expect("definition route");
    assert_eq!(post.path, "/items");
    assert_eq!(post.auth.authorizer.as_deref(), Some("Jwt"));
}

#[test]
fn lambda_functions_and_image_functions() {
    let project = load(
        r#"
Resources:
  Raw:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: raw-fn
      Runtime: python3.11
      Handler: index.handler
      Code: {ZipFile: "def handler(e, c): return 1"}
      MemorySize: "512"
      Architectures: [arm64]
      ReservedConcurrentExecutions: 5
  Img:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      ImageUri: my-image:latest
      AutoPublishAlias: live
      ProvisionedConcurrencyConfig: {ProvisionedConcurrentExecutions: 2}
"#,
    )
    .project;
    let raw = &project.functions[0];
    assert_eq!(
        (raw.name.as_str(), raw.memory_size, raw.reserved_concurrency),
        ("raw-fn", 512, Some(5))
    );
    assert_eq!(
        raw.inline_code.as_deref(),
        Some("def handler(e, c): return 1")
    );
    assert_eq!(raw.architectures[0].as_str(), "arm64");
    let img = &project.functions[1];
    assert_eq!(img.package_type, PackageType::Image);
    assert_eq!(img.provisioned_concurrency, Some(2));
    assert_eq!(img.runtime, None);
}

#[test]
fn semantic_errors_name_resource_and_property() {
    let cases = [
        (
            "Resources: {F: {Type: AWS::Serverless::Function, Properties: {MemorySize: lots}}}",
            "resource F, property MemorySize",
        ),
        (
            "Resources: {F: {Type: AWS::Serverless::Function, Properties: {Timeout: 901}}}",
            "property Timeout",
        ),
        (
            "Resources: {F: {Type: AWS::Serverless::Function, Properties: {Architectures: [sparc]}}}",
            "property Architectures",
        ),
        (
            "Resources: {F: {Type: AWS::Serverless::Function, Properties: {Environment: {Variables: {A: !Ref Nope}}}}}",
            "property Environment",
        ),
        ("Resources: {F: {Properties: {}}}", "property Type"),
        (
            "Resources: {Bad-Id: {Type: AWS::S3::Bucket}}",
            "alphanumeric",
        ),
        (
            "Resources: {F: {Type: AWS::Serverless::Function, Properties: {Runtime: python3.12, Handler: a.b, Events: {E: {Type: Api, Properties: {Path: /x}}}}}}",
            "Events.E.Properties.Method",
        ),
        (
            "Resources: {A: {Type: AWS::Lambda::Function, Properties: {FunctionName: x, Runtime: python3.12, Handler: a.b}}, B: {Type: AWS::Lambda::Function, Properties: {FunctionName: x, Runtime: python3.12, Handler: a.b}}}",
            "must be unique",
        ),
        (
            "Resources: {T: {Type: AWS::DynamoDB::Table, Properties: {KeySchema: [{AttributeName: id, KeyType: BOTH}]}}}",
            "HASH or RANGE",
        ),
    ];
    for (text, expected) in cases {
        let err = load_err(text).to_string();
        assert!(err.contains(expected), "{text}\n  gave: {err}");
    }
}

#[test]
fn unserved_events_with_unresolvable_properties_are_kept_with_a_warning() {
    let loaded = load(
        r#"
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: a.b
      CodeUri: .
      Events:
        Q: {Type: SQS, Properties: {Queue: !ImportValue shared-queue}}
"#,
    );
    assert_eq!(loaded.project.functions[0].events[0].event_type, "SQS");
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.message.contains("kept unresolved"))
    );
}

#[test]
fn unserved_resources_never_fail_the_build() {
    let loaded = load(
        r#"
Parameters: {NoDefault: {Type: String}}
Conditions: {Needs: !Equals [!Ref NoDefault, x]}
Resources:
  Role: {Type: AWS::IAM::Role, Condition: Needs, Properties: [not, a, mapping]}
  Machine: {Type: AWS::Serverless::StateMachine}
"#,
    );
    let listed: Vec<&str> = loaded
        .project
        .unsupported
        .iter()
        .map(|u| u.logical_id.as_str())
        .collect();
    assert_eq!(listed, ["Role", "Machine"]);
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.message.contains("NoDefault"))
    );
}

#[test]
fn custom_domain_base_paths_as_sam_deploys_them() {
    let loaded = load(
        r#"
Parameters: {Prefix: {Type: String, Default: v3}}
Conditions: {Three: !Equals [!Ref Prefix, v3]}
Resources:
  Conditional:
    Type: AWS::Serverless::Api
    Properties:
      StageName: Prod
      Domain: !If [Three, {DomainName: api.example.com, BasePath: [/c]}, !Ref AWS::NoValue]
  Rest:
    Type: AWS::Serverless::Api
    Properties:
      StageName: Prod
      Domain:
        DomainName: api.example.com
        CertificateArn: !ImportValue shared-certificate
        BasePath: [/v1, /, foo-too, !Sub "/${Prefix}"]
  Kept:
    Type: AWS::Serverless::Api
    Properties:
      StageName: Prod
      Domain: {DomainName: api.example.com, NormalizeBasePath: false, BasePath: /foo-too/}
  One:
    Type: AWS::Serverless::Api
    Properties:
      StageName: Prod
      Domain: {DomainName: api.example.com, BasePath: v2}
  Http:
    Type: AWS::Serverless::HttpApi
    Properties:
      Domain: {DomainName: api.example.com, BasePath: [/begin-here, /orders/v1/]}
  Bare:
    Type: AWS::Serverless::HttpApi
  Bad:
    Type: AWS::Serverless::HttpApi
    Properties:
      Domain: {DomainName: api.example.com, BasePath: [{Not: a string}]}
"#,
    );
    let base_paths = |id: &str| {
        loaded
            .project
            .apis
            .iter()
            .find(|a| a.logical_id == id)
            .map(|a| a.base_paths.clone())
            .expect(id)
    };
    // A REST API's are reduced to letters and digits unless NormalizeBasePath is false;
    // `/` is the domain's root, which needs no prefix.
    assert_eq!(base_paths("Rest"), ["/v1", "/footoo", "/v3"]);
    assert_eq!(base_paths("Kept"), ["/foo-too"]);
    assert_eq!(base_paths("Conditional"), ["/c"]);
    assert_eq!(base_paths("One"), ["/v2"]);
    assert_eq!(base_paths("Http"), ["/begin-here", "/orders/v1"]);
    assert!(base_paths("Bare").is_empty());
    assert!(base_paths("Bad").is_empty());
    assert!(
        loaded.warnings.iter().any(
            |w| w.logical_id.as_deref() == Some("Bad") && w.message.contains("Domain.BasePath")
        )
    );
}

const GATEWAY_RULES: &str = r#"
Transform: AWS::Serverless-2016-10-31
Resources:
  Orders:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
      Auth: {ApiKeyRequired: true}
      Models:
        Order: {type: object, required: [item]}
      MethodSettings:
        - {ResourcePath: "/*", HttpMethod: "*", ThrottlingRateLimit: 100, ThrottlingBurstLimit: 50}
        - {ResourcePath: "/~1orders", HttpMethod: POST, ThrottlingBurstLimit: 1}
        - {ResourcePath: "/*", HttpMethod: "*", LoggingLevel: INFO}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src/
      Events:
        Post:
          Type: Api
          Properties:
            RestApiId: !Ref Orders
            Path: /orders
            Method: post
            RequestModel: {Model: Order, Required: true, ValidateBody: true}
            RequestParameters:
              - method.request.header.X-Tenant: {Required: true}
              - method.request.querystring.page
  Key:
    Type: AWS::ApiGateway::ApiKey
    Properties: {Enabled: true, Value: abcdefghijklmnopqrstuvwxyz}
  Generated:
    Type: AWS::ApiGateway::ApiKey
  Plan:
    Type: AWS::ApiGateway::UsagePlan
    Properties:
      ApiStages: [{ApiId: !Ref Orders, Stage: !Ref OrdersprodStage}]
      Quota: {Limit: 3, Period: DAY}
      Throttle: {RateLimit: 5, BurstLimit: 2}
  PlanKey:
    Type: AWS::ApiGateway::UsagePlanKey
    Properties: {KeyId: !Ref Key, KeyType: API_KEY, UsagePlanId: !Ref Plan}
"#;

#[test]
fn validators_throttling_and_usage_plans_resolve() {
    let loaded = load(GATEWAY_RULES);
    let project = loaded.project;
    assert!(project.unsupported.is_empty(), "{:?}", project.unsupported);
    let api = &project.apis[0];
    assert!(api.models.contains_key("Order"));
    let throttling: Vec<(&str, &str, Option<u32>)> = api
        .throttling
        .iter()
        .map(|t| (t.path.as_str(), t.method.as_str(), t.limits.burst_limit))
        .collect();
    assert_eq!(
        throttling,
        [("/orders", "POST", Some(1)), ("/*", "*", Some(50))]
    );
    let validation = project.routes[0].validation.as_ref().expect("a validator");
    assert!(validation.validate_body && !validation.validate_parameters);
    assert_eq!(validation.model.as_deref(), Some("Order"));
    assert_eq!(validation.required_parameters.len(), 1);
    assert_eq!(validation.required_parameters[0].name, "X-Tenant");

    let keys: Vec<(&str, Option<&str>, bool)> = project
        .api_keys
        .iter()
        .map(|k| (k.logical_id.as_str(), k.value.as_deref(), k.enabled))
        .collect();
    assert_eq!(
        keys,
        [
            ("Key", Some("abcdefghijklmnopqrstuvwxyz"), true),
            ("Generated", None, false)
        ]
    );
    let plan = &project.usage_plans[0];
    assert_eq!(plan.stages[0].api, "Orders");
    assert_eq!(plan.stages[0].stage, "prod");
    assert_eq!(plan.keys, ["Key"]);
    assert_eq!(plan.quota.map(|q| q.limit), Some(3));
    assert_eq!(plan.throttle.and_then(|t| t.burst_limit), Some(2));
}

#[test]
fn a_short_api_key_is_refused() {
    let text = GATEWAY_RULES.replace("abcdefghijklmnopqrstuvwxyz", "short");
    let error = load_err(&text).to_string();
    assert!(error.contains("at least 20 characters"), "{error}");
}

#[test]
fn templates_over_the_size_limit_are_refused() {
    let options = LoadOptions {
        max_template_bytes: 16,
        ..LoadOptions::default()
    };
    let err = load_str("big.yaml", "Resources: {}\n# padding\n", &options).expect_err("too big");
    assert!(
        matches!(&err, TemplateError::TooLarge { file, limit: 16 } if file == "big.yaml"),
        "{err:?}"
    );
    assert!(load_str("small.yaml", "Resources: {}\n", &options).is_ok());
}

#[test]
fn errors_say_where_the_property_is_written() {
    let err = load_err(
        "Globals:\n  Function:\n    Timeout: 901\nResources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: python3.12\n      MemorySize: lots\n",
    );
    assert!(
        err.to_string()
            .starts_with("template.yaml:9:7: resource F, property MemorySize:"),
        "{err}"
    );
    let from_globals = load_err(
        "Globals:\n  Function:\n    Timeout: 901\nResources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties: {Runtime: python3.12}\n",
    );
    assert!(
        from_globals.to_string().starts_with("template.yaml:3:5: "),
        "{from_globals}"
    );
}

#[test]
fn repeated_keys_are_accepted_with_the_last_value_and_a_warning() {
    let yaml = load(
        "Resources:\n  T:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: first\n      BucketName: second\n",
    );
    assert_eq!(yaml.project.buckets[0].name, "second");
    assert!(
        yaml.warnings.iter().any(|w| w
            .to_string()
            .starts_with("template.yaml:6:7: key BucketName repeats the one on line 5")),
        "{:?}",
        yaml.warnings
    );
    let json = load_str(
        "template.json",
        "{\"Resources\": {\"T\": {\"Type\": \"AWS::S3::Bucket\",\n  \"Properties\": {\"BucketName\": \"first\",\n    \"BucketName\": \"second\"}}}}",
        &LoadOptions::default(),
    )
    .expect("loads");
    assert_eq!(json.project.buckets[0].name, "second");
    assert!(
        json.warnings.iter().any(|w| w
            .to_string()
            .starts_with("template.json:3:5: key BucketName repeats the one on line 2")),
        "{:?}",
        json.warnings
    );
}

fn function_with_runtime(runtime: &str) -> String {
    format!(
        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: src/\n      Handler: app.handler\n      Runtime: {runtime}\n"
    )
}

#[test]
fn an_unknown_runtime_is_an_error_that_suggests_the_nearest() {
    let err = load_err(&function_with_runtime("python9.99")).to_string();
    assert_eq!(
        err,
        "template.yaml:7:7: resource Fn, property Runtime: python9.99 is not a runtime AWS \
         Lambda lists; did you mean python3.9?"
    );
    let far = load_err(&function_with_runtime("cobol")).to_string();
    assert!(far.contains("esb runs python3.9, "), "{far}");
}

#[test]
fn a_retired_runtime_is_an_error() {
    let err = load_err(&function_with_runtime("nodejs12.x")).to_string();
    assert!(
        err.starts_with("template.yaml:7:7: resource Fn, property Runtime: nodejs12.x is retired"),
        "{err}"
    );
    let go = load_err(&function_with_runtime("go1.x")).to_string();
    assert!(go.contains("go1.x is retired"), "{go}");
}

#[test]
fn every_served_runtime_is_accepted_and_current_unserved_ones_warn() {
    for runtime in esb_model::runtime::served() {
        let loaded = load(&function_with_runtime(&runtime));
        assert!(
            loaded.warnings.is_empty(),
            "{runtime}: {:?}",
            loaded.warnings
        );
    }
    for runtime in ["provided", "provided.al2", "provided.al2023"] {
        load(&function_with_runtime(runtime));
    }
    let java = load(&function_with_runtime("java21"));
    assert_eq!(java.project.functions[0].runtime.as_deref(), Some("java21"));
    assert!(
        java.warnings[0]
            .to_string()
            .contains("runtime java21 runs on AWS Lambda but not here"),
        "{:?}",
        java.warnings
    );
}

#[test]
fn a_runtime_from_globals_is_reported_where_globals_set_it() {
    let err = load_err(
        "Globals:\n  Function:\n    Runtime: python3.99\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties: {CodeUri: src/, Handler: app.handler}\n",
    )
    .to_string();
    assert!(
        err.starts_with("template.yaml:3:5: resource Fn, property Runtime: python3.99"),
        "{err}"
    );
}

#[test]
fn image_functions_have_no_runtime_to_check() {
    load(
        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties: {PackageType: Image, ImageUri: repo/fn:latest}\n",
    );
}

#[test]
fn a_misspelt_resource_type_is_an_error_with_a_suggestion() {
    let err = load_err(
        "Resources:\n  Fn:\n    Type: AWS::Serverless::Functon\n    Properties: {CodeUri: src/, Handler: a.b, Runtime: python3.12}\n",
    );
    assert_eq!(
        err.to_string(),
        "template.yaml:3:5: resource Fn, property Type: AWS::Serverless::Functon is not a \
         resource type; did you mean AWS::Serverless::Function?"
    );
}

#[test]
fn types_that_are_not_near_misses_stay_listed_as_not_served() {
    let loaded = load(
        "Resources:\n  Q: {Type: AWS::SQS::Queue}\n  C: {Type: Custom::Thing}\n  S: {Type: AWS::Serverless::Connector}\n",
    );
    let types: Vec<&str> = loaded
        .project
        .unsupported
        .iter()
        .map(|u| u.resource_type.as_str())
        .collect();
    assert_eq!(
        types,
        [
            "AWS::SQS::Queue",
            "Custom::Thing",
            "AWS::Serverless::Connector"
        ]
    );
}

#[test]
fn a_zip_function_needs_a_handler_and_a_runtime() {
    let err = load_err(
        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties: {CodeUri: src/, Runtime: provided.al2023}\n",
    );
    assert!(
        err.to_string().starts_with(
            "template.yaml:2:3: resource Fn, property Handler: a zip function needs a Handler"
        ),
        "{err}"
    );
    let plain = load_err(
        "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties: {Code: {ZipFile: x}, Runtime: python3.12}\n",
    );
    assert!(plain.to_string().contains("property Handler"), "{plain}");
    let no_runtime = load_err(
        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties: {CodeUri: src/, Handler: a.b}\n",
    );
    assert!(
        no_runtime
            .to_string()
            .contains("property Runtime: a zip function needs a Runtime"),
        "{no_runtime}"
    );
}

#[test]
fn globals_can_give_the_handler_and_image_functions_need_none() {
    let loaded = load(
        "Globals:\n  Function: {Handler: bootstrap, Runtime: provided.al2023}\nResources:\n  Zip:\n    Type: AWS::Serverless::Function\n    Properties: {CodeUri: src/}\n  Image:\n    Type: AWS::Serverless::Function\n    Properties: {PackageType: Image, ImageUri: repo/fn:1}\n",
    );
    assert_eq!(
        loaded.project.functions[0].handler.as_deref(),
        Some("bootstrap")
    );
    assert_eq!(loaded.project.functions[1].package_type, PackageType::Image);
}

#[test]
fn circular_depends_on_is_an_error_naming_the_circle() {
    let err = load_err(
        "Resources:\n  A:\n    Type: AWS::S3::Bucket\n    DependsOn: B\n  B:\n    Type: AWS::SQS::Queue\n    DependsOn: [C]\n  C:\n    Type: AWS::SQS::Queue\n    DependsOn: [A]\n",
    );
    assert_eq!(
        err.to_string(),
        "template.yaml:4:5: resource A, property DependsOn: circular DependsOn: A -> B -> C -> A"
    );
    load(
        "Resources:\n  A: {Type: AWS::S3::Bucket, DependsOn: [B, Elsewhere]}\n  B: {Type: AWS::SQS::Queue}\n",
    );
}

#[test]
fn circular_references_are_errors_naming_the_cycle() {
    let names = load_err(
        "Resources:\n  A:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: !Sub '${B}-a'\n  B:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: !Ref A\n",
    );
    assert_eq!(
        names.to_string(),
        "template.yaml:5:7: resource A, property BucketName: circular reference: A -> B -> A"
    );
    let alias = load_err(
        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: src/\n      Handler: a.b\n      Runtime: python3.12\n      AutoPublishAlias: !Select [6, !Split [':', !Ref Fn.Alias]]\n",
    );
    assert!(
        alias
            .to_string()
            .contains("circular reference: Fn.Alias -> Fn.Alias"),
        "{alias}"
    );
    let aliases = load_err(
        "Resources:\n  A:\n    Type: AWS::Lambda::Alias\n    Properties: {FunctionName: !Ref B, Name: live}\n  B:\n    Type: AWS::Lambda::Alias\n    Properties: {FunctionName: !Ref A, Name: live}\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties: {Runtime: python3.12, Handler: a.b, Code: {ZipFile: x}, Environment: {Variables: {A: !Ref A}}}\n",
    );
    assert!(
        aliases
            .to_string()
            .contains("circular reference: A -> B -> A"),
        "{aliases}"
    );
    let mapping = load_err(
        "Mappings:\n  M:\n    a: {b: !FindInMap [M, a, b]}\nResources:\n  T:\n    Type: AWS::S3::Bucket\n    Properties: {BucketName: !FindInMap [M, a, b]}\n",
    );
    assert!(
        mapping
            .to_string()
            .contains("circular reference: Mappings.M.a.b -> Mappings.M.a.b"),
        "{mapping}"
    );
}

const GENERATED_NAMES: &str = r#"
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: a.b
      Runtime: python3.12
      AutoPublishAlias: live_v-1
      Environment:
        Variables:
          ROLE: !Ref FnRole
          ROLE_ARN: !GetAtt FnRole.Arn
          ALIAS: !Ref FnAliasliveUvD1
          VERSION: !Ref FnVersion640128d35d
          REST: !Ref ServerlessRestApi
          REST_STAGE: !Ref ServerlessRestApiProdStage
          HTTP_STAGE: !Ref ServerlessHttpApiApiGatewayDefaultStage
          MY_STAGE: !Ref MyApiBetaStage
          NAMED_STAGE: !Ref Namedv1Stage
          DEPLOYMENT: !Ref MyApiDeployment0123456789
          SUB: !Sub "${MyApiBetaStage} ${FnAliasliveUvD1}"
  MyApi:
    Type: AWS::Serverless::Api
    Properties: {StageName: Beta}
  Named:
    Type: AWS::Serverless::HttpApi
    Properties: {StageName: v1}
"#;

#[test]
fn names_sam_generates_resolve_as_after_sam_deploy() {
    let loaded = load(GENERATED_NAMES);
    let env = &loaded.project.functions[0].environment;
    let arn = "arn:aws:lambda:us-east-1:123456789012:function:Fn";
    assert_eq!(env["ROLE"], "FnRole");
    assert_eq!(env["ROLE_ARN"], "arn:aws:iam::123456789012:role/FnRole");
    assert_eq!(env["ALIAS"], format!("{arn}:live_v-1"));
    assert_eq!(env["VERSION"], format!("{arn}:1"));
    assert_eq!(env["REST"], "ServerlessRestApi");
    assert_eq!(env["REST_STAGE"], "Prod");
    assert_eq!(env["HTTP_STAGE"], "$default");
    assert_eq!(env["MY_STAGE"], "Beta");
    assert_eq!(env["NAMED_STAGE"], "v1");
    assert_eq!(env["DEPLOYMENT"], "MyApiDeployment0123456789");
    assert_eq!(env["SUB"], format!("Beta {arn}:live_v-1"));
}

#[test]
fn names_sam_does_not_generate_stay_unknown() {
    for (property, reference) in [
        ("Role: arn:aws:iam::123456789012:role/r", "FnRole"),
        ("Description: no alias", "FnAliaslive"),
        ("Description: no alias", "FnVersion640128d35d"),
        ("Description: x", "ServerlessRestApiBetaStage"),
        ("Description: x", "ServerlessRestApiDeploymentXYZ"),
    ] {
        let err = load_err(&format!(
            "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: src/\n      Handler: a.b\n      Runtime: python3.12\n      {property}\n      Environment: {{Variables: {{X: !Ref {reference}}}}}\n"
        ));
        assert!(
            err.to_string()
                .contains("neither a parameter nor a resource"),
            "{reference}: {err}"
        );
    }
}

#[test]
fn generated_names_follow_globals_and_conditions() {
    let loaded = load(
        "Globals:\n  Function: {AutoPublishAlias: live}\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: src/\n      Handler: a.b\n      Runtime: python3.12\n      Environment: {Variables: {A: !Ref FnAliaslive}}\n",
    );
    assert!(loaded.project.functions[0].environment["A"].ends_with("function:Fn:live"));
    let err = load_err(
        "Conditions:\n  Never: !Equals [a, b]\nResources:\n  Off:\n    Type: AWS::Serverless::Function\n    Condition: Never\n    Properties: {CodeUri: src/, Handler: a.b, Runtime: python3.12}\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: src/\n      Handler: a.b\n      Runtime: python3.12\n      Environment: {Variables: {A: !Ref OffRole}}\n",
    );
    assert!(
        err.to_string().contains(
            "refers to OffRole, which is not created because the Condition of Off is false"
        ),
        "{err}"
    );
}
