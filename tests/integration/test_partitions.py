# SPDX-License-Identifier: Apache-2.0
"""/v2/vectordb/partitions/* (REF §2.3, TS test_partition_operation.py)."""
import pytest

from helpers import (BAD_JSON, COLLECTION_NOT_FOUND, DATABASE_NOT_FOUND, INDEX_NOT_FOUND,
                     MISSING_PARAM, PARAMETER_INVALID, PARTITION_NOT_FOUND, create_custom,
                     create_quick, describe, err, load_state, ok, uniq)


def part(node, action, coll, **body):
    body["collectionName"] = coll
    return node.post("partitions/" + action, body)


def test_partition_lifecycle(shared_node):
    n = shared_node
    c = create_quick(n)
    assert ok(part(n, "list", c)) == ["_default"]
    assert ok(part(n, "create", c, partitionName="p1")) == {}
    ok(part(n, "create", c, partitionName="p1"))  # again: fine (TS)
    ok(part(n, "create", c, partitionName="p2"))
    assert ok(part(n, "list", c)) == ["_default", "p1", "p2"]
    assert describe(n, c)["partitionsNum"] == 3
    assert ok(part(n, "has", c, partitionName="p1")) == {"has": True}
    assert ok(part(n, "has", c, partitionName="nope")) == {"has": False}
    assert ok(part(n, "get_stats", c, partitionName="p1")) == {"rowCount": 0}
    err(part(n, "get_stats", c, partitionName="nope"), PARTITION_NOT_FOUND)
    # release, release again, load, load again (TS)
    for action in ("release", "release", "load", "load", "release"):
        assert ok(part(n, action, c, partitionNames=["p1"])) == {}
    assert ok(part(n, "drop", c, partitionName="p1")) == {}
    assert ok(part(n, "has", c, partitionName="p1")) == {"has": False}
    assert ok(part(n, "list", c)) == ["_default", "p2"]
    ok(part(n, "drop", c, partitionName="p1"))  # a missing partition: fine


def test_drop_loaded_partition_is_1100(shared_node):
    c = create_quick(shared_node)
    ok(part(shared_node, "create", c, partitionName="p1"))
    ok(part(shared_node, "load", c, partitionNames=["p1"]))
    err(part(shared_node, "drop", c, partitionName="p1"), PARAMETER_INVALID, "release")


def test_drop_loaded_partition_refused(shared_node):
    c = create_quick(shared_node)
    ok(part(shared_node, "create", c, partitionName="p1"))
    ok(part(shared_node, "load", c, partitionNames=["p1"]))
    r = part(shared_node, "drop", c, partitionName="p1")
    assert r.code not in (0, None) and "release" in r.message, r
    assert ok(part(shared_node, "has", c, partitionName="p1"))["has"] is True


def test_default_partition_cannot_be_dropped(shared_node):
    c = create_custom(shared_node)
    r = part(shared_node, "drop", c, partitionName="_default")
    assert r.code not in (0, None) and "default partition" in r.message, r
    assert ok(part(shared_node, "list", c)) == ["_default"]


def test_partition_load_state(node):
    c = create_quick(node)  # loaded
    ok(part(node, "create", c, partitionName="p1"))
    ok(part(node, "release", c, partitionNames=["_default", "p1"]))
    assert load_state(node, c) == {"loadState": "LoadStateNotLoad"}
    ok(part(node, "load", c, partitionNames=["p1"]))
    assert load_state(node, c, partitionNames=["p1"])["loadState"] == "LoadStateLoaded"
    assert load_state(node, c, partitionNames=["_default"]) == {"loadState": "LoadStateNotLoad"}
    assert load_state(node, c)["loadState"] == "LoadStateLoaded"  # some partition is loaded
    ok(node.post("collections/release", {"collectionName": c}))
    assert load_state(node, c, partitionNames=["p1"]) == {"loadState": "LoadStateNotLoad"}
    ok(node.post("collections/load", {"collectionName": c}))
    assert load_state(node, c, partitionNames=["_default", "p1"])["loadState"] == \
        "LoadStateLoaded"


def test_partition_load_needs_an_index(shared_node):
    c = create_custom(shared_node)
    err(part(shared_node, "load", c, partitionNames=["_default"]), INDEX_NOT_FOUND)


@pytest.mark.parametrize("name", [" ", "1p", "p-1", "p 1", "p/1", "p" * 256])
def test_invalid_partition_names(shared_node, name):
    c = create_quick(shared_node)
    err(part(shared_node, "create", c, partitionName=name), PARAMETER_INVALID)
    assert ok(part(shared_node, "list", c)) == ["_default"]


def test_partition_request_errors(shared_node):
    n = shared_node
    c = create_quick(n)
    for action in ("create", "drop", "has", "get_stats"):
        err(part(n, action, c), MISSING_PARAM)
        err(part(n, action, c, partitionName=""), MISSING_PARAM)
        err(n.post("partitions/" + action, {"partitionName": "p"}), MISSING_PARAM)
        err(part(n, action, "no_such", partitionName="p"), COLLECTION_NOT_FOUND)
        err(part(n, action, c, partitionName="p", dbName="no_such_db"), DATABASE_NOT_FOUND)
        err(part(n, action, c, partitionName=5), BAD_JSON)
    for action in ("load", "release"):
        err(part(n, action, c), MISSING_PARAM)
        err(part(n, action, c, partitionNames="p"), BAD_JSON)
        err(part(n, action, c, partitionNames=["nope"]), PARTITION_NOT_FOUND)
        err(part(n, action, "no_such", partitionNames=["_default"]), COLLECTION_NOT_FOUND)
    err(part(n, "list", "no_such"), COLLECTION_NOT_FOUND)
    err(n.post("partitions/list", {}), MISSING_PARAM)


def test_partitions_are_per_collection(shared_node):
    a, b = create_quick(shared_node), create_quick(shared_node)
    ok(part(shared_node, "create", a, partitionName="only_a"))
    assert ok(part(shared_node, "list", b)) == ["_default"]
    assert ok(part(shared_node, "has", b, partitionName="only_a"))["has"] is False
    name = uniq("p")
    ok(part(shared_node, "create", b, partitionName=name))
    assert name not in ok(part(shared_node, "list", a))
