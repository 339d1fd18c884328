# SPDX-License-Identifier: Apache-2.0
"""entities/upsert with "partialUpdate": true (Milvus 2.6 merge mode): omitted fields and
dynamic keys keep their stored values, keys not stored are inserted as a normal upsert
would insert them, bad input is refused whole."""
import pytest

from helpers import ok, err, uniq

SCHEMA = {
    "autoID": False,
    "enableDynamicField": True,
    "fields": [
        {"fieldName": "id", "dataType": "Int64", "isPrimary": True},
        {"fieldName": "vec", "dataType": "FloatVector", "elementTypeParams": {"dim": 4}},
        {"fieldName": "title", "dataType": "VarChar", "elementTypeParams": {"max_length": 32}},
        {"fieldName": "score", "dataType": "Double", "nullable": True},
        {"fieldName": "f32", "dataType": "Float"},
        {"fieldName": "count", "dataType": "Int32", "defaultValue": 7},
        {"fieldName": "flag", "dataType": "Bool"},
        {"fieldName": "meta", "dataType": "JSON"},
        {"fieldName": "tags", "dataType": "Array", "elementDataType": "Int64",
         "elementTypeParams": {"max_capacity": 4}},
    ],
}
INDEX = [{"fieldName": "vec", "metricType": "L2", "indexType": "FLAT"}]


def make(node, shards=2):
    name = uniq("pu")
    ok(node.post("collections/create", {"collectionName": name, "schema": SCHEMA,
                                        "indexParams": INDEX, "params": {"shardsNum": shards}}))
    return name


def row(i):
    return {"id": i, "vec": [float(i), 0.25, -1.0, 2.0], "title": "t%d" % i,
            "score": i / 3.0, "f32": 0.1 * i, "count": i, "flag": i % 2 == 0,
            "meta": {"k": i, "s": ["a", "b"]}, "tags": [i, i + 1], "a": i, "b": "x%d" % i}


def get(node, name, ids):
    r = node.post("entities/get", {"collectionName": name, "id": ids, "outputFields": ["*"]})
    return {x["id"]: x for x in ok(r)}


def upsert(node, name, data, **extra):
    body = {"collectionName": name, "data": data, "partialUpdate": True}
    body.update(extra)
    return node.post("entities/upsert", body)


def test_omitted_fields_keep_stored_values(node):
    name = make(node)
    ok(node.post("entities/insert", {"collectionName": name, "data": [row(i) for i in range(20)]}))
    before = get(node, name, [3, 4])
    d = ok(upsert(node, name, [{"id": 3, "title": "new3"}, {"id": 4, "vec": [9, 9, 9, 9]}]))
    assert d == {"upsertCount": 2, "upsertIds": [3, 4]}
    after = get(node, name, [3, 4])
    assert after[3] == dict(before[3], title="new3")
    assert after[4] == dict(before[4], vec=[9.0, 9.0, 9.0, 9.0])
    # Float and Double values round-trip exactly through the merge
    assert after[3]["f32"] == before[3]["f32"] and after[3]["score"] == before[3]["score"]
    assert node.post("entities/query", {"collectionName": name,
                                        "outputFields": ["count(*)"]}).data == [{"count(*)": 20}]
    r = node.post("entities/search", {"collectionName": name, "data": [[9, 9, 9, 9]], "limit": 1})
    assert [h["id"] for h in ok(r)] == [4]


def test_dynamic_keys_are_merged(node):
    name = make(node)
    ok(node.post("entities/insert", {"collectionName": name, "data": [row(1)]}))
    ok(upsert(node, name, [{"id": 1, "b": "changed", "c": [1, 2]}]))
    got = get(node, name, [1])[1]
    assert got["a"] == 1 and got["b"] == "changed" and got["c"] == [1, 2]
    assert got["title"] == "t1" and got["meta"] == {"k": 1, "s": ["a", "b"]}
    # a filter on a merged dynamic key sees the new value
    r = node.post("entities/query", {"collectionName": name, "filter": 'b == "changed"',
                                     "outputFields": ["id"]})
    assert ok(r) == [{"id": 1}]


def test_explicit_null_and_default(node):
    name = make(node)
    ok(node.post("entities/insert", {"collectionName": name, "data": [row(5)]}))
    ok(upsert(node, name, [{"id": 5, "score": None, "count": None}]))
    got = get(node, name, [5])[5]
    assert got["score"] is None  # nullable: set to null
    assert got["count"] == 7     # null on a field with a default takes the default
    assert got["title"] == "t5"


def test_new_keys_are_inserted(node):
    name = make(node)
    ok(node.post("entities/insert", {"collectionName": name, "data": [row(1)]}))
    full = row(50)
    del full["count"]
    del full["score"]
    d = ok(upsert(node, name, [{"id": 1, "title": "one"}, full]))
    assert d["upsertIds"] == [1, 50]
    got = get(node, name, [1, 50])
    assert got[1]["title"] == "one" and got[1]["vec"] == row(1)["vec"]
    assert got[50]["count"] == 7 and got[50]["score"] is None and got[50]["title"] == "t50"


def test_missing_required_field_of_a_new_key_refuses_the_batch(node):
    name = make(node)
    ok(node.post("entities/insert", {"collectionName": name, "data": [row(1)]}))
    r = upsert(node, name, [{"id": 1, "title": "changed"}, {"id": 77, "title": "no vector"}])
    err(r, 1804, "fail to deal the insert data", "[1]")
    assert get(node, name, [1])[1]["title"] == "t1"  # nothing of the batch was applied
    assert get(node, name, [77]) == {}


def test_bad_input(node):
    name = make(node)
    ok(node.post("entities/insert", {"collectionName": name, "data": [row(1)]}))
    err(upsert(node, name, [{"id": 1}], partialUpdate="yes"), 1801, "partialUpdate")
    err(upsert(node, name, [{"id": 1, "flag": "maybe"}]), 1804, "flag")
    err(upsert(node, name, [{"id": 1, "title": "x" * 40}]), 1804, "title")
    err(upsert(node, name, [{"id": 1, "vec": [1, 2]}]), 1804, "vec")
    err(upsert(node, name, [{"id": 1, "$meta": {}}]), 1804)
    err(upsert(node, name, []), 1802)
    r = node.post("entities/upsert", {"collectionName": name, "partialUpdate": True})
    assert r.code == 1802, r
    r = upsert(node, name, {"id": 1})
    assert r.code == 1801, r
    err(upsert(node, name, [{"id": "abc", "title": "x"}]), 1804, "id")
    assert get(node, name, [1])[1]["title"] == "t1"


def test_numeric_string_key_matches_stored_row(node):
    name = make(node)
    ok(node.post("entities/insert", {"collectionName": name, "data": [row(8)]}))
    ok(upsert(node, name, [{"id": "8", "title": "by string"}]))
    got = get(node, name, [8])[8]
    assert got["title"] == "by string" and got["meta"] == row(8)["meta"]


def test_sealed_rows_and_restart(node):
    name = make(node)
    ok(node.post("entities/insert", {"collectionName": name, "data": [row(i) for i in range(10)]}))
    ok(node.post("collections/flush", {"collectionName": name}))
    ok(upsert(node, name, [{"id": i, "title": "s%d" % i} for i in range(0, 10, 2)]))
    node.restart()
    got = get(node, name, list(range(10)))
    for i in range(10):
        assert got[i]["title"] == ("s%d" % i if i % 2 == 0 else "t%d" % i)
        assert got[i]["tags"] == [i, i + 1] and got[i]["b"] == "x%d" % i


def test_varchar_key_and_int64_extremes(node):
    name = uniq("puv")
    ok(node.post("collections/create", {
        "collectionName": name,
        "schema": {"enableDynamicField": True, "fields": [
            {"fieldName": "pk", "dataType": "VarChar", "isPrimary": True,
             "elementTypeParams": {"max_length": 16}},
            {"fieldName": "v", "dataType": "FloatVector", "elementTypeParams": {"dim": 2}},
            {"fieldName": "big", "dataType": "Int64"}]},
        "indexParams": [{"fieldName": "v", "metricType": "IP", "indexType": "FLAT"}]}))
    big = 2 ** 63 - 1
    ok(node.post("entities/insert", {"collectionName": name, "data": [
        {"pk": "a", "v": [1, 2], "big": big}, {"pk": "ab", "v": [3, 4], "big": -big, "x": 1}]}))
    ok(upsert(node, name, [{"pk": "ab", "v": [5, 6]}, {"pk": "a", "y": True}]))
    r = ok(node.post("entities/query", {"collectionName": name, "filter": "",
                                        "outputFields": ["*"]}))
    assert r == [{"pk": "a", "v": [1.0, 2.0], "big": big, "y": True},
                 {"pk": "ab", "v": [5.0, 6.0], "big": -big, "x": 1}]


def test_autoid_collection(node):
    name = uniq("pua")
    ok(node.post("collections/create", {"collectionName": name, "dimension": 2, "autoID": True}))
    ids = ok(node.post("entities/insert", {"collectionName": name,
                                           "data": [{"vector": [1, 2], "tag": "a"}]}))["insertIds"]
    d = ok(upsert(node, name, [{"id": ids[0], "tag": "b"}]))
    assert d["upsertIds"] == ids
    got = get(node, name, ids)[ids[0]]
    assert got["tag"] == "b" and got["vector"] == [1.0, 2.0]
    # a key that is not stored gets a new id (Milvus 2.6); stored keys are kept
    d = ok(upsert(node, name, [{"id": 12345, "vector": [7, 8]}, {"id": ids[0], "tag": "c"}]))
    new_id = d["upsertIds"][0]
    assert new_id != 12345 and d["upsertIds"][1] == ids[0]
    assert get(node, name, [new_id])[new_id]["vector"] == [7.0, 8.0]
    assert get(node, name, [12345]) == {}
    # rows without the key are inserted with new ids
    d = ok(upsert(node, name, [{"vector": [3, 4]}]))
    assert d["upsertCount"] == 1 and d["upsertIds"][0] not in (ids[0], new_id)
    r = upsert(node, name, [{"id": ids[0], "tag": "c"}, {"vector": [5, 6]}])
    assert r.code != 0, r  # the key in some rows only


@pytest.mark.parametrize("flag", [False, None])
def test_without_partial_update_omitted_fields_reset(node, flag):
    name = make(node)
    ok(node.post("entities/insert", {"collectionName": name, "data": [row(2)]}))
    body = {"collectionName": name, "data": [dict(row(2), title="full")]}
    del body["data"][0]["score"]
    del body["data"][0]["a"]
    if flag is not None:
        body["partialUpdate"] = flag
    ok(node.post("entities/upsert", body))
    got = get(node, name, [2])[2]
    assert got["score"] is None and "a" not in got and got["title"] == "full"
