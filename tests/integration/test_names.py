# SPDX-License-Identifier: Apache-2.0
"""Names and paths: database, collection, partition and alias names (and import file
names) can never reach outside the data directory. Names are validated (Milvus's rules:
a letter or underscore first, then letters, digits, underscores; databases also '-'; at
most 255 characters) and never appear in paths anyway: directories are numeric ids
(docs/storage-format.md), and S3 object keys are built from the node id and those ids only
(docs/storage-format.md, "S3 layout"). A name holding a NUL is refused whole instead of
being cut at the NUL. After every hostile attempt, the data directory holds only the
files the format lists, and nothing appeared next to it."""
import os
import re

import pytest

from helpers import PARAMETER_INVALID, ok

HOSTILE = ["../x", "..", ".", "/etc/passwd", "a/b", "a\\b", "x\u0000y", "ok\u0000/../../z",
           "a" * 256, "a" * 100000, "名前", "é", "a\u202eb", " ", "", "a b", "%2e%2e",
           "a.b", "-a", "a\nb", "a;rm -rf", "$meta"]

ALLOWED = [r"LOCK", r"catalog\.qvc", r"IDALLOC", r"auth\.qva", r"collections",
           r"collections/\d+", r"collections/\d+/manifest\.qvm",
           r"collections/\d+/seg-\d{20}\.qvs", r"collections/\d+/index-\d+-\d+\.qvi",
           r"collections/\d+/wal", r"collections/\d+/wal/wal-\d{20}\.log"]


def tree(root):
    out = []
    for base, dirs, files in os.walk(root):
        for name in dirs + files:
            out.append(os.path.relpath(os.path.join(base, name), root))
    return sorted(out)


def refused(r):
    assert r.status == 200 and r.code not in (0, None), r
    assert r.message, r


@pytest.mark.parametrize("name", HOSTILE, ids=[repr(n)[:20] for n in HOSTILE])
def test_hostile_names_are_refused_everywhere(node, name):
    ok(node.post("collections/create", {"collectionName": "c", "dimension": 2}))
    refused(node.post("databases/create", {"dbName": name}))
    refused(node.post("collections/create", {"collectionName": name, "dimension": 2}))
    if name:  # an empty dbName is the default database
        refused(node.post("collections/create", {"collectionName": "c2", "dimension": 2,
                                                 "dbName": name}))
    refused(node.post("partitions/create", {"collectionName": "c", "partitionName": name}))
    refused(node.post("aliases/create", {"collectionName": "c", "aliasName": name}))
    refused(node.post("collections/describe", {"collectionName": name}))
    node.post("collections/drop", {"collectionName": name})  # Milvus: no error when absent
    node.post("databases/drop", {"dbName": name})
    if name:  # an empty partitionName is the default partition
        refused(node.post("entities/insert", {"collectionName": "c", "partitionName": name,
                                              "data": [{"id": 1, "vector": [1, 2]}]}))
    # what exists is unchanged, and only the documented files are on disk
    assert ok(node.post("collections/list", {})) == ["c"]
    assert ok(node.post("databases/list", {})) == ["default"]
    assert ok(node.post("partitions/list", {"collectionName": "c"})) == ["_default"]
    assert ok(node.post("aliases/list", {})) == []
    for path in tree(node.data_dir):
        assert any(re.fullmatch(p, path) for p in ALLOWED), path
    assert sorted(os.listdir(node.workdir)) == ["node-data", "node.log"]


def test_import_files_stay_inside_the_data_directory(node):
    ok(node.post("collections/create", {"collectionName": "c", "dimension": 2}))
    outside = node.workdir / "outside.json"
    outside.write_text('[{"id": 1, "vector": [1, 2]}]')
    for f in ["../outside.json", str(outside), "a/../../outside.json", "/etc/passwd",
              "x\u0000y.json", "//outside.json"]:
        r = node.post("jobs/import/create", {"collectionName": "c", "files": [[f]]})
        refused(r)
    assert ok(node.post("entities/query", {"collectionName": "c", "filter": "id >= 0",
                                           "outputFields": ["count(*)"]}))[0]["count(*)"] == 0


def test_valid_unusual_names_live_in_numeric_directories(node):
    names = ["_", "_x", "A" * 255, "a_1_B"]
    for n in names:
        ok(node.post("collections/create", {"collectionName": n, "dimension": 2}))
        ok(node.post("entities/insert", {"collectionName": n,
                                         "data": [{"id": 1, "vector": [1, 2]}]}))
    ok(node.post("databases/create", {"dbName": "db-1_x"}))
    ok(node.post("partitions/create", {"collectionName": "_", "partitionName": "p" * 255}))
    ok(node.post("aliases/create", {"collectionName": "_", "aliasName": "_alias_" + "z" * 200}))
    ok(node.post("collections/flush", {"collectionName": "_x"}))
    for path in tree(node.data_dir):
        assert any(re.fullmatch(p, path) for p in ALLOWED), path
        for n in names:
            assert n not in path.split("/") or n == "_", path
    node.restart()
    assert sorted(ok(node.post("collections/list", {}))) == sorted(names)
