# SPDX-License-Identifier: Apache-2.0
"""S3 offload against a real S3-compatible server: s3rver (tools/s3rver, pinned by its
lockfile and installed by scripts/deps.sh test), started per test on a free loopback port
with its own directory, credentials S3RVER/S3RVER. s3rver does not check SigV4 signatures
(tests/unit/test_s3.c checks them against AWS's published examples) but it speaks the rest:
multipart uploads, metadata, ListObjectsV2, DELETE.

Cases: sealed files uploaded and read back byte-exact (multipart included); a tiny cache
budget evicts local files, which come back from S3 on restart; an empty data directory is
restored from S3 (exactly what was sealed); S3 killed during writes and restarted (writes
go on, uploads catch up, a restore afterwards has every row); compaction and drops delete
old objects only after the manifest without them is in S3; a cluster node that loses its
disk restores its own objects, then catches up with its peer."""
import json
import os
import pathlib
import re
import shutil
import signal
import struct
import subprocess
import time

import pytest
import requests

from conftest import REPO, free_port
from test_cluster import Cluster, wait_ready

S3RVER = REPO / "tools" / "s3rver"
BIN = S3RVER / "node_modules" / ".bin" / "s3rver"
BUCKET = "quiver-test"
NODE_ID = "n1"
DIM = 8


def ensure_s3rver():
    if BIN.exists():
        return
    if not shutil.which("npm"):
        pytest.skip("s3rver is not installed and npm is missing (scripts/deps.sh test)")
    subprocess.run(["npm", "ci", "--prefix", str(S3RVER), "--no-audit", "--no-fund",
                    "--loglevel=error"], check=True, timeout=600)


class S3Server:
    """One s3rver process; its port and directory survive restarts."""

    def __init__(self, workdir):
        self.port = free_port()
        self.dir = pathlib.Path(workdir) / "s3rver"
        self.log = pathlib.Path(workdir) / "s3rver.log"
        self.proc = None
        self.url = "http://127.0.0.1:%d" % self.port

    def start(self):
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [str(BIN), "-d", str(self.dir), "-a", "127.0.0.1", "-p", str(self.port),
                 "--configure-bucket", BUCKET, "--silent"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/" + BUCKET + "?list-type=2", timeout=1).ok:
                    return self
            except requests.RequestException:
                pass
            assert self.proc.poll() is None, self.log.read_text()
            time.sleep(0.05)
        raise RuntimeError("s3rver did not start:\n" + self.log.read_text())

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def keys(self, prefix=NODE_ID + "/"):
        """{key: size} of every object under prefix (anonymous ListObjectsV2)."""
        out, token = {}, None
        while True:
            params = {"list-type": "2", "prefix": prefix}
            if token:
                params["continuation-token"] = token
            text = requests.get(self.url + "/" + BUCKET, params=params, timeout=10).text
            for c in re.findall(r"<Contents>(.*?)</Contents>", text, re.S):
                key = re.search(r"<Key>(.*?)</Key>", c).group(1).replace("&amp;", "&")
                out[key] = int(re.search(r"<Size>(\d+)</Size>", c).group(1))
            m = re.search(r"<NextContinuationToken>(.*?)</NextContinuationToken>", text)
            if "<IsTruncated>true</IsTruncated>" not in text or not m:
                return out
            token = m.group(1)

    def get(self, key):
        r = requests.get("%s/%s/%s" % (self.url, BUCKET, key), timeout=10)
        return r.content if r.status_code == 200 else None

    def head(self, key):
        return requests.head("%s/%s/%s" % (self.url, BUCKET, key), timeout=10)


@pytest.fixture
def s3(tmp_path):
    ensure_s3rver()
    srv = S3Server(tmp_path).start()
    yield srv
    srv.kill()


def s3_env(srv, **extra):
    env = {"QUIVER__S3__ENDPOINT": srv.url, "QUIVER__S3__BUCKET": BUCKET,
           "QUIVER__S3__ACCESS_KEY": "S3RVER", "QUIVER__S3__SECRET_KEY": "S3RVER",
           "QUIVER__S3__REGION": "us-east-1", "QUIVER__NODE__ID": NODE_ID,
           "QUIVER__S3__INTERVAL_MS": "100", "QUIVER__S3__RETRIES": "1",
           "QUIVER__S3__RETRY_BASE_MS": "20", "QUIVER__S3__RETRY_MAX_MS": "100",
           "QUIVER__S3__TIMEOUT_MS": "5000"}
    env.update({"QUIVER__S3__" + k.upper(): str(v) for k, v in extra.items()})
    return env


def metrics(node):
    return {l.rsplit(" ", 1)[0]: float(l.rsplit(" ", 1)[1])
            for l in node.get("/metrics").text.splitlines() if l and not l.startswith("#")}


def wait_for(what, fn, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got:
            return got
        assert time.monotonic() < deadline, "timed out waiting for %s (%s)" % (
            what, UNSYNCED.get("why", "-"))
        time.sleep(0.05)


def vec(i):
    return [float((i * 37 + k * 101) % 997) / 10.0 for k in range(DIM)]


def create(node, name, shards=1, dim=DIM):
    body = {"collectionName": name, "params": {"shardsNum": shards},
            "schema": {"fields": [{"fieldName": "id", "dataType": "Int64", "isPrimary": True},
                                  {"fieldName": "tag", "dataType": "VarChar",
                                   "elementTypeParams": {"max_length": 16}},
                                  {"fieldName": "v", "dataType": "FloatVector",
                                   "elementTypeParams": {"dim": dim}}]},
            "indexParams": [{"fieldName": "v", "indexName": "v", "metricType": "L2",
                             "indexType": "HNSW", "params": {"M": 8, "efConstruction": 32}}]}
    r = node.post("collections/create", body)
    assert r.code == 0, r


def insert(node, name, ids, dim=DIM):
    rows = [{"id": i, "tag": "t%d" % i, "v": vec(i) if dim == DIM else [i / 7.0] * dim}
            for i in ids]
    r = node.post("entities/insert", {"collectionName": name, "data": rows}, timeout=60)
    assert r.code == 0, r


def flush(node, name):
    r = node.post("collections/flush", {"collectionName": name})
    assert r.code == 0, r


def ids_of(node, name):
    r = node.post("entities/query", {"collectionName": name, "filter": "id >= 0",
                                     "outputFields": ["id"], "limit": 16384})
    assert r.code == 0, r
    return sorted(x["id"] for x in r.data)


def search(node, name):
    r = node.post("entities/search", {"collectionName": name, "data": [vec(5), vec(77)],
                                      "annsField": "v", "limit": 7, "outputFields": ["tag"]})
    assert r.code == 0, r
    return r.data


def local_files(node, node_id=NODE_ID):
    """{key: path} of the sealed files, manifests and catalog in the node's data dir."""
    out = {}
    for p in node.data_dir.rglob("*"):
        rel = p.relative_to(node.data_dir).as_posix()
        if p.is_file() and (rel == "catalog.qvc" or re.fullmatch(
                r"collections/\d+/(manifest\.qvm|seg-\d+\.qvs|index-\d+-\d+\.qvi)", rel)):
            out[node_id + "/" + rel] = p
    return out


UNSYNCED = {}  # why synced() last said no, for the timeout message


def synced(node, srv, node_id=NODE_ID):
    """Every local sealed file, manifest and the catalog are in S3, byte for byte."""
    backlog = metrics(node).get("quiver_s3_backlog_files", 1)
    if backlog != 0:
        UNSYNCED["why"] = "backlog %s files" % backlog
        return False
    keys = srv.keys(node_id + "/")
    for key, path in local_files(node, node_id).items():
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # replaced or evicted meanwhile
            UNSYNCED["why"] = "%s vanished locally" % key
            return False
        if keys.get(key) != len(data) or srv.get(key) != data:
            UNSYNCED["why"] = "%s: %s bytes local, %s in S3" % (key, len(data), keys.get(key))
            return False
    return True


def manifest_segments(data):
    """Segment ids a manifest lists (docs/storage-format.md)."""
    assert data[:8] == b"QVMANIF1"
    p = 20 + 16
    (shards,) = struct.unpack_from("<I", data, p)
    p += 4
    ids = []
    for _ in range(shards):
        _, nsegs = struct.unpack_from("<QI", data, p)
        p += 12
        for _ in range(nsegs):
            ids.append(struct.unpack_from("<Q", data, p)[0])
            p += 20
        (words,) = struct.unpack_from("<Q", data, p)
        p += 8 + 8 * words
    assert p == len(data)
    return ids


def coll_prefix(node, name):
    r = node.post("collections/describe", {"collectionName": name})
    assert r.code == 0, r
    return "%s/collections/%s/" % (NODE_ID, r.data["collectionID"])


# ---- cases ------------------------------------------------------------------------------------

def test_upload_and_read_back_byte_exact(s3, node_factory):
    node = node_factory("up", env=s3_env(s3, part_bytes="5MiB"))
    assert node.get("/readyz").data == {"ready": True, "s3": "ok"}
    big = 1300  # 1300 rows x 1024 floats: a ~5.3 MB segment file, uploaded in 2 parts
    create(node, "big", dim=1024)
    for start in range(0, big, 650):
        insert(node, "big", range(start, start + 650), dim=1024)
    create(node, "small", shards=2)
    insert(node, "small", range(200))
    flush(node, "big")
    flush(node, "small")
    wait_for("S3 to hold every sealed file", lambda: synced(node, s3))
    keys = s3.keys()
    segs = [k for k in keys if k.endswith(".qvs")]
    assert len(segs) == 3 and NODE_ID + "/catalog.qvc" in keys, keys
    assert any(k.endswith(".qvi") for k in keys) and sum(k.endswith(".qvm") for k in keys) == 2
    assert max(keys[k] for k in segs) > 5 << 20
    m = metrics(node)
    assert m['quiver_s3_requests_total{op="multipart"}'] >= 4  # initiate, 2 parts, complete
    assert m["quiver_s3_uploads_total"] >= len(keys) and m["quiver_s3_degraded"] == 0
    # the checksum rides along as metadata
    assert re.fullmatch(r"[0-9a-f]{8}", s3.head(segs[0]).headers["x-amz-meta-crc32c"])
    # secrets never reach the log or the config dump
    assert "S3RVER" not in node.log_text()
    out = subprocess.run([node.command()[0], "config"], env=dict(os.environ, **s3_env(s3)),
                         capture_output=True, text=True, timeout=10).stdout
    assert "secret_key: \"<redacted>\"" in out and "S3RVER" not in out


def test_evict_and_fetch_back(s3, node_factory):
    node = node_factory("evict", env=s3_env(s3, cache_bytes=1))
    create(node, "ev", shards=2)
    for k in range(2):
        insert(node, "ev", range(k * 300, k * 300 + 300))
        flush(node, "ev")
    before = search(node, "ev")
    wait_for("local sealed files evicted", lambda: metrics(node)["quiver_s3_evictions_total"] >= 4
             and not list(node.data_dir.rglob("seg-*.qvs")))
    assert len([k for k in s3.keys() if k.endswith(".qvs")]) == 4
    assert search(node, "ev") == before  # rows live in memory
    node.restart()
    assert metrics(node)["quiver_s3_fetches_total"] >= 4  # segments came back at open
    assert search(node, "ev") == before
    assert ids_of(node, "ev") == list(range(600))
    wait_for("evicted again", lambda: not list(node.data_dir.rglob("seg-*.qvs")))


def test_restore_empty_node(s3, node_factory):
    node = node_factory("restore", env=s3_env(s3))
    r = node.post("databases/create", {"dbName": "db2"})
    assert r.code == 0, r
    create(node, "r1", shards=2)
    insert(node, "r1", range(500))
    r = node.post("entities/delete", {"collectionName": "r1", "filter": "id < 50"})
    assert r.code == 0, r
    flush(node, "r1")
    r = node.post("collections/create", {"dbName": "db2", "collectionName": "r2",
                                         "dimension": 4, "autoId": True})
    assert r.code == 0, r
    r = node.post("entities/insert", {"dbName": "db2", "collectionName": "r2",
                                      "data": [{"vector": [1, 2, 3, float(i)]}
                                               for i in range(30)]})
    assert r.code == 0, r
    auto_ids = sorted(r.data["insertIds"])
    r = node.post("collections/flush", {"dbName": "db2", "collectionName": "r2"})
    assert r.code == 0, r
    wait_for("S3 in sync", lambda: synced(node, s3))  # indexes built and uploaded too
    before = search(node, "r1")
    insert(node, "r1", range(1000, 1010))  # acknowledged, in the WAL only: not in S3
    node.kill9()
    shutil.rmtree(node.data_dir)  # the disk is lost
    node.start()
    assert "restored the catalog" in node.log_text()
    assert ids_of(node, "r1") == list(range(50, 500))  # what was sealed, nothing after
    assert search(node, "r1") == before
    r = node.post("entities/query", {"dbName": "db2", "collectionName": "r2",
                                     "filter": "id > 0", "outputFields": ["id"], "limit": 100})
    assert sorted(x["id"] for x in r.data) == auto_ids, r
    r = node.post("entities/insert", {"dbName": "db2", "collectionName": "r2",
                                      "data": [{"vector": [0, 0, 0, 0]}]})
    assert r.code == 0 and r.data["insertIds"][0] not in auto_ids, r  # IDALLOC came back too
    r = node.post("indexes/describe", {"collectionName": "r1", "indexName": "v"})
    assert r.code == 0, r
    # the node goes on offloading from the restored state
    insert(node, "r1", range(2000, 2100))
    flush(node, "r1")
    wait_for("S3 in sync again", lambda: synced(node, s3))


def test_s3_killed_during_load_then_back(s3, node_factory):
    node = node_factory("outage", env=s3_env(s3))
    create(node, "load", shards=2)
    written = 0

    def burst(n=100):
        nonlocal written
        insert(node, "load", range(written, written + n))
        written += n
        flush(node, "load")

    burst()
    wait_for("first upload", lambda: synced(node, s3))
    s3.kill()
    t0 = time.monotonic()
    for _ in range(5):
        burst()  # writes keep succeeding, and quickly
    assert time.monotonic() - t0 < 10
    def degraded():
        m = metrics(node)
        return m if m["quiver_s3_degraded"] == 1 and m["quiver_s3_backlog_files"] > 0 else None

    m = wait_for("degraded, with a backlog", degraded)
    assert sum(v for k, v in m.items() if k.startswith("quiver_s3_request_failures_total")) > 0
    r = node.get("/readyz")
    assert r.status == 200 and r.data == {"ready": True, "s3": "degraded"}, r
    assert "offload to S3 failing" in node.log_text()
    t0 = time.monotonic()
    node.restart()  # every file is local: the node starts without S3
    assert time.monotonic() - t0 < 8 and ids_of(node, "load") == list(range(written))
    burst()
    s3.start()  # same port, same directory
    burst()
    wait_for("uploads to catch up", lambda: synced(node, s3), timeout=30)
    assert node.get("/readyz").data == {"ready": True, "s3": "ok"}
    assert ids_of(node, "load") == list(range(written))
    # nothing lost: a fresh disk restored from S3 has every row
    node.stop()
    shutil.rmtree(node.data_dir)
    node.start()
    assert ids_of(node, "load") == list(range(written))


def test_compaction_and_drop_delete_old_objects_after_the_manifest(s3, node_factory):
    node = node_factory("compact", env=s3_env(s3))
    create(node, "cmp")
    for k in range(4):
        insert(node, "cmp", range(k * 100, k * 100 + 100))
        flush(node, "cmp")
    create(node, "gone", shards=2)
    insert(node, "gone", range(10))
    flush(node, "gone")
    wait_for("S3 in sync", lambda: synced(node, s3))
    prefix = coll_prefix(node, "cmp")
    old = {k for k in s3.keys(prefix) if k.endswith(".qvs")}
    assert len(old) == 4
    r = node.post("entities/delete", {"collectionName": "cmp", "filter": "id % 3 == 0"})
    assert r.code == 0, r
    r = node.post("collections/compact", {"collectionName": "cmp"})
    assert r.code == 0, r
    gone_prefix = coll_prefix(node, "gone")
    r = node.post("collections/drop", {"collectionName": "gone"})
    assert r.code == 0, r

    def settled():
        manifest = s3.get(prefix + "manifest.qvm")
        keys = s3.keys(prefix)
        if s3.get(prefix + "manifest.qvm") != manifest:
            return False  # replaced while listing: look again
        listed = {"%sseg-%020d.qvs" % (prefix, i) for i in manifest_segments(manifest)}
        # at every moment, the manifest in S3 names only segments S3 holds
        assert listed <= set(keys), (listed, keys)
        segs = {k for k in keys if k.endswith(".qvs")}
        return segs == listed and not segs & old and synced(node, s3)

    wait_for("old segment objects deleted", settled)
    assert metrics(node)["quiver_s3_deletes_total"] >= 4
    wait_for("dropped collection's objects deleted", lambda: not s3.keys(gone_prefix))
    expect = [i for i in range(400) if i % 3]
    assert ids_of(node, "cmp") == expect
    node.stop()
    shutil.rmtree(node.data_dir)
    node.start()  # a restore sees the compacted state, and no dropped collection
    assert ids_of(node, "cmp") == expect
    r = node.post("collections/list", {})
    assert r.data == ["cmp"], r


def test_cluster_node_restored_from_s3_then_caught_up(s3, node_factory):
    env = s3_env(s3)
    del env["QUIVER__NODE__ID"]  # the cluster names its nodes a and b
    c = Cluster(node_factory, 2, replication=2, extra_env=env).start()
    a, b = c["a"], c["b"]
    create(a, "cl", shards=2)
    insert(a, "cl", range(300))
    flush(a, "cl")  # broadcast: both owners seal their copies
    for n in (a, b):
        wait_for("%s's copy in S3" % n.name, lambda n=n: synced(n, s3, n.name))
    assert s3.keys("a/") and s3.keys("b/")  # each node under its own id
    insert(a, "cl", range(300, 350))  # on both owners, in their WALs only
    b.kill9()
    shutil.rmtree(b.data_dir)  # b loses its disk
    b.start()
    wait_ready(b)  # its sealed rows from S3, then the rest from a (shard catch-up)
    assert "restored the catalog" in b.log_text()
    c.settle()
    assert ids_of(b, "cl") == list(range(350))


def test_import_from_the_bucket(s3, node_factory):
    """jobs/import/create with s3://<bucket>/<key> reads the object with the node's S3
    client; other buckets are refused; a missing object fails the job naming it."""
    node = node_factory("imps3", env=s3_env(s3))
    create(node, "imp")
    rows = [{"id": i, "tag": "t%d" % i, "v": vec(i)} for i in range(300)]
    r = requests.put("%s/%s/imports/rows.json" % (s3.url, BUCKET), data=json.dumps(rows),
                     timeout=10)
    assert r.status_code == 200, r.text

    def job(path):
        r = node.post("jobs/import/create", {"collectionName": "imp", "files": [[path]]})
        assert r.code == 0, r
        return wait_for("import " + path, lambda: (lambda d: d if d["state"] in (
            "Completed", "Failed") else None)(node.post("jobs/import/describe", {
                "jobId": r.data["jobId"]}).data))

    d = job("s3://%s/imports/rows.json" % BUCKET)
    assert d["state"] == "Completed" and d["importedRows"] == 300, d
    assert ids_of(node, "imp") == list(range(300))
    d = job("s3://%s/imports/missing.json" % BUCKET)
    assert d["state"] == "Failed" and "imports/missing.json" in d["reason"], d
    r = node.post("jobs/import/create", {"collectionName": "imp",
                                         "files": [["s3://other-bucket/rows.json"]]})
    assert r.code == 2100 and "configured bucket" in r.message, r
