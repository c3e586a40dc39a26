"""Crash-test client for the embedded S3 server, run by tests/crash.rs.

  crash_client.py write <endpoint> <acked-file> <round>
      Concurrent writes until the server dies: PUTs (unique keys and contended shared keys,
      plus contended keys of a versioned bucket), multipart uploads, and PUT-then-DELETE of
      unique keys; every acknowledged unique key, version id, completed upload and delete is
      appended to <acked-file>.
  crash_client.py verify <endpoint> <acked-file>
      Every listed object and version must be whole (self-checking body), every
      acknowledged key, version and completed upload present with exactly the bytes written,
      and every acknowledged delete still deleted.
"""

import hashlib
import os
import sys
import threading

import boto3
from botocore.config import Config

BUCKET = "crash"
VERSIONED = "crash-versions"


def client(endpoint):
    return boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=os.environ["ESB_S3_ACCESS_KEY"],
        aws_secret_access_key=os.environ["ESB_S3_SECRET_KEY"], region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                      connect_timeout=2, read_timeout=10),
    )


def body_for(name, version):
    """A body that proves itself whole: header, then a pattern, then the header's hash."""
    header = f"{name}|{version}|".encode()
    size = 1000 + int(hashlib.sha256(header).hexdigest()[:6], 16) % 300_000
    fill = hashlib.sha256(header).digest() * (size // 32 + 1)
    core = header + fill[:size]
    return core + hashlib.sha256(core).hexdigest().encode()


def is_whole(data):
    core, digest = data[:-64], data[-64:]
    if hashlib.sha256(core).hexdigest().encode() != digest:
        return False
    name, version, _ = core.split(b"|", 2)
    return body_for(name.decode(), version.decode()) == data


def write(endpoint, acked_path, round_no):
    s3 = client(endpoint)
    for bucket in (BUCKET, VERSIONED):
        try:
            s3.create_bucket(Bucket=bucket)
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
    s3.put_bucket_versioning(Bucket=VERSIONED, VersioningConfiguration={"Status": "Enabled"})
    # The test kills the server only after this line: a kill before the buckets exist would
    # leave nothing to verify, and prove nothing.
    print("ready", flush=True)
    lock = threading.Lock()
    acked = open(acked_path, "a")

    def worker(t):
        c = client(endpoint)
        i = 0
        while True:
            i += 1
            if t >= 6:
                # Versioned bucket: contended keys, every acknowledged version must survive.
                name = f"v/{i % 4}"
                data = body_for(name, f"{round_no}.{t}.{i}")
                try:
                    vid = c.put_object(Bucket=VERSIONED, Key=name, Body=data)["VersionId"]
                except Exception:
                    return
                with lock:
                    acked.write(f"V\t{name}\t{round_no}.{t}.{i}\t{vid}\n")
                    acked.flush()
                continue
            if t == 4:
                # Multipart: a completed upload must survive whole.
                name = f"mp/r{round_no}/k{i}"
                data = body_for(name, f"{round_no}.{t}.{i}")
                try:
                    uid = c.create_multipart_upload(Bucket=BUCKET, Key=name)["UploadId"]
                    etag = c.upload_part(Bucket=BUCKET, Key=name, UploadId=uid, PartNumber=1, Body=data)["ETag"]
                    c.complete_multipart_upload(Bucket=BUCKET, Key=name, UploadId=uid, MultipartUpload={
                        "Parts": [{"PartNumber": 1, "ETag": etag}]})
                except Exception:
                    return
                with lock:
                    acked.write(name + "\t" + f"{round_no}.{t}.{i}" + "\n")
                    acked.flush()
                continue
            if t == 5:
                # PUT then DELETE: an acknowledged delete must stay deleted.
                name = f"del/r{round_no}/k{i}"
                try:
                    c.put_object(Bucket=BUCKET, Key=name, Body=body_for(name, "gone"))
                    c.delete_object(Bucket=BUCKET, Key=name)
                except Exception:
                    return
                with lock:
                    acked.write(f"D\t{name}\n")
                    acked.flush()
                continue
            name = f"r{round_no}/t{t}/k{i}" if i % 3 else f"shared/{i % 5}"
            data = body_for(name, f"{round_no}.{t}.{i}")
            try:
                c.put_object(Bucket=BUCKET, Key=name, Body=data)
            except Exception:
                return
            if not name.startswith("shared/"):
                with lock:
                    acked.write(name + "\t" + f"{round_no}.{t}.{i}" + "\n")
                    acked.flush()

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()


def verify(endpoint, acked_path):
    s3 = client(endpoint)
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        keys += [o["Key"] for o in page.get("Contents", [])]
    for key in keys:
        data = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        assert is_whole(data), f"{key} is not whole ({len(data)} bytes)"
    listed = set(keys)
    versions = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=VERSIONED):
        versions += [(v["Key"], v["VersionId"]) for v in page.get("Versions", [])]
    for key, vid in versions:
        data = s3.get_object(Bucket=VERSIONED, Key=key, VersionId=vid)["Body"].read()
        assert is_whole(data), f"{key}@{vid} is not whole ({len(data)} bytes)"
    listed_versions = set(versions)
    count = deletes = uploads = 0
    for line in open(acked_path):
        fields = line.rstrip("\n").split("\t")
        if fields[0] == "D":
            assert fields[1] not in listed, f"acknowledged delete of {fields[1]} came undone"
            count += 1
            deletes += 1
            continue
        if fields[0] == "V":
            _, name, version, vid = fields
            assert (name, vid) in listed_versions, f"acknowledged {name}@{vid} is missing"
            data = s3.get_object(Bucket=VERSIONED, Key=name, VersionId=vid)["Body"].read()
            assert data == body_for(name, version), f"acknowledged {name}@{vid} has the wrong bytes"
            count += 1
            continue
        name, version = fields
        uploads += name.startswith("mp/")
        assert name in listed, f"acknowledged {name} is missing after the crash"
        data = s3.get_object(Bucket=BUCKET, Key=name)["Body"].read()
        assert data == body_for(name, version), f"acknowledged {name} has the wrong bytes"
        count += 1
    print(f"verified {len(keys)} listed objects, {len(versions)} versions, {count} acknowledged writes "
          f"({uploads} multipart uploads, {deletes} deletes)")


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        verify(sys.argv[2], sys.argv[3])
