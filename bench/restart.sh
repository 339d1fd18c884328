#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# restart.sh - restart time and resident memory: how fast quiverd comes back after a crash
# (WAL replay) and after a clean stop with the rows in sealed segments (segment load), and
# its RSS per million vectors against the raw vector bytes; one table.
#
#   usage: bench/restart.sh
#
# Steps, on one data dir on disk: start quiverd on an empty dir (the "empty start" time,
# exec to the first 200 from /readyz, polled every 10 ms, and RSS); create a collection
# without index (Int64 id, FloatVector v; nothing is built, so restarts do only storage
# work); insert ROWS rows (bench/ingest_client, 1000-row durable batches, 1 client); check
# they are all unsealed (WAL only); SIGKILL; restart and time it: WAL replay MB/s = WAL
# bytes on disk / (ready time - empty start time); then POST collections/flush, check every
# row is in sealed segments, SIGTERM, restart: segment load GB/s = segment bytes / (ready
# time - empty start time). RSS (VmRSS) is read after each start; "per million vectors"
# is (RSS - RSS of the empty server) / ROWS x 10^6, beside ROWS x dim x 4 bytes. The same
# files are read with cat (page cache warm, as the restarts find them) as the baseline.
# About 1 minute on 2 cores. Environment knobs:
#   QV_BENCH_BUILD, QV_BENCH_DIR, QV_BENCH_KEEP   as in search.sh
#   QV_BENCH_RESTART_ROWS   rows (default 200000; a multiple of 1000)
#   QV_BENCH_RESTART_DIM    dimension (default 128)
#   QV_BENCH_RESULTS        append "restart ..." and "memory ..." records (bench/run_all.sh)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
NAME=restart.sh
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
ROWS=${QV_BENCH_RESTART_ROWS:-200000}
DIM=${QV_BENCH_RESTART_DIM:-128}
case $ROWS$DIM in *[!0-9]*) die "QV_BENCH_RESTART_ROWS and QV_BENCH_RESTART_DIM must be numbers" ;; esac
if [ $((ROWS % 1000)) != 0 ] || [ "$ROWS" = 0 ]; then die "QV_BENCH_RESTART_ROWS must be a multiple of 1000"; fi
T_START=$(date +%s)

bench_build quiverd bench/ingest_client
bench_tmpdir restart-bench
D=$TMP/data
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

files_bytes() { # find args... -> total bytes of the matching files under $D/collections
    find "$D/collections" -type f "$@" -printf '%s\n' 2>/dev/null | awk '{n += $1} END {printf "%.0f", n}'
}
read_mb_s() { # find args...: MB/s of cat over the matching files (page cache warm, 3 passes)
    local t0 bytes
    bytes=$(files_bytes "$@")
    find "$D/collections" -type f "$@" -exec cat {} + >/dev/null # warm
    t0=$(now)
    for _ in 1 2 3; do find "$D/collections" -type f "$@" -exec cat {} + >/dev/null; done
    awk -v b="$bytes" -v s="$(elapsed "$t0")" 'BEGIN {printf "%.1f", (s > 0 ? 3 * b / s / 1e6 : 0)}'
}
rows_by_state() { metric "quiver_segment_rows{state=\"$1\"}"; }

# ---- empty start ----------------------------------------------------------------------
# The first start of a data dir does one-off work (e.g. hashing the root password), so the
# baseline is a restart of the node holding the collection still empty.
start_server "$D" --log.level info
post /v2/vectordb/collections/create "{\"collectionName\":\"r\",\"schema\":{\"autoId\":false,\
\"fields\":[{\"fieldName\":\"id\",\"dataType\":\"Int64\",\"isPrimary\":true},{\"fieldName\":\"vector\",\
\"dataType\":\"FloatVector\",\"elementTypeParams\":{\"dim\":\"$DIM\"}}]}}" >/dev/null
FIRST_S=$READY_S
stop_server TERM
start_server "$D" --log.level info
EMPTY_S=$READY_S
sleep 0.5 # let the background threads settle before reading RSS
RSS_EMPTY=$(rss_kib)
log "first start: ready in $FIRST_S s; restart with the empty collection: $EMPTY_S s, RSS $((RSS_EMPTY / 1024)) MiB"

# ---- ingest, WAL only -----------------------------------------------------------------
log "inserting $ROWS x $DIM rows"
out=$("$BUILD/bench/ingest_client" --url "$URL" --collection r --dim "$DIM" --batch 1000 --clients 1 \
    --batches $((ROWS / 1000)) --id-base 1) || die "ingest failed: $out"
INGEST_VPS=$(field vectors_per_s "$(grep '^result:' <<<"$out")")
RSS_INGEST=$(rss_kib)
[ "$(rows_by_state growing)" = "$ROWS" ] ||
    die "expected $ROWS growing rows, metrics say $(rows_by_state growing) (sealed: $(rows_by_state sealed))"
WAL_BYTES=$(files_bytes -path '*/wal/*')
log "ingested at $INGEST_VPS vectors/s; WAL $WAL_BYTES bytes, RSS $((RSS_INGEST / 1024)) MiB"

# ---- crash, replay --------------------------------------------------------------------
stop_server KILL
WAL_READ=$(read_mb_s -path '*/wal/*')
start_server "$D" --log.level info
WAL_S=$READY_S
sleep 0.5
RSS_WAL=$(rss_kib)
[ "$(rows_by_state growing)" = "$ROWS" ] || die "after replay: $(rows_by_state growing) growing rows, not $ROWS"
log "after SIGKILL: ready in $WAL_S s, RSS $((RSS_WAL / 1024)) MiB;" \
    "$(grep -o 'rows ([0-9]* live) after replay' "$D.log" | tail -n 1)"

# ---- flush, clean stop, segment load --------------------------------------------------
post /v2/vectordb/collections/flush '{"collectionName":"r"}' >/dev/null
for _ in $(seq 1 600); do
    [ "$(rows_by_state sealed)" = "$ROWS" ] && break
    sleep 0.1
done
[ "$(rows_by_state sealed)" = "$ROWS" ] || die "after flush: $(rows_by_state sealed) sealed rows, not $ROWS"
stop_server TERM
SEG_BYTES=$(files_bytes -name 'seg-*')
WAL_LEFT=$(files_bytes -path '*/wal/*')
SEG_READ=$(read_mb_s -name 'seg-*')
start_server "$D" --log.level info
SEG_S=$READY_S
sleep 0.5
RSS_SEG=$(rss_kib)
[ "$(rows_by_state sealed)" = "$ROWS" ] || die "after restart: $(rows_by_state sealed) sealed rows, not $ROWS"
log "after flush + SIGTERM: segments $SEG_BYTES bytes (WAL left $WAL_LEFT), ready in $SEG_S s," \
    "RSS $((RSS_SEG / 1024)) MiB"
stop_server TERM

# ---- table ----------------------------------------------------------------------------
vals=$(awk -v rows="$ROWS" -v dim="$DIM" -v empty="$EMPTY_S" -v wal_s="$WAL_S" -v seg_s="$SEG_S" \
    -v walb="$WAL_BYTES" -v segb="$SEG_BYTES" -v walr="$WAL_READ" -v segr="$SEG_READ" -v left="$WAL_LEFT" \
    -v re="$RSS_EMPTY" -v ri="$RSS_INGEST" -v rw="$RSS_WAL" -v rs="$RSS_SEG" "$BENCH_AWK"'
    # seconds of storage work, 0 when within the poll resolution of the empty restart
    function net(s) { return s - empty > 0.02 ? s - empty : 0 }
    function rate(b, s, unit) { return net(s) > 0 ? sprintf("%.3f", b / net(s) / unit) : "-" }
    function perm(kib) { return (kib - re) * 1024 / rows * 1e6 / 1e6 } # MB per million vectors
    BEGIN {
        raw = dim * 4  # MB per million vectors
        wal = rate(walb, wal_s, 1e6); seg = rate(segb, seg_s, 1e9)
        printf "restart phase=wal rows=%d dim=%d bytes=%.0f ready_s=%.3f empty_s=%.3f rate=%s unit=MB/s", rows, dim,
            walb, wal_s, empty, wal
        printf " read_rate=%.1f ratio=%s\n", walr, ratio(wal, walr)
        printf "restart phase=segments rows=%d dim=%d bytes=%.0f ready_s=%.3f empty_s=%.3f rate=%s unit=GB/s", rows,
            dim, segb, seg_s, empty, seg
        printf " read_rate=%.3f ratio=%s wal_left=%.0f\n", segr / 1e3, ratio(seg, segr / 1e3), left
        printf "memory rows=%d dim=%d rss_empty_mb=%.1f rss_ingest_mb=%.1f rss_wal_mb=%.1f rss_seg_mb=%.1f", rows, dim,
            re / 1024, ri / 1024, rw / 1024, rs / 1024
        printf " per_m_ingest=%.0f per_m_wal=%.0f per_m_seg=%.0f raw_per_m=%.0f", perm(ri), perm(rw), perm(rs), raw
        printf " ratio_ingest=%s ratio_wal=%s ratio_seg=%s\n", ratio(perm(ri), raw), ratio(perm(rw), raw),
            ratio(perm(rs), raw)
    }')
while read -r line; do record "$line"; done <<<"$vals"
echo
echo "restart and memory, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $ROWS x $DIM rows, collection without" \
    "index, data dir on $(df -P "$TMP" | awk 'NR == 2 {print $1}') ($(df -PT "$TMP" | awk 'NR == 2 {print $2}'))," \
    "load average before/after: $LOAD0 / $(cut -d' ' -f1-3 /proc/loadavg), total $(($(date +%s) - T_START)) s"
echo "ready = exec to the first 200 from /readyz; rates subtract the empty restart (${EMPTY_S} s; '-': within 20 ms of it);"
echo "read = cat of the same files, page cache warm (as the restart found them)."
awk -v v="$vals" "$BENCH_AWK"'
    BEGIN {
        n = split(v, l, "\n")
        for (i = 1; i <= n; i++) {
            if (l[i] ~ /^restart phase=wal/)
                printf "after SIGKILL (WAL replay):  %8.1f MB in WAL    ready %7.3f s  replay %9s MB/s  (read %9.1f MB/s, %s)\n",
                    g(l[i], "bytes") / 1e6, g(l[i], "ready_s"), g(l[i], "rate"), g(l[i], "read_rate"), g(l[i], "ratio")
            else if (l[i] ~ /^restart phase=segments/)
                printf "after flush + SIGTERM:       %8.1f MB segments  ready %7.3f s  load   %9s GB/s  (read %9.3f GB/s, %s)\n",
                    g(l[i], "bytes") / 1e6, g(l[i], "ready_s"), g(l[i], "rate"), g(l[i], "read_rate"), g(l[i], "ratio")
            else if (l[i] ~ /^memory/) {
                printf "RSS MiB: empty %.1f, after ingest %.1f, after replay %.1f, after segment load %.1f\n",
                    g(l[i], "rss_empty_mb"), g(l[i], "rss_ingest_mb"), g(l[i], "rss_wal_mb"), g(l[i], "rss_seg_mb")
                printf "RSS per million vectors (minus the empty server), MB: after ingest %s (%s raw), after replay %s (%s),",
                    g(l[i], "per_m_ingest"), g(l[i], "ratio_ingest"), g(l[i], "per_m_wal"), g(l[i], "ratio_wal")
                printf " after segment load %s (%s); raw vectors %s MB per million\n", g(l[i], "per_m_seg"),
                    g(l[i], "ratio_seg"), g(l[i], "raw_per_m")
            }
        }
    }'
echo "ingest for this run: $INGEST_VPS vectors/s (1 client)"
