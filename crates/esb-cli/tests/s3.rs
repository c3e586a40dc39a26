//! `esb s3 serve` on its own, driven by boto3 with SigV4: a bucket, an object written and
//! read back (also through a presigned URL), and the data still there after a restart.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn start(data_dir: &Path, port: u16) -> Server {
    let child = Command::new(assert_cmd::cargo::cargo_bin("esb"))
        .args(["s3", "serve", "--port", &port.to_string(), "--data-dir"])
        .arg(data_dir)
        .env("AWS_ACCESS_KEY_ID", "esb")
        .env("AWS_SECRET_ACCESS_KEY", "esb-local-secret")
        .spawn()
        .expect("esb s3 serve");
    let server = Server(child);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(Instant::now() < deadline, "esb s3 serve did not listen");
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

fn python() -> PathBuf {
    let home = std::env::var_os("HOME").map_or_else(std::env::temp_dir, PathBuf::from);
    std::fs::read_dir(home.join(".esb/runtimes"))
        .expect("an esb Python environment (run the esb-agent tests first)")
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin/python3"))
        .find(|p| p.exists())
        .expect("an esb Python environment")
}

fn boto3(port: u16, script: &str) -> String {
    let output = Command::new(python())
        .arg("-c")
        .arg(format!(
            "import boto3, urllib.request\nfrom botocore.config import Config\ns3 = boto3.client('s3', endpoint_url='http://127.0.0.1:{port}', \
             region_name='us-east-1', aws_access_key_id='esb', aws_secret_access_key='esb-local-secret', \
             config=Config(s3={{'addressing_style': 'path'}}))\n{script}"
        ))
        .output()
        .expect("python");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn serve_with_boto3_and_keep_data_across_restarts() {
    let data = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    {
        let _server = start(data.path(), port);
        let out = boto3(
            port,
            "s3.create_bucket(Bucket='photos')\n\
             s3.put_object(Bucket='photos', Key='a/b.txt', Body=b'hello', ContentType='text/plain')\n\
             print(s3.get_object(Bucket='photos', Key='a/b.txt')['Body'].read().decode())\n\
             url = s3.generate_presigned_url('get_object', Params={'Bucket': 'photos', 'Key': 'a/b.txt'})\n\
             print(urllib.request.urlopen(url, timeout=10).read().decode())",
        );
        assert_eq!(
            out.split_whitespace().collect::<Vec<_>>(),
            ["hello", "hello"]
        );
    }
    let _server = start(data.path(), port);
    let out = boto3(
        port,
        "print([o['Key'] for o in s3.list_objects_v2(Bucket='photos')['Contents']])",
    );
    assert_eq!(out.trim(), "['a/b.txt']", "the object survives a restart");
}
