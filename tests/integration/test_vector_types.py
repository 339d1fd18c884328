# SPDX-License-Identifier: Apache-2.0
"""Vector types other than FloatVector (REF §3, §4, §5, §6): Float16Vector and
BFloat16Vector (float arrays or base64 of little-endian halves in, base64 out, L2/IP/COSINE
through FLAT and HNSW), BinaryVector (base64, HAMMING/JACCARD, BIN_FLAT and BIN_IVF_FLAT),
SparseFloatVector (both input forms, IP, SPARSE_INVERTED_INDEX and SPARSE_WAND,
drop_ratio_search) and BM25 full-text search (analyzer, function, raw-text queries,
text_match, statistics across segments, deletes and compaction).

Every search is checked against a numpy brute force computed here, on the values as
stored (halves widened to float32)."""
import base64
import math
import time

import numpy as np
import pytest

from helpers import BAD_JSON, PARAMETER_INVALID, err, mixed_vector_collection, ok

INSERT_BAD = 1804


def create(node, name, fields, indexes, **params):
    body = {"collectionName": name, "schema": {"fields": fields}, "indexParams": indexes}
    if params:
        body["params"] = params
    return node.post("collections/create", body)


def insert(node, name, rows, step=500):
    for k in range(0, len(rows), step):
        ok(node.post("entities/insert", {"collectionName": name, "data": rows[k:k + step]}))


def search(node, name, data, limit, **kw):
    body = {"collectionName": name, "data": data, "limit": limit}
    body.update(kw)
    return node.post("entities/search", body)


def wait_indexed(node, name, index, total, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        d = ok(node.post("indexes/describe", {"collectionName": name, "indexName": index}))[0]
        if d["indexState"] == "Finished" and d["indexedRows"] == total == d["totalRows"]:
            return d
        time.sleep(0.2)
    raise AssertionError("index %s not built: %r" % (index, d))


def hit_ids(r, q, k):
    return [h["id"] for h in r.data[q * k:(q + 1) * k]]


def recall(got, want):
    return len(set(got) & set(want)) / max(1, len(want))


# ---- half precision -------------------------------------------------------------------

def to_bf16_bits(x):
    """float32 -> bfloat16 bits, round to nearest even (as Quiver and PyTorch do)."""
    u = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def bf16_to_f32(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


def halves(kind, x):
    """(stored little-endian bytes per row, the float32 values they hold)."""
    if kind == "Float16Vector":
        h = np.asarray(x, dtype=np.float16)
        return h.astype("<f2"), h.astype(np.float32)
    bits = to_bf16_bits(x)
    return bits.astype("<u2"), bf16_to_f32(bits)


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode()


def dense_brute(base, q, metric, k):
    if metric == "L2":
        d = ((base - q) ** 2).sum(1)
    elif metric == "IP":
        d = -(base @ q)
    else:
        d = -(base @ q) / (np.linalg.norm(base, axis=1) * np.linalg.norm(q))
    order = np.lexsort((np.arange(len(base)), d))
    return list(order[:k]), d if metric == "L2" else -d


@pytest.mark.parametrize("kind", ["Float16Vector", "BFloat16Vector"])
def test_half_round_trip_and_persistence(node, kind):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 8)).astype(np.float32)
    stored, _ = halves(kind, x)
    ok(create(node, "h", [{"fieldName": "id", "dataType": "Int64", "isPrimary": True},
                          {"fieldName": "v", "dataType": kind, "elementTypeParams": {"dim": 8}}],
              [{"fieldName": "v", "metricType": "L2", "indexType": "FLAT"}]))
    rows = [{"id": i, "v": x[i].tolist() if i % 2 else b64(stored[i])} for i in range(40)]
    insert(node, "h", rows)
    want = {i: b64(stored[i]) for i in range(40)}

    def check():
        got = ok(node.post("entities/query", {"collectionName": "h", "filter": "id >= 0",
                                              "outputFields": ["v"], "limit": 100}))
        assert {r["id"]: r["v"] for r in got} == want

    check()
    node.restart()  # from the WAL
    check()
    ok(node.post("collections/flush", {"collectionName": "h"}))
    node.restart()  # from segment files
    check()
    desc = ok(node.post("collections/describe", {"collectionName": "h"}))
    assert desc["fields"][1]["type"] == kind


@pytest.mark.parametrize("kind", ["Float16Vector", "BFloat16Vector"])
@pytest.mark.parametrize("metric", ["L2", "IP", "COSINE"])
def test_half_search_matches_bruteforce(node, kind, metric):
    rng = np.random.default_rng(2)
    n, dim, k = 1500, 24, 10
    x = rng.normal(size=(n, dim)).astype(np.float32)
    stored, base = halves(kind, x)
    queries = rng.normal(size=(6, dim)).astype(np.float32)
    fields = [{"fieldName": "id", "dataType": "Int64", "isPrimary": True},
              {"fieldName": "flat", "dataType": kind, "elementTypeParams": {"dim": dim}},
              {"fieldName": "hnsw", "dataType": kind, "elementTypeParams": {"dim": dim}}]
    ok(create(node, "s", fields,
              [{"fieldName": "flat", "indexName": "flat", "metricType": metric, "indexType": "FLAT"},
               {"fieldName": "hnsw", "indexName": "hnsw", "metricType": metric,
                "indexType": "HNSW", "params": {"M": 16, "efConstruction": 128}}],
              shardsNum=2))
    insert(node, "s", [{"id": i, "flat": b64(stored[i]), "hnsw": x[i].tolist()} for i in range(n)])
    ok(node.post("collections/flush", {"collectionName": "s"}))
    wait_indexed(node, "s", "hnsw", n)
    # exact (FLAT): ids and distances equal the brute force over the stored values
    r = search(node, "s", queries.tolist(), k, annsField="flat")
    assert r.code == 0, r
    for qi, q in enumerate(queries):
        want, d = dense_brute(base, q, metric, k)
        assert hit_ids(r, qi, k) == want
        for h in r.data[qi * k:(qi + 1) * k]:
            assert abs(h["distance"] - d[h["id"]]) <= 1e-4 * max(1.0, abs(d[h["id"]]))
    # base64 queries hold the same halves (rounded): exact results for those
    qstored, qbase = halves(kind, queries)
    r = search(node, "s", [b64(v) for v in qstored], k, annsField="flat")
    assert r.code == 0, r
    for qi, q in enumerate(qbase):
        assert hit_ids(r, qi, k) == dense_brute(base, q, metric, k)[0]
    # HNSW (over a widened float32 copy) finds nearly all of them
    r = search(node, "s", queries.tolist(), k, annsField="hnsw", searchParams={"ef": 64})
    assert r.code == 0, r
    rec = np.mean([recall(hit_ids(r, qi, k), dense_brute(base, q, metric, k)[0])
                   for qi, q in enumerate(queries)])
    assert rec >= 0.9, rec


def test_half_bad_input(node):
    ok(create(node, "b", [{"fieldName": "id", "dataType": "Int64", "isPrimary": True},
                          {"fieldName": "v", "dataType": "Float16Vector",
                           "elementTypeParams": {"dim": 4}}],
              [{"fieldName": "v", "metricType": "L2", "indexType": "HNSW"}]))
    bad = [([1.0, 2.0, 3.0], "dimension"), (b64(np.zeros(3, "<f2")), "dimension"),
           ("not*base64!", "base64"), ([1e6, 0, 0, 0], "float16 range"), ({"1": 2.0}, "expected")]
    for v, needle in bad:
        r = node.post("entities/insert", {"collectionName": "b", "data": [{"id": 1, "v": v}]})
        err(r, INSERT_BAD, needle)
    ok(node.post("entities/insert", {"collectionName": "b", "data": [{"id": 1, "v": [0, 1, 2, 3]}]}))
    err(search(node, "b", [[1.0, 2.0]], 3), BAD_JSON, "dimension")
    err(search(node, "b", ["%%%"], 3), BAD_JSON, "base64")
    err(search(node, "b", [[1.0, 0, 0, 0]], 3, searchParams={"metricType": "HAMMING"}),
        PARAMETER_INVALID, "metric")
    err(node.post("indexes/create", {"collectionName": "b", "indexParams": [
        {"fieldName": "v", "indexName": "x", "metricType": "HAMMING", "indexType": "HNSW"}]}),
        PARAMETER_INVALID)


# ---- binary ---------------------------------------------------------------------------

def bits_of(bytes_rows):
    return np.unpackbits(bytes_rows, axis=1, bitorder="little").astype(bool)


def binary_brute(base_bits, q_bits, metric):
    if metric == "HAMMING":
        return (base_bits != q_bits).sum(1).astype(np.float64)
    both = (base_bits & q_bits).sum(1)
    anyb = (base_bits | q_bits).sum(1)
    return np.where(anyb > 0, 1 - both / np.maximum(anyb, 1), 0.0)


def test_binary_round_trip_and_bad_input(node):
    rng = np.random.default_rng(4)
    x = rng.integers(0, 256, size=(20, 4), dtype=np.uint8)
    ok(create(node, "bin", [{"fieldName": "id", "dataType": "Int64", "isPrimary": True},
                            {"fieldName": "v", "dataType": "BinaryVector",
                             "elementTypeParams": {"dim": 32}}],
              [{"fieldName": "v", "metricType": "HAMMING", "indexType": "BIN_FLAT"}]))
    insert(node, "bin", [{"id": i, "v": b64(x[i]) if i % 2 else x[i].tolist()}
                         for i in range(20)])
    got = ok(node.post("entities/query", {"collectionName": "bin", "filter": "id >= 0",
                                          "outputFields": ["v"], "limit": 100}))
    assert {r["id"]: r["v"] for r in got} == {i: b64(x[i]) for i in range(20)}
    node.restart()
    got = ok(node.post("entities/get", {"collectionName": "bin", "id": [3], "outputFields": ["v"]}))
    assert got[0]["v"] == b64(x[3])
    for v, needle in [(b64(x[0][:3]), "dimension"), ("@@@@", "base64"), ([1, 2, 3, 300], "255"),
                      ([1.0, 2, 3, 4, 5], "dimension"), (7, "BinaryVector")]:
        err(node.post("entities/insert", {"collectionName": "bin", "data": [{"id": 99, "v": v}]}),
            INSERT_BAD, needle)
    err(search(node, "bin", [b64(x[0][:2])], 3), BAD_JSON, "dimension")
    err(search(node, "bin", ["!!"], 3), BAD_JSON, "base64")
    # a binary dim must be a multiple of 8; HAMMING/JACCARD only for binary vectors
    err(create(node, "bin2", [{"fieldName": "id", "dataType": "Int64", "isPrimary": True},
                              {"fieldName": "v", "dataType": "BinaryVector",
                               "elementTypeParams": {"dim": 12}}], []), PARAMETER_INVALID, "8")
    err(create(node, "bin3", [{"fieldName": "id", "dataType": "Int64", "isPrimary": True},
                              {"fieldName": "v", "dataType": "BinaryVector",
                               "elementTypeParams": {"dim": 16}}],
               [{"fieldName": "v", "metricType": "L2", "indexType": "BIN_FLAT"}]),
        PARAMETER_INVALID, "metric")
    err(create(node, "bin4", [{"fieldName": "id", "dataType": "Int64", "isPrimary": True},
                              {"fieldName": "v", "dataType": "BinaryVector",
                               "elementTypeParams": {"dim": 16}}],
               [{"fieldName": "v", "metricType": "HAMMING", "indexType": "HNSW"}]),
        PARAMETER_INVALID, "HNSW")


@pytest.mark.parametrize("metric", ["HAMMING", "JACCARD"])
def test_binary_search_matches_bruteforce(node, metric):
    rng = np.random.default_rng(5)
    n, dim, k = 2400, 64, 10
    x = rng.integers(0, 256, size=(n, dim // 8), dtype=np.uint8)
    queries = rng.integers(0, 256, size=(5, dim // 8), dtype=np.uint8)
    fields = [{"fieldName": "id", "dataType": "Int64", "isPrimary": True},
              {"fieldName": "flat", "dataType": "BinaryVector", "elementTypeParams": {"dim": dim}},
              {"fieldName": "ivf", "dataType": "BinaryVector", "elementTypeParams": {"dim": dim}}]
    ok(create(node, "bs", fields, [
        {"fieldName": "flat", "indexName": "flat", "metricType": metric, "indexType": "BIN_FLAT"},
        {"fieldName": "ivf", "indexName": "ivf", "metricType": metric, "indexType": "BIN_IVF_FLAT",
         "params": {"nlist": 16}}], shardsNum=2))
    insert(node, "bs", [{"id": i, "flat": b64(x[i]), "ivf": b64(x[i])} for i in range(n)])
    # growing (exact popcount scan), then sealed with the IVF built
    for phase in ("growing", "sealed"):
        if phase == "sealed":
            ok(node.post("collections/flush", {"collectionName": "bs"}))
            wait_indexed(node, "bs", "ivf", n)
        for field, params, floor in (("flat", {}, 1.0), ("ivf", {"nprobe": 16}, 1.0),
                                     ("ivf", {"nprobe": 4}, 0.5)):
            r = search(node, "bs", [b64(q) for q in queries], k, annsField=field,
                       searchParams=params)
            assert r.code == 0, r
            rec = []
            for qi, q in enumerate(queries):
                d = binary_brute(bits_of(x), bits_of(q[None, :])[0], metric)
                kth = np.sort(d)[k - 1]
                hits = r.data[qi * k:(qi + 1) * k]
                for h in hits:
                    assert abs(h["distance"] - d[h["id"]]) < 1e-6, (h, d[h["id"]])
                ds = [h["distance"] for h in hits]
                assert ds == sorted(ds)
                rec.append(sum(1 for h in hits if d[h["id"]] <= kth + 1e-9) / k)
            assert np.mean(rec) >= floor, (phase, field, params, rec)


# ---- sparse ---------------------------------------------------------------------------

def gen_sparse(rng, n, vocab=300, max_nnz=20):
    """n dicts {index: value} with a skewed choice of indices."""
    out = []
    for _ in range(n):
        nnz = int(rng.integers(1, max_nnz))
        idx = np.unique((vocab * rng.random(nnz) ** 2).astype(np.int64))
        out.append({int(i): float(np.float32(rng.random() * 5 + 0.01)) for i in idx})
    return out


def sparse_dot(a, b):
    return sum(np.float32(v) * np.float32(b[i]) for i, v in a.items() if i in b)


def sparse_brute(docs, q, k, allowed=None):
    """Top k of the docs sharing an index with q: (ids, scores by id)."""
    scores = {d: float(sparse_dot(q, v)) for d, v in enumerate(docs)
              if (allowed is None or allowed(d)) and set(q) & set(v)}
    order = sorted(scores, key=lambda d: (-scores[d], d))[:k]
    return order, scores


def as_input(v, form):
    if form == "dict":
        return {str(i): x for i, x in v.items()}
    keys = sorted(v)
    return {"indices": keys, "values": [v[i] for i in keys]}


def test_sparse_round_trip_and_bad_input(node):
    ok(create(node, "sp", [{"fieldName": "id", "dataType": "Int64", "isPrimary": True},
                           {"fieldName": "v", "dataType": "SparseFloatVector"}],
              [{"fieldName": "v", "metricType": "IP", "indexType": "SPARSE_INVERTED_INDEX"}]))
    rows = [{"id": 1, "v": {"7": 0.5, "3": 1.25}},
            {"id": 2, "v": {"indices": [9, 4294967294, 0], "values": [1, 2.5, -3]}},
            {"id": 3, "v": {}}]
    insert(node, "sp", rows)
    want = {1: {"3": 1.25, "7": 0.5}, 2: {"0": -3, "9": 1, "4294967294": 2.5}, 3: {}}
    for _ in range(2):
        got = ok(node.post("entities/query", {"collectionName": "sp", "filter": "id > 0",
                                              "outputFields": ["v"]}))
        assert {r["id"]: r["v"] for r in got} == want
        assert [list(r["v"]) for r in got][1] == ["0", "9", "4294967294"]  # index order
        node.restart()
    for v, needle in [({"-1": 1.0}, "index"), ({"indices": [-2], "values": [1.0]}, "index"),
                      ({"4294967295": 1.0}, "index"), ({"x": 1.0}, "index"),
                      ({"indices": [1, 1], "values": [1, 2]}, "duplicate"),
                      ({"indices": [1, 2], "values": [1]}, "values"), ({"1": "a"}, "number"),
                      ([1.0, 2.0], "SparseFloatVector")]:
        err(node.post("entities/insert", {"collectionName": "sp", "data": [{"id": 9, "v": v}]}),
            INSERT_BAD, needle)
    err(search(node, "sp", [{"-5": 1.0}], 3), BAD_JSON, "index")
    err(search(node, "sp", [{"1": 1.0}], 3, searchParams={"drop_ratio_search": 1.5}),
        PARAMETER_INVALID, "drop_ratio_search")
    err(search(node, "sp", ["raw text"], 3), BAD_JSON)  # no BM25 function on this field
    err(create(node, "sp2", [{"fieldName": "id", "dataType": "Int64", "isPrimary": True},
                             {"fieldName": "v", "dataType": "SparseFloatVector"}],
               [{"fieldName": "v", "metricType": "L2", "indexType": "SPARSE_WAND"}]),
        PARAMETER_INVALID, "metric")
    err(create(node, "sp3", [{"fieldName": "id", "dataType": "Int64", "isPrimary": True},
                             {"fieldName": "v", "dataType": "SparseFloatVector"}],
               [{"fieldName": "v", "metricType": "BM25", "indexType": "SPARSE_WAND"}]),
        PARAMETER_INVALID, "BM25")


@pytest.mark.parametrize("index_type", ["SPARSE_INVERTED_INDEX", "SPARSE_WAND"])
def test_sparse_search_matches_bruteforce(node, index_type):
    rng = np.random.default_rng(6)
    n, k = 3000, 10
    docs = gen_sparse(rng, n)
    queries = gen_sparse(rng, 8, max_nnz=8)
    ok(create(node, "ss", [{"fieldName": "id", "dataType": "Int64", "isPrimary": True},
                           {"fieldName": "v", "dataType": "SparseFloatVector"},
                           {"fieldName": "tag", "dataType": "Int32"}],
              [{"fieldName": "v", "indexName": "v", "metricType": "IP", "indexType": index_type}],
              shardsNum=2))
    insert(node, "ss", [{"id": i, "v": as_input(d, "dict" if i % 2 else "iv"), "tag": i % 5}
                        for i, d in enumerate(docs)])

    def check(flt=None, allowed=None):
        data = [as_input(q, "dict" if qi % 2 else "iv") for qi, q in enumerate(queries)]
        r = search(node, "ss", data, k, filter=flt or "")
        assert r.code == 0, r
        pos = 0
        for qi, q in enumerate(queries):
            want, scores = sparse_brute(docs, q, k, allowed)
            got = r.data[pos:pos + r["topks"][qi]]
            pos += r["topks"][qi]
            assert [h["id"] for h in got] == want, (qi, flt)
            for h in got:
                assert abs(h["distance"] - scores[h["id"]]) <= 1e-4 * max(1, scores[h["id"]])

    check()  # growing: exact merges
    ok(node.post("collections/flush", {"collectionName": "ss"}))
    wait_indexed(node, "ss", "v", n)
    check()  # sealed: through the index
    check("tag in [1, 3]", lambda d: d % 5 in (1, 3))
    # deletes are never returned
    ok(node.post("entities/delete", {"collectionName": "ss", "filter": "id < 1500"}))
    check(None, lambda d: d >= 1500)
    # drop_ratio_search drops the query's smallest values: the answer is that of the
    # remaining query
    q = queries[0]
    keep = dict(sorted(q.items(), key=lambda kv: -kv[1])[:len(q) - int(len(q) * 0.5)])
    r = search(node, "ss", [as_input(q, "dict")], k, searchParams={"drop_ratio_search": 0.5})
    assert r.code == 0, r
    assert [h["id"] for h in r.data] == sparse_brute(docs, keep, k, lambda d: d >= 1500)[0]


# ---- BM25 full-text search --------------------------------------------------------------

WORDS = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi "
         "rho sigma tau upsilon phi chi psi omega the a of").split()
K1, B = 1.2, 0.75


def tokens(text, stop=()):
    import re
    return [t for t in re.findall(r"[^\W_]+", text.lower()) if t not in stop]


def bm25_reference(docs, query, stop=()):
    """Scores of the live docs ({id: text}) for a query text: the formula of the issue."""
    toks = {i: tokens(t, stop) for i, t in docs.items()}
    n = len(toks)
    avgdl = sum(len(t) for t in toks.values()) / n
    qcount = {}
    for t in tokens(query, stop):
        qcount[t] = qcount.get(t, 0) + 1
    scores = {}
    for i, dt in toks.items():
        s, shared = 0.0, False
        for t, w in qcount.items():
            tf = dt.count(t)
            if not tf:
                continue
            shared = True
            df = sum(1 for x in toks.values() if t in x)
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            s += w * idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * len(dt) / avgdl))
        if shared:
            scores[i] = s
    return scores


def create_bm25(node, name, index_type="SPARSE_INVERTED_INDEX", analyzer=None, shards=2):
    """id, text (analyzed, matchable), sparse = BM25(text), dense (dim 4)."""
    params = {"max_length": 1000, "enable_analyzer": True, "enable_match": True}
    if analyzer is not None:
        params["analyzer_params"] = analyzer
    return node.post("collections/create", {
        "collectionName": name,
        "schema": {"fields": [
            {"fieldName": "id", "dataType": "Int64", "isPrimary": True},
            {"fieldName": "text", "dataType": "VarChar", "elementTypeParams": params},
            {"fieldName": "sparse", "dataType": "SparseFloatVector"},
            {"fieldName": "dense", "dataType": "FloatVector", "elementTypeParams": {"dim": 4}}],
            "functions": [{"name": "bm25", "type": "BM25", "inputFieldNames": ["text"],
                           "outputFieldNames": ["sparse"], "params": {}}]},
        "indexParams": [
            {"fieldName": "sparse", "indexName": "sparse", "metricType": "BM25",
             "indexType": index_type, "params": {"bm25_k1": K1, "bm25_b": B}},
            {"fieldName": "dense", "indexName": "dense", "metricType": "L2", "indexType": "FLAT"}],
        "params": {"shardsNum": shards}})


def gen_texts(rng, n, start=0):
    return {start + i: " ".join(rng.choice(WORDS, size=int(rng.integers(1, 12))))
            .capitalize() + "." for i in range(n)}


def check_bm25(node, name, docs, queries, k=10, stop=()):
    r = search(node, name, queries, k, annsField="sparse", outputFields=["text"])
    assert r.code == 0, r
    pos = 0
    for qi, q in enumerate(queries):
        ref = bm25_reference(docs, q, stop)
        want = sorted(ref, key=lambda i: (-ref[i], i))[:k]
        got = r.data[pos:pos + r["topks"][qi]]
        pos += r["topks"][qi]
        assert [h["id"] for h in got] == want, (q, got, [(i, ref[i]) for i in want])
        for h in got:
            assert abs(h["distance"] - ref[h["id"]]) <= 1e-4 * max(1, ref[h["id"]]), h
            assert h["text"] == docs[h["id"]]


@pytest.mark.parametrize("index_type", ["SPARSE_INVERTED_INDEX", "SPARSE_WAND"])
def test_bm25_scores_across_segments_deletes_compaction(node, index_type):
    rng = np.random.default_rng(8)
    ok(create_bm25(node, "ft", index_type=index_type))
    desc = ok(node.post("collections/describe", {"collectionName": "ft"}))
    assert desc["functions"][0]["name"] == "bm25" and desc["functions"][0]["type"] == 1
    assert desc["functions"][0]["inputFieldNames"] == ["text"]
    assert [f.get("isFunctionOutput", False) for f in desc["fields"]] == [False, False, True, False]
    docs = gen_texts(rng, 600)
    queries = ["alpha beta", "Omega, OMEGA psi!", "the gamma of delta", "zeta"]

    def put(batch):
        insert(node, "ft", [{"id": i, "text": t, "dense": [0, 0, 0, float(i)]}
                            for i, t in batch.items()])
    put(docs)
    check_bm25(node, "ft", docs, queries)          # growing segments: exact merges
    ok(node.post("collections/flush", {"collectionName": "ft"}))
    wait_indexed(node, "ft", "sparse", len(docs))
    more = gen_texts(rng, 300, start=600)
    put(more)
    docs.update(more)
    check_bm25(node, "ft", docs, queries)          # a sealed segment and a growing one
    ok(node.post("entities/delete", {"collectionName": "ft", "filter": "id < 200"}))
    for i in range(200):
        del docs[i]
    check_bm25(node, "ft", docs, queries)          # statistics without the deleted rows
    upd = {i: "alpha alpha alpha omega" for i in range(600, 620)}
    ok(node.post("entities/upsert", {"collectionName": "ft", "data": [
        {"id": i, "text": t, "dense": [0, 0, 0, 0]} for i, t in upd.items()]}))
    docs.update(upd)
    check_bm25(node, "ft", docs, queries)          # upserts replace their old versions
    ok(node.post("collections/compact", {"collectionName": "ft"}))
    time.sleep(0.5)
    check_bm25(node, "ft", docs, queries)          # compaction purged the dead rows
    node.restart()
    check_bm25(node, "ft", docs, queries)          # rebuilt from segments and the WAL


def test_bm25_function_rules_and_text_match(node):
    rng = np.random.default_rng(9)
    analyzer = {"type": "standard", "stop_words": ["the", "a", "of"]}
    ok(create_bm25(node, "tm", analyzer=analyzer, shards=1))
    docs = gen_texts(rng, 200)
    docs[1000] = "The Quick brown fox"
    docs[1001] = "quick, QUICK! fox-trot"
    insert(node, "tm", [{"id": i, "text": t, "dense": [1, 0, 0, 0]} for i, t in docs.items()])
    check_bm25(node, "tm", docs, ["quick fox", "the alpha"], stop=("the", "a", "of"))
    # the function output is never given, and * leaves it out
    err(node.post("entities/insert", {"collectionName": "tm", "data": [
        {"id": 5000, "text": "x", "sparse": {"1": 1.0}, "dense": [0, 0, 0, 0]}]}),
        INSERT_BAD, "function")
    row = ok(node.post("entities/get", {"collectionName": "tm", "id": 1000,
                                        "outputFields": ["*"]}))[0]
    assert set(row) == {"id", "text", "dense"}
    tf = ok(node.post("entities/get", {"collectionName": "tm", "id": 1001,
                                       "outputFields": ["sparse"]}))[0]["sparse"]
    assert sorted(tf.values()) == [1, 1, 2]   # quick x2, fox, trot
    # text_match: any of the terms, analyzed like the field; minimum_should_match
    for expr, pred in [("text_match(text, 'FOX')", lambda t: "fox" in tokens(t)),
                       ("text_match(text, 'quick omega')",
                        lambda t: {"quick", "omega"} & set(tokens(t))),
                       ("text_match(text, 'quick fox trot', minimum_should_match=3)",
                        lambda t: {"quick", "fox", "trot"} <= set(tokens(t))),
                       ("text_match(text, 'the')", lambda t: False),  # a stop word
                       ("id > 100 and text_match(text, 'alpha')",
                        lambda t, i=None: None)]:
        got = ok(node.post("entities/query", {"collectionName": "tm", "filter": expr,
                                              "outputFields": ["id"], "limit": 1000}))
        if expr.startswith("id > 100"):
            want = {i for i, t in docs.items() if i > 100 and "alpha" in tokens(t)}
        else:
            want = {i for i, t in docs.items() if pred(t)}
        assert {r["id"] for r in got} == want, expr
    # text_match as a search pre-filter
    r = search(node, "tm", ["quick"], 10, annsField="sparse", filter="text_match(text, 'trot')")
    assert r.code == 0 and [h["id"] for h in r.data] == [1001], r
    err(node.post("entities/query", {"collectionName": "tm", "filter": "text_match(id, 'x')"}),
        PARAMETER_INVALID, "VarChar")
    # search by ids is not a BM25 search; a dense query on the BM25 field is refused
    err(search(node, "tm", [[1, 2, 3, 4]], 3, annsField="sparse"), BAD_JSON)
    r = node.post("entities/search", {"collectionName": "tm", "annsField": "sparse",
                                      "ids": [1000], "limit": 3})
    err(r, PARAMETER_INVALID, "BM25")


@pytest.mark.parametrize("fields,functions,indexes,needle", [
    # unknown analyzer
    ([{"fieldName": "text", "dataType": "VarChar",
       "elementTypeParams": {"max_length": 10, "enable_analyzer": True,
                             "analyzer_params": {"type": "klingon"}}}], [], [], "klingon"),
    # BM25 input without enable_analyzer
    ([{"fieldName": "text", "dataType": "VarChar", "elementTypeParams": {"max_length": 10}},
      {"fieldName": "sparse", "dataType": "SparseFloatVector"}],
     [{"name": "f", "type": "BM25", "inputFieldNames": ["text"],
       "outputFieldNames": ["sparse"]}], [], "enable_analyzer"),
    # output of the wrong type
    ([{"fieldName": "text", "dataType": "VarChar",
       "elementTypeParams": {"max_length": 10, "enable_analyzer": True}}],
     [{"name": "f", "type": "BM25", "inputFieldNames": ["text"],
       "outputFieldNames": ["vec"]}], [], "SparseFloatVector"),
    # unknown function type, missing field
    ([], [{"name": "f", "type": "Nope", "inputFieldNames": ["a"], "outputFieldNames": ["b"]}],
     [], "function"),
    ([], [{"name": "f", "type": "BM25", "inputFieldNames": ["zz"], "outputFieldNames": ["vec"]}],
     [], "zz"),
    # BM25 output indexed with IP
    ([{"fieldName": "text", "dataType": "VarChar",
       "elementTypeParams": {"max_length": 10, "enable_analyzer": True}},
      {"fieldName": "sparse", "dataType": "SparseFloatVector"}],
     [{"name": "f", "type": "BM25", "inputFieldNames": ["text"], "outputFieldNames": ["sparse"]}],
     [{"fieldName": "sparse", "metricType": "IP", "indexType": "SPARSE_WAND"}], "BM25"),
])
def test_bm25_schema_errors(node, fields, functions, indexes, needle):
    body = {"collectionName": "bad", "schema": {"fields": [
        {"fieldName": "id", "dataType": "Int64", "isPrimary": True},
        {"fieldName": "vec", "dataType": "FloatVector", "elementTypeParams": {"dim": 2}}] + fields,
        "functions": functions}, "indexParams": indexes}
    err(node.post("collections/create", body), PARAMETER_INVALID, needle)


# ---- hybrid search across types ----------------------------------------------------------

def test_hybrid_across_types(node):
    rng = np.random.default_rng(10)
    n = 400
    r = node.post("collections/create", mixed_vector_collection(
        "hy", half_metric="COSINE", half_index="HNSW", bin_metric="HAMMING"))
    assert r.code == 0, r
    texts = gen_texts(rng, n)
    sparse = gen_sparse(rng, n)
    half = rng.normal(size=(n, 8)).astype(np.float32)
    bins = rng.integers(0, 256, size=(n, 4), dtype=np.uint8)
    insert(node, "hy", [{"id": i, "text": texts[i], "sp": as_input(sparse[i], "dict"),
                         "half": half[i].tolist(), "bin": b64(bins[i])} for i in range(n)])
    subs = [{"data": ["alpha omega"], "annsField": "bm25", "limit": 15},
            {"data": [as_input(gen_sparse(rng, 1, max_nnz=6)[0], "iv")], "annsField": "sp",
             "limit": 15},
            {"data": [rng.normal(size=8).tolist()], "annsField": "half", "limit": 15,
             "filter": "id % 2 == 0"},
            {"data": [b64(bins[7])], "annsField": "bin", "limit": 15}]
    metrics = ["BM25", "IP", "COSINE", "HAMMING"]
    results = []
    for s in subs:
        body = {"collectionName": "hy"}
        body.update(s)
        rr = node.post("entities/search", body)
        assert rr.code == 0, rr
        results.append([(h["id"], h["distance"]) for h in rr.data])
    assert all(results)

    def fused(rerank, limit=8):
        rr = node.post("entities/hybrid_search", {"collectionName": "hy", "search": subs,
                                                  "rerank": rerank, "limit": limit})
        assert rr.code == 0, rr
        return [(h["id"], h["distance"]) for h in rr.data]

    def expect(score_of, limit=8):
        want = {}
        for si, hits in enumerate(results):
            for rank, (i, d) in enumerate(hits, 1):
                want[i] = want.get(i, 0) + score_of(si, rank, d)
        return sorted(want.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]

    def same(got, want):
        assert [i for i, _ in got] == [i for i, _ in want]
        for (_, a), (_, b) in zip(got, want):
            assert abs(a - b) <= 1e-5 * max(1, abs(b))

    same(fused({"strategy": "rrf", "params": {"k": 20}}), expect(lambda si, rank, d: 1 / (20 + rank)))
    norm = {"COSINE": lambda d: (1 + d) / 2, "IP": lambda d: 0.5 + math.atan(d) / math.pi,
            "BM25": lambda d: 2 * math.atan(d) / math.pi,
            "HAMMING": lambda d: 1 - 2 * math.atan(d) / math.pi}
    w = [0.4, 0.1, 0.3, 0.2]
    same(fused({"strategy": "weighted", "params": {"weights": w, "norm_score": True}}),
         expect(lambda si, rank, d: w[si] * norm[metrics[si]](d)))
    # raw scores: only the distance metric (HAMMING) is mapped among mixed metrics
    same(fused({"strategy": "weighted", "params": {"weights": w, "norm_score": False}}),
         expect(lambda si, rank, d: w[si] * (norm["HAMMING"](d) if si == 3 else d)))
