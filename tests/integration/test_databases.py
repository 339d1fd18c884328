# SPDX-License-Identifier: Apache-2.0
"""/v2/vectordb/databases/* (REF §2.6, TS test_database_operation.py) and the
dbName resolution order body > DB-Name header > "default" (REF §1.3)."""
import pytest

from helpers import (BAD_JSON, COLLECTION_NOT_FOUND, DATABASE_NOT_FOUND, MISSING_PARAM,
                     PARAMETER_INVALID, create_quick, describe, err, kv, ok, uniq)


def test_default_database(shared_node):
    assert "default" in ok(shared_node.post("databases/list"))
    assert "default" in ok(shared_node.post("databases/list", b"null"))
    d = ok(shared_node.post("databases/describe", {"dbName": "default"}))
    assert set(d) == {"dbName", "dbID", "properties"}
    assert d["dbName"] == "default" and isinstance(d["dbID"], int)
    assert d["properties"] == []


def test_create_describe_drop(node):
    db = uniq("db")
    assert ok(node.post("databases/create", {"dbName": db})) == {}
    assert sorted(ok(node.post("databases/list"))) == sorted(["default", db])
    d = ok(node.post("databases/describe", {"dbName": db}))
    assert d["dbName"] == db and d["properties"] == []
    assert d["dbID"] != ok(node.post("databases/describe", {"dbName": "default"}))["dbID"]
    assert ok(node.post("collections/list", {"dbName": db})) == []
    assert ok(node.post("databases/drop", {"dbName": db})) == {}
    assert ok(node.post("databases/list")) == ["default"]
    err(node.post("databases/describe", {"dbName": db}), DATABASE_NOT_FOUND,
        "database not found[database=%s]" % db)
    # dropping a missing database succeeds (TS test_drop_non_existent_database)
    assert ok(node.post("databases/drop", {"dbName": db})) == {}


def test_create_with_properties(shared_node):
    db = uniq("db")
    ok(shared_node.post("databases/create", {"dbName": db, "properties": {
        "mmap.enabled": True, "database.max.collections": 10, "note": "x"}}))
    props = ok(shared_node.post("databases/describe", {"dbName": db}))["properties"]
    assert kv(props) == {"mmap.enabled": "true", "database.max.collections": "10", "note": "x"}


def test_alter_and_drop_properties(shared_node):
    # TS TestDatabaseProperties
    db = uniq("db")
    ok(shared_node.post("databases/create", {"dbName": db}))
    for path in ("databases/alter", "databases/alter_properties"):
        for value in (True, False):
            ok(shared_node.post(path, {"dbName": db, "properties": {"mmap.enabled": value}}))
            props = kv(ok(shared_node.post("databases/describe", {"dbName": db}))["properties"])
            assert props == {"mmap.enabled": str(value).lower()}
    ok(shared_node.post("databases/alter_properties", {"dbName": db, "properties": {"k": 1}}))
    ok(shared_node.post("databases/drop_properties", {"dbName": db,
                                                      "propertyKeys": ["mmap.enabled", "absent"]}))
    assert kv(ok(shared_node.post("databases/describe", {"dbName": db}))["properties"]) == \
        {"k": "1"}
    err(shared_node.post("databases/alter", {"dbName": "no_such_db",
                                             "properties": {"mmap.enabled": False}}),
        DATABASE_NOT_FOUND)
    err(shared_node.post("databases/drop_properties", {"dbName": "no_such_db",
                                                       "propertyKeys": ["a"]}),
        DATABASE_NOT_FOUND)
    err(shared_node.post("databases/alter", {"dbName": db, "properties": "x"}), BAD_JSON)


def test_duplicate_and_protected(shared_node):
    db = uniq("db")
    ok(shared_node.post("databases/create", {"dbName": db}))
    r = shared_node.post("databases/create", {"dbName": db})
    assert r.code not in (0, None) and "already exist" in r.message, r
    r = shared_node.post("databases/create", {"dbName": "default"})
    assert r.code not in (0, None), r
    r = shared_node.post("databases/drop", {"dbName": "default"})
    assert r.code not in (0, None), r
    assert "default" in ok(shared_node.post("databases/list"))


def test_drop_non_empty_database_refused(node):
    db = uniq("db")
    ok(node.post("databases/create", {"dbName": db}))
    name = create_quick(node, dbName=db)
    r = node.post("databases/drop", {"dbName": db})
    assert r.code not in (0, None), r
    assert db in ok(node.post("databases/list"))
    ok(node.post("collections/drop", {"collectionName": name, "dbName": db}))
    ok(node.post("databases/drop", {"dbName": db}))
    assert db not in ok(node.post("databases/list"))


@pytest.mark.parametrize("name", [" ", "test db", "test/db", "test\\db", "1db", "d" * 256,
                                  "db.x", "db$"])
def test_invalid_database_names(shared_node, name):
    err(shared_node.post("databases/create", {"dbName": name}), PARAMETER_INVALID)
    assert name not in ok(shared_node.post("databases/list"))


def test_missing_db_name(shared_node):
    for path in ("create", "describe", "drop", "alter", "drop_properties"):
        err(shared_node.post("databases/" + path, {}), MISSING_PARAM)
        err(shared_node.post("databases/" + path, {"dbName": ""}), MISSING_PARAM)
    err(shared_node.post("databases/create", {"dbName": 3}), BAD_JSON)


def test_underscore_default_is_not_default(shared_node):
    # REF §1.3 (#39587): "_default" names a database literally called so
    err(shared_node.post("databases/describe", {"dbName": "_default"}), DATABASE_NOT_FOUND)
    err(shared_node.post("collections/create", {"collectionName": uniq(), "dimension": 4,
                                                "dbName": "_default"}), DATABASE_NOT_FOUND)


# ---- dbName resolution ---------------------------------------------------------------------

def test_db_name_resolution_order(node):
    db = uniq("db")
    ok(node.post("databases/create", {"dbName": db}))
    hdr = {"DB-Name": db}
    # header only
    ok(node.post("collections/create", {"collectionName": "shared_name", "dimension": 4},
                 headers=hdr))
    in_db = "shared_name"
    assert ok(node.post("collections/list", headers=hdr)) == [in_db]
    assert ok(node.post("collections/list")) == []           # default database
    # body beats header
    ok(node.post("collections/create", {"collectionName": "shared_name", "dimension": 8,
                                        "dbName": "default"}, headers=hdr))
    assert ok(node.post("collections/list")) == ["shared_name"]
    assert describe(node, "shared_name")["fields"][1]["params"][0]["value"] == "8"
    d = ok(node.post("collections/describe", {"collectionName": "shared_name"}, headers=hdr))
    assert d["fields"][1]["params"][0]["value"] == "4"
    d = ok(node.post("collections/describe", {"collectionName": "shared_name",
                                              "dbName": "default"}, headers=hdr))
    assert d["fields"][1]["params"][0]["value"] == "8"
    # an empty body dbName falls back to the header
    d = ok(node.post("collections/describe", {"collectionName": "shared_name", "dbName": ""},
                     headers=hdr))
    assert d["fields"][1]["params"][0]["value"] == "4"
    # a missing database, from either place
    err(node.post("collections/list", headers={"DB-Name": "no_such_db"}), DATABASE_NOT_FOUND)
    err(node.post("collections/list", {"dbName": "no_such_db"}, headers=hdr), DATABASE_NOT_FOUND)
    ok(node.post("collections/list", {"dbName": db}, headers={"DB-Name": "no_such_db"}))
    # collections in another database are invisible without it
    only = uniq("only")
    ok(node.post("collections/create", {"collectionName": only, "dimension": 4}, headers=hdr))
    err(node.post("collections/describe", {"collectionName": only}), COLLECTION_NOT_FOUND,
        "can't find collection[database=default]")
    assert ok(node.post("collections/has", {"collectionName": only}))["has"] is False
    assert ok(node.post("collections/has", {"collectionName": only}, headers=hdr))["has"] is True


def test_db_name_resolution_for_other_groups(node):
    db = uniq("db")
    ok(node.post("databases/create", {"dbName": db}))
    hdr = {"DB-Name": db}
    name = uniq("c")
    ok(node.post("collections/create", {"collectionName": name, "dimension": 4}, headers=hdr))
    ok(node.post("partitions/create", {"collectionName": name, "partitionName": "p"},
                 headers=hdr))
    assert ok(node.post("partitions/list", {"collectionName": name}, headers=hdr)) == \
        ["_default", "p"]
    err(node.post("partitions/list", {"collectionName": name}), COLLECTION_NOT_FOUND)
    ok(node.post("aliases/create", {"collectionName": name, "aliasName": "al"}, headers=hdr))
    assert ok(node.post("aliases/list", headers=hdr)) == ["al"]
    assert ok(node.post("aliases/list")) == []
    a = ok(node.post("aliases/describe", {"aliasName": "al"}, headers=hdr))
    assert a == {"dbName": db, "collectionName": name, "aliasName": "al"}
    assert ok(node.post("indexes/list", {"collectionName": name}, headers=hdr)) == ["vector"]
    err(node.post("indexes/list", {"collectionName": name}), COLLECTION_NOT_FOUND)


def test_db_name_of_wrong_type(shared_node):
    # dbName is a string field of every request struct: a mismatch is 1801 (REF §1.4)
    err(shared_node.post("collections/list", {"dbName": 5}), BAD_JSON)
    err(shared_node.post("collections/has", {"collectionName": "x", "dbName": ["default"]}),
        BAD_JSON)
