//! What Lambda requires of a zip function, checked as AWS checks it at deploy time: a `Handler`
//! and a `Runtime` (SAM: "Runtime and Handler needs to be present when PackageType is of type
//! Zip", for `provided` runtimes too), and a runtime AWS Lambda lists and has not retired (this
//! box cannot run the others either). A current runtime this box does not run is a warning,
//! since the template is valid on AWS. Image functions have neither.

use esb_model::runtime::{self, Support};
use esb_model::{Function, PackageType};

use super::properties::Props;
use super::suggest::nearest;
use crate::TemplateError;

/// How far a misspelt runtime may be from the one suggested for it.
const SUGGESTION_DISTANCE: usize = 3;

pub(crate) fn check(props: &Props, function: &Function) -> Result<(), TemplateError> {
    if function.package_type != PackageType::Zip {
        return Ok(());
    }
    if function.handler.is_none() {
        return Err(props.error(
            "Handler",
            "a zip function needs a Handler (on the function or in Globals.Function; \
             provided runtimes usually name their executable, `bootstrap`)",
        ));
    }
    let Some(name) = function.runtime.as_deref() else {
        return Err(props.error(
            "Runtime",
            "a zip function needs a Runtime (on the function or in Globals.Function)",
        ));
    };
    let served: Vec<String> = runtime::served().collect();
    let served = served.iter().map(String::as_str);
    match runtime::support(name) {
        Support::Served => Ok(()),
        Support::NotServed => {
            props.resolver.warn(
                props.logical_id,
                format!(
                    "runtime {name} runs on AWS Lambda but not here (esb runs Python, Node.js \
                     and provided functions); its requests answer 502 unless it runs as \
                     provided.al2023 with its own bootstrap"
                ),
            );
            Ok(())
        }
        Support::Retired => Err(props.error(
            "Runtime",
            format!(
                "{name} is retired: AWS Lambda creates no functions with it and esb cannot run \
                 it; move to a current runtime ({})",
                nearest(name, served.clone(), SUGGESTION_DISTANCE)
                    .map_or_else(|| runtime_list(served), str::to_string)
            ),
        )),
        Support::Unknown => {
            let current = served.clone().chain(runtime::NOT_SERVED.iter().copied());
            let hint = match nearest(name, current, SUGGESTION_DISTANCE) {
                Some(near) => format!("did you mean {near}?"),
                None => format!("esb runs {}", runtime_list(served)),
            };
            Err(props.error(
                "Runtime",
                format!("{name} is not a runtime AWS Lambda lists; {hint}"),
            ))
        }
    }
}

fn runtime_list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.collect::<Vec<_>>().join(", ")
}
