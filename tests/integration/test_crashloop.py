# SPDX-License-Identifier: Apache-2.0
"""Crash loop: kill -9 a node every 1-2 s while several clients run a mixed insert /
upsert / delete load (small seal threshold, so seals and compactions happen throughout),
restart it each time, and after every restart check the stored rows against the clients'
log of acknowledged operations.

Each client owns a disjoint key range and writes a fresh version number with every row,
so the expected state of a key is that of its last acknowledged write, possibly replaced
by a write whose answer never came (the kill cut it off: it is in doubt until the next
check, which must find one of those versions). A client whose request failed waits for
the next restart before writing again, so a write in doubt is never overtaken. Anomalies:
  missing      an acknowledged row is gone
  phantom      a version nobody wrote, or a malformed row
  duplicate    a key appears twice
  stale        an older version of the key than the acknowledged one
  resurrected  an acknowledged delete undone
Duration: QV_CRASHLOOP_SECONDS (default 25; the soak runs it for hours). The figures are
printed: kills, operations (acknowledged / in doubt), rows checked, anomalies (must be 0).
"""
import os
import random
import threading
import time

import requests

CLIENTS = 3
KEYS_PER_CLIENT = 1500
SEAL_ROWS = 300
DIM = 4


def vec(ver):
    return [float(ver % 1000), float(ver // 1000 % 1000), 0.5, -1.0]


class Client(threading.Thread):
    """One writer: its own keys, a version counter, and the expected state per key."""

    def __init__(self, node, name, idx, seed, gate):
        super().__init__(daemon=True)
        self.node, self.coll, self.idx, self.gate = node, name, idx, gate
        self.lo = idx * KEYS_PER_CLIENT
        self.rng = random.Random(seed * 100 + idx)
        self.ver = idx * 10**9
        # key -> acknowledged version (None: absent); key -> versions in doubt (None: a
        # delete in doubt); key -> every version ever written
        self.certain = {}
        self.doubt = {}
        self.written = {}
        self.acked = self.failed = 0
        self.history = {}  # key -> [(kind, version, outcome, generation)] for reports
        self.stop = threading.Event()
        self.session = requests.Session()

    def keys(self, n):
        return self.rng.sample(range(self.lo, self.lo + KEYS_PER_CLIENT), n)

    def next_op(self):
        """The next operation: (kind, path, body, effect), effect: key -> version or None."""
        kind = self.rng.choices(["insert", "upsert", "delete", "flush", "compact"],
                                [45, 30, 20, 3, 2])[0]
        if kind in ("flush", "compact"):
            return kind, "collections/" + kind, {"collectionName": self.coll}, {}
        keys = self.keys(self.rng.randint(1, 25))
        if kind == "delete":
            return (kind, "entities/delete",
                    {"collectionName": self.coll, "filter": "id in %s" % keys},
                    {k: None for k in keys})
        rows, effect = [], {}
        for k in keys:
            self.ver += 1
            rows.append({"id": k, "ver": self.ver, "v": vec(self.ver)})
            effect[k] = self.ver
            self.written.setdefault(k, set()).add(self.ver)
        return kind, "entities/" + kind, {"collectionName": self.coll, "data": rows}, effect

    def run(self):
        while not self.stop.is_set():
            generation = self.gate.enter()
            kind, path, body, effect = self.next_op()
            try:
                r = self.session.post(self.node.url + "/v2/vectordb/" + path, json=body,
                                      timeout=10)
                ok = r.json().get("code") == 0
            except (requests.RequestException, ValueError):
                ok = False
            self.record(ok, effect, kind, generation)
            self.gate.leave()
            if not ok:  # in doubt until the next restart's check; never overtaken
                self.gate.wait_generation(generation + 1, self.stop)
                self.session = requests.Session()

    def record(self, ok, effect, kind, generation):
        for k, v in effect.items():
            self.history.setdefault(k, []).append((kind, v, ok, generation))
        if ok:
            self.acked += 1
            for k, v in effect.items():
                self.certain[k] = v
                self.doubt.pop(k, None)
        else:
            self.failed += 1
            for k, v in effect.items():
                self.doubt.setdefault(k, set()).add(v)

    def check(self, got, anomalies):
        """Compare the node's rows of our keys (key -> list of (ver, vector)) and collapse
        the doubt to what was found."""
        for k in range(self.lo, self.lo + KEYS_PER_CLIENT):
            rows = got.get(k, [])
            want = self.certain.get(k)
            allowed = {want} | self.doubt.get(k, set())
            if len(rows) > 1:
                anomalies.append(("duplicate", k, rows, None, self.history.get(k)))
                continue
            seen = rows[0][0] if rows else None
            if rows and rows[0][1] != vec(seen):
                anomalies.append(("phantom", k, rows, None, self.history.get(k)))
            elif seen not in allowed:
                kind = ("missing" if seen is None else
                        "phantom" if seen not in self.written.get(k, ()) else
                        "resurrected" if want is None else "stale")
                anomalies.append((kind, k, seen, want, self.history.get(k)))
            self.certain[k] = seen
            self.doubt.pop(k, None)


class Gate:
    """Clients write while open; each restart is a new generation."""

    def __init__(self):
        self.cv = threading.Condition()
        self.open = True
        self.generation = 0
        self.busy = 0

    def enter(self):
        """Wait until writes are allowed; count one operation in flight."""
        with self.cv:
            self.cv.wait_for(lambda: self.open)
            self.busy += 1
            return self.generation

    def leave(self):
        with self.cv:
            self.busy -= 1
            self.cv.notify_all()

    def close_and_drain(self):
        """No new operation; wait until those in flight have recorded their outcome."""
        with self.cv:
            self.open = False
            self.cv.wait_for(lambda: self.busy == 0, timeout=60)

    def wait_generation(self, g, stop):
        with self.cv:
            self.cv.wait_for(lambda: self.generation >= g or stop.is_set(), timeout=60)

    def set(self, open_, bump=False):
        with self.cv:
            self.open = open_
            self.generation += bump
            self.cv.notify_all()


def add_counters(node, totals):
    """Add this process's seal, compaction and torn-tail counters (they restart at 0)."""
    m = {l.rsplit(" ", 1)[0]: float(l.rsplit(" ", 1)[1])
         for l in node.get("/metrics").text.splitlines() if l and not l.startswith("#")}
    totals["seals"] += int(m.get("quiver_segment_seals_total", 0))
    totals["compactions"] += int(m.get("quiver_compactions_total", 0))
    totals["torn"] += int(m.get("quiver_wal_torn_tails_repaired_total", 0))


def fetch(node, coll):
    """Every row as key -> [(ver, vector), ...], by key range."""
    got = {}
    step = 2000
    for lo in range(0, CLIENTS * KEYS_PER_CLIENT, step):
        r = node.post("entities/query", {
            "collectionName": coll, "filter": "id >= %d and id < %d" % (lo, lo + step),
            "outputFields": ["id", "ver", "v"], "limit": 16384}, timeout=30)
        assert r.code == 0, r
        for x in r.data:
            got.setdefault(x["id"], []).append((x["ver"], x["v"]))
    return got


def test_crash_loop_keeps_exactly_the_acknowledged_rows(node_factory, capsys):
    seconds = float(os.environ.get("QV_CRASHLOOP_SECONDS", "25"))
    seed = int(os.environ.get("QV_CRASHLOOP_SEED", time.time()))
    rng = random.Random(seed)
    node = node_factory("crashloop", flags=["--storage.segment_max_rows", str(SEAL_ROWS)])
    coll = "crashloop"
    r = node.post("collections/create", {
        "collectionName": coll, "params": {"shardsNum": 2},
        "schema": {"fields": [
            {"fieldName": "id", "dataType": "Int64", "isPrimary": True},
            {"fieldName": "ver", "dataType": "Int64"},
            {"fieldName": "v", "dataType": "FloatVector", "elementTypeParams": {"dim": DIM}}]},
        "indexParams": [{"fieldName": "v", "indexName": "v", "metricType": "L2",
                         "indexType": "HNSW"}]})
    assert r.code == 0, r
    gate = Gate()
    clients = [Client(node, coll, i, seed, gate) for i in range(CLIENTS)]
    for c in clients:
        c.start()
    anomalies, kills, checked = [], 0, 0
    totals = {"seals": 0, "compactions": 0, "torn": 0}
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline and not anomalies:
            time.sleep(rng.uniform(1.0, 2.0))
            add_counters(node, totals)
            node.kill9()
            kills += 1
            gate.close_and_drain()  # no new operation until the check is done
            node.start()
            got = fetch(node, coll)
            for c in clients:
                c.check(got, anomalies)
            checked += sum(len(v) for v in got.values())
            gate.set(True, bump=True)
    finally:
        for c in clients:
            c.stop.set()
        gate.set(True, bump=True)
        for c in clients:
            c.join(timeout=30)
    # a last check after a clean stop and start
    node.restart()
    got = fetch(node, coll)
    for c in clients:
        c.check(got, anomalies)
    add_counters(node, totals)
    acked = sum(c.acked for c in clients)
    failed = sum(c.failed for c in clients)
    with capsys.disabled():
        print("\ncrash loop (seed %d, %.0f s): kills %d, operations %d (acknowledged %d, in "
              "doubt %d), rows checked %d, seals %d, compactions %d, torn WAL tails repaired "
              "%d, anomalies %d" % (seed, seconds, kills, acked + failed, acked, failed, checked,
                                    totals["seals"], totals["compactions"], totals["torn"],
                                    len(anomalies)))
    assert not anomalies, "\n".join(
        "%s key %s: found %s, expected %s; last writes (kind, version, acked, generation): %s"
        % (a[0], a[1], a[2], a[3], (a[4] or [])[-6:]) for a in anomalies[:10])
    assert kills >= 3, "the loop did not get going"
    assert acked > kills, "too few acknowledged operations"
