# SPDX-License-Identifier: Apache-2.0
"""entities/search through REST against a real quiverd: exact results equal a numpy brute
force (synthetic data always; MNIST when ../shared/datasets is present), filters, range,
nq > 1, offsets, output fields, deletes never returned."""
import pathlib
import struct

import numpy as np
import pytest

DATASET = pathlib.Path(__file__).resolve().parents[3] / "shared" / "datasets" / "mnist-784-t10k"


def create(node, name, dim, metric):
    r = node.post("collections/create", {
        "collectionName": name,
        "schema": {"fields": [
            {"fieldName": "id", "dataType": "Int64", "isPrimary": True},
            {"fieldName": "v", "dataType": "FloatVector", "elementTypeParams": {"dim": dim}},
            {"fieldName": "grp", "dataType": "Int32"}]},
        "indexParams": [{"fieldName": "v", "metricType": metric, "indexType": "FLAT"}],
        "params": {"shardsNum": 2}})
    assert r.code == 0, r


def insert(node, name, vecs, start=0):
    for k in range(0, len(vecs), 500):
        rows = [{"id": start + k + i, "v": v.tolist(), "grp": (start + k + i) % 10}
                for i, v in enumerate(vecs[k:k + 500])]
        r = node.post("entities/insert", {"collectionName": name, "data": rows})
        assert r.code == 0, r


def brute(base, q, metric, k, allowed=None):
    if metric == "L2":
        d = ((base - q) ** 2).sum(1)
        order = np.lexsort((np.arange(len(base)), d))
    else:
        b = base
        if metric == "COSINE":
            b = base / np.linalg.norm(base, axis=1, keepdims=True)
            q = q / np.linalg.norm(q)
        d = -(b @ q)
        order = np.lexsort((np.arange(len(base)), d))
    if allowed is not None:
        order = [i for i in order if allowed[i]]
    return list(order[:k]), d


@pytest.mark.parametrize("metric", ["L2", "IP", "COSINE"])
def test_exact_search_matches_bruteforce(node, metric):
    rng = np.random.default_rng(7)
    base = rng.normal(size=(2000, 16)).astype(np.float32)
    queries = rng.normal(size=(5, 16)).astype(np.float32)
    create(node, "s", 16, metric)
    insert(node, "s", base)
    r = node.post("entities/search", {"collectionName": "s", "data": queries.tolist(),
                                      "limit": 10, "outputFields": ["grp"]})
    assert r.code == 0, r
    assert r["topks"] == [10] * 5
    for qi, q in enumerate(queries):
        want, d = brute(base, q, metric, 10)
        hits = r.data[qi * 10:(qi + 1) * 10]
        assert [h["id"] for h in hits] == want
        for h in hits:
            assert h["grp"] == h["id"] % 10
            ref = d[h["id"]] if metric == "L2" else -d[h["id"]]
            assert abs(h["distance"] - ref) <= 1e-4 * max(1.0, abs(ref))
    # order as Milvus reports it
    dists = [h["distance"] for h in r.data[:10]]
    assert dists == sorted(dists, reverse=(metric != "L2"))


def test_filter_range_offset_deletes(node):
    rng = np.random.default_rng(3)
    base = rng.normal(size=(1000, 8)).astype(np.float32)
    q = rng.normal(size=8).astype(np.float32)
    create(node, "f", 8, "L2")
    insert(node, "f", base)
    # a selective pre-filter still returns k results when k rows match
    r = node.post("entities/search", {"collectionName": "f", "data": [q.tolist()], "limit": 20,
                                      "filter": "grp == 3"})
    allowed = np.arange(1000) % 10 == 3
    want, _ = brute(base, q, "L2", 20, allowed)
    assert [h["id"] for h in r.data] == want
    # offset applies after ranking
    r2 = node.post("entities/search", {"collectionName": "f", "data": [q.tolist()], "limit": 5,
                                       "offset": 5, "filter": "grp == 3"})
    assert [h["id"] for h in r2.data] == want[5:10]
    # range search bounds, flat or nested searchParams
    for sp in ({"radius": 12.0, "range_filter": 6.0}, {"params": {"radius": 12.0, "range_filter": 6.0}}):
        r = node.post("entities/search", {"collectionName": "f", "data": [q.tolist()],
                                          "limit": 1000, "searchParams": sp})
        assert r.code == 0, r
        assert r.data and all(6.0 <= h["distance"] < 12.0 for h in r.data)
    # deleted rows never come back
    node.post("entities/delete", {"collectionName": "f", "filter": "id in [%s]" % ",".join(map(str, want[:3]))})
    r = node.post("entities/search", {"collectionName": "f", "data": [q.tolist()], "limit": 20,
                                      "filter": "grp == 3"})
    assert not set(want[:3]) & {h["id"] for h in r.data}


def test_search_errors(node):
    create(node, "e", 4, "L2")
    r = node.post("entities/search", {"collectionName": "e", "data": [[1, 2, 3]]})
    assert r.code == 1801, r
    r = node.post("entities/search", {"collectionName": "e", "data": [[1, 2, 3, 4]], "limit": 0})
    assert r.code == 65535
    r = node.post("entities/search", {"collectionName": "e", "data": [[1, 2, 3, 4]],
                                      "limit": 16000, "offset": 1000})
    assert r.code == 65535
    r = node.post("entities/search", {"collectionName": "e", "data": [[1, 2, 3, 4]],
                                      "searchParams": {"metricType": "IP"}})
    assert r.code != 0
    r = node.post("entities/search", {"collectionName": "e", "data": [[1, 2, 3, 4]]})
    assert r.code == 0 and r.data == [] and r["topks"] == [0]


def read_vecs(path, dtype):
    raw = np.fromfile(path, dtype=np.int32)
    d = raw[0]
    return raw.reshape(-1, d + 1)[:, 1:].view(dtype)


@pytest.mark.skipif(not DATASET.exists(), reason="../shared/datasets/mnist-784-t10k is absent "
                    "(CI checkout only); the synthetic test above covers the same behaviour")
def test_mnist_flat_recall_is_exact(node):
    base = read_vecs(DATASET / "mnist9k_base.fvecs", np.float32)[:3000]
    queries = read_vecs(DATASET / "mnist9k_query.fvecs", np.float32)[:50]
    create(node, "mnist", 784, "L2")
    insert(node, "mnist", base)
    r = node.post("entities/search", {"collectionName": "mnist", "data": queries.tolist(),
                                      "limit": 10})
    assert r.code == 0, r
    hits = 0
    for qi, q in enumerate(queries):
        d = ((base - q) ** 2).sum(1)
        kth = np.sort(d)[9]
        hits += sum(1 for h in r.data[qi * 10:(qi + 1) * 10] if d[h["id"]] <= kth * (1 + 1e-6))
    assert hits / (10 * len(queries)) == 1.0


def test_grouping_search(node):
    rng = np.random.default_rng(21)
    base = rng.normal(size=(600, 8)).astype(np.float32)
    q = rng.normal(size=8).astype(np.float32)
    create(node, "g", 8, "L2")
    insert(node, "g", base)  # grp = id % 10
    r = node.post("entities/search", {"collectionName": "g", "data": [q.tolist()], "limit": 3,
                                      "groupingField": "grp", "groupSize": 2,
                                      "outputFields": ["grp"]})
    assert r.code == 0, r
    d = ((base - q) ** 2).sum(1)
    order = list(np.lexsort((np.arange(len(base)), d)))
    groups = []
    for i in order:  # groups by their best hit, each with its 2 best
        g = i % 10
        if g not in groups:
            groups.append(g)
    want = []
    for g in groups[:3]:
        want += [i for i in order if i % 10 == g][:2]
    assert [h["id"] for h in r.data] == want
    assert r["topks"] == [6]
    r = node.post("entities/search", {"collectionName": "g", "data": [q.tolist()],
                                      "groupingField": "v"})
    assert r.code == 1100


@pytest.mark.parametrize("metric", ["L2", "COSINE"])
def test_search_by_ids(node, metric):
    """Milvus 2.6: `ids` instead of `data` searches with the stored vectors of those keys."""
    rng = np.random.default_rng(5)
    base = rng.normal(size=(400, 8)).astype(np.float32)
    create(node, "byid", 8, metric)
    insert(node, "byid", base)
    r = node.post("entities/search", {"collectionName": "byid", "ids": [17, 3], "limit": 4})
    assert r.code == 0, r
    by_data = node.post("entities/search", {"collectionName": "byid", "limit": 4,
                                            "data": [base[17].tolist(), base[3].tolist()]})
    assert r.data == by_data.data and r["topks"] == [4, 4]
    assert r.data[0]["id"] == 17 and r.data[4]["id"] == 3  # each key finds itself first
    r = node.post("entities/search", {"collectionName": "byid", "ids": 250, "limit": 1,
                                      "filter": "id != 250"})
    assert r.code == 0 and r.data[0]["id"] != 250, r
    r = node.post("entities/search", {"collectionName": "byid", "ids": [1], "data": [[0] * 8]})
    assert r.code == 1100 and "mutually exclusive" in r.message, r
    r = node.post("entities/search", {"collectionName": "byid", "ids": [1, 9999]})
    assert r.code == 1100 and "ids[1]" in r.message, r
    r = node.post("entities/search", {"collectionName": "byid", "ids": ["x"]})
    assert r.code == 1806, r
    r = node.post("entities/search", {"collectionName": "byid", "ids": []})
    assert r.code == 1100, r
