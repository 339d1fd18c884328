#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# filtered.sh - filtered search: REST search with a scalar filter at 10% and 1% selectivity
# on an HNSW collection, beside brute force over the same filter (a FLAT collection through
# REST, and FAISS IndexFlatL2 in-process with the filter's rows as its ID selector), with
# recall@10 against the exact filtered ground truth; one table.
#
#   usage: bench/filtered.sh [DURATION_SECONDS=5]
#
# Data: synthetic 100k x 128 (../shared/tools/gen_synth.py, cached under <build>/bench-data
# like search.sh's), each row with an Int64 field tag = id % 100. Filters: `tag < 10`
# (10 %) and `tag == 7` (1 %). Exact filtered ground truth: bench/filter_gt.py (faiss
# IndexFlatL2 over the allowed rows, /usr/bin/python3), cached next to the data. One
# quiverd on a fresh data dir; collection fh (HNSW M=16 efConstruction=128, searched at
# ef=64) and ff (FLAT), both loaded through REST; per filter and collection one run of
# nq=1 from 1 keep-alive client for DURATION s (search_client --filter, which also checks
# that every returned row passes the filter); then faiss_baseline --index FLAT --allow
# (single thread) while the server idles; the REST runs are repeated with a scalar index
# on tag. Last, bench_filter: the filter alone over a 1M-row segment in-process, column
# scan vs scalar indexes. About 1.5 min + 8 x DURATION + 12 x DURATION on 2 cores.
#   QV_BENCH_BUILD, QV_BENCH_DATA, QV_BENCH_DIR, QV_BENCH_KEEP   as in search.sh
#   QV_BENCH_SYNTH_ROWS     rows (default 100000)
#   QV_BENCH_SCALAR_INDEX   scalar index created on tag after the runs without one, which
#                           are then repeated with it: STL_SORT (default), INVERTED, BITMAP,
#                           or none (if the server refuses, the error is reported and the
#                           run goes on)
#   QV_BENCH_RESULTS        append "filtered key=value ..." records (bench/run_all.sh)
set -euo pipefail

DUR=${1:-5}
case $DUR in '' | *[!0-9]*) echo "usage: $0 [DURATION_SECONDS]" >&2; exit 2 ;; esac
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NAME=filtered.sh
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
NROWS=${QV_BENCH_SYNTH_ROWS:-100000}
SCALAR=${QV_BENCH_SCALAR_INDEX:-STL_SORT}
[ "$SCALAR" != none ] || SCALAR=
K=10
EF=64
MOD=100
# name|expression|filter_gt.py spec
FILTERS=("tag_lt_10|tag < 10|lt:10" "tag_eq_7|tag == 7|eq:7")

bench_build quiverd bench/search_client bench/faiss_baseline bench/bench_filter
$PY -c 'import numpy, faiss' 2>/dev/null ||
    die "$PY cannot import numpy and faiss (apt-get install python3-numpy python3-faiss)"
SYN=$(synth_data "$NROWS")
BASE=$SYN/synth_base.fvecs
QUERY=$SYN/synth_query.fvecs
GTDIR=$SYN/filters-mod$MOD
specs=()
for f in "${FILTERS[@]}"; do
    IFS='|' read -r fname _ spec <<<"$f"
    [ -f "$GTDIR/${fname}_gt_dist.fvecs" ] || specs+=("$fname:$spec")
done
if [ ${#specs[@]} -gt 0 ]; then
    log "exact filtered ground truth into $GTDIR"
    "$PY" "$ROOT/bench/filter_gt.py" "$BASE" "$QUERY" "$GTDIR.tmp" "$MOD" "${specs[@]}" \
        --tools "$SHARED/tools" >&2 || die "filter_gt.py failed"
    mkdir -p "$GTDIR"
    mv "$GTDIR.tmp"/* "$GTDIR"/
    rmdir "$GTDIR.tmp"
fi

bench_tmpdir filtered-bench
start_server "$TMP/data" --log.level warn
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$(date +%s)

create() { # collection index_type params_json
    post /v2/vectordb/collections/create "{\"collectionName\":\"$1\",\"schema\":{\"fields\":[\
{\"fieldName\":\"id\",\"dataType\":\"Int64\",\"isPrimary\":true},\
{\"fieldName\":\"tag\",\"dataType\":\"Int64\"},{\"fieldName\":\"v\",\"dataType\":\"FloatVector\",\
\"elementTypeParams\":{\"dim\":128}}]},\"indexParams\":[{\"fieldName\":\"v\",\"indexName\":\"v_idx\",\
\"metricType\":\"L2\",\"indexType\":\"$2\",\"params\":$3}]}" >/dev/null
}

SCALAR_STATE=none
scalar_index() { # collection
    local out
    [ -n "$SCALAR" ] || return 0
    if out=$(post_try /v2/vectordb/indexes/create "{\"collectionName\":\"$1\",\"indexParams\":\
[{\"fieldName\":\"tag\",\"indexName\":\"tag_idx\",\"indexType\":\"$SCALAR\"}]}"); then
        SCALAR_STATE=$SCALAR
        wait_index "$1" tag_idx 600 || log "scalar index on $1 not Finished after 600 s; going on"
    else
        SCALAR_STATE=failed
        log "scalar index $SCALAR on $1.tag refused; going on without: $out"
        record "note part=filtered scalar index $SCALAR on tag refused by the server: $out"
    fi
}

ready=()
for c in fh:HNSW:'{"M":16,"efConstruction":128}' ff:FLAT:'{}'; do
    IFS=: read -r coll type params <<<"$c"
    create "$coll" "$type" "$params"
    log "$coll ($type): loading $NROWS rows with tag = id % $MOD"
    t0=$(now)
    "$BUILD/bench/search_client" --load --url "$URL" --collection "$coll" --base "$BASE" \
        --tag-mod "$MOD" >/dev/null || die "load of $coll failed"
    # sealed, as after a bulk load: scalar indexes cover sealed segments
    post /v2/vectordb/collections/flush "{\"collectionName\":\"$coll\"}" >/dev/null
    wait_index "$coll" v_idx || die "index of $coll not built"
    ready+=("$(elapsed "$t0")")
done
log "ready after ${ready[0]} s (HNSW), ${ready[1]} s (FLAT)"

declare -A R
SUSPECT=()
measure() { # phase: R[$fname/$coll/$phase]
    for f in "${FILTERS[@]}"; do
        IFS='|' read -r fname expr _ <<<"$f"
        truth=(--base "$BASE" --gt "$GTDIR/${fname}_gt.ivecs" --gt-dist "$GTDIR/${fname}_gt_dist.fvecs"
            --allow "$GTDIR/${fname}_allow.ivecs")
        for c in fh:'{"ef":64}' ff:'{}'; do
            IFS=: read -r coll params <<<"$c"
            out=$("$BUILD/bench/search_client" --url "$URL" --collection "$coll" --query "$QUERY" \
                "${truth[@]}" --filter "$expr" --nq 1 --k "$K" --clients 1 --seconds "$DUR" \
                --params "$params") || SUSPECT+=("$coll '$expr': $(grep -E 'failed|outside|first error' <<<"$out" |
                tr '\n' ' ')")
            R[$fname/$coll/$1]=$(grep '^result:' <<<"$out") || die "search_client failed: $out"
            log "  $1 $coll '$expr': $(field qps "${R[$fname/$coll/$1]}") q/s, recall $(field recall "${R[$fname/$coll/$1]}")"
        done
    done
}
PHASES=(none)
measure none
if [ -n "$SCALAR" ]; then
    scalar_index fh
    scalar_index ff
    if [ "$SCALAR_STATE" = "$SCALAR" ]; then
        PHASES+=("$SCALAR")
        measure "$SCALAR"
    fi
fi
stop_server TERM

for f in "${FILTERS[@]}"; do
    IFS='|' read -r fname expr _ <<<"$f"
    out=$("$BUILD/bench/faiss_baseline" --base "$BASE" --query "$QUERY" --gt "$GTDIR/${fname}_gt.ivecs" \
        --gt-dist "$GTDIR/${fname}_gt_dist.fvecs" --allow "$GTDIR/${fname}_allow.ivecs" --index FLAT \
        --k "$K" --seconds "$DUR" 2>&1) || die "faiss_baseline failed: $out"
    R[$fname/faiss]=$(grep '^result:.* nq=1 ' <<<"$out")
    R[$fname/rows]=$(($(stat -c %s "$GTDIR/${fname}_allow.ivecs") / 8))
done

# ---- table ----------------------------------------------------------------------------
echo
echo "filtered search, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, synthetic ${NROWS} x 128, tag = id % $MOD," \
    "k=$K, nq=1, 1 client, ${DUR} s per REST run, scalar index on tag: none, then $SCALAR_STATE," \
    "load average before/after: $LOAD0 / $(cut -d' ' -f1-3 /proc/loadavg), total $(($(date +%s) - T_START)) s"
echo "HNSW = REST on an HNSW M=16 efC=128 collection at ef=$EF; FLAT = REST on a FLAT collection (exact);"
echo "faiss = in-process IndexFlatL2 with the filter's rows as ID selector (exact, one thread). QPS = queries/s, p50/p99 ms."
FMT='%-12s %6s %-8s | %7s %13s %7s | %7s %13s %7s | %7s %13s %7s | %8s %8s\n'
# shellcheck disable=SC2059
printf "$FMT" filter sel "scalar" "HNSW" "p50/p99" recall "FLAT" "p50/p99" recall "faiss" "p50/p99" recall "HNSW/fai" "FLAT/fai"
for f in "${FILTERS[@]}"; do
  for ph in "${PHASES[@]}"; do
    IFS='|' read -r fname expr _ <<<"$f"
    line=$(awk -v h="${R[$fname/fh/$ph]}" -v l="${R[$fname/ff/$ph]}" -v f="${R[$fname/faiss]}" -v fmt="$FMT" \
        -v expr="$expr" -v rows="${R[$fname/rows]}" -v n="$NROWS" -v ph="$ph" "$BENCH_AWK"'
        function pp(q, a, b) { return sprintf("%.2f/%.2f", g(q, a), g(q, b)) }
        BEGIN {
            printf fmt, expr, sprintf("%.1f%%", 100 * rows / n), ph,
                num(g(h, "qps"), "%.0f"), pp(h, "p50_ms", "p99_ms"), num(g(h, "recall"), "%.4f"),
                num(g(l, "qps"), "%.0f"), pp(l, "p50_ms", "p99_ms"), num(g(l, "recall"), "%.4f"),
                num(g(f, "qps"), "%.0f"), pp(f, "p50_ms", "p99_ms"), num(g(f, "recall"), "%.4f"),
                ratio(g(h, "qps"), g(f, "qps")), ratio(g(l, "qps"), g(f, "qps"))
        }')
    echo "$line"
    record "$(awk -v h="${R[$fname/fh/$ph]}" -v l="${R[$fname/ff/$ph]}" -v f="${R[$fname/faiss]}" \
        -v name="$fname" -v rows="${R[$fname/rows]}" -v n="$NROWS" -v sc="$ph" -v ef="$EF" "$BENCH_AWK"'
        BEGIN {
            printf "filtered ds=synth-%dk filter=%s rows=%d sel=%.4f scalar_index=%s ef=%d", n / 1000, name,
                rows, rows / n, sc, ef
            printf " hnsw_qps=%.0f hnsw_p50=%s hnsw_p99=%s hnsw_recall=%s hnsw_cpu=%s", g(h, "qps"),
                g(h, "p50_ms"), g(h, "p99_ms"), g(h, "recall"), cpu(h)
            printf " flat_qps=%.0f flat_p50=%s flat_p99=%s flat_recall=%s", g(l, "qps"), g(l, "p50_ms"),
                g(l, "p99_ms"), g(l, "recall")
            printf " faiss_qps=%.0f faiss_p50=%s faiss_p99=%s faiss_recall=%s", g(f, "qps"),
                num(g(f, "p50_ms"), "%.3f"), num(g(f, "p99_ms"), "%.3f"), g(f, "recall")
            bad = g(h, "failed") + g(l, "failed") + g(h, "filter_bad") + g(l, "filter_bad")
            printf " failed=%d r_hnsw=%s r_flat=%s", bad, ratio(g(h, "qps"), g(f, "qps")),
                ratio(g(l, "qps"), g(f, "qps"))
        }')"
  done
done
for s in "${SUSPECT[@]}"; do
    echo "SUSPECT $s"
    record "note part=filtered SUSPECT $s"
done

# ---- the filter alone, in-process: scan vs scalar indexes -------------------------------
echo
out=$("$BUILD/bench/bench_filter" 1000000 "$DUR") || die "bench_filter failed: $out"
grep -v '^result:' <<<"$out"
while read -r line; do
    record "sfilter ${line#result: }"
done < <(grep '^result:' <<<"$out")
