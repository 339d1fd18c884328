# SPDX-License-Identifier: Apache-2.0
"""ANN indexes through REST against a real quiverd: recall@10 per index type against exact
ground truth (MNIST when ../shared/datasets is present; synthetic clustered data always),
index progress in indexes/describe, and indexes reloaded (not rebuilt) after a restart."""
import pathlib
import time

import numpy as np
import pytest

DATASET = pathlib.Path(__file__).resolve().parents[3] / "shared" / "datasets" / "mnist-784-t10k"

# (index type, build params, search params, minimum recall@10)
CASES = [
    ("HNSW", {"M": 16, "efConstruction": 128}, {"ef": 64}, 0.97),
    ("IVF_FLAT", {"nlist": 128}, {"nprobe": 32}, 0.95),
    ("IVF_SQ8", {"nlist": 128}, {"nprobe": 32}, 0.90),
    ("IVF_PQ", {"nlist": 128, "m": 0, "nbits": 8}, {"nprobe": 32}, 0.70),
]


def read_vecs(path):
    raw = np.fromfile(path, dtype=np.int32)
    return raw.reshape(-1, raw[0] + 1)[:, 1:].view(np.float32)


def synthetic(n, nq, dim, seed=1234):
    """Overlapping Gaussian clusters of low rank plus noise (like shared/tools/gen_synth.py)."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(100, dim)).astype(np.float32) * 2.0
    basis = rng.normal(size=(100, 8, dim)).astype(np.float32)

    def draw(m):
        c = rng.integers(0, 100, size=m)
        coef = rng.normal(size=(m, 8)).astype(np.float32)
        x = centers[c] + np.einsum("mk,mkd->md", coef, basis[c]) * 0.5
        return (x + rng.normal(size=(m, dim)).astype(np.float32) * 0.3).astype(np.float32)

    return draw(n), draw(nq)


def load(node, name, base, index_type, params, metric="L2"):
    dim = base.shape[1]
    r = node.post("collections/create", {
        "collectionName": name,
        "schema": {"fields": [{"fieldName": "id", "dataType": "Int64", "isPrimary": True},
                              {"fieldName": "v", "dataType": "FloatVector",
                               "elementTypeParams": {"dim": dim}}]},
        "indexParams": [{"fieldName": "v", "indexName": "v_idx", "metricType": metric,
                         "indexType": index_type, "params": params}]})
    assert r.code == 0, r
    for k in range(0, len(base), 1000):
        rows = [{"id": k + i, "v": v.tolist()} for i, v in enumerate(base[k:k + 1000])]
        r = node.post("entities/insert", {"collectionName": name, "data": rows})
        assert r.code == 0, r
    wait_indexed(node, name, len(base))


def wait_indexed(node, name, total, timeout=240):
    deadline = time.time() + timeout
    while time.time() < deadline:
        d = node.post("indexes/describe", {"collectionName": name, "indexName": "v_idx"}).data[0]
        assert d["totalRows"] == total
        if d["indexState"] == "Finished" and d["indexedRows"] == total:
            return d
        time.sleep(0.2)
    raise AssertionError("index not built in %ss: %r" % (timeout, d))


def recall(node, name, base, queries, search_params, k=10):
    hits = 0
    for s in range(0, len(queries), 50):
        qs = queries[s:s + 50]
        r = node.post("entities/search", {"collectionName": name, "data": qs.tolist(),
                                          "limit": k, "searchParams": search_params})
        assert r.code == 0, r
        assert r["topks"] == [k] * len(qs)
        for qi, q in enumerate(qs):
            d = ((base - q) ** 2).sum(1)
            kth = np.partition(d, k - 1)[k - 1]  # distance threshold, robust to ties
            hits += sum(1 for h in r.data[qi * k:(qi + 1) * k] if d[h["id"]] <= kth * (1 + 1e-5))
    return hits / (k * len(queries))


def run_cases(node, base, queries, prefix):
    got = {}
    for index_type, params, sp, minimum in CASES:
        p = dict(params)
        if "m" in p:
            p["m"] = next(m for m in (112, 56, 32, 16, 8) if base.shape[1] % m == 0)
        name = "%s_%s" % (prefix, index_type.lower())
        load(node, name, base, index_type, p)
        got[index_type] = recall(node, name, base, queries, sp)
        print("%s %s recall@10 = %.4f (params %s, search %s)" % (prefix, index_type,
                                                                   got[index_type], p, sp))
    for index_type, _, _, minimum in CASES:
        assert got[index_type] >= minimum, (index_type, got[index_type], minimum)


def test_synthetic_recall(node):
    base, queries = synthetic(20000, 200, 64)
    run_cases(node, base, queries, "syn")


@pytest.mark.skipif(not DATASET.exists(), reason="../shared/datasets/mnist-784-t10k is absent "
                    "(CI checkout only); test_synthetic_recall covers the same behaviour")
def test_mnist_recall(node):
    base = read_vecs(DATASET / "mnist9k_base.fvecs")
    queries = read_vecs(DATASET / "mnist9k_query.fvecs")[:200]
    run_cases(node, base, queries, "mnist")


def metric(node, name):
    for line in node.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(name + " not exported")


def test_restart_loads_indexes_without_rebuilding(node):
    base, queries = synthetic(6000, 50, 32, seed=9)
    load(node, "persist", base, "HNSW", {"M": 16, "efConstruction": 64})
    before = recall(node, "persist", base, queries, {"ef": 64})
    assert metric(node, "quiver_index_builds_total") >= 1
    node.restart()
    d = wait_indexed(node, "persist", len(base), timeout=5)  # at once: loaded, not rebuilt
    assert d["indexedRows"] == len(base)
    assert metric(node, "quiver_index_loads_total") >= 1
    assert metric(node, "quiver_index_builds_total") == 0
    assert recall(node, "persist", base, queries, {"ef": 64}) == before


def test_filtered_search_returns_k_when_k_match(node):
    base, queries = synthetic(8000, 20, 32, seed=5)
    r = node.post("collections/create", {
        "collectionName": "filt",
        "schema": {"fields": [{"fieldName": "id", "dataType": "Int64", "isPrimary": True},
                              {"fieldName": "v", "dataType": "FloatVector",
                               "elementTypeParams": {"dim": 32}},
                              {"fieldName": "g", "dataType": "Int32"}]},
        "indexParams": [{"fieldName": "v", "indexName": "v_idx", "metricType": "L2",
                         "indexType": "HNSW", "params": {"M": 8, "efConstruction": 64}}]})
    assert r.code == 0, r
    for k in range(0, len(base), 1000):
        rows = [{"id": k + i, "v": v.tolist(), "g": (k + i) % 100} for i, v in
                enumerate(base[k:k + 1000])]
        assert node.post("entities/insert", {"collectionName": "filt", "data": rows}).code == 0
    wait_indexed(node, "filt", len(base))
    for expr, matching in (("g == 7", 80), ("g < 10", 800)):
        r = node.post("entities/search", {"collectionName": "filt", "data": queries.tolist(),
                                          "limit": 10, "filter": expr})
        assert r["topks"] == [10] * len(queries)
        assert all(h["id"] % 100 == 7 for h in r.data) if expr == "g == 7" else True
    # tighter than k: exactly the matching rows come back
    r = node.post("entities/search", {"collectionName": "filt", "data": queries[:1].tolist(),
                                      "limit": 100, "filter": "id in [1, 2, 3]"})
    assert sorted(h["id"] for h in r.data) == [1, 2, 3]


def test_ef_changes_hnsw_recall(node):
    """A search's ef is honoured both below and above the index's default (FAISS 1.7.3 sizes
    the queue from the index's efSearch, so the server sets it per call)."""
    base, queries = synthetic(8000, 100, 32, seed=3)
    load(node, "ef", base, "HNSW", {"M": 4, "efConstruction": 16})
    low = recall(node, "ef", base, queries, {"ef": 10})
    default = recall(node, "ef", base, queries, {"ef": 64})
    high = recall(node, "ef", base, queries, {"ef": 400})
    print("recall@10 at ef 10/64/400: %.4f %.4f %.4f" % (low, default, high))
    assert low < default < high, (low, default, high)
