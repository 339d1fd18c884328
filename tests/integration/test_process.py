# SPDX-License-Identifier: Apache-2.0
"""The quiverd process: sub-commands, configuration layering, the data
directory lock, signals and draining, restart persistence, log formats."""
import http.client
import json
import re
import signal
import socket
import subprocess
import time

import pytest
import yaml

from conftest import QUIVERD, REPO, clean_env, free_port
from helpers import (create_custom, create_quick, describe, field, ok, pk, uniq, vec)


def run(args, env=None, timeout=20):
    return subprocess.run([QUIVERD] + list(args), capture_output=True, text=True,
                          env=clean_env(env), timeout=timeout, stdin=subprocess.DEVNULL)


def project_version():
    m = re.search(r"version:\s*'([^']+)'", (REPO / "meson.build").read_text())
    return m.group(1)


# ---- sub-commands ----------------------------------------------------------------------------

def test_help(quiverd_bin):
    for args in (["--help"], ["-h"], ["serve", "--help"]):
        r = run(args)
        assert r.returncode == 0, r
        assert "usage: quiverd" in r.stdout
        for text in ("--server.body_limit_bytes", "QUIVER__SERVER__BODY_LIMIT_BYTES",
                     "--server.listen", "--log.format", "--config"):
            assert text in r.stdout, text


def test_version(quiverd_bin):
    r = run(["version"])
    assert r.returncode == 0
    assert r.stdout.startswith("quiverd %s" % project_version()), r.stdout


def test_unknown_command(quiverd_bin):
    r = run(["frobnicate"])
    assert r.returncode != 0
    assert "frobnicate" in r.stderr


def test_config_defaults(quiverd_bin):
    r = run(["config"])
    assert r.returncode == 0, r.stderr
    cfg = yaml.safe_load(r.stdout)
    assert cfg["server"]["listen"] == "127.0.0.1:19530"  # Milvus's port (REF §1)
    assert cfg["server"]["body_limit_bytes"] == 64 << 20
    assert cfg["server"]["request_timeout_ms"] == 30000  # proxy.http.requestTimeoutMs
    assert cfg["server"]["strict_http_status"] is False
    assert cfg["server"]["cors_origins"] == "*"
    assert cfg["log"] == {"level": "info", "format": "text"}


def test_config_layering(quiverd_bin, tmp_path):
    conf = tmp_path / "quiver.yaml"
    conf.write_text(
        "server:\n"
        "  listen: 127.0.0.1:1111\n"
        "  body_limit_bytes: 2MiB\n"
        "  threads: 3\n"
        "  idle_timeout_s: 7\n"
        "  cors_origins: [https://a.example, https://b.example]\n"
        "log:\n"
        "  level: warn\n")
    env = {"QUIVER__SERVER__THREADS": "5", "QUIVER__SERVER__IDLE_TIMEOUT_S": "8",
           "QUIVER__LOG__FORMAT": "json"}
    r = run(["config", "--config", str(conf), "--server.idle_timeout_s", "9",
             "--log-format=text"], env=env)
    assert r.returncode == 0, r.stderr
    cfg = yaml.safe_load(r.stdout)
    s = cfg["server"]
    assert s["listen"] == "127.0.0.1:1111"          # file beats default
    assert s["body_limit_bytes"] == 2 << 20         # file, with a unit suffix
    assert s["cors_origins"] == "https://a.example,https://b.example"  # a YAML list
    assert s["threads"] == 5                        # env beats file
    assert s["idle_timeout_s"] == 9                 # flag beats env and file
    assert s["max_connections"] == 1024             # untouched default
    assert cfg["log"] == {"level": "warn", "format": "text"}  # file; flag beats env
    # nothing is secret yet, so nothing is redacted
    assert "redacted" not in r.stdout
    # --config=FILE works too, and env alone beats the file
    r = run(["config", "--config=%s" % conf], env={"QUIVER__SERVER__LISTEN": "127.0.0.1:2222"})
    assert yaml.safe_load(r.stdout)["server"]["listen"] == "127.0.0.1:2222"


def test_config_file_errors(quiverd_bin, tmp_path):
    r = run(["config", "--config", str(tmp_path / "absent.yaml")])
    assert r.returncode != 0 and "absent.yaml" in r.stderr, r
    bad = tmp_path / "bad.yaml"
    bad.write_text("server:\n  threads: many\n")
    r = run(["config", "--config", str(bad)])
    assert r.returncode != 0 and "server.threads" in r.stderr and "bad.yaml" in r.stderr, r
    bad.write_text("server:\n  nonsense_key: 1\n")
    r = run(["config", "--config", str(bad)])
    assert r.returncode != 0 and "server.nonsense_key" in r.stderr, r
    bad.write_text("server: [unclosed\n")
    r = run(["config", "--config", str(bad)])
    assert r.returncode != 0 and "bad.yaml" in r.stderr, r


@pytest.mark.parametrize("args,env,option", [
    (["--server.threads", "abc"], None, "server.threads"),
    (["--server.threads", "100000"], None, "server.threads"),
    (["--server.body_limit_bytes", "12XB"], None, "server.body_limit_bytes"),
    (["--server.body_limit_bytes", "10"], None, "server.body_limit_bytes"),
    (["--server.strict_http_status", "maybe"], None, "server.strict_http_status"),
    ([], {"QUIVER__SERVER__MAX_CONNECTIONS": "0"}, "server.max_connections"),
    ([], {"QUIVER__SERVER__REQUEST_TIMEOUT_MS": "-5"}, "server.request_timeout_ms"),
    (["--log.level", "verbose"], None, "log.level"),
    (["--log.format", "xml"], None, "log.format"),
    (["--storage.io_backend", "floppy"], None, "storage.io_backend"),
    (["--server.no_such_option", "1"], None, "server.no_such_option"),
    (["--server.threads"], None, "server.threads"),
])
def test_bad_option_value_is_refused(quiverd_bin, tmp_path, args, env, option):
    for cmd in (["config"], ["serve", "--listen", "127.0.0.1:%d" % free_port(),
                             "--data-dir", str(tmp_path / "d")]):
        r = run(cmd + args, env=env)
        assert r.returncode not in (0, None), (cmd, r)
        assert option in r.stderr + r.stdout, (cmd, r)


def test_healthcheck(node):
    r = run(["healthcheck", "--listen", node.listen])
    assert r.returncode == 0, r
    r = run(["healthcheck"], env={"QUIVER__SERVER__LISTEN": node.listen})
    assert r.returncode == 0, r
    r = run(["healthcheck", "--listen", "127.0.0.1:%d" % free_port()])
    assert r.returncode != 0 and r.stderr, r
    assert node.stop() == 0
    r = run(["healthcheck", "--listen", node.listen])
    assert r.returncode != 0, r


# ---- the data directory lock ---------------------------------------------------------------

def test_second_process_on_same_data_dir_is_refused(node, node_factory):
    other = node_factory("intruder", data_dir=node.data_dir, start=False)
    other.start(wait=False)
    rc = other.wait(timeout=10)
    assert rc != 0
    log = other.log_text()
    assert "lock" in log.lower() and "in use" in log, log
    ok(node.get("/readyz"))  # the owner is unharmed


def test_restart_right_after_kill9(node):
    name = create_quick(node)
    assert node.kill9() == -signal.SIGKILL
    node.start()  # the flock died with the process
    assert describe(node, name)["collectionName"] == name


# ---- SIGTERM ---------------------------------------------------------------------------------

def wait_in_flight(n, at_least, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = re.search(r"^quiver_http_requests_in_flight (\S+)$", n.get("/metrics").text, re.M)
        if m and float(m.group(1)) >= at_least:
            return
        time.sleep(0.02)
    raise AssertionError("the in-flight request never registered")


def test_sigterm_drains(node_factory):
    n = node_factory(flags=["--server.drain_timeout_ms", "8000"])
    keep = http.client.HTTPConnection("127.0.0.1", n.port, timeout=10)
    keep.request("GET", "/readyz")
    first = keep.getresponse()
    assert first.status == 200
    first.read()
    # a request in flight: headers sent, body not finished
    slow = socket.create_connection(("127.0.0.1", n.port), timeout=10)
    slow.sendall(b"POST /v2/vectordb/collections/list HTTP/1.1\r\nHost: x\r\n"
                 b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{")
    wait_in_flight(n, 2)  # the slow request, and the /metrics request asking
    n.signal(signal.SIGTERM)
    n.wait_log("draining")
    # the keep-alive connection opened before the signal now sees 503
    keep.request("GET", "/readyz")
    r = keep.getresponse()
    body = json.loads(r.read())
    assert r.status == 503, body
    assert body["code"] != 0 and "draining" in body["message"]
    # new connections are no longer accepted
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", n.port), timeout=2).recv(1)
    assert n.running, "exited while a request was in flight"
    # the in-flight request completes normally
    slow.sendall(b"}")
    resp = b""
    while b"\r\n\r\n" not in resp or not resp.rstrip().endswith(b"}"):
        chunk = slow.recv(4096)
        if not chunk:
            break
        resp += chunk
    assert resp.startswith(b"HTTP/1.1 200"), resp
    assert b'"code":0' in resp
    slow.close()
    keep.close()
    assert n.wait(timeout=10) == 0
    assert "stopped cleanly" in n.log_text()


def test_sigterm_when_idle_exits_zero(node):
    assert node.stop() == 0
    assert "stopped cleanly" in node.log_text()
    assert node.restart().get("/readyz").status == 200


# ---- persistence -----------------------------------------------------------------------------

def _snapshot(n, layout):
    """Everything the catalog API shows about the given databases and collections."""
    snap = {"databases": ok(n.post("databases/list"))}
    for db, colls in layout.items():
        h = {"dbName": db}
        snap[db] = {"db": ok(n.post("databases/describe", h)),
                    "collections": sorted(ok(n.post("collections/list", h))),
                    "aliases": sorted(ok(n.post("aliases/list", h)))}
        for c in colls:
            b = dict(h, collectionName=c)
            parts = ok(n.post("partitions/list", b))
            snap[db][c] = {
                "describe": ok(n.post("collections/describe", b)),
                "partitions": parts,
                "partition_state": {p: ok(n.post("collections/get_load_state",
                                                  dict(b, partitionNames=[p])))
                                    for p in parts},
                "load": ok(n.post("collections/get_load_state", b)),
                "indexes": [ok(n.post("indexes/describe", dict(b, indexName=i)))
                            for i in ok(n.post("indexes/list", b))],
            }
    return snap


def test_restart_persists_the_catalog(node):
    db = uniq("pdb")
    ok(node.post("databases/create", {"dbName": db, "properties": {"mmap.enabled": True}}))
    a = create_custom(node, fields=[
        pk("pk", "VarChar", elementTypeParams={"max_length": 32}),
        field("n", "Int32", defaultValue=7),
        field("tag", "VarChar", elementTypeParams={"max_length": 16}, nullable=True),
        field("meta", "JSON"),
        field("arr", "Array", elementDataType="Int64", elementTypeParams={"max_capacity": 8}),
        vec("v", 8)],
        index=[{"fieldName": "v", "indexName": "v_hnsw", "metricType": "L2",
                "indexType": "HNSW", "params": {"M": 16, "efConstruction": 64}}],
        params={"consistencyLevel": "Strong", "shardsNum": 2, "ttlSeconds": 60},
        schema_extra={"enableDynamicField": True}, description="persisted")
    ok(node.post("collections/alter_properties",
                 {"collectionName": a, "properties": {"mmap.enabled": "true"}}))
    ok(node.post("partitions/create", {"collectionName": a, "partitionName": "p1"}))
    ok(node.post("partitions/create", {"collectionName": a, "partitionName": "p2"}))
    ok(node.post("partitions/load", {"collectionName": a, "partitionNames": ["p1"]}))
    ok(node.post("partitions/release", {"collectionName": a, "partitionNames": ["p2"]}))
    ok(node.post("aliases/create", {"collectionName": a, "aliasName": uniq("al")}))
    b = create_quick(node, dbName=db, dim=16, metricType="IP")
    ok(node.post("collections/release", {"collectionName": b, "dbName": db}))
    ok(node.post("aliases/create", {"collectionName": b, "aliasName": uniq("al"), "dbName": db}))
    ok(node.post("indexes/alter_properties", {"collectionName": b, "dbName": db,
                                              "indexName": "vector",
                                              "properties": {"mmap.enabled": True}}))
    c = create_custom(node, index=None)  # never indexed, never loaded
    layout = {"default": [a, c], db: [b]}
    before = _snapshot(node, layout)
    assert before[db]["db"]["properties"] == [{"key": "mmap.enabled", "value": "true"}]
    assert before["default"][a]["load"]["loadState"] == "LoadStateLoaded"
    assert before[db][b]["load"]["loadState"] == "LoadStateNotLoad"

    node.restart()
    assert _snapshot(node, layout) == before
    node.kill9()
    node.start()
    assert _snapshot(node, layout) == before
    # and the node still takes changes after restarts
    ok(node.post("collections/drop", {"collectionName": c}))
    node.restart()
    assert c not in ok(node.post("collections/list"))


# ---- logs ------------------------------------------------------------------------------------

def test_json_logs(node_factory):
    n = node_factory(env={"QUIVER__LOG__FORMAT": "json"}, flags=["--log-level", "debug"])
    ok(n.post("collections/list", headers={"X-Request-Id": "json-ok-1"}))
    n.post("collections/describe", {"collectionName": "nope"},
           headers={"X-Request-Id": "json-req-1"})
    n.wait_log('"json-req-1"')
    assert n.stop() == 0
    lines = [l for l in n.log_text().splitlines() if not l.startswith("==== start")]
    assert lines
    records = [json.loads(l) for l in lines]  # every line is one JSON object
    for rec in records:
        assert {"ts", "level", "mod", "msg"} <= set(rec), rec
        assert rec["level"] in ("debug", "info", "warn", "error")
    by_id = {}
    for rec in records:
        by_id.setdefault(rec.get("request_id"), []).append(rec)
    assert "json-req-1" in by_id and "json-ok-1" in by_id, records
    assert any("/v2/vectordb/collections/describe" in r["msg"] for r in by_id["json-req-1"])
    assert any("stopped cleanly" in r["msg"] for r in records)
    # lines outside any request carry no request id
    assert any("request_id" not in r for r in records)
