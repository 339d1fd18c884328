#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# cluster.sh - the same data and queries on 1 node and on 3 nodes (R=1 and R=2) on
# loopback, everything through one entry node: search QPS, p50/p99 and recall@10 with 1 and
# 2 clients, and durable ingest vectors/s; one table with the ratio to one node.
#
#   usage: bench/cluster.sh [DURATION_SECONDS=5]
#
# Data: synthetic 100k x 128 from ../shared/tools/gen_synth.py (cached like search.sh's,
# under <build>/bench-data). Collection: 6 shards, HNSW M=16 efConstruction=128, searched
# at ef=64, nq=1. Ingest: bench/ingest_client, 1000-row batches of 128-d vectors, 1 client,
# into a fresh collection of 6 shards without index, for DURATION seconds. Note that the
# three nodes share this machine's cores with each other and with the clients, so the
# 3-node rows measure the protocol's overhead, not a gain in capacity. About
# 3 x (load + index build + 3 x DURATION) seconds: ~6 minutes with DURATION=5 on 2 cores.
#   QV_BENCH_BUILD   build dir (default <repo>/build-bench; configured if missing)
#   QV_BENCH_DATA    dataset cache (default <build>/bench-data)
#   QV_BENCH_DIR     parent of the temp data dirs (default <build>; must not be tmpfs)
#   QV_BENCH_SYNTH_ROWS  rows of the synthetic set (default 100000; e.g. 20000 for a trial)
#   QV_BENCH_SHARED    where ../shared is (its tools/ and datasets/; default next to the repo)
#   QV_BENCH_RESULTS append one machine-readable "cluster key=value ..." record per
#                    configuration to this file (bench/run_all.sh); the table is unchanged
set -euo pipefail

DUR=${1:-5}
case $DUR in '' | *[!0-9]*) echo "usage: $0 [DURATION_SECONDS]" >&2; exit 2 ;; esac
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_AWK=$(<"$ROOT/bench/lib.awk") # awk helpers g, ratio
BUILD=${QV_BENCH_BUILD:-$ROOT/build-bench}
DATA=${QV_BENCH_DATA:-$BUILD/bench-data}
PARENT=${QV_BENCH_DIR:-$BUILD}
SHARED=${QV_BENCH_SHARED:-$ROOT/../shared}
PY=/usr/bin/python3

log() { printf '%s\n' "$*" >&2; }
die() { log "cluster.sh: $*"; exit 1; }

[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" "$ROOT" --wrap-mode=nodownload >/dev/null
ninja -C "$BUILD" quiverd bench/search_client bench/ingest_client >/dev/null || die "build failed"
QUIVERD=$BUILD/quiverd
SEARCH=$BUILD/bench/search_client
INGEST=$BUILD/bench/ingest_client

NROWS=${QV_BENCH_SYNTH_ROWS:-100000}
case $NROWS in '' | *[!0-9]*) die "QV_BENCH_SYNTH_ROWS must be a number" ;; esac
SYN=$DATA/synth-$NROWS
if [ ! -f "$SYN/synth_groundtruth_dist.fvecs" ]; then
    [ -f "$SHARED/tools/gen_synth.py" ] || die "$SHARED/tools/gen_synth.py not found"
    mkdir -p "$DATA"
    "$PY" "$SHARED/tools/gen_synth.py" "$SYN.tmp" "$NROWS" 1000 >&2 || die "gen_synth.py failed"
    rm -rf "$SYN"
    mv "$SYN.tmp" "$SYN"
fi

mkdir -p "$PARENT"
[ "$(stat -f -c %T "$PARENT")" != tmpfs ] || die "$PARENT is tmpfs; set QV_BENCH_DIR to a disk"
TMP=$(mktemp -d "$PARENT/.quiver-cluster-bench.XXXXXX")
PIDS=()
stop_all() {
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    PIDS=()
}
trap 'stop_all; rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
field() { sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" <<<" $2" | head -n 1; }

# Sets ENTRY, the URL of the first node. Not in $(...): the nodes must be this shell's
# children and their PIDs must reach stop_all (a subshell's PIDS would be lost, and the
# nodes left running after the script).
start_nodes() { # n replication
    local n=$1 r=$2 peers="" i ports=()
    for i in $(seq 1 "$n"); do ports+=("$(free_port)"); done
    for i in $(seq 1 "$n"); do peers+="${peers:+,}n$i=http://127.0.0.1:${ports[$((i - 1))]}"; done
    for i in $(seq 1 "$n"); do
        local env=()
        [ "$n" = 1 ] || env=(QUIVER__CLUSTER__PEERS="$peers" QUIVER__CLUSTER__SECRET=bench
            QUIVER__NODE__ID="n$i" QUIVER__CLUSTER__REPLICATION_FACTOR="$r")
        env "${env[@]}" "$QUIVERD" --listen "127.0.0.1:${ports[$((i - 1))]}" \
            --data-dir "$TMP/d$n-$r-$i" --log.level warn >"$TMP/n$n-$r-$i.log" 2>&1 &
        PIDS+=($!)
    done
    for i in $(seq 1 "$n"); do
        for _ in $(seq 1 200); do
            curl -sf -o /dev/null "http://127.0.0.1:${ports[$((i - 1))]}/readyz" && break
            sleep 0.1
        done
    done
    ENTRY=http://127.0.0.1:${ports[0]}
}

post() { # url path json
    local out
    out=$(curl -sS -X POST -H 'Content-Type: application/json' -d "$3" "$1$2")
    case $out in *'"code":0'*) printf '%s' "$out" ;; *) die "POST $2: $out" ;; esac
}

declare -A R
run_config() { # label n r
    local label=$1 url out c
    start_nodes "$2" "$3"
    url=$ENTRY
    post "$url" /v2/vectordb/collections/create '{"collectionName":"b","params":{"shardsNum":6},
"schema":{"fields":[{"fieldName":"id","dataType":"Int64","isPrimary":true},{"fieldName":"v",
"dataType":"FloatVector","elementTypeParams":{"dim":128}}]},"indexParams":[{"fieldName":"v",
"indexName":"v","metricType":"L2","indexType":"HNSW","params":{"M":16,"efConstruction":128}}]}' \
        >/dev/null
    log "$label: loading $NROWS x 128"
    "$SEARCH" --load --url "$url" --collection b --base "$SYN/synth_base.fvecs" >/dev/null ||
        die "load failed"
    until post "$url" /v2/vectordb/indexes/describe '{"collectionName":"b","indexName":"v"}' |
        grep -q '"indexState":"Finished"'; do sleep 0.2; done
    for c in 1 2; do
        out=$("$SEARCH" --url "$url" --collection b --query "$SYN/synth_query.fvecs" \
            --base "$SYN/synth_base.fvecs" --gt "$SYN/synth_groundtruth.ivecs" \
            --gt-dist "$SYN/synth_groundtruth_dist.fvecs" --k 10 --clients "$c" \
            --seconds "$DUR" --params '{"ef":64}' | grep '^result:') || die "search failed"
        R[$label/q$c]=$out
        log "$label: $c clients: $(field qps "$out") q/s, p50 $(field p50_ms "$out") ms"
    done
    post "$url" /v2/vectordb/collections/create '{"collectionName":"ing","dimension":128,
"metricType":"L2","params":{"shardsNum":6}}' >/dev/null
    post "$url" /v2/vectordb/indexes/drop '{"collectionName":"ing","indexName":"vector"}' \
        >/dev/null 2>&1 || true
    out=$("$INGEST" --url "$url" --collection ing --dim 128 --batch 1000 --clients 1 \
        --seconds "$DUR" --id-base 1 | grep '^result:') || die "ingest failed"
    R[$label/ingest]=$out
    log "$label: ingest $(field vectors_per_s "$out") vectors/s"
    stop_all
}

run_config "1 node" 1 1
run_config "3 nodes R=1" 3 1
run_config "3 nodes R=2" 3 2

printf '\nquiverd cluster vs one node, %sk x 128 HNSW M=16 ef=64, nq=1, through one entry node, %s s per cell\n' \
    "$((NROWS / 1000))" "$DUR"
printf '%-12s | %9s %8s %8s %7s | %9s %8s %8s | %9s | %7s %7s\n' config "QPS 1c" "p50 ms" "p99 ms" recall \
    "QPS 2c" "p50 ms" "p99 ms" "ingest/s" "p50 1c" "QPS 2c"
for label in "1 node" "3 nodes R=1" "3 nodes R=2"; do
    awk -v l="$label" -v a="${R[$label/q1]}" -v b="${R[$label/q2]}" -v i="${R[$label/ingest]}" \
        -v a0="${R[1 node/q1]}" -v b0="${R[1 node/q2]}" "$BENCH_AWK"'
    BEGIN {
        printf "%-12s | %9.0f %8.2f %8.2f %7.3f | %9.0f %8.2f %8.2f | %9.0f | %7s %7s\n", l,
            g(a, "qps"), g(a, "p50_ms"), g(a, "p99_ms"), g(a, "recall"),
            g(b, "qps"), g(b, "p50_ms"), g(b, "p99_ms"), g(i, "vectors_per_s"),
            ratio(g(a, "p50_ms"), g(a0, "p50_ms")), ratio(g(b, "qps"), g(b0, "qps"))
    }'
    [ -z "${QV_BENCH_RESULTS:-}" ] || awk -v l="$label" -v a="${R[$label/q1]}" -v b="${R[$label/q2]}" \
        -v i="${R[$label/ingest]}" -v a0="${R[1 node/q1]}" -v b0="${R[1 node/q2]}" \
        -v i0="${R[1 node/ingest]}" -v rows="$NROWS" "$BENCH_AWK"'
    BEGIN {
        gsub(/ /, "_", l)
        printf "cluster config=%s rows=%d qps1=%.0f p50_1=%s p99_1=%s recall=%s cpu1=%s", l, rows,
            g(a, "qps"), g(a, "p50_ms"), g(a, "p99_ms"), g(a, "recall"), cpu(a)
        printf " qps2=%.0f p50_2=%s p99_2=%s cpu2=%s ingest=%.0f", g(b, "qps"), g(b, "p50_ms"),
            g(b, "p99_ms"), cpu(b), g(i, "vectors_per_s")
        printf " r_p50=%s r_qps1=%s r_qps2=%s r_ingest=%s\n", ratio(g(a, "p50_ms"), g(a0, "p50_ms")),
            ratio(g(a, "qps"), g(a0, "qps")), ratio(g(b, "qps"), g(b0, "qps")),
            ratio(g(i, "vectors_per_s"), g(i0, "vectors_per_s"))
    }' >>"$QV_BENCH_RESULTS"
done
printf 'last two columns: 1-client p50 and 2-client QPS relative to one node\n'
