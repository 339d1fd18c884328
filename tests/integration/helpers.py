# SPDX-License-Identifier: Apache-2.0
"""Payload builders and assertions shared by the integration tests.

Expected codes and shapes come from the Milvus REST v2 reference
(/work/shared/reference/milvus_rest_v2.md, cited as REF §n)."""
import itertools
import uuid

_seq = itertools.count()

# REF §1.6
CODE_OK = 0
COLLECTION_NOT_FOUND = 100
COLLECTION_NOT_LOADED = 101
PARTITION_NOT_FOUND = 200
INDEX_NOT_FOUND = 700
DATABASE_NOT_FOUND = 800
PARAMETER_INVALID = 1100
BAD_JSON = 1801
MISSING_PARAM = 1802
TIMEOUT = 10001
UNEXPECTED = 65535


def uniq(prefix="c"):
    """A fresh valid name (letter first, letters, digits and underscores)."""
    return "%s_%d_%s" % (prefix, next(_seq), uuid.uuid4().hex[:8])


def ok(r):
    """Assert a Milvus success envelope (HTTP 200, code 0) and return data."""
    assert r.status == 200 and r.code == CODE_OK, r
    return r.data


def err(r, code, *needles, status=200):
    """Assert an error envelope with this code whose message holds every needle."""
    assert r.status == status, r
    assert r.code == code, r
    assert isinstance(r.message, str) and r.message, r
    for n in needles:
        assert n in r.message, "%r not in message of %r" % (n, r)
    assert "data" not in r.json or r.json["data"] in (None, {}, []), r
    return r.message


def field(name, dtype, **kw):
    f = {"fieldName": name, "dataType": dtype}
    f.update(kw)
    return f


def pk(name="id", dtype="Int64", **kw):
    f = field(name, dtype, isPrimary=True, **kw)
    if dtype == "VarChar":
        f.setdefault("elementTypeParams", {"max_length": 64})
    return f


def vec(name="vec", dim=4, **kw):
    return field(name, "FloatVector", elementTypeParams={"dim": str(dim)}, **kw)


def custom_payload(name, fields=None, index=None, schema_extra=None, **top):
    """collections/create with schema.fields (custom setup, REF §3)."""
    schema = {"fields": fields if fields is not None else [pk(), vec()]}
    schema.update(schema_extra or {})
    body = {"collectionName": name, "schema": schema}
    if index is not None:
        body["indexParams"] = index
    body.update(top)
    return body


def create_quick(node, name=None, dim=4, **extra):
    name = name or uniq("q")
    body = {"collectionName": name, "dimension": dim}
    body.update(extra)
    ok(node.post("collections/create", body))
    return name


def create_custom(node, name=None, fields=None, index=None, schema_extra=None, **top):
    name = name or uniq("c")
    ok(node.post("collections/create", custom_payload(name, fields, index, schema_extra, **top)))
    return name


def describe(node, name, **extra):
    body = {"collectionName": name}
    body.update(extra)
    return ok(node.post("collections/describe", body))


def kv(pairs):
    """Milvus's [{key,value}] list as a dict (asserting the exact item shape)."""
    out = {}
    for p in pairs:
        assert set(p) == {"key", "value"}, p
        assert isinstance(p["value"], str), p
        out[p["key"]] = p["value"]
    return out


def load_state(node, name, **extra):
    body = {"collectionName": name}
    body.update(extra)
    r = node.post("collections/get_load_state", body)
    ok(r)
    assert r.json.get("message") == "", r
    return r.data


def mixed_vector_collection(name, half_metric="L2", half_index="FLAT", bin_metric="JACCARD",
                            shards=1, text_params=None):
    """collections/create of id, text (analyzed, BM25 input), bm25 (BM25 output), sp
    (sparse, IP), half (Float16Vector dim 8) and bin (BinaryVector dim 32)."""
    params = {"max_length": 500, "enable_analyzer": True, "enable_match": True}
    params.update(text_params or {})
    return {"collectionName": name, "params": {"shardsNum": shards}, "schema": {"fields": [
        {"fieldName": "id", "dataType": "Int64", "isPrimary": True},
        {"fieldName": "text", "dataType": "VarChar", "elementTypeParams": params},
        {"fieldName": "bm25", "dataType": "SparseFloatVector"},
        {"fieldName": "sp", "dataType": "SparseFloatVector"},
        {"fieldName": "half", "dataType": "Float16Vector", "elementTypeParams": {"dim": 8}},
        {"fieldName": "bin", "dataType": "BinaryVector", "elementTypeParams": {"dim": 32}}],
        "functions": [{"name": "f", "type": "BM25", "inputFieldNames": ["text"],
                       "outputFieldNames": ["bm25"]}]},
        "indexParams": [
            {"fieldName": "bm25", "metricType": "BM25", "indexType": "SPARSE_WAND"},
            {"fieldName": "sp", "metricType": "IP", "indexType": "SPARSE_INVERTED_INDEX"},
            {"fieldName": "half", "metricType": half_metric, "indexType": half_index},
            {"fieldName": "bin", "metricType": bin_metric, "indexType": "BIN_FLAT"}]}
