# SPDX-License-Identifier: Apache-2.0
"""Native endpoints and HTTP transport: probes, OpenAPI, routing errors, CORS,
request ids, body limits, gzip both ways, timeouts, strict statuses, metrics,
body decoding (REF §1)."""
import gzip
import json
import re
import socket
import subprocess
import zlib

import pytest
import yaml

from conftest import REPO
from helpers import (BAD_JSON, COLLECTION_NOT_FOUND, MISSING_PARAM, TIMEOUT, create_quick, err,
                     ok, uniq)

LIMIT = 65536  # body limit of the limited_node fixture


@pytest.fixture(scope="module")
def limited_node(node_factory_module):
    return node_factory_module("limited", flags=["--server.body_limit_bytes", str(LIMIT)])


@pytest.fixture(scope="module")
def node_factory_module(quiverd_bin, tmp_path_factory):
    from conftest import NodeFactory
    f = NodeFactory(tmp_path_factory.mktemp("system"))
    yield f
    f.cleanup()


def raw_http(port, data, timeout=5.0):
    """Send raw bytes, read until the server closes. Returns (status, headers, body, closed)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    buf, closed = b"", False
    try:
        s.sendall(data)
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            buf += chunk
    finally:
        s.close()
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0].startswith("HTTP/") else None
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    if "content-length" in headers:
        body = body[:int(headers["content-length"])]
    return status, headers, body, closed


# ---- probes and documents ------------------------------------------------------------------

def test_root_describes_the_node(shared_node):
    data = ok(shared_node.get("/"))
    assert data["name"] == "quiver"
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", data["version"])
    assert data["nodeId"] == "node-%d" % shared_node.port
    assert data["limits"]["maxBodyBytes"] == 64 << 20  # server.body_limit_bytes default 64MiB
    assert data["limits"]["maxDim"] == 32768


@pytest.mark.parametrize("path,key,value", [("/livez", "status", "alive"),
                                            ("/healthz", "status", "healthy"),
                                            ("/readyz", "ready", True)])
def test_probes(shared_node, path, key, value):
    r = shared_node.get(path)
    assert r.headers["Content-Type"].startswith("application/json")
    assert ok(r)[key] == value
    head = shared_node.request("HEAD", path)
    assert head.status == 200


def test_openapi_served_and_covers_every_route(shared_node):
    r = shared_node.get("/openapi.yaml")
    assert r.status == 200
    assert "yaml" in r.headers["Content-Type"]
    doc = yaml.safe_load(r.text)
    assert str(doc["openapi"]).startswith("3.")
    # every POST route of the route table is documented
    routes = re.findall(r'POST\("([^"]+)"', (REPO / "src/api/routes.c").read_text())
    assert len(routes) > 30
    missing = [p for p in routes if "/v2/vectordb/" + p not in doc["paths"]]
    assert not missing, missing
    for p in ("/", "/livez", "/healthz", "/readyz", "/metrics", "/openapi.yaml"):
        assert p in doc["paths"]


# ---- routing errors ----------------------------------------------------------------------

def test_unknown_route_is_404_with_json_envelope(shared_node):
    for method, path in (("GET", "/nope"), ("POST", "/v2/vectordb/collections/nope"),
                         ("POST", "/v2/vectordb/"), ("GET", "/v1/vector/collections")):
        r = shared_node.request(method, path, data=b"{}")
        assert r.status == 404, (method, path, r)
        assert r.headers["Content-Type"].startswith("application/json")
        assert r.code not in (None, 0), r
        assert path in r.message, r


def test_wrong_method_is_405(shared_node):
    r = shared_node.get("collections/list")
    assert r.status == 405, r
    assert r.code not in (None, 0)
    assert "POST" in r.headers["Allow"]
    r = shared_node.post("/livez")
    assert r.status == 405, r
    for method in ("PUT", "DELETE", "PATCH"):
        assert shared_node.request(method, "/v2/vectordb/collections/list").status == 405


# ---- CORS --------------------------------------------------------------------------------

def test_cors_preflight(shared_node):
    hdrs = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,db-name"}
    for path in ("/v2/vectordb/collections/list", "/anything/at/all"):
        r = shared_node.request("OPTIONS", path, headers=hdrs)
        assert r.status == 204, r
        assert r.content == b""
        assert r.headers["Access-Control-Allow-Origin"] == "*"
        methods = r.headers["Access-Control-Allow-Methods"]
        assert "POST" in methods and "GET" in methods
        allowed = [h.strip().lower() for h in r.headers["Access-Control-Allow-Headers"].split(",")]
        for h in ("content-type", "authorization", "db-name", "request-timeout",
                  "accept-type-allow-int64"):
            assert h in allowed, (h, allowed)


def test_cors_headers_on_normal_responses(shared_node):
    for r in (shared_node.get("/livez"), shared_node.post("collections/list"),
              shared_node.post("collections/describe", {"collectionName": "nope"}),
              shared_node.get("/nope")):
        assert r.headers["Access-Control-Allow-Origin"] == "*", r


def test_cors_configured_origins(node_factory):
    n = node_factory(env={"QUIVER__SERVER__CORS_ORIGINS": "https://a.example, https://b.example"})
    for origin in ("https://a.example", "https://b.example"):
        r = n.post("collections/list", headers={"Origin": origin})
        ok(r)
        assert r.headers["Access-Control-Allow-Origin"] == origin
        assert "Origin" in r.headers.get("Vary", "")
        pre = n.request("OPTIONS", "/v2/vectordb/collections/list",
                        headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
        assert pre.status == 204
        assert pre.headers["Access-Control-Allow-Origin"] == origin
    for hdrs in ({"Origin": "https://evil.example"}, {}):
        r = n.post("collections/list", headers=hdrs)
        ok(r)
        assert "Access-Control-Allow-Origin" not in r.headers, r.headers
    pre = n.request("OPTIONS", "/v2/vectordb/collections/list",
                    headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in pre.headers


# ---- request ids -------------------------------------------------------------------------

def test_request_id_echoed_and_generated(shared_node):
    r = shared_node.post("collections/list", headers={"X-Request-Id": "my-req-42"})
    assert r.headers["X-Request-Id"] == "my-req-42"
    r = shared_node.get("/nope", headers={"X-Request-Id": "err-req-1"})
    assert r.headers["X-Request-Id"] == "err-req-1"
    ids = {shared_node.get("/livez").headers["X-Request-Id"] for _ in range(3)}
    assert len(ids) == 3 and all(ids)
    # an unusable id (too long, or with spaces) is replaced by a generated one
    for bad in ("x" * 200, "has space"):
        got = shared_node.get("/livez", headers={"X-Request-Id": bad}).headers["X-Request-Id"]
        assert got and got != bad
    # the id shows up in the log lines of that request
    shared_node.post("collections/describe", {"collectionName": "nope"},
                     headers={"X-Request-Id": "trace-me-7"})
    shared_node.wait_log("trace-me-7")


# ---- body limit and gzip -------------------------------------------------------------------

def test_body_over_limit_with_content_length_is_413_and_closes(limited_node):
    req = ("POST /v2/vectordb/collections/list HTTP/1.1\r\nHost: x\r\n"
           "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (LIMIT + 1)).encode()
    status, headers, body, closed = raw_http(limited_node.port, req)
    assert status == 413, (status, headers, body)
    assert headers.get("connection", "").lower() == "close"
    doc = json.loads(body)
    assert doc["code"] != 0
    assert str(LIMIT) in doc["message"] and "body_limit_bytes" in doc["message"], doc
    assert closed, "connection not closed after 413"
    # the same through a client that sends the whole body
    r = limited_node.post("collections/list", b"{" + b" " * LIMIT + b"}")
    assert r.status == 413, r
    assert str(LIMIT) in r.message
    # at the limit exactly is fine
    ok(limited_node.post("collections/list", b"{" + b" " * (LIMIT - 2) + b"}"))


def test_chunked_body_over_limit_is_413(limited_node):
    def chunks():
        yield b'{"dbName":"default","pad":"'
        for _ in range(12):
            yield b"x" * 8192
        yield b'"}'
    r = limited_node.post("collections/list", chunks())
    assert r.status == 413, r
    assert str(LIMIT) in r.message
    assert r.headers.get("Connection", "").lower() == "close"
    # a small chunked body is fine
    ok(limited_node.post("collections/list", iter([b'{"dbName":', b'"default"}'])))


def test_gzip_request_body(limited_node):
    name = uniq("gz")
    body = gzip.compress(json.dumps({"collectionName": name, "dimension": 8}).encode())
    ok(limited_node.post("collections/create", body, headers={"Content-Encoding": "gzip"}))
    ok(limited_node.post("collections/describe", zlib.compress(
        json.dumps({"collectionName": name}).encode()), headers={"Content-Encoding": "deflate"}))
    # a body that only fits the limit once compressed is accepted
    padded = json.dumps({"collectionName": name, "pad": "y" * (LIMIT // 2)}).encode()
    ok(limited_node.post("collections/has", gzip.compress(padded),
                         headers={"Content-Encoding": "gzip"}))
    # not actually gzip: a JSON-format error, not a crash
    err(limited_node.post("collections/list", b"not gzip at all",
                          headers={"Content-Encoding": "gzip"}), BAD_JSON)


def test_gzip_bomb_is_413(limited_node):
    bomb = gzip.compress(b'{"collectionName":"' + b"a" * (4 << 20) + b'"}', 9)
    assert len(bomb) < LIMIT
    r = limited_node.post("collections/describe", bomb, headers={"Content-Encoding": "gzip"})
    assert r.status == 413, r
    assert str(LIMIT) in r.message
    ok(limited_node.get("/livez"))


def test_gzip_response_for_large_bodies(node):
    names = [uniq("a_rather_long_collection_name_to_make_the_listing_big_" + "x" * 60)
             for _ in range(60)]
    for n in names:
        ok(node.post("collections/create", {"collectionName": n, "dimension": 2}))
    r = node.post("collections/list", headers={"Accept-Encoding": "gzip"})
    assert r.headers.get("Content-Encoding") == "gzip", r.headers
    assert sorted(ok(r)) == sorted(names)  # requests decoded it
    assert int(r.headers["Content-Length"]) < len(r.content)
    r = node.post("collections/list", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in r.headers
    assert sorted(ok(r)) == sorted(names)
    # small bodies are not compressed
    r = node.get("/livez", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in r.headers


# ---- timeouts and statuses -----------------------------------------------------------------

def test_request_timeout_header_gives_408(shared_node):
    r = shared_node.post("collections/list", headers={"Request-Timeout": "0.000001"})
    assert r.status == 408, r
    assert r.json == {"code": TIMEOUT, "message": "request timeout"} or (
        r.code == TIMEOUT and "timeout" in r.message), r
    # a generous timeout and a garbage one both leave the request alone
    ok(shared_node.post("collections/list", headers={"Request-Timeout": "30"}))
    ok(shared_node.post("collections/list", headers={"Request-Timeout": "soon"}))


def test_business_errors_are_http_200_by_default(shared_node):
    r = shared_node.post("collections/describe", {"collectionName": "missing_one"})
    err(r, COLLECTION_NOT_FOUND, "can't find collection", status=200)
    err(shared_node.post("collections/describe", {}), MISSING_PARAM, status=200)


def test_strict_http_status(node_factory):
    n = node_factory(env={"QUIVER__SERVER__STRICT_HTTP_STATUS": "true"})
    r = n.post("collections/describe", {"collectionName": "missing_one"})
    err(r, COLLECTION_NOT_FOUND, "can't find collection", status=404)
    r = n.post("collections/describe", {})
    assert r.status == 400 and r.code == MISSING_PARAM, r
    ok(n.post("collections/list"))


# ---- body decoding (REF §1.4) --------------------------------------------------------------

def test_body_decoding_rules(shared_node):
    r = shared_node.post("collections/list", b"")
    err(r, BAD_JSON, "can only accept json format request, the request body should be nil, "
                     "however {} is valid")
    assert isinstance(ok(shared_node.post("collections/list", b"null")), list)
    err(shared_node.post("collections/list", b"{bad"), BAD_JSON,
        "can only accept json format request")
    err(shared_node.post("collections/list", b"[1,2]"), BAD_JSON)
    ok(shared_node.post("collections/list", {"unknownKey": 1, "other": {"x": [1]}}))
    err(shared_node.post("collections/has", {"collectionName": 7}), BAD_JSON,
        "can only accept json format request")
    err(shared_node.post("collections/has", {}), MISSING_PARAM, "missing required parameters")
    # deeply nested garbage is refused, not a stack overflow
    deep = b'{"a":' * 5000 + b"1" + b"}" * 5000
    err(shared_node.post("collections/list", deep), BAD_JSON)


def test_envelope_shape(shared_node):
    name = create_quick(shared_node)
    r = shared_node.post("collections/has", {"collectionName": name})
    assert r.json == {"code": 0, "data": {"has": True}}
    r = shared_node.post("collections/drop", {"collectionName": name})
    assert r.json == {"code": 0, "data": {}}
    r = shared_node.post("collections/describe", {"collectionName": name})
    assert set(r.json) == {"code", "message"}


# ---- metrics -------------------------------------------------------------------------------

def test_metrics_pass_promtool(shared_node):
    ok(shared_node.post("collections/list"))
    shared_node.get("/nope")
    r = shared_node.get("/metrics")
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("text/plain")
    text = r.text
    res = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                         capture_output=True, timeout=30)
    assert res.returncode == 0, res.stdout.decode() + res.stderr.decode()
    assert re.search(r'^quiver_http_requests_total\{[^}]*route="/v2/vectordb/collections/list"'
                     r'[^}]*\} [1-9]', text, re.M), text
    assert re.search(r'^quiver_http_requests_total\{[^}]*code="404"[^}]*\} [1-9]', text, re.M)
    m = re.search(r'^quiver_build_info\{([^}]*)\} 1$', text, re.M)
    assert m and 'version="' in m.group(1), text
    m = re.search(r'^process_resident_memory_bytes (\S+)$', text, re.M)
    assert m and float(m.group(1)) > 1e6, text
    assert re.search(r"^# TYPE quiver_http_request_duration_seconds histogram$", text, re.M)
