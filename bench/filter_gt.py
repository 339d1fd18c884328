# SPDX-License-Identifier: Apache-2.0
"""filter_gt.py - exact ground truth of filtered k-NN for bench/filtered.sh.

Rows carry tag = row % mod (what `search_client --load --tag-mod mod` inserts). For each
filter NAME:OP:VALUE (OP one of lt le eq ne ge gt) it writes into outdir
  NAME_allow.ivecs    the rows the filter lets through (one id per record)
  NAME_gt.ivecs       exact top-k ids among those rows (faiss IndexFlatL2 over the subset,
                      ids mapped back to row numbers), squared L2 in NAME_gt_dist.fvecs
and prints "filter NAME rows=N selectivity=S".

usage: /usr/bin/python3 bench/filter_gt.py BASE.fvecs QUERY.fvecs OUTDIR MOD NAME:OP:VALUE...
       [--k 100] [--tools DIR]   (DIR: ../shared/tools next to the repo by default)
"""
import argparse
import os
import sys

import numpy as np

OPS = {"lt": np.less, "le": np.less_equal, "eq": np.equal, "ne": np.not_equal,
       "ge": np.greater_equal, "gt": np.greater}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("query")
    ap.add_argument("outdir")
    ap.add_argument("mod", type=int)
    ap.add_argument("filters", nargs="+")
    ap.add_argument("--k", type=int, default=100)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--tools", default=os.path.join(root, "..", "shared", "tools"))
    a = ap.parse_args()
    sys.path.insert(0, os.path.abspath(a.tools))
    from vecio import exact_knn, read_fvecs, write_fvecs, write_ivecs  # noqa: E402

    base, query = read_fvecs(a.base), read_fvecs(a.query)
    tag = np.arange(base.shape[0], dtype=np.int64) % a.mod
    os.makedirs(a.outdir, exist_ok=True)
    for f in a.filters:
        name, op, value = f.split(":")
        rows = np.nonzero(OPS[op](tag, int(value)))[0]
        if rows.size < a.k:
            sys.exit("filter_gt: %s lets %d rows through, fewer than k=%d" % (name, rows.size, a.k))
        D, I = exact_knn(np.ascontiguousarray(base[rows]), query, a.k)
        write_ivecs(os.path.join(a.outdir, name + "_allow.ivecs"), rows.reshape(-1, 1))
        write_ivecs(os.path.join(a.outdir, name + "_gt.ivecs"), rows[I])
        write_fvecs(os.path.join(a.outdir, name + "_gt_dist.fvecs"), D)
        print("filter %s rows=%d selectivity=%.4f" % (name, rows.size, rows.size / base.shape[0]))


if __name__ == "__main__":
    main()
