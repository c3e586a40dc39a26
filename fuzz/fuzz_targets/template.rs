//! SAM/CloudFormation template text (YAML with short-form tags, or JSON) through the whole
//! loader: parsing, Globals, Parameters, Conditions, every intrinsic (`!Sub`, `!Ref`,
//! `!GetAtt`, `Fn::*`) and the project model. Any result is fine; a panic is a bug.

#![no_main]

use esb_template::{LoadOptions, load_str};
use indexmap::IndexMap;
use libfuzzer_sys::fuzz_target;

fn options() -> LoadOptions {
    LoadOptions {
        parameter_overrides: IndexMap::from([("Stage".to_owned(), "prod".to_owned())]),
        resolve_values: IndexMap::from([
            ("x".to_owned(), "resolved".to_owned()),
            ("Exported".to_owned(), "imported".to_owned()),
        ]),
        ..LoadOptions::default()
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = load_str("fuzz.yaml", text, &options());
    }
});
