#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# run_all.sh - the whole benchmark suite in one command: every figure beside its baseline
# measured in the same run, one table printed, and bench/RESULTS.md written (machine,
# date, parts, the table, one section per figure, recall check, each part's own table).
#
#   usage: bench/run_all.sh [DURATION_SECONDS=5]
#
# DURATION is the length of one REST measurement (search, filtered, cluster; ingest runs
# get 2 x DURATION). With the default 5 the suite takes about 43 minutes on 2 cores
# (estimates per part are printed as it goes, and the elapsed time of each). Parts, in order:
#   build             quiverd and the bench programs (ninja)
#   data              synthetic 100k/200k x 128 and 50k x 768 (../shared/tools/gen_synth.py,
#                     cached under <build>/bench-data, exact ground truth)
#   ingest            bench/ingest.sh: durable REST ingest, 128/768-d, 1/4 clients, vs the disk
#   search-synth-100k bench/search.sh: 5 index types, REST vs FAISS (and hnswlib)
#   search-mnist      the same on MNIST 9k x 784 (../shared/datasets/mnist-784-t10k)
#   search-synth-200k the same on 200k x 128 (no hnswlib)
#   search-synth768-50k  HNSW and IVF_FLAT on 50k x 768 (no hnswlib)
#   filtered          bench/filtered.sh: 10 % / 1 % filters, HNSW and FLAT vs FAISS flat+selector
#   cluster           bench/cluster.sh: 1 node vs 3 nodes R=1/R=2 on loopback
#   restart           bench/restart.sh: WAL replay, segment load, RSS per million vectors
# (The growing-segment brute-force figure comes from the search parts' FLAT rows.)
# Without ../shared next to the repository the parts needing its data or generator are
# skipped with a message (ingest and restart still run). A failing part is reported in
# RESULTS.md and the run goes on. Exit status: 0; 3 if a part failed or a recall@10 is
# below its sane floor (see bench/results.py); 1 if the report itself could not be made.
# Environment knobs (all of the parts' own knobs pass through, e.g. QV_BENCH_SCALAR_INDEX):
#   QV_BENCH_BUILD    build dir (default <repo>/build-bench; configured if missing)
#   QV_BENCH_PARTS    run only these parts (names above; "search" = every search part)
#   QV_BENCH_QUICK=1  a trial of the whole pipeline: 20k/40k x 128, 5k x 768, 20k restart rows;
#                     its report goes to the run's log dir, never to bench/RESULTS.md
#   QV_BENCH_OUT      where the report goes (default bench/RESULTS.md)
#   QV_BENCH_PLAN=1   print the parts and their estimates, run nothing
# Logs, records and each part's output stay in <build>/bench-results/<date>/.
set -uo pipefail

DUR=${1:-5}
case $DUR in '' | *[!0-9]* | 0) echo "usage: $0 [DURATION_SECONDS>0]" >&2; exit 2 ;; esac
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NAME=run_all.sh
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
QUICK=${QV_BENCH_QUICK:-0}
ONLY=${QV_BENCH_PARTS:-}
RUN=$BUILD/bench-results/$(date -u +%Y%m%d-%H%M%S)
mkdir -p "$RUN" || die "cannot create $RUN"
if [ "$QUICK" = 1 ]; then
    N1=20000 N2=40000 N768=5000 NRESTART=20000 MODE=quick
    OUT=${QV_BENCH_OUT:-$RUN/RESULTS.md}
else
    N1=100000 N2=200000 N768=50000 NRESTART=200000 MODE=full
    OUT=${QV_BENCH_OUT:-$ROOT/bench/RESULTS.md}
fi
RECORDS=$RUN/records
META=$RUN/meta
: >"$RECORDS"
HAVE_SHARED=1
[ -f "$SHARED/tools/gen_synth.py" ] || HAVE_SHARED=0
HAVE_MNIST=1
[ -f "$SHARED/datasets/mnist-784-t10k/mnist9k_base.fvecs" ] || HAVE_MNIST=0

export QV_BENCH_BUILD=$BUILD QV_BENCH_DATA=$DATA QV_BENCH_DIR=$PARENT QV_BENCH_RESULTS=$RECORDS
QV_BENCH_REV=$($PY "$ROOT/bench/results.py" rev 2>/dev/null || echo unknown)
export QV_BENCH_REV

{
    echo "started: $(date -u '+%Y-%m-%d %H:%M')"
    echo "load_start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "duration: $DUR"
    echo "mode: $MODE"
    echo "build_dir: $BUILD"
    echo "data_dir: $PARENT"
} >"$META"
T0=$SECONDS

# ---- parts: name | estimate at DURATION (s) | what | command ------------------------------
wanted() { # part name
    [ -z "$ONLY" ] && return 0
    local w
    for w in $ONLY; do
        [ "$1" = "$w" ] || [[ $1 == "$w"-* ]] && return 0
    done
    return 1
}
# The suite runs twice through suite(): PLAN=1 only adds up the estimates, then for real.
NPART=0
PLAN_LINES=()
TOTAL_PARTS=0
EST_TOTAL=0
EST_DONE=0
run_part() { # name estimate_s what command...
    local name=$1 est=$2 what=$3 rc t
    shift 3
    wanted "$name" || return 0
    if [ "$PLAN" = 1 ]; then
        TOTAL_PARTS=$((TOTAL_PARTS + 1)) EST_TOTAL=$((EST_TOTAL + est))
        PLAN_LINES+=("$(printf '  %-22s %5s s  %s' "$name" "$est" "$what")")
        return 0
    fi
    NPART=$((NPART + 1))
    log ""
    if [ "$MODE" = full ]; then
        log "==> [$NPART/$TOTAL_PARTS] $name: $what (estimated ${est} s; $(((SECONDS - T0) / 60)) min" \
            "elapsed, about $(((EST_TOTAL - EST_DONE + 59) / 60)) min to go)"
    else
        log "==> [$NPART/$TOTAL_PARTS] $name: $what"
        est=-
    fi
    EST_DONE=$((EST_DONE + ${est/-/0}))
    t=$SECONDS
    # a subshell, so that a part's exit (lib.sh's die) ends the part, not the suite
    ("$@") >"$RUN/$name.out" 2> >(tee "$RUN/$name.log" | sed 's/^/    /' >&2)
    rc=$?
    wait # the tee
    log "<== $name: $([ "$rc" = 0 ] && echo ok || echo "FAILED (exit $rc)") in $((SECONDS - t)) s"
    record "part name=$name status=$([ "$rc" = 0 ] && echo ok || echo failed) rc=$rc" \
        "elapsed_s=$((SECONDS - t)) est_s=$est what=${what// /%20} out=$RUN/$name.out log=$RUN/$name.log"
}
skip_part() { # name why
    wanted "$1" || return 0
    if [ "$PLAN" = 1 ]; then
        PLAN_LINES+=("$(printf '  %-22s %5s    skipped: %s' "$1" - "$2")")
        return 0
    fi
    log ""
    log "==> $1: SKIPPED: $2"
    record "part name=$1 status=skipped rc=0 elapsed_s=0 est_s=0 what=${2// /%20}"
    record "note part=$1 skipped: $2"
}

# shellcheck disable=SC2317  # called through run_part
gen_data() {
    local n d dir spec
    for spec in "$N1 128" "$N2 128" "$N768 768"; do
        read -r n d <<<"$spec"
        dir=$DATA/synth-$n
        [ "$d" = 128 ] || dir=$DATA/synth$d-$n
        if [ -f "$dir/synth_groundtruth_dist.fvecs" ]; then
            log "$dir: cached"
            continue
        fi
        log "generating synthetic $n x $d (exact top-100 ground truth) into $dir"
        mkdir -p "$DATA"
        if [ "$d" = 128 ]; then
            "$PY" "$SHARED/tools/gen_synth.py" "$dir.tmp" "$n" 1000 >&2 || return 1
        else
            "$PY" "$ROOT/bench/gen_synth_dim.py" "$dir.tmp" "$n" 1000 "$d" "$SHARED/tools" >&2 || return 1
        fi
        rm -rf "$dir" && mv "$dir.tmp" "$dir" || return 1
    done
}
# shellcheck disable=SC2317  # called through run_part
search_part() { # sets hnswlib(0/1)
    QV_BENCH_SETS=$1 QV_BENCH_HNSWLIB=$2 "$ROOT/bench/search.sh" "$DUR"
}

D=$DUR
suite() {
    run_part build 30 "build quiverd and the bench programs" \
        bench_build quiverd bench/ingest_client bench/disk_baseline bench/search_client bench/faiss_baseline
    if [ "$HAVE_SHARED" = 1 ]; then
        run_part data 40 "synthetic data sets (cached after the first run)" gen_data
    else
        skip_part data "$SHARED/tools/gen_synth.py not found (../shared is absent next to the repository)"
    fi
    run_part ingest $((8 * D + 35)) "durable REST ingest vs raw disk" "$ROOT/bench/ingest.sh" $((2 * D))
    if [ "$HAVE_SHARED" = 1 ]; then
        run_part search-synth-$((N1 / 1000))k $((260 + 54 * D)) "REST search vs FAISS and hnswlib" \
            search_part "synth-$N1" 1
        if [ "$HAVE_MNIST" = 1 ]; then
            run_part search-mnist $((20 + 54 * D)) "REST search vs FAISS and hnswlib, MNIST" \
                search_part mnist 1
        else
            skip_part search-mnist "$SHARED/datasets/mnist-784-t10k not found"
        fi
        run_part search-synth-$((N2 / 1000))k $((480 + 48 * D)) "REST search vs FAISS" \
            search_part "synth-$N2" 0
        run_part search-synth768-$((N768 / 1000))k $((200 + 30 * D)) "REST search vs FAISS, 768-d" \
            search_part "synth768-$N768" 0
        run_part filtered $((60 + 20 * D)) "filtered search vs brute force, scalar indexes" \
            env QV_BENCH_SYNTH_ROWS="$N1" "$ROOT/bench/filtered.sh" "$D"
        run_part cluster $((300 + 9 * D)) "1 node vs 3 nodes on loopback" \
            env QV_BENCH_SYNTH_ROWS="$N1" "$ROOT/bench/cluster.sh" "$D"
    else
        for p in search filtered cluster; do
            skip_part "$p" "$SHARED not found: no synthetic data generator and no MNIST"
        done
    fi
    run_part restart 60 "restart time and resident memory" \
        env QV_BENCH_RESTART_ROWS="$NRESTART" "$ROOT/bench/restart.sh"
}

PLAN=1 suite
[ "$TOTAL_PARTS" -gt 0 ] || die "QV_BENCH_PARTS=\"$ONLY\" matches no part"
log "quiver benchmark suite ($MODE), DURATION $DUR s: $TOTAL_PARTS parts$([ "$MODE" = full ] &&
    echo ", estimated $(((EST_TOTAL + 59) / 60)) min on 2 cores"); results in $OUT, logs in $RUN"
echo "estimate_min: $(((EST_TOTAL + 59) / 60))" >>"$META"
if [ "${QV_BENCH_PLAN:-0}" = 1 ]; then
    printf '%s\n' "${PLAN_LINES[@]}"
    rm -rf "$RUN"
    exit 0
fi
PLAN=0 suite

{
    echo "finished: $(date -u '+%Y-%m-%d %H:%M')"
    echo "load_end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "total: $(((SECONDS - T0) / 60)) min $(((SECONDS - T0) % 60)) s"
} >>"$META"
log ""
log "all parts done in $(((SECONDS - T0) / 60)) min $(((SECONDS - T0) % 60)) s; writing $OUT"
echo
$PY "$ROOT/bench/results.py" "$RECORDS" "$META" "$OUT"
rc=$?
echo
echo "written: $OUT (records and logs: $RUN)"
exit "$rc"
