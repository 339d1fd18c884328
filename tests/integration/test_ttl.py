# SPDX-License-Identifier: Apache-2.0
"""Collection TTL (`collection.ttl.seconds`): rows older than the TTL, by the time their
write was acknowledged, vanish from query, get, search and counts at once, stay expired
across a restart, and compaction purges them. Bad values are refused with 1100."""
import time

import pytest

from helpers import ok, err, uniq

FIELDS = [
    {"fieldName": "id", "dataType": "Int64", "isPrimary": True},
    {"fieldName": "vec", "dataType": "FloatVector", "elementTypeParams": {"dim": 2}},
    {"fieldName": "tag", "dataType": "Int32"},
]
INDEX = [{"fieldName": "vec", "metricType": "L2", "indexType": "FLAT"}]


def make(node, params=None):
    name = uniq("ttl")
    body = {"collectionName": name, "schema": {"fields": FIELDS}, "indexParams": INDEX,
            "params": dict({"shardsNum": 2}, **(params or {}))}
    ok(node.post("collections/create", body))
    return name


def insert(node, name, ids, tag):
    ok(node.post("entities/insert", {"collectionName": name, "data": [
        {"id": i, "vec": [float(i), 0.0], "tag": tag} for i in ids]}))


def count(node, name):
    r = node.post("entities/query", {"collectionName": name, "outputFields": ["count(*)"]})
    return ok(r)[0]["count(*)"]


def visible_ids(node, name):
    r = node.post("entities/query", {"collectionName": name, "filter": "id >= 0", "limit": 1000,
                                     "outputFields": ["id"]})
    return [x["id"] for x in ok(r)]


def searched_ids(node, name):
    r = node.post("entities/search", {"collectionName": name, "data": [[0.0, 0.0]],
                                      "limit": 1000})
    return sorted(h["id"] for h in ok(r))


def alter(node, name, value):
    return node.post("collections/alter_properties", {
        "collectionName": name, "properties": {"collection.ttl.seconds": value}})


def props(node, name):
    d = ok(node.post("collections/describe", {"collectionName": name}))
    return {p["key"]: p["value"] for p in d["properties"]}


def test_shortened_ttl_hides_old_rows_at_once(node):
    name = make(node)
    insert(node, name, range(0, 20), 1)
    ok(node.post("collections/flush", {"collectionName": name}))  # some sealed ...
    insert(node, name, range(20, 30), 1)                           # ... some growing
    time.sleep(2.5)
    insert(node, name, range(100, 105), 2)
    assert count(node, name) == 35
    ok(alter(node, name, 2))
    assert props(node, name)["collection.ttl.seconds"] == "2"
    assert count(node, name) == 5
    assert visible_ids(node, name) == list(range(100, 105))
    assert searched_ids(node, name) == list(range(100, 105))
    r = node.post("entities/get", {"collectionName": name, "id": [1, 25, 101]})
    assert [x["id"] for x in ok(r)] == [101]
    assert ok(node.post("collections/get_stats", {"collectionName": name})) == {"rowCount": 5}
    r = node.post("partitions/get_stats", {"collectionName": name, "partitionName": "_default"})
    assert ok(r) == {"rowCount": 5}
    # a delete does not see expired rows
    r = node.post("entities/delete", {"collectionName": name, "filter": "id < 1000"})
    assert ok(r)["deleteCount"] == 5
    # re-inserting an expired key gives a fresh, visible row
    insert(node, name, [3], 3)
    assert visible_ids(node, name) == [3]


def test_ttl_at_create_and_rows_expire_over_time(node):
    name = make(node, {"ttlSeconds": 2})
    assert props(node, name)["collection.ttl.seconds"] == "2"
    insert(node, name, range(10), 1)
    assert count(node, name) == 10
    deadline = time.time() + 10
    while count(node, name) and time.time() < deadline:
        time.sleep(0.2)
    assert count(node, name) == 0
    assert searched_ids(node, name) == []


def test_restart_keeps_expiry_and_compaction_purges(node):
    name = make(node)
    insert(node, name, range(50), 1)
    ok(node.post("collections/flush", {"collectionName": name}))
    insert(node, name, range(50, 60), 1)
    time.sleep(2.5)
    insert(node, name, range(60, 70), 2)
    ok(alter(node, name, "2"))
    assert count(node, name) == 10
    node.restart()
    assert count(node, name) == 10  # the write times survived (segment file and WAL)
    assert visible_ids(node, name) == list(range(60, 70))
    ok(node.post("collections/compact", {"collectionName": name}))
    assert count(node, name) == 10
    # purged for good: dropping the TTL does not bring them back
    ok(node.post("collections/drop_properties", {"collectionName": name,
                                                 "propertyKeys": ["collection.ttl.seconds"]}))
    assert "collection.ttl.seconds" not in props(node, name)
    assert count(node, name) == 10
    node.restart()
    assert count(node, name) == 10
    assert searched_ids(node, name) == list(range(60, 70))


@pytest.mark.parametrize("value", [0, "0", -1])
def test_zero_and_minus_one_mean_no_expiry(node, value):
    name = make(node)
    insert(node, name, range(5), 1)
    time.sleep(1.2)
    ok(alter(node, name, value))
    assert count(node, name) == 5


def test_bad_values(node):
    name = make(node)
    for value in ("abc", "1.5", 1.5, True, "", "2s"):
        err(alter(node, name, value), 1100, "collection TTL is not a valid positive integer")
    for value in (-2, "-100", 3155760001):
        err(alter(node, name, value), 1100, "collection TTL is out of range")
    for value in (-5, "abc", 1.5, 3155760001):
        r = node.post("collections/create", {"collectionName": uniq("bad"),
                                             "schema": {"fields": FIELDS},
                                             "params": {"ttlSeconds": value}})
        err(r, 1100, "ttlSeconds")
    assert "collection.ttl.seconds" not in props(node, name)
    ok(alter(node, name, 3155760000))
