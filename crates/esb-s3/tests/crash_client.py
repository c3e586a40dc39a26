"""Crash-test client for the embedded S3 server, run by tests/crash.rs.

  crash_client.py write <endpoint> <acked-file> <round>
      Concurrent PUTs (unique keys and contended shared keys) until the server dies;
      every acknowledged unique key is appended to <acked-file>.
  crash_client.py verify <endpoint> <acked-file>
      Every listed object must be whole (self-checking body) and every acknowledged
      key present with exactly the bytes written.
"""

import hashlib
import os
import sys
import threading

import boto3
from botocore.config import Config

BUCKET = "crash"


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
    try:
        s3.create_bucket(Bucket=BUCKET)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    lock = threading.Lock()
    acked = open(acked_path, "a")

    def worker(t):
        c = client(endpoint)
        i = 0
        while True:
            i += 1
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
    count = 0
    for line in open(acked_path):
        name, version = line.rstrip("\n").split("\t")
        assert name in listed, f"acknowledged {name} is missing after the crash"
        data = s3.get_object(Bucket=BUCKET, Key=name)["Body"].read()
        assert data == body_for(name, version), f"acknowledged {name} has the wrong bytes"
        count += 1
    print(f"verified {len(keys)} listed objects, {count} acknowledged writes")


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        verify(sys.argv[2], sys.argv[3])
