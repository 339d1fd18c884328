# SPDX-License-Identifier: Apache-2.0
"""Sealed segments through REST against a real quiverd: every type survives sealing and a
restart, deletes and upserts of sealed rows hold, compaction merges small segments, kill -9
while seals happen loses nothing acknowledged, and the growing-data budget makes writers
wait for sealing instead of failing."""
import json
import threading
import time

import requests

SCHEMA = {
    "autoID": False,
    "enableDynamicField": True,
    "fields": [
        {"fieldName": "id", "dataType": "Int64", "isPrimary": True},
        {"fieldName": "b", "dataType": "Bool"},
        {"fieldName": "i8", "dataType": "Int8"},
        {"fieldName": "i16", "dataType": "Int16"},
        {"fieldName": "i32", "dataType": "Int32", "defaultValue": 7},
        {"fieldName": "f", "dataType": "Float", "nullable": True},
        {"fieldName": "d", "dataType": "Double"},
        {"fieldName": "s", "dataType": "VarChar", "elementTypeParams": {"max_length": 32}},
        {"fieldName": "j", "dataType": "JSON", "nullable": True},
        {"fieldName": "as", "dataType": "Array", "elementDataType": "VarChar",
         "elementTypeParams": {"max_capacity": 3, "max_length": 8}},
        {"fieldName": "ad", "dataType": "Array", "elementDataType": "Double",
         "elementTypeParams": {"max_capacity": 3}},
        {"fieldName": "v", "dataType": "FloatVector", "elementTypeParams": {"dim": 4}},
    ],
}


def row(i, tag="x"):
    r = {"id": i, "b": i % 2 == 0, "i8": i % 100 - 50, "i16": i * 3 % 30000, "f": i / 8.0,
         "d": i / 3.0, "s": "%s%d" % (tag, i), "j": {"k": i, "l": [1, "two", None]},
         "as": ["a%d" % (i % 7), "b"], "ad": [i / 7.0], "v": [float(i), 0.25, -1.0, i % 5],
         "dyn": "d%d" % i}
    if i % 5 == 0:
        r["f"] = None
        r["j"] = None  # i32 left out: the default applies
    else:
        r["i32"] = i
    return r


def metrics(node):
    return {l.rsplit(" ", 1)[0]: float(l.rsplit(" ", 1)[1])
            for l in node.get("/metrics").text.splitlines() if l and not l.startswith("#")}


def create(node, name="seg", shards=2, schema=SCHEMA, dim=None):
    body = {"collectionName": name, "schema": schema, "params": {"shardsNum": shards},
            "indexParams": [{"fieldName": "v", "indexName": "v", "metricType": "L2",
                             "indexType": "HNSW", "params": {"M": 8, "efConstruction": 64}}]}
    r = node.post("collections/create", body)
    assert r.code == 0, r


def all_rows(node, name="seg"):
    r = node.post("entities/query", {"collectionName": name, "filter": "id >= 0",
                                     "outputFields": ["*"], "limit": 16384})
    assert r.code == 0, r
    return sorted(r.data, key=lambda x: x["id"])


def test_every_type_survives_seal_and_restart(node):
    create(node)
    assert node.post("entities/insert", {"collectionName": "seg",
                                         "data": [row(i) for i in range(300)]}).code == 0
    before = all_rows(node)
    assert len(before) == 300 and before[5]["i32"] == 7 and before[5]["f"] is None
    assert node.post("collections/flush", {"collectionName": "seg"}).code == 0
    m = metrics(node)
    assert m['quiver_segments{state="sealed"}'] == 2 and m["quiver_segment_seals_total"] >= 1
    assert all_rows(node) == before
    node.restart()
    assert all_rows(node) == before
    # deletes and upserts of sealed rows, then seal again and restart twice
    assert node.post("entities/delete", {"collectionName": "seg", "filter": "id < 50"}).code == 0
    r = node.post("entities/upsert", {"collectionName": "seg",
                                      "data": [row(i, "new") for i in range(100, 120)]})
    assert r.code == 0 and r.data["upsertCount"] == 20, r
    node.restart()  # the WAL tail holds the delete and the upsert
    after = all_rows(node)
    assert len(after) == 250 and after[0]["id"] == 50
    assert [x["s"] for x in after if 100 <= x["id"] < 120] == ["new%d" % i for i in range(100, 120)]
    assert node.post("collections/flush", {"collectionName": "seg"}).code == 0
    node.restart()  # now the manifest holds them
    assert all_rows(node) == after
    r = node.post("entities/get", {"collectionName": "seg", "id": [3, 60, 110],
                                   "outputFields": ["*"]})
    assert [x["id"] for x in r.data] == [60, 110] and r.data[1]["s"] == "new110", r


def test_compaction_merges_small_segments(node):
    create(node, shards=1)
    for k in range(6):
        rows = [row(k * 100 + i) for i in range(100)]
        assert node.post("entities/insert", {"collectionName": "seg", "data": rows}).code == 0
        assert node.post("collections/flush", {"collectionName": "seg"}).code == 0
    assert metrics(node)['quiver_segments{state="sealed"}'] == 6
    assert node.post("entities/delete", {"collectionName": "seg",
                                         "filter": "id % 10 == 0"}).code == 0
    q = {"collectionName": "seg", "data": [[33.0, 0.25, -1.0, 3]], "limit": 5,
         "searchParams": {"ef": 64}}
    before = node.post("entities/search", q).data
    r = node.post("collections/compact", {"collectionName": "seg"})
    assert r.code == 0, r
    m = metrics(node)
    assert m['quiver_segments{state="sealed"}'] == 1, m
    assert m["quiver_compaction_purged_rows_total"] == 60
    files = sorted(p.name for p in (node.data_dir / "collections").rglob("seg-*.qvs"))
    assert len(files) == 1, files
    for restart in (False, True):
        if restart:
            node.restart()
        assert node.post("entities/search", q).data == before
        r = node.post("entities/query", {"collectionName": "seg", "outputFields": ["count(*)"]})
        assert r.data == [{"count(*)": 540}], r


def test_kill9_while_sealing_keeps_every_acknowledged_row(node_factory):
    node = node_factory("sealing", flags=["--storage.segment_max_rows", "150"])
    create(node, name="k9", shards=2)
    acked, lock, stop = {}, threading.Lock(), threading.Event()

    def client(base):
        s, i = requests.Session(), 0
        while not stop.is_set():
            rows = [row(base + i + j) for j in range(25)]
            try:
                r = s.post(node.url + "/v2/vectordb/entities/insert",
                           data=json.dumps({"collectionName": "k9", "data": rows}), timeout=5)
                if r.json().get("code") == 0:
                    with lock:
                        acked.update((x["id"], x) for x in rows)
            except Exception:
                return
            i += 25

    threads = [threading.Thread(target=client, args=(k * 1_000_000,)) for k in range(3)]
    for t in threads:
        t.start()
    deadline = time.time() + 20
    while metrics(node).get("quiver_segment_seals_total", 0) < 3 and time.time() < deadline:
        time.sleep(0.1)
    node.kill9()
    stop.set()
    for t in threads:
        t.join()
    node.start()
    assert metrics(node)['quiver_segments{state="sealed"}'] >= 2
    got = {x["id"]: x for x in all_rows_big(node, "k9")}
    for i, x in acked.items():
        assert i in got, "acknowledged id %d lost" % i
        assert got[i]["s"] == x["s"] and got[i]["v"] == x["v"] and got[i]["j"] == x["j"]
    # nothing half-present: whole batches of 25 consecutive ids only
    starts = {i - i % 25 for i in got}
    assert all(all(s + j in got for j in range(25)) for s in starts)


def all_rows_big(node, name):
    out, last = [], -1
    while True:
        r = node.post("entities/query", {"collectionName": name, "filter": "id > %d" % last,
                                         "outputFields": ["*"], "limit": 5000})
        assert r.code == 0, r
        if not r.data:
            return out
        out += r.data
        last = max(x["id"] for x in r.data)


def test_growing_budget_makes_writers_wait_for_sealing(node_factory):
    node = node_factory("budget", flags=["--storage.segment_max_bytes", "16KiB",
                                         "--storage.growing_budget_bytes", "64KiB"])
    create(node, name="bud", shards=2)
    errors = []

    def client(base):
        s = requests.Session()
        for k in range(20):
            rows = [row(base + k * 100 + i) for i in range(100)]
            r = s.post(node.url + "/v2/vectordb/entities/insert",
                       data=json.dumps({"collectionName": "bud", "data": rows})).json()
            if r["code"] != 0:
                errors.append(r)

    threads = [threading.Thread(target=client, args=(k * 1_000_000,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    m = metrics(node)
    assert m["quiver_segment_seals_total"] >= 4, m
    assert m["quiver_growing_bytes"] <= 64 * 1024 + 40 * 1024
    node.restart()
    r = node.post("entities/query", {"collectionName": "bud", "outputFields": ["count(*)"]})
    assert r.data == [{"count(*)": 4000}], r
