# SPDX-License-Identifier: Apache-2.0
"""/v2/vectordb/aliases/* (REF §2.5, TS test_alias_operation.py), and aliases
accepted wherever a collection name is."""
import pytest

from helpers import (COLLECTION_NOT_FOUND, DATABASE_NOT_FOUND, MISSING_PARAM, PARAMETER_INVALID,
                     create_custom, create_quick, describe, err, load_state, ok, uniq)

ALIAS_CODES = range(1600, 1604)  # REF §1.6: alias errors


def alias_err(r, *needles):
    assert r.status == 200 and r.code in ALIAS_CODES, r
    for n in needles:
        assert n in r.message, r


def test_alias_lifecycle(node):
    a, b = create_quick(node), create_quick(node)
    assert ok(node.post("aliases/list")) == []
    assert ok(node.post("aliases/create", {"collectionName": a, "aliasName": "al"})) == {}
    ok(node.post("aliases/create", {"collectionName": a, "aliasName": "al"}))  # same again
    assert ok(node.post("aliases/list")) == ["al"]
    assert ok(node.post("aliases/list", {"collectionName": a})) == ["al"]
    assert ok(node.post("aliases/list", {"collectionName": b})) == []
    assert ok(node.post("aliases/describe", {"aliasName": "al"})) == \
        {"dbName": "default", "collectionName": a, "aliasName": "al"}
    assert describe(node, a)["aliases"] == ["al"]
    # alter moves it
    assert ok(node.post("aliases/alter", {"collectionName": b, "aliasName": "al"})) == {}
    assert ok(node.post("aliases/describe", {"aliasName": "al"}))["collectionName"] == b
    assert describe(node, a)["aliases"] == [] and describe(node, b)["aliases"] == ["al"]
    assert describe(node, "al")["collectionName"] == b
    # drop, and drop again (missing alias: fine)
    assert ok(node.post("aliases/drop", {"aliasName": "al"})) == {}
    ok(node.post("aliases/drop", {"aliasName": "al"}))
    assert ok(node.post("aliases/list")) == []
    alias_err(node.post("aliases/describe", {"aliasName": "al"}), "alias not found")


def test_several_aliases(shared_node):
    a = create_quick(shared_node)
    names = [uniq("al") for _ in range(3)]
    for x in names:
        ok(shared_node.post("aliases/create", {"collectionName": a, "aliasName": x}))
    assert sorted(ok(shared_node.post("aliases/list", {"collectionName": a}))) == sorted(names)
    assert sorted(describe(shared_node, a)["aliases"]) == sorted(names)
    # list by alias names the target's aliases
    assert sorted(ok(shared_node.post("aliases/list", {"collectionName": names[0]}))) == \
        sorted(names)


def test_alias_errors(shared_node):
    n = shared_node
    a, b = create_quick(n), create_quick(n)
    al = uniq("al")
    ok(n.post("aliases/create", {"collectionName": a, "aliasName": al}))
    # already aliased to another collection
    alias_err(n.post("aliases/create", {"collectionName": b, "aliasName": al}))
    assert ok(n.post("aliases/describe", {"aliasName": al}))["collectionName"] == a
    # alias = an existing collection name
    alias_err(n.post("aliases/create", {"collectionName": a, "aliasName": b}))
    # a collection may not take an alias's name
    r = n.post("collections/create", {"collectionName": al, "dimension": 4})
    assert r.code not in (0, None), r
    # missing things
    err(n.post("aliases/create", {"collectionName": "no_such", "aliasName": uniq()}),
        COLLECTION_NOT_FOUND)
    alias_err(n.post("aliases/alter", {"collectionName": a, "aliasName": "no_such_alias"}))
    err(n.post("aliases/alter", {"collectionName": "no_such", "aliasName": al}),
        COLLECTION_NOT_FOUND)
    err(n.post("aliases/create", {"collectionName": a, "aliasName": uniq(),
                                  "dbName": "no_such_db"}), DATABASE_NOT_FOUND)
    err(n.post("aliases/list", {"dbName": "no_such_db"}), DATABASE_NOT_FOUND)
    err(n.post("aliases/list", {"collectionName": "no_such"}), COLLECTION_NOT_FOUND)
    # required fields
    err(n.post("aliases/create", {"collectionName": a}), MISSING_PARAM)
    err(n.post("aliases/create", {"aliasName": uniq()}), MISSING_PARAM)
    err(n.post("aliases/alter", {"aliasName": al}), MISSING_PARAM)
    err(n.post("aliases/describe", {}), MISSING_PARAM)
    err(n.post("aliases/drop", {}), MISSING_PARAM)


@pytest.mark.parametrize("name", [" ", "1al", "a-l", "a l", "a" * 256])
def test_invalid_alias_names(shared_node, name):
    a = create_quick(shared_node)
    err(shared_node.post("aliases/create", {"collectionName": a, "aliasName": name}),
        PARAMETER_INVALID)


def test_drop_collection_with_alias_refused(node):
    a = create_quick(node)
    ok(node.post("aliases/create", {"collectionName": a, "aliasName": "al"}))
    r = node.post("collections/drop", {"collectionName": a})
    assert r.code not in (0, None) and "alias" in r.message, r
    assert ok(node.post("collections/has", {"collectionName": a}))["has"] is True
    # dropping "through" the alias must not report success while dropping nothing
    r = node.post("collections/drop", {"collectionName": "al"})
    assert r.code not in (0, None), r
    assert ok(node.post("collections/has", {"collectionName": a}))["has"] is True
    ok(node.post("aliases/drop", {"aliasName": "al"}))
    ok(node.post("collections/drop", {"collectionName": a}))
    assert ok(node.post("collections/has", {"collectionName": a}))["has"] is False


def test_every_collection_endpoint_accepts_an_alias(node):
    c = create_custom(node, index=[{"fieldName": "vec", "metricType": "L2"}])
    al = "al_" + c
    ok(node.post("aliases/create", {"collectionName": c, "aliasName": al}))
    A = {"collectionName": al}

    d = describe(node, al)
    assert d["collectionName"] == c and d["aliases"] == [al]
    assert ok(node.post("collections/has", A)) == {"has": True}
    assert ok(node.post("collections/get_stats", A)) == {"rowCount": 0}
    assert load_state(node, al)["loadState"] == "LoadStateLoaded"
    ok(node.post("collections/release", A))
    assert load_state(node, c) == {"loadState": "LoadStateNotLoad"}
    ok(node.post("collections/load", A))
    assert load_state(node, c)["loadState"] == "LoadStateLoaded"
    ok(node.post("collections/refresh_load", A))
    ok(node.post("collections/alter_properties", dict(A, properties={"k": "v"})))
    assert {"key": "k", "value": "v"} in describe(node, c)["properties"]
    ok(node.post("collections/drop_properties", dict(A, propertyKeys=["k"])))
    assert describe(node, c)["properties"] == []
    # partitions
    ok(node.post("partitions/create", dict(A, partitionName="p1")))
    assert ok(node.post("partitions/list", A)) == ["_default", "p1"]
    assert ok(node.post("partitions/has", dict(A, partitionName="p1"))) == {"has": True}
    assert ok(node.post("partitions/get_stats", dict(A, partitionName="p1"))) == {"rowCount": 0}
    ok(node.post("partitions/load", dict(A, partitionNames=["p1"])))
    ok(node.post("partitions/release", dict(A, partitionNames=["p1"])))
    ok(node.post("partitions/drop", dict(A, partitionName="p1")))
    assert ok(node.post("partitions/list", {"collectionName": c})) == ["_default"]
    # indexes
    assert ok(node.post("indexes/list", A)) == ["vec"]
    assert ok(node.post("indexes/describe", dict(A, indexName="vec")))[0]["fieldName"] == "vec"
    ok(node.post("indexes/alter_properties", dict(A, indexName="vec",
                                                  properties={"mmap.enabled": True})))
    ok(node.post("indexes/drop_properties", dict(A, indexName="vec",
                                                 propertyKeys=["mmap.enabled"])))
    ok(node.post("collections/release", A))
    ok(node.post("indexes/drop", dict(A, indexName="vec")))
    assert ok(node.post("indexes/list", {"collectionName": c})) == []
    ok(node.post("indexes/create", dict(A, indexParams=[{"fieldName": "vec",
                                                         "metricType": "IP"}])))
    assert describe(node, c)["indexes"] == [{"indexName": "vec", "fieldName": "vec",
                                             "metricType": "IP"}]


def test_rename_keeps_aliases(node):
    c = create_quick(node)
    ok(node.post("aliases/create", {"collectionName": c, "aliasName": "al"}))
    new = uniq("renamed")
    ok(node.post("collections/rename", {"collectionName": c, "newCollectionName": new}))
    assert ok(node.post("aliases/describe", {"aliasName": "al"}))["collectionName"] == new
    assert describe(node, "al")["collectionName"] == new
    # moving to another database with aliases attached is refused (Milvus)
    db = uniq("db")
    ok(node.post("databases/create", {"dbName": db}))
    r = node.post("collections/rename", {"collectionName": new, "newCollectionName": new,
                                         "newDbName": db})
    assert r.code not in (0, None), r


def test_aliases_are_per_database(node):
    db = uniq("db")
    ok(node.post("databases/create", {"dbName": db}))
    a = create_quick(node)
    b = create_quick(node, dbName=db)
    ok(node.post("aliases/create", {"collectionName": a, "aliasName": "same"}))
    ok(node.post("aliases/create", {"collectionName": b, "aliasName": "same", "dbName": db}))
    assert describe(node, "same")["collectionName"] == a
    assert describe(node, "same", dbName=db)["collectionName"] == b
    assert ok(node.post("aliases/describe", {"aliasName": "same", "dbName": db}))["dbName"] == db
    # an alias cannot point into another database
    err(node.post("aliases/create", {"collectionName": b, "aliasName": uniq()}),
        COLLECTION_NOT_FOUND)
