#!/usr/bin/env python3
"""Soak: mixed traffic against a real `esb up` for a bounded time, watching the box for leaks.

Brings up a small project in a temporary directory (plain HTTP, any free ports) whose functions
answer fast, fail, time out, and use the box's S3 and DynamoDB, with a short worker idle timeout
so workers keep being reaped and cold-started. A few client threads send that mix for
`--seconds` (default 600; an hour by hand: `--seconds 3600`). Every `--every` seconds (10) it
records the box's resident memory, open file descriptors, threads, live workers and cold starts.

It fails (exit 1) when, after the first `--warmup` seconds, the last quarter of the samples
grew beyond the bounds below over the first quarter's, or when a request got an answer the mix
does not expect. The samples and the verdict go to stdout as JSON lines; `--out FILE` keeps them.

Bounds (medians of the first and last quarter of the samples after warm-up):
  resident memory  +16 MiB and +25 %    open descriptors  +32
  threads          +8                   live workers      never above the pool caps

Usage: scripts/soak.py [--seconds N] [--every N] [--clients N] [--esb PATH] [--out FILE]
"""

import argparse
import http.client
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {Runtime: python3.12, CodeUri: src/, Timeout: 3, MemorySize: 128}
Resources:
  Fast:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.fast
      Events: {Get: {Type: HttpApi, Properties: {Path: /fast, Method: GET}}}
  Fails:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.fails
      Events: {Get: {Type: HttpApi, Properties: {Path: /fails, Method: GET}}}
  Slow:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.slow
      Timeout: 1
      Events: {Get: {Type: HttpApi, Properties: {Path: /slow, Method: GET}}}
  Store:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.store
      Environment: {Variables: {BUCKET: !Ref Bucket, TABLE: !Ref Table}}
      Events: {Post: {Type: HttpApi, Properties: {Path: /store, Method: POST}}}
  Bucket:
    Type: AWS::S3::Bucket
    Properties: {BucketName: soak-bucket}
  Table:
    Type: AWS::Serverless::SimpleTable
    Properties: {TableName: soak-table}
"""

APP = """\
import os, time, uuid
import boto3

# Only Store has a bucket and a table; created once per worker, as functions do.
s3 = boto3.client("s3") if "BUCKET" in os.environ else None
table = boto3.resource("dynamodb").Table(os.environ["TABLE"]) if "TABLE" in os.environ else None

def fast(event, context):
    return {"statusCode": 200, "body": "ok"}

def fails(event, context):
    raise RuntimeError("on purpose")

def slow(event, context):
    time.sleep(5)

def store(event, context):
    key = str(uuid.uuid4())
    s3.put_object(Bucket=os.environ["BUCKET"], Key=key, Body=(event.get("body") or "x").encode())
    s3.delete_object(Bucket=os.environ["BUCKET"], Key=key)
    table.put_item(Item={"id": key, "n": 1})
    table.delete_item(Key={"id": key})
    return {"statusCode": 200, "body": "stored"}
"""

# path, method, the status the mix expects, weight
MIX = [
    ("/fast", "GET", 200, 60),
    ("/store", "POST", 200, 25),
    ("/fails", "GET", 502, 10),
    ("/slow", "GET", 502, 5),
]
# Per function, at most the pool's cap (`--max-workers`).
MAX_WORKERS = 4


def esb(binary, project, *args, timeout=600):
    env = dict(os.environ, NO_COLOR="1", ESB_S3_PORT="0", ESB_DYNAMODB_PORT="0")
    return subprocess.run([binary, *args], cwd=project, env=env, capture_output=True,
                          text=True, timeout=timeout)


def get(addr, path):
    connection = http.client.HTTPConnection(addr[0], addr[1], timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def sample(pid, admin):
    status = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            name, _, value = line.partition(":")
            status[name] = value.split()
    _, metrics = get(admin, "/_esb/metrics")
    cold_starts = sum(float(line.rsplit(" ", 1)[1]) for line in metrics.decode().splitlines()
                      if line.startswith("esb_cold_starts_total"))
    _, body = get(admin, "/_esb/metrics/containers")
    workers = json.loads(body)["containers"]
    per_function = {}
    for worker in workers:
        per_function[worker["function"]] = per_function.get(worker["function"], 0) + 1
    return {
        "time": round(time.time(), 1),
        "rss_kib": int(status["VmRSS"][0]),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "threads": int(status["Threads"][0]),
        "workers": len(workers),
        "max_workers_of_a_function": max(per_function.values(), default=0),
        "cold_starts": int(cold_starts),
    }


class Traffic:
    """Client threads sending the mix until `stop` is set; counts answers and surprises."""

    def __init__(self, addr, clients):
        self.addr = addr
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.requests = 0
        self.unexpected = []
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(clients)]

    def run(self):
        paths = [m for m in MIX for _ in range(m[3])]
        connection = http.client.HTTPConnection(*self.addr, timeout=30)
        while not self.stop.is_set():
            path, method, expected, _ = random.choice(paths)
            try:
                body = b"payload" if method == "POST" else None
                connection.request(method, path, body=body)
                response = connection.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as error:
                status = repr(error)
                connection.close()
                connection = http.client.HTTPConnection(*self.addr, timeout=30)
            with self.lock:
                self.requests += 1
                if status != expected and len(self.unexpected) < 20:
                    self.unexpected.append({"path": path, "status": status})
            time.sleep(0.01)


def quarter_medians(samples, key):
    quarter = max(1, len(samples) // 4)
    first = statistics.median(s[key] for s in samples[:quarter])
    last = statistics.median(s[key] for s in samples[-quarter:])
    return first, last


def verdict(samples, traffic):
    failures = []
    if len(samples) < 4:
        failures.append(f"only {len(samples)} samples after warm-up: run longer")
        return failures
    first, last = quarter_medians(samples, "rss_kib")
    if last > first * 1.25 + 16 * 1024:
        failures.append(f"resident memory grew from {first} KiB to {last} KiB")
    for key, bound in (("fds", 32), ("threads", 8)):
        first, last = quarter_medians(samples, key)
        if last > first + bound:
            failures.append(f"{key} grew from {first} to {last}")
    most = max(s["max_workers_of_a_function"] for s in samples)
    if most > MAX_WORKERS:
        failures.append(f"{most} workers of one function, over the cap of {MAX_WORKERS}")
    if traffic.unexpected:
        failures.append(f"unexpected answers: {traffic.unexpected}")
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--every", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=60)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--esb", default=shutil.which("esb") or os.path.expanduser("~/.cargo/bin/esb"))
    parser.add_argument("--out")
    args = parser.parse_args()
    out = open(args.out, "w") if args.out else None

    def emit(record):
        line = json.dumps(record)
        print(line, flush=True)
        if out:
            out.write(line + "\n")
            out.flush()

    project = tempfile.mkdtemp(prefix="esb-soak-")
    os.makedirs(os.path.join(project, "src"))
    with open(os.path.join(project, "template.yaml"), "w") as f:
        f.write(TEMPLATE)
    with open(os.path.join(project, "src", "app.py"), "w") as f:
        f.write(APP)
    up = esb(args.esb, project, "up", "--http", "--port", "0", "--idle-timeout", "5",
             "--max-workers", str(MAX_WORKERS))
    if up.returncode != 0:
        sys.exit(f"esb up failed:\n{up.stderr}")
    failures = ["the soak stopped before its verdict"]
    try:
        with open(os.path.join(project, ".esb", "run", "state.json")) as f:
            state = json.load(f)
        host, port = state["addr"].rsplit(":", 1)
        admin_host, admin_port = state["admin"].rsplit(":", 1)
        addr, admin = (host, int(port)), (admin_host, int(admin_port))
        traffic = Traffic(addr, args.clients)
        for thread in traffic.threads:
            thread.start()
        started = time.monotonic()
        samples = []
        while time.monotonic() - started < args.seconds:
            time.sleep(min(args.every, max(0.0, args.seconds - (time.monotonic() - started))))
            record = sample(state["pid"], admin)
            record["elapsed_s"] = round(time.monotonic() - started)
            record["requests"] = traffic.requests
            emit(record)
            if record["elapsed_s"] >= args.warmup:
                samples.append(record)
        traffic.stop.set()
        for thread in traffic.threads:
            thread.join(timeout=40)
        failures = verdict(samples, traffic)
        emit({"verdict": "fail" if failures else "pass", "failures": failures,
              "seconds": args.seconds, "requests": traffic.requests,
              "requests_per_second": round(traffic.requests / args.seconds, 1)})
    finally:
        esb(args.esb, project, "down", "--volumes", "--yes", timeout=120)
        if failures:
            # What the box said about them, before the project goes.
            log = os.path.join(project, ".esb", "run", "esb.log")
            with open(log, errors="replace") as f:
                errors = [line.rstrip() for line in f if "WARN" in line or "ERROR" in line]
            emit({"box_log_warnings": errors[-30:]})
        shutil.rmtree(project, ignore_errors=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
