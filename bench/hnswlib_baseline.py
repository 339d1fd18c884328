# SPDX-License-Identifier: Apache-2.0
"""hnswlib_baseline.py - in-process hnswlib (Debian's python3-hnswlib) on the data
bench/search.sh serves through quiverd: same M / efConstruction / ef, one thread.

Builds an hnswlib L2 index (timed), then per ef measures single queries (one
knn_query call per query, sequential) and batches of --batch queries per call, like
faiss_baseline: QPS over the summed call times, p50/p99 call latency, ann-benchmarks
recall@k (distance threshold) over the first answer to each query. Each measurement
cycles through the queries until --seconds of search time or --passes passes. The
Python call overhead (a few microseconds per knn_query) is included.

Run with /usr/bin/python3 (the interpreter that sees Debian's numpy and hnswlib):
  hnswlib_baseline.py --base B.fvecs --query Q.fvecs --gt G.ivecs [--gt-dist D.fvecs]
      [--M 16] [--efc 128] [--ef 32,64,128] [--k 10] [--batch 10] [--seconds 3] [--passes 5]
Prints "result: key=value ..." lines with the keys faiss_baseline uses.
"""
import argparse
import sys
import time

import numpy as np

try:
    import hnswlib
except ImportError:
    sys.exit("hnswlib_baseline: python3-hnswlib is not installed for " + sys.executable)


def read_vecs(path, dtype):
    a = np.fromfile(path, dtype=np.int32)
    d = int(a[0])
    return a.reshape(-1, d + 1)[:, 1:].copy().view(dtype)


def hits(base, queries, ids, kth_sq, k):
    """ann-benchmarks knn recall hits: true distance <= k-th true distance + 1e-3."""
    ids = ids[:, :k].astype(np.int64)
    diff = base[ids].astype(np.float64) - queries[:, None, :].astype(np.float64)
    dist = np.sqrt((diff * diff).sum(axis=2))
    thr = np.sqrt(np.maximum(kth_sq.astype(np.float64), 0)) + 1e-3
    return int((dist <= thr[:, None]).sum())


def measure(index, base, query, kth_sq, k, batch, seconds, passes):
    rounds = len(query) // batch
    for w in range(min(rounds, 20)):  # warm-up
        index.knn_query(query[w * batch:(w + 1) * batch], k=k, num_threads=1)
    lat, busy, hit, scored, calls = [], 0.0, 0, 0, 0
    while calls < rounds * passes and (busy < seconds or calls < 1):
        q0 = calls % rounds * batch
        q = query[q0:q0 + batch]
        t0 = time.perf_counter()
        labels, _ = index.knn_query(q, k=k, num_threads=1)
        dt = time.perf_counter() - t0
        lat.append(dt * 1e3)
        busy += dt
        if calls < rounds:
            hit += hits(base, q, labels, kth_sq[q0:q0 + batch], k)
            scored += batch
        calls += 1
    return {"qps": calls * batch / busy, "p50_ms": float(np.percentile(lat, 50)),
            "p99_ms": float(np.percentile(lat, 99)), "recall": hit / float(scored * k),
            "queries": calls * batch}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", required=True)
    ap.add_argument("--query", required=True)
    ap.add_argument("--gt", required=True)
    ap.add_argument("--gt-dist")
    ap.add_argument("--M", type=int, default=16)
    ap.add_argument("--efc", type=int, default=128)
    ap.add_argument("--ef", default="32,64,128")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--passes", type=int, default=5)
    a = ap.parse_args()

    base = read_vecs(a.base, np.float32)
    query = read_vecs(a.query, np.float32)
    gt = read_vecs(a.gt, np.int32)
    if a.gt_dist:
        kth_sq = read_vecs(a.gt_dist, np.float32)[:, a.k - 1]
    else:
        nn = base[gt[:, a.k - 1]].astype(np.float64) - query.astype(np.float64)
        kth_sq = (nn * nn).sum(axis=1)
    n, d = base.shape
    print("hnswlib_baseline: n=%d d=%d nq=%d M=%d efConstruction=%d threads=1"
          % (n, d, len(query), a.M, a.efc), flush=True)

    t0 = time.perf_counter()
    index = hnswlib.Index(space="l2", dim=d)
    index.init_index(max_elements=n, M=a.M, ef_construction=a.efc, random_seed=100)
    index.set_num_threads(1)
    index.add_items(base, np.arange(n), num_threads=1)
    build_s = time.perf_counter() - t0
    print("build %.2f s" % build_s, flush=True)
    for ef in (int(x) for x in a.ef.split(",")):
        index.set_ef(ef)
        for batch in (1, a.batch):
            m = measure(index, base, query, kth_sq, a.k, batch, a.seconds, a.passes)
            print("result: index=hnswlib ef=%d nq=%d build_s=%.3f qps=%.1f p50_ms=%.4f "
                  "p99_ms=%.4f recall=%.4f queries=%d"
                  % (ef, batch, build_s, m["qps"], m["p50_ms"], m["p99_ms"], m["recall"],
                     m["queries"]), flush=True)


if __name__ == "__main__":
    main()
