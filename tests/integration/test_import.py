# SPDX-License-Identifier: Apache-2.0
"""Import jobs (jobs/import/create, list, get_progress, describe): JSON row-based files
under the data directory become sealed segments without a WAL round trip; a malformed
file fails the job naming the file and the line, and nothing of it is imported; paths
may not leave the data directory; s3:// sources need S3 configured (test_s3.py imports
from the bucket, test_cluster.py through a cluster)."""
import json
import os
import struct
import time

import pytest

from helpers import ok, err, uniq

VEC = {"fieldName": "vec", "dataType": "FloatVector", "elementTypeParams": {"dim": 2}}


def make(node, auto_id=False, key=False, **params):
    name = uniq("imp")
    fields = [{"fieldName": "id", "dataType": "Int64", "isPrimary": True}, VEC,
              {"fieldName": "tag", "dataType": "Int32", "defaultValue": 7},
              {"fieldName": "note", "dataType": "VarChar", "nullable": True,
               "elementTypeParams": {"max_length": 16}}]
    if key:
        fields.append({"fieldName": "tenant", "dataType": "Int64", "isPartitionKey": True})
    ok(node.post("collections/create", {
        "collectionName": name,
        "schema": {"autoID": auto_id, "enableDynamicField": True, "fields": fields},
        "indexParams": [{"fieldName": "vec", "metricType": "L2", "indexType": "FLAT"}],
        "params": dict({"shardsNum": 2}, **params)}))
    return name


def write(node, rel, content):
    path = node.data_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def rows(ids, **extra):
    return [dict({"id": i, "vec": [float(i), 1.0], "extra": "e%d" % i}, **extra) for i in ids]


def start(node, name, files, **extra):
    body = {"collectionName": name, "files": [[f] for f in files]}
    body.update(extra)
    return ok(node.post("jobs/import/create", body))["jobId"]


def wait(node, job, timeout=20):
    deadline = time.time() + timeout
    while True:
        d = ok(node.post("jobs/import/describe", {"jobId": job}))
        if d["state"] in ("Completed", "Failed") or time.time() > deadline:
            return d
        time.sleep(0.05)


def count(node, name, expr=""):
    r = node.post("entities/query", {"collectionName": name, "filter": expr,
                                     "outputFields": ["count(*)"]})
    return ok(r)[0]["count(*)"]


def metric(node, key):
    for line in node.get("/metrics").text.splitlines():
        if line.startswith(key + " ") or line.startswith(key + "{"):
            return float(line.split()[-1])
    return 0.0


def test_import_both_layouts(node):
    name = make(node)
    write(node, "in/a.json", rows(range(0, 100)))
    b = write(node, "in/b.json", {"rows": rows(range(100, 150), tag=1, note="n")})
    ok(node.post("entities/insert", {"collectionName": name, "data": rows([500])}))
    appends = metric(node, "quiver_wal_appends_total")
    job = start(node, name, ["in/a.json", b])  # relative to the data dir, and absolute
    d = wait(node, job)
    assert d["state"] == "Completed", d
    assert d["progress"] == 100 and d["importedRows"] == 150 and d["totalRows"] == 150
    assert d["collectionName"] == name and d["completeTime"].endswith("Z")
    assert d["fileSize"] == sum(os.path.getsize(node.data_dir / f) for f in ("in/a.json",
                                                                             "in/b.json"))
    assert [(f["fileName"], f["state"], f["importedRows"]) for f in d["details"]] == [
        ("in/a.json", "Completed", 100), (b, "Completed", 50)]
    assert ok(node.post("jobs/import/get_progress", {"jobId": job})) == d
    # no WAL round trip: the rows are sealed segments
    assert metric(node, "quiver_wal_appends_total") == appends
    assert count(node, name) == 151
    got = ok(node.post("entities/get", {"collectionName": name, "id": [5, 120],
                                        "outputFields": ["*"]}))
    assert got == [{"id": 5, "vec": [5.0, 1.0], "tag": 7, "note": None, "extra": "e5"},
                   {"id": 120, "vec": [120.0, 1.0], "tag": 1, "note": "n", "extra": "e120"}]
    r = node.post("entities/search", {"collectionName": name, "data": [[120.0, 1.0]], "limit": 2})
    assert [h["id"] for h in ok(r)] == [120, 119]
    recs = ok(node.post("jobs/import/list", {"collectionName": name}))["records"]
    assert [(x["jobId"], x["state"], x["progress"]) for x in recs] == [(job, "Completed", 100)]
    assert ok(node.post("jobs/import/list", {"collectionName": "other"}))["records"] == []
    # a restart keeps the rows (manifest), not the jobs (kept in memory only)
    node.restart()
    assert count(node, name) == 151
    err(node.post("jobs/import/describe", {"jobId": job}), 2100, "import job does not exist")
    assert ok(node.post("jobs/import/list", {}))["records"] == []


def test_import_replaces_existing_keys_and_writes_go_on(node):
    name = make(node)
    ok(node.post("entities/insert", {"collectionName": name, "data": rows(range(10), tag=1)}))
    write(node, "in/up.json", rows(range(5, 15), tag=2))
    assert wait(node, start(node, name, ["in/up.json"]))["state"] == "Completed"
    ok(node.post("entities/insert", {"collectionName": name, "data": rows([99], tag=3)}))
    assert count(node, name) == 16
    assert count(node, name, "tag == 1") == 5 and count(node, name, "tag == 2") == 10
    ok(node.post("entities/delete", {"collectionName": name, "filter": "id in [6, 7]"}))
    node.restart()
    assert count(node, name) == 14 and count(node, name, "tag == 2") == 8


def test_auto_id(node):
    name = make(node, auto_id=True)
    write(node, "in/auto.json", [{"vec": [float(i), 0.0]} for i in range(30)])
    write(node, "in/withpk.json", rows(range(3)))
    assert wait(node, start(node, name, ["in/auto.json"]))["state"] == "Completed"
    assert wait(node, start(node, name, ["in/auto.json"]))["state"] == "Completed"
    ids = [x["id"] for x in ok(node.post("entities/query", {"collectionName": name,
                                                            "limit": 100,
                                                            "outputFields": ["id"]}))]
    assert len(ids) == 60 and len(set(ids)) == 60
    d = wait(node, start(node, name, ["in/withpk.json"]))
    assert d["state"] == "Failed" and "no need to pass pk field" in d["reason"], d
    assert count(node, name) == 60


def test_malformed_file_fails_whole_job_with_line(node):
    name = make(node)
    write(node, "in/good.json", rows(range(20)))
    write(node, "in/bad.json", '[\n  {"id": 1, "vec": [1, 2]},\n  {"id": 2, "vec": [1, 2]\n]\n')
    d = wait(node, start(node, name, ["in/good.json", "in/bad.json"]))
    assert d["state"] == "Failed", d
    assert "in/bad.json" in d["reason"] and "line 4" in d["reason"], d
    assert [f["state"] for f in d["details"]] == ["Failed", "Failed"]
    assert "reason" in d["details"][1] and "reason" not in d["details"][0]
    assert count(node, name) == 0  # nothing of any file of the job
    write(node, "in/badrow.json", {"rows": rows(range(3)) + [{"id": 9, "vec": [1.0]}]})
    d = wait(node, start(node, name, ["in/badrow.json"]))
    assert d["state"] == "Failed"
    assert "in/badrow.json: row 3 (line 1)" in d["reason"] and "vec" in d["reason"], d
    for content, needle in (("", "array of row objects"), ("42", "array of row objects"),
                            ('{"other": []}', 'no "rows" array'), ('[{"id": 1}]', "vec"),
                            ('[{"id": 1, "vec": [1, 2], "$meta": {}}]', "$meta"),
                            ('[1, 2]', "row 0")):
        write(node, "in/x.json", content)
        d = wait(node, start(node, name, ["in/x.json"]))
        assert d["state"] == "Failed" and needle in d["reason"], (content, d)
    assert count(node, name) == 0
    write(node, "in/empty.json", "[]")
    d = wait(node, start(node, name, ["in/empty.json"]))
    assert d["state"] == "Completed" and d["totalRows"] == 0


def test_paths_must_stay_under_the_data_dir(node):
    name = make(node)
    outside = node.data_dir.parent / "outside.json"  # so "../outside.json" exists
    outside.write_text(json.dumps(rows([1])))
    write(node, "in/ok.json", rows([1]))
    os.symlink(outside, node.data_dir / "in" / "link.json")
    os.symlink(node.data_dir / "in" / "ok.json", node.data_dir / "in" / "inner.json")
    for path, needle in ((str(outside), "outside the data directory"),
                         ("../outside.json", "outside the data directory"),
                         ("in/../../outside.json", "outside the data directory"),
                         ("in/link.json", "outside the data directory"),
                         ("in/missing.json", "not a file"),
                         ("in", "unsupported file type"),
                         ("in/ok.parquet", "unsupported file type"),
                         ("s3://bucket/ok.json", "needs S3"),
                         ("minio://bucket/a/ok.json", "not supported")):
        r = node.post("jobs/import/create", {"collectionName": name, "files": [[path]]})
        err(r, 2100, needle)
    # a symlink that stays inside is fine
    assert wait(node, start(node, name, ["in/inner.json"]))["state"] == "Completed"


def test_bad_requests(node):
    name = make(node)
    write(node, "in/ok.json", rows([1]))
    cases = [
        ({"files": [["in/ok.json"]]}, 1802, "collectionName"),
        ({"collectionName": name}, 1802, "files"),
        ({"collectionName": name, "files": []}, 1100, "import request is empty"),
        ({"collectionName": name, "files": "in/ok.json"}, 1801, "files"),
        ({"collectionName": name, "files": [["in/ok.json", "in/ok.json"]]}, 2100,
         "exactly one file"),
        ({"collectionName": name, "files": [[]]}, 2100, "exactly one file"),
        ({"collectionName": name, "files": [[5]]}, 2100, "exactly one file"),
        ({"collectionName": "nope", "files": [["in/ok.json"]]}, 100, "can't find collection"),
        ({"collectionName": name, "files": [["in/ok.json"]], "partitionName": "nope"}, 200,
         "partition not found"),
        ({"collectionName": name, "files": [["in/ok.json"]] * 1025}, 2100,
         "should not exceed 1024"),
    ]
    for body, code, needle in cases:
        err(node.post("jobs/import/create", body), code, needle)
    err(node.post("jobs/import/describe", {}), 1802, "jobId")
    err(node.post("jobs/import/describe", {"jobId": 5}), 1801, "jobId")
    err(node.post("jobs/import/describe", {"jobId": "abc"}), 2100, "parse job id failed")
    err(node.post("jobs/import/get_progress", {"jobId": "12345"}), 2100,
        "import job does not exist, jobID=12345")
    # options are accepted (and ignored)
    job = start(node, name, ["in/ok.json"], options={"timeout": "300"})
    assert wait(node, job)["state"] == "Completed"


def test_partitions_and_partition_key(node):
    name = make(node)
    ok(node.post("partitions/create", {"collectionName": name, "partitionName": "p1"}))
    write(node, "in/p.json", rows(range(8)))
    assert wait(node, start(node, name, ["in/p.json"], partitionName="p1"))["state"] == \
        "Completed"
    assert ok(node.post("partitions/get_stats", {"collectionName": name,
                                                 "partitionName": "p1"})) == {"rowCount": 8}
    assert ok(node.post("partitions/get_stats", {"collectionName": name,
                                                 "partitionName": "_default"})) == {"rowCount": 0}
    keyed = make(node, key=True, partitionsNum=4)
    write(node, "in/k.json", [dict(r, tenant=r["id"] % 5) for r in rows(range(40))])
    err(node.post("jobs/import/create", {"collectionName": keyed, "files": [["in/k.json"]],
                                         "partitionName": "_default_0"}),
        2100, "not allow to set partition name for collection with partition key")
    assert wait(node, start(node, keyed, ["in/k.json"]))["state"] == "Completed"

    def fnv(b):
        h = 14695981039346656037
        for c in b:
            h = ((h ^ c) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
        return h
    want = [0] * 4
    for i in range(40):
        want[fnv(struct.pack("<q", i % 5)) % 4] += 1
    for p in range(4):
        r = node.post("partitions/get_stats", {"collectionName": keyed,
                                               "partitionName": "_default_%d" % p})
        assert ok(r) == {"rowCount": want[p]}
    assert count(node, keyed, "tenant == 3") == 8


def test_imported_rows_carry_the_import_time(node):
    name = make(node, ttlSeconds=2)
    write(node, "in/t.json", rows(range(10)))
    assert wait(node, start(node, name, ["in/t.json"]))["state"] == "Completed"
    assert count(node, name) == 10
    deadline = time.time() + 10
    while count(node, name) and time.time() < deadline:
        time.sleep(0.2)
    assert count(node, name) == 0
