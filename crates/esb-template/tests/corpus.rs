//! The SAM translator corpus (`../shared/corpus/sam-translator`): 831 real templates with the
//! CloudFormation AWS's own translator produces for each.
//!
//! Every input must resolve or fail with a clear error, never panic. For every template whose
//! translated output has `AWS::Lambda::Function` resources, each function's Runtime, Handler,
//! MemorySize, Timeout, environment variables, layer count, reserved concurrency and
//! architectures as we resolve them from the SAM input must equal what we resolve from the
//! translator's output. The agreement rate is printed; it must not fall below the floor.
//!
//! The corpus predates AWS's runtime retirements: most of its templates name runtimes such as
//! `nodejs12.x` or `python2.7`, which AWS Lambda no longer creates functions with and which
//! `esb` refuses as AWS would. So that the other checks still cover those templates, each
//! retired runtime is first replaced, in input and output alike, by a current one of its family
//! (`with_current_runtimes`); `retired_runtimes_are_the_only_new_refusals` checks the refusals.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use esb_model::Function;
use esb_model::runtime::RETIRED;
use esb_template::{LoadOptions, load_str};

/// Agreement measured when this test was written was above this; it may only go up.
const AGREEMENT_FLOOR: f64 = 0.97;

fn corpus_dir() -> PathBuf {
    let dir = std::env::var_os("ESB_CORPUS_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/sam-translator"),
        PathBuf::from,
    );
    assert!(
        dir.join("input").is_dir(),
        "the SAM translator corpus is missing at {} (set ESB_CORPUS_DIR)",
        dir.display()
    );
    dir
}

/// The corpus's input templates, in name order.
/// One template of the corpus: its name, its input file and where the translator's output is.
struct Case {
    stem: String,
    input: PathBuf,
    output: PathBuf,
}

impl Case {
    fn input_text(&self) -> String {
        std::fs::read_to_string(&self.input).expect("read input")
    }

    /// The translator's CloudFormation, when it has one for this template.
    fn output_text(&self) -> Option<String> {
        std::fs::read_to_string(&self.output).ok()
    }
}

fn corpus_cases(dir: &Path) -> Vec<Case> {
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(dir.join("input"))
        .expect("read corpus input dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    inputs.sort();
    inputs
        .into_iter()
        .map(|input| {
            let stem = input
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            let output = dir.join("output").join(format!("{stem}.json"));
            Case {
                stem,
                input,
                output,
            }
        })
        .collect()
}

/// `text` with every retired runtime name replaced by a current runtime of its family.
fn with_current_runtimes(text: &str) -> String {
    // Bare `nodejs` is also a word in `Fn::Join: ['', [nodejs, '4.3']]` (intrinsic_functions),
    // which builds a retired runtime that stays refused.
    let mut retired: Vec<&str> = RETIRED.iter().copied().filter(|n| *n != "nodejs").collect();
    // `nodejs4.3-edge` before `nodejs4.3`, which is part of it.
    retired.sort_by_key(|name| std::cmp::Reverse(name.len()));
    retired.iter().fold(text.to_string(), |text, name| {
        let current = match name {
            n if n.starts_with("nodejs") => "nodejs22.x",
            n if n.starts_with("python") => "python3.12",
            n if n.starts_with("java") => "java21",
            n if n.starts_with("dotnet") => "dotnet8",
            n if n.starts_with("ruby") => "ruby3.3",
            _ => "provided.al2023",
        };
        replace_name(&text, name, current)
    })
}

/// Replaces `name` where it is a whole runtime name, not part of a longer one.
fn replace_name(text: &str, name: &str, with: &str) -> String {
    let part_of_name = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(name) {
        let before = out
            .chars()
            .next_back()
            .filter(|_| at == 0)
            .or(rest[..at].chars().next_back());
        let after = rest[at + name.len()..].chars().next();
        out.push_str(&rest[..at]);
        let whole = !before.is_some_and(part_of_name) && !after.is_some_and(part_of_name);
        out.push_str(if whole { with } else { name });
        rest = &rest[at + name.len()..];
    }
    out.push_str(rest);
    out
}

/// The fields the translator's output is compared on.
#[derive(Debug, PartialEq)]
struct Compared {
    runtime: Option<String>,
    handler: Option<String>,
    memory_size: u32,
    timeout: u32,
    environment: Vec<(String, String)>,
    layers: usize,
    reserved_concurrency: Option<u32>,
    architectures: Vec<&'static str>,
}

impl From<&Function> for Compared {
    fn from(f: &Function) -> Self {
        let mut environment: Vec<(String, String)> = f
            .environment
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        environment.sort();
        Compared {
            runtime: f.runtime.clone(),
            handler: f.handler.clone(),
            memory_size: f.memory_size,
            timeout: f.timeout,
            environment,
            layers: f.layers.len(),
            reserved_concurrency: f.reserved_concurrency,
            architectures: f.architectures.iter().map(|a| a.as_str()).collect(),
        }
    }
}

enum Outcome {
    /// `Some(disagreements)` when the output has Lambda functions to compare with.
    Resolved(Option<Vec<String>>),
    Failed(String),
    Panicked,
}

/// Whether the translator's output defines `AWS::Lambda::Function` resources.
fn has_lambda_functions(output: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(output)
        .ok()
        .and_then(|t| t.get("Resources").and_then(|r| r.as_object()).cloned())
        .is_some_and(|r| {
            r.values().any(|res| {
                res.get("Type").and_then(|t| t.as_str()) == Some("AWS::Lambda::Function")
            })
        })
}

/// Resolves the input; when the output has Lambda functions, lists every disagreement
/// (an input that fails to resolve is one).
fn check_template(name: &str, input: &str, output: &str) -> Outcome {
    let options = LoadOptions::default();
    let compare = has_lambda_functions(output);
    let project = match catch_unwind(AssertUnwindSafe(|| load_str(name, input, &options))) {
        Err(_) => return Outcome::Panicked,
        Ok(Err(error)) if compare => {
            return Outcome::Resolved(Some(vec![format!("input fails: {error}")]));
        }
        Ok(Err(error)) => return Outcome::Failed(error.to_string()),
        Ok(Ok(loaded)) => loaded.project,
    };
    if !compare {
        return Outcome::Resolved(None);
    }
    let expected = match catch_unwind(AssertUnwindSafe(|| load_str(name, output, &options))) {
        Err(_) => return Outcome::Panicked,
        Ok(Err(error)) => {
            return Outcome::Resolved(Some(vec![format!("translated output fails: {error}")]));
        }
        Ok(Ok(loaded)) => loaded.project,
    };
    let mut disagreements = Vec::new();
    for want in &expected.functions {
        let Some(got) = project
            .functions
            .iter()
            .find(|f| f.logical_id == want.logical_id)
        else {
            disagreements.push(format!("{}: missing", want.logical_id));
            continue;
        };
        let (got, want_fields) = (Compared::from(got), Compared::from(want));
        if got != want_fields {
            disagreements.push(format!(
                "{}: got {got:?}, translator {want_fields:?}",
                want.logical_id
            ));
        }
    }
    Outcome::Resolved(Some(disagreements))
}

#[test]
fn corpus_templates_resolve_and_agree_with_the_sam_translator() {
    let dir = corpus_dir();
    let cases = corpus_cases(&dir);

    let (mut resolved, mut failed, mut compared, mut agreeing) = (0, 0, 0, 0);
    let mut panicked = Vec::new();
    let mut unclear = Vec::new();
    let mut disagreeing = Vec::new();
    for case in &cases {
        let stem = case.stem.clone();
        let input = with_current_runtimes(&case.input_text());
        let output = case
            .output_text()
            .map(|output| with_current_runtimes(&output))
            .unwrap_or_default();
        match check_template(&stem, &input, &output) {
            Outcome::Panicked => panicked.push(stem),
            Outcome::Failed(message) => {
                failed += 1;
                println!("  fails with an error: {stem}: {message}");
                if message.trim().len() < 20 {
                    unclear.push(format!("{stem}: {message}"));
                }
            }
            Outcome::Resolved(comparison) => {
                resolved += usize::from(
                    !matches!(&comparison, Some(d) if d.iter().any(|d| d.starts_with("input fails"))),
                );
                if let Some(disagreements) = comparison {
                    compared += 1;
                    if disagreements.is_empty() {
                        agreeing += 1;
                    } else {
                        disagreeing
                            .push(format!("{stem}\n      {}", disagreements.join("\n      ")));
                    }
                }
            }
        }
    }

    let rate = agreeing as f64 / compared.max(1) as f64;
    println!(
        "corpus: {} templates, {resolved} resolved, {failed} failed with an error",
        cases.len()
    );
    println!(
        "corpus: {agreeing}/{compared} templates with Lambda functions agree with the SAM translator ({:.1} %)",
        rate * 100.0
    );
    for line in &disagreeing {
        println!("  disagrees: {line}");
    }
    assert!(panicked.is_empty(), "templates that panicked: {panicked:?}");
    assert!(
        unclear.is_empty(),
        "errors too short to be clear: {unclear:?}"
    );
    assert!(
        cases.len() >= 800,
        "the corpus should hold the 831 templates"
    );
    assert!(
        rate >= AGREEMENT_FLOOR,
        "agreement {:.1} % fell below {:.1} %",
        rate * 100.0,
        AGREEMENT_FLOOR * 100.0
    );
}

/// One usage plan as compared: its APIs, quota, throttle and keys.
type PlanSummary = (
    String,
    Vec<String>,
    Option<(u64, u64, String)>,
    Option<(Option<u64>, Option<f64>)>,
    Vec<String>,
);

/// The usage plans the translator made, read from its output.
fn translated_plans(output: &serde_json::Value) -> Vec<PlanSummary> {
    let resources = output["Resources"].as_object().cloned().unwrap_or_default();
    let of_type = |t: &str| {
        resources
            .iter()
            .filter(move |(_, r)| r["Type"] == t)
            .map(|(id, r)| (id.clone(), r["Properties"].clone()))
            .collect::<Vec<_>>()
    };
    let plan_keys = of_type("AWS::ApiGateway::UsagePlanKey");
    let mut plans: Vec<PlanSummary> = of_type("AWS::ApiGateway::UsagePlan")
        .into_iter()
        .map(|(id, p)| {
            let mut apis: Vec<String> = p["ApiStages"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s["ApiId"]["Ref"].as_str().map(str::to_string))
                .collect();
            apis.sort();
            let quota = p["Quota"]["Limit"].as_u64().map(|limit| {
                (
                    limit,
                    p["Quota"]["Offset"].as_u64().unwrap_or(0),
                    p["Quota"]["Period"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                )
            });
            let throttle = p
                .get("Throttle")
                .map(|t| (t["BurstLimit"].as_u64(), t["RateLimit"].as_f64()));
            let mut keys: Vec<String> = plan_keys
                .iter()
                .filter(|(_, k)| k["UsagePlanId"]["Ref"].as_str() == Some(id.as_str()))
                .filter_map(|(_, k)| k["KeyId"]["Ref"].as_str().map(str::to_string))
                .collect();
            keys.sort();
            (id, apis, quota, throttle, keys)
        })
        .collect();
    plans.sort_by(|a, b| a.0.cmp(&b.0));
    plans
}

fn resolved_plans(project: &esb_model::Project) -> Vec<PlanSummary> {
    let mut plans: Vec<PlanSummary> = project
        .usage_plans
        .iter()
        .map(|p| {
            let mut apis: Vec<String> = p.stages.iter().map(|s| s.api.clone()).collect();
            apis.sort();
            let mut keys = p.keys.clone();
            keys.sort();
            (
                p.logical_id.clone(),
                apis,
                p.quota
                    .map(|q| (q.limit, q.offset, format!("{:?}", q.period).to_uppercase())),
                p.throttle
                    .map(|t| (t.burst_limit.map(u64::from), t.rate_limit)),
                keys,
            )
        })
        .collect();
    plans.sort_by(|a, b| a.0.cmp(&b.0));
    plans
}

/// (API, METHOD, path) → (validate body, validate parameters, required parameters) for every
/// method the translator attached a request validator to.
type Validators = Vec<(String, String, String, bool, bool, Vec<String>)>;

fn translated_validators(output: &serde_json::Value) -> Validators {
    let mut found = Vec::new();
    for (api, resource) in output["Resources"].as_object().into_iter().flatten() {
        if resource["Type"] != "AWS::ApiGateway::RestApi" {
            continue;
        }
        let body = &resource["Properties"]["Body"];
        let validators = &body["x-amazon-apigateway-request-validators"];
        for (path, operations) in body["paths"].as_object().into_iter().flatten() {
            for (method, operation) in operations.as_object().into_iter().flatten() {
                let Some(name) = operation["x-amazon-apigateway-request-validator"].as_str() else {
                    continue;
                };
                let validator = &validators[name];
                let mut required: Vec<String> = operation["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| p["required"] == true && p["in"] != "body")
                    .map(|p| {
                        let location = match p["in"].as_str() {
                            Some("query") => "querystring",
                            other => other.unwrap_or_default(),
                        };
                        format!("{location}.{}", p["name"].as_str().unwrap_or_default())
                    })
                    .collect();
                required.sort();
                let method = match method.as_str() {
                    "x-amazon-apigateway-any-method" => "ANY".to_string(),
                    m => m.to_ascii_uppercase(),
                };
                found.push((
                    api.clone(),
                    method,
                    path.clone(),
                    validator["validateRequestBody"] == true,
                    validator["validateRequestParameters"] == true,
                    required,
                ));
            }
        }
    }
    found.sort();
    found
}

fn resolved_validators(project: &esb_model::Project) -> Validators {
    let mut found: Validators = project
        .routes
        .iter()
        .filter_map(|r| {
            let v = r.validation.as_ref()?;
            let mut required: Vec<String> = v
                .required_parameters
                .iter()
                .map(|p| format!("{:?}.{}", p.location, p.name).to_lowercase())
                .collect();
            required.sort();
            Some((
                r.api.clone(),
                r.method.clone(),
                r.path.clone(),
                v.validate_body,
                v.validate_parameters,
                required,
            ))
        })
        .collect();
    found.sort();
    found
}

#[test]
fn usage_plans_and_request_validators_agree_with_the_sam_translator() {
    let dir = corpus_dir();
    let (mut compared, mut disagreeing) = (0, Vec::new());
    for case in corpus_cases(&dir) {
        let stem = case.stem.as_str();
        let Some(output) = case.output_text() else {
            continue;
        };
        let Ok(output) = serde_json::from_str::<serde_json::Value>(&with_current_runtimes(&output))
        else {
            continue;
        };
        let input = with_current_runtimes(&case.input_text());
        let Ok(loaded) = load_str(stem, &input, &LoadOptions::default()) else {
            continue;
        };
        let (plans, validators) = (translated_plans(&output), translated_validators(&output));
        let (ours, ours_validators) = (
            resolved_plans(&loaded.project),
            resolved_validators(&loaded.project),
        );
        if [
            plans.is_empty(),
            validators.is_empty(),
            ours.is_empty(),
            ours_validators.is_empty(),
        ]
        .iter()
        .all(|empty| *empty)
        {
            continue;
        }
        compared += 1;
        if ours != plans {
            disagreeing.push(format!(
                "{stem}: usage plans\n    ours:       {ours:?}\n    translated: {plans:?}"
            ));
        }
        if ours_validators != validators {
            disagreeing.push(format!(
                "{stem}: validators\n    ours:       {ours_validators:?}\n    translated: {validators:?}"
            ));
        }
    }
    println!("corpus: {compared} templates with usage plans or request validators compared");
    assert!(compared >= 9, "too few templates compared: {compared}");
    assert!(
        disagreeing.is_empty(),
        "disagreements:\n{}",
        disagreeing.join("\n")
    );
}

/// Every corpus template that fails with its own runtimes but not with current ones fails for
/// its retired runtime, with an error that says so.
#[test]
fn retired_runtimes_are_the_only_new_refusals() {
    let dir = corpus_dir();
    let options = LoadOptions::default();
    let mut refused = 0;
    for case in corpus_cases(&dir) {
        let stem = case.stem.as_str();
        let original = case.input_text();
        let current = with_current_runtimes(&original);
        let (Err(error), current_result) = (
            load_str(stem, &original, &options),
            load_str(stem, &current, &options),
        ) else {
            continue;
        };
        if current_result.is_err_and(|e| e.to_string() == error.to_string()) {
            continue;
        }
        let message = error.to_string();
        assert!(
            message.contains("property Runtime:") && message.contains("is retired"),
            "{stem} fails for something other than its runtime: {message}"
        );
        refused += 1;
    }
    println!("corpus: {refused} templates refused for a retired runtime");
    assert!(
        refused > 0,
        "the corpus has templates with retired runtimes"
    );
}

/// The logical ids the translator gave the resources SAM generates for functions and APIs
/// (roles, aliases, versions, stages, deployments) in one output.
fn generated_ids(output: &serde_json::Value, input: &str) -> Vec<String> {
    let resources = output["Resources"].as_object().cloned().unwrap_or_default();
    let in_input = |id: &str| input.contains(&format!("\n  {id}:"));
    let target = |value: &serde_json::Value| value["Ref"].as_str().unwrap_or_default().to_string();
    let mut ids = Vec::new();
    for (id, resource) in &resources {
        let properties = &resource["Properties"];
        let of_sam = |owner: String| {
            let owner_type = resources.get(&owner).map(|r| r["Type"].clone());
            in_input(&owner)
                || matches!(owner.as_str(), "ServerlessRestApi" | "ServerlessHttpApi")
                    && owner_type.is_some()
        };
        let generated = match resource["Type"].as_str().unwrap_or_default() {
            "AWS::IAM::Role" => id.strip_suffix("Role").is_some_and(|f| {
                input.contains(&format!("\n  {f}:\n    Type: AWS::Serverless::Function"))
            }),
            "AWS::Lambda::Alias" | "AWS::Lambda::Version" => {
                of_sam(target(&properties["FunctionName"]))
            }
            "AWS::ApiGateway::Stage" | "AWS::ApiGateway::Deployment" => {
                of_sam(target(&properties["RestApiId"]))
            }
            "AWS::ApiGatewayV2::Stage" => {
                let api = target(&properties["ApiId"]);
                resources
                    .get(&api)
                    .is_some_and(|r| r["Properties"]["ProtocolType"] == "HTTP")
                    && of_sam(api)
            }
            _ => false,
        };
        // A generated resource under a Condition is not created when it is false, here too.
        if generated && !in_input(id) && resource.get("Condition").is_none() {
            ids.push(id.clone());
        }
    }
    ids
}

/// `text` with a function whose environment refers to each of `ids`, added first under
/// `Resources` at the indentation the template uses there.
fn with_probe(text: &str, ids: &[String]) -> Option<String> {
    let at = text.find("\nResources:\n")? + "\nResources:\n".len();
    let indent: String = text[at..]
        .lines()
        .find(|line| !line.trim().is_empty() && !line.trim_start().starts_with('#'))?
        .chars()
        .take_while(|c| *c == ' ')
        .collect();
    let variables: Vec<String> = ids
        .iter()
        .enumerate()
        .map(|(n, id)| format!("P{n}: !Ref {id}"))
        .collect();
    let probe = format!(
        "{indent}EsbProbe:\n{indent}  Type: AWS::Lambda::Function\n{indent}  Properties: \
         {{Runtime: python3.12, Handler: a.b, Code: {{ZipFile: x}}, Environment: {{Variables: \
         {{{}}}}}}}\n",
        variables.join(", ")
    );
    Some(format!("{}{probe}{}", &text[..at], &text[at..]))
}

/// What `Ref` of a resource SAM generates resolves to is checked by the unit tests; here every
/// such resource the translator made, under the logical id it gave it, must resolve at all.
#[test]
fn names_of_generated_resources_match_the_sam_translator() {
    let dir = corpus_dir();
    let (mut probed, mut failing) = (0, Vec::new());
    for case in corpus_cases(&dir) {
        let stem = case.stem.as_str();
        let Some(output) = case.output_text() else {
            continue;
        };
        let Ok(output) = serde_json::from_str::<serde_json::Value>(&output) else {
            continue;
        };
        let input = with_current_runtimes(&case.input_text());
        let ids = generated_ids(&output, &input);
        if ids.is_empty() || load_str(stem, &input, &LoadOptions::default()).is_err() {
            continue;
        }
        let Some(probe) = with_probe(&input, &ids) else {
            continue;
        };
        probed += 1;
        if let Err(error) = load_str(stem, &probe, &LoadOptions::default()) {
            failing.push(format!("{stem} {ids:?}: {error}"));
        }
    }
    println!("corpus: {probed} templates' generated names probed");
    assert!(probed >= 100, "too few templates probed: {probed}");
    assert!(failing.is_empty(), "unresolved:\n{}", failing.join("\n"));
}
