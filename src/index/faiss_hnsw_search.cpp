// SPDX-License-Identifier: Apache-2.0
/* faiss_hnsw_search.cpp - search of a FAISS HNSW graph over Quiver's flat SIMD storage,
 * with the neighbours' vectors prefetched.
 *
 * An HNSW search is bound by memory latency: every neighbour's vector is a cache miss.
 * FAISS 1.7.3 computes the neighbours' distances one by one (its DistanceComputer has no
 * batch call), each waiting for its miss; hnswlib first gathers the unvisited neighbours
 * and prefetches their vectors. This does the same over FAISS's graph (faiss::HNSW:
 * levels, offsets, neighbors, entry point), with the algorithm of the HNSW paper: greedy
 * descent through the upper levels, then a best-first search at level 0 keeping ef
 * results. With a selector, rows outside it are traversed but never returned (as FAISS
 * does). Results are sorted by distance, ties by id. */
#include <faiss/IndexFlat.h>
#include <faiss/impl/IDSelector.h>

#include <algorithm>
#include <limits>
#include <queue>
#include <utility>
#include <vector>

#include "faiss_int.h"

using idx_t = faiss::Index::idx_t;

namespace {

typedef std::pair<float, idx_t> hit; /* distance (smaller is better), id */

/* Visited marks reused across queries of one thread: an epoch per row. */
struct Visited {
    std::vector<uint16_t> mark;
    uint16_t epoch = 0;

    void reset(size_t n)
    {
        if (mark.size() < n)
            mark.assign(n, 0), epoch = 0;
        if (++epoch == 0) {
            std::fill(mark.begin(), mark.end(), 0);
            epoch = 1;
        }
    }
    bool test_and_set(idx_t i)
    {
        bool seen = mark[(size_t)i] == epoch;
        mark[(size_t)i] = epoch;
        return seen;
    }
};

thread_local Visited tl_visited;

struct Searcher {
    const faiss::HNSW &g;
    const float *base;
    size_t d;
    float (*fn)(const float *, const float *, size_t);
    bool negate; /* inner product: smaller -ip is better */
    const float *q;

    float dist(idx_t i) const
    {
        float v = fn(q, base + (size_t)i * d, d);
        return negate ? -v : v;
    }

    void prefetch(idx_t i) const
    {
        const char *p = reinterpret_cast<const char *>(base + (size_t)i * d);
        for (size_t off = 0; off < d * sizeof(float); off += 64)
            __builtin_prefetch(p + off);
    }

    /* Move ep down through level `level` while a neighbour is nearer. */
    void greedy(int level, idx_t &ep, float &dep) const
    {
        for (bool moved = true; moved;) {
            size_t b, e;
            moved = false;
            g.neighbor_range(ep, level, &b, &e);
            for (size_t j = b; j < e && g.neighbors[j] >= 0; j++)
                prefetch(g.neighbors[j]);
            for (size_t j = b; j < e && g.neighbors[j] >= 0; j++) {
                idx_t v = g.neighbors[j];
                float dv = dist(v);
                if (dv < dep) {
                    ep = v, dep = dv, moved = true;
                }
            }
        }
    }

    /* Best-first search at level 0 from ep; the best (at most ef) allowed rows. */
    std::vector<hit> level0(idx_t ep, float dep, size_t ef, const faiss::IDSelector *sel) const
    {
        std::priority_queue<hit, std::vector<hit>, std::greater<hit>> cand; /* nearest on top */
        std::priority_queue<hit> best;                                      /* farthest on top */
        std::vector<idx_t> fresh;

        tl_visited.reset((size_t)g.levels.size());
        tl_visited.test_and_set(ep);
        cand.emplace(dep, ep);
        if (!sel || sel->is_member(ep))
            best.emplace(dep, ep);
        while (!cand.empty()) {
            hit c = cand.top();
            size_t b, e;
            if (best.size() >= ef && c.first > best.top().first)
                break;
            cand.pop();
            fresh.clear();
            g.neighbor_range(c.second, 0, &b, &e);
            for (size_t j = b; j < e && g.neighbors[j] >= 0; j++) {
                idx_t v = g.neighbors[j];
                if (!tl_visited.test_and_set(v)) {
                    fresh.push_back(v);
                    prefetch(v);
                }
            }
            for (idx_t v : fresh) {
                float dv = dist(v);
                if (best.size() >= ef && dv >= best.top().first)
                    continue;
                cand.emplace(dv, v);
                if (sel && !sel->is_member(v))
                    continue;
                best.emplace(dv, v);
                if (best.size() > ef)
                    best.pop();
            }
        }
        std::vector<hit> out;
        out.reserve(best.size());
        for (; !best.empty(); best.pop())
            out.push_back(best.top());
        std::sort(out.begin(), out.end());
        return out;
    }
};

} // namespace

bool index_hnsw_search(const faiss::IndexHNSW *h, idx_t n, const float *x, idx_t k, int ef,
                       const faiss::IDSelector *sel, float *distances, idx_t *labels)
{
    const qv_distance_kernels *kern = index_hnsw_kernels(h);
    auto *flat = dynamic_cast<const faiss::IndexFlat *>(h->storage);

    if (!kern || !flat)
        return false; /* stock storage: FAISS's own search */
    bool ip = h->metric_type == faiss::METRIC_INNER_PRODUCT;
    Searcher s{h->hnsw, flat->get_xb(), (size_t)h->d, ip ? kern->ip : kern->l2sq, ip, nullptr};
    size_t want = (size_t)std::max<idx_t>(k, ef > 0 ? ef : h->hnsw.efSearch);

    for (idx_t qi = 0; qi < n; qi++) {
        std::vector<hit> found;
        float *dq = distances + qi * k;
        idx_t *lq = labels + qi * k;
        s.q = x + qi * h->d;
        if (h->hnsw.entry_point >= 0 && h->ntotal > 0) {
            idx_t ep = h->hnsw.entry_point;
            float dep = s.dist(ep);
            for (int level = h->hnsw.max_level; level > 0; level--)
                s.greedy(level, ep, dep);
            found = s.level0(ep, dep, want, sel);
        }
        for (idx_t j = 0; j < k; j++) {
            bool have = (size_t)j < found.size();
            dq[j] = have ? (ip ? -found[j].first : found[j].first)
                         : (ip ? -std::numeric_limits<float>::max()
                               : std::numeric_limits<float>::max());
            lq[j] = have ? found[j].second : -1;
        }
    }
    return true;
}
