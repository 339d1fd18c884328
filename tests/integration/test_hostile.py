# SPDX-License-Identifier: Apache-2.0
"""Hostile requests: every oversized or abusive parameter gets a clear error (no crash, no
hang), the node keeps serving, and its memory stays bounded (VmRSS from /proc).

Covered elsewhere, not repeated here: body over server.body_limit_bytes (413, plain and
chunked) and gzip bombs (test_system.py), JSON nesting of the body (test_system.py
test_body_decoding_rules), filter caps one by one (test_filters.py), admission
(test_admission.py). Here: search/query limits (limit, offset, nq, dim, ef, nprobe,
grouping), filter depth and size, dynamic output field lists (once quadratic: 100k names
took 25 s), batch size, long names and strings, huge id lists, repeated large bodies, and
slow-loris clients (partial headers trickled from many sockets: connections without a
request in progress are closed once connections run short, so others are still served)."""
import socket
import threading
import time

import pytest

from helpers import PARAMETER_INVALID, err, ok

DIM = 8


def rss_kib(node):
    with open("/proc/%d/status" % node.proc.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


@pytest.fixture(scope="module")
def hnode(quiverd_bin, tmp_path_factory):
    """One node for the module: collection h (HNSW) and hi (IVF_FLAT), 3000 rows each."""
    from conftest import NodeFactory
    f = NodeFactory(tmp_path_factory.mktemp("hostile"))
    n = f("hostile")
    for name, index in (("h", {"indexType": "HNSW"}),
                        ("hi", {"indexType": "IVF_FLAT", "params": {"nlist": 4}})):
        ok(n.post("collections/create", {
            "collectionName": name, "dimension": DIM,
            "indexParams": [dict({"fieldName": "vector", "indexName": "vector",
                                  "metricType": "L2"}, **index)]}))
        ok(n.post("entities/insert", {"collectionName": name, "data": [
            {"id": i, "vector": [float(i % 7)] * DIM, "tag": i % 10} for i in range(3000)]}))
    yield n
    f.cleanup()


def search(node, coll="h", **kw):
    body = {"collectionName": coll, "data": [[0.0] * DIM], "limit": 10}
    body.update(kw)
    return node.post("entities/search", body, timeout=60)


@pytest.mark.parametrize("kw, code, needle", [
    ({"limit": 10**9}, 65535, "should be in range [1, 16384]"),
    ({"limit": -1}, 65535, "should be in range [1, 16384]"),
    ({"limit": 10, "offset": 10**12}, 65535, "should be in range [1, 16384]"),
    ({"data": [[0.0] * DIM] * 20000}, PARAMETER_INVALID, "nq (number of search vectors)"),
    ({"data": [[0.0] * 100000]}, 1801, "dimension"),
    ({"searchParams": {"params": {"ef": 10**9}}}, PARAMETER_INVALID, "ef should be"),
    ({"searchParams": {"params": {"ef": -5}}}, PARAMETER_INVALID, "ef should be"),
    ({"limit": 10**6, "groupingField": "id"}, 65535, "should be in range"),
])
def test_search_parameters_out_of_range(hnode, kw, code, needle):
    err(search(hnode, **kw), code, needle)


def test_nprobe_and_query_window(hnode):
    err(search(hnode, coll="hi", searchParams={"params": {"nprobe": 10**9}}),
        PARAMETER_INVALID, "nprobe should be")
    err(hnode.post("entities/query", {"collectionName": "h", "filter": "id >= 0",
                                      "limit": 10**12}), 65535, "max query result window")
    err(hnode.post("collections/create", {"collectionName": "big", "dimension": 10**9}),
        PARAMETER_INVALID, "invalid dimension")


@pytest.mark.parametrize("expr", [
    "(" * 100000 + "id > 0" + ")" * 100000,
    "not " * 100000 + "id > 0",
    "id in [" + ",".join(str(i) for i in range(200000)) + "]",
    " or ".join("id == %d" % i for i in range(8000)),
    "tag == '" + "x" * 200000 + "'",
])
def test_filter_depth_and_size(hnode, expr):
    t = time.monotonic()
    err(hnode.post("entities/query", {"collectionName": "h", "filter": expr, "limit": 1}),
        PARAMETER_INVALID, "failed to create query plan")
    assert time.monotonic() - t < 5


def test_many_dynamic_output_fields_are_cheap(hnode):
    names = ["k%d" % i for i in range(100000)] + ["tag"] * 1000
    t = time.monotonic()
    data = ok(hnode.post("entities/query", {"collectionName": "h", "filter": "id < 3",
                                            "outputFields": names, "limit": 3}, timeout=60))
    assert time.monotonic() - t < 5, "outputFields resolution is quadratic again"
    assert sorted(r["tag"] for r in data) == [0, 1, 2]


def test_batch_names_strings_and_id_lists(hnode):
    r = hnode.post("entities/insert", {"collectionName": "h", "data": [
        {"id": i, "vector": [0.0] * DIM} for i in range(100001)]}, timeout=60)
    assert r.code == PARAMETER_INVALID and "too many rows" in r.message, r
    err(hnode.post("collections/create", {"collectionName": "a" * 100000, "dimension": 4}),
        PARAMETER_INVALID, "Invalid collection name")
    err(hnode.post("collections/describe", {"collectionName": "b" * 100000}), 100)
    ok(hnode.post("entities/get", {"collectionName": "h", "id": list(range(200000)),
                                   "outputFields": ["id"]}, timeout=60))


def test_repeated_large_bodies_keep_memory_bounded(hnode):
    """Large refused batches (the last of 40000 rows is malformed) and large searches leave
    nothing behind: RSS after a dozen of each stays within what a couple of them hold."""
    rows = [{"id": i, "vector": [0.5] * DIM, "s": "x" * 100} for i in range(40000)]
    rows[-1]["vector"] = [0.5] * (DIM - 1)
    before = None
    for k in range(12):
        r = hnode.post("entities/insert", {"collectionName": "h", "data": rows}, timeout=60)
        assert r.code == 1804 and "data[39999]" in r.message, r
        ok(search(hnode, data=[[0.1] * DIM] * 2000, limit=100))
        if k == 2:
            before = rss_kib(hnode)
    grown = rss_kib(hnode) - before
    assert grown < 64 << 10, "RSS grew by %d KiB over 9 rounds of large requests" % grown
    assert ok(hnode.post("entities/query", {"collectionName": "h", "filter": "id >= 0",
                                            "outputFields": ["count(*)"]}))[0]["count(*)"] == 3000


def test_slow_loris_does_not_starve_other_clients(node_factory):
    node = node_factory("loris", flags=["--server.max_connections", "32",
                                        "--server.idle_timeout_s", "30"])
    stop, socks, dropped = threading.Event(), [], []

    def trickle(i):
        try:
            s = socket.create_connection(("127.0.0.1", node.port), timeout=5)
        except OSError:
            return
        socks.append(s)
        try:
            s.sendall(b"POST /v2/vectordb/collections/list HTTP/1.1\r\nHost: x\r\n")
            k = 0
            while not stop.is_set():
                s.sendall(b"X-Slow-%d: y\r\n" % k)
                k += 1
                time.sleep(0.5)
        except OSError:
            dropped.append(i)

    threads = [threading.Thread(target=trickle, args=(i,), daemon=True) for i in range(48)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    served, started = 0, time.monotonic()
    rss0 = rss_kib(node)
    for _ in range(20):
        try:
            r = node.post("collections/list", {}, timeout=5)
            served += r.code == 0
        except Exception:
            pass
        node.new_session()  # a fresh connection each time, as a new client would
        time.sleep(0.2)
    stop.set()
    for s in socks:
        s.close()
    assert node.running
    assert served >= 15, "only %d of 20 requests served during the slow-loris" % served
    assert dropped, "no slow connection was closed"
    assert rss_kib(node) - rss0 < 32 << 10
    assert time.monotonic() - started < 30
