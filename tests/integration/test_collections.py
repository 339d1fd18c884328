# SPDX-License-Identifier: Apache-2.0
"""/v2/vectordb/collections/*: create (quick and custom setup, REF §3), describe
(REF §8.1), has, list, drop, rename, get_stats, load state, properties, and
request validation (REF §1.4, §1.6)."""
import pytest

from helpers import (BAD_JSON, COLLECTION_NOT_FOUND, DATABASE_NOT_FOUND, INDEX_NOT_FOUND,
                     MISSING_PARAM, PARAMETER_INVALID, PARTITION_NOT_FOUND, create_custom,
                     create_quick, custom_payload, describe, err, field, kv, load_state, ok, pk,
                     uniq, vec)

FIELD_KEYS = {"name", "id", "type", "primaryKey", "partitionKey", "clusteringKey", "autoId",
              "description", "nullable"}
TOP_KEYS = {"collectionName", "collectionID", "description", "autoId", "fields", "functions",
            "aliases", "indexes", "load", "shardsNum", "partitionsNum", "consistencyLevel",
            "enableDynamicField", "properties"}


def expect_field(name, fid, typ, primary=False, auto_id=False, nullable=False, description="",
                 partition_key=False, **extra):
    f = {"name": name, "id": fid, "type": typ, "primaryKey": primary,
         "partitionKey": partition_key, "clusteringKey": False, "autoId": auto_id,
         "description": description, "nullable": nullable}
    f.update(extra)
    return f


# ---- quick setup ---------------------------------------------------------------------------

def test_quick_setup_defaults(shared_node):
    name = create_quick(shared_node, dim=8)
    r = shared_node.post("collections/describe", {"collectionName": name})
    assert r.json.get("message") == ""  # REF §8.1: top-level message, "" without sub-errors
    d = ok(r)
    assert set(d) == TOP_KEYS, set(d) ^ TOP_KEYS
    assert d["collectionName"] == name
    assert isinstance(d["collectionID"], int) and d["collectionID"] > 0
    assert d["description"] == ""
    assert d["autoId"] is False
    assert d["fields"] == [
        expect_field("id", 100, "Int64", primary=True),
        expect_field("vector", 101, "FloatVector", params=[{"key": "dim", "value": "8"}]),
    ]
    assert d["functions"] == [] and d["aliases"] == []
    assert d["indexes"] == [{"indexName": "vector", "fieldName": "vector", "metricType": "COSINE"}]
    assert d["load"] == "LoadStateLoaded"
    assert d["shardsNum"] == 1 and d["partitionsNum"] == 1
    assert d["consistencyLevel"] == "Bounded"
    assert d["enableDynamicField"] is True
    assert d["properties"] == []
    assert load_state(shared_node, name) == {"loadState": "LoadStateLoaded", "loadProgress": 100}


def test_quick_setup_options(shared_node):
    name = create_quick(shared_node, dim=16, idType="VarChar", primaryFieldName="my_id",
                        vectorFieldName="emb", metricType="L2", autoID=True,
                        description="quick one",
                        params={"max_length": 64, "enableDynamicField": "false"})
    d = describe(shared_node, name)
    assert d["description"] == "quick one"
    assert d["autoId"] is True
    assert d["enableDynamicField"] is False
    assert d["fields"] == [
        expect_field("my_id", 100, "VarChar", primary=True, auto_id=True,
                     params=[{"key": "max_length", "value": "64"}]),
        expect_field("emb", 101, "FloatVector", params=[{"key": "dim", "value": "16"}]),
    ]
    assert d["indexes"] == [{"indexName": "emb", "fieldName": "emb", "metricType": "L2"}]


def test_quick_setup_ignores_v1_field_names(shared_node):
    # REF §3: primaryField / vectorField are v1 names, ignored by v2
    name = create_quick(shared_node, primaryField="pkey", vectorField="vec")
    assert [f["name"] for f in describe(shared_node, name)["fields"]] == ["id", "vector"]


@pytest.mark.parametrize("metric", ["L2", "IP", "COSINE"])
def test_quick_setup_metrics(shared_node, metric):
    name = create_quick(shared_node, metricType=metric)
    assert describe(shared_node, name)["indexes"][0]["metricType"] == metric


def test_quick_setup_errors(shared_node):
    err(shared_node.post("collections/create", {"collectionName": uniq()}), PARAMETER_INVALID,
        "dimension")
    err(shared_node.post("collections/create", {"collectionName": uniq(), "dimension": 4,
                                                "idType": "Float"}), PARAMETER_INVALID, "idType")
    err(shared_node.post("collections/create", {"collectionName": uniq(), "dimension": 4,
                                                "metricType": "HAMMING"}), PARAMETER_INVALID,
        "not supported")


def test_quick_setup_refuses_functions(shared_node):
    # REF §3: functions are not allowed in quick setup (1100)
    body = {"collectionName": uniq(), "dimension": 4,
            "schema": {"functions": [{"name": "bm25", "type": "BM25",
                                      "inputFieldNames": ["text"],
                                      "outputFieldNames": ["sparse"]}]}}
    err(shared_node.post("collections/create", body), PARAMETER_INVALID, "function")


# ---- custom setup --------------------------------------------------------------------------

ALL_TYPES = [
    pk("id"),
    field("b", "Bool", defaultValue=True),
    field("i8", "Int8", defaultValue=-8),
    field("i16", "Int16", defaultValue=300),
    field("i32", "Int32", nullable=True),
    field("i64", "Int64", defaultValue=9007199254740993),  # > 2^53: must stay exact
    field("f", "Float", defaultValue=1.5),
    field("d", "Double", defaultValue=2.25, description="a double"),
    field("s", "VarChar", elementTypeParams={"max_length": "128"}, defaultValue="abc"),
    field("j", "JSON", nullable=True),
    field("tags", "Array", elementDataType="VarChar",
          elementTypeParams={"max_capacity": "16", "max_length": 32}),
    field("nums", "Array", elementDataType="Int64", elementTypeParams={"max_capacity": 4}),
    vec("v", 8),
]


def test_custom_schema_every_scalar_type(shared_node):
    name = create_custom(shared_node, fields=ALL_TYPES, description="all types")
    d = describe(shared_node, name)
    assert set(d) == TOP_KEYS
    assert d["description"] == "all types"
    assert d["autoId"] is False
    assert d["enableDynamicField"] is False        # custom setup default (REF §3)
    assert d["indexes"] == [] and d["load"] == "LoadStateNotLoad"
    expected = [
        expect_field("id", 100, "Int64", primary=True),
        expect_field("b", 101, "Bool", defaultValue={"Data": {"BoolData": True}}),
        expect_field("i8", 102, "Int8", defaultValue={"Data": {"IntData": -8}}),
        expect_field("i16", 103, "Int16", defaultValue={"Data": {"IntData": 300}}),
        expect_field("i32", 104, "Int32", nullable=True),
        expect_field("i64", 105, "Int64", defaultValue={"Data": {"LongData": 9007199254740993}}),
        expect_field("f", 106, "Float", defaultValue={"Data": {"FloatData": 1.5}}),
        expect_field("d", 107, "Double", description="a double",
                     defaultValue={"Data": {"DoubleData": 2.25}}),
        expect_field("s", 108, "VarChar", params=[{"key": "max_length", "value": "128"}],
                     defaultValue={"Data": {"StringData": "abc"}}),
        expect_field("j", 109, "JSON", nullable=True),
        expect_field("tags", 110, "Array", elementType="VarChar",
                     params=[{"key": "max_capacity", "value": "16"},
                             {"key": "max_length", "value": "32"}]),
        expect_field("nums", 111, "Array", elementType="Int64",
                     params=[{"key": "max_capacity", "value": "4"}]),
        expect_field("v", 112, "FloatVector", params=[{"key": "dim", "value": "8"}]),
    ]
    assert len(d["fields"]) == len(expected)
    for got, want in zip(d["fields"], expected):
        assert got == want, got["name"]
    # the exact integer, not a double's neighbour, on the wire
    raw = shared_node.post("collections/describe", {"collectionName": name}).text
    assert '"LongData":9007199254740993' in raw


@pytest.mark.parametrize("key", ["autoID", "autoId"])
def test_custom_schema_auto_id(shared_node, key):
    # R26 tags schema.autoID; Go's decoder matches keys case-insensitively, and the
    # docs and TS send "autoId" (test_create_collections_custom_without_index)
    name = create_custom(shared_node, schema_extra={key: True, "enableDynamicField": True})
    d = describe(shared_node, name)
    assert d["autoId"] is True
    assert d["fields"][0]["autoId"] is True
    assert d["enableDynamicField"] is True


def test_custom_schema_flags_and_params(shared_node):
    name = create_custom(shared_node, fields=[
        pk("pk", "VarChar", elementTypeParams={"max_length": 16}),
        field("tenant", "Int64", isPartitionKey=True),
        vec("v", 4)],
        params={"shardsNum": "2", "consistencyLevel": "Strong", "ttlSeconds": 360,
                "mmap.enabled": True})
    d = describe(shared_node, name)
    assert d["fields"][0]["type"] == "VarChar" and d["fields"][0]["primaryKey"] is True
    assert d["fields"][1]["partitionKey"] is True
    assert d["shardsNum"] == 2
    assert d["consistencyLevel"] == "Strong"
    props = kv(d["properties"])
    assert props["collection.ttl.seconds"] == "360"
    assert props["mmap.enabled"] == "true"


@pytest.mark.parametrize("level", ["Strong", "Session", "Bounded", "Eventually", "Customized"])
def test_consistency_levels(shared_node, level):
    name = create_custom(shared_node, params={"consistencyLevel": level})
    assert describe(shared_node, name)["consistencyLevel"] == level


def test_custom_schema_with_index_is_loaded(shared_node):
    name = create_custom(shared_node, fields=[pk(), vec("a", 4), vec("b", 4)],
                         index=[{"fieldName": "a", "indexName": "a_idx", "metricType": "L2"},
                                {"fieldName": "b", "metricType": "IP"}])
    d = describe(shared_node, name)
    assert d["load"] == "LoadStateLoaded"
    assert {"indexName": "a_idx", "fieldName": "a", "metricType": "L2"} in d["indexes"]
    assert load_state(shared_node, name)["loadState"] == "LoadStateLoaded"


def test_custom_schema_index_on_unknown_field(shared_node):
    body = custom_payload(uniq(), index=[{"fieldName": "nope", "metricType": "L2"}])
    err(shared_node.post("collections/create", body), MISSING_PARAM)


def test_element_type_params_numbers_or_strings(shared_node):
    a = create_custom(shared_node, fields=[pk(), field("v", "FloatVector",
                                                      elementTypeParams={"dim": 128})])
    b = create_custom(shared_node, fields=[pk(), field("v", "FloatVector",
                                                      elementTypeParams={"dim": "128"})])
    assert describe(shared_node, a)["fields"][1]["params"] == [{"key": "dim", "value": "128"}]
    assert describe(shared_node, b)["fields"][1]["params"] == [{"key": "dim", "value": "128"}]


def test_create_again_same_schema_ok_different_schema_refused(shared_node):
    name = create_custom(shared_node)
    ok(shared_node.post("collections/create", custom_payload(name)))
    r = shared_node.post("collections/create", custom_payload(name, [pk(), vec(dim=8)]))
    assert r.code not in (0, None), r


@pytest.mark.parametrize("dtype", ["BinaryVector", "Float16Vector", "BFloat16Vector",
                                   "SparseFloatVector"])
def test_other_vector_types_accepted(shared_node, dtype):
    # REF §3: every vector type of Milvus 2.5 (test_vector_types.py has the rest); a sparse
    # vector has no dim, a binary dim counts bits (a multiple of 8)
    params = {} if dtype == "SparseFloatVector" else {"dim": "16"}
    name = uniq()
    ok(shared_node.post("collections/create",
                        custom_payload(name, [pk(), field("v", dtype, elementTypeParams=params)])))
    f = describe(shared_node, name)["fields"][1]
    assert f["type"] == dtype and f.get("params", []) == kv_list(params)
    if dtype == "BinaryVector":
        body = custom_payload(uniq(), [pk(), field("v", dtype, elementTypeParams={"dim": 12})])
        err(shared_node.post("collections/create", body), PARAMETER_INVALID, "multiple of 8")


def kv_list(d):
    return [{"key": k, "value": v} for k, v in d.items()]


@pytest.mark.parametrize("fields,needle", [
    ([pk(), pk("id2"), vec()], "primary"),
    ([field("x", "Int64"), vec()], "primary"),
    ([pk()], "vector"),
    ([pk(), vec("v"), field("v", "Int64")], "duplicate"),
    ([pk("id", "Float"), vec()], "primary"),
    ([pk("id", nullable=True), vec()], "null"),
    ([pk("id", defaultValue=1), vec()], "default"),
    ([pk(), field("j", "JSON", defaultValue={"a": 1}), vec()], "default"),
    ([pk(), field("s", "VarChar", defaultValue=5, elementTypeParams={"max_length": 8}), vec()],
     "default"),
    ([pk(), field("n", "Int64", defaultValue="x"), vec()], "default"),
    ([pk(), field("n", "Int8", defaultValue=300), vec()], "default"),
    ([pk(), field("b", "Bool", defaultValue=1), vec()], "default"),
    ([pk(), field("s", "VarChar"), vec()], "max_length"),
    ([pk(), field("s", "VarChar", elementTypeParams={"max_length": 65536}), vec()], "length"),
    ([pk(), field("a", "Array", elementDataType="Int64"), vec()], "max_capacity"),
    ([pk(), field("a", "Array", elementDataType="Int64",
                  elementTypeParams={"max_capacity": 5000}), vec()], "capacity"),
    ([pk(), field("a", "Array", elementDataType="JSON",
                  elementTypeParams={"max_capacity": 5}), vec()], "JSON"),
    ([pk(), field("v", "FloatVector")], "dim"),
    ([pk(), field("1abc", "Int64"), vec()], "field name"),
    ([pk(), field("a-b", "Int64"), vec()], "field name"),
    ([pk(), vec(), vec("v2"), vec("v3"), vec("v4"), vec("v5")], "vector"),
])
def test_invalid_schemas(shared_node, fields, needle):
    r = shared_node.post("collections/create", custom_payload(uniq(), fields))
    msg = err(r, PARAMETER_INVALID)
    assert needle.lower() in msg.lower(), r


def test_empty_field_name(shared_node):
    # fieldName is binding:"required" in R26, but gin does not dive into schema.fields,
    # so Milvus reports it from the proxy's name check (1100); 1802 is close enough
    r = shared_node.post("collections/create", custom_payload(uniq(), [pk(), field("", "Int64"),
                                                                        vec()]))
    assert r.code in (PARAMETER_INVALID, MISSING_PARAM), r


def test_data_type_is_case_sensitive(shared_node):
    body = custom_payload(uniq(), [pk(), field("s", "VARCHAR", elementTypeParams={
        "max_length": 8}), vec()])
    err(shared_node.post("collections/create", body), PARAMETER_INVALID,
        "data type VARCHAR is invalid(case sensitive)")
    body = custom_payload(uniq(), [pk("id", "int64"), vec()])
    err(shared_node.post("collections/create", body), PARAMETER_INVALID, "invalid(case sensitive)")
    body = custom_payload(uniq(), [pk(), field("a", "Array", elementDataType="int64",
                                               elementTypeParams={"max_capacity": 2}), vec()])
    err(shared_node.post("collections/create", body), PARAMETER_INVALID, "invalid(case sensitive)")


@pytest.mark.parametrize("dim,good", [(1, False), (2, True), (32768, True), (32769, False),
                                      (0, False), (-4, False)])
def test_dimension_bounds(shared_node, dim, good):
    for body in ({"collectionName": uniq(), "dimension": dim},
                 custom_payload(uniq(), [pk(), field("v", "FloatVector",
                                                     elementTypeParams={"dim": str(dim)})])):
        r = shared_node.post("collections/create", body)
        if good:
            ok(r)
        else:
            err(r, PARAMETER_INVALID)


def test_too_many_fields(shared_node):
    fields = [pk(), vec()] + [field("f%d" % i, "Int32") for i in range(62)]
    ok(shared_node.post("collections/create", custom_payload(uniq(), fields)))  # 64 fields
    fields.append(field("one_more", "Int32"))
    err(shared_node.post("collections/create", custom_payload(uniq(), fields)),
        PARAMETER_INVALID, "64")


def test_bad_collection_params(shared_node):
    err(shared_node.post("collections/create", custom_payload(
        uniq(), params={"consistencyLevel": "Sometimes"})), PARAMETER_INVALID,
        "consistencyLevel can only be [Strong, Session, Bounded, Eventually, Customized]")
    err(shared_node.post("collections/create", custom_payload(
        uniq(), params={"shardsNum": "lots"})), PARAMETER_INVALID)


# ---- names and body validation -------------------------------------------------------------

@pytest.mark.parametrize("name", [" ", "x" * 256, "test_collection_" * 100, "1abc", "test collection",
                                  "test/collection", "test\\collection", "a-b", "a.b", "中文"])
def test_invalid_collection_names(shared_node, name):
    # TS test_create_collections_with_invalid_collection_name
    for body in ({"collectionName": name, "dimension": 4}, custom_payload(name)):
        r = shared_node.post("collections/create", body)
        msg = err(r, PARAMETER_INVALID)
        assert "Invalid collection name" in msg or "invalid parameter" in msg
    assert name not in ok(shared_node.post("collections/list"))


def test_valid_unusual_names(shared_node):
    for name in ("_leading_underscore", "x" * 255, "CamelCase_123"):
        ok(shared_node.post("collections/create", {"collectionName": name, "dimension": 2}))
        assert ok(shared_node.post("collections/has", {"collectionName": name}))["has"] is True


def test_empty_collection_name_is_a_missing_required_field(shared_node):
    # collectionName has binding:"required"; gin's validator fails "" like an absent key
    err(shared_node.post("collections/create", {"collectionName": "", "dimension": 4}),
        MISSING_PARAM)
    err(shared_node.post("collections/describe", {"collectionName": ""}), MISSING_PARAM)


def test_malformed_and_mistyped_bodies(shared_node):
    err(shared_node.post("collections/create", b'{"collectionName": "x", "dimension": 4'),
        BAD_JSON, "can only accept json format request")
    err(shared_node.post("collections/create", {"dimension": 4}), MISSING_PARAM,
        "missing required parameters")
    # REF §1.4 example: a JSON type mismatch on a declared field
    body = custom_payload(uniq(), schema_extra={"enableDynamicField": 1})
    err(shared_node.post("collections/create", body), BAD_JSON,
        "can only accept json format request")
    for bad in ({"collectionName": 5, "dimension": 4},
                {"collectionName": uniq(), "schema": "fields"},
                {"collectionName": uniq(), "schema": {"fields": {"a": 1}}},
                {"collectionName": uniq(), "dimension": 4, "params": []},
                custom_payload(uniq(), [pk(), {"fieldName": "x", "dataType": 7}, vec()]),
                custom_payload(uniq(), [pk(), field("x", "Int64", isPrimary="yes"), vec()])):
        err(shared_node.post("collections/create", bad), BAD_JSON)
    for path in ("describe", "has", "drop", "get_stats", "load", "release", "get_load_state",
                 "refresh_load", "alter_properties", "drop_properties", "rename"):
        err(shared_node.post("collections/" + path, {}), MISSING_PARAM)


# ---- describe / has / list / drop ----------------------------------------------------------

def test_missing_collection_and_database(shared_node):
    for path in ("describe", "get_stats", "load", "release", "get_load_state", "refresh_load"):
        err(shared_node.post("collections/" + path, {"collectionName": "no_such"}),
            COLLECTION_NOT_FOUND, "can't find collection")
        err(shared_node.post("collections/" + path,
                             {"collectionName": "no_such", "dbName": "no_such_db"}),
            DATABASE_NOT_FOUND, "database not found")
    r = shared_node.post("collections/describe", {"collectionName": "no_such"})
    assert r.message.startswith("can't find collection[database=default][collection=no_such]")
    err(shared_node.post("collections/list", {"dbName": "no_such_db"}), DATABASE_NOT_FOUND)
    err(shared_node.post("collections/has", {"collectionName": "x", "dbName": "no_such_db"}),
        DATABASE_NOT_FOUND)
    # "_default" is a database literally named so, not the default one (REF §1.3)
    err(shared_node.post("collections/list", {"dbName": "_default"}), DATABASE_NOT_FOUND)


def test_has_list_drop(node):
    assert ok(node.post("collections/list")) == []
    assert ok(node.post("collections/list", b"null")) == []  # the TS client sends null
    a, b = create_quick(node), create_custom(node)
    assert sorted(ok(node.post("collections/list"))) == sorted([a, b])
    assert ok(node.post("collections/has", {"collectionName": a})) == {"has": True}
    assert ok(node.post("collections/has", {"collectionName": "nope"})) == {"has": False}
    assert ok(node.post("collections/drop", {"collectionName": a})) == {}
    assert ok(node.post("collections/has", {"collectionName": a})) == {"has": False}
    assert ok(node.post("collections/list")) == [b]
    # drop is idempotent (TS)
    assert ok(node.post("collections/drop", {"collectionName": a})) == {}
    assert ok(node.post("collections/drop", {"collectionName": "never_existed"})) == {}
    err(node.post("collections/describe", {"collectionName": a}), COLLECTION_NOT_FOUND)
    # the name can be reused
    create_quick(node, name=a, dim=3)
    assert describe(node, a)["fields"][1]["params"] == [{"key": "dim", "value": "3"}]


def test_get_stats(shared_node):
    name = create_quick(shared_node)
    assert ok(shared_node.post("collections/get_stats", {"collectionName": name})) == \
        {"rowCount": 0}


def test_collection_ids_are_unique(shared_node):
    ids = {describe(shared_node, create_quick(shared_node))["collectionID"] for _ in range(5)}
    assert len(ids) == 5


# ---- rename --------------------------------------------------------------------------------

def test_rename(node):
    a = create_custom(node, index=[{"fieldName": "vec", "metricType": "L2"}])
    cid = describe(node, a)["collectionID"]
    b = uniq("renamed")
    ok(node.post("collections/rename", {"collectionName": a, "newCollectionName": b}))
    assert ok(node.post("collections/has", {"collectionName": a}))["has"] is False
    d = describe(node, b)
    assert d["collectionName"] == b and d["collectionID"] == cid
    assert d["load"] == "LoadStateLoaded" and d["indexes"][0]["fieldName"] == "vec"
    # errors
    c = create_quick(node)
    r = node.post("collections/rename", {"collectionName": b, "newCollectionName": c})
    assert r.code not in (0, None), r
    err(node.post("collections/rename", {"collectionName": "nope", "newCollectionName": uniq()}),
        COLLECTION_NOT_FOUND)
    err(node.post("collections/rename", {"collectionName": b, "newCollectionName": "1bad"}),
        PARAMETER_INVALID)
    err(node.post("collections/rename", {"collectionName": b}), MISSING_PARAM)
    err(node.post("collections/rename", {"collectionName": b, "newCollectionName": uniq(),
                                         "newDbName": "no_such_db"}), DATABASE_NOT_FOUND)


def test_rename_across_databases(node):
    db = uniq("db")
    ok(node.post("databases/create", {"dbName": db}))
    a = create_quick(node)
    b = uniq("moved")
    ok(node.post("collections/rename", {"collectionName": a, "newCollectionName": b,
                                        "newDbName": db}))
    assert a not in ok(node.post("collections/list"))
    assert ok(node.post("collections/list", {"dbName": db})) == [b]
    assert describe(node, b, dbName=db)["collectionName"] == b
    err(node.post("collections/describe", {"collectionName": b}), COLLECTION_NOT_FOUND)
    # and back, with the source database in the DB-Name header
    ok(node.post("collections/rename", {"collectionName": b, "newCollectionName": a,
                                        "newDbName": "default"}, headers={"DB-Name": db}))
    assert a in ok(node.post("collections/list"))


# ---- load state --------------------------------------------------------------------------------

def test_load_release_refresh(node):
    name = create_custom(node)  # no index: not loaded
    assert load_state(node, name) == {"loadState": "LoadStateNotLoad"}
    # Milvus refuses to load a vector field without an index
    err(node.post("collections/load", {"collectionName": name}), INDEX_NOT_FOUND)
    r = node.post("collections/refresh_load", {"collectionName": name})
    assert r.code not in (0, None), r
    ok(node.post("indexes/create", {"collectionName": name, "indexParams": [
        {"fieldName": "vec", "metricType": "L2"}]}))
    assert ok(node.post("collections/load", {"collectionName": name})) == {}
    assert load_state(node, name) == {"loadState": "LoadStateLoaded", "loadProgress": 100}
    assert describe(node, name)["load"] == "LoadStateLoaded"
    ok(node.post("collections/load", {"collectionName": name}))  # again: fine
    ok(node.post("collections/refresh_load", {"collectionName": name}))
    assert ok(node.post("collections/release", {"collectionName": name})) == {}
    assert load_state(node, name) == {"loadState": "LoadStateNotLoad"}
    assert describe(node, name)["load"] == "LoadStateNotLoad"
    ok(node.post("collections/release", {"collectionName": name}))  # again: fine


def test_get_load_state_with_partitions(node):
    name = create_quick(node)
    ok(node.post("partitions/create", {"collectionName": name, "partitionName": "p1"}))
    ok(node.post("partitions/release", {"collectionName": name, "partitionNames": ["p1"]}))
    assert load_state(node, name, partitionNames=["_default"])["loadState"] == "LoadStateLoaded"
    assert load_state(node, name, partitionNames=["p1"]) == {"loadState": "LoadStateNotLoad"}
    assert load_state(node, name, partitionNames=["_default", "p1"])["loadState"] == \
        "LoadStateNotLoad"
    ok(node.post("partitions/load", {"collectionName": name, "partitionNames": ["p1"]}))
    assert load_state(node, name, partitionNames=["_default", "p1"])["loadState"] == \
        "LoadStateLoaded"
    err(node.post("collections/get_load_state", {"collectionName": name,
                                                 "partitionNames": ["nope"]}),
        PARTITION_NOT_FOUND)
    err(node.post("collections/get_load_state", {"collectionName": name,
                                                 "partitionNames": "p1"}), BAD_JSON)


# ---- properties --------------------------------------------------------------------------------

def test_alter_and_drop_properties(shared_node):
    name = create_quick(shared_node)
    ok(shared_node.post("collections/alter_properties", {
        "collectionName": name,
        "properties": {"collection.ttl.seconds": 360, "mmap.enabled": True,
                       "custom.key": "v1"}}))
    props = kv(describe(shared_node, name)["properties"])
    assert props == {"collection.ttl.seconds": "360", "mmap.enabled": "true", "custom.key": "v1"}
    ok(shared_node.post("collections/alter_properties", {
        "collectionName": name, "properties": {"collection.ttl.seconds": "60"}}))
    assert kv(describe(shared_node, name)["properties"])["collection.ttl.seconds"] == "60"
    ok(shared_node.post("collections/drop_properties", {
        "collectionName": name, "propertyKeys": ["mmap.enabled", "not.there"]}))
    assert kv(describe(shared_node, name)["properties"]) == {
        "collection.ttl.seconds": "60", "custom.key": "v1"}
    # the 2.5-era spelling
    ok(shared_node.post("collections/drop_properties", {
        "collectionName": name, "deleteKeys": ["custom.key"]}))
    assert kv(describe(shared_node, name)["properties"]) == {"collection.ttl.seconds": "60"}
    err(shared_node.post("collections/alter_properties", {
        "collectionName": "nope", "properties": {"a": 1}}), COLLECTION_NOT_FOUND)
    err(shared_node.post("collections/alter_properties", {
        "collectionName": name, "properties": ["a"]}), BAD_JSON)
    err(shared_node.post("collections/drop_properties", {
        "collectionName": name, "propertyKeys": "mmap.enabled"}), BAD_JSON)
