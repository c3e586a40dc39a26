//! Real-socket conformance with the AWS CLI (`aws s3` and `aws s3api`) against the server
//! started in process. The CLI is the one `scripts/test-tools.sh` installs under
//! `${ESB_TEST_TOOLS:-$HOME/.esb/test-tools}/bin/aws`; without it the test fails and says so.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::TestServer;

/// Runs the CLI against `server` with only the environment given here: static
/// credentials, and empty config files so the host's profiles cannot leak in.
struct Cli {
    aws: PathBuf,
    endpoint: String,
    home: tempfile::TempDir,
}

impl Cli {
    fn new(server: &TestServer) -> Self {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(home.path().join("config"), "").unwrap();
        std::fs::write(home.path().join("credentials"), "").unwrap();
        Self {
            aws: esb_testkit::test_tool("aws"),
            endpoint: server.endpoint.clone(),
            home,
        }
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new(&self.aws)
            .args(args)
            .args(["--endpoint-url", &self.endpoint])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("AWS_ACCESS_KEY_ID", support::ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", support::SECRET_KEY)
            .env("AWS_DEFAULT_REGION", support::REGION)
            .env("AWS_CONFIG_FILE", self.home.path().join("config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.home.path().join("credentials"),
            )
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_PAGER", "")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "aws {args:?} failed:\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.extend(["--output", "json"]);
        serde_json::from_str(&self.run(&all)).unwrap()
    }
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 ^ seed).collect()
}

fn write(path: &Path, data: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, data).unwrap();
}

#[test]
fn aws_cli_s3_and_s3api() {
    let server = TestServer::start();
    let cli = Cli::new(&server);
    let work = tempfile::tempdir().unwrap();
    let w = work.path();

    cli.run(&["s3", "mb", "s3://cli-bucket"]);
    assert!(cli.run(&["s3", "ls"]).contains("cli-bucket"));

    // Up and down, small and multipart (20 MB is over the CLI's 8 MB threshold).
    let small = pattern(1000, 1);
    let big = pattern(20 * 1024 * 1024 + 123, 2);
    write(&w.join("small.txt"), &small);
    write(&w.join("big.bin"), &big);
    let up = |name: &str, key: &str| {
        cli.run(&[
            "s3",
            "cp",
            w.join(name).to_str().unwrap(),
            &format!("s3://cli-bucket/{key}"),
        ]);
    };
    up("small.txt", "dir/small.txt");
    up("big.bin", "big.bin");
    let head = cli.json(&[
        "s3api",
        "head-object",
        "--bucket",
        "cli-bucket",
        "--key",
        "big.bin",
    ]);
    let etag = head["ETag"].as_str().unwrap();
    assert!(
        etag.ends_with("-3\""),
        "multipart ETag expected, got {etag}"
    );
    assert_eq!(head["ContentLength"].as_u64(), Some(big.len() as u64));
    for (key, data) in [("big.bin", &big), ("dir/small.txt", &small)] {
        let down = w.join("down").join(key);
        cli.run(&[
            "s3",
            "cp",
            &format!("s3://cli-bucket/{key}"),
            down.to_str().unwrap(),
        ]);
        assert!(std::fs::read(&down).unwrap() == *data, "{key} differs");
    }

    let listing = cli.run(&["s3", "ls", "s3://cli-bucket/"]);
    assert!(listing.contains("PRE dir/"), "{listing}");
    assert!(listing.contains("big.bin"), "{listing}");
    let recursive = cli.run(&["s3", "ls", "--recursive", "s3://cli-bucket/"]);
    assert!(recursive.contains("dir/small.txt"), "{recursive}");

    // Sync a tree up, then into an empty directory, and compare.
    let tree = w.join("tree");
    for (i, name) in ["a.txt", "sub/b.txt", "sub/deeper/c.bin"]
        .iter()
        .enumerate()
    {
        write(&tree.join(name), &pattern(100 + i * 5000, 3));
    }
    cli.run(&[
        "s3",
        "sync",
        tree.to_str().unwrap(),
        "s3://cli-bucket/synced/",
    ]);
    let back = w.join("back");
    cli.run(&[
        "s3",
        "sync",
        "s3://cli-bucket/synced/",
        back.to_str().unwrap(),
    ]);
    for name in ["a.txt", "sub/b.txt", "sub/deeper/c.bin"] {
        assert_eq!(
            std::fs::read(tree.join(name)).unwrap(),
            std::fs::read(back.join(name)).unwrap(),
            "{name}"
        );
    }
    // A second sync has nothing to do.
    let again = cli.run(&[
        "s3",
        "sync",
        tree.to_str().unwrap(),
        "s3://cli-bucket/synced/",
    ]);
    assert!(!again.contains("upload:"), "{again}");

    cli.run(&["s3", "rm", "--recursive", "s3://cli-bucket/"]);
    let empty = cli.json(&["s3api", "list-objects-v2", "--bucket", "cli-bucket"]);
    assert!(empty.get("Contents").is_none(), "{empty}");

    // Versioning through s3api.
    cli.run(&[
        "s3api",
        "put-bucket-versioning",
        "--bucket",
        "cli-bucket",
        "--versioning-configuration",
        "Status=Enabled",
    ]);
    let status = cli.json(&["s3api", "get-bucket-versioning", "--bucket", "cli-bucket"]);
    assert_eq!(status["Status"], "Enabled");
    up("small.txt", "v.txt");
    up("small.txt", "v.txt");
    cli.run(&["s3", "rm", "s3://cli-bucket/v.txt"]);
    let versions = cli.json(&[
        "s3api",
        "list-object-versions",
        "--bucket",
        "cli-bucket",
        "--prefix",
        "v.txt",
    ]);
    assert_eq!(
        versions["Versions"].as_array().unwrap().len(),
        2,
        "{versions}"
    );
    assert_eq!(
        versions["DeleteMarkers"].as_array().unwrap().len(),
        1,
        "{versions}"
    );
}
