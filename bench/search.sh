#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# search.sh - search benchmark: REST search on quiverd against stock FAISS in-process
# (single thread) and hnswlib in-process (single thread), same data, index type and
# parameters, one table.
#
#   usage: bench/search.sh [DURATION_SECONDS=5]
#
# Datasets: synthetic 100k x 128 from ../shared/tools/gen_synth.py (200k x 128 as well with
# BIG=1), cached under <build>/bench-data; MNIST 9k x 784 from ../shared/datasets (skipped
# with a message when ../shared is absent); on request (QV_BENCH_SETS) synthetic N x 768
# from the same generator (bench/gen_synth_dim.py), searched with HNSW and IVF_FLAT only. One quiverd with a fresh data dir on disk;
# per dataset and index type one collection: load through REST (1000-row batches), wait
# for indexState Finished, search with nq=1 and nq=10 from 1 and 2 keep-alive clients
# for DURATION seconds each, drop it; then faiss_baseline (and hnswlib for HNSW) on the
# same files while the server idles. Grid: HNSW M=16 efConstruction=128 ef 32/64/128;
# IVF_FLAT nlist=1024 nprobe 16/64; IVF_SQ8 nlist=1024 nprobe 32; IVF_PQ nlist=1024 m=16
# nbits=8 nprobe 32; FLAT. MNIST (9k rows) uses nlist=128 and nprobe 2/8 and 4 instead,
# the same fraction of the lists (so do synthetic sets under 50k rows). 768-d sets use ef
# 64/128/256 (recall at ef=64 is far lower there). About 12 minutes with DURATION=5 on 2
# cores (BIG=1 adds about 10). FLAT collections are never sealed here (rows stay in the
# growing segment; checked), so their nq=1 rows are also the growing-segment brute force
# figure. Environment knobs:
#   QV_BENCH_BUILD     build dir (default <repo>/build-bench; configured if missing)
#   QV_BENCH_DATA      dataset cache (default <build>/bench-data)
#   QV_BENCH_DIR       parent of the temp data dir (default <build>; must not be tmpfs)
#   QV_BENCH_INDEXES   default "HNSW IVF_FLAT IVF_SQ8 IVF_PQ FLAT"
#   QV_BENCH_BASE_SECONDS  search time cap per in-process measurement (default DURATION)
#   BIG=1              add synthetic 200k x 128;  QV_BENCH_MNIST=0  skip MNIST
#   QV_BENCH_SETS      the datasets, in order, instead of the above: synth-N (N x 128),
#                      synth768-N (N x 768), mnist; e.g. "synth-100000 mnist synth768-50000"
#   QV_BENCH_HNSWLIB=0 skip the hnswlib columns
#   QV_BENCH_SHARED    where ../shared is (its tools/ and datasets/; default next to the repo)
#   QV_BENCH_RESULTS   append machine-readable records (build, search, growing, note) to
#                      this file for bench/run_all.sh; the printed table is unchanged
#   QV_BENCH_KEEP=1    keep the temp dir (server data and log)
set -euo pipefail

DUR=${1:-5}
case $DUR in '' | *[!0-9]*) echo "usage: $0 [DURATION_SECONDS]" >&2; exit 2 ;; esac
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${QV_BENCH_BUILD:-$ROOT/build-bench}
DATA=${QV_BENCH_DATA:-$BUILD/bench-data}
PARENT=${QV_BENCH_DIR:-$BUILD}
INDEXES=${QV_BENCH_INDEXES:-HNSW IVF_FLAT IVF_SQ8 IVF_PQ FLAT}
BASE_SECONDS=${QV_BENCH_BASE_SECONDS:-$DUR}
SHARED=${QV_BENCH_SHARED:-$ROOT/../shared}
PY=/usr/bin/python3
K=10
HZ=$(getconf CLK_TCK)
T_START=$(date +%s)

log() { printf '%s\n' "$*" >&2; }
die() { log "search.sh: $*"; exit 1; }

# ---- build ----------------------------------------------------------------------------
if [ ! -f "$BUILD/build.ninja" ]; then
    log "configuring $BUILD"
    meson setup "$BUILD" "$ROOT" --wrap-mode=nodownload >/dev/null
fi
ninja -C "$BUILD" quiverd bench/search_client bench/faiss_baseline >/dev/null ||
    die "build failed (if src/ is mid-edit, retry in a minute)"
QUIVERD=$BUILD/quiverd
CLIENT=$BUILD/bench/search_client
FAISS=$BUILD/bench/faiss_baseline
HNSWLIB=$ROOT/bench/hnswlib_baseline.py
HAVE_HNSWLIB=1
if [ "${QV_BENCH_HNSWLIB:-1}" = 0 ]; then
    HAVE_HNSWLIB=0
    log "hnswlib columns skipped (QV_BENCH_HNSWLIB=0)"
elif ! $PY -c 'import hnswlib, numpy' 2>/dev/null; then
    HAVE_HNSWLIB=0
    log "hnswlib columns skipped: $PY cannot import hnswlib and numpy (python3-hnswlib)"
fi
# machine-readable records for bench/run_all.sh (one "<figure> key=value ..." per line)
record() { [ -z "${QV_BENCH_RESULTS:-}" ] || printf '%s\n' "$*" >>"$QV_BENCH_RESULTS"; }

# ---- datasets: name|base|query|gt|gt_dist|nlist|nprobes IVF_FLAT|nprobe SQ8/PQ|efs|indexes --
# (indexes empty: all of QV_BENCH_INDEXES)
DATASETS=()
synth() { # n [dim]
    local n=$1 d=${2:-128} dir name nlist=1024 nprobes="16 64" np1=32 efs="32 64 128" only=""
    dir=$DATA/synth-$n
    name=synth-$((n / 1000))k
    if [ "$d" != 128 ]; then
        dir=$DATA/synth$d-$n name=synth$d-$((n / 1000))k efs="64 128 256" only="HNSW IVF_FLAT"
    fi
    [ "$n" -ge 50000 ] || nlist=128 nprobes="2 8" np1=4 # small sets: MNIST's list fractions
    if [ ! -f "$dir/synth_groundtruth_dist.fvecs" ]; then
        [ -f "$SHARED/tools/gen_synth.py" ] ||
            die "cannot generate synthetic data: $SHARED/tools/gen_synth.py not found"
        log "generating synthetic $n x $d into $dir"
        mkdir -p "$DATA"
        if [ "$d" = 128 ]; then
            "$PY" "$SHARED/tools/gen_synth.py" "$dir.tmp" "$n" 1000 >&2 || die "gen_synth.py failed"
        else
            "$PY" "$ROOT/bench/gen_synth_dim.py" "$dir.tmp" "$n" 1000 "$d" "$SHARED/tools" >&2 ||
                die "gen_synth_dim.py failed"
        fi
        rm -rf "$dir"
        mv "$dir.tmp" "$dir"
    fi
    DATASETS+=("$name|$dir/synth_base.fvecs|$dir/synth_query.fvecs|\
$dir/synth_groundtruth.ivecs|$dir/synth_groundtruth_dist.fvecs|$nlist|$nprobes|$np1|$efs|$only")
}
mnist() {
    local dir=$SHARED/datasets/mnist-784-t10k
    if [ ! -f "$dir/mnist9k_base.fvecs" ]; then
        log "skipping MNIST: $dir not found (../shared is absent next to the repo)"
        record "note part=search skipped MNIST: $dir not found"
        return 0
    fi
    DATASETS+=("mnist-9k|$dir/mnist9k_base.fvecs|$dir/mnist9k_query.fvecs|\
$dir/mnist9k_groundtruth.ivecs|$dir/mnist9k_groundtruth_dist.fvecs|128|2 8|4|32 64 128|")
}
if [ -n "${QV_BENCH_SETS:-}" ]; then
    for set in $QV_BENCH_SETS; do
        case $set in
        synth-[0-9]*) synth "${set#synth-}" ;;
        synth768-[0-9]*) synth "${set#synth768-}" 768 ;;
        mnist) mnist ;;
        *) die "QV_BENCH_SETS: unknown dataset $set (synth-N, synth768-N, mnist)" ;;
        esac
    done
else
    synth 100000
    [ "${BIG:-0}" = 1 ] && synth 200000
    if [ "${QV_BENCH_MNIST:-1}" = 0 ]; then log "skipping MNIST (QV_BENCH_MNIST=0)"; else mnist; fi
fi

# ---- server ---------------------------------------------------------------------------
mkdir -p "$PARENT"
[ "$(stat -f -c %T "$PARENT")" != tmpfs ] || die "$PARENT is tmpfs; set QV_BENCH_DIR to a disk"
TMP=$(mktemp -d "$PARENT/.quiver-search-bench.XXXXXX")
SPID=
cleanup() {
    if [ -n "$SPID" ]; then
        kill -TERM "$SPID" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SPID" 2>/dev/null || true
        wait "$SPID" 2>/dev/null || true
    fi
    if [ "${QV_BENCH_KEEP:-0}" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
"$QUIVERD" --listen "127.0.0.1:$PORT" --data-dir "$TMP/data" --log.level warn >"$TMP/quiverd.log" 2>&1 &
SPID=$!
for _ in $(seq 1 100); do
    curl -sf -o /dev/null "$URL/readyz" && break
    kill -0 "$SPID" 2>/dev/null || { cat "$TMP/quiverd.log" >&2; die "quiverd exited"; }
    sleep 0.1
done
curl -sf -o /dev/null "$URL/readyz" || die "quiverd did not become ready on $URL"

post() { # path json -> body on stdout; fails unless the Milvus code is 0
    local out
    out=$(curl -sS -X POST -H 'Content-Type: application/json' -d "$2" "$URL$1")
    case $out in *'"code":0'*) printf '%s' "$out" ;; *) die "POST $1: $out" ;; esac
}
metric() { curl -s "$URL/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
field() { sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" <<<" $2" | head -n 1; }
now() { date +%s.%N; }
worker_ticks() { # "tid ticks" per HTTP worker thread of the server
    local t
    for t in /proc/"$SPID"/task/*; do
        [ "$(cat "$t/comm" 2>/dev/null)" = MHD-single ] || continue
        echo "$(basename "$t") $(awk '{print $14 + $15}' "$t/stat")"
    done | sort
}
dim_of() { od -An -t d4 -N 4 "$1" | tr -d ' '; }

# index params JSON for the create call
index_params() { # type nlist
    case $1 in
    HNSW) echo '{"M":16,"efConstruction":128}' ;;
    IVF_FLAT | IVF_SQ8) echo "{\"nlist\":$2}" ;;
    IVF_PQ) echo "{\"nlist\":$2,\"m\":16,\"nbits\":8}" ;;
    FLAT) echo '{}' ;;
    esac
}

declare -A R # results: "<key>" -> "result: ..." line
ROWS=()
NOTES=()

run_index() { # ds base query gt gtd nlist "nprobes" nprobe1 type "efs"
    local ds=$1 base=$2 query=$3 gt=$4 gtd=$5 nlist=$6 nprobes=$7 np1=$8 type=$9 efs=${10}
    local coll dim t0 t1 out ins ready bld0 bld1 nb0 nb1 pname vals v nq c line bad w0 growing
    local truth=(--base "$base" --gt "$gt" --gt-dist "$gtd")
    case $type in IVF_SQ8 | IVF_PQ) truth+=(--lossy) ;; esac # quantized distances
    coll=$(tr -c 'a-zA-Z0-9\n' _ <<<"${ds}_$type")
    dim=$(dim_of "$base")
    case $type in
    HNSW) pname=ef vals=$efs ;;
    IVF_FLAT) pname=nprobe vals=$nprobes ;;
    IVF_SQ8 | IVF_PQ) pname=nprobe vals=$np1 ;;
    *) pname=- vals=0 ;;
    esac

    # load and wait for the index
    post /v2/vectordb/collections/create "{\"collectionName\":\"$coll\",\"schema\":{\"fields\":[\
{\"fieldName\":\"id\",\"dataType\":\"Int64\",\"isPrimary\":true},{\"fieldName\":\"v\",\
\"dataType\":\"FloatVector\",\"elementTypeParams\":{\"dim\":$dim}}]},\"indexParams\":[{\"fieldName\":\"v\",\
\"indexName\":\"v_idx\",\"metricType\":\"L2\",\"indexType\":\"$type\",\"params\":$(index_params "$type" "$nlist")}]}" \
        >/dev/null
    bld0=$(metric quiver_index_build_seconds_total)
    nb0=$(metric quiver_index_builds_total)
    log "$ds $type: loading"
    t0=$(now)
    out=$("$CLIENT" --load --url "$URL" --collection "$coll" --base "$base") || die "load failed"
    ins=$(field insert_s "$(grep '^result:' <<<"$out")")
    until post /v2/vectordb/indexes/describe "{\"collectionName\":\"$coll\",\"indexName\":\"v_idx\"}" |
        grep -q '"indexState":"Finished"'; do
        kill -0 "$SPID" 2>/dev/null || die "quiverd died; log: $TMP/quiverd.log"
        sleep 0.1
    done
    t1=$(now)
    ready=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')
    bld1=$(metric quiver_index_build_seconds_total)
    nb1=$(metric quiver_index_builds_total)
    R[$ds/$type/build]="ins=$ins ready=$ready bld=$(awk -v a="$bld0" -v b="$bld1" 'BEGIN {printf "%.1f", b - a}') builds=$((nb1 - nb0))"
    log "$ds $type: ${R[$ds/$type/build]}"
    # the only collection on the server: its unsealed rows are the growing ones
    growing=$(metric 'quiver_segment_rows{state="growing"}')

    # REST search
    for v in $vals; do
        local params='{}'
        [ "$pname" = - ] || params="{\"$pname\":$v}"
        for nq in 1 10; do
            for c in 1 2; do
                bad=0
                w0=$(worker_ticks)
                out=$("$CLIENT" --url "$URL" --collection "$coll" --query "$query" "${truth[@]}" \
                    --nq "$nq" --k "$K" --clients "$c" --seconds "$DUR" --params "$params") ||
                    bad=1
                # HTTP worker threads that did at least 10% of one core's time in this run
                line="$(join <(echo "$w0") <(worker_ticks) | awk -v min="$((DUR * HZ / 10))" \
                    '$3 - $2 >= min {n++} END {print "workers=" n + 0}')"
                line="$(grep '^result:' <<<"$out") $line" || die "search client failed: $out"
                [ "$bad" = 0 ] || NOTES+=("SUSPECT $ds $type $params nq=$nq clients=$c:\
$(sed -n 's/.*\(failed=[0-9]*\).*\(dist_bad=[0-9]* dups=[0-9]* short=[0-9]*\).*/ \1 \2/p' <<<"$line")\
$(sed -n 's/^ *first error:/; first error:/p' <<<"$out")")
                [ "$bad" = 0 ] || record "note part=search ${NOTES[-1]}"
                R[$ds/$type/$v/$nq/q$c]=$line
                log "  $params nq=$nq clients=$c: $(field qps "$line") q/s, recall $(field recall "$line")"
            done
        done
    done
    post /v2/vectordb/collections/drop "{\"collectionName\":\"$coll\"}" >/dev/null

    # in-process baselines on the same files, the server idle
    local common=(--base "$base" --query "$query" --gt "$gt" --gt-dist "$gtd" --k "$K"
        --batch 10 --seconds "$BASE_SECONDS")
    log "$ds $type: faiss in-process"
    local fargs=(--index "$type" --M 16 --efc 128 --nlist "$nlist" --m 16 --nbits 8)
    [ "$pname" = - ] || fargs+=("--$pname" "$(tr ' ' , <<<"$vals")")
    out=$("$FAISS" "${common[@]}" "${fargs[@]}" 2>>"$TMP/baseline.log") ||
        die "faiss_baseline failed: $out $(tail -n 5 "$TMP/baseline.log")"
    while read -r line; do
        v=0
        [ "$pname" = - ] || v=$(field "$pname" "$line")
        R[$ds/$type/$v/$(field nq "$line")/faiss]=$line
    done < <(grep '^result:' <<<"$out")
    if [ "$type" = HNSW ] && [ "$HAVE_HNSWLIB" = 1 ]; then
        log "$ds $type: hnswlib in-process"
        out=$("$PY" "$HNSWLIB" "${common[@]}" --M 16 --efc 128 --ef "$(tr ' ' , <<<"$vals")" \
            2>>"$TMP/baseline.log") || die "hnswlib_baseline failed: $out $(tail -n 5 "$TMP/baseline.log")"
        while read -r line; do
            R[$ds/$type/$(field ef "$line")/$(field nq "$line")/hnswlib]=$line
        done < <(grep '^result:' <<<"$out")
    fi

    # rows
    for v in $vals; do
        for nq in 1 10; do
            table_row "$ds" "$type" "$([ "$pname" = - ] && echo - || echo "$pname=$v")" "$nq" \
                "${R[$ds/$type/build]}" "${R[$ds/$type/$v/$nq/q1]}" "${R[$ds/$type/$v/$nq/q2]}" \
                "${R[$ds/$type/$v/$nq/faiss]:-}" "${R[$ds/$type/$v/$nq/hnswlib]:-}"
        done
    done
    [ "$type" != FLAT ] || flat_note "$ds" "${R[$ds/FLAT/0/1/q1]}" "${R[$ds/FLAT/0/1/q2]}" \
        "${R[$ds/FLAT/0/1/faiss]:-}"
    results "$ds" "$type" "$pname" "$vals" "$(dim_of "$base")" "$(rows_of "$base" "$dim")" \
        "${growing:-}"
}

# Records for run_all.sh: the build, each (params, nq) row, and FLAT's growing-segment row.
results() { # ds type pname "vals" dim rows growing_rows
    local ds=$1 type=$2 pname=$3 vals=$4 v nq f q1 q2 h
    [ -n "${QV_BENCH_RESULTS:-}" ] || return 0
    record "build ds=$ds dim=$5 rows=$6 index=$type $(build_fields "${R[$ds/$type/build]}" \
        "${R[$ds/$type/${vals%% *}/1/faiss]:-}" "${R[$ds/$type/${vals%% *}/1/hnswlib]:-}")"
    for v in $vals; do
        for nq in 1 10; do
            q1=${R[$ds/$type/$v/$nq/q1]} q2=${R[$ds/$type/$v/$nq/q2]}
            f=${R[$ds/$type/$v/$nq/faiss]:-} h=${R[$ds/$type/$v/$nq/hnswlib]:-}
            record "search ds=$ds dim=$5 index=$type params=$([ "$pname" = - ] && echo - ||
                echo "$pname=$v") nq=$nq $(search_fields "$q1" "$q2" "$f" "$h")"
        done
    done
    [ "$type" != FLAT ] || record "growing ds=$ds dim=$5 rows=$6 growing_rows=$7 $(search_fields \
        "${R[$ds/FLAT/0/1/q1]}" "${R[$ds/FLAT/0/1/q2]}" "${R[$ds/FLAT/0/1/faiss]:-}" "")"
}
rows_of() { echo $(($(stat -c %s "$1") / (4 + 4 * $2))); }
build_fields() { # build faiss hnswlib
    awk -v b="$1" -v f="$2" -v h="$3" "$BENCH_AWK"'
        BEGIN {
            printf "ins_s=%s ready_s=%s bld_s=%s builds=%s faiss_s=%s hnswlib_s=%s speedup=%s",
                g(b, "ins"), g(b, "ready"), g(b, "bld"), g(b, "builds"), num(g(f, "build_s"), "%.1f"),
                num(g(h, "build_s"), "%.1f"), ratio(g(f, "build_s"), g(b, "ready"))
        }'
}
search_fields() { # q1 q2 faiss hnswlib
    awk -v q1="$1" -v q2="$2" -v f="$3" -v h="$4" "$BENCH_AWK"'
        BEGIN {
            printf "qps1=%s p50_1=%s p99_1=%s cpu1=%s recall1=%s ", num(g(q1, "qps"), "%.0f"),
                g(q1, "p50_ms"), g(q1, "p99_ms"), cpu(q1), g(q1, "recall")
            printf "qps2=%s p50_2=%s p99_2=%s cpu2=%s recall=%s workers=%s failed=%d ", num(g(q2, "qps"), "%.0f"),
                g(q2, "p50_ms"), g(q2, "p99_ms"), cpu(q2), g(q2, "recall"), g(q2, "workers"),
                g(q1, "failed") + g(q2, "failed") + g(q1, "dist_bad") + g(q2, "dist_bad") + g(q1, "dups") + g(q2, "dups")
            printf "faiss_qps=%s faiss_p50=%s faiss_p99=%s faiss_recall=%s r1=%s r2=%s ",
                num(g(f, "qps"), "%.0f"), num(g(f, "p50_ms"), "%.3f"), num(g(f, "p99_ms"), "%.3f"),
                num(g(f, "recall"), "%.4f"), ratio(g(q1, "qps"), g(f, "qps")), ratio(g(q2, "qps"), g(f, "qps"))
            printf "hnswlib_qps=%s hnswlib_recall=%s rh=%s", num(g(h, "qps"), "%.0f"),
                num(g(h, "recall"), "%.4f"), ratio(g(q2, "qps"), g(h, "qps"))
        }'
}

# awk helpers (g, num, ratio) to prefix awk programs with
BENCH_AWK=$(<"$ROOT/bench/lib.awk")
ROW_FMT='%-10s %-8s %-10s %3s %6s %6s %6s %6s %6s | %8s %8s %3s %11s %11s %6s | %8s %6s %7s | %8s %6s %7s\n'

table_row() { # ds type params nq build q1 q2 faiss hnswlib
    ROWS+=("$(awk -v ds="$1" -v type="$2" -v par="$3" -v nq="$4" -v b="$5" -v q1="$6" -v q2="$7" \
        -v f="$8" -v h="$9" -v fmt="$ROW_FMT" "$BENCH_AWK"'
        BEGIN {
            printf fmt, ds, type, par, nq, g(b, "ins"), g(b, "ready"), g(b, "bld"),
                num(g(f, "build_s"), "%.1f"), num(g(h, "build_s"), "%.1f"),
                num(g(q1, "qps"), "%.0f"), num(g(q2, "qps"), "%.0f"), g(q2, "workers"),
                sprintf("%.2f/%.2f", g(q1, "p50_ms"), g(q1, "p99_ms")),
                sprintf("%.2f/%.2f", g(q2, "p50_ms"), g(q2, "p99_ms")), num(g(q2, "recall"), "%.4f"),
                num(g(f, "qps"), "%.0f"), num(g(f, "recall"), "%.4f"), ratio(g(q2, "qps"), g(f, "qps")),
                num(g(h, "qps"), "%.0f"), num(g(h, "recall"), "%.4f"), ratio(g(q2, "qps"), g(h, "qps"))
        }')")
}

flat_note() { # ds q1 q2 faiss: the growing-segment brute-force comparison
    NOTES+=("$(awk -v ds="$1" -v q1="$2" -v q2="$3" -v f="$4" "$BENCH_AWK"'
        BEGIN {
            printf "brute force %s, nq=1: quiver FLAT (growing-segment exact search) over REST %.0f q/s", ds, g(q1, "qps")
            printf " with 1 client, %.0f with 2; faiss IndexFlatL2 in-process %.0f q/s;", g(q2, "qps"), g(f, "qps")
            printf " ratio %s (1 client), %s (2 clients)", ratio(g(q1, "qps"), g(f, "qps")), ratio(g(q2, "qps"), g(f, "qps"))
        }')")
}

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
for d in "${DATASETS[@]}"; do
    IFS='|' read -r ds base query gt gtd nlist nprobes np1 efs only <<<"$d"
    for type in $INDEXES; do
        [ -z "$only" ] || [[ " $only " == *" $type "* ]] || continue
        run_index "$ds" "$base" "$query" "$gt" "$gtd" "$nlist" "$nprobes" "$np1" "$type" "$efs"
    done
done

# ---- table ----------------------------------------------------------------------------
echo
echo "search, $(date -u '+%Y-%m-%d %H:%M UTC'), $(lscpu | sed -n 's/^Model name: *//p' | head -n 1)," \
    "$(nproc) CPUs, ${DUR} s per REST run, k=$K, load average before/after: $LOAD0 / $(cut -d' ' -f1-3 /proc/loadavg)," \
    "total $(($(date +%s) - T_START)) s"
echo "build s: ins = REST insert time, ready = first insert to indexState Finished, bld = server builder busy time;"
echo "faiss/hnsw = in-process single-threaded build. QPS = queries/s (nq=10: 10 per request); p50/p99 ms per request;"
echo "thr = server HTTP worker threads busy (>= 10% of a core) during the 2-client run; recall = quiver, 2 clients."
# shellcheck disable=SC2059  # the row format is ours
printf "$ROW_FMT" dataset index params nq ins ready bld faiss hnsw "QPS 1c" "QPS 2c" thr "p50/p99 1c" "p50/p99 2c" \
    recall "faiss" recall "2c/fai" hnswlib recall "2c/hnsw"
for r in "${ROWS[@]}"; do echo "$r"; done
for n in "${NOTES[@]}"; do echo "$n"; done
