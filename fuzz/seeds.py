#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target into fuzz/corpus/<target>/ (docs/fuzzing.md).

The seeds are taken from the tests: the templates of the examples and test fixtures and the
template literals of esb-template's tests, the function outputs of esb-gateway's response
tests, the requests of the gateway, Runtime API, DynamoDB, S3 and SigV4 tests rewritten in
each target's input format, and a few small intrinsic-heavy templates of the AWS SAM
translator corpus (../shared/corpus/sam-translator, Apache-2.0) when it is there.

Deterministic: rerunning it rewrites the same files, and keeps the reproducers of fixed
crashes (`regression-*`). Run from anywhere:
    python3 fuzz/seeds.py
"""

import json
import os
import re
import sys

FUZZ = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(FUZZ)
CORPUS = os.path.join(FUZZ, "corpus")
SAM_TRANSLATOR = os.path.join(ROOT, "..", "shared", "corpus", "sam-translator", "input")
SEPARATOR = "\n###\n"


def write(target, name, data):
    directory = os.path.join(CORPUS, target)
    os.makedirs(directory, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def raw_literals(path):
    """The r#"…"# and br#"…"# string literals of a Rust file."""
    return re.findall(r'b?r#"(.*?)"#', read(path), re.S)


def http(method, target, headers=(), body=""):
    head = [f"{method} {target} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers]
    return "\r\n".join(head) + "\r\n\r\n" + body


def with_length(method, target, headers=(), body=""):
    return http(method, target, list(headers) + [("Content-Length", str(len(body.encode())))], body)


# ---- template: YAML and JSON templates -------------------------------------------------------
def templates():
    for path in [
        "examples/hello-python/template.yaml",
        "examples/hello-node/template.yaml",
        "examples/hello-rust/template.yaml",
        "crates/esb-cli/tests/fixtures/gateway-rest/template.yaml",
        "crates/esb-cli/tests/fixtures/gateway-http-api/template.yaml",
        "crates/esb-cli/tests/fixtures/gateway-errors/template.yaml",
        "crates/esb-cli/tests/fixtures/gateway-breaker/template.yaml",
        "crates/esb-cli/tests/fixtures/gateway-powertools/template.yaml",
    ]:
        name = path.replace("/", "_").replace("crates_esb-cli_tests_fixtures_", "")
        write("template", name, read(path))
    for source in ["crates/esb-template/tests/fuzz.rs", "crates/esb-template/src/sam/tests.rs"]:
        stem = os.path.splitext(os.path.basename(source))[0]
        for i, text in enumerate(raw_literals(source)):
            if "Resources" in text:
                write("template", f"{stem}_{i}.yaml", text)
    # The same model as JSON, which the loader reads when the text starts with `{`.
    write("template", "json_intrinsics.json", json.dumps({
        "Parameters": {"Stage": {"Type": "String", "Default": "dev"}},
        "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}},
        "Resources": {
            "Fn": {"Type": "AWS::Serverless::Function", "Properties": {
                "CodeUri": "src/", "Handler": "app.handler", "Runtime": "python3.12",
                "Environment": {"Variables": {
                    "T": {"Fn::GetAtt": ["Table", "Arn"]},
                    "S": {"Fn::Sub": ["${AWS::StackName}-${X}", {"X": {"Ref": "Stage"}}]},
                    "I": {"Fn::If": ["IsProd", "a", {"Ref": "AWS::NoValue"}]},
                    "J": {"Fn::Join": ["-", {"Fn::Split": [",", "a,b"]}]},
                    "B": {"Fn::Base64": "x"},
                    "C": {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
                }}}},
            "Table": {"Type": "AWS::Serverless::SimpleTable"},
        },
    }, indent=1))
    if os.path.isdir(SAM_TRANSLATOR):
        picked = []
        for name in sorted(os.listdir(SAM_TRANSLATOR)):
            path = os.path.join(SAM_TRANSLATOR, name)
            with open(path, encoding="utf-8") as f:
                text = f.read()
            if name.endswith(".yaml") and 600 <= len(text) <= 2500 and re.search(
                r"!Sub|!GetAtt|!If|!FindInMap|!Select|Fn::|Conditions:|Globals:", text
            ):
                picked.append((name, text))
        # Every tenth of them: a spread of features, a small corpus.
        for name, text in picked[::10]:
            write("template", "sam-translator_" + name, text)


# ---- gateway_response: function outputs ------------------------------------------------------
def gateway_responses():
    outputs = [t for t in raw_literals("crates/esb-gateway/tests/response.rs") if "{" in t]
    outputs += ['"just a string"', "[1, 2]", "not json", '{"no": "statusCode"}']
    for i, text in enumerate(outputs):
        # Byte-string escapes in the test source (\n inside br#""# stays literal).
        write("gateway_response", f"response_{i:02}.json", text)


# ---- gateway_event: client requests ----------------------------------------------------------
def gateway_events():
    requests = {
        "rest_path_parameters": http("GET", "/Prod/users/u%201/orders/o2?a=1&a=2&b=x%20y&flag", [
            ("Host", "localhost:8443"), ("User-Agent", "curl/8"), ("X-Multi", "one"),
            ("X-Multi", "two")]),
        "rest_binary_body": http("POST", "/Prod/files/a/b/c.png", [
            ("Host", "localhost"), ("Content-Type", "image/png"), ("Accept", "image/png")],
            "\x89PNG\r\n\x1a\n"),
        "rest_validated_post": with_length("POST", "/items?q=1", [
            ("Content-Type", "application/json"), ("X-Token", "t")],
            '{"name": "abc", "count": 3, "tags": ["x"], "kind": "a"}'),
        "rest_base_path": http("GET", "/v1/items/special", [("Host", "api.example.com")]),
        "http_api_cookies": http("POST", "/hello/world?x=1&x=2", [
            ("Host", "localhost"), ("Cookie", "a=1; b=2"), ("Cookie", "c=3"),
            ("Content-Type", "application/json; charset=utf-8")], '{"hi": true}'),
        "http_api_default": http("PATCH", "/anything/else/%E2%82%AC", [("Host", "localhost")]),
        "cors_preflight": http("OPTIONS", "/items", [
            ("Origin", "https://example.com"), ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "content-type, x-api-key")]),
        "invoke_api": http(
            "POST",
            "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Ahello/invocations?Qualifier=live",
            [("X-Amz-Invocation-Type", "RequestResponse")], '{"a": 1}'),
        "invoke_stream_api": http(
            "POST", "/2021-11-15/functions/hello:3/response-streaming-invocations", [], "{}"),
    }
    for name, text in requests.items():
        write("gateway_event", name, text)


# ---- runtime_api: one worker connection ------------------------------------------------------
def runtime_api():
    next_ = http("GET", "/2018-06-01/runtime/invocation/next", [("Host", "127.0.0.1")])
    respond = lambda i, body: with_length(
        "POST", f"/2018-06-01/runtime/invocation/fuzz-{i}/response",
        [("Content-Type", "application/json")], body)
    error = with_length(
        "POST", "/2018-06-01/runtime/invocation/fuzz-2/error",
        [("Lambda-Runtime-Function-Error-Type", "Unhandled")],
        '{"errorMessage":"boom","errorType":"Exception","stackTrace":[]}')
    streamed = ("POST /2018-06-01/runtime/invocation/fuzz-1/response HTTP/1.1\r\n"
                "Lambda-Runtime-Function-Response-Mode: streaming\r\n"
                "Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"
                "Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n"
                "\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n"
                "Lambda-Runtime-Function-Error-Type: Runtime.StreamError\r\n"
                "Lambda-Runtime-Function-Error-Body: eyJlcnJvck1lc3NhZ2UiOiJicm9rZSJ9\r\n\r\n")
    extension = lambda path, headers=(), body="": with_length(
        "POST", f"/2020-01-01/extension/{path}", headers, body)
    seeds = {
        "response": next_ + respond(1, '{"statusCode":200}') + next_ + respond(2, "[]"),
        "error": next_ + respond(1, "{}") + next_ + error,
        "streamed": next_ + streamed,
        "answered_twice": next_ + respond(1, "1") + respond(1, "2"),
        "unknown_id": respond(7, "{}") + next_,
        "init_error": with_length(
            "POST", "/2018-06-01/runtime/init/error",
            [("Lambda-Runtime-Function-Error-Type", "Runtime.ImportModuleError")],
            '{"errorMessage":"no module","errorType":"Runtime.ImportModuleError"}'),
        "extensions": extension("register", [("Lambda-Extension-Name", "second")],
                                '{"events":["INVOKE"]}')
        + http("GET", "/2020-01-01/extension/event/next",
               [("Lambda-Extension-Identifier", "{ext-id}")])
        + next_ + respond(1, "{}"),
        "extension_errors": extension(
            "init/error", [("Lambda-Extension-Identifier", "{ext-id}"),
                           ("Lambda-Extension-Function-Error-Type", "Extension.Crash")],
            '{"errorMessage":"x"}')
        + extension("exit/error", [("Lambda-Extension-Identifier", "{ext-id}")], "not json")
        + next_,
        "bad_register": extension("register", [("Lambda-Extension-Name", "x")],
                                  '{"events":["INVOKE","BOGUS"]}'),
    }
    for name, text in seeds.items():
        write("runtime_api", name, text)


# ---- dynamodb: `Operation {json}` lines ------------------------------------------------------
def dynamodb():
    def line(operation, body):
        return operation + " " + json.dumps(body, separators=(",", ":"))
    key = lambda pk, sk: {"pk": {"S": pk}, "sk": {"N": str(sk)}}
    seeds = {
        "put_get": [
            line("PutItem", {"TableName": "tbl", "Item": {**key("a", 1),
                 "v": {"N": "12345678901234567890123456789012345678"}}}),
            line("GetItem", {"TableName": "tbl", "Key": key("a", 1), "ConsistentRead": True,
                             "ProjectionExpression": "#v, pk", "ExpressionAttributeNames": {"#v": "v"}}),
        ],
        "condition": [
            line("PutItem", {"TableName": "tbl", "Item": key("a", 1),
                             "ConditionExpression": "attribute_not_exists(pk)"}),
            line("PutItem", {"TableName": "tbl", "Item": key("a", 1),
                             "ConditionExpression": "attribute_not_exists(pk)"}),
        ],
        "query": [line("PutItem", {"TableName": "tbl", "Item": key("q", i)}) for i in range(1, 4)] + [
            line("Query", {"TableName": "tbl",
                           "KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b",
                           "FilterExpression": "size(pk) > :n OR begins_with(pk, :p)",
                           "ExpressionAttributeValues": {":p": {"S": "q"}, ":a": {"N": "2"},
                                                         ":b": {"N": "4"}, ":n": {"N": "0"}},
                           "ScanIndexForward": False, "Limit": 2}),
        ],
        "update": [
            line("PutItem", {"TableName": "tbl", "Item": {**key("u", 1), "l": {"L": [{"N": "1"}]},
                             "m": {"M": {"x": {"SS": ["a", "b"]}}}}}),
            line("UpdateItem", {"TableName": "tbl", "Key": key("u", 1),
                                "UpdateExpression": "SET #c = if_not_exists(#c, :z) + :one, l = list_append(l, :l), m.x.y = :s REMOVE l[0] ADD n :one DELETE m.x :ss",
                                "ExpressionAttributeNames": {"#c": "count"},
                                "ExpressionAttributeValues": {":z": {"N": "0"}, ":one": {"N": "1"},
                                                              ":l": {"L": [{"B": "AAE="}]},
                                                              ":s": {"BOOL": True}, ":ss": {"SS": ["a"]}},
                                "ReturnValues": "ALL_NEW"}),
        ],
        "scan_filter": [
            line("Scan", {"TableName": "tbl",
                          "FilterExpression": "(v = :v) AND NOT contains(v, :v) OR v IN (:v, :w) AND attribute_type(v, :t)",
                          "ExpressionAttributeValues": {":v": {"S": "x"}, ":w": {"NULL": True},
                                                        ":t": {"S": "S"}}}),
        ],
        "batch_transact": [
            line("BatchWriteItem", {"RequestItems": {"tbl": [
                {"PutRequest": {"Item": key("b", 1)}}, {"DeleteRequest": {"Key": key("b", 2)}}]}}),
            line("BatchGetItem", {"RequestItems": {"tbl": {"Keys": [key("b", 1)]}}}),
            line("TransactWriteItems", {"TransactItems": [
                {"Put": {"TableName": "tbl", "Item": key("t", 1)}},
                {"ConditionCheck": {"TableName": "tbl", "Key": key("b", 1),
                                    "ConditionExpression": "attribute_exists(pk)"}}]}),
            line("TransactGetItems", {"TransactItems": [{"Get": {"TableName": "tbl", "Key": key("t", 1)}}]}),
        ],
        "tables": [
            line("CreateTable", {"TableName": "gsi", "AttributeDefinitions": [
                {"AttributeName": "h", "AttributeType": "S"}, {"AttributeName": "g", "AttributeType": "B"}],
                "KeySchema": [{"AttributeName": "h", "KeyType": "HASH"}],
                "GlobalSecondaryIndexes": [{"IndexName": "byG", "KeySchema": [
                    {"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}],
                "BillingMode": "PAY_PER_REQUEST",
                "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}}),
            line("UpdateTimeToLive", {"TableName": "gsi", "TimeToLiveSpecification": {
                "Enabled": True, "AttributeName": "ttl"}}),
            line("DescribeTable", {"TableName": "gsi"}),
            line("ListTables", {"Limit": 1}),
            line("TagResource", {"ResourceArn": "arn:aws:dynamodb:us-east-1:000000000000:table/gsi",
                                 "Tags": [{"Key": "k", "Value": "v"}]}),
            line("DeleteTable", {"TableName": "gsi"}),
        ],
        "errors": [
            "ListTables {not json",
            line("Query", {"TableName": "tbl", "KeyConditionExpression": "pk = "}),
            line("GetItem", {"TableName": "nope", "Key": {"pk": {"S": "a"}}}),
            "DynamoDB_20120810.Frobnicate {}",
            "Other.ListTables {}",
            line("Scan", {"TableName": "tbl", "FilterExpression": "(" * 50 + "v = :v" + ")" * 50,
                          "ExpressionAttributeValues": {":v": {"S": "x"}}}),
        ],
    }
    for name, lines in seeds.items():
        write("dynamodb", name, "\n".join(lines) + "\n")


# ---- s3: requests separated by `###` lines ---------------------------------------------------
def s3():
    host = [("Host", "127.0.0.1:9000")]
    xml = lambda body: body
    complete = xml(
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
        "<ETag>\"etag\"</ETag></Part></CompleteMultipartUpload>")
    seeds = {
        "put_get_list": [
            http("PUT", "/bkt/dir/key.txt", host + [("Content-Type", "text/plain"),
                                                  ("x-amz-meta-a", "1")], "hello"),
            http("GET", "/bkt/dir/key.txt", host + [("Range", "bytes=1-3")]),
            http("GET", "/bkt?list-type=2&prefix=dir/&delimiter=/&max-keys=1", host),
            http("HEAD", "/bkt/k", host + [("If-None-Match", "\"5d41402abc4b2a76b9719d911017c592\"")]),
        ],
        "virtual_host": [
            http("PUT", "/dir/key.txt", [("Host", "bkt.s3.localhost:9000")], "hi"),
            http("GET", "/?versions", [("Host", "bkt.s3.localhost:9000")]),
        ],
        "multipart": [
            http("GET", "/bkt/mp?uploadId={upload-id}", host),
            http("GET", "/bkt?uploads", host),
            http("PUT", "/bkt/mp?partNumber=2&uploadId={upload-id}", host + [
                ("x-amz-copy-source", "/bkt/k"), ("x-amz-copy-source-range", "bytes=0-1")]),
            http("POST", "/bkt/mp?uploadId={upload-id}", host, complete),
        ],
        "abort": [http("DELETE", "/bkt/mp?uploadId={upload-id}", host)],
        "delete_objects": [
            http("POST", "/bkt?delete", host + [("Content-MD5", "")],
                 "<Delete><Quiet>false</Quiet><Object><Key>k</Key></Object>"
                 "<Object><Key>missing</Key><VersionId>null</VersionId></Object></Delete>"),
        ],
        "lifecycle": [
            http("PUT", "/bkt?lifecycle", host,
                 "<LifecycleConfiguration><Rule><ID>r1</ID><Filter><Prefix>k</Prefix></Filter>"
                 "<Status>Enabled</Status><Expiration><Days>1</Days></Expiration>"
                 "<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays>"
                 "</NoncurrentVersionExpiration>"
                 "<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation>"
                 "</AbortIncompleteMultipartUpload></Rule>"
                 "<Rule><ID>r2</ID><Filter><And><Prefix>a/</Prefix><Tag><Key>t</Key><Value>v</Value>"
                 "</Tag></And></Filter><Status>Enabled</Status><Expiration><Date>2020-01-01T00:00:00Z"
                 "</Date></Expiration></Rule></LifecycleConfiguration>"),
            http("GET", "/bkt?lifecycle", host),
        ],
        "versioning": [
            http("PUT", "/bkt?versioning", host,
                 "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"),
            http("PUT", "/bkt/k", host, "v2"),
            http("DELETE", "/bkt/k", host),
            http("GET", "/bkt?versions&prefix=k", host),
            http("PUT", "/bkt?versioning", host,
                 "<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>"),
        ],
        "tagging": [
            http("PUT", "/bkt?tagging", host,
                 "<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag></TagSet></Tagging>"),
            http("PUT", "/bkt/k?tagging", host,
                 "<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>"),
            http("PUT", "/bkt/t", host + [("x-amz-tagging", "a=1&b=2")], "x"),
            http("GET", "/bkt/k?tagging", host),
        ],
        "cors": [
            http("PUT", "/bkt?cors", host,
                 "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>"
                 "<AllowedMethod>GET</AllowedMethod><AllowedHeader>*</AllowedHeader>"
                 "<MaxAgeSeconds>60</MaxAgeSeconds></CORSRule></CORSConfiguration>"),
            http("GET", "/bkt?cors", host),
        ],
        "copy_and_checksums": [
            http("PUT", "/bkt/copy", host + [("x-amz-copy-source", "bkt/k"),
                                           ("x-amz-metadata-directive", "REPLACE")]),
            http("PUT", "/bkt/sum", host + [("x-amz-checksum-crc32", "NhCmhg=="),
                                          ("Content-MD5", "XUFAKrxLKna5cZ2REBfFkg==")], "hello"),
            http("PUT", "/bkt/chunked", host + [
                ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
                ("Content-Encoding", "aws-chunked"), ("x-amz-decoded-content-length", "5"),
                ("x-amz-trailer", "x-amz-checksum-crc32")],
                "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n"),
        ],
        "buckets": [
            http("PUT", "/new-bucket", host,
                 "<CreateBucketConfiguration><LocationConstraint>us-east-1</LocationConstraint>"
                 "</CreateBucketConfiguration>"),
            http("GET", "/", host),
            http("GET", "/new-bucket?location", host),
            http("DELETE", "/bkt", host),
            http("DELETE", "/new-bucket", host),
        ],
    }
    for name, requests in seeds.items():
        write("s3", name, SEPARATOR.join(requests))


# ---- sigv4: one signed request ---------------------------------------------------------------
def sigv4():
    botocore = [("Content-Type", "application/x-amz-json-1.0"), ("Host", "127.0.0.1:8001"),
                ("X-Amz-Target", "DynamoDB_20120810.ListTables")]
    seeds = {
        # The AWS SigV4 documentation's example (IAM ListUsers).
        "aws_documentation": http("GET", "/?Version=2010-05-08&Action=ListUsers", [
            ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
            ("Host", "iam.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/"
             "aws4_request, SignedHeaders=content-type;host;x-amz-date, "
             "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7")]),
        # Signed by botocore with temporary credentials (crates/esb-dynamodb/src/sigv4.rs tests).
        "botocore_header": http("POST", "/", botocore + [
            ("X-Amz-Date", "20261123T143507Z"),
            ("X-Amz-Security-Token", "FQoGZXIvYXdzEXAMPLE+token/with=chars"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20261123/us-east-1/dynamodb/"
             "aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;"
             "x-amz-target, Signature=6487c901ac2ff5d0d84c13962d276c46a079b8ead41bc3e9e891962276d82483")],
            '{"TableName":"t"}'),
        "botocore_presigned": http(
            "POST",
            "/?TableName=t&X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=ASIAEXAMPLE%2F20261123%2Fus-east-1%2Fdynamodb%2Faws4_request"
            "&X-Amz-Date=20261123T143507Z&X-Amz-Expires=300"
            "&X-Amz-SignedHeaders=content-type%3Bhost%3Bx-amz-target"
            "&X-Amz-Security-Token=FQoGZXIvYXdzEXAMPLE%2Btoken%2Fwith%3Dchars"
            "&X-Amz-Signature=8ea69afc4de99815e822043eecd9f0b4e209649e0c48366ca7300f1fb8772da9",
            botocore),
        "unsigned_payload": http("POST", "/", botocore + [
            ("X-Amz-Date", "20261123T143507Z"), ("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261123/us-east-1/dynamodb/"
             "aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=00ff")],
            "{}"),
        "malformed": http("POST", "/", botocore + [
            ("X-Amz-Date", "20150830T123600Z"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=a/b/c/d/aws4_request/x, "
             "SignedHeaders=, Signature=zz")]),
    }
    for name, text in seeds.items():
        write("sigv4", name, text)


def main():
    for target in ["template", "gateway_response", "gateway_event", "runtime_api", "dynamodb",
                   "s3", "sigv4"]:
        # Reproducers of fixed crashes (regression-*) are kept; the rest is rewritten.
        directory = os.path.join(CORPUS, target)
        for name in os.listdir(directory) if os.path.isdir(directory) else []:
            if not name.startswith("regression-"):
                os.remove(os.path.join(directory, name))
    templates()
    gateway_responses()
    gateway_events()
    runtime_api()
    dynamodb()
    s3()
    sigv4()
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(CORPUS) for f in fs)
    count = sum(len(fs) for _, _, fs in os.walk(CORPUS))
    print(f"{count} seeds, {total} bytes in {os.path.relpath(CORPUS)}", file=sys.stderr)


if __name__ == "__main__":
    main()
