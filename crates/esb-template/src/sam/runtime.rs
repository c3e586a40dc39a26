//! A zip function's `Runtime`, checked as Lambda checks it at deploy time: a name AWS Lambda
//! does not list, or one it has retired, is an error (this box cannot run those either); a
//! current runtime this box does not run is a warning, since the template is valid on AWS.

use esb_model::runtime::{self, Support};
use esb_model::{Function, PackageType};

use super::properties::Props;
use super::suggest::nearest;
use crate::TemplateError;

/// How far a misspelt runtime may be from the one suggested for it.
const SUGGESTION_DISTANCE: usize = 3;

pub(crate) fn check(props: &Props, function: &Function) -> Result<(), TemplateError> {
    let (PackageType::Zip, Some(name)) = (function.package_type, function.runtime.as_deref())
    else {
        return Ok(());
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
