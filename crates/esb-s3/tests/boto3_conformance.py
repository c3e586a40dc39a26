"""Drives the embedded S3 server with boto3, as a user's code would.

Run by tests/boto3.rs with ESB_S3_ENDPOINT, ESB_S3_ACCESS_KEY and ESB_S3_SECRET_KEY set.
Exits non-zero with a message on the first behaviour that differs from S3.
"""

import base64
import datetime
import hashlib
import http.client
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import zlib

import boto3
import botocore.handlers
from botocore import UNSIGNED
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

endpoint = os.environ["ESB_S3_ENDPOINT"]
host = urllib.parse.urlsplit(endpoint).netloc
s3 = boto3.client(
    "s3",
    endpoint_url=endpoint,
    aws_access_key_id=os.environ["ESB_S3_ACCESS_KEY"],
    aws_secret_access_key=os.environ["ESB_S3_SECRET_KEY"],
    region_name="us-east-1",
    config=Config(s3={"addressing_style": "path"}, signature_version="s3v4", retries={"max_attempts": 1}),
)


def expect_error(code, status, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except ClientError as err:
        got = err.response["Error"]["Code"]
        got_status = err.response["ResponseMetadata"]["HTTPStatusCode"]
        assert (got, got_status) == (code, status), f"expected {code}/{status}, got {got}/{got_status}: {err}"
        return err
    raise AssertionError(f"expected {code}, call succeeded")


def client(region="us-east-1", signature_version="s3v4", **kwargs):
    return boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=os.environ["ESB_S3_ACCESS_KEY"],
        aws_secret_access_key=os.environ["ESB_S3_SECRET_KEY"], region_name=region,
        config=Config(s3={"addressing_style": "path"}, signature_version=signature_version,
                      retries={"max_attempts": 1}, **kwargs),
    )


B = "conformance"
s3.create_bucket(Bucket=B)
# Re-creating a bucket you own: 200 in us-east-1 (S3's legacy behaviour), 409 elsewhere.
s3.create_bucket(Bucket=B)
eu = client("eu-west-1")
eu.create_bucket(Bucket="conformance-eu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
err = expect_error("BucketAlreadyOwnedByYou", 409, eu.create_bucket, Bucket="conformance-eu",
                   CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
assert "you already own it" in err.response["Error"]["Message"], err.response
expect_error("BucketAlreadyOwnedByYou", 409, s3.create_bucket, Bucket="conformance-eu")
assert s3.get_bucket_location(Bucket="conformance-eu")["LocationConstraint"] == "eu-west-1"
assert s3.head_bucket(Bucket="conformance-eu")["BucketRegion"] == "eu-west-1"
# ListBuckets pages: MaxBuckets, Prefix, ContinuationToken.
for i in range(3):
    s3.create_bucket(Bucket=f"conformance-page-{i}")
page = s3.list_buckets(MaxBuckets=2, Prefix="conformance-page-")
assert [b["Name"] for b in page["Buckets"]] == ["conformance-page-0", "conformance-page-1"], page
assert page["Prefix"] == "conformance-page-" and page["ContinuationToken"], page
page = s3.list_buckets(MaxBuckets=2, Prefix="conformance-page-", ContinuationToken=page["ContinuationToken"])
assert [b["Name"] for b in page["Buckets"]] == ["conformance-page-2"] and "ContinuationToken" not in page, page
assert [b["Name"] for b in s3.list_buckets(Prefix="conformance-e")["Buckets"]] == ["conformance-eu"]
expect_error("InvalidArgument", 400, s3.list_buckets, MaxBuckets=10001)
expect_error("InvalidArgument", 400, s3.list_buckets, ContinuationToken="not a token!")
for i in range(3):
    s3.delete_bucket(Bucket=f"conformance-page-{i}")
expect_error("InvalidBucketName", 400, s3.create_bucket, Bucket="Bad_Name")
assert B in [b["Name"] for b in s3.list_buckets()["Buckets"]]
s3.head_bucket(Bucket=B)
expect_error("404", 404, s3.head_bucket, Bucket="missing-bucket")
assert s3.get_bucket_location(Bucket=B).get("LocationConstraint") in (None, "")

# Put / get / head with metadata and standard headers.
data = b"hello, esb s3\n" * 1000
put = s3.put_object(
    Bucket=B, Key="dir/hello.txt", Body=data, ContentType="text/plain",
    CacheControl="max-age=60", ContentDisposition="inline", Metadata={"Colour": "blue"},
)
md5 = hashlib.md5(data).hexdigest()
assert put["ETag"] == f'"{md5}"', put["ETag"]
got = s3.get_object(Bucket=B, Key="dir/hello.txt")
assert got["Body"].read() == data
assert got["ContentType"] == "text/plain" and got["CacheControl"] == "max-age=60"
assert got["Metadata"] == {"colour": "blue"}, got["Metadata"]
assert got["ETag"] == f'"{md5}"'
head = s3.head_object(Bucket=B, Key="dir/hello.txt")
assert head["ContentLength"] == len(data) and head["ContentDisposition"] == "inline"

# Odd keys round-trip.
for key in ["a/../b", "100%", "ünï/cødé 🚀", "sp ace+plus", "k" * 1024]:
    s3.put_object(Bucket=B, Key=key, Body=key.encode())
    assert s3.get_object(Bucket=B, Key=key)["Body"].read() == key.encode(), key
    s3.delete_object(Bucket=B, Key=key)

# Ranged GET.
r = s3.get_object(Bucket=B, Key="dir/hello.txt", Range="bytes=7-9")
assert r["ResponseMetadata"]["HTTPStatusCode"] == 206 and r["Body"].read() == data[7:10]
assert r["ContentRange"] == f"bytes 7-9/{len(data)}", r["ContentRange"]
r = s3.get_object(Bucket=B, Key="dir/hello.txt", Range="bytes=-5")
assert r["Body"].read() == data[-5:]
expect_error("InvalidRange", 416, s3.get_object, Bucket=B, Key="dir/hello.txt", Range=f"bytes={len(data)}-")

# Conditional requests.
expect_error("304", 304, s3.get_object, Bucket=B, Key="dir/hello.txt", IfNoneMatch=f'"{md5}"')
expect_error("PreconditionFailed", 412, s3.get_object, Bucket=B, Key="dir/hello.txt", IfMatch='"nope"')
assert s3.get_object(Bucket=B, Key="dir/hello.txt", IfMatch=f'"{md5}"')["Body"].read() == data
future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
expect_error("304", 304, s3.get_object, Bucket=B, Key="dir/hello.txt", IfModifiedSince=future)
err = expect_error("PreconditionFailed", 412, s3.put_object, Bucket=B, Key="dir/hello.txt", Body=b"x", IfNoneMatch="*")
assert err.response["Error"]["Message"] == "At least one of the pre-conditions you specified did not hold", err.response
s3.put_object(Bucket=B, Key="fresh", Body=b"x", IfNoneMatch="*")
# A 304 carries the object's ETag and Last-Modified (RFC 9110; S3 sends them).
for call in (s3.get_object, s3.head_object):
    err = expect_error("304", 304, call, Bucket=B, Key="dir/hello.txt", IfNoneMatch=f'"{md5}"')
    headers = err.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers.get("etag") == f'"{md5}"' and "last-modified" in headers, headers
# Conditional writes: If-Match on PUT (404 when there is no object), and both conditions on
# CompleteMultipartUpload.
fresh = s3.head_object(Bucket=B, Key="fresh")["ETag"]
expect_error("PreconditionFailed", 412, s3.put_object, Bucket=B, Key="fresh", Body=b"y", IfMatch='"0000"')
expect_error("NoSuchKey", 404, s3.put_object, Bucket=B, Key="never-was", Body=b"y", IfMatch=fresh)
s3.put_object(Bucket=B, Key="fresh", Body=b"x", IfMatch=fresh)


def conditional_complete(key, **condition):
    uid = s3.create_multipart_upload(Bucket=B, Key=key)["UploadId"]
    etag = s3.upload_part(Bucket=B, Key=key, UploadId=uid, PartNumber=1, Body=b"part")["ETag"]
    return lambda: s3.complete_multipart_upload(
        Bucket=B, Key=key, UploadId=uid, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
        **condition)


expect_error("PreconditionFailed", 412, conditional_complete("fresh", IfNoneMatch="*"))
expect_error("PreconditionFailed", 412, conditional_complete("fresh", IfMatch='"0000"'))
expect_error("NoSuchKey", 404, conditional_complete("never-was", IfMatch=fresh))
conditional_complete("fresh", IfMatch=fresh)()
assert s3.get_object(Bucket=B, Key="fresh")["Body"].read() == b"part"
conditional_complete("fresh-mp", IfNoneMatch="*")()
s3.delete_object(Bucket=B, Key="fresh-mp")
for upload in s3.list_multipart_uploads(Bucket=B).get("Uploads", []):
    s3.abort_multipart_upload(Bucket=B, Key=upload["Key"], UploadId=upload["UploadId"])

# Copy: metadata COPY and REPLACE.
c = s3.copy_object(Bucket=B, Key="copy.txt", CopySource={"Bucket": B, "Key": "dir/hello.txt"})
assert c["CopyObjectResult"]["ETag"] == f'"{md5}"'
h = s3.head_object(Bucket=B, Key="copy.txt")
assert h["Metadata"] == {"colour": "blue"} and h["ContentType"] == "text/plain"
s3.copy_object(
    Bucket=B, Key="copy.txt", CopySource={"Bucket": B, "Key": "copy.txt"},
    MetadataDirective="REPLACE", Metadata={"shape": "round"}, ContentType="application/x-test",
)
h = s3.head_object(Bucket=B, Key="copy.txt")
assert h["Metadata"] == {"shape": "round"} and h["ContentType"] == "application/x-test", h
expect_error("InvalidRequest", 400, s3.copy_object, Bucket=B, Key="copy.txt", CopySource={"Bucket": B, "Key": "copy.txt"})
expect_error("NoSuchKey", 404, s3.copy_object, Bucket=B, Key="x", CopySource={"Bucket": B, "Key": "missing"})

# Listing v2 with prefix, delimiter and pages; v1.
for k in ["list/a/1", "list/a/2", "list/b", "list/c/x/1", "list/d"]:
    s3.put_object(Bucket=B, Key=k, Body=b"1")
l = s3.list_objects_v2(Bucket=B, Prefix="list/", Delimiter="/")
assert [o["Key"] for o in l["Contents"]] == ["list/b", "list/d"], l
assert [p["Prefix"] for p in l["CommonPrefixes"]] == ["list/a/", "list/c/"], l
assert l["KeyCount"] == 4 and not l["IsTruncated"]
keys, token = [], None
while True:
    kw = {"ContinuationToken": token} if token else {}
    page = s3.list_objects_v2(Bucket=B, Prefix="list/", MaxKeys=2, **kw)
    keys += [o["Key"] for o in page.get("Contents", [])]
    if not page["IsTruncated"]:
        break
    token = page["NextContinuationToken"]
assert keys == ["list/a/1", "list/a/2", "list/b", "list/c/x/1", "list/d"], keys
l = s3.list_objects_v2(Bucket=B, Prefix="list/", StartAfter="list/b")
assert [o["Key"] for o in l["Contents"]] == ["list/c/x/1", "list/d"]
pages = s3.get_paginator("list_objects").paginate(Bucket=B, Prefix="list/", PaginationConfig={"PageSize": 2})
assert [o["Key"] for p in pages for o in p.get("Contents", [])] == keys
l1 = s3.list_objects(Bucket=B, Prefix="list/", Delimiter="/")
assert [p["Prefix"] for p in l1["CommonPrefixes"]] == ["list/a/", "list/c/"]

# Presigned GET through plain urllib; a tampered signature is refused.
url = s3.generate_presigned_url("get_object", Params={"Bucket": B, "Key": "dir/hello.txt"}, ExpiresIn=300)
with urllib.request.urlopen(url) as resp:
    assert resp.status == 200 and resp.read() == data
try:
    urllib.request.urlopen(url[:-4] + "0000")
    raise AssertionError("tampered presigned URL accepted")
except urllib.error.HTTPError as err:
    assert err.code == 403, err.code

put_url = s3.generate_presigned_url("put_object", Params={"Bucket": B, "Key": "presigned-put"}, ExpiresIn=300)
req = urllib.request.Request(put_url, data=b"via presigned put", method="PUT")
with urllib.request.urlopen(req) as resp:
    assert resp.status == 200
assert s3.get_object(Bucket=B, Key="presigned-put")["Body"].read() == b"via presigned put"

# Presigned URLs: X-Amz-Expires from 0 to seven days, as S3 checks it (the signature covers it,
# so a bad value is refused before the signature is looked at).
def raw_get(path_and_query):
    conn = http.client.HTTPConnection(host)
    conn.request("GET", path_and_query)
    resp = conn.getresponse()
    return resp.status, resp.read().decode()


url = urllib.parse.urlsplit(s3.generate_presigned_url(
    "get_object", Params={"Bucket": B, "Key": "dir/hello.txt"}, ExpiresIn=604801))
status, text = raw_get(f"{url.path}?{url.query}")
assert status == 400 and "<Code>AuthorizationQueryParametersError</Code>" in text, (status, text)
assert "X-Amz-Expires must be less than a week (in seconds) that is; 604800" in text, text
url = urllib.parse.urlsplit(s3.generate_presigned_url(
    "get_object", Params={"Bucket": B, "Key": "dir/hello.txt"}, ExpiresIn=604800))
assert raw_get(f"{url.path}?{url.query}")[0] == 200
for bad, why in [("-5", "must be non-negative"), ("soon", "should be a number")]:
    status, text = raw_get(f"{url.path}?{url.query.replace('X-Amz-Expires=604800', 'X-Amz-Expires=' + bad)}")
    assert status == 400 and why in text, (bad, status, text)

# Wrong secret: SignatureDoesNotMatch.
bad = boto3.client(
    "s3", endpoint_url=endpoint, aws_access_key_id=os.environ["ESB_S3_ACCESS_KEY"],
    aws_secret_access_key="wrong", region_name="us-east-1",
    config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
)
expect_error("SignatureDoesNotMatch", 403, bad.list_buckets)

# Multipart: boto3's managed transfer, explicit parts, abort, errors.
import io
from boto3.s3.transfer import TransferConfig

big = os.urandom(1024 * 1024) * 12 + b"tail"
tc = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
s3.upload_fileobj(io.BytesIO(big), B, "big.bin", Config=tc)
h = s3.head_object(Bucket=B, Key="big.bin")
assert h["ContentLength"] == len(big) and h["ETag"].endswith('-3"'), h
parts = [big[i:i + 5 * 1024 * 1024] for i in range(0, len(big), 5 * 1024 * 1024)]
want = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest() + "-3"
assert h["ETag"] == f'"{want}"', (h["ETag"], want)
out = io.BytesIO()
s3.download_fileobj(B, "big.bin", out, Config=tc)
assert out.getvalue() == big
up = s3.create_multipart_upload(Bucket=B, Key="mp", ContentType="application/x-mp", Metadata={"m": "1"})
uid = up["UploadId"]
assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=B)["Uploads"]] == [uid]
e1 = s3.upload_part(Bucket=B, Key="mp", UploadId=uid, PartNumber=1, Body=b"a" * 100)["ETag"]
e2 = s3.upload_part(Bucket=B, Key="mp", UploadId=uid, PartNumber=2, Body=b"b" * 100)["ETag"]
expect_error("BadDigest", 400, s3.upload_part, Bucket=B, Key="mp", UploadId=uid, PartNumber=3, Body=b"c",
             ChecksumCRC32="AAAAAA==")
lp = s3.list_parts(Bucket=B, Key="mp", UploadId=uid)
assert [(p["PartNumber"], p["Size"]) for p in lp["Parts"]] == [(1, 100), (2, 100)], lp
expect_error("EntityTooSmall", 400, s3.complete_multipart_upload, Bucket=B, Key="mp", UploadId=uid,
             MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
expect_error("InvalidPart", 400, s3.complete_multipart_upload, Bucket=B, Key="mp", UploadId=uid,
             MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e2}]})
expect_error("InvalidPartOrder", 400, s3.complete_multipart_upload, Bucket=B, Key="mp", UploadId=uid,
             MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": e2}, {"PartNumber": 1, "ETag": e1}]})
done = s3.complete_multipart_upload(Bucket=B, Key="mp", UploadId=uid,
                                    MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": e2}]})
assert done["ETag"].endswith('-1"')
# A retried completion with the same parts answers as the first (SDKs retry it); other parts
# find no upload.
again = s3.complete_multipart_upload(Bucket=B, Key="mp", UploadId=uid,
                                     MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": e2}]})
assert (again["ETag"], again["Key"]) == (done["ETag"], "mp"), again
expect_error("NoSuchUpload", 404, s3.complete_multipart_upload, Bucket=B, Key="mp", UploadId=uid,
             MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}]})
# GET by part number: past the parts is 416 InvalidPartNumber, outside 1..10000 400.
expect_error("InvalidPartNumber", 416, s3.get_object, Bucket=B, Key="mp", PartNumber=2)
expect_error("InvalidArgument", 400, s3.get_object, Bucket=B, Key="mp", PartNumber=10001)
g = s3.get_object(Bucket=B, Key="mp")
assert g["Body"].read() == b"b" * 100 and g["ContentType"] == "application/x-mp" and g["Metadata"] == {"m": "1"}
expect_error("NoSuchUpload", 404, s3.upload_part, Bucket=B, Key="mp", UploadId=uid, PartNumber=1, Body=b"x")
uid = s3.create_multipart_upload(Bucket=B, Key="pc")["UploadId"]
p1 = s3.upload_part_copy(Bucket=B, Key="pc", UploadId=uid, PartNumber=1,
                         CopySource={"Bucket": B, "Key": "big.bin"}, CopySourceRange="bytes=0-5242879")
p2 = s3.upload_part_copy(Bucket=B, Key="pc", UploadId=uid, PartNumber=2, CopySource={"Bucket": B, "Key": "mp"})
expect_error("InvalidRange", 416, s3.upload_part_copy, Bucket=B, Key="pc", UploadId=uid, PartNumber=3,
             CopySource={"Bucket": B, "Key": "mp"}, CopySourceRange="bytes=0-100")
s3.complete_multipart_upload(Bucket=B, Key="pc", UploadId=uid, MultipartUpload={"Parts": [
    {"PartNumber": 1, "ETag": p1["CopyPartResult"]["ETag"]}, {"PartNumber": 2, "ETag": p2["CopyPartResult"]["ETag"]}]})
assert s3.get_object(Bucket=B, Key="pc")["Body"].read() == big[:5242880] + b"b" * 100
uid = s3.create_multipart_upload(Bucket=B, Key="gone")["UploadId"]
s3.abort_multipart_upload(Bucket=B, Key="gone", UploadId=uid)
expect_error("NoSuchUpload", 404, s3.list_parts, Bucket=B, Key="gone", UploadId=uid)
expect_error("NoSuchUpload", 404, s3.abort_multipart_upload, Bucket=B, Key="gone", UploadId="../../etc")
assert "Uploads" not in s3.list_multipart_uploads(Bucket=B) or not s3.list_multipart_uploads(Bucket=B)["Uploads"]

# GetObjectAttributes: the unquoted ETag, size, storage class, the checksum (boto3 sends a
# CRC32 by default) and, for a multipart object, its parts (listed, and paged, only when they
# carry checksums, as S3 does).
ALL_ATTRS = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"]
a = s3.get_object_attributes(Bucket=B, Key="dir/hello.txt", ObjectAttributes=ALL_ATTRS)
assert a["ETag"] == md5 and a["ObjectSize"] == len(data) and a["StorageClass"] == "STANDARD", a
crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
assert a["Checksum"] == {"ChecksumCRC32": crc, "ChecksumType": "FULL_OBJECT"}, a
assert "ObjectParts" not in a and "LastModified" in a, a
a = s3.get_object_attributes(Bucket=B, Key="dir/hello.txt", ObjectAttributes=["ObjectSize"])
assert "ETag" not in a and "Checksum" not in a and a["ObjectSize"] == len(data), a
expect_error("NoSuchKey", 404, s3.get_object_attributes, Bucket=B, Key="missing", ObjectAttributes=["ETag"])
expect_error("InvalidArgument", 400, s3.get_object_attributes, Bucket=B, Key="dir/hello.txt", ObjectAttributes=["Colour"])
five = b"p" * (5 * 1024 * 1024)
uid = s3.create_multipart_upload(Bucket=B, Key="attrs", ChecksumAlgorithm="SHA256")["UploadId"]
done_parts = []
for n, body in [(1, five), (2, five), (3, b"end")]:
    r = s3.upload_part(Bucket=B, Key="attrs", UploadId=uid, PartNumber=n, Body=body, ChecksumAlgorithm="SHA256")
    assert r["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(body).digest()).decode(), r
    done_parts.append({"PartNumber": n, "ETag": r["ETag"], "ChecksumSHA256": r["ChecksumSHA256"]})
s3.complete_multipart_upload(Bucket=B, Key="attrs", UploadId=uid, MultipartUpload={"Parts": done_parts})
a = s3.get_object_attributes(Bucket=B, Key="attrs", ObjectAttributes=ALL_ATTRS, MaxParts=2)
assert a["ETag"].endswith("-3") and a["ObjectSize"] == 2 * len(five) + 3, a
p = a["ObjectParts"]
assert (p["TotalPartsCount"], p["MaxParts"], p["IsTruncated"], p["NextPartNumberMarker"]) == (3, 2, True, 2), p
assert [(x["PartNumber"], x["Size"], x["ChecksumSHA256"]) for x in p["Parts"]] == \
    [(d["PartNumber"], len(five), d["ChecksumSHA256"]) for d in done_parts[:2]], p
p = s3.get_object_attributes(Bucket=B, Key="attrs", ObjectAttributes=["ObjectParts"], PartNumberMarker=2)["ObjectParts"]
assert [x["PartNumber"] for x in p["Parts"]] == [3] and p["IsTruncated"] is False, p
plain = client(request_checksum_calculation="when_required")
uid = plain.create_multipart_upload(Bucket=B, Key="attrs-plain")["UploadId"]
r = plain.upload_part(Bucket=B, Key="attrs-plain", UploadId=uid, PartNumber=1, Body=b"x")
plain.complete_multipart_upload(Bucket=B, Key="attrs-plain", UploadId=uid,
                                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": r["ETag"]}]})
a = s3.get_object_attributes(Bucket=B, Key="attrs-plain", ObjectAttributes=ALL_ATTRS)
assert a["ObjectParts"] == {"TotalPartsCount": 1} and "Checksum" not in a, a
s3.delete_objects(Bucket=B, Delete={"Objects": [{"Key": "attrs"}, {"Key": "attrs-plain"}]})

# Tagging: on PUT, Put/Get/DeleteObjectTagging, copy keeps tags; bucket sub-resources.
s3.put_object(Bucket=B, Key="tagged", Body=b"t", Tagging="env=dev&team=a%20b")
assert s3.get_object(Bucket=B, Key="tagged")["TagCount"] == 2
tags = {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=B, Key="tagged")["TagSet"]}
assert tags == {"env": "dev", "team": "a b"}, tags
s3.put_object_tagging(Bucket=B, Key="tagged", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
s3.copy_object(Bucket=B, Key="tagged-copy", CopySource={"Bucket": B, "Key": "tagged"})
assert s3.get_object_tagging(Bucket=B, Key="tagged-copy")["TagSet"] == [{"Key": "k", "Value": "v"}]
s3.delete_object_tagging(Bucket=B, Key="tagged")
assert s3.get_object_tagging(Bucket=B, Key="tagged")["TagSet"] == []
expect_error("NoSuchKey", 404, s3.get_object_tagging, Bucket=B, Key="missing")
expect_error("NoSuchCORSConfiguration", 404, s3.get_bucket_cors, Bucket=B)
cors = [{"AllowedMethods": ["GET", "PUT"], "AllowedOrigins": ["*"], "AllowedHeaders": ["*"], "MaxAgeSeconds": 300}]
s3.put_bucket_cors(Bucket=B, CORSConfiguration={"CORSRules": cors})
assert s3.get_bucket_cors(Bucket=B)["CORSRules"] == cors
s3.delete_bucket_cors(Bucket=B)
expect_error("NoSuchCORSConfiguration", 404, s3.get_bucket_cors, Bucket=B)
expect_error("NoSuchLifecycleConfiguration", 404, s3.get_bucket_lifecycle_configuration, Bucket=B)
rules = [{"ID": "expire-tmp", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled", "Expiration": {"Days": 7}}]
s3.put_bucket_lifecycle_configuration(Bucket=B, LifecycleConfiguration={"Rules": rules})
assert s3.get_bucket_lifecycle_configuration(Bucket=B)["Rules"] == rules
s3.delete_bucket_lifecycle(Bucket=B)
expect_error("NoSuchTagSet", 404, s3.get_bucket_tagging, Bucket=B)
s3.put_bucket_tagging(Bucket=B, Tagging={"TagSet": [{"Key": "app", "Value": "esb"}]})
assert s3.get_bucket_tagging(Bucket=B)["TagSet"] == [{"Key": "app", "Value": "esb"}]
assert "Status" not in s3.get_bucket_versioning(Bucket=B)

# Listing odd keys (boto3 asks for encoding-type=url and decodes).
odd = ["enc/sp ace+plus", "enc/ünï 🚀", "enc/100%", "enc/a&b<c>"]
for k in odd:
    s3.put_object(Bucket=B, Key=k, Body=b"e")
assert [o["Key"] for o in s3.list_objects_v2(Bucket=B, Prefix="enc/")["Contents"]] == sorted(odd)
assert [o["Key"] for o in s3.list_objects(Bucket=B, Prefix="enc/")["Contents"]] == sorted(odd)

v = s3.list_object_versions(Bucket=B, Prefix="enc/")
assert [(x["Key"], x["VersionId"], x["IsLatest"]) for x in v["Versions"]] == [(k, "null", True) for k in sorted(odd)]

# Additional checksums: computed, checked, returned with ChecksumMode=ENABLED.
import base64
r = s3.put_object(Bucket=B, Key="sum", Body=b"checksummed", ChecksumAlgorithm="SHA256")
want = base64.b64encode(hashlib.sha256(b"checksummed").digest()).decode()
assert r.get("ChecksumSHA256") == want, r
h = s3.head_object(Bucket=B, Key="sum", ChecksumMode="ENABLED")
assert h.get("ChecksumSHA256") == want, h
assert s3.get_object(Bucket=B, Key="sum", ChecksumMode="ENABLED")["Body"].read() == b"checksummed"
expect_error("BadDigest", 400, s3.put_object, Bucket=B, Key="sum2", Body=b"x", ChecksumCRC32="AAAAAA==")
expect_error("BadDigest", 400, s3.put_object, Bucket=B, Key="sum2", Body=b"x", ContentMD5="AAAAAAAAAAAAAAAAAAAAAA==")
s3.delete_object(Bucket=B, Key="sum")

# Multipart checksums as current SDKs use them: ChecksumAlgorithm on CreateMultipartUpload,
# each part's checksum (ListParts lists them), the composite `…-N` or full-object checksum of the
# completed object, returned with ChecksumMode=ENABLED (the part's for a read by part number).
def b64(raw):
    return base64.b64encode(raw).decode()


def crc32(data):
    return zlib.crc32(data).to_bytes(4, "big")


five = os.urandom(5 * 1024 * 1024)
chunks = [five, five[::-1], b"last part"]
created = s3.create_multipart_upload(Bucket=B, Key="sha", ChecksumAlgorithm="SHA256")
assert (created["ChecksumAlgorithm"], created["ChecksumType"]) == ("SHA256", "COMPOSITE"), created
uid = created["UploadId"]
sent = []
for n, chunk in enumerate(chunks, 1):
    r = s3.upload_part(Bucket=B, Key="sha", UploadId=uid, PartNumber=n, Body=chunk, ChecksumAlgorithm="SHA256")
    sent.append({"PartNumber": n, "ETag": r["ETag"], "ChecksumSHA256": r["ChecksumSHA256"]})
err = expect_error("InvalidRequest", 400, s3.upload_part, Bucket=B, Key="sha", UploadId=uid, PartNumber=4,
                   Body=b"x", ChecksumAlgorithm="CRC32")
assert "Checksum Type mismatch" in err.response["Error"]["Message"], err.response
lp = s3.list_parts(Bucket=B, Key="sha", UploadId=uid)
assert lp["ChecksumAlgorithm"] == "SHA256", lp
assert [p["ChecksumSHA256"] for p in lp["Parts"]] == [b64(hashlib.sha256(c).digest()) for c in chunks], lp
err = expect_error("InvalidRequest", 400, s3.complete_multipart_upload, Bucket=B, Key="sha", UploadId=uid,
                   MultipartUpload={"Parts": [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in sent]})
assert "must include the checksum for each part" in err.response["Error"]["Message"], err.response
wrong = [dict(sent[0], ChecksumSHA256=sent[1]["ChecksumSHA256"])] + sent[1:]
expect_error("InvalidPart", 400, s3.complete_multipart_upload, Bucket=B, Key="sha", UploadId=uid,
             MultipartUpload={"Parts": wrong})
done = s3.complete_multipart_upload(Bucket=B, Key="sha", UploadId=uid, MultipartUpload={"Parts": sent})
composite = b64(hashlib.sha256(b"".join(hashlib.sha256(c).digest() for c in chunks)).digest()) + "-3"
assert (done["ChecksumSHA256"], done["ChecksumType"]) == (composite, "COMPOSITE"), done
h = s3.head_object(Bucket=B, Key="sha", ChecksumMode="ENABLED")
assert (h["ChecksumSHA256"], h["ChecksumType"]) == (composite, "COMPOSITE"), h
part2 = s3.get_object(Bucket=B, Key="sha", PartNumber=2, ChecksumMode="ENABLED")
assert part2["ChecksumSHA256"] == sent[1]["ChecksumSHA256"] and part2["Body"].read() == chunks[1]
a = s3.get_object_attributes(Bucket=B, Key="sha", ObjectAttributes=["Checksum"])
assert a["Checksum"] == {"ChecksumSHA256": composite, "ChecksumType": "COMPOSITE"}, a
# Full-object CRC32: the CRC of the whole object, checked against the client's.
uid = s3.create_multipart_upload(Bucket=B, Key="full", ChecksumAlgorithm="CRC32", ChecksumType="FULL_OBJECT")["UploadId"]
sent = []
for n, chunk in enumerate(chunks, 1):
    r = s3.upload_part(Bucket=B, Key="full", UploadId=uid, PartNumber=n, Body=chunk, ChecksumAlgorithm="CRC32")
    sent.append({"PartNumber": n, "ETag": r["ETag"], "ChecksumCRC32": r["ChecksumCRC32"]})
whole = b64(crc32(b"".join(chunks)))
expect_error("BadDigest", 400, s3.complete_multipart_upload, Bucket=B, Key="full", UploadId=uid,
             MultipartUpload={"Parts": sent}, ChecksumCRC32=b64(crc32(b"other")), ChecksumType="FULL_OBJECT")
done = s3.complete_multipart_upload(Bucket=B, Key="full", UploadId=uid, MultipartUpload={"Parts": sent},
                                    ChecksumCRC32=whole, ChecksumType="FULL_OBJECT")
assert (done["ChecksumCRC32"], done["ChecksumType"]) == (whole, "FULL_OBJECT"), done
h = s3.head_object(Bucket=B, Key="full", ChecksumMode="ENABLED")
assert (h["ChecksumCRC32"], h["ChecksumType"]) == (whole, "FULL_OBJECT"), h
# S3's refusals of unsupported combinations.
expect_error("InvalidRequest", 400, s3.create_multipart_upload, Bucket=B, Key="x", ChecksumAlgorithm="SHA256",
             ChecksumType="FULL_OBJECT")
expect_error("InvalidRequest", 400, s3.create_multipart_upload, Bucket=B, Key="x", ChecksumAlgorithm="CRC64NVME",
             ChecksumType="COMPOSITE")
# boto3's own managed upload (CRC32 by default) round-trips its composite checksum.
tc = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
s3.upload_fileobj(io.BytesIO(b"".join(chunks)), B, "managed", Config=tc)
h = s3.head_object(Bucket=B, Key="managed", ChecksumMode="ENABLED")
assert h["ChecksumCRC32"] == b64(crc32(b"".join(crc32(c) for c in chunks))) + "-3", h
assert s3.get_object(Bucket=B, Key="managed")["Body"].read() == b"".join(chunks)
s3.delete_objects(Bucket=B, Delete={"Objects": [{"Key": k} for k in ("sha", "full", "managed")]})

expect_error("InvalidArgument", 400, s3.get_object, Bucket=B, Key="tagged", VersionId="v123")
assert s3.get_object(Bucket=B, Key="tagged", VersionId="null")["Body"].read() == b"t"

# Bodies without a length: aws-chunked with Transfer-Encoding: chunked is accepted (its
# decoded length is declared); a plain chunked PUT is 501 NotImplemented, as in S3.
def signed_chunked_put(path, headers, body, payload_hash):
    req = AWSRequest(method="PUT", url=endpoint + path, headers=headers)
    req.headers["x-amz-content-sha256"] = payload_hash
    SigV4Auth(Credentials(os.environ["ESB_S3_ACCESS_KEY"], os.environ["ESB_S3_SECRET_KEY"]), "s3",
              "us-east-1").add_auth(req)
    conn = http.client.HTTPConnection(host)
    conn.putrequest("PUT", path, skip_accept_encoding=True)
    for name, value in req.headers.items():
        conn.putheader(name, value)
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    conn.send(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
    resp = conn.getresponse()
    return resp.status, resp.read().decode()


crc = base64.b64encode(zlib.crc32(b"streamed").to_bytes(4, "big")).decode()
framed = b"8\r\nstreamed\r\n0\r\nx-amz-checksum-crc32:" + crc.encode() + b"\r\n\r\n"
status, text = signed_chunked_put(
    f"/{B}/aws-chunked", {"content-encoding": "aws-chunked", "x-amz-decoded-content-length": "8",
                          "x-amz-trailer": "x-amz-checksum-crc32"},
    framed, "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
assert status == 200, (status, text)
assert s3.get_object(Bucket=B, Key="aws-chunked")["Body"].read() == b"streamed"
status, text = signed_chunked_put(f"/{B}/plain-chunked", {}, b"plain", "UNSIGNED-PAYLOAD")
assert status == 501 and "<Code>NotImplemented</Code>" in text, (status, text)
assert "A header you provided implies functionality that is not implemented" in text, text
expect_error("404", 404, s3.head_object, Bucket=B, Key="plain-chunked")

# Content-Encoding is kept byte for byte; a listing without encoding-type has no EncodingType
# and an empty delimiter is not echoed.
s3.put_object(Bucket=B, Key="encoded", Body=b"e", ContentEncoding="gzip, br")
assert s3.head_object(Bucket=B, Key="encoded")["ContentEncoding"] == "gzip, br"
plain_list = client()
plain_list.meta.events.unregister("before-parameter-build.s3.ListObjects",
                                  botocore.handlers.set_list_objects_encoding_type_url)
plain_list.meta.events.unregister("before-parameter-build.s3.ListObjectsV2",
                                  botocore.handlers.set_list_objects_encoding_type_url)
for listed in [plain_list.list_objects_v2(Bucket=B, Prefix="enc", Delimiter=""),
               plain_list.list_objects(Bucket=B, Prefix="enc", Delimiter="")]:
    assert "EncodingType" not in listed and "Delimiter" not in listed, listed
    assert "enc/sp ace+plus" in [o["Key"] for o in listed["Contents"]], listed

# ACLs and anonymous access: an unsigned request is served exactly when the object's or the
# bucket's ACL, or the bucket policy, allows it to everyone, within the public access block
# and object ownership settings; missing buckets are NoSuchBucket, missing keys NoSuchKey only
# to those who may list the bucket.
anon = client(signature_version=UNSIGNED)
A = "conformance-acl"
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
s3.create_bucket(Bucket=A)
expect_error("NoSuchBucket", 404, anon.get_object, Bucket="conformance-nothing", Key="k")
expect_error("AccessDenied", 403, anon.list_buckets)
s3.put_object(Bucket=A, Key="private", Body=b"p")
for key in ("private", "missing"):
    expect_error("AccessDenied", 403, anon.get_object, Bucket=A, Key=key)
expect_error("AccessDenied", 403, anon.list_objects_v2, Bucket=A)
expect_error("AccessDenied", 403, anon.put_object, Bucket=A, Key="anon", Body=b"x")


def anon_get(key):
    try:
        with urllib.request.urlopen(f"{endpoint}/{A}/{key}") as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def grants(acl):
    return sorted((g["Grantee"].get("URI") or g["Grantee"].get("ID"), g["Permission"]) for g in acl["Grants"])


s3.put_object(Bucket=A, Key="pub", Body=b"public", ACL="public-read")
assert anon_get("pub") == (200, b"public")
assert anon.get_object(Bucket=A, Key="pub")["Body"].read() == b"public"
acl = s3.get_object_acl(Bucket=A, Key="pub")
assert acl["Owner"]["ID"] == "esb" and grants(acl) == [("esb", "FULL_CONTROL"), (ALL_USERS, "READ")], acl
s3.put_object_acl(Bucket=A, Key="pub", ACL="private")
assert anon_get("pub")[0] == 403 and grants(s3.get_object_acl(Bucket=A, Key="pub")) == [("esb", "FULL_CONTROL")]
s3.put_object_acl(Bucket=A, Key="pub", GrantRead=f'uri="{ALL_USERS}"')
assert anon_get("pub")[0] == 200
s3.put_object_acl(Bucket=A, Key="pub", AccessControlPolicy={
    "Owner": {"ID": "esb"},
    "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": "esb"}, "Permission": "FULL_CONTROL"}]})
assert anon_get("pub")[0] == 403
expect_error("InvalidArgument", 400, s3.put_object_acl, Bucket=A, Key="pub", ACL="open-to-all")
expect_error("UnresolvableGrantByEmailAddress", 400, s3.put_object_acl, Bucket=A, Key="pub",
             GrantRead='emailAddress="someone@example.com"')
s3.copy_object(Bucket=A, Key="copied", CopySource={"Bucket": A, "Key": "private"}, ACL="public-read")
assert anon_get("copied") == (200, b"p")
s3.copy_object(Bucket=A, Key="copied-again", CopySource={"Bucket": A, "Key": "copied"})
assert anon_get("copied-again")[0] == 403, "a copy does not take the source's ACL"
uid = s3.create_multipart_upload(Bucket=A, Key="mp-pub", ACL="public-read")["UploadId"]
etag = s3.upload_part(Bucket=A, Key="mp-pub", UploadId=uid, PartNumber=1, Body=b"mp")["ETag"]
s3.complete_multipart_upload(Bucket=A, Key="mp-pub", UploadId=uid,
                             MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
assert anon_get("mp-pub") == (200, b"mp")
# Bucket ACLs: public-read lists (and tells missing keys apart), public-read-write writes.
s3.put_bucket_acl(Bucket=A, ACL="public-read")
assert (ALL_USERS, "READ") in grants(s3.get_bucket_acl(Bucket=A))
assert "pub" in [o["Key"] for o in anon.list_objects_v2(Bucket=A)["Contents"]]
expect_error("NoSuchKey", 404, anon.get_object, Bucket=A, Key="missing")
expect_error("AccessDenied", 403, anon.get_object, Bucket=A, Key="private")
s3.put_bucket_acl(Bucket=A, ACL="public-read-write")
anon.put_object(Bucket=A, Key="dropped", Body=b"anonymous")
assert s3.get_object(Bucket=A, Key="dropped")["Body"].read() == b"anonymous"
s3.put_bucket_acl(Bucket=A, ACL="private")
expect_error("AccessDenied", 403, anon.list_objects_v2, Bucket=A)
# Bucket policies.
expect_error("NoSuchBucketPolicy", 404, s3.get_bucket_policy, Bucket=A)
err = expect_error("MalformedPolicy", 400, s3.put_bucket_policy, Bucket=A, Policy="not json")
assert "Policies must be valid JSON" in err.response["Error"]["Message"], err.response
expect_error("MalformedPolicy", 400, s3.put_bucket_policy, Bucket=A, Policy=json.dumps({"Statement": [{
    "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::elsewhere/*"}]}))
site = {"Version": "2012-10-17", "Statement": [{"Sid": "PublicRead", "Effect": "Allow", "Principal": "*",
                                                 "Action": ["s3:GetObject"], "Resource": [f"arn:aws:s3:::{A}/site/*"]}]}
s3.put_bucket_policy(Bucket=A, Policy=json.dumps(site))
assert json.loads(s3.get_bucket_policy(Bucket=A)["Policy"]) == site
s3.put_object(Bucket=A, Key="site/index.html", Body=b"<h1>hi</h1>")
assert anon_get("site/index.html") == (200, b"<h1>hi</h1>")
assert anon_get("private")[0] == 403 and anon_get("site/missing.html")[0] == 403
site["Statement"].append({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:ListBucket",
                          "Resource": f"arn:aws:s3:::{A}"})
site["Statement"].append({"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
                          "Resource": f"arn:aws:s3:::{A}/site/secret*"})
s3.put_bucket_policy(Bucket=A, Policy=json.dumps(site))
s3.put_object(Bucket=A, Key="site/secret.txt", Body=b"no")
assert anon_get("site/missing.html")[0] == 404 and anon_get("site/secret.txt")[0] == 403
assert len(anon.list_objects_v2(Bucket=A, Prefix="site/")["Contents"]) == 2
# Public access block: stored, returned and enforced.
expect_error("NoSuchPublicAccessBlockConfiguration", 404, s3.get_public_access_block, Bucket=A)
block = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
s3.put_public_access_block(Bucket=A, PublicAccessBlockConfiguration=block)
assert s3.get_public_access_block(Bucket=A)["PublicAccessBlockConfiguration"] == block
assert anon_get("site/index.html")[0] == 403 and anon_get("copied")[0] == 403
expect_error("AccessDenied", 403, s3.put_object, Bucket=A, Key="blocked", Body=b"x", ACL="public-read")
expect_error("AccessDenied", 403, s3.put_bucket_policy, Bucket=A, Policy=json.dumps(site))
s3.delete_public_access_block(Bucket=A)
assert anon_get("site/index.html")[0] == 200 and anon_get("copied")[0] == 200
# Object ownership: BucketOwnerEnforced turns ACLs off (a policy still applies).
expect_error("OwnershipControlsNotFoundError", 404, s3.get_bucket_ownership_controls, Bucket=A)
enforced = {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
s3.put_bucket_ownership_controls(Bucket=A, OwnershipControls=enforced)
assert s3.get_bucket_ownership_controls(Bucket=A)["OwnershipControls"] == enforced
err = expect_error("AccessControlListNotSupported", 400, s3.put_object, Bucket=A, Key="acl", Body=b"x",
                   ACL="public-read")
assert err.response["Error"]["Message"] == "The bucket does not allow ACLs", err.response
s3.put_object(Bucket=A, Key="acl", Body=b"x", ACL="bucket-owner-full-control")
assert anon_get("copied")[0] == 403 and anon_get("site/index.html")[0] == 200
s3.delete_bucket_ownership_controls(Bucket=A)
s3.delete_bucket_policy(Bucket=A)
expect_error("NoSuchBucketPolicy", 404, s3.get_bucket_policy, Bucket=A)
# Owner in listings: ListObjects always, ListObjectsV2 with FetchOwner, ListMultipartUploads.
assert all(o["Owner"]["ID"] == "esb" for o in s3.list_objects(Bucket=A)["Contents"])
assert all("Owner" not in o for o in s3.list_objects_v2(Bucket=A)["Contents"])
assert all(o["Owner"]["ID"] == "esb" for o in s3.list_objects_v2(Bucket=A, FetchOwner=True)["Contents"])
uid = s3.create_multipart_upload(Bucket=A, Key="pending")["UploadId"]
u = s3.list_multipart_uploads(Bucket=A)["Uploads"][0]
assert u["Owner"]["ID"] == "esb" and u["Initiator"]["ID"] == "esb", u
s3.abort_multipart_upload(Bucket=A, Key="pending", UploadId=uid)
# CreateBucket with a canned ACL; re-creating it (us-east-1) resets the ACL, as S3 does.
s3.create_bucket(Bucket="conformance-acl-pub", ACL="public-read")
assert anon.list_objects_v2(Bucket="conformance-acl-pub")["KeyCount"] == 0
s3.create_bucket(Bucket="conformance-acl-pub")
expect_error("AccessDenied", 403, anon.list_objects_v2, Bucket="conformance-acl-pub")
expect_error("InvalidBucketAclWithObjectOwnership", 400, s3.create_bucket, Bucket="conformance-acl-enf",
             ACL="public-read", ObjectOwnership="BucketOwnerEnforced")
s3.delete_bucket(Bucket="conformance-acl-pub")
keys = [o["Key"] for o in s3.list_objects_v2(Bucket=A)["Contents"]]
s3.delete_objects(Bucket=A, Delete={"Objects": [{"Key": k} for k in keys]})
s3.delete_bucket(Bucket=A)

# Errors and deletes.
expect_error("NoSuchKey", 404, s3.get_object, Bucket=B, Key="missing")
expect_error("NoSuchBucket", 404, s3.get_object, Bucket="missing-bucket", Key="x")
expect_error("NoSuchBucket", 404, s3.list_objects_v2, Bucket="missing-bucket")
expect_error("BucketNotEmpty", 409, s3.delete_bucket, Bucket=B)
s3.delete_object(Bucket=B, Key="fresh")
s3.delete_object(Bucket=B, Key="fresh")
expect_error("404", 404, s3.head_object, Bucket=B, Key="fresh")
err = expect_error("MalformedXML", 400, s3.delete_objects, Bucket=B,
                   Delete={"Objects": [{"Key": f"k{i}"} for i in range(1001)]})
assert "did not validate against our published schema" in err.response["Error"]["Message"]
expect_error("MalformedXML", 400, s3.delete_objects, Bucket=B, Delete={"Objects": []})
all_keys = [o["Key"] for o in s3.list_objects_v2(Bucket=B)["Contents"]]
d = s3.delete_objects(Bucket=B, Delete={"Objects": [{"Key": k} for k in all_keys]})
assert sorted(x["Key"] for x in d["Deleted"]) == sorted(all_keys), d
assert s3.list_objects_v2(Bucket=B)["KeyCount"] == 0
s3.delete_bucket(Bucket=B)
expect_error("NoSuchBucket", 404, s3.delete_bucket, Bucket=B)

# Versioning: versions, delete markers, reads by version id.
V = "conformance-versions"
s3.create_bucket(Bucket=V)
s3.put_bucket_versioning(Bucket=V, VersioningConfiguration={"Status": "Enabled"})
assert s3.get_bucket_versioning(Bucket=V)["Status"] == "Enabled"
v1 = s3.put_object(Bucket=V, Key="k", Body=b"one")["VersionId"]
v2 = s3.put_object(Bucket=V, Key="k", Body=b"two")["VersionId"]
assert v1 != v2
assert s3.get_object(Bucket=V, Key="k", VersionId=v1)["Body"].read() == b"one"
marker = s3.delete_object(Bucket=V, Key="k")
assert marker["DeleteMarker"] is True, marker
err = expect_error("NoSuchKey", 404, s3.get_object, Bucket=V, Key="k")
assert err.response["ResponseMetadata"]["HTTPHeaders"].get("x-amz-delete-marker") == "true", err.response
versions = s3.list_object_versions(Bucket=V)
assert [v["VersionId"] for v in versions["Versions"]] == [v2, v1], versions
assert versions["DeleteMarkers"][0]["IsLatest"] is True, versions
for vid in (marker["VersionId"], v2, v1):
    s3.delete_object(Bucket=V, Key="k", VersionId=vid)
s3.delete_bucket(Bucket=V)
print("boto3 conformance: ok")
