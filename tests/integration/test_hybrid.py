# SPDX-License-Identifier: Apache-2.0
"""entities/hybrid_search: two vector fields, fused with RRF and weighted rerank; the fused
scores equal the formulas of the reference (§6.5) applied to the sub-searches' own results."""
import math

import numpy as np


def setup_collection(node):
    r = node.post("collections/create", {
        "collectionName": "hy",
        "schema": {"fields": [
            {"fieldName": "id", "dataType": "Int64", "isPrimary": True},
            {"fieldName": "a", "dataType": "FloatVector", "elementTypeParams": {"dim": 8}},
            {"fieldName": "b", "dataType": "FloatVector", "elementTypeParams": {"dim": 4}},
            {"fieldName": "tag", "dataType": "Int32"}]},
        "indexParams": [
            {"fieldName": "a", "indexName": "a", "metricType": "L2", "indexType": "FLAT"},
            {"fieldName": "b", "indexName": "b", "metricType": "COSINE", "indexType": "FLAT"}]})
    assert r.code == 0, r
    rng = np.random.default_rng(11)
    rows = [{"id": i, "a": rng.normal(size=8).tolist(), "b": rng.normal(size=4).tolist(),
             "tag": i % 3} for i in range(300)]
    assert node.post("entities/insert", {"collectionName": "hy", "data": rows}).code == 0
    return rng


def sub(node, field, vec, limit, flt=""):
    r = node.post("entities/search", {"collectionName": "hy", "annsField": field,
                                      "data": [vec], "limit": limit, "filter": flt})
    assert r.code == 0, r
    return [(h["id"], h["distance"]) for h in r.data]


def test_rrf_and_weighted(node):
    rng = setup_collection(node)
    qa, qb = rng.normal(size=8).tolist(), rng.normal(size=4).tolist()
    subs = [{"data": [qa], "annsField": "a", "limit": 20},
            {"data": [qb], "annsField": "b", "limit": 20, "filter": "tag != 1"}]
    ra, rb = sub(node, "a", qa, 20), sub(node, "b", qb, 20, "tag != 1")

    r = node.post("entities/hybrid_search", {"collectionName": "hy", "search": subs,
                                             "rerank": {"strategy": "rrf", "params": {"k": 10}},
                                             "limit": 5, "outputFields": ["tag"]})
    assert r.code == 0, r
    want = {}
    for hits in (ra, rb):
        for rank, (i, _) in enumerate(hits, 1):
            want[i] = want.get(i, 0) + 1 / (10 + rank)
    best = sorted(want.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    assert [h["id"] for h in r.data] == [i for i, _ in best]
    for h, (_, score) in zip(r.data, best):
        assert abs(h["distance"] - score) < 1e-6 and h["tag"] == h["id"] % 3
    assert r["topks"] == [5]

    r = node.post("entities/hybrid_search", {"collectionName": "hy", "search": subs,
                                             "rerank": {"strategy": "weighted",
                                                        "params": {"weights": [0.3, 0.7],
                                                                   "norm_score": True}},
                                             "limit": 5})
    assert r.code == 0, r
    want = {}
    for w, hits, norm in ((0.3, ra, lambda d: 1 - 2 * math.atan(d) / math.pi),
                          (0.7, rb, lambda d: (1 + d) / 2)):
        for i, d in hits:
            want[i] = want.get(i, 0) + w * norm(d)
    best = sorted(want.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    assert [h["id"] for h in r.data] == [i for i, _ in best]
    for h, (_, score) in zip(r.data, best):
        assert abs(h["distance"] - score) < 1e-5


def test_hybrid_errors(node):
    setup_collection(node)
    q = [[0.0] * 8]
    subs = [{"data": q, "annsField": "a"}, {"data": [[1.0, 0, 0, 0]], "annsField": "b"}]
    r = node.post("entities/hybrid_search", {"collectionName": "hy", "search": subs,
                                             "rerank": {"strategy": "weighted",
                                                        "params": {"weights": [1.0]}}})
    assert r.code == 1100 and "weights" in r.message
    r = node.post("entities/hybrid_search", {"collectionName": "hy", "search": subs,
                                             "rerank": {"strategy": "rrf", "params": {"k": 0}}})
    assert r.code == 1100
    r = node.post("entities/hybrid_search", {"collectionName": "hy", "search": [
        {"data": q, "annsField": "nope"}]})
    assert r.code != 0 and "nope" in r.message
    r = node.post("entities/search", {"collectionName": "hy", "data": q})
    assert r.code == 1100 and "multiple vector fields" in r.message


def test_hybrid_grouping(node):
    """Each sub-search is a grouping search; the fused hits are grouped again: groups in
    order of their best fused hit, `limit` groups of at most `groupSize` hits."""
    rng = setup_collection(node)
    qa, qb = rng.normal(size=8).tolist(), rng.normal(size=4).tolist()
    subs = [{"data": [qa], "annsField": "a", "limit": 2},
            {"data": [qb], "annsField": "b", "limit": 2}]
    sub_hits = []
    for s in subs:
        r = node.post("entities/search", {"collectionName": "hy", "annsField": s["annsField"],
                                          "data": s["data"], "limit": 2,
                                          "groupingField": "tag", "groupSize": 2})
        assert r.code == 0 and len(r.data) == 4, r
        sub_hits.append([h["id"] for h in r.data])
    r = node.post("entities/hybrid_search", {"collectionName": "hy", "search": subs,
                                             "rerank": {"strategy": "rrf", "params": {"k": 60}},
                                             "limit": 2, "groupingField": "tag", "groupSize": 2,
                                             "outputFields": ["tag"]})
    assert r.code == 0, r
    score = {}
    for hits in sub_hits:
        for rank, i in enumerate(hits, 1):
            score[i] = score.get(i, 0) + 1 / (60 + rank)
    fused = sorted(score.items(), key=lambda kv: (-kv[1], kv[0]))
    groups = {}
    for i, _ in fused:
        g = i % 3
        if g in groups or len(groups) < 2:
            groups.setdefault(g, [])
            if len(groups[g]) < 2:
                groups[g].append(i)
    want = [i for v in groups.values() for i in v]  # group by group, best group first
    assert [h["id"] for h in r.data] == want, (r.data, fused)
    assert len({h["tag"] for h in r.data}) <= 2 and r["topks"] == [len(want)]
