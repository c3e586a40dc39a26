"""VisitsFunction: counts visits per name in DynamoDB and keeps the last visit in S3.

POST /visits/{name} records a visit; GET /visits/{name} reads the count back. boto3 comes
with the runtime, as on AWS; on esb, AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_S3 point
it at the box, so the code is the same in both places.
"""

import json
import os
import time

import boto3

TABLE = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
S3 = boto3.client("s3")
BUCKET = os.environ["BUCKET_NAME"]


def handler(event, context):
    name = (event.get("pathParameters") or {}).get("name", "world")
    if event.get("httpMethod") == "POST":
        item = TABLE.update_item(
            Key={"name": name},
            UpdateExpression="ADD visits :one",
            ExpressionAttributeValues={":one": 1},
            ReturnValues="ALL_NEW",
        )["Attributes"]
        S3.put_object(
            Bucket=BUCKET,
            Key=f"visits/{name}.json",
            Body=json.dumps({"name": name, "at": int(time.time())}).encode(),
            ContentType="application/json",
        )
    else:
        item = TABLE.get_item(Key={"name": name}).get("Item", {"visits": 0})
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"name": name, "visits": int(item["visits"])}),
    }
