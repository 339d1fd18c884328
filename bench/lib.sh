# shellcheck shell=bash disable=SC2034  # variables are used by the scripts sourcing this
# SPDX-License-Identifier: Apache-2.0
# lib.sh - shell helpers shared by bench/filtered.sh, bench/restart.sh and bench/run_all.sh:
# build, temp dir, quiverd processes started (and only those stopped) by the calling
# script, REST calls, metrics, synthetic data, and the machine-readable result records.
# Sourced (not run) after the caller sets ROOT and NAME; needs bash 4.3+.
#
# Records: with QV_BENCH_RESULTS=path, `record <figure> key=value ...` appends one line to
# path (values without spaces; a `note part=<script> free text` line may follow). run_all.sh
# turns them into bench/RESULTS.md via bench/results.py.

BUILD=${QV_BENCH_BUILD:-$ROOT/build-bench}
DATA=${QV_BENCH_DATA:-$BUILD/bench-data}
PARENT=${QV_BENCH_DIR:-$BUILD}
SHARED=${QV_BENCH_SHARED:-$ROOT/../shared} # datasets and tools of the project
PY=/usr/bin/python3
SPID= # the server this script runs now
URL=
READY_S=
TMP=

log() { printf '%s\n' "$*" >&2; }
die() {
    log "$NAME: $*"
    exit 1
}
record() { [ -z "${QV_BENCH_RESULTS:-}" ] || printf '%s\n' "$*" >>"$QV_BENCH_RESULTS"; }
field() { sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" <<<" $2" | head -n 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.3f", b - a}'; } # since $1

bench_build() { # ninja targets...
    if [ ! -f "$BUILD/build.ninja" ]; then
        log "configuring $BUILD"
        meson setup "$BUILD" "$ROOT" --wrap-mode=nodownload >/dev/null || die "meson setup failed"
    fi
    local out
    out=$(ninja -C "$BUILD" "$@" 2>&1) || {
        log "$(grep -E 'error|FAILED' <<<"$out" | head -n 10)"
        die "build failed (if src/ is mid-edit, retry in a minute)"
    }
}

# A temp dir on disk under PARENT, removed on exit unless QV_BENCH_KEEP=1; the exit trap
# also stops the server this script started (and no other process).
bench_tmpdir() { # prefix
    mkdir -p "$PARENT"
    [ "$(stat -f -c %T "$PARENT")" != tmpfs ] || die "$PARENT is tmpfs; set QV_BENCH_DIR to a disk"
    TMP=$(mktemp -d "$PARENT/.quiver-$1.XXXXXX")
    TMP=$(cd "$TMP" && pwd)
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}
bench_cleanup() {
    stop_server TERM
    if [ "${QV_BENCH_KEEP:-0}" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}

free_port() {
    $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Start quiverd on a free loopback port over data dir $1 (extra flags after it), log to
# $1.log; sets SPID, URL and READY_S, the seconds from exec to the first 200 from /readyz.
# The port is polled every 5 ms with bash's /dev/tcp (no curl start-up per poll); once it
# accepts, /readyz is asked, so READY_S overshoots by about one curl run (~10 ms, the same
# for every start). Not in $(...): the server must be this shell's child.
start_server() { # datadir [flags...]
    local dir=$1 port t0
    shift
    port=$(free_port)
    URL=http://127.0.0.1:$port
    mkdir -p "$dir"
    t0=$(now)
    "$BUILD/quiverd" --listen "127.0.0.1:$port" --data-dir "$dir" "$@" >>"$dir.log" 2>&1 &
    SPID=$!
    for _ in $(seq 1 60000); do # 5 minutes
        if (: <>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && curl -sf -o /dev/null "$URL/readyz"; then
            READY_S=$(elapsed "$t0")
            return 0
        fi
        kill -0 "$SPID" 2>/dev/null || break
        sleep 0.005
    done
    tail -n 20 "$dir.log" >&2
    die "quiverd did not become ready on $URL (log $dir.log)"
}

# Stop the server this script started: TERM (drain, then up to 10 s) or KILL (a crash).
stop_server() { # [TERM|KILL]
    [ -n "$SPID" ] || return 0
    kill -"${1:-TERM}" "$SPID" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$SPID" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$SPID" 2>/dev/null && kill -KILL "$SPID" 2>/dev/null
    wait "$SPID" 2>/dev/null || true
    SPID=
}

post() { # path json -> body on stdout; dies unless the Milvus code is 0
    local out
    out=$(curl -sS -X POST -H 'Content-Type: application/json' -d "$2" "$URL$1")
    case $out in *'"code":0'*) printf '%s' "$out" ;; *) die "POST $1: $out" ;; esac
}
post_try() { # path json -> body on stdout; status 1 unless the Milvus code is 0
    local out
    out=$(curl -sS -X POST -H 'Content-Type: application/json' -d "$2" "$URL$1" 2>&1)
    printf '%s' "$out"
    case $out in *'"code":0'*) return 0 ;; *) return 1 ;; esac
}
metric() { curl -s "$URL/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
rss_kib() { awk '$1 == "VmRSS:" {print $2}' "/proc/$SPID/status"; }

wait_index() { # collection index_name [timeout_s]
    local t0
    t0=$(now)
    until post_try /v2/vectordb/indexes/describe "{\"collectionName\":\"$1\",\"indexName\":\"$2\"}" |
        grep -q '"indexState":"Finished"'; do
        kill -0 "$SPID" 2>/dev/null || die "quiverd died"
        awk -v e="$(elapsed "$t0")" -v m="${3:-3600}" 'BEGIN {exit !(e > m)}' && return 1
        sleep 0.1
    done
}

# Synthetic n x 128 from ../shared/tools/gen_synth.py, cached like search.sh's; prints the dir.
synth_data() { # n
    local dir=$DATA/synth-$1
    if [ ! -f "$dir/synth_groundtruth_dist.fvecs" ]; then
        [ -f "$SHARED/tools/gen_synth.py" ] ||
            die "cannot generate synthetic data: $SHARED/tools/gen_synth.py not found (../shared absent)"
        log "generating synthetic $1 x 128 into $dir"
        mkdir -p "$DATA"
        "$PY" "$SHARED/tools/gen_synth.py" "$dir.tmp" "$1" 1000 >&2 || die "gen_synth.py failed"
        rm -rf "$dir"
        mv "$dir.tmp" "$dir"
    fi
    echo "$dir"
}

# awk helpers (g, num, ratio) to prefix awk programs with: bench/lib.awk
BENCH_AWK=$(<"$ROOT/bench/lib.awk")
