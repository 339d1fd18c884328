# SPDX-License-Identifier: Apache-2.0
"""Corruption on disk, through a real quiverd: bit flips and truncation in WAL, segment,
index, manifest, catalog and auth files are found by their checksums.

  - a damaged WAL tail (last record, or a cut-off end) is a torn tail: truncated at
    start, logged naming the file and offset, counted in
    quiver_wal_torn_tails_repaired_total; the records before it are all there;
  - an index file that fails its checksum is rebuilt from its segment (logged);
  - anything else (WAL damage before the tail, segment, manifest, catalog, auth file)
    refuses to start, naming the file; restoring the bytes makes the node start again;
  - on a 3-node cluster (R = 2) the operator step for a node that refuses a damaged
    collection is to remove that collection's directory and start the node: catch-up
    copies every shard it owns back from the other owner (docs/reliability.md).
"""
import pathlib
import time

import pytest

from test_cluster import Cluster, count, create as create_cc, insert as insert_cc, rows

SCHEMA = {"fields": [
    {"fieldName": "id", "dataType": "Int64", "isPrimary": True},
    {"fieldName": "v", "dataType": "FloatVector", "elementTypeParams": {"dim": 4}},
    {"fieldName": "tag", "dataType": "Int32"}]}


def batch(b, n=100):
    return [{"id": b * 1000 + i, "v": [float(i), float(b), 0.5, 1.0], "tag": b}
            for i in range(n)]


def metric(node, name):
    for line in node.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def count_rows(node, name="cor"):
    r = node.post("entities/query", {"collectionName": name, "outputFields": ["count(*)"]})
    assert r.code == 0, r
    return r.data[0]["count(*)"]


def wait_indexed(node, total, name="cor"):
    deadline = time.time() + 30
    while time.time() < deadline:
        d = node.post("indexes/describe", {"collectionName": name, "indexName": "v"}).data[0]
        if d["indexState"] == "Finished" and d["indexedRows"] == total:
            return d
        time.sleep(0.1)
    raise AssertionError("index not built: %s" % d)


@pytest.fixture
def stocked(node_factory):
    """A stopped node whose collection has sealed segments with index files (batches 0, 1,
    flushed) and a WAL tail after them (batches 2, 3: two records)."""
    node = node_factory("cor")
    r = node.post("collections/create", {
        "collectionName": "cor", "schema": SCHEMA, "params": {"shardsNum": 2},
        "indexParams": [{"fieldName": "v", "indexName": "v", "metricType": "L2",
                         "indexType": "HNSW"}]})
    assert r.code == 0, r
    assert node.post("users/create", {"userName": "u1", "password": "password-1"}).code == 0
    for b in range(4):
        assert node.post("entities/insert", {"collectionName": "cor", "data": batch(b)}).code == 0
        if b == 1:
            assert node.post("collections/flush", {"collectionName": "cor"}).code == 0
            wait_indexed(node, 200)
    assert node.stop() == 0
    cdir = next((node.data_dir / "collections").iterdir())
    return node, cdir


def flip(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x20
    path.write_bytes(bytes(data))


def newest(cdir, pattern):
    return sorted(cdir.glob(pattern))[-1]


def test_damaged_wal_tail_is_repaired_and_reported(stocked):
    node, cdir = stocked
    wal = newest(cdir / "wal", "wal-*.log")
    flip(wal, wal.stat().st_size - 30)  # inside the last record (batch 3)
    node.start()
    assert node.wait_log("torn tail", timeout=10)
    assert str(wal) in node.log_text()
    assert count_rows(node) == 300  # batches 0-2; the damaged record is gone whole
    assert metric(node, "quiver_wal_torn_tails_repaired_total") == 1
    # repaired for good: the next start finds nothing to repair and writes go on
    assert node.post("entities/insert", {"collectionName": "cor", "data": batch(5)}).code == 0
    node.restart()
    assert count_rows(node) == 400
    assert metric(node, "quiver_wal_torn_tails_repaired_total") == 0


def test_cut_off_wal_is_a_torn_tail(stocked):
    node, cdir = stocked
    wal = newest(cdir / "wal", "wal-*.log")
    with open(wal, "r+b") as f:
        f.truncate(wal.stat().st_size - 7)
    node.start()
    assert count_rows(node) == 300
    assert metric(node, "quiver_wal_torn_tails_repaired_total") == 1


def test_damaged_index_file_is_rebuilt(stocked):
    node, cdir = stocked
    index = newest(cdir, "index-*.qvi")
    flip(index, index.stat().st_size // 2)
    other = sorted(cdir.glob("index-*.qvi"))[0]
    with open(other, "r+b") as f:
        f.truncate(other.stat().st_size // 3)
    node.start()
    node.wait_log("rebuilding", timeout=10)
    d = wait_indexed(node, 400)
    assert d["totalRows"] == 400
    r = node.post("entities/search", {"collectionName": "cor", "data": [[3.0, 1.0, 0.5, 1.0]],
                                      "limit": 1})
    assert r.code == 0 and r.data[0]["id"] == 1003, r
    node.restart()  # the rebuilt files pass their checksums: no rebuild this time
    wait_indexed(node, 400)
    assert node.log_text().count("rebuilding") == 2


REFUSED = {
    # name: (file, how) -> the node refuses to start naming that file
    "wal-before-tail": (lambda c: newest(c / "wal", "wal-*.log"), ("flip", 60)),
    "segment-flip": (lambda c: newest(c, "seg-*.qvs"), ("flip", 200)),
    "segment-cut": (lambda c: newest(c, "seg-*.qvs"), ("cut", 10)),
    "manifest-flip": (lambda c: c / "manifest.qvm", ("flip", 25)),
    "manifest-cut": (lambda c: c / "manifest.qvm", ("cut", 8)),
    "catalog-flip": (lambda c: c.parent.parent / "catalog.qvc", ("flip", 40)),
    "auth-flip": (lambda c: c.parent.parent / "auth.qva", ("flip", 30)),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_damage_elsewhere_refuses_to_start_naming_the_file(stocked, case):
    node, cdir = stocked
    pick, (how, arg) = REFUSED[case]
    path = pick(cdir)
    original = path.read_bytes()
    if how == "flip":
        flip(path, arg)
    else:
        path.write_bytes(original[:-arg])
    node.start(wait=False)
    assert node.wait() == 1, node.log_tail()
    tail = node.log_tail(5)
    assert "cannot start" in tail and path.name in tail, tail
    path.write_bytes(original)  # nothing else was touched: the node starts as before
    node.start()
    assert count_rows(node) == 400


def test_replica_recovers_a_refused_collection_by_catch_up(node_factory):
    """Operator step on a cluster: remove the damaged collection's directory, start."""
    cl = Cluster(node_factory, 3).start()
    a, c = cl["a"], cl["c"]
    create_cc(a, shards=4)
    for k in range(0, 600, 200):
        insert_cc(a, rows(k, k + 200))
    assert a.post("collections/flush", {"collectionName": "cc"}).code == 0
    assert c.stop() == 0
    cdir = next((pathlib.Path(c.data_dir) / "collections").iterdir())
    segs = sorted(cdir.glob("seg-*.qvs"))
    assert segs, "c owns no sealed segment"
    flip(segs[0], segs[0].stat().st_size // 2)
    c.start(wait=False)
    assert c.wait() == 1
    assert segs[0].name in c.log_tail(5)
    # the operator step
    for p in sorted(cdir.rglob("*"), reverse=True):
        p.unlink() if p.is_file() else p.rmdir()
    cdir.rmdir()
    c.start()
    cl.settle()
    assert count(c) == 600
    # every shard c owns is served from c's own copy while its other owner is down
    for other in ("a", "b"):
        cl[other].kill9()
        time.sleep(2.5)  # past the peer timeout: reads fail over to c
        survivor = cl["b" if other == "a" else "a"]
        assert count(survivor) == 600
        assert count(c) == 600
        cl[other].start()
        cl.settle()
