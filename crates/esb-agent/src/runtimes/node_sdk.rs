//! The AWS SDK for JavaScript v3, preinstalled as AWS's `nodejs18.x`+ runtimes ship it, so a
//! function can `import { DynamoDBClient } from "@aws-sdk/client-dynamodb"` without bundling
//! it. Installed once under the cache directory (npm), pinned, and searched after the
//! function's own modules and its layers, as Lambda's `/var/runtime/node_modules` is.
//!
//! Lambda's Node.js 18+ runtimes also search `NODE_PATH` for ES module imports, which Node.js
//! itself does not; a small resolve hook of ours (registered with `node --import`) does the same
//! here: a bare specifier that Node.js cannot find from the importing file is looked up in each
//! `NODE_PATH` directory in turn.

use std::path::{Path, PathBuf};

use super::cache::prepare;
use super::node::npm_install;

/// The packages, pinned. AWS's runtimes ship every client; these are the ones functions use
/// most. The directory name changes with the list (see [`sdk_dir_name`]).
pub const NODE_SDK: [&str; 16] = [
    "@aws-sdk/client-s3@3.1178.0",
    "@aws-sdk/client-dynamodb@3.1178.0",
    "@aws-sdk/lib-dynamodb@3.1178.0",
    "@aws-sdk/util-dynamodb@3.996.9",
    "@aws-sdk/client-lambda@3.1178.0",
    "@aws-sdk/client-sqs@3.1178.0",
    "@aws-sdk/client-sns@3.1178.0",
    "@aws-sdk/client-ssm@3.1178.0",
    "@aws-sdk/client-secrets-manager@3.1178.0",
    "@aws-sdk/client-sts@3.1178.0",
    "@aws-sdk/client-cloudwatch-logs@3.1178.0",
    "@aws-sdk/client-eventbridge@3.1178.0",
    "@aws-sdk/client-kinesis@3.1143.0",
    "@aws-sdk/s3-request-presigner@3.1178.0",
    "@aws-sdk/lib-storage@3.1178.0",
    "@aws-sdk/credential-providers@3.1178.0",
];

/// Registers the resolve hook (the file `node --import` loads).
const REGISTER: &str = "esm-node-path.mjs";
const REGISTER_SOURCE: &str = r#"// Written by esb: lets ES module imports search NODE_PATH, as Lambda's Node.js runtimes do.
import { register } from "node:module";
register("./esm-node-path-hooks.mjs", import.meta.url);
"#;
const HOOKS_SOURCE: &str = r#"// Written by esb: a bare specifier Node.js cannot resolve from the importing module is
// resolved as if imported from a file inside each NODE_PATH directory, in order.
import { pathToFileURL } from "node:url";
import { join } from "node:path";

const dirs = (process.env.NODE_PATH || "").split(":").filter(Boolean);

export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    const bare = !/^(\.|\/|[a-zA-Z][a-zA-Z0-9+.-]*:)/.test(specifier);
    if (!bare || error?.code !== "ERR_MODULE_NOT_FOUND") throw error;
    for (const dir of dirs) {
      const parentURL = pathToFileURL(join(dir, "esb-node-path-parent.mjs")).href;
      try {
        return await nextResolve(specifier, { ...context, parentURL });
      } catch {}
    }
    throw error;
  }
}
"#;

/// The SDK installed, and the hook.
#[derive(Debug, Clone)]
pub struct NodeSdk {
    /// The directory holding the packages (goes on `NODE_PATH`).
    pub node_modules: PathBuf,
    /// The file to load with `node --import`.
    pub register: PathBuf,
    /// The directory to show a sandboxed worker.
    pub dir: PathBuf,
}

/// `nodejs-aws-sdk-<first version>-<hash of the list>`: a new list is a new directory.
fn sdk_dir_name() -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in NODE_SDK.iter().flat_map(|p| p.bytes().chain([0])) {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("nodejs-aws-sdk-{hash:016x}")
}

/// The SDK under `cache_dir`, installed on first use (blocking: npm runs, ~5 s and ~50 MB).
pub(super) fn node_sdk(cache_dir: &Path) -> Result<NodeSdk, String> {
    let dir = cache_dir.join(sdk_dir_name());
    prepare(&dir, REGISTER, install)?;
    Ok(NodeSdk {
        node_modules: dir.join("node_modules"),
        register: dir.join(REGISTER),
        dir,
    })
}

fn install(staging: &Path) -> Result<(), String> {
    tracing::info!("installing the AWS SDK for JavaScript v3 (once)");
    npm_install(staging, &NODE_SDK)?;
    std::fs::write(staging.join("esm-node-path-hooks.mjs"), HOOKS_SOURCE)
        .and_then(|()| std::fs::write(staging.join(REGISTER), REGISTER_SOURCE))
        .map_err(|e| format!("cannot write the ES module hook: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_directory_name_follows_the_package_list() {
        let name = sdk_dir_name();
        assert!(name.starts_with("nodejs-aws-sdk-"), "{name}");
        assert_eq!(name, sdk_dir_name(), "stable");
        assert!(
            NODE_SDK
                .iter()
                .all(|p| p.starts_with("@aws-sdk/") && p.contains("@3."))
        );
    }
}
