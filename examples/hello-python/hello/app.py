"""HelloFunction: answers GET /hello and GET /hello/{name} through API Gateway."""

import json
import os

import inflection  # third-party, from requirements.txt
from greetings import greet  # from the SharedLayer (/opt/python)


def handler(event, context):
    """Return an API Gateway (REST, payload 1.0) proxy response."""
    params = event.get("pathParameters") or {}
    raw_name = params.get("name")
    # "ada_lovelace" or "ada-lovelace" -> "Ada Lovelace"
    name = inflection.titleize(inflection.underscore(raw_name)) if raw_name else None

    body = {
        "message": greet(os.environ.get("GREETING", "Hello"), name),
        "path": event.get("path"),
        "stage": os.environ.get("STAGE", "dev"),
        "table": os.environ.get("TABLE_NAME"),
    }
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
    }
