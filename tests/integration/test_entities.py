# SPDX-License-Identifier: Apache-2.0
"""Entities through REST against a real quiverd: insert, get, query, upsert, delete,
restart, kill -9 under concurrent writers, validation, Int64 exactness."""
import json
import random
import threading
import time

import pytest
import requests

SCHEMA = {
    "autoID": False,
    "enableDynamicField": True,
    "fields": [
        {"fieldName": "id", "dataType": "Int64", "isPrimary": True},
        {"fieldName": "vec", "dataType": "FloatVector", "elementTypeParams": {"dim": 4}},
        {"fieldName": "title", "dataType": "VarChar", "elementTypeParams": {"max_length": 24}},
        {"fieldName": "score", "dataType": "Double", "nullable": True},
        {"fieldName": "count", "dataType": "Int32", "defaultValue": 7},
        {"fieldName": "flag", "dataType": "Bool"},
        {"fieldName": "meta", "dataType": "JSON"},
        {"fieldName": "tags", "dataType": "Array", "elementDataType": "Int64",
         "elementTypeParams": {"max_capacity": 4}},
    ],
}
INDEX = [{"fieldName": "vec", "metricType": "L2", "indexType": "FLAT"}]


def make(node, name="ent", shards=1):
    r = node.post("collections/create", {"collectionName": name, "schema": SCHEMA,
                                         "indexParams": INDEX, "params": {"shardsNum": shards}})
    assert r.code == 0, r


def row(i):
    return {"id": i, "vec": [float(i), 0.5, -1.0, 2.0], "title": "t%d" % i,
            "score": i / 3.0 if i % 5 else None, "flag": i % 2 == 0,
            "meta": {"k": i, "s": ["a", "b"]}, "tags": [i, i + 1], "extra": "x%d" % i}


def test_insert_get_query_upsert_delete(node):
    make(node, shards=2)
    r = node.post("entities/insert", {"collectionName": "ent", "data": [row(i) for i in range(50)]})
    assert r.code == 0, r
    assert r.data["insertCount"] == 50 and r.data["insertIds"] == list(range(50))
    r = node.post("entities/get", {"collectionName": "ent", "id": [3, 10], "outputFields": ["*"]})
    assert r.code == 0, r
    got = {x["id"]: x for x in r.data}
    assert got[3]["title"] == "t3" and got[3]["vec"] == [3.0, 0.5, -1.0, 2.0]
    assert got[3]["count"] == 7 and got[3]["meta"] == {"k": 3, "s": ["a", "b"]}
    assert got[3]["tags"] == [3, 4] and got[3]["extra"] == "x3" and got[3]["flag"] is False
    assert got[10]["score"] is None
    r = node.post("entities/query", {"collectionName": "ent", "filter": "id >= 40",
                                     "outputFields": ["title"]})
    assert [x["id"] for x in r.data] == list(range(40, 50))
    assert set(r.data[0]) == {"id", "title"}
    r = node.post("entities/query", {"collectionName": "ent", "filter": "",
                                     "outputFields": ["count(*)"]})
    assert r.data == [{"count(*)": 50}]
    r = node.post("entities/upsert", {"collectionName": "ent",
                                      "data": [dict(row(i), title="new") for i in (1, 2, 99)]})
    assert r.code == 0 and r.data["upsertCount"] == 3, r
    r = node.post("entities/query", {"collectionName": "ent", "filter": 'title == "new"',
                                     "outputFields": ["id"]})
    assert [x["id"] for x in r.data] == [1, 2, 99]
    r = node.post("entities/delete", {"collectionName": "ent", "filter": "id in [1, 5, 6, 1000]"})
    assert r.code == 0 and r.data["deleteCount"] == 3, r
    r = node.post("entities/query", {"collectionName": "ent", "outputFields": ["count(*)"]})
    assert r.data == [{"count(*)": 48}]
    r = node.post("entities/query", {"collectionName": "ent", "filter": "id < 10",
                                     "limit": 3, "offset": 2})
    assert [x["id"] for x in r.data] == [3, 4, 7]
    assert node.post("collections/get_stats", {"collectionName": "ent"}).data == {"rowCount": 48}
    node.restart()
    r = node.post("entities/query", {"collectionName": "ent", "filter": "id < 10",
                                     "outputFields": ["title"]})
    assert [(x["id"], x["title"]) for x in r.data] == [
        (0, "t0"), (2, "new"), (3, "t3"), (4, "t4"), (7, "t7"), (8, "t8"), (9, "t9")]


def test_batch_is_refused_whole_with_row_and_field(node):
    make(node)
    bad = [row(0), row(1), dict(row(2), vec=[1.0, 2.0]), row(3)]
    r = node.post("entities/insert", {"collectionName": "ent", "data": bad})
    assert r.code == 1804, r
    assert "fail to deal the insert data" in r.message and "[2]" in r.message and "vec" in r.message
    for broken, field in ((dict(row(0), title="x" * 25), "title"),
                          (dict(row(0), count="seven"), "count"),
                          ({k: v for k, v in row(0).items() if k != "flag"}, "flag")):
        r = node.post("entities/insert", {"collectionName": "ent", "data": [row(9), broken]})
        assert r.code in (1804, 1100), r
        assert field in r.message, r
    r = node.post("entities/query", {"collectionName": "ent", "outputFields": ["count(*)"]})
    assert r.data == [{"count(*)": 0}]  # nothing of a refused batch was stored


def test_int64_exact_and_as_strings(node):
    make(node)
    big = 2 ** 62 + 1
    r = node.post("entities/insert", {"collectionName": "ent", "data": [row(big), row(-big)]})
    assert r.code == 0, r
    raw = node.post("entities/get", {"collectionName": "ent", "id": big, "outputFields": ["id"]})
    assert raw.data[0]["id"] == big
    r = node.post("entities/query", {"collectionName": "ent", "filter": "id < 0",
                                     "outputFields": ["id"]},
                  headers={"Accept-Type-Allow-Int64": "false"})
    assert r.data == [{"id": str(-big)}]


def test_auto_id_unique_across_restart(node):
    r = node.post("collections/create", {"collectionName": "auto", "dimension": 2, "autoID": True})
    assert r.code == 0, r
    ids = node.post("entities/insert", {"collectionName": "auto",
                                        "data": [{"vector": [1, 2]}] * 5}).data["insertIds"]
    r = node.post("entities/insert", {"collectionName": "auto",
                                      "data": [{"id": 1, "vector": [1, 2]}]})
    assert r.code != 0 and "no need to pass pk field" in r.message
    node.kill9()
    node.start()
    more = node.post("entities/insert", {"collectionName": "auto",
                                         "data": [{"vector": [1, 2]}] * 5}).data["insertIds"]
    assert len(set(ids + more)) == 10


def test_kill9_keeps_every_acknowledged_row(node):
    make(node, shards=2)
    acked, lock, stop = {}, threading.Lock(), threading.Event()

    def client(base):
        i = 0
        s = requests.Session()
        while not stop.is_set():
            rows = [row(base + i + j) for j in range(20)]
            try:
                r = s.post(node.url + "/v2/vectordb/entities/insert",
                           data=json.dumps({"collectionName": "ent", "data": rows}), timeout=5)
                if r.json().get("code") == 0:
                    with lock:
                        for x in rows:
                            acked[x["id"]] = x
            except Exception:
                return
            i += 20

    threads = [threading.Thread(target=client, args=(k * 1_000_000,)) for k in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    node.kill9()
    stop.set()
    for t in threads:
        t.join()
    node.start()
    ids = sorted(acked)
    assert ids, "no insert was acknowledged"
    for k in range(0, len(ids), 500):
        chunk = ids[k:k + 500]
        r = node.post("entities/get", {"collectionName": "ent", "id": chunk, "outputFields": ["*"]})
        assert r.code == 0, r
        got = {x["id"]: x for x in r.data}
        for i in chunk:
            assert i in got, "acknowledged id %d lost" % i
            assert got[i]["title"] == acked[i]["title"] and got[i]["vec"] == acked[i]["vec"]
    # nothing half-present: every stored row is a whole batch of 20 consecutive ids
    total = node.post("entities/query", {"collectionName": "ent",
                                         "outputFields": ["count(*)"]}).data[0]["count(*)"]
    assert total % 20 == 0 and total >= len(ids)


def test_errors(node):
    make(node)
    r = node.post("entities/insert", {"collectionName": "nope", "data": [row(1)]})
    assert r.code == 100 and "can't find collection" in r.message
    r = node.post("entities/delete", {"collectionName": "ent"})
    assert r.code == 1802
    r = node.post("entities/query", {"collectionName": "ent", "filter": "id >"})
    assert r.code == 1100 and "failed to create query plan" in r.message
    r = node.post("entities/query", {"collectionName": "ent", "limit": 16000, "offset": 1000})
    assert r.code == 65535
    node.post("collections/release", {"collectionName": "ent"})
    r = node.post("entities/query", {"collectionName": "ent"})
    assert r.code == 101


def test_write_metrics(node):
    make(node)
    node.post("entities/insert", {"collectionName": "ent", "data": [row(i) for i in range(10)]})
    text = node.get("/metrics").text
    values = {l.split()[0]: float(l.split()[1]) for l in text.splitlines()
              if l and not l.startswith("#")}
    assert values["quiver_wal_appends_total"] >= 1
    assert values["quiver_wal_fsyncs_total"] >= 1
    assert values["quiver_rows_inserted_total"] == 10
    assert values["quiver_wal_files"] >= 1


def test_compaction_purges_deleted_rows(node):
    r = node.post("collections/create", {
        "collectionName": "cp",
        "schema": {"fields": [{"fieldName": "id", "dataType": "Int64", "isPrimary": True},
                              {"fieldName": "v", "dataType": "FloatVector",
                               "elementTypeParams": {"dim": 4}}]},
        "indexParams": [{"fieldName": "v", "indexName": "v", "metricType": "L2",
                         "indexType": "HNSW"}],
        "params": {"shardsNum": 2}})
    assert r.code == 0, r
    rows = [{"id": i, "v": [float(i), 0, 0, 1]} for i in range(3000)]
    assert node.post("entities/insert", {"collectionName": "cp", "data": rows}).code == 0
    assert node.post("entities/delete", {"collectionName": "cp", "filter": "id % 3 == 0"}).code == 0
    r = node.post("collections/compact", {"collectionName": "cp"})
    assert r.code == 0, r
    job = r.data["compactionID"]
    r = node.post("collections/get_compaction_state", {"jobID": job})
    assert r.data["state"] == "Completed" and r.data["compactionID"] == job
    assert node.post("collections/get_compaction_state", {"jobID": job + 999}).data["state"] == \
        "UndefiedState"
    for restart in (False, True):
        if restart:
            node.restart()
        deadline = time.time() + 60
        while True:  # the index is rebuilt over the renumbered rows
            d = node.post("indexes/describe", {"collectionName": "cp", "indexName": "v"}).data[0]
            if d["indexState"] == "Finished" or time.time() > deadline:
                break
            time.sleep(0.2)
        assert d["totalRows"] == 2000 and d["indexedRows"] == 2000, d
        r = node.post("entities/search", {"collectionName": "cp", "data": [[3.0, 0, 0, 1]],
                                          "limit": 3})
        assert [h["id"] for h in r.data] == [2, 4, 1], r  # 3 is deleted; ties by pk
        r = node.post("entities/query", {"collectionName": "cp", "outputFields": ["count(*)"]})
        assert r.data == [{"count(*)": 2000}]
