//! `esb s3 serve` on its own, driven by boto3 with SigV4: a bucket, an object written and
//! read back (also through a presigned URL), and the data still there after a restart.

mod support;

use esb_testkit::free_port;
use support::services::start;

fn boto3(port: u16, script: &str) -> String {
    support::services::python(
        &format!(
            "import boto3, urllib.request\nfrom botocore.config import Config\ns3 = boto3.client('s3', endpoint_url='http://127.0.0.1:{port}', \
             region_name='us-east-1', aws_access_key_id='esb', aws_secret_access_key='esb-local-secret', \
             config=Config(s3={{'addressing_style': 'path'}}))\n{script}"
        ),
        &[],
    )
}

#[test]
fn serve_with_boto3_and_keep_data_across_restarts() {
    let data = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    {
        let _server = start("s3", data.path(), port);
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
    let _server = start("s3", data.path(), port);
    let out = boto3(
        port,
        "print([o['Key'] for o in s3.list_objects_v2(Bucket='photos')['Contents']])",
    );
    assert_eq!(out.trim(), "['a/b.txt']", "the object survives a restart");
}
