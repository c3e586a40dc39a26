//! Lambda runtime names: which this box runs, which AWS Lambda lists but the box does not run,
//! and which AWS has retired. The one list both the template check (esb-template) and the
//! agent that starts workers read.

use std::ops::RangeInclusive;

/// The Python minor versions served (`python3.9` … `python3.14`), as AWS Lambda lists them.
pub const PYTHON_MINORS: RangeInclusive<u32> = 9..=14;
/// The Node.js major versions served (`nodejs18.x` … `nodejs24.x`); Lambda ships only the even
/// (long-term support) ones.
pub const NODE_MAJORS: RangeInclusive<u32> = 18..=24;
/// Custom runtimes: the function's own `bootstrap`.
pub const PROVIDED: [&str; 3] = ["provided", "provided.al2", "provided.al2023"];

/// Runtimes AWS Lambda runs that this box does not: a template may name them.
pub const NOT_SERVED: &[&str] = &[
    "java8.al2",
    "java11",
    "java17",
    "java21",
    "java25",
    "dotnet8",
    "dotnet10",
    "ruby3.2",
    "ruby3.3",
    "ruby3.4",
];

/// Runtimes AWS Lambda has retired (it creates no new functions with them) and this box cannot
/// run either.
pub const RETIRED: &[&str] = &[
    "nodejs",
    "nodejs4.3",
    "nodejs4.3-edge",
    "nodejs6.10",
    "nodejs8.10",
    "nodejs10.x",
    "nodejs12.x",
    "nodejs14.x",
    "nodejs16.x",
    "python2.7",
    "python3.6",
    "python3.7",
    "python3.8",
    "java8",
    "dotnetcore1.0",
    "dotnetcore2.0",
    "dotnetcore2.1",
    "dotnetcore3.1",
    "dotnet6",
    "ruby2.5",
    "ruby2.7",
    "go1.x",
];

/// What this box and AWS Lambda make of a runtime name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// This box runs it.
    Served,
    /// AWS Lambda runs it; this box does not.
    NotServed,
    /// AWS Lambda retired it; nothing runs it.
    Retired,
    /// Not a runtime AWS Lambda lists.
    Unknown,
}

pub fn support(runtime: &str) -> Support {
    if served().any(|name| name == runtime) {
        Support::Served
    } else if NOT_SERVED.contains(&runtime) {
        Support::NotServed
    } else if RETIRED.contains(&runtime) {
        Support::Retired
    } else {
        Support::Unknown
    }
}

/// Every runtime this box runs, by name.
pub fn served() -> impl Iterator<Item = String> {
    let python = PYTHON_MINORS.map(|minor| format!("python3.{minor}"));
    let node = NODE_MAJORS
        .filter(|major| major % 2 == 0)
        .map(|major| format!("nodejs{major}.x"));
    python
        .chain(node)
        .chain(PROVIDED.iter().map(|name| name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtimes_are_classified() {
        for served in [
            "python3.9",
            "python3.14",
            "nodejs18.x",
            "nodejs24.x",
            "provided.al2",
        ] {
            assert_eq!(support(served), Support::Served, "{served}");
        }
        assert_eq!(support("java21"), Support::NotServed);
        assert_eq!(support("python2.7"), Support::Retired);
        assert_eq!(support("go1.x"), Support::Retired);
        for unknown in ["python9.99", "nodejs21.x", "python3", "Python3.12", ""] {
            assert_eq!(support(unknown), Support::Unknown, "{unknown}");
        }
    }

    #[test]
    fn the_lists_do_not_overlap() {
        for name in served() {
            assert!(!NOT_SERVED.contains(&name.as_str()) && !RETIRED.contains(&name.as_str()));
        }
        assert!(NOT_SERVED.iter().all(|name| !RETIRED.contains(name)));
    }
}
