"""The logs role's VictoriaLogs API through Python `requests`, as users' scripts call it.

Usage: requests_client.py http://127.0.0.1:PORT  (prints "all checks passed")."""

import gzip
import json
import sys
import threading
import time

import requests

BASE = sys.argv[1]
S = requests.Session()


def rows(response):
    assert response.status_code == 200, (response.status_code, response.text)
    return [json.loads(line) for line in response.text.splitlines() if line]


def query(q, **params):
    return S.get(f"{BASE}/select/logsql/query", params={"query": q, **params}, timeout=30)


def ingest_jsonline():
    lines = "\n".join(
        json.dumps({
            "_msg": f"[{'ERROR' if i % 2 else 'INFO'}]\thello {i}",
            "level": "ERROR" if i % 2 else "INFO",
            "trace_id": f"Root=1-00000001-{i:024x};Sampled=1",
            "container_name": "fn-a",
            "job": "lambda",
            "req": {"method": "GET", "status": 200 + i},
        })
        for i in range(10)
    )
    r = S.post(f"{BASE}/insert/jsonline", params={"_stream_fields": "container_name,job"},
               data=lines, headers={"Content-Type": "application/stream+json"}, timeout=30)
    assert r.status_code == 200, r.text
    # A gzip body, parameters as VL-* headers.
    body = gzip.compress(json.dumps({"message": "zipped", "svc": "gw"}).encode())
    r = S.post(f"{BASE}/insert/jsonline", data=body, timeout=30,
               headers={"Content-Encoding": "gzip", "VL-Msg-Field": "message", "VL-Stream-Fields": "svc"})
    assert r.status_code == 200, r.text
    r = S.post(f"{BASE}/insert/jsonline", data="not json\n", timeout=30)
    assert r.status_code == 400 and "cannot parse" in r.text, (r.status_code, r.text)
    r = S.get(f"{BASE}/insert/jsonline", timeout=30)
    assert r.status_code == 405, r.status_code


def check_queries():
    newest = rows(query('{container_name="fn-a"}', limit=3))
    assert [row["_msg"].split()[-1] for row in newest] == ["7", "8", "9"], newest
    for row in newest:
        assert all(isinstance(v, str) for v in row.values()), row
        assert row["_time"].endswith("Z") and "T" in row["_time"], row
        assert row["_stream"] == '{container_name="fn-a",job="lambda"}', row
        assert len(row["_stream_id"]) == 48, row
    assert rows(query("req.status:205 | fields req.method"))[0] == {"req.method": "GET"}
    needle = rows(query('trace_id:"Root=1-00000001-000000000000000000000007"'))
    assert len(needle) == 1 and needle[0]["level"] == "ERROR", needle
    # error does not match ERROR; phrases need word boundaries.
    assert rows(query("error")) == []
    assert len(rows(query("ERROR"))) == 5
    assert rows(query('"ello 1"')) == []
    # A POSTed form, as curl -d sends it.
    r = S.post(f"{BASE}/select/logsql/query", data={"query": "level:ERROR | stats count() n"}, timeout=30)
    assert rows(r) == [{"n": "5"}], r.text
    r = query("foo(")
    assert r.status_code == 400 and r.text.startswith("cannot parse query [foo(]: "), r.text
    assert r.headers["Content-Type"].startswith("text/plain"), r.headers
    assert rows(query("zipped"))[0]["_stream"] == '{svc="gw"}'


def check_other_ingest():
    r = S.get(f"{BASE}/insert/elasticsearch/", timeout=30)
    assert r.status_code == 200 and r.json()["version"]["number"] == "8.9.0", r.text
    assert r.headers["X-Elastic-Product"] == "Elasticsearch"
    bulk = '{"create":{}}\n{"message":"from bulk","@timestamp":"2026-01-01T00:00:00Z"}\n'
    r = S.post(f"{BASE}/insert/elasticsearch/_bulk", params={"_msg_field": "message"}, data=bulk,
               headers={"Content-Type": "application/x-ndjson"}, timeout=30)
    assert r.status_code == 200 and r.json()["items"][0]["create"]["status"] == 201, r.text
    push = {"streams": [{"stream": {"job": "loki"}, "values": [[str(time.time_ns()), "via loki", {"k": "v"}]]}]}
    r = S.post(f"{BASE}/insert/loki/api/v1/push", json=push, timeout=30)
    assert r.status_code == 204, (r.status_code, r.text)
    bulk_row = rows(query('"from bulk"'))[0]
    assert bulk_row["@timestamp"] == "2026-01-01T00:00:00Z", bulk_row
    assert rows(query('{job="loki"}'))[0]["k"] == "v"


def check_listings():
    hits = S.get(f"{BASE}/select/logsql/hits", params={"query": '{job="lambda"}', "step": "1h", "field": "level"},
                 timeout=30).json()["hits"]
    assert sorted(h["fields"]["level"] for h in hits) == ["ERROR", "INFO"], hits
    assert sum(h["total"] for h in hits) == 10
    names = S.get(f"{BASE}/select/logsql/field_names", params={"query": '{job="lambda"}'}, timeout=30).json()
    assert {"_msg", "_time", "level", "req.status"} <= {v["value"] for v in names["values"]}, names
    values = S.get(f"{BASE}/select/logsql/field_values", params={"query": "*", "field": "level"}, timeout=30).json()
    assert {"value": "ERROR", "hits": 5} in values["values"], values
    streams = S.get(f"{BASE}/select/logsql/streams", params={"query": "*"}, timeout=30).json()
    assert {"value": '{container_name="fn-a",job="lambda"}', "hits": 10} in streams["values"], streams
    r = S.post(f"{BASE}/internal/force_flush", timeout=30)
    assert r.status_code == 200
    assert len(rows(query('{container_name="fn-a"}'))) == 10


def check_tail():
    r = S.get(f"{BASE}/select/logsql/tail", params={"query": "stats_pipe | stats count()"}, timeout=30)
    assert r.status_code == 400, r.text

    def write_later():
        time.sleep(0.5)
        requests.post(f"{BASE}/insert/jsonline", data=json.dumps({"_msg": "live line", "fn": "t"}), timeout=30)

    started = time.monotonic()
    with S.get(f"{BASE}/select/logsql/tail", params={"query": '"live line"'}, stream=True, timeout=10) as r:
        assert r.status_code == 200, r.text
        threading.Thread(target=write_later, daemon=True).start()
        for line in r.iter_lines(chunk_size=1):
            if line:
                assert json.loads(line)["_msg"] == "live line"
                break
    latency = time.monotonic() - started - 0.5
    assert latency < 1.5, latency


ingest_jsonline()
check_queries()
check_other_ingest()
check_listings()
check_tail()
print("all checks passed")
