# SPDX-License-Identifier: Apache-2.0
"""Default values and nullable fields on every scalar type, everywhere: insert, upsert
(whole and partial), query/get/search output (also with Int64 as strings), filters with
`is null` / `is not null` and comparisons over nulls, sealed segments and restart, and the
schema rules Milvus enforces at create."""
import pytest

from helpers import ok, err, uniq

TYPES = [  # name, dataType, default, another value
    ("b", "Bool", True, False),
    ("i8", "Int8", 5, -3),
    ("i16", "Int16", 300, -300),
    ("i32", "Int32", 70000, -7),
    ("i64", "Int64", 2 ** 40, -(2 ** 50)),
    ("f", "Float", 1.5, -0.25),
    ("d", "Double", 2.25, 1e300),
    ("s", "VarChar", "dflt", ""),
]


def fields():
    out = [{"fieldName": "id", "dataType": "Int64", "isPrimary": True},
           {"fieldName": "v", "dataType": "FloatVector", "elementTypeParams": {"dim": 2}}]
    for n, t, dv, _ in TYPES:
        extra = {"elementTypeParams": {"max_length": 16}} if t == "VarChar" else {}
        out.append(dict({"fieldName": "n_" + n, "dataType": t, "nullable": True}, **extra))
        out.append(dict({"fieldName": "d_" + n, "dataType": t, "defaultValue": dv}, **extra))
        out.append(dict({"fieldName": "nd_" + n, "dataType": t, "nullable": True,
                         "defaultValue": dv}, **extra))
    out.append({"fieldName": "n_j", "dataType": "JSON", "nullable": True})
    out.append({"fieldName": "n_a", "dataType": "Array", "elementDataType": "Int32",
                "nullable": True, "elementTypeParams": {"max_capacity": 4}})
    return out


NULLABLE = ["n_" + n for n, *_ in TYPES] + ["n_j", "n_a"]
DEFAULTED = ["d_" + n for n, *_ in TYPES] + ["nd_" + n for n, *_ in TYPES]


def full_row(i):
    r = {"id": i, "v": [float(i), 1.0]}
    for n, _, _, other in TYPES:
        r["n_" + n] = other
        r["d_" + n] = other
        r["nd_" + n] = other
    r["n_j"] = {"k": i}
    r["n_a"] = [i, i + 1]
    return r


@pytest.fixture
def coll(node):
    name = uniq("nul")
    ok(node.post("collections/create", {
        "collectionName": name, "schema": {"fields": fields(), "enableDynamicField": True},
        "indexParams": [{"fieldName": "v", "metricType": "L2", "indexType": "FLAT"}],
        "params": {"shardsNum": 2}}))
    rows = [
        {"id": 1, "v": [1, 1]},                                        # everything omitted
        dict({"id": 2, "v": [2, 1]}, **{f: None for f in NULLABLE + DEFAULTED}),  # null
        full_row(3),                                                   # values given
    ]
    ok(node.post("entities/insert", {"collectionName": name, "data": rows}))
    return name


def query(node, name, expr, **extra):
    body = {"collectionName": name, "filter": expr, "outputFields": ["*"]}
    body.update(extra)
    return ok(node.post("entities/query", body))


def ids(rows):
    return sorted(r["id"] for r in rows)


def check_rows(rows):
    by_id = {r["id"]: r for r in rows}
    for i in (1, 2):  # omitted and explicit null behave alike
        for n, _, dv, _ in TYPES:
            assert by_id[i]["n_" + n] is None, (i, n)
            assert by_id[i]["d_" + n] == dv, (i, n)
            assert by_id[i]["nd_" + n] == dv, (i, n)  # nullable with a default: the default
        assert by_id[i]["n_j"] is None and by_id[i]["n_a"] is None
    for n, _, _, other in TYPES:
        assert by_id[3]["n_" + n] == other and by_id[3]["d_" + n] == other


def test_insert_output_and_filters(node, coll):
    check_rows(query(node, coll, ""))
    for f in NULLABLE:
        assert ids(query(node, coll, f + " is null")) == [1, 2], f
        assert ids(query(node, coll, f + " is not null")) == [3], f
        assert ids(query(node, coll, "not (%s is null)" % f)) == [3], f
    for f in DEFAULTED:
        assert ids(query(node, coll, f + " is null")) == [], f
        assert ids(query(node, coll, f + " is not null")) == [1, 2, 3], f
    # comparisons never match a null
    for expr, want in [("n_i32 != 5", [3]), ("n_i32 < 100", [3]), ("not (n_i32 == -7)", []),
                       ("n_s in ['', 'x']", [3]), ("n_s not in ['x']", [3]), ("n_s like '%'", [3]),
                       ("n_b != true", [3]), ("n_f < 0", [3]), ("n_d > 1", [3]),
                       ("n_i64 + 1 < 0", [3]), ("n_j['k'] == 3", [3]), ("n_j['k'] != 4", [3]),
                       ("array_contains(n_a, 3)", [3]), ("array_length(n_a) == 2", [3]),
                       ("n_i32 is null or n_i32 < 0", [1, 2, 3]),
                       ("n_i32 is null and d_i32 == 70000", [1, 2]),
                       ("d_s == 'dflt' and nd_f == 1.5", [1, 2]),
                       ("n_i8 in {vals}", [3])]:
        got = query(node, coll, expr, exprParams={"vals": [-3, 9]})
        assert ids(got) == want, expr
    r = node.post("entities/query", {"collectionName": coll, "filter": "n_i16 is null",
                                     "outputFields": ["count(*)"]})
    assert ok(r) == [{"count(*)": 2}]


def test_int64_as_strings_keeps_nulls(node, coll):
    r = node.post("entities/query", {"collectionName": coll, "filter": "id <= 2",
                                     "outputFields": ["n_i64", "d_i64"]},
                  headers={"Accept-Type-Allow-Int64": "false"})
    assert ok(r) == [{"id": "1", "n_i64": None, "d_i64": str(2 ** 40)},
                     {"id": "2", "n_i64": None, "d_i64": str(2 ** 40)}]


def test_search_and_get_output(node, coll):
    r = node.post("entities/search", {"collectionName": coll, "data": [[1.0, 1.0]], "limit": 3,
                                      "filter": "n_s is null", "outputFields": ["n_s", "d_s"]})
    hits = ok(r)
    assert [h["id"] for h in hits] == [1, 2]
    assert all(h["n_s"] is None and h["d_s"] == "dflt" for h in hits)
    r = node.post("entities/search", {"collectionName": coll, "data": [[1.0, 1.0]], "limit": 3,
                                      "groupingField": "n_i32", "outputFields": ["n_i32"]})
    assert [(h["id"], h["n_i32"]) for h in ok(r)] == [(1, None), (3, -7)]
    got = ok(node.post("entities/get", {"collectionName": coll, "id": [1, 2, 3],
                                        "outputFields": ["*"]}))
    check_rows(got)


def test_upsert_whole_and_partial(node, coll):
    # a whole upsert resets omitted fields: null, or the default
    ok(node.post("entities/upsert", {"collectionName": coll, "data": [{"id": 3, "v": [3, 1]}]}))
    row3 = query(node, coll, "id == 3")[0]
    for n, _, dv, _ in TYPES:
        assert row3["n_" + n] is None and row3["d_" + n] == dv and row3["nd_" + n] == dv
    # a partial upsert keeps them; explicit nulls set null (or the default)
    ok(node.post("entities/upsert", {"collectionName": coll, "data": [full_row(4)]}))
    ok(node.post("entities/upsert", {"collectionName": coll, "partialUpdate": True, "data": [
        {"id": 4, "n_i32": None, "d_i32": None, "n_s": "kept?"}]}))
    row4 = query(node, coll, "id == 4")[0]
    assert row4["n_i32"] is None and row4["d_i32"] == 70000 and row4["n_s"] == "kept?"
    assert row4["n_i64"] == -(2 ** 50) and row4["n_a"] == [4, 5] and row4["n_j"] == {"k": 4}
    assert ids(query(node, coll, "n_i32 is null")) == [1, 2, 3, 4]


def test_nulls_survive_seal_and_restart(node, coll):
    ok(node.post("collections/flush", {"collectionName": coll}))
    ok(node.post("entities/insert", {"collectionName": coll, "data": [
        {"id": 10, "v": [0, 0]}, full_row(11)]}))
    node.restart()
    for f in NULLABLE:
        assert ids(query(node, coll, f + " is null")) == [1, 2, 10], f
    check_rows(query(node, coll, "id <= 3"))


def test_bad_values_are_refused(node, coll):
    for field, value in [("d_i8", 300), ("n_i32", "x"), ("n_b", "maybe"), ("d_s", "x" * 17),
                         ("n_a", [1, "a"]), ("n_f", 1e39)]:
        r = node.post("entities/insert", {"collectionName": coll,
                                          "data": [{"id": 50, "v": [0, 0], field: value}]})
        err(r, 1804, field)


@pytest.mark.parametrize("extra, needle", [
    ({"fieldName": "x", "dataType": "FloatVector", "nullable": True,
      "elementTypeParams": {"dim": 2}}, "vector type not support null"),
    ({"fieldName": "x", "dataType": "JSON", "defaultValue": {"a": 1}}, "default value"),
    ({"fieldName": "x", "dataType": "Array", "elementDataType": "Int32", "defaultValue": [1],
      "elementTypeParams": {"max_capacity": 2}}, "default value"),
    ({"fieldName": "x", "dataType": "VarChar", "defaultValue": "xxxxx",
      "elementTypeParams": {"max_length": 2}}, "max_length"),
    ({"fieldName": "x", "dataType": "Int8", "defaultValue": 300}, "default value type mismatch"),
    ({"fieldName": "x", "dataType": "Float", "defaultValue": "1.5"}, "default value type mismatch"),
    ({"fieldName": "x", "dataType": "Bool", "defaultValue": 1}, "default value type mismatch"),
    ({"fieldName": "x", "dataType": "Int64", "nullable": True, "isPartitionKey": True},
     "partition key field not support nullable"),
])
def test_schema_rules(node, extra, needle):
    r = node.post("collections/create", {"collectionName": uniq("bad"), "schema": {"fields": [
        {"fieldName": "id", "dataType": "Int64", "isPrimary": True},
        {"fieldName": "v", "dataType": "FloatVector", "elementTypeParams": {"dim": 2}}, extra]}})
    err(r, 1100, needle)


def test_primary_key_rules(node):
    for extra in ({"nullable": True}, {"defaultValue": 1}):
        r = node.post("collections/create", {"collectionName": uniq("bad"), "schema": {"fields": [
            dict({"fieldName": "id", "dataType": "Int64", "isPrimary": True}, **extra),
            {"fieldName": "v", "dataType": "FloatVector", "elementTypeParams": {"dim": 2}}]}})
        assert r.code == 1100, r


def test_describe_reports_defaults_and_nullable(node, coll):
    d = ok(node.post("collections/describe", {"collectionName": coll}))
    by = {f["name"]: f for f in d["fields"]}
    assert by["n_i32"]["nullable"] is True and "defaultValue" not in by["n_i32"]
    assert by["d_i32"]["defaultValue"] == {"Data": {"IntData": 70000}}
    assert by["d_i64"]["defaultValue"] == {"Data": {"LongData": 2 ** 40}}
    assert by["d_s"]["defaultValue"] == {"Data": {"StringData": "dflt"}}
    assert by["d_b"]["defaultValue"] == {"Data": {"BoolData": True}}
    assert by["nd_d"]["defaultValue"] == {"Data": {"DoubleData": 2.25}}
    assert by["nd_d"]["nullable"] is True
