# SPDX-License-Identifier: Apache-2.0
"""Partition key (multi-tenancy): hidden partitions _default_0.._default_{n-1} created with
the collection, rows routed by FNV-1a-64(key) % n, explicit partition names refused as
Milvus refuses them, and filters on the key reading only the key's partitions while still
answering exactly."""
import random
import struct

import pytest

from helpers import ok, err, uniq


def fnv1a64(data):
    h = 14695981039346656037
    for b in data:
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def partition_of(key, n):
    raw = struct.pack("<q", key) if isinstance(key, int) else key.encode()
    return "_default_%d" % (fnv1a64(raw) % n)


def make(node, key_type="Int64", params=None, auto_id=False):
    name = uniq("pk")
    key = {"fieldName": "tenant", "dataType": key_type, "isPartitionKey": True}
    if key_type == "VarChar":
        key["elementTypeParams"] = {"max_length": 32}
    ok(node.post("collections/create", {
        "collectionName": name,
        "schema": {"autoID": auto_id, "enableDynamicField": True, "fields": [
            {"fieldName": "id", "dataType": "Int64", "isPrimary": True}, key,
            {"fieldName": "vec", "dataType": "FloatVector", "elementTypeParams": {"dim": 4}}]},
        "indexParams": [{"fieldName": "vec", "metricType": "L2", "indexType": "FLAT"}],
        "params": dict({"shardsNum": 2}, **(params or {}))}))
    return name


def rows(n, tenants, seed=1):
    rnd = random.Random(seed)
    return [{"id": i, "tenant": tenants[i % len(tenants)],
             "vec": [rnd.uniform(-1, 1) for _ in range(4)]} for i in range(n)]


def l2(a, b):
    return sum((x - y) ** 2 for x, y in zip(a, b))


def test_create_describe_and_routing(node):
    name = make(node)
    d = ok(node.post("collections/describe", {"collectionName": name}))
    assert d["partitionsNum"] == 16
    assert [f["partitionKey"] for f in d["fields"]] == [False, True, False]
    assert "partitionsNum" not in {p["key"] for p in d["properties"]}
    parts = ok(node.post("partitions/list", {"collectionName": name}))
    assert parts == ["_default_%d" % i for i in range(16)]
    data = rows(300, list(range(30)))
    ok(node.post("entities/insert", {"collectionName": name, "data": data}))
    want = {}
    for r in data:
        p = partition_of(r["tenant"], 16)
        want[p] = want.get(p, 0) + 1
    for p in parts:
        got = ok(node.post("partitions/get_stats", {"collectionName": name, "partitionName": p}))
        assert got == {"rowCount": want.get(p, 0)}, p
    assert ok(node.post("collections/get_stats", {"collectionName": name})) == {"rowCount": 300}


@pytest.mark.parametrize("num", [1, 4, "8", 1024])
def test_partitions_num(node, num):
    name = make(node, params={"partitionsNum": num})
    d = ok(node.post("collections/describe", {"collectionName": name}))
    assert d["partitionsNum"] == int(num)
    ok(node.post("entities/insert", {"collectionName": name, "data": rows(20, [1, 2, 3])}))
    r = node.post("entities/query", {"collectionName": name, "filter": "tenant == 2",
                                     "outputFields": ["count(*)"]})
    assert ok(r) == [{"count(*)": 7}]


def test_bad_create(node):
    base = [{"fieldName": "id", "dataType": "Int64", "isPrimary": True},
            {"fieldName": "vec", "dataType": "FloatVector", "elementTypeParams": {"dim": 4}}]

    def create(fields, params=None):
        return node.post("collections/create", {"collectionName": uniq("bad"),
                                                "schema": {"fields": fields},
                                                "params": params or {}})
    key = {"fieldName": "t", "dataType": "Int64", "isPartitionKey": True}
    for num in (0, -1, 1025, "x"):
        err(create(base + [key], {"partitionsNum": num}), 1100, "partitionsNum")
    err(create(base, {"partitionsNum": 4}), 65535,
        "num_partitions should only be specified with partition key field enabled")
    err(create(base + [dict(key, dataType="Float")]), 65535,
        "the data type of partition key should be Int64 or VarChar")
    err(create(base + [key, dict(key, fieldName="u")]), 65535,
        "there are more than one partition key, field name = t, u")
    err(create([dict(base[0], isPartitionKey=True), base[1]]), 65535,
        "the partition key field must not be primary field")
    err(create(base + [dict(key, nullable=True)]), 1100,
        "partition key field not support nullable")
    r = node.post("collections/create", {"collectionName": uniq("q"), "dimension": 4,
                                         "params": {"partitionsNum": 4}})
    err(r, 65535, "num_partitions should only be specified")


def test_explicit_partition_names_are_refused(node):
    name = make(node)
    ok(node.post("entities/insert", {"collectionName": name, "data": rows(10, [1, 2])}))
    msg = "not support manually specifying the partition names if partition key mode is used"
    for path in ("entities/insert", "entities/upsert"):
        r = node.post(path, {"collectionName": name, "data": rows(1, [1]),
                             "partitionName": "_default_0"})
        err(r, 65535, msg)
    err(node.post("entities/delete", {"collectionName": name, "filter": "id > 0",
                                      "partitionName": "_default_1"}), 65535, msg)
    err(node.post("entities/query", {"collectionName": name, "filter": "id > 0",
                                     "partitionNames": ["_default_1"]}), 1100, msg)
    err(node.post("entities/get", {"collectionName": name, "id": [1],
                                   "partitionNames": ["nope"]}), 1100, msg)
    err(node.post("entities/search", {"collectionName": name, "data": [[0, 0, 0, 0]],
                                      "partitionNames": ["_default_1"]}), 1100, msg)
    err(node.post("entities/hybrid_search", {
        "collectionName": name, "partitionNames": ["_default_1"],
        "search": [{"data": [[0, 0, 0, 0]], "annsField": "vec", "limit": 3}]}), 1100, msg)
    err(node.post("partitions/create", {"collectionName": name, "partitionName": "p1"}),
        65535, "disable create partition if partition key mode is used")
    err(node.post("partitions/drop", {"collectionName": name, "partitionName": "_default_3"}),
        65535, "disable drop partition if partition key mode is used")
    err(node.post("partitions/load", {"collectionName": name, "partitionNames": ["_default_3"]}),
        65535, "disable load partitions if partition key mode is used")
    err(node.post("partitions/release", {"collectionName": name,
                                         "partitionNames": ["_default_3"]}),
        65535, "disable release partitions if partition key mode is used")
    # an empty partitionName is no partition name
    ok(node.post("entities/insert", {"collectionName": name, "data": rows(1, [5]),
                                     "partitionName": ""}))
    assert ok(node.post("collections/get_stats", {"collectionName": name})) == {"rowCount": 10}


@pytest.mark.parametrize("key_type", ["Int64", "VarChar"])
def test_key_filters_are_exact(node, key_type):
    tenants = list(range(12)) if key_type == "Int64" else ["t%d" % i for i in range(12)]
    name = make(node, key_type, params={"partitionsNum": 5})
    data = rows(600, tenants, seed=7)
    ok(node.post("entities/insert", {"collectionName": name, "data": data[:400]}))
    ok(node.post("collections/flush", {"collectionName": name}))
    ok(node.post("entities/insert", {"collectionName": name, "data": data[400:]}))
    t3, t4, t9 = tenants[3], tenants[4], tenants[9]
    lit = (lambda t: str(t)) if key_type == "Int64" else (lambda t: '"%s"' % t)
    cases = [
        ("tenant == %s" % lit(t3), lambda r: r["tenant"] == t3),
        ("tenant in [%s, %s]" % (lit(t3), lit(t9)), lambda r: r["tenant"] in (t3, t9)),
        ("tenant == %s and id %% 2 == 0" % lit(t4), lambda r: r["tenant"] == t4 and r["id"] % 2 == 0),
        ("tenant == %s or tenant == %s" % (lit(t3), lit(t4)), lambda r: r["tenant"] in (t3, t4)),
        ("tenant in {keys}", lambda r: r["tenant"] in (t4, t9)),
        ("tenant == %s or id < 5" % lit(t3), lambda r: r["tenant"] == t3 or r["id"] < 5),
        ("tenant in []", lambda r: False),
    ]
    query = [0.1, -0.2, 0.3, 0.0]
    for expr, pred in cases:
        params = {"keys": [t4, t9]}
        expect = sorted(r["id"] for r in data if pred(r))
        r = node.post("entities/query", {"collectionName": name, "filter": expr, "limit": 1000,
                                         "exprParams": params, "outputFields": ["tenant"]})
        got = ok(r)
        assert sorted(x["id"] for x in got) == expect, expr
        assert all(pred(dict(x, id=x["id"])) for x in got), expr
        r = node.post("entities/query", {"collectionName": name, "filter": expr,
                                         "exprParams": params, "outputFields": ["count(*)"]})
        assert ok(r) == [{"count(*)": len(expect)}], expr
        best = sorted((l2(query, x["vec"]), x["id"]) for x in data if pred(x))[:10]
        r = node.post("entities/search", {"collectionName": name, "data": [query], "limit": 10,
                                          "filter": expr, "exprParams": params})
        assert [h["id"] for h in ok(r)] == [i for _, i in best], expr
    # delete by key: only that tenant's rows go
    r = node.post("entities/delete", {"collectionName": name, "filter": "tenant == %s" % lit(t3)})
    assert ok(r)["deleteCount"] == sum(1 for x in data if x["tenant"] == t3)
    total = ok(node.post("collections/get_stats", {"collectionName": name}))["rowCount"]
    assert total == sum(1 for x in data if x["tenant"] != t3)


def test_upsert_moves_rows_between_tenants_and_restart(node):
    name = make(node, params={"partitionsNum": 7})
    ok(node.post("entities/insert", {"collectionName": name, "data": rows(50, [1, 2, 3])}))
    ok(node.post("entities/upsert", {"collectionName": name, "data": [
        {"id": 0, "tenant": 100, "vec": [0, 0, 0, 0]}]}))
    ok(node.post("entities/upsert", {"collectionName": name, "partialUpdate": True, "data": [
        {"id": 1, "tenant": 100}]}))
    for restart in (False, True):
        if restart:
            node.restart()
        r = node.post("entities/query", {"collectionName": name, "filter": "tenant == 100",
                                         "outputFields": ["tenant"]})
        assert [x["id"] for x in ok(r)] == [0, 1]
        r = node.post("entities/query", {"collectionName": name, "filter": "tenant in [1, 2]",
                                         "outputFields": ["count(*)"]})
        assert ok(r) == [{"count(*)": 34 - 2}]  # ids 0 (tenant 1) and 1 (tenant 2) moved
        assert ok(node.post("collections/get_stats", {"collectionName": name})) == {"rowCount": 50}
        p = partition_of(100, 7)
        got = ok(node.post("partitions/get_stats", {"collectionName": name, "partitionName": p}))
        assert got["rowCount"] >= 2
        assert ok(node.post("collections/describe", {"collectionName": name}))["partitionsNum"] == 7


def test_auto_id_and_load_release(node):
    name = make(node, auto_id=True)
    data = [{"tenant": t, "vec": [t, 0, 0, 0]} for t in range(20)]
    ids = ok(node.post("entities/insert", {"collectionName": name, "data": data}))["insertIds"]
    assert len(set(ids)) == 20
    ok(node.post("collections/release", {"collectionName": name}))
    assert ok(node.post("collections/get_load_state",
                        {"collectionName": name}))["loadState"] == "LoadStateNotLoad"
    ok(node.post("collections/load", {"collectionName": name}))
    r = node.post("entities/search", {"collectionName": name, "data": [[5, 0, 0, 0]], "limit": 1,
                                      "filter": "tenant == 5", "outputFields": ["tenant"]})
    assert [h["tenant"] for h in ok(r)] == [5]
