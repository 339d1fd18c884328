# SPDX-License-Identifier: Apache-2.0
"""Load held: several clients upsert and search a real quiverd for a set time (bench-like:
batches of 100 rows of 64 dims over a fixed key space, top-10 searches with and without a
filter, HNSW index, small seal threshold so seals, index builds and compactions run
throughout). Checks: no request fails, p99 latencies stay bounded, and RSS stays bounded
(the key space is fixed, so memory must level off: dead versions are purged by compaction).

Duration: QV_LOAD_SECONDS (default 8; the soak runs minutes or hours). The figures are
printed: operations, throughput, p50/p99 per kind, RSS at start, a third of the way, max
and end."""
import os
import random
import threading
import time

import requests

DIM = 64
KEYS = 50000
WRITERS = 2
SEARCHERS = 3


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else 0.0


def test_mixed_load_holds(node_factory, capsys):
    seconds = float(os.environ.get("QV_LOAD_SECONDS", "8"))
    node = node_factory("load", flags=["--storage.segment_max_rows", "20000"])
    r = node.post("collections/create", {
        "collectionName": "load", "dimension": DIM, "params": {"shardsNum": 2},
        "indexParams": [{"fieldName": "vector", "indexName": "vector", "metricType": "L2",
                         "indexType": "HNSW", "params": {"M": 8, "efConstruction": 64}}]})
    assert r.code == 0, r
    stop = threading.Event()
    lat = {"upsert": [], "search": [], "filtered": []}
    errors, lock = [], threading.Lock()

    def client(kind, seed):
        rng = random.Random(seed)
        s = requests.Session()
        while not stop.is_set():
            if kind == "upsert":
                base = rng.randrange(0, KEYS - 100)
                body = {"collectionName": "load", "data": [
                    {"id": base + i, "vector": [rng.random() for _ in range(DIM)],
                     "tag": rng.randrange(100)} for i in range(100)]}
                path = "entities/upsert"
            else:
                kind = rng.choice(["search", "filtered"])
                body = {"collectionName": "load", "limit": 10,
                        "data": [[rng.random() for _ in range(DIM)]]}
                if kind == "filtered":
                    body["filter"] = "tag < %d" % rng.randrange(1, 100)
                path = "entities/search"
            t = time.monotonic()
            try:
                r = s.post(node.url + "/v2/vectordb/" + path, json=body, timeout=30).json()
                ok = r.get("code") == 0
            except (requests.RequestException, ValueError) as e:
                ok, r = False, str(e)
            with lock:
                lat[kind].append(time.monotonic() - t)
                if not ok:
                    errors.append((kind, r))

    threads = [threading.Thread(target=client, args=("upsert", i)) for i in range(WRITERS)]
    threads += [threading.Thread(target=client, args=("search", 100 + i))
                for i in range(SEARCHERS)]
    rss = [rss_kib(node.proc.pid)]
    start = time.monotonic()
    for t in threads:
        t.start()
    while time.monotonic() - start < seconds:
        time.sleep(0.5)
        rss.append(rss_kib(node.proc.pid))
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    ops = sum(len(v) for v in lat.values())
    third = rss[len(rss) // 3]
    with capsys.disabled():
        print("\nload held %.0f s: %d operations (%.0f/s), errors %d; p50/p99 ms: upsert "
              "%.1f/%.1f, search %.1f/%.1f, filtered search %.1f/%.1f; RSS MiB: start %.0f, "
              "a third in %.0f, max %.0f, end %.0f"
              % (elapsed, ops, ops / elapsed, len(errors),
                 *(1000 * pct(lat[k], p) for k in ("upsert", "search", "filtered")
                   for p in (0.5, 0.99)),
                 rss[0] / 1024, third / 1024, max(rss) / 1024, rss[-1] / 1024))
    assert not errors, errors[:5]
    assert len(lat["upsert"]) > 10 and len(lat["search"]) > 10
    for k in lat:
        assert pct(lat[k], 0.99) < 2.0, "%s p99 %.2f s" % (k, pct(lat[k], 0.99))
    assert max(rss) - rss[0] < 768 << 10, "RSS grew by %d MiB" % ((max(rss) - rss[0]) >> 10)
    if seconds >= 60:  # long enough to level off: the last two thirds stay near the first
        assert rss[-1] < 1.5 * third + (64 << 10), (third, rss[-1])
