#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# ingest.sh - durable-ingest benchmark: raw disk figures, then REST inserts of 1000-row
# batches into a fresh quiverd for dim in 128 768 and clients in 1 4, one table.
#
#   usage: bench/ingest.sh [DURATION_SECONDS=10]
#
# Each (dim, clients) run gets its own freshly started quiverd and data dir, so the
# background index build of one run's rows (quick-setup collections have an AUTOINDEX)
# cannot steal CPU from the next run; the disk baseline runs once, first, on the same
# filesystem. Total time is about 4 x DURATION + 30 s. Environment knobs:
#   QV_BENCH_BUILD    build dir (default <repo>/build-bench; configured if missing)
#   QV_BENCH_DIR      where the temp data dir goes (default .; must not be tmpfs)
#   QV_BENCH_INDEX    auto: quick setup (AUTOINDEX, built in the background; default)
#                     none: explicit schema without an index, the write path alone
#   QV_BENCH_DIMS     default "128 768";  QV_BENCH_CLIENTS  default "1 4"
#   QV_BENCH_PERF     1: perf record the server during each run, print threads and top symbols
#   QV_BENCH_KEEP     1: keep the temp dir (data, server logs, perf data)
#   QV_BENCH_RESULTS  append one machine-readable "ingest key=value ..." record per run to
#                     this file (bench/run_all.sh); the printed table is unchanged
#   QV_BENCH_REV      source revision to print (default: git describe)
set -euo pipefail

DUR=${1:-10}
case $DUR in '' | *[!0-9]*) echo "usage: $0 [DURATION_SECONDS]" >&2; exit 2 ;; esac
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_AWK=$(<"$ROOT/bench/lib.awk") # awk helpers g, ratio
BUILD=${QV_BENCH_BUILD:-$ROOT/build-bench}
PARENT=${QV_BENCH_DIR:-.}
INDEX=${QV_BENCH_INDEX:-auto}
DIMS=${QV_BENCH_DIMS:-128 768}
CLIENTS=${QV_BENCH_CLIENTS:-1 4}
PERF=${QV_BENCH_PERF:-0}
BATCH=1000
HZ=$(getconf CLK_TCK)

log() { printf '%s\n' "$*" >&2; }
die() { log "ingest.sh: $*"; exit 1; }

# ---- build ----------------------------------------------------------------------------
if [ ! -f "$BUILD/build.ninja" ]; then
    log "configuring $BUILD"
    meson setup "$BUILD" "$ROOT" --wrap-mode=nodownload >/dev/null
fi
ninja -C "$BUILD" quiverd bench/ingest_client bench/disk_baseline >/dev/null ||
    die "build failed (if src/ is mid-edit, retry in a minute)"
SRC_REV=${QV_BENCH_REV:-$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)}
QUIVERD=$BUILD/quiverd
CLIENT=$BUILD/bench/ingest_client
DISK=$BUILD/bench/disk_baseline

# ---- temp dir on the disk under PARENT -------------------------------------------------
[ "$(stat -f -c %T "$PARENT")" != tmpfs ] || die "$PARENT is tmpfs; set QV_BENCH_DIR to a disk"
TMP=$(mktemp -d "$PARENT/.quiver-ingest-bench.XXXXXX")
TMP=$(cd "$TMP" && pwd)
SPID=
stop_server() {
    [ -n "$SPID" ] || return 0
    kill -TERM "$SPID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$SPID" 2>/dev/null; then # stuck (e.g. in an index build): data is throwaway
        kill -KILL "$SPID" 2>/dev/null || true
    fi
    wait "$SPID" 2>/dev/null || true
    SPID=
}
cleanup() {
    stop_server
    if [ "$PERF" = 1 ] || [ "${QV_BENCH_KEEP:-0}" = 1 ]; then
        log "kept $TMP"
    else
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' \
        2>/dev/null && return
    for _ in $(seq 1 50); do
        local p=$((20000 + RANDOM % 20000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
    die "no free port"
}

start_server() { # $1 = data dir; sets SPID and URL
    local port
    port=$(free_port)
    URL=http://127.0.0.1:$port
    mkdir -p "$1"
    "$QUIVERD" --listen "127.0.0.1:$port" --data-dir "$1" --log.level warn >"$1.log" 2>&1 &
    SPID=$!
    for _ in $(seq 1 100); do
        curl -sf -o /dev/null "$URL/readyz" && return 0
        kill -0 "$SPID" 2>/dev/null || break
        sleep 0.1
    done
    cat "$1.log" >&2
    die "quiverd did not become ready on $URL"
}

post() { # path json -> body on stdout; fails unless the Milvus code is 0
    local out
    out=$(curl -sS -X POST -H 'Content-Type: application/json' -d "$2" "$URL$1")
    case $out in *'"code":0'*) printf '%s' "$out" ;; *) die "POST $1: $out" ;; esac
}

create_collection() { # name dim
    if [ "$INDEX" = none ]; then
        post /v2/vectordb/collections/create "{\"collectionName\":\"$1\",\"schema\":{\"autoId\":false,\
\"fields\":[{\"fieldName\":\"id\",\"dataType\":\"Int64\",\"isPrimary\":true},{\"fieldName\":\"vector\",\
\"dataType\":\"FloatVector\",\"elementTypeParams\":{\"dim\":\"$2\"}}]}}" >/dev/null
    else
        post /v2/vectordb/collections/create \
            "{\"collectionName\":\"$1\",\"dimension\":$2,\"metricType\":\"L2\"}" >/dev/null
    fi
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
thread_ticks() { # "tid comm ticks" per server thread
    local t
    for t in /proc/"$1"/task/*; do
        printf '%s %s %s\n' "${t##*/}" "$(tr ' ' _ <"$t/comm")" "$(awk '{print $14 + $15}' "$t/stat")"
    done 2>/dev/null
}
disk_write_bytes() { awk '$1 == "write_bytes:" {print $2}' "/proc/$1/io"; }

# WAL bytes written: checkpoints delete WAL files behind them, so the directory's growth
# undercounts. Instead every WAL file's size is sampled every 0.2 s while the client runs
# and the largest size seen per file is summed (a file is full long before it can be
# deleted, and a file past its size limit no longer grows).
wal_sizes() { find "$1/collections" -path '*/wal/*' -type f -printf '%p %s\n' 2>/dev/null || true; }
wal_sampler() { # data dir, log file; runs while the log's .run flag exists
    while [ -e "$2.run" ]; do
        wal_sizes "$1" >>"$2"
        sleep 0.2
    done
}
wal_written() { # log file: sum over files of the largest size seen
    awk '{ if ($2 > max[$1]) max[$1] = $2 } END { for (f in max) n += max[f]; printf "%.0f", n }' "$1"
}
field() { sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" <<<" $2" | head -n 1; }
record() { [ -z "${QV_BENCH_RESULTS:-}" ] || printf '%s\n' "$*" >>"$QV_BENCH_RESULTS"; }

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- disk baseline ---------------------------------------------------------------------
log "disk baseline in $TMP (256 MiB sequential, ~3 s of fdatasync loops)"
DISK_OUT=$("$DISK" --dir "$TMP" --mib 256 --sync-seconds 2)
log "$DISK_OUT"
DLINE=$(grep '^result:' <<<"$DISK_OUT")
SEQ_MB=$(field seq_mb_s "$DLINE")
SYNC_S=$(field sync_per_s "$DLINE")
SYNC1M_MB=$(field sync1m_mb_s "$DLINE")

# ---- runs ------------------------------------------------------------------------------
ROWS=()
THREAD_NOTES=()
PERF_NOTES=()
for dim in $DIMS; do
    for nc in $CLIENTS; do
        data=$TMP/data-$dim-$nc
        start_server "$data"
        coll=ingest_${dim}_$nc
        create_collection "$coll" "$dim"
        wlog=$TMP/wal-$dim-$nc.sizes
        wal_sizes "$data" >"$wlog"
        wal0=$(wal_written "$wlog")
        touch "$wlog.run"
        wal_sampler "$data" "$wlog" &
        WPID=$!
        cpu0=$(cpu_ticks "$SPID")
        io0=$(disk_write_bytes "$SPID")
        thread_ticks "$SPID" >"$TMP/threads0"
        log "dim $dim, $nc client(s), $DUR s, index $INDEX ..."
        PPID_=
        if [ "$PERF" = 1 ]; then
            perf record -F 499 -p "$SPID" -o "$TMP/perf-$dim-$nc.data" -- \
                sleep "$((DUR + 2))" >/dev/null 2>&1 &
            PPID_=$!
        fi
        out=$("$CLIENT" --url "$URL" --collection "$coll" --dim "$dim" --batch "$BATCH" \
            --clients "$nc" --seconds "$DUR" --id-base 1) || log "client reported failures"
        cpu1=$(cpu_ticks "$SPID")
        io1=$(disk_write_bytes "$SPID")
        thread_ticks "$SPID" >"$TMP/threads1"
        rm -f "$wlog.run"
        wait "$WPID" || true
        wal_sizes "$data" >>"$wlog"
        wal1=$(wal_written "$wlog")
        log "$out"
        line=$(grep '^result:' <<<"$out")
        secs=$(field seconds "$line")
        ok=$(field ok "$line")
        inserted=$(curl -s "$URL/metrics" | awk '$1 == "quiver_rows_inserted_total" {print $2}')
        [ "${inserted:-0}" = "$((ok * BATCH))" ] ||
            log "WARNING: server counted ${inserted:-?} rows inserted, client $((ok * BATCH))"
        # Busiest server threads: MHD-single = HTTP worker (decode, WAL, apply), quiverd = index
        # builder / checkpoints (and main), iou-wrk = io_uring workers doing the WAL writes.
        THREAD_NOTES+=("$(printf '%5d %7d  ' "$dim" "$nc")$(awk -v hz="$HZ" -v secs="$secs" '
            NR == FNR { t0[$1] = $3; next }
            { d = $3 - t0[$1]; if (d > 0) printf "%s %.0f%%\n", $2, 100 * d / hz / secs }' \
            "$TMP/threads0" "$TMP/threads1" | sort -k2 -n -r | head -n 5 | paste -sd, - | sed 's/,/, /g')")
        if [ -n "$PPID_" ]; then
            wait "$PPID_" 2>/dev/null || true
            PERF_NOTES+=("--- perf, dim $dim, $nc client(s): server threads, top symbols (self) ---")
            PERF_NOTES+=("$(perf report -i "$TMP/perf-$dim-$nc.data" --sort comm --stdio \
                2>/dev/null | grep -E '^ +[0-9.]+%' || true)")
            PERF_NOTES+=("$(perf report -i "$TMP/perf-$dim-$nc.data" --sort symbol --stdio \
                2>/dev/null | grep -E '^ +[0-9.]+%' | head -n 15 | cut -c 1-110 || true)")
        fi
        stop_server
        ROWS+=("$(awk -v dim="$dim" -v nc="$nc" -v line="$line" -v secs="$secs" \
            -v wal="$((wal1 - wal0))" -v io="$((io1 - io0))" -v ticks="$((cpu1 - cpu0))" -v hz="$HZ" \
            -v seq="$SEQ_MB" -v syncs="$SYNC_S" "$BENCH_AWK"'
            function f(k) { return g(line, k) }
            BEGIN {
                v = f("vectors_per_s"); ok = f("ok")
                printf "%5d %7d %10.0f %7.1f %8.1f %9.0f %8.1f %8.2f %8.2f %7.0f%% %7.0f%% %8.0f %7.0f\n",
                    dim, nc, v, f("requests_per_s"), wal / secs / 1e6, (ok > 0 ? wal / (ok * 1000) : 0),
                    io / secs / 1e6, f("p50_ms"), f("p99_ms"), f("cpu_pct"), 100 * ticks / hz / secs,
                    seq, syncs }')")
        record "$(awk -v dim="$dim" -v nc="$nc" -v line="$line" -v secs="$secs" -v index_="$INDEX" \
            -v wal="$((wal1 - wal0))" -v io="$((io1 - io0))" -v ticks="$((cpu1 - cpu0))" -v hz="$HZ" \
            -v seq="$SEQ_MB" -v syncs="$SYNC_S" -v s1m="$SYNC1M_MB" "$BENCH_AWK"'
            function f(k) { return g(line, k) }
            BEGIN {
                w = wal / secs / 1e6; r = f("requests_per_s")
                printf "ingest dim=%d clients=%d index=%s seconds=%.1f vps=%.0f req_s=%.1f wal_mb_s=%.1f", dim, nc,
                    index_, secs, f("vectors_per_s"), r, w
                printf " disk_mb_s=%.1f p50_ms=%.2f p99_ms=%.2f cli_cpu=%.0f srv_cpu=%.0f failed=%d", io / secs / 1e6,
                    f("p50_ms"), f("p99_ms"), f("cpu_pct"), 100 * ticks / hz / secs, f("failed")
                printf " seq_mb_s=%s sync_per_s=%s sync1m_mb_s=%s wal_vs_sync1m=%s req_vs_fsync=%s\n", seq, syncs,
                    s1m, ratio(w, s1m), ratio(r, syncs) }')"
    done
done

# ---- table -----------------------------------------------------------------------------
echo
echo "durable ingest, $(date -u '+%Y-%m-%d %H:%M UTC'), source $SRC_REV, index $INDEX," \
    "${DUR} s per run, batches of $BATCH"
echo "$(nproc) CPUs, data dir on $(df -P "$TMP" | awk 'NR == 2 {print $1}')" \
    "($(df -PT "$TMP" | awk 'NR == 2 {print $2}')), load average before/after: $LOAD0 /" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%5s %7s %10s %7s %8s %9s %8s %8s %8s %8s %8s %8s %7s\n' dim clients vectors/s req/s \
    WAL_MB/s WAL_B/vec disk_MB/s p50_ms p99_ms cli_CPU srv_CPU seq_MB/s fsync/s
for r in "${ROWS[@]}"; do echo "$r"; done
echo "(disk baseline: ${SEQ_MB} MB/s sequential write + fsync; ${SYNC_S} 4 KiB write+fdatasync/s;" \
    "${SYNC1M_MB} MB/s as 1 MiB write+fdatasync. CPU % is of one core, max $(nproc)00%.)"
echo "busiest server threads (% of one core over the run):"
for n in "${THREAD_NOTES[@]}"; do echo "$n"; done
for n in "${PERF_NOTES[@]}"; do echo "$n"; done
