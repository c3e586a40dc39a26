"""Drive the embedded DynamoDB with boto3 over HTTP (endpoint from argv[1])."""
import sys

import boto3
from botocore.exceptions import ClientError

endpoint = sys.argv[1]
ddb = boto3.client(
    "dynamodb",
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id="AKIDEXAMPLE",
    aws_secret_access_key="secret",
)

ddb.create_table(
    TableName="orders",
    AttributeDefinitions=[
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "N"},
    ],
    KeySchema=[
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ],
    BillingMode="PAY_PER_REQUEST",
)
assert "orders" in ddb.list_tables()["TableNames"]

for sk in range(1, 6):
    ddb.put_item(
        TableName="orders",
        Item={"pk": {"S": "u1"}, "sk": {"N": str(sk)}, "amount": {"N": str(sk * 10)}},
    )

got = ddb.get_item(TableName="orders", Key={"pk": {"S": "u1"}, "sk": {"N": "3"}})
assert got["Item"]["amount"] == {"N": "30"}, got

q = ddb.query(
    TableName="orders",
    KeyConditionExpression="pk = :p AND sk >= :s",
    FilterExpression="amount > :t",
    ExpressionAttributeValues={":p": {"S": "u1"}, ":s": {"N": "2"}, ":t": {"N": "30"}},
)
assert [i["sk"]["N"] for i in q["Items"]] == ["4", "5"], q
assert q["ScannedCount"] == 4, q

try:
    ddb.put_item(
        TableName="orders",
        Item={"pk": {"S": "u1"}, "sk": {"N": "1"}},
        ConditionExpression="attribute_not_exists(pk)",
    )
    raise AssertionError("condition should fail")
except ClientError as e:
    assert e.response["Error"]["Code"] == "ConditionalCheckFailedException", e.response

try:
    ddb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "orders", "Item": {"pk": {"S": "u2"}, "sk": {"N": "1"}}}},
            {
                "ConditionCheck": {
                    "TableName": "orders",
                    "Key": {"pk": {"S": "u1"}, "sk": {"N": "1"}},
                    "ConditionExpression": "amount > :big",
                    "ExpressionAttributeValues": {":big": {"N": "1000"}},
                }
            },
        ]
    )
    raise AssertionError("transaction should be cancelled")
except ClientError as e:
    assert e.response["Error"]["Code"] == "TransactionCanceledException", e.response
    reasons = [r["Code"] for r in e.response["CancellationReasons"]]
    assert reasons == ["None", "ConditionalCheckFailed"], reasons

# The cancelled transaction wrote nothing.
assert "Item" not in ddb.get_item(TableName="orders", Key={"pk": {"S": "u2"}, "sk": {"N": "1"}})

try:
    ddb.describe_table(TableName="missing")
    raise AssertionError("missing table")
except ClientError as e:
    assert e.response["Error"]["Code"] == "ResourceNotFoundException", e.response

# SigV4: a wrong secret and an unknown access key are refused.
for key, secret, code in [
    ("AKIDEXAMPLE", "wrong", "InvalidSignatureException"),
    ("UNKNOWN", "secret", "UnrecognizedClientException"),
]:
    bad = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
    )
    try:
        bad.list_tables()
        raise AssertionError("unsigned request accepted")
    except ClientError as e:
        assert e.response["Error"]["Code"] == code, e.response

print("BOTO3 OK")
