# SPDX-License-Identifier: Apache-2.0
"""/v2/vectordb/indexes/* (REF §2.4, §5, TS test_index_operation.py)."""
import pytest

from helpers import (BAD_JSON, COLLECTION_NOT_FOUND, DATABASE_NOT_FOUND, INDEX_NOT_FOUND,
                     MISSING_PARAM, PARAMETER_INVALID, create_custom, describe, err, field, kv,
                     ok, pk, uniq, vec)

DESCRIBE_KEYS = {"indexName", "fieldName", "indexType", "metricType", "totalRows", "pendingRows",
                 "indexedRows", "indexState", "failReason"}


def fresh(node, dim=8):
    return create_custom(node, fields=[pk(), field("n", "Int64"), vec("v", dim), vec("w", dim)])


def create_index(node, coll, **ip):
    return node.post("indexes/create", {"collectionName": coll, "indexParams": [ip]})


def describe_index(node, coll, name):
    d = ok(node.post("indexes/describe", {"collectionName": coll, "indexName": name}))
    assert isinstance(d, list) and len(d) == 1, d
    return d[0]


@pytest.mark.parametrize("index_type,params", [
    ("AUTOINDEX", {}), ("FLAT", {}), ("IVF_FLAT", {"nlist": 128}), ("IVF_SQ8", {"nlist": 128}),
    ("IVF_PQ", {"nlist": 128, "m": 4, "nbits": 8}), ("HNSW", {"M": 16, "efConstruction": 200})])
@pytest.mark.parametrize("metric", ["L2", "IP", "COSINE"])
def test_create_describe_list_drop(shared_node, index_type, params, metric):
    n = shared_node
    c = fresh(n)
    assert ok(n.post("indexes/list", {"collectionName": c})) == []
    assert ok(create_index(n, c, fieldName="v", indexName="v_idx", metricType=metric,
                           indexType=index_type, params=params)) == {}
    assert ok(n.post("indexes/list", {"collectionName": c})) == ["v_idx"]
    d = describe_index(n, c, "v_idx")
    assert DESCRIBE_KEYS <= set(d), d
    assert d["indexName"] == "v_idx" and d["fieldName"] == "v"
    assert d["indexType"] == index_type and d["metricType"] == metric
    assert d["indexState"] == "Finished" and d["failReason"] == ""
    for k in ("totalRows", "pendingRows", "indexedRows"):
        assert d[k] == 0
    assert kv(d.get("params", [])) == {k: str(v) for k, v in params.items()}
    assert describe(n, c)["indexes"] == [{"indexName": "v_idx", "fieldName": "v",
                                          "metricType": metric}]
    assert ok(n.post("indexes/drop", {"collectionName": c, "indexName": "v_idx"})) == {}
    assert ok(n.post("indexes/list", {"collectionName": c})) == []


def test_index_defaults(shared_node):
    # REF §5: the type may come from params.index_type, AUTOINDEX otherwise; the
    # name defaults to the field name; the metric to COSINE
    n = shared_node
    c = fresh(n)
    ok(create_index(n, c, fieldName="v", metricType="L2",
                    params={"index_type": "HNSW", "M": 8, "efConstruction": 64}))
    d = describe_index(n, c, "v")
    assert d["indexType"] == "HNSW" and d["fieldName"] == "v"
    assert kv(d["params"]) == {"M": "8", "efConstruction": "64"}
    ok(create_index(n, c, fieldName="w"))
    d = describe_index(n, c, "w")
    assert d["indexType"] == "AUTOINDEX" and d["metricType"] == "COSINE"
    assert sorted(ok(n.post("indexes/list", {"collectionName": c}))) == ["v", "w"]


def test_several_index_params_at_once(shared_node):
    n = shared_node
    c = fresh(n)
    ok(n.post("indexes/create", {"collectionName": c, "indexParams": [
        {"fieldName": "v", "indexName": "iv", "metricType": "L2"},
        {"fieldName": "w", "indexName": "iw", "metricType": "IP", "indexType": "FLAT"}]}))
    assert sorted(ok(n.post("indexes/list", {"collectionName": c}))) == ["iv", "iw"]
    assert describe_index(n, c, "iw")["indexType"] == "FLAT"


def test_same_index_again_ok_conflicting_refused(shared_node):
    n = shared_node
    c = fresh(n)
    spec = dict(fieldName="v", indexName="iv", metricType="L2", indexType="HNSW",
                params={"M": 16, "efConstruction": 100})
    ok(create_index(n, c, **spec))
    ok(create_index(n, c, **spec))
    r = create_index(n, c, **dict(spec, metricType="IP"))
    assert r.code not in (0, None), r
    r = create_index(n, c, fieldName="v", indexName="another", metricType="L2")
    assert r.code not in (0, None), r
    r = create_index(n, c, fieldName="w", indexName="iv", metricType="L2")
    assert r.code not in (0, None), r
    assert ok(n.post("indexes/list", {"collectionName": c})) == ["iv"]


@pytest.mark.parametrize("metric", ["HAMMING", "JACCARD", "BM25", "EUCLID", ""])
def test_metric_validation(shared_node, metric):
    c = fresh(shared_node)
    r = create_index(shared_node, c, fieldName="v", metricType=metric)
    if metric:
        err(r, PARAMETER_INVALID, "not supported")  # TS: 1100 + "not supported"
    else:
        assert r.code in (0, PARAMETER_INVALID), r


@pytest.mark.parametrize("index_type", ["NOPE", "BIN_FLAT", "SPARSE_INVERTED_INDEX"])
def test_index_type_validation(shared_node, index_type):
    c = fresh(shared_node)
    err(create_index(shared_node, c, fieldName="v", metricType="L2", indexType=index_type),
        PARAMETER_INVALID, index_type)
    err(create_index(shared_node, c, fieldName="v", metricType="L2",
                     params={"index_type": index_type}), PARAMETER_INVALID, index_type)
    assert ok(shared_node.post("indexes/list", {"collectionName": c})) == []


@pytest.mark.parametrize("index_type,params,needle", [
    ("HNSW", {"M": 1}, "M"),
    ("HNSW", {"M": 4096}, "M"),
    ("HNSW", {"M": "many"}, "M"),
    ("HNSW", {"efConstruction": 0}, "efConstruction"),
    ("IVF_FLAT", {"nlist": 0}, "nlist"),
    ("IVF_FLAT", {"nlist": 70000}, "nlist"),
    ("IVF_PQ", {"nlist": 16, "m": 3}, "m"),   # dim 8 is not divisible by 3
    ("IVF_PQ", {"nlist": 16, "m": 4, "nbits": 0}, "nbits"),
])
def test_params_validation(shared_node, index_type, params, needle):
    c = fresh(shared_node)
    msg = err(create_index(shared_node, c, fieldName="v", metricType="L2", indexType=index_type,
                           params=params), PARAMETER_INVALID)
    assert needle in msg
    assert ok(shared_node.post("indexes/list", {"collectionName": c})) == []


def test_numeric_params_as_strings(shared_node):
    # TS sends {"nlist": "16384"} as well as numbers
    c = fresh(shared_node)
    ok(create_index(shared_node, c, fieldName="v", metricType="L2", indexType="IVF_FLAT",
                    params={"nlist": "1024"}))
    assert kv(describe_index(shared_node, c, "v")["params"]) == {"nlist": "1024"}


def test_index_request_errors(shared_node):
    n = shared_node
    c = fresh(n)
    err(create_index(n, c, fieldName="nope", metricType="L2"), MISSING_PARAM)  # REF §3
    err(create_index(n, c, metricType="L2"), MISSING_PARAM)
    err(n.post("indexes/create", {"collectionName": c}), MISSING_PARAM)
    err(n.post("indexes/create", {"collectionName": c, "indexParams": {"fieldName": "v"}}),
        BAD_JSON)
    err(create_index(n, c, fieldName="v", metricType="L2", params="HNSW"), BAD_JSON)
    err(create_index(n, c, fieldName="v", indexName="1bad", metricType="L2"), PARAMETER_INVALID)
    err(create_index(n, "no_such", fieldName="v", metricType="L2"), COLLECTION_NOT_FOUND)
    err(n.post("indexes/list", {"collectionName": "no_such"}), COLLECTION_NOT_FOUND)
    err(n.post("indexes/list", {"collectionName": c, "dbName": "no_such_db"}), DATABASE_NOT_FOUND)
    err(n.post("indexes/describe", {"collectionName": c, "indexName": "nope"}), INDEX_NOT_FOUND)
    err(n.post("indexes/describe", {"collectionName": c}), MISSING_PARAM)
    err(n.post("indexes/drop", {"collectionName": c}), MISSING_PARAM)
    err(n.post("indexes/drop", {"collectionName": "no_such", "indexName": "x"}),
        COLLECTION_NOT_FOUND)
    ok(n.post("indexes/drop", {"collectionName": c, "indexName": "nope"}))  # missing: fine


def test_dropped_index_leaves_data_searchable(node):
    """Deliberate deviation: Milvus refuses to drop the index of a loaded collection; Quiver
    drops it and searches the field exactly (the request must then name metricType)."""
    c = fresh(node, dim=2)
    ok(node.post("indexes/create", {"collectionName": c, "indexParams": [
        {"fieldName": "v", "metricType": "L2", "indexType": "HNSW"},
        {"fieldName": "w", "metricType": "L2"}]}))
    ok(node.post("collections/load", {"collectionName": c}))
    rows = [{"id": i, "n": i, "v": [float(i), 1.0], "w": [0.0, float(i)]} for i in range(200)]
    ok(node.post("entities/insert", {"collectionName": c, "data": rows}))
    ok(node.post("collections/flush", {"collectionName": c}))
    q = {"collectionName": c, "annsField": "v", "data": [[10.2, 1.0]], "limit": 3}
    with_index = ok(node.post("entities/search", q))
    ok(node.post("indexes/drop", {"collectionName": c, "indexName": "v"}))
    assert ok(node.post("indexes/list", {"collectionName": c})) == ["w"]
    r = node.post("entities/search", q)
    assert r.code == 1100 and "metricType" in r.message, r
    exact = ok(node.post("entities/search", dict(q, searchParams={"metricType": "L2"})))
    assert [h["id"] for h in exact] == [10, 11, 9] == [h["id"] for h in with_index]
    node.restart()
    assert ok(node.post("entities/search", dict(q, searchParams={"metricType": "L2"}))) == exact
    # a vector field without an index still cannot be loaded (as Milvus)
    ok(node.post("collections/release", {"collectionName": c}))
    err(node.post("collections/load", {"collectionName": c}), INDEX_NOT_FOUND)


def test_index_properties(shared_node):
    n = shared_node
    c = fresh(n)
    ok(create_index(n, c, fieldName="v", metricType="L2"))
    body = {"collectionName": c, "indexName": "v"}
    ok(n.post("indexes/alter_properties", dict(body, properties={"mmap.enabled": True,
                                                                 "x": 1})))
    assert kv(describe_index(n, c, "v")["properties"]) == {"mmap.enabled": "true", "x": "1"}
    ok(n.post("indexes/drop_properties", dict(body, propertyKeys=["mmap.enabled"])))
    assert kv(describe_index(n, c, "v")["properties"]) == {"x": "1"}
    err(n.post("indexes/alter_properties", dict(body, indexName="nope", properties={"a": 1})),
        INDEX_NOT_FOUND)
    err(n.post("indexes/drop_properties", body), MISSING_PARAM)


def test_quick_setup_index(shared_node):
    name = uniq("q")
    ok(shared_node.post("collections/create", {"collectionName": name, "dimension": 4,
                                               "metricType": "IP"}))
    assert ok(shared_node.post("indexes/list", {"collectionName": name})) == ["vector"]
    d = describe_index(shared_node, name, "vector")
    assert d["fieldName"] == "vector" and d["metricType"] == "IP"
    assert d["indexType"] == "AUTOINDEX"
