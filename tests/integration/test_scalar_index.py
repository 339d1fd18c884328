# SPDX-License-Identifier: Apache-2.0
"""Scalar indexes (issue 11; REF §5): INVERTED, STL_SORT, BITMAP, Trie and AUTOINDEX on
scalar, VarChar, Array and JSON-path fields; validation as Milvus; built per sealed segment,
persisted and loaded on restart; filters answered with them give exactly the rows computed
here in Python (sealed, growing, deleted rows), before and after a restart and a drop."""
import random
import time

import pytest

from helpers import PARAMETER_INVALID, create_custom, err, field, ok, pk, vec

SEAL_ROWS = 400
ROWS = 2300
WORDS = ["alpha", "alpine", "beta", "bet", "gamma", "", "al", "zeta"]


def schema_fields():
    return [pk(), vec("v", 4), field("n", "Int64"), field("i8", "Int8"),
            field("d", "Double", nullable=True), field("f", "Float"),
            field("s", "VarChar", elementTypeParams={"max_length": 32}, nullable=True),
            field("b", "Bool"),
            field("arr", "Array", elementDataType="Int64",
                  elementTypeParams={"max_capacity": 8}),
            field("tags", "Array", elementDataType="VarChar",
                  elementTypeParams={"max_capacity": 8, "max_length": 16}),
            field("j", "JSON", nullable=True)]


def make_row(i, rnd):
    j = None
    if i % 7:
        k = rnd.choice([rnd.randint(-5, 5), rnd.randint(-5, 5) + 0.5, "str", None, True])
        j = {"k": k, "name": rnd.choice(WORDS)}
        if i % 5 == 0:
            del j["k"]
    return {"id": i, "v": [rnd.random() for _ in range(4)], "n": rnd.randint(0, 99),
            "i8": rnd.randint(-128, 127),
            "d": None if i % 11 == 0 else rnd.randint(-40, 40) / 4.0,
            "f": rnd.randint(-20, 20) / 2.0,
            "s": None if i % 13 == 0 else rnd.choice(WORDS),
            "b": i % 3 == 0, "arr": rnd.sample(range(10), rnd.randint(0, 4)),
            "tags": rnd.sample(WORDS[:5], rnd.randint(0, 3)), "j": j}


def jnum(r):
    v = (r["j"] or {}).get("k")
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


# (filter, python predicate of a row); every index shape the evaluator answers, plus
# combinations with and/or/not and a predicate no index answers
CASES = [
    ("n == 7", lambda r: r["n"] == 7),
    ("n != 7", lambda r: r["n"] != 7),
    ("n < 10", lambda r: r["n"] < 10),
    ("n >= 90 and b == true", lambda r: r["n"] >= 90 and r["b"]),
    ("n in [1, 2, 3, 50]", lambda r: r["n"] in (1, 2, 3, 50)),
    ("n not in [1, 2, 3]", lambda r: r["n"] not in (1, 2, 3)),
    ("i8 <= -100 or i8 > 120", lambda r: r["i8"] <= -100 or r["i8"] > 120),
    ("d > 5.5", lambda r: r["d"] is not None and r["d"] > 5.5),
    ("d == 2.25", lambda r: r["d"] == 2.25),
    ("not (d < 0)", lambda r: r["d"] is not None and not r["d"] < 0),
    ("f <= -3.5", lambda r: r["f"] <= -3.5),
    ("s == 'alpha'", lambda r: r["s"] == "alpha"),
    ("s != 'alpha'", lambda r: r["s"] is not None and r["s"] != "alpha"),
    ("s like 'al%'", lambda r: r["s"] is not None and r["s"].startswith("al")),
    ("s in ['beta', 'zeta', 'nope']", lambda r: r["s"] in ("beta", "zeta")),
    ("s > 'bet'", lambda r: r["s"] is not None and r["s"] > "bet"),
    ("b == false", lambda r: not r["b"]),
    ("array_contains(arr, 3)", lambda r: 3 in r["arr"]),
    ("array_contains_any(arr, [1, 9])", lambda r: 1 in r["arr"] or 9 in r["arr"]),
    ("array_contains_all(arr, [2, 4])", lambda r: 2 in r["arr"] and 4 in r["arr"]),
    ("array_contains(tags, 'beta')", lambda r: "beta" in r["tags"]),
    ('j["k"] > 2', lambda r: jnum(r) is not None and jnum(r) > 2),
    ('j["k"] == 1', lambda r: jnum(r) == 1),
    ('j["k"] != 1', lambda r: r["j"] is not None and jnum(r) != 1),
    ('j["name"] like "be%"', lambda r: r["j"] is not None and r["j"]["name"].startswith("be")),
    ('j["name"] in ["gamma"]', lambda r: r["j"] is not None and r["j"]["name"] == "gamma"),
    ("n % 10 == 3 or s like '%ta'",
     lambda r: r["n"] % 10 == 3 or (r["s"] is not None and r["s"].endswith("ta"))),
]

INDEXES = [
    {"fieldName": "n", "indexName": "n_idx", "indexType": "INVERTED"},
    {"fieldName": "i8", "indexName": "i8_idx", "indexType": "STL_SORT"},
    {"fieldName": "d", "indexName": "d_idx", "indexType": "STL_SORT"},
    {"fieldName": "f", "indexName": "f_idx", "params": {"index_type": "INVERTED"}},
    {"fieldName": "s", "indexName": "s_idx", "indexType": "Trie"},
    {"fieldName": "b", "indexName": "b_idx", "indexType": "BITMAP"},
    {"fieldName": "arr", "indexName": "arr_idx", "indexType": "BITMAP"},
    {"fieldName": "tags", "indexName": "tags_idx", "indexType": "AUTOINDEX"},
    {"fieldName": "j", "indexName": "jk_idx", "indexType": "INVERTED",
     "params": {"json_path": 'j["k"]', "json_cast_type": "DOUBLE"}},
    {"fieldName": "j", "indexName": "jname_idx", "indexType": "INVERTED",
     "params": {"json_path": "j['name']", "json_cast_type": "varchar"}},
]


def ids_matching(node, coll, expr):
    got = ok(node.post("entities/query", {"collectionName": coll, "filter": expr,
                                          "outputFields": ["id"], "limit": 16384}))
    count = ok(node.post("entities/query", {"collectionName": coll, "filter": expr,
                                            "outputFields": ["count(*)"]}))[0]["count(*)"]
    ids = sorted(int(r["id"]) for r in got)
    assert count == len(ids), (expr, count, len(ids))
    return ids


def check_all(node, coll, rows):
    for expr, pred in CASES:
        want = sorted(r["id"] for r in rows.values() if pred(r))
        assert ids_matching(node, coll, expr) == want, expr
    # a filtered search returns only matching rows, nearest first
    hits = ok(node.post("entities/search", {
        "collectionName": coll, "data": [[0.5] * 4], "limit": 50, "filter": "n < 10",
        "outputFields": ["n"]}))
    assert hits and all(h["n"] < 10 for h in hits)


def wait_indexed(node, coll, names, timeout=30):
    deadline = time.time() + timeout
    while True:
        states = [ok(node.post("indexes/describe", {"collectionName": coll,
                                                    "indexName": n}))[0] for n in names]
        if all(s["indexState"] == "Finished" and s["totalRows"] > 0 for s in states):
            return states
        assert time.time() < deadline, states
        time.sleep(0.2)


def index_files(node):
    return sorted(p.name for p in node.data_dir.rglob("index-*.qvi"))


def test_scalar_indexes_answer_filters_exactly(node_factory):
    node = node_factory("sidx", flags=["--storage.segment_max_rows", str(SEAL_ROWS)])
    coll = create_custom(node, fields=schema_fields(),
                         index=[{"fieldName": "v", "metricType": "L2", "indexType": "FLAT"}])
    ok(node.post("collections/load", {"collectionName": coll}))
    ok(node.post("indexes/create", {"collectionName": coll, "indexParams": INDEXES}))
    names = sorted(ok(node.post("indexes/list", {"collectionName": coll})))
    assert names == sorted(["v"] + [i["indexName"] for i in INDEXES])
    d = ok(node.post("indexes/describe", {"collectionName": coll, "indexName": "jk_idx"}))[0]
    assert d["indexType"] == "INVERTED" and d["fieldName"] == "j" and d["metricType"] == ""
    assert dict((p["key"], p["value"]) for p in d["params"]) == {
        "json_path": 'j["k"]', "json_cast_type": "DOUBLE"}

    rnd = random.Random(11)
    rows = {i: make_row(i, rnd) for i in range(ROWS)}
    batch = list(rows.values())
    for at in range(0, ROWS, 500):
        ok(node.post("entities/insert", {"collectionName": coll, "data": batch[at:at + 500]}))
    ok(node.post("collections/flush", {"collectionName": coll}))
    # some rows deleted, some in the growing segment after the flush
    ok(node.post("entities/delete", {"collectionName": coll, "filter": "id in [1, 2, 3, 400]"}))
    for i in (1, 2, 3, 400):
        del rows[i]
    extra = {i: make_row(i, rnd) for i in range(ROWS, ROWS + 150)}
    ok(node.post("entities/insert", {"collectionName": coll, "data": list(extra.values())}))
    rows.update(extra)

    states = wait_indexed(node, coll, [i["indexName"] for i in INDEXES])
    for s in states:  # sealed rows only, as Milvus counts them
        assert s["indexedRows"] == s["totalRows"] >= ROWS - SEAL_ROWS, s
    files = index_files(node)
    assert len(files) >= len(INDEXES), files
    check_all(node, coll, rows)

    # restart: the index files are loaded, not rebuilt, and answer the same
    node.restart()
    assert index_files(node) == files
    check_all(node, coll, rows)

    # dropping the indexes changes no answer and removes their files
    for i in INDEXES:
        ok(node.post("indexes/drop", {"collectionName": coll, "indexName": i["indexName"]}))
    check_all(node, coll, rows)
    deadline = time.time() + 10
    while len(index_files(node)) > 0 and time.time() < deadline:
        ok(node.post("collections/flush", {"collectionName": coll}))
        time.sleep(0.3)
    assert index_files(node) == [], index_files(node)  # FLAT keeps no files


@pytest.mark.parametrize("ip,needle", [
    ({"fieldName": "n", "indexType": "Trie"}, "TRIE"),
    ({"fieldName": "b", "indexType": "STL_SORT"}, "STL_SORT"),
    ({"fieldName": "d", "indexType": "BITMAP"}, "bitmap"),
    ({"fieldName": "id", "indexType": "BITMAP"}, "bitmap"),
    ({"fieldName": "j", "indexType": "INVERTED"}, "cast type"),
    ({"fieldName": "j", "indexType": "INVERTED",
      "params": {"json_path": "j[k]", "json_cast_type": "DOUBLE"}}, "json_path"),
    ({"fieldName": "j", "indexType": "INVERTED",
      "params": {"json_path": "other['k']", "json_cast_type": "DOUBLE"}}, "json_path"),
    ({"fieldName": "j", "indexType": "INVERTED",
      "params": {"json_path": "j['k']", "json_cast_type": "ARRAY_DOUBLE"}}, "not supported"),
    ({"fieldName": "n", "indexType": "INVERTED",
      "params": {"json_cast_type": "DOUBLE"}}, "JSON fields only"),
    ({"fieldName": "n", "indexType": "HNSW"}, "invalid index type"),
    ({"fieldName": "n", "indexType": "NOPE"}, "invalid index type"),
    ({"fieldName": "v", "indexType": "INVERTED", "metricType": "L2"}, "invalid index type"),
])
def test_scalar_index_validation(shared_node, ip, needle):
    coll = create_custom(shared_node, fields=schema_fields())
    err(shared_node.post("indexes/create", {"collectionName": coll, "indexParams": [ip]}),
        PARAMETER_INVALID, needle)
    assert ok(shared_node.post("indexes/list", {"collectionName": coll})) == []


def test_scalar_index_definitions(shared_node):
    n = shared_node
    coll = create_custom(n, fields=schema_fields())
    body = {"collectionName": coll, "indexParams": [{"fieldName": "n", "indexType": "STL_SORT"}]}
    ok(n.post("indexes/create", body))
    ok(n.post("indexes/create", body))  # the same again succeeds, as Milvus
    d = ok(n.post("indexes/describe", {"collectionName": coll, "indexName": "n"}))[0]
    assert d["indexType"] == "STL_SORT" and d["indexState"] == "Finished"
    # a second index on the same scalar field is refused; two JSON paths are fine
    err(n.post("indexes/create", {"collectionName": coll, "indexParams": [
        {"fieldName": "n", "indexName": "n2", "indexType": "INVERTED"}]}), 65535, "at most one")
    for i, key in enumerate(["a", "b"]):
        ok(n.post("indexes/create", {"collectionName": coll, "indexParams": [
            {"fieldName": "j", "indexName": "j%d" % i, "indexType": "INVERTED",
             "params": {"json_path": 'j["%s"]' % key, "json_cast_type": "VARCHAR"}}]}))
    # declared at creation, with the collection
    c2 = create_custom(n, fields=schema_fields(), index=[
        {"fieldName": "v", "metricType": "COSINE"},
        {"fieldName": "s", "indexName": "s_trie", "indexType": "Trie"}])
    assert sorted(ok(n.post("indexes/list", {"collectionName": c2}))) == ["s_trie", "v"]
