# SPDX-License-Identifier: Apache-2.0
"""A cluster of real quiverd processes on loopback: results identical to a single node,
writes visible at once through any peer, kill -9 of a peer under load (failover, no
acknowledged row lost, catch-up on return), catalog catch-up, adding a peer (rebalance),
and the peer protocol's authentication."""
import hashlib
import hmac
import json
import threading
import time

import numpy as np
import pytest
import requests

from conftest import free_port
from helpers import mixed_vector_collection

SECRET = "test-cluster-secret"
SCHEMA = {"fields": [
    {"fieldName": "id", "dataType": "Int64", "isPrimary": True},
    {"fieldName": "v", "dataType": "FloatVector", "elementTypeParams": {"dim": 8}},
    {"fieldName": "tag", "dataType": "Int32"}]}


class Cluster:
    def __init__(self, factory, n, replication=2, extra_env=None, names="abcdefgh"):
        self.factory = factory
        self.names = names[:n]
        self.ports = {name: free_port() for name in self.names}
        self.replication = replication
        self.extra_env = extra_env or {}
        self.nodes = {name: factory(name, env=self.env(name), port=self.ports[name], start=False)
                      for name in self.names}

    def peers(self):
        return ",".join("%s=http://127.0.0.1:%d" % (k, p) for k, p in self.ports.items())

    def env(self, name):
        e = {"QUIVER__CLUSTER__PEERS": self.peers(), "QUIVER__CLUSTER__SECRET": SECRET,
             "QUIVER__NODE__ID": name, "QUIVER__CLUSTER__HEARTBEAT_MS": "200",
             "QUIVER__CLUSTER__PEER_TIMEOUT_MS": "1500",
             "QUIVER__CLUSTER__REPLICATION_FACTOR": str(self.replication),
             "QUIVER__LOG__LEVEL": "info"}
        e.update(self.extra_env)
        return e

    def start(self):
        for n in self.nodes.values():
            n.start()
        self.settle()
        return self

    def settle(self, timeout=30):
        """Every node ready, and every node seeing every other one live and ready."""
        for n in self.nodes.values():
            wait_ready(n)
        deadline = time.time() + timeout
        pw = self.extra_env.get("QUIVER__AUTH__ROOT_PASSWORD")
        headers = {"Authorization": "Bearer root:" + pw} if pw else None
        for n in self.nodes.values():
            while True:
                members = n.get("/cluster", headers=headers).json["data"]["members"]
                if all(m["live"] and m["ready"] for m in members):
                    break
                assert time.time() < deadline, members
                time.sleep(0.05)

    def __getitem__(self, name):
        return self.nodes[name]


def wait_ready(node, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if requests.get(node.url + "/readyz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise AssertionError("%s never became ready:\n%s" % (node.name, node.log_tail()))


def create(node, name="cc", shards=4, index="FLAT"):
    r = node.post("collections/create", {
        "collectionName": name, "schema": SCHEMA, "params": {"shardsNum": shards},
        "indexParams": [{"fieldName": "v", "indexName": "v", "metricType": "L2",
                         "indexType": index}]})
    assert r.code == 0, r


def rows(lo, hi, seed=7):
    rng = np.random.default_rng(seed + lo)
    vecs = rng.normal(size=(hi - lo, 8)).astype(np.float32)
    return [{"id": i, "v": vecs[i - lo].tolist(), "tag": i % 10} for i in range(lo, hi)]


def insert(node, data, name="cc"):
    r = node.post("entities/insert", {"collectionName": name, "data": data})
    assert r.code == 0, r
    return r


def count(node, name="cc"):
    r = node.post("entities/query", {"collectionName": name, "outputFields": ["count(*)"]})
    assert r.code == 0, r
    return r.data[0]["count(*)"]


@pytest.fixture
def cluster3(node_factory):
    return Cluster(node_factory, 3).start()


def test_cluster_status(cluster3):
    r = cluster3["b"].get("/cluster").json["data"]
    assert r["node"] == "b" and r["leader"] == "a" and r["replicationFactor"] == 2
    assert [m["id"] for m in r["members"]] == ["a", "b", "c"]
    assert all(m["live"] and m["ready"] for m in r["members"])
    create(cluster3["c"])
    shards = cluster3["a"].get("/cluster").json["data"]["collections"][0]["shards"]
    assert len(shards) == 4 and all(len(set(s["owners"])) == 2 for s in shards)
    assert all(s["primary"] == s["owners"][0] for s in shards)


def test_same_answers_as_a_single_node(cluster3, node_factory):
    single = node_factory("single")
    nodes = [cluster3[k] for k in "abc"]
    for target in (single, cluster3["b"]):  # DDL through a follower too
        create(target)
    data = rows(0, 1200)
    for k in range(0, len(data), 200):
        insert(single, data[k:k + 200])
        insert(nodes[(k // 200) % 3], data[k:k + 200])  # every peer takes writes
    rng = np.random.default_rng(1)
    q = rng.normal(size=(3, 8)).astype(np.float32).tolist()
    requests_ = [
        ("entities/search", {"data": q, "limit": 10}),
        ("entities/search", {"data": q, "limit": 7, "offset": 5, "filter": "tag < 5",
                             "outputFields": ["tag"]}),
        ("entities/search", {"data": q[:1], "limit": 3, "groupingField": "tag", "groupSize": 2}),
        ("entities/search", {"data": q[:1], "limit": 20,
                             "searchParams": {"radius": 12.0, "range_filter": 4.0}}),
        ("entities/search", {"ids": [5, 76], "limit": 4}),
        ("entities/query", {"filter": "tag == 3", "limit": 40, "offset": 10,
                            "outputFields": ["*"]}),
        ("entities/query", {"filter": "id >= 1000", "outputFields": ["count(*)"]}),
        ("entities/get", {"id": [3, 500, 999, 5000], "outputFields": ["v", "tag"]}),
        ("collections/get_stats", {}),
    ]

    def same(step):
        for path, body in requests_:
            body = dict(body, collectionName="cc")
            want = single.post(path, body)
            assert want.code == 0, (path, want)
            for n in nodes:
                got = n.post(path, body)
                assert got.json == want.json, (step, path, n.name, got, want)

    same("after insert")
    for n, expr in ((cluster3["b"], "tag == 7"), (cluster3["c"], "id in [1, 2, 3]")):
        r1, r2 = single.post("entities/delete", {"collectionName": "cc", "filter": expr}), \
            n.post("entities/delete", {"collectionName": "cc", "filter": expr})
        assert r1.json == r2.json, (r1, r2)
    up = [dict(r, tag=42) for r in rows(100, 140)]
    assert single.post("entities/upsert", {"collectionName": "cc", "data": up}).code == 0
    assert cluster3["c"].post("entities/upsert", {"collectionName": "cc", "data": up}).code == 0
    same("after delete and upsert")
    for target in (single, cluster3["a"]):
        assert target.post("collections/flush", {"collectionName": "cc"}).code == 0
    same("after flush")


def test_write_through_a_read_through_c_at_once(cluster3):
    create(cluster3["a"])
    for k in range(5):
        insert(cluster3["a"], rows(k * 50, k * 50 + 50))
        r = cluster3["c"].post("entities/get", {"collectionName": "cc",
                                                "id": list(range(k * 50, k * 50 + 50))})
        assert r.code == 0 and len(r.data) == 50, r


def test_kill9_under_load_then_catch_up(cluster3):
    a, b, c = cluster3["a"], cluster3["b"], cluster3["c"]
    create(a)
    insert(a, rows(0, 300))
    acked, failures, stop = set(), [], threading.Event()
    q = {"collectionName": "cc", "data": [[0.0] * 8], "limit": 5}

    def writer():
        s, i = requests.Session(), 1000
        while not stop.is_set():
            batch = rows(i, i + 20)
            try:
                r = s.post(a.url + "/v2/vectordb/entities/insert",
                           data=json.dumps({"collectionName": "cc", "data": batch}),
                           timeout=10).json()
                if r["code"] == 0:
                    acked.update(x["id"] for x in batch)
            except requests.RequestException:
                pass
            i += 20

    def searcher():
        s = requests.Session()
        while not stop.is_set():
            try:
                r = s.post(b.url + "/v2/vectordb/entities/search", data=json.dumps(q),
                           timeout=10).json()
                if r["code"] != 0 or len(r["data"]) != 5:
                    failures.append((time.time(), r))
            except requests.RequestException as e:
                failures.append((time.time(), str(e)))

    threads = [threading.Thread(target=writer), threading.Thread(target=searcher)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    killed = time.time()
    c.kill9()
    time.sleep(4.0)
    stop.set()
    for t in threads:
        t.join()
    late = [f for f in failures if f[0] > killed + 1.5 + 1.0]  # failover timeout + slack
    assert not late, late[:3]
    assert len(acked) > 100
    got = set()
    for k in range(0, max(acked) + 1, 2000):
        r = a.post("entities/query", {"collectionName": "cc", "filter": "id >= %d and id < %d"
                                      % (k, k + 2000), "limit": 16384})
        got.update(x["id"] for x in r.data)
    assert acked <= got, sorted(acked - got)[:10]
    # C returns, copies what it missed from the primaries, and answers the same
    c.start()
    cluster3.settle()
    total = count(a)
    assert count(c) == total == count(b)
    r1 = a.post("entities/search", q)
    assert c.post("entities/search", q).json == r1.json


def test_peer_missing_ddl_catches_up(cluster3):
    a, c = cluster3["a"], cluster3["c"]
    c.stop()
    create(a, name="late")
    insert(a, rows(0, 50), name="late")
    c.start()
    cluster3.settle()
    r = c.post("collections/describe", {"collectionName": "late"})
    assert r.code == 0, r
    assert count(c, "late") == 50


def test_adding_a_peer_rebalances(node_factory):
    cl = Cluster(node_factory, 3).start()
    create(cl["a"], shards=8)
    insert(cl["a"], rows(0, 800))
    before = cl["a"].post("entities/search", {"collectionName": "cc",
                                             "data": [[0.5] * 8], "limit": 10}).json
    # a fourth node joins: every node restarts with the new peer list
    d_port = free_port()
    cl.ports["d"] = d_port
    d = node_factory("d", env=None, port=d_port, start=False)
    cl.nodes["d"] = d
    for name, n in cl.nodes.items():
        n.env = cl.env(name)
    d.start()
    for name in "abc":
        cl[name].restart()
    cl.settle()
    status = d.get("/cluster").json["data"]
    owners = [o for s in status["collections"][0]["shards"] for o in s["owners"]]
    assert "d" in owners, status
    for n in cl.nodes.values():
        assert count(n) == 800
        assert n.post("entities/search", {"collectionName": "cc", "data": [[0.5] * 8],
                                          "limit": 10}).json == before


def sign(secret, node_id, method, path, body):
    ms = int(time.time() * 1000)
    body_hex = hashlib.sha256(body).hexdigest()
    msg = "%s\n%d\n%s\n%s\n%s" % (node_id, ms, method, path, body_hex)
    mac = hmac.new(secret.encode(), msg.encode(), hashlib.sha256).hexdigest()
    return "%s %d %s" % (node_id, ms, mac)


def test_internal_endpoints_need_the_peer_signature(node_factory):
    cl = Cluster(node_factory, 2, extra_env={"QUIVER__AUTH__ENABLED": "true",
                                             "QUIVER__AUTH__ROOT_PASSWORD": "Root-pass-1"}).start()
    a = cl["a"]
    url = a.url + "/internal/v1/ping"
    assert requests.get(url).status_code == 401  # nothing
    assert requests.get(url, headers={"Authorization": "Bearer root:Root-pass-1"}).status_code \
        == 401  # client credentials are not peer credentials
    bad = sign("wrong-secret", "b", "GET", "/internal/v1/ping", b"")
    assert requests.get(url, headers={"X-Quiver-Peer": bad}).status_code == 401
    unknown = sign(SECRET, "zz", "GET", "/internal/v1/ping", b"")
    assert requests.get(url, headers={"X-Quiver-Peer": unknown}).status_code == 401
    good = sign(SECRET, "b", "GET", "/internal/v1/ping", b"")
    r = requests.get(url, headers={"X-Quiver-Peer": good})
    assert r.status_code == 200 and r.json()["node"] == "a", r.text
    # a peer signature is no credential on the public API
    r = requests.post(a.url + "/v2/vectordb/collections/list", data="{}",
                      headers={"X-Quiver-Peer": sign(SECRET, "b", "POST",
                                                     "/v2/vectordb/collections/list", b"{}")})
    assert r.json()["code"] == 1800, r.text
    # the cluster itself works with auth on
    r = requests.post(cl["b"].url + "/v2/vectordb/collections/create",
                      headers={"Authorization": "Bearer root:Root-pass-1"},
                      data=json.dumps({"collectionName": "x", "dimension": 4}))
    assert r.json()["code"] == 0, r.text


def test_shard_without_owner_fails_or_is_reported_missing(node_factory):
    cl = Cluster(node_factory, 3, replication=1)
    cl["a"].env["QUIVER__CLUSTER__ALLOW_PARTIAL"] = "true"
    cl.start()
    create(cl["a"], shards=6)
    insert(cl["a"], rows(0, 300))
    owners = {s["shard"]: s["owners"][0]
              for s in cl["a"].get("/cluster").json["data"]["collections"][0]["shards"]}
    victim = "c" if "c" in owners.values() else "b"  # a node that owns a shard
    other = "b" if victim == "c" else "c"
    gone = sorted(s for s, o in owners.items() if o == victim)
    assert gone, owners
    cl[victim].kill9()
    q = {"collectionName": "cc", "data": [[0.0] * 8], "limit": 5}
    deadline = time.time() + 10
    while True:
        r = cl[other].post("entities/search", q)
        if r.code != 0 or time.time() > deadline:
            break
        time.sleep(0.2)
    assert r.code != 0 and "no live owner" in r.message, r
    r = requests.post(cl["a"].url + "/v2/vectordb/entities/search", data=json.dumps(q))
    assert r.json()["code"] == 0 and len(r.json()["data"]) == 5, r.text
    assert r.headers["X-Quiver-Missing-Shards"] == ",".join(map(str, gone))


def test_peers_over_https_and_peer_metrics(node_factory, tmp_path):
    from test_tls import make_cert
    cert, key = make_cert(tmp_path)
    ports = {"a": free_port(), "b": free_port()}
    peers = ",".join("%s=https://127.0.0.1:%d" % kv for kv in ports.items())
    urls = {k: "https://127.0.0.1:%d" % p for k, p in ports.items()}
    nodes = {}
    for name, port in ports.items():
        env = {"QUIVER__CLUSTER__PEERS": peers, "QUIVER__CLUSTER__SECRET": SECRET,
               "QUIVER__NODE__ID": name, "QUIVER__CLUSTER__HEARTBEAT_MS": "200"}
        nodes[name] = node_factory(name, env=env, port=port, start=False,
                                   flags=["--server.tls_cert_file", cert,
                                          "--server.tls_key_file", key])
        nodes[name].start(wait=False)

    def call(name, path, body=None):
        url = urls[name] + path
        if body is None:
            return requests.get(url, verify=str(cert), timeout=10)
        return requests.post(url, data=json.dumps(body), verify=str(cert), timeout=10)

    deadline = time.time() + 30
    for name in nodes:
        while True:
            try:
                if call(name, "/readyz").status_code == 200:
                    members = call(name, "/cluster").json()["data"]["members"]
                    if all(m["live"] and m["ready"] for m in members):
                        break
            except requests.RequestException:
                pass
            assert time.time() < deadline, nodes[name].log_tail()
            time.sleep(0.1)
    v2 = "/v2/vectordb/"
    r = call("b", v2 + "collections/create", {"collectionName": "t", "schema": SCHEMA,
                                              "params": {"shardsNum": 4}, "indexParams": [
                                                  {"fieldName": "v", "metricType": "L2"}]})
    assert r.json()["code"] == 0, r.text
    r = call("a", v2 + "entities/insert", {"collectionName": "t", "data": rows(0, 100)})
    assert r.json()["code"] == 0, r.text
    r = call("b", v2 + "entities/query", {"collectionName": "t", "outputFields": ["count(*)"]})
    assert r.json()["data"] == [{"count(*)": 100}], r.text
    text = call("a", "/metrics").text
    assert 'quiver_peer_requests_total{peer="b",code="200"}' in text, text[-2000:]
    assert 'quiver_peer_request_duration_seconds_count{peer="b",code="200"}' in text


def test_stopped_node_catches_up_after_sigcont(cluster3):
    """A node frozen (SIGSTOP) longer than the peer timeout misses writes; when it runs
    again it reports itself not ready until it has copied them, then answers the same."""
    import signal
    a, c = cluster3["a"], cluster3["c"]
    create(a)
    insert(a, rows(0, 200))
    c.proc.send_signal(signal.SIGSTOP)
    try:
        time.sleep(2.5)  # peer timeout 1.5 s: a and b stop waiting for c
        insert(a, rows(200, 400))
        assert a.post("entities/delete", {"collectionName": "cc",
                                          "filter": "id < 50"}).code == 0
    finally:
        c.proc.send_signal(signal.SIGCONT)
    cluster3.settle()
    assert count(c) == count(a) == 350
    q = {"collectionName": "cc", "data": [[0.1] * 8], "limit": 10}
    assert c.post("entities/search", q).json == a.post("entities/search", q).json


def test_other_vector_types_same_answers_as_a_single_node(cluster3, node_factory):
    """BM25 (statistics summed over every shard once), sparse, binary and float16 searches
    and a hybrid search over them answer exactly as on a single node."""
    import base64
    single = node_factory("single")
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()
    rng = np.random.default_rng(5)
    n = 600
    body = mixed_vector_collection("vt", shards=4)
    for target in (single, cluster3["b"]):
        r = target.post("collections/create", body)
        assert r.code == 0, r
    data = []
    for i in range(n):
        idx = sorted({int(x) for x in rng.integers(0, 50, size=int(rng.integers(1, 6)))})
        data.append({"id": i, "text": " ".join(rng.choice(words, size=int(rng.integers(1, 9)))),
                     "sp": {"indices": idx, "values": [float(rng.random()) for _ in idx]},
                     "half": rng.normal(size=8).tolist(),
                     "bin": base64.b64encode(rng.integers(0, 256, 4, dtype=np.uint8)
                                             .tobytes()).decode()})
    for k in range(0, n, 150):
        for target in (single, cluster3["abc"[(k // 150) % 3]]):
            r = target.post("entities/insert", {"collectionName": "vt", "data": data[k:k + 150]})
            assert r.code == 0, r
    subs = [{"data": ["alpha beta", "mu"], "annsField": "bm25", "limit": 10},
            {"data": [{"3": 1.0, "17": 0.5}, {"indices": [1, 2], "values": [2.0, 1.0]}],
             "annsField": "sp", "limit": 10, "searchParams": {"drop_ratio_search": 0.2}},
            {"data": [[0.1] * 8, rng.normal(size=8).tolist()], "annsField": "half", "limit": 10},
            {"data": [data[3]["bin"], data[9]["bin"]], "annsField": "bin", "limit": 10}]
    requests_ = [("entities/search", s) for s in subs] + [
        ("entities/search", dict(subs[0], filter="text_match(text, 'gamma')",
                                 outputFields=["text"])),
        ("entities/hybrid_search", {"search": [dict(s, params=s.get("searchParams", {}))
                                               for s in subs],
                                    "rerank": {"strategy": "rrf", "params": {"k": 30}},
                                    "limit": 10}),
        ("entities/query", {"filter": "text_match(text, 'theta')", "outputFields": ["count(*)"]})]

    def same(step):
        for path, b in requests_:
            b = dict(b, collectionName="vt")
            want = single.post(path, b)
            assert want.code == 0 and want.data, (path, want)
            for node in (cluster3["a"], cluster3["c"]):
                got = node.post(path, b)
                assert got.json == want.json, (step, path, node.name, got, want)

    same("after insert")
    for target in (single, cluster3["c"]):
        assert target.post("entities/delete", {"collectionName": "vt",
                                               "filter": "id < 100"}).code == 0
        assert target.post("collections/flush", {"collectionName": "vt"}).code == 0
    same("after delete and flush")


def test_import_jobs_on_a_cluster(cluster3):
    """jobs/import/* run on the leader (a): a job created through b, followed through c
    and listed through a imports its rows through the replicated write path, in several
    routed batches; every node then counts them all. A malformed file imports nothing."""
    a, b, c = cluster3["a"], cluster3["b"], cluster3["c"]
    create(b)
    imports = a.data_dir / "imports"
    imports.mkdir()
    (imports / "rows.json").write_text(json.dumps(rows(0, 25000)))
    (imports / "bad.json").write_text(json.dumps([{"id": 1, "v": [1.0, 2.0], "tag": 1}]))

    def run(path):
        r = b.post("jobs/import/create", {"collectionName": "cc", "files": [[path]]})
        assert r.code == 0, r
        deadline = time.time() + 60
        while True:
            d = c.post("jobs/import/get_progress", {"jobId": r.data["jobId"]}).data
            if d["state"] in ("Completed", "Failed"):
                return r.data["jobId"], d
            assert time.time() < deadline, d
            time.sleep(0.1)

    job, d = run("imports/rows.json")
    assert d["state"] == "Completed" and d["importedRows"] == 25000, d
    assert count(a) == count(b) == count(c) == 25000
    listed = a.post("jobs/import/list", {"collectionName": "cc"}).data["records"]
    assert job in [x["jobId"] for x in listed], listed
    _, d = run("imports/bad.json")
    assert d["state"] == "Failed" and "bad.json" in d["reason"], d
    assert count(c) == 25000


def test_partition_key_collection_on_a_cluster(cluster3):
    """A partition-key collection through the cluster: a batch spanning many keys (and so
    many hidden partitions and shards) is written through b as one message per shard; each
    node then finds every key's rows in its partition, prunes by key, and a key's rows are
    upserted and deleted together."""
    a, b, c = cluster3["a"], cluster3["b"], cluster3["c"]
    r = a.post("collections/create", {
        "collectionName": "pk", "params": {"shardsNum": 3, "partitionsNum": 8},
        "schema": {"fields": [
            {"fieldName": "id", "dataType": "Int64", "isPrimary": True},
            {"fieldName": "tenant", "dataType": "Int64", "isPartitionKey": True},
            {"fieldName": "v", "dataType": "FloatVector", "elementTypeParams": {"dim": 8}}]},
        "indexParams": [{"fieldName": "v", "metricType": "L2", "indexType": "FLAT"}]})
    assert r.code == 0, r
    data = [dict(row, tenant=row["id"] % 13) for row in rows(0, 1300)]
    for row in data:
        del row["tag"]
    r = b.post("entities/insert", {"collectionName": "pk", "data": data})
    assert r.code == 0 and r.data["insertCount"] == 1300, r
    for node in (a, b, c):
        for t in (0, 5, 12):
            q = node.post("entities/query", {"collectionName": "pk", "filter": "tenant == %d" % t,
                                             "outputFields": ["count(*)"]})
            assert q.code == 0 and q.data[0]["count(*)"] == 100, (node.name, t, q)
    up = [dict(row, v=[0.5] * 8) for row in data if row["tenant"] == 5]
    assert c.post("entities/upsert", {"collectionName": "pk", "data": up}).code == 0
    assert a.post("entities/delete", {"collectionName": "pk", "filter": "tenant == 12"}).code == 0
    total = b.post("entities/query", {"collectionName": "pk", "outputFields": ["count(*)"]})
    assert total.data[0]["count(*)"] == 1200, total
    hits = a.post("entities/search", {"collectionName": "pk", "data": [[0.5] * 8], "limit": 5,
                                      "filter": "tenant == 5"}).data
    assert [h["distance"] for h in hits] == [0.0] * 5, hits


def test_scalar_index_on_a_cluster(cluster3):
    """A scalar index defined through one node is built by every owner for its sealed
    segments and answers filters exactly through any node."""
    a, b, c = cluster3["a"], cluster3["b"], cluster3["c"]
    create(a)
    r = b.post("indexes/create", {"collectionName": "cc", "indexParams": [
        {"fieldName": "tag", "indexName": "tag_idx", "indexType": "STL_SORT"}]})
    assert r.code == 0, r
    insert(a, rows(0, 3000))
    assert c.post("collections/flush", {"collectionName": "cc"}).code == 0
    deadline = time.time() + 30
    while True:
        d = c.post("indexes/describe", {"collectionName": "cc", "indexName": "tag_idx"}).data[0]
        if d["indexState"] == "Finished" and d["totalRows"] == 3000:
            break
        assert time.time() < deadline, d
        time.sleep(0.2)
    assert d["indexType"] == "STL_SORT" and d["indexedRows"] == 3000, d
    for node in (a, b, c):
        for expr, want in (("tag == 3", 300), ("tag < 2", 600), ("tag in [1, 9]", 600),
                           ("tag != 3 and id < 100", 90)):
            q = node.post("entities/query", {"collectionName": "cc", "filter": expr,
                                             "outputFields": ["count(*)"]})
            assert q.code == 0 and q.data[0]["count(*)"] == want, (node.name, expr, q)
