# SPDX-License-Identifier: Apache-2.0
"""results.py - turn the records of one bench/run_all.sh run into bench/RESULTS.md and one
printed table, and check that every recall figure is sane.

Input: the records file the parts append to (QV_BENCH_RESULTS; one "<figure> key=value ..."
per line, plus "note part=<p> free text" and run_all.sh's "part name=... status=..." lines)
and a meta file of "key: value" lines from run_all.sh (dates, load averages, duration).
Output: the markdown file (header with the machine, the parts with their status and time,
the combined table, one section per figure with its baseline and ratio, recall check,
notes, each part's own printed table) and, on stdout, the combined table.

Recall floors (recall@10, Quiver over REST and the FAISS baseline): FLAT and exact
filtered search 0.99; HNSW at ef >= 64 (and the cluster's HNSW) 0.85; any other ANN
setting 0.50. Where FAISS in-process with the same index and parameters is itself below
the floor, the data set is hard rather than the server broken, and the floor for Quiver
becomes FAISS's recall - 0.05. Exit status: 0, or 3 when a recall is below its floor or a
part failed (the file is written either way).

Only the standard library: runs with any python3 (run_all.sh uses /usr/bin/python3).
usage: results.py RECORDS META OUT.md
       results.py rev          (print the source revision, read from .git without git)
"""
import os
import platform
import re
import subprocess
import sys
from urllib.parse import unquote

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# ---- parsing ------------------------------------------------------------------------------


def parse_records(path):
    recs = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                continue
            kind, _, rest = line.partition(" ")
            if kind == "note":
                m = re.match(r"part=(\S+)\s*(.*)", rest)
                recs.append({"_kind": "note", "part": m.group(1) if m else "?",
                             "text": m.group(2) if m else rest})
                continue
            r = {"_kind": kind}
            for tok in rest.split():
                k, eq, v = tok.partition("=")
                if eq:
                    r[k] = v
            recs.append(r)
    return recs


def parse_meta(path):
    meta = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                k, sep, v = line.rstrip("\n").partition(": ")
                if sep:
                    meta[k] = v
    return meta


def fnum(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def fmt(v, spec="{:.0f}"):
    x = fnum(v)
    return "-" if x is None else spec.format(x)


def ratio(a, b):
    x, y = fnum(a), fnum(b)
    return "-" if x is None or not y else "%.2f×" % (x / y)


def ms_pair(r, a, b):
    x, y = fnum(r.get(a)), fnum(r.get(b))
    return "-" if x is None or y is None else "%.2f/%.2f" % (x, y)


def thousands(v):
    x = fnum(v)
    return "-" if x is None else "{:,.0f}".format(x)


# ---- machine ------------------------------------------------------------------------------


def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def git_revision():
    """HEAD's commit read from .git directly (no git command is run)."""
    gitdir = os.path.join(ROOT, ".git")
    try:
        if os.path.isfile(gitdir):
            with open(gitdir) as f:
                gitdir = os.path.join(ROOT, f.read().split("gitdir:", 1)[1].strip())
        with open(os.path.join(gitdir, "HEAD")) as f:
            head = f.read().strip()
        if not head.startswith("ref:"):
            return head[:12] + " (detached)"
        ref = head[4:].strip()
        path = os.path.join(gitdir, ref)
        if os.path.exists(path):
            with open(path) as f:
                return "%s (%s)" % (f.read().strip()[:12], ref.rsplit("/", 1)[-1])
        with open(os.path.join(gitdir, "packed-refs")) as f:
            for line in f:
                if line.strip().endswith(" " + ref):
                    return "%s (%s)" % (line.split()[0][:12], ref.rsplit("/", 1)[-1])
    except (OSError, IndexError):
        pass
    return "unknown"


def machine(meta):
    cpu, flags = "unknown", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and cpu == "unknown":
                    cpu = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    avx512 = sorted(f for f in flags if f.startswith("avx512"))
    mem = "unknown"
    try:
        with open("/proc/meminfo") as f:
            kb = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
            mem = "%.1f GiB" % (kb / 1048576)
    except (OSError, StopIteration, ValueError):
        pass
    lscpu = {}
    for line in sh("lscpu").splitlines():
        k, _, v = line.partition(":")
        lscpu[k.strip()] = v.strip()
    topo = "%s socket(s) × %s core(s) × %s thread(s)" % (
        lscpu.get("Socket(s)", "?"), lscpu.get("Core(s) per socket", "?"),
        lscpu.get("Thread(s) per core", "?"))
    vm, ct = sh("systemd-detect-virt", "--vm"), sh("systemd-detect-virt", "--container")
    where = []
    if vm and vm != "none":
        where.append("%s guest" % (lscpu.get("Hypervisor vendor") or vm))
    if ct and ct != "none":
        where.append("in a %s container" % ct)
    data_dir = meta.get("data_dir", ROOT)
    df = sh("df", "-PT", data_dir).splitlines()
    disk = "unknown"
    if len(df) > 1:
        dev, fstype = df[1].split()[0], df[1].split()[1]
        base = os.path.basename(dev)
        rot = None
        for cand in (base, re.sub(r"p?\d+$", "", base)):
            p = "/sys/block/%s/queue/rotational" % cand
            if os.path.exists(p):
                with open(p) as f:
                    rot = f.read().strip()
                break
        kind = {"0": "non-rotational", "1": "rotational"}.get(rot, "")
        size = sh("lsblk", "-dno", "SIZE,MODEL", dev).strip()
        disk = "%s (%s%s%s), data dir under %s" % (dev, fstype, ", " + " ".join(size.split()) if size else "",
                                                  ", kernel says " + kind if kind else "", data_dir)
    debian = "-"
    try:
        with open("/etc/debian_version") as f:
            debian = f.read().strip()
    except OSError:
        pass
    buildtype = "-"
    try:
        import json
        opts = json.load(open(os.path.join(meta.get("build_dir", ""), "meson-info",
                                           "intro-buildoptions.json")))
        buildtype = next(o["value"] for o in opts if o["name"] == "buildtype")
    except (OSError, ValueError, StopIteration, KeyError):
        pass
    return [
        ("CPU", "%s, %s logical CPUs (%s; %s)" % (cpu, os.cpu_count(), topo,
                                                 ", ".join(where) if where else "bare metal")),
        ("SIMD", "AVX2 %s; AVX-512 %s" % ("yes" if "avx2" in flags else "no",
                                           ("yes (" + " ".join(avx512) + ")") if avx512 else "no")),
        ("RAM", mem),
        ("disk / filesystem", disk),
        ("kernel", platform.release()),
        ("Debian", debian),
        ("source", git_revision() + " (read from .git; uncommitted changes not detected)"),
        ("quiverd build", "%s, build dir %s" % (buildtype, meta.get("build_dir", "-"))),
        ("load average (1/5/15 min)", "start %s; end %s" % (meta.get("load_start", "-"),
                                                           meta.get("load_end", "-"))),
    ]


# ---- recall check -------------------------------------------------------------------------


def base_floor(index, params):
    if index in ("FLAT", "FLAT_FILTERED"):
        return 0.99
    if index == "HNSW":
        m = re.match(r"ef=(\d+)", params or "")
        return 0.85 if m and int(m.group(1)) >= 64 else 0.50
    return 0.50


def recall_checks(recs):
    """[(what, recall, floor, ok)] for every recall figure of the run."""
    out = []

    def check(what, value, floor):
        x = fnum(value)
        if x is None or x < 0:
            return
        out.append((what, x, floor, x >= floor))

    for r in recs:
        k = r["_kind"]
        if k == "search":
            floor = base_floor(r.get("index"), r.get("params"))
            what = "%s %s %s nq=%s" % (r.get("ds"), r.get("index"), r.get("params"), r.get("nq"))
            fr = fnum(r.get("faiss_recall"))
            check("FAISS " + what, fr, floor if r.get("index") == "FLAT" else 0.0)
            qfloor = floor
            if fr is not None and fr < floor and r.get("index") != "FLAT":
                qfloor = round(fr - 0.05, 4)
            check("Quiver 1 client " + what, r.get("recall1"), qfloor)
            check("Quiver 2 clients " + what, r.get("recall"), qfloor)
        elif k == "filtered":
            what = "%s filter %s" % (r.get("ds"), r.get("filter"))
            check("Quiver HNSW ef=%s %s" % (r.get("ef"), what), r.get("hnsw_recall"),
                  base_floor("HNSW", "ef=" + r.get("ef", "0")))
            check("Quiver FLAT " + what, r.get("flat_recall"), 0.99)
            check("FAISS flat + ID selector " + what, r.get("faiss_recall"), 0.99)
        elif k == "cluster":
            check("cluster %s HNSW ef=64" % r.get("config", "").replace("_", " "), r.get("recall"),
                  0.85)
    return out


# ---- figures: (section title, intro, columns, summary row) ---------------------------------


def ingest_rows(recs):
    head = ["dim", "clients", "index", "vectors/s", "req/s", "WAL MB/s", "p50 ms", "p99 ms",
            "client CPU", "server CPU", "disk: 1 MiB write+fdatasync MB/s", "4 KiB fdatasync/s",
            "seq write MB/s", "WAL ÷ 1 MiB fdatasync", "req/s ÷ fdatasync/s"]
    rows, summ = [], []
    for r in recs:
        rows.append([r.get("dim"), r.get("clients"), r.get("index"), thousands(r.get("vps")),
                     fmt(r.get("req_s"), "{:.1f}"), fmt(r.get("wal_mb_s"), "{:.1f}"),
                     fmt(r.get("p50_ms"), "{:.2f}"), fmt(r.get("p99_ms"), "{:.2f}"),
                     fmt(r.get("cli_cpu")) + "%", fmt(r.get("srv_cpu")) + "%",
                     fmt(r.get("sync1m_mb_s"), "{:.1f}"), fmt(r.get("sync_per_s")),
                     fmt(r.get("seq_mb_s")), r.get("wal_vs_sync1m", "-"), r.get("req_vs_fsync", "-")])
        summ.append(("ingest (durable, REST)", "%s-d, %s client(s)" % (r.get("dim"), r.get("clients")),
                     "%s vectors/s, WAL %s MB/s" % (thousands(r.get("vps")), fmt(r.get("wal_mb_s"), "{:.1f}")),
                     "disk: %s MB/s as 1 MiB write+fdatasync, %s fdatasync/s" % (
                         fmt(r.get("sync1m_mb_s")), fmt(r.get("sync_per_s"))),
                     "%s (WAL)" % r.get("wal_vs_sync1m", "-")))
    return head, rows, summ


def build_rows(recs):
    head = ["dataset", "rows × dim", "index", "REST insert s", "ready s", "builder busy s",
            "FAISS build s", "FAISS ÷ ready", "hnswlib build s"]
    rows, summ = [], []
    for r in recs:
        shape = "%s × %s" % (thousands(r.get("rows")), r.get("dim"))
        if r.get("index") == "FLAT":  # nothing to build on either side
            r = dict(r, speedup="-")
        rows.append([r.get("ds"), shape, r.get("index"), r.get("ins_s"), r.get("ready_s"), r.get("bld_s"),
                     r.get("faiss_s"), r.get("speedup", "-"), r.get("hnswlib_s", "-")])
        summ.append(("index build", "%s %s" % (r.get("ds"), r.get("index")),
                     "ready %s s after the first insert" % r.get("ready_s"),
                     "FAISS in-process build %s s" % r.get("faiss_s"),
                     "%s (FAISS s ÷ Quiver s)" % r.get("speedup", "-")))
    return head, rows, summ


def search_rows(recs):
    head = ["dataset", "index", "params", "nq", "QPS 1c", "p50/p99 ms 1c", "QPS 2c", "p50/p99 ms 2c",
            "recall@10", "client CPU 1c/2c", "FAISS QPS", "FAISS p50/p99 ms", "FAISS recall",
            "1c ÷ FAISS", "2c ÷ FAISS", "hnswlib QPS (recall)", "2c ÷ hnswlib"]
    rows, summ = [], []
    for r in recs:
        h = "-" if r.get("hnswlib_qps", "-") == "-" else "%s (%s)" % (r["hnswlib_qps"], r.get("hnswlib_recall"))
        rows.append([r.get("ds"), r.get("index"), r.get("params"), r.get("nq"), r.get("qps1"),
                     ms_pair(r, "p50_1", "p99_1"), r.get("qps2"), ms_pair(r, "p50_2", "p99_2"),
                     fmt(r.get("recall"), "{:.4f}"), "%s%%/%s%%" % (r.get("cpu1"), r.get("cpu2")),
                     r.get("faiss_qps"), ms_pair(r, "faiss_p50", "faiss_p99"), r.get("faiss_recall"),
                     r.get("r1"), r.get("r2"), h, r.get("rh", "-")])
        summ.append(("search (REST vs FAISS)", "%s %s %s nq=%s" % (r.get("ds"), r.get("index"),
                                                                 r.get("params"), r.get("nq")),
                     "%s / %s q/s (1c/2c), p99 %s ms, recall %s" % (
                         r.get("qps1"), r.get("qps2"), fmt(r.get("p99_1"), "{:.2f}"),
                         fmt(r.get("recall"), "{:.4f}")),
                     "FAISS %s q/s, recall %s" % (r.get("faiss_qps"), r.get("faiss_recall")),
                     "%s / %s" % (r.get("r1"), r.get("r2"))))
    return head, rows, summ


def filtered_rows(recs):
    head = ["dataset", "filter", "selectivity", "scalar index", "HNSW QPS", "HNSW p50/p99 ms",
            "HNSW recall", "client CPU", "FLAT QPS", "FLAT p50/p99 ms", "FLAT recall", "FAISS flat+selector QPS",
            "FAISS p50/p99 ms", "FAISS recall", "HNSW ÷ FAISS", "FLAT ÷ FAISS"]
    rows, summ = [], []
    for r in recs:
        flt = r.get("filter", "").replace("_lt_", " < ").replace("_eq_", " == ")
        sel = "%.1f%%" % (100 * fnum(r.get("sel"))) if fnum(r.get("sel")) is not None else "-"
        rows.append([r.get("ds"), "`%s`" % flt, sel, r.get("scalar_index"), r.get("hnsw_qps"),
                     ms_pair(r, "hnsw_p50", "hnsw_p99"), r.get("hnsw_recall"), "%s%%" % r.get("hnsw_cpu"),
                     r.get("flat_qps"),
                     ms_pair(r, "flat_p50", "flat_p99"), r.get("flat_recall"), r.get("faiss_qps"),
                     ms_pair(r, "faiss_p50", "faiss_p99"), r.get("faiss_recall"), r.get("r_hnsw"),
                     r.get("r_flat")])
        summ.append(("filtered search", "%s %s (%s)" % (r.get("ds"), flt, sel),
                     "HNSW %s q/s recall %s; FLAT %s q/s" % (r.get("hnsw_qps"), r.get("hnsw_recall"),
                                                            r.get("flat_qps")),
                     "FAISS flat + ID selector %s q/s" % r.get("faiss_qps"),
                     "%s / %s" % (r.get("r_hnsw"), r.get("r_flat"))))
    # the same filter with and without a scalar index on tag (issue 11's measurement)
    plain = {(r.get("ds"), r.get("filter")): r for r in recs if r.get("scalar_index") == "none"}
    for r in recs:
        base = plain.get((r.get("ds"), r.get("filter")))
        if r.get("scalar_index") in (None, "none") or not base:
            continue
        flt = r.get("filter", "").replace("_lt_", " < ").replace("_eq_", " == ")
        summ.append(("scalar index", "%s `%s`, %s on tag" % (r.get("ds"), flt, r.get("scalar_index")),
                     "HNSW %s / FLAT %s q/s" % (r.get("hnsw_qps"), r.get("flat_qps")),
                     "without: HNSW %s / FLAT %s q/s" % (base.get("hnsw_qps"), base.get("flat_qps")),
                     "%s / %s" % (ratio(r.get("hnsw_qps"), base.get("hnsw_qps")),
                                  ratio(r.get("flat_qps"), base.get("flat_qps")))))
    return head, rows, summ


def sfilter_rows(recs):
    head = ["filter", "rows selected", "of rows", "column scan µs/query", "with scalar indexes µs/query",
            "speedup"]
    rows, summ = [], []
    for r in recs:
        flt = r.get("filter", "").replace("_", " ")
        rows.append(["`%s`" % flt, thousands(r.get("rows")), thousands(r.get("total")),
                     r.get("scan_us"), r.get("index_us"), ratio(r.get("scan_us"), r.get("index_us"))])
        summ.append(("scalar index (filter alone)", "`%s`, %s rows" % (flt, thousands(r.get("total"))),
                     "%s µs with indexes" % r.get("index_us"), "%s µs column scan" % r.get("scan_us"),
                     ratio(r.get("scan_us"), r.get("index_us"))))
    return head, rows, summ


def growing_rows(recs):
    head = ["dataset", "rows (growing)", "QPS 1c", "p50/p99 ms 1c", "QPS 2c", "p50/p99 ms 2c",
            "FAISS IndexFlatL2 QPS", "FAISS p50/p99 ms", "1c ÷ FAISS", "2c ÷ FAISS"]
    rows, summ = [], []
    for r in recs:
        grow = "%s (%s)" % (thousands(r.get("rows")), thousands(r.get("growing_rows")))
        rows.append([r.get("ds"), grow, r.get("qps1"), ms_pair(r, "p50_1", "p99_1"), r.get("qps2"),
                     ms_pair(r, "p50_2", "p99_2"), r.get("faiss_qps"), ms_pair(r, "faiss_p50", "faiss_p99"),
                     r.get("r1"), r.get("r2")])
        summ.append(("growing-segment brute force", "%s, %s growing rows, nq=1" % (
            r.get("ds"), thousands(r.get("growing_rows"))),
            "%s / %s q/s (1c/2c), p50 %s ms" % (r.get("qps1"), r.get("qps2"), fmt(r.get("p50_1"), "{:.2f}")),
            "FAISS flat %s q/s, p50 %s ms" % (r.get("faiss_qps"), fmt(r.get("faiss_p50"), "{:.2f}")),
            "%s / %s" % (r.get("r1"), r.get("r2"))))
    return head, rows, summ


def cluster_rows(recs):
    head = ["configuration", "rows", "QPS 1c", "p50/p99 ms 1c", "recall@10", "QPS 2c", "p50/p99 ms 2c",
            "client CPU 1c/2c", "ingest vectors/s", "p50 1c ÷ 1 node", "QPS 1c ÷ 1 node",
            "QPS 2c ÷ 1 node", "ingest ÷ 1 node"]
    rows, summ = [], []
    for r in recs:
        cfg = r.get("config", "").replace("_", " ")
        rows.append([cfg, thousands(r.get("rows")), r.get("qps1"), ms_pair(r, "p50_1", "p99_1"),
                     r.get("recall"), r.get("qps2"), ms_pair(r, "p50_2", "p99_2"),
                     "%s%%/%s%%" % (r.get("cpu1"), r.get("cpu2")), thousands(r.get("ingest")),
                     r.get("r_p50"), r.get("r_qps1"), r.get("r_qps2"), r.get("r_ingest")])
        if cfg != "1 node":
            summ.append(("cluster (loopback, one entry node)", cfg,
                         "%s q/s 2c, p50/p99 %s ms 1c" % (r.get("qps2"), ms_pair(r, "p50_1", "p99_1")),
                         "1 node (same run)", "QPS 2c %s, p50 %s" % (r.get("r_qps2"), r.get("r_p50"))))
    return head, rows, summ


def restart_rows(recs):
    head = ["after", "rows × dim", "bytes on disk", "ready s", "empty restart s", "rate",
            "cat of the same files", "rate ÷ cat"]
    rows, summ = [], []
    for r in recs:
        what = {"wal": "SIGKILL: WAL replay", "segments": "flush + SIGTERM: segment load"}.get(r.get("phase"))
        unit = r.get("unit", "")
        rows.append([what, "%s × %s" % (thousands(r.get("rows")), r.get("dim")),
                     "%.1f MB" % (fnum(r.get("bytes")) / 1e6) if fnum(r.get("bytes")) else "-",
                     r.get("ready_s"), r.get("empty_s"), "%s %s" % (r.get("rate"), unit),
                     "%s %s" % (r.get("read_rate"), unit), r.get("ratio")])
        summ.append(("restart", what, "ready in %s s, %s %s" % (r.get("ready_s"), r.get("rate"), unit),
                     "cat %s %s (page cache)" % (r.get("read_rate"), unit), r.get("ratio", "-")))
    return head, rows, summ


def memory_rows(recs):
    head = ["rows × dim", "RSS MiB: empty / after ingest / after replay / after segment load",
            "MB per million vectors after ingest", "after replay", "after segment load",
            "raw vectors MB per million", "RSS ÷ raw (ingest / replay / segments)"]
    rows, summ = [], []
    for r in recs:
        rows.append(["%s × %s" % (thousands(r.get("rows")), r.get("dim")),
                     "%s / %s / %s / %s" % (r.get("rss_empty_mb"), r.get("rss_ingest_mb"),
                                            r.get("rss_wal_mb"), r.get("rss_seg_mb")),
                     r.get("per_m_ingest"), r.get("per_m_wal"), r.get("per_m_seg"), r.get("raw_per_m"),
                     "%s / %s / %s" % (r.get("ratio_ingest"), r.get("ratio_wal"), r.get("ratio_seg"))])
        summ.append(("resident memory", "%s-d, after segment load" % r.get("dim"),
                     "%s MB per million vectors" % r.get("per_m_seg"),
                     "raw vectors %s MB per million" % r.get("raw_per_m"), r.get("ratio_seg", "-")))
    return head, rows, summ


FIGURES = [
    ("ingest", "Ingest through REST (durable) vs the raw disk", ingest_rows,
     "`bench/ingest.sh`: 1000-row batches acknowledged after the WAL fdatasync, a fresh server per "
     "run (quick-setup collections, AUTOINDEX). Baseline: `disk_baseline` on the same filesystem in "
     "the same run. Ratios: WAL MB/s ÷ MB/s of 1 MiB write+fdatasync, and requests/s ÷ 4 KiB "
     "fdatasyncs/s (below 1: the disk is not what limits ingest)."),
    ("build", "Index build time vs in-process FAISS", build_rows,
     "`bench/search.sh`: ready = first REST insert to `indexState` Finished (the server builds while "
     "rows arrive); builder busy = `quiver_index_build_seconds_total`. Baseline: `faiss_baseline`, "
     "the same index and parameters built single-threaded over the same libfaiss. FAISS ÷ ready > 1: "
     "Quiver is ready sooner."),
    ("search", "Search through REST vs in-process FAISS", search_rows,
     "`bench/search.sh`: `search_client` (libcurl multi, separate process; its CPU is shown, % of "
     "one core) with 1 and 2 keep-alive clients; nq=10 counts 10 queries per request. Baseline: "
     "`faiss_baseline`, same index, parameters and data, one thread, no HTTP. Ratios are REST QPS ÷ "
     "FAISS QPS at the same nq. HNSW M=16 efConstruction=128; IVF nlist 1024 (128 under 50k rows)."),
    ("filtered", "Filtered search vs brute force", filtered_rows,
     "`bench/filtered.sh`: Int64 field `tag = id % 100`; recall against the exact filtered ground "
     "truth, and every returned row is checked against the filter. Baseline: FAISS IndexFlatL2 "
     "in-process with the filter's rows as its ID selector (exact); FLAT = the same filtered search "
     "through REST on a FLAT collection."),
    ("sfilter", "Scalar indexes: the filter alone, in-process", sfilter_rows,
     "`bench/bench_filter` (run by `bench/filtered.sh`): one sealed segment of 1M rows, `tag = row % "
     "100` with STL_SORT, `city` (1,000 values) with Trie; time per query to decide the selected "
     "rows: `qv_filter_eval` over 4096-row windows reading the columns, vs `qv_filter_pre_compute` "
     "from the indexes and the same windows. Both select the same rows (checked). One thread."),
    ("growing", "Growing-segment brute force vs FAISS flat (single query)", growing_rows,
     "`bench/search.sh`, FLAT collections: rows never sealed (the growing-row count is read from "
     "`quiver_segment_rows{state=\"growing\"}`), so every query is an exact scan of the growing "
     "segment. Baseline: FAISS IndexFlatL2, one thread, nq=1."),
    ("cluster", "Cluster: 1 node vs 3 nodes on loopback", cluster_rows,
     "`bench/cluster.sh`: 6 shards, HNSW ef=64, nq=1, everything through one entry node; all nodes "
     "share this machine's cores with each other and the clients, so 3 nodes measure the protocol's "
     "overhead, not added capacity. Baseline: 1 node in the same run."),
    ("restart", "Restart time", restart_rows,
     "`bench/restart.sh`: collection without index; ready = exec to the first 200 from `/readyz`; "
     "rates divide the bytes by (ready − the restart of the same node with the collection empty). "
     "Baseline: `cat` of the same files, page cache warm as the restart found them."),
    ("memory", "Resident memory per million vectors", memory_rows,
     "`bench/restart.sh`: VmRSS minus the empty server's, per million rows, vs the raw vectors "
     "(rows × dim × 4 bytes)."),
]
# the run_all.sh parts each figure comes from (a part "search" also matches "search-<dataset>")
PART_OF = {"ingest": "ingest", "build": "search", "search": "search", "filtered": "filtered",
           "sfilter": "filtered",
           "growing": "search", "cluster": "cluster", "restart": "restart", "memory": "restart"}


def parts_of(parts, name):
    return [p for p in parts if p.get("name") == name or p.get("name", "").startswith(name + "-")]


# ---- output -------------------------------------------------------------------------------


def md_table(head, rows):
    esc = [[str(c if c not in (None, "") else "-").replace("|", "\\|") for c in r] for r in rows]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(r) + " |" for r in esc]
    return "\n".join(out)


def text_table(head, rows):
    rows = [[str(c if c not in (None, "") else "-") for c in r] for r in rows]
    w = [max(len(head[i]), *(len(r[i]) for r in rows)) if rows else len(head[i]) for i in range(len(head))]
    line = lambda r: "  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip()  # noqa: E731
    return "\n".join([line(head), line(["-" * x for x in w])] + [line(r) for r in rows])


def main():
    if sys.argv[1:] == ["rev"]:
        print(git_revision().split()[0])
        return 0
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    recs, meta, out = parse_records(sys.argv[1]), parse_meta(sys.argv[2]), sys.argv[3]
    parts = [r for r in recs if r["_kind"] == "part"]
    notes = [r for r in recs if r["_kind"] == "note"]
    for r in recs:  # failed requests, wrong distances, duplicates, rows outside the filter
        if r["_kind"] in ("search", "filtered") and (fnum(r.get("failed")) or 0) > 0:
            notes.append({"part": r["_kind"], "text": "%s %s %s nq=%s: %s server check failures "
                          "(failed requests, wrong distances, duplicate ids or rows outside the "
                          "filter; see the part's log)" % (r.get("ds"), r.get("index", ""),
                                                          r.get("params", r.get("filter", "")),
                                                          r.get("nq", "1"), r.get("failed"))})
    for r in recs:  # a FLAT collection sealed during the run is no growing-segment figure
        if r["_kind"] == "growing" and r.get("growing_rows") != r.get("rows"):
            notes.append({"part": "search", "text": "%s: only %s of %s rows were in the growing "
                          "segment during the FLAT run" % (r.get("ds"), r.get("growing_rows"),
                                                            r.get("rows"))})
    failed = [p for p in parts if p.get("status") not in ("ok", "skipped")]
    checks = recall_checks(recs)
    low = [c for c in checks if not c[3]]

    md = ["# Quiver benchmark results", "",
          "Produced by `bench/run_all.sh %s` (%s), %s to %s UTC; total %s. Each figure stands beside "
          "its baseline measured in the same run on the same machine; ratios are Quiver ÷ baseline "
          "unless a column says otherwise." % (meta.get("duration", "?"), meta.get("mode", "full"),
                                               meta.get("started", "?"), meta.get("finished", "?"),
                                               meta.get("total", "?")), "",
          "## Machine", "", md_table(["what", "value"], machine(meta)), "",
          "## Parts", "",
          md_table(["part", "status", "elapsed s", "estimated s", "what"],
                   [[p.get("name"), p.get("status") if p.get("status") in ("ok", "skipped") else
                     "**FAILED** (exit %s)" % p.get("rc"), p.get("elapsed_s"), p.get("est_s"),
                     unquote(p.get("what", ""))] for p in parts]), ""]
    summary = []
    sections = []
    for kind, title, fn, intro in FIGURES:
        rs = [r for r in recs if r["_kind"] == kind]
        mine = parts_of(parts, PART_OF[kind])
        sections += ["## " + title, "", intro, ""]
        for p in mine:
            if p.get("status") == "skipped":
                sections += ["Part `%s` was skipped: %s." % (p.get("name"),
                                                             unquote(p.get("what", ""))), ""]
            elif p.get("status") != "ok":
                sections += ["**Part `%s` FAILED (exit %s)**; its figures are missing or partial "
                             "(see \"Failed parts\" below)." % (p.get("name"), p.get("rc")), ""]
        if not rs:
            why = "no part ran" if not mine else ", ".join(
                "%s %s" % (p.get("name"), "FAILED" if p.get("status") not in ("ok", "skipped")
                           else p.get("status")) for p in mine)
            sections += ["_No figures (%s)._" % why, ""]
            summary.append((title, "-", "no figures (%s)" % why, "-", "-"))
            continue
        head, rows, summ = fn(rs)
        sections += [md_table(head, rows), ""]
        summary += summ
    shead = ["figure", "case", "Quiver", "baseline (same run)", "ratio"]
    md += ["## All figures", "", md_table(shead, summary), ""]
    md += sections
    md += ["## Recall check", "",
           "Floors: FLAT and exact filtered search 0.99; HNSW ef ≥ 64 (and the cluster) 0.85; other "
           "ANN settings 0.50; where FAISS in-process with the same index and parameters is below "
           "the floor, Quiver's floor is FAISS's recall − 0.05.", ""]
    if low:
        md += ["**%d of %d recall figures below their floor:**" % (len(low), len(checks)), ""]
        md += [md_table(["what", "recall@10", "floor"], [[c[0], "%.4f" % c[1], "%.2f" % c[2]] for c in low]), ""]
    else:
        md += ["All %d recall figures are at or above their floors." % len(checks), ""]
    if failed:
        md += ["## Failed parts", ""]
        for p in failed:
            tail = ""
            log = p.get("log")
            if log and os.path.exists(log):
                with open(log, errors="replace") as f:
                    tail = "".join(f.readlines()[-15:])
            md += ["`%s` exited with status %s after %s s. Last lines of its log:" % (
                p.get("name"), p.get("rc"), p.get("elapsed_s")), "", "```", tail.rstrip(), "```", ""]
    if notes:
        md += ["## Notes", ""] + ["* %s: %s" % (n["part"], n["text"]) for n in notes] + [""]
    raw = [p for p in parts if p.get("out") and os.path.exists(p["out"]) and os.path.getsize(p["out"])]
    if raw:
        md += ["## Each part's own table", ""]
        for p in raw:
            with open(p["out"], errors="replace") as f:
                body = f.read().strip()
            md += ["<details><summary>%s</summary>" % p.get("name"), "", "```", body, "```", "",
                   "</details>", ""]
    with open(out + ".tmp", "w", encoding="utf-8") as f:
        f.write("\n".join(md))
    os.replace(out + ".tmp", out)

    print(text_table(shead, summary))
    print()
    for p in failed:
        print("FAILED part %s (exit %s), see %s" % (p.get("name"), p.get("rc"), p.get("log")))
    for c in low:
        print("RECALL BELOW FLOOR: %s: %.4f < %.2f" % c[:3])
    if not low:
        print("recall check: all %d recall figures at or above their floors" % len(checks))
    return 3 if low or failed else 0


if __name__ == "__main__":
    sys.exit(main())
