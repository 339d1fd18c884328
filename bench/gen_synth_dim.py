# SPDX-License-Identifier: Apache-2.0
"""gen_synth_dim.py - ../shared/tools/gen_synth.py's data set at another dimension.

gen_synth.py hard-codes d=128. This draws the same kind of set (a mixture of C=1000
overlapping Gaussian clusters of rank r=16 plus noise s=0.3, centre scale 0.6, seed 1234)
with d given, using gen_synth.py's own draw() and vecio's exact_knn (faiss IndexFlatL2,
exact top-100), in the same order of random draws, so the output is deterministic for
given (n, nq, d), and for d=128 identical to gen_synth.py's. It writes the same four files
(synth_base.fvecs, synth_query.fvecs, synth_groundtruth.ivecs, synth_groundtruth_dist.fvecs).

usage: /usr/bin/python3 bench/gen_synth_dim.py <outdir> <n> <nq> <d> [tools_dir]
tools_dir defaults to ../shared/tools next to the repository.
"""
import os
import sys
import time


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    outdir, n, nq, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    tools = sys.argv[5] if len(sys.argv) > 5 else os.path.join(root, "..", "shared", "tools")
    sys.path.insert(0, os.path.abspath(tools))
    import numpy as np
    from gen_synth import draw  # noqa: E402  (the generator's own sampling)
    from vecio import exact_knn, write_fvecs, write_ivecs  # noqa: E402

    # gen_synth.main()'s constants and order of draws, with d as a parameter
    C, r, s, cs, seed = 1000, 16, 0.3, 0.6, 1234
    rng = np.random.default_rng(seed)
    mus = (cs * rng.standard_normal((C, d))).astype(np.float32)
    Ws = (rng.standard_normal((C, r, d)) / np.sqrt(r)).astype(np.float32)
    base = np.concatenate([draw(rng, min(20000, n - i), mus, Ws, s) for i in range(0, n, 20000)])
    query = draw(rng, nq, mus, Ws, s)
    t0 = time.time()
    D, I = exact_knn(base, query, 100)
    print("gt time %.1fs" % (time.time() - t0))
    os.makedirs(outdir, exist_ok=True)
    write_fvecs(os.path.join(outdir, "synth_base.fvecs"), base)
    write_fvecs(os.path.join(outdir, "synth_query.fvecs"), query)
    write_ivecs(os.path.join(outdir, "synth_groundtruth.ivecs"), I)
    write_fvecs(os.path.join(outdir, "synth_groundtruth_dist.fvecs"), D)
    print("base", base.shape, "query", query.shape)


if __name__ == "__main__":
    main()
