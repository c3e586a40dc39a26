//! `esb dynamodb serve` on its own, driven by boto3 with SigV4: a table, an item written and
//! read back, and the data still there after a restart.

mod support;

use esb_testkit::free_port;
use support::services::start;

fn boto3(port: u16, script: &str) -> String {
    support::services::python(
        &format!(
            "import boto3\nddb = boto3.client('dynamodb', endpoint_url='http://127.0.0.1:{port}', \
             region_name='us-east-1', aws_access_key_id='esb', aws_secret_access_key='esb-local-secret')\n{script}"
        ),
        &[],
    )
}

#[test]
fn serve_with_boto3_and_keep_data_across_restarts() {
    let data = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    {
        let _server = start("dynamodb", data.path(), port);
        let out = boto3(
            port,
            "ddb.create_table(TableName='things', KeySchema=[{'AttributeName':'id','KeyType':'HASH'}],\n\
             AttributeDefinitions=[{'AttributeName':'id','AttributeType':'S'}], BillingMode='PAY_PER_REQUEST')\n\
             ddb.put_item(TableName='things', Item={'id':{'S':'a'},'n':{'N':'12345678901234567890123456789012345678'}})\n\
             print(ddb.get_item(TableName='things', Key={'id':{'S':'a'}})['Item']['n']['N'])",
        );
        assert_eq!(out.trim(), "12345678901234567890123456789012345678");
    }
    let _server = start("dynamodb", data.path(), port);
    let out = boto3(
        port,
        "print(ddb.get_item(TableName='things', Key={'id':{'S':'a'}})['Item']['id']['S'])",
    );
    assert_eq!(out.trim(), "a", "the item survives a restart");
}
