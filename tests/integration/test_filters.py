# SPDX-License-Identifier: Apache-2.0
"""The filter language through REST (query, delete, count(*), search), against rows whose
expected matches are computed here in Python; hostile expressions get clear errors."""
import pytest

ROWS = [
    {"id": i, "v": [float(i), 1.0], "age": 20 + i, "name": ["ann", "bob", "cat", "dan"][i % 4] + str(i),
     "score": (i * 1.5 if i % 5 else None), "meta": {"a": {"b": i % 3}, "arr": [i, i + 1]},
     "tags": [i % 2, i % 3], "city": ["rome", "oslo"][i % 2]}
    for i in range(40)
]


@pytest.fixture(scope="module")
def coll(shared_node):
    r = shared_node.post("collections/create", {
        "collectionName": "flt",
        "schema": {"enableDynamicField": True, "fields": [
            {"fieldName": "id", "dataType": "Int64", "isPrimary": True},
            {"fieldName": "v", "dataType": "FloatVector", "elementTypeParams": {"dim": 2}},
            {"fieldName": "age", "dataType": "Int32"},
            {"fieldName": "name", "dataType": "VarChar", "elementTypeParams": {"max_length": 32}},
            {"fieldName": "score", "dataType": "Double", "nullable": True},
            {"fieldName": "meta", "dataType": "JSON"},
            {"fieldName": "tags", "dataType": "Array", "elementDataType": "Int64",
             "elementTypeParams": {"max_capacity": 4}}]},
        "indexParams": [{"fieldName": "v", "metricType": "L2", "indexType": "FLAT"}]})
    assert r.code == 0, r
    assert shared_node.post("entities/insert", {"collectionName": "flt", "data": ROWS}).code == 0
    return shared_node


CASES = [
    ("age > 50", lambda r: r["age"] > 50),
    ("30 <= age < 35", lambda r: 30 <= r["age"] < 35),
    ("age * 2 + 1 > 101", lambda r: r["age"] * 2 + 1 > 101),
    ("age > score * 2", lambda r: r["score"] is not None and r["age"] > r["score"] * 2),
    ('name like "bo%"', lambda r: r["name"].startswith("bo")),
    ('name like "%1"', lambda r: r["name"].endswith("1")),
    ('name like "%an%"', lambda r: "an" in r["name"]),
    ("id in [1, 3, 39, 100]", lambda r: r["id"] in (1, 3, 39, 100)),
    ("id not in [1, 3]", lambda r: r["id"] not in (1, 3)),
    ("score is null", lambda r: r["score"] is None),
    ("score IS NOT NULL and score < 10", lambda r: r["score"] is not None and r["score"] < 10),
    ('meta["a"]["b"] == 2', lambda r: r["meta"]["a"]["b"] == 2),
    ('meta["arr"][0] >= 38', lambda r: r["meta"]["arr"][0] >= 38),
    ('city == "oslo"', lambda r: r["city"] == "oslo"),  # dynamic field by bare name
    ('$meta["city"] == "rome" and age < 25', lambda r: r["city"] == "rome" and r["age"] < 25),
    ("json_contains(meta[\"arr\"], 5)", lambda r: 5 in r["meta"]["arr"]),
    ("array_contains(tags, 2)", lambda r: 2 in r["tags"]),
    ("array_contains_all(tags, [1, 2])", lambda r: 1 in r["tags"] and 2 in r["tags"]),
    ("array_contains_any(tags, [2])", lambda r: 2 in r["tags"]),
    ("array_length(tags) == 2", lambda r: len(r["tags"]) == 2),
    ("not (age > 25) || id == 39", lambda r: not r["age"] > 25 or r["id"] == 39),
    ("(age > 50 or age < 22) and not id == 0", lambda r: (r["age"] > 50 or r["age"] < 22) and r["id"] != 0),
]


@pytest.mark.parametrize("expr,pred", CASES, ids=[c[0] for c in CASES])
def test_query_matches_python(coll, expr, pred):
    r = coll.post("entities/query", {"collectionName": "flt", "filter": expr,
                                     "outputFields": ["id"], "limit": 100})
    assert r.code == 0, (expr, r)
    assert [x["id"] for x in r.data] == [row["id"] for row in ROWS if pred(row)], expr
    c = coll.post("entities/query", {"collectionName": "flt", "filter": expr,
                                     "outputFields": ["count(*)"]})
    assert c.data == [{"count(*)": sum(1 for row in ROWS if pred(row))}]


def test_templates_and_search_prefilter(coll):
    r = coll.post("entities/query", {"collectionName": "flt", "filter": "age > {a} and id in {ids}",
                                     "exprParams": {"a": 25, "ids": [1, 7, 9, 30]},
                                     "outputFields": ["id"]})
    assert [x["id"] for x in r.data] == [7, 9, 30]
    r = coll.post("entities/search", {"collectionName": "flt", "data": [[0.0, 1.0]], "limit": 3,
                                      "filter": 'city == "oslo"', "outputFields": ["city"]})
    assert [x["id"] for x in r.data] == [1, 3, 5] and all(x["city"] == "oslo" for x in r.data)


def test_delete_by_filter(node):
    r = node.post("collections/create", {"collectionName": "d", "dimension": 2})
    assert r.code == 0
    node.post("entities/insert", {"collectionName": "d",
                                  "data": [{"id": i, "vector": [1, 2], "k": i % 4} for i in range(20)]})
    r = node.post("entities/delete", {"collectionName": "d", "filter": "k == 1 or id >= 18"})
    assert r.code == 0 and r.data["deleteCount"] == 7  # 1, 5, 9, 13, 17, 18, 19
    r = node.post("entities/query", {"collectionName": "d", "outputFields": ["count(*)"]})
    assert r.data == [{"count(*)": 13}]


@pytest.mark.parametrize("expr,needle", [
    ("age >", "failed to create query plan"),
    ("nope > 1 and", "failed to create query plan"),
    ("v > 1", "vector"),
    ('age == "x"', "failed to create query plan"),
    ("(" * 200000 + "age > 1" + ")" * 200000, "failed to create query plan"),
    (" or ".join("id == %d" % i for i in range(70000)), "failed to create query plan"),
])
def test_bad_and_hostile_filters(coll, expr, needle):
    r = coll.post("entities/query", {"collectionName": "flt", "filter": expr})
    assert r.code == 1100, r
    assert needle in r.message
    assert coll.get("/livez").status == 200


def test_filter_limits_are_configurable(node_factory):
    n = node_factory(env={"QUIVER__FILTER__MAX_DEPTH": "5", "QUIVER__FILTER__MAX_IN_LIST": "3"})
    assert n.post("collections/create", {"collectionName": "c", "dimension": 2}).code == 0
    ok = n.post("entities/query", {"collectionName": "c", "filter": "((id > 1))"})
    assert ok.code == 0, ok
    for expr in ("((((((((id > 1))))))))", "id in [1, 2, 3, 4]"):
        r = n.post("entities/query", {"collectionName": "c", "filter": expr})
        assert r.code == 1100 and "failed to create query plan" in r.message, r
