//! The SAM translator corpus (`../shared/corpus/sam-translator`): 831 real templates with the
//! CloudFormation AWS's own translator produces for each.
//!
//! Every input must resolve or fail with a clear error, never panic. For every template whose
//! translated output has `AWS::Lambda::Function` resources, each function's Runtime, Handler,
//! MemorySize, Timeout, environment variables, layer count, reserved concurrency and
//! architectures as we resolve them from the SAM input must equal what we resolve from the
//! translator's output. The agreement rate is printed; it must not fall below the floor.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use esb_model::Function;
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
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(dir.join("input"))
        .expect("read corpus input dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    inputs.sort();

    let (mut resolved, mut failed, mut compared, mut agreeing) = (0, 0, 0, 0);
    let mut panicked = Vec::new();
    let mut unclear = Vec::new();
    let mut disagreeing = Vec::new();
    for path in &inputs {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        let input = std::fs::read_to_string(path).expect("read input template");
        let output = std::fs::read_to_string(dir.join("output").join(format!("{stem}.json")))
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
        inputs.len()
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
        inputs.len() >= 800,
        "the corpus should hold the 831 templates"
    );
    assert!(
        rate >= AGREEMENT_FLOOR,
        "agreement {:.1} % fell below {:.1} %",
        rate * 100.0,
        AGREEMENT_FLOOR * 100.0
    );
}
