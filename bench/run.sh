#!/usr/bin/env bash
# bench/run.sh - the benchmark, in one command: tern against a bare libh2o server and
# the FastAPI peer on the TechEmpower endpoints, plus the database's own ceiling.
#
#   bench/run.sh              full run (about 35 min); writes bench/RESULTS.md and
#                             bench/results.png
#   QUICK=1 bench/run.sh      smoke run (about 5 min); writes into its work folder
#
# What it does, everything on 127.0.0.1, everything it starts stopped by pid on exit:
#   1. installs what is missing (scripts/deps.sh), builds tern and bench/h2o_bare
#      (meson, release, build-release/);
#   2. starts a private Redis and MariaDB (scripts/services.sh, TechEmpower schema);
#   3. per table (1 worker each, then 2 workers each): starts tern-service, h2o-bare and
#      bench/fastapi (access logs off, the same pool size), warms every endpoint up,
#      then runs ROUNDS rounds, each round every endpoint on every server that has it,
#      the server order reversed every other round; per wrk run it records requests/s,
#      p50/p99 latency, errors (non-2xx + socket errors), server CPU seconds per request
#      (utime+stime of the server and its child processes, /proc/PID/stat) and peak RSS
#      (VmHWM, reset before each run through /proc/PID/clear_refs);
#   4. the database ceiling at the same connection count (sysbench, bench/sysbench/),
#      in every round right before the first endpoint that is compared with it: point
#      selects (for /db, /queries) and select+update pairs (for /updates);
#   5. a connection sweep for /json and /db, and pipelined /plaintext (bench/pipeline.lua);
#   6. writes the tables, the goals and the commands to RESULTS (between marker lines,
#      keeping the rest of the file) and a chart (gnuplot).
#
# Settings (environment; QUICK=1 changes the defaults in brackets):
#   ROUNDS=3 [1]  DURATION=10 [2]  WARMUP=3 [1]   seconds per measured / warm-up wrk run
#   CONNECTIONS=128  THREADS=2     wrk -c / -t of the main tables
#   SWEEP="16 64 256 1024" [16 256]  PIPE_CONNECTIONS=256  PIPE_DEPTH=16
#   WORKERS_LIST="1 2" [1]         one table per worker count
#   POOL=10                        MySQL connections per worker (tern and FastAPI alike)
#   ENDPOINTS="..."                the endpoints of the main tables (default: all eight)
#   RESULTS=bench/RESULTS.md [WORK/RESULTS.md]  CHART=bench/results.png [WORK/results.png]
#   KEEP=1                         keep the work folder (server logs, raw wrk output)
#   NOTE="..."                     a line about the machine's load, printed in RESULTS
# Exit status: 0 when every run happened (goals missed are reported, not fatal).

# 'test && x' chains are used on purpose; cleanup and stop run from a trap
# shellcheck disable=SC2015,SC2317
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
    ROUNDS=${ROUNDS:-1} DURATION=${DURATION:-2} WARMUP=${WARMUP:-1}
    SWEEP=${SWEEP:-"16 256"} WORKERS_LIST=${WORKERS_LIST:-1}
else
    ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-10} WARMUP=${WARMUP:-3}
    SWEEP=${SWEEP:-"16 64 256 1024"} WORKERS_LIST=${WORKERS_LIST:-"1 2"}
fi
CONNECTIONS=${CONNECTIONS:-128}
THREADS=${THREADS:-2}
PIPE_CONNECTIONS=${PIPE_CONNECTIONS:-256}
PIPE_DEPTH=${PIPE_DEPTH:-16}
POOL=${POOL:-10}
ENDPOINTS=${ENDPOINTS:-"/json /plaintext /db /queries?queries=20 /fortunes /updates?queries=20 /cached-queries?count=20 /red"}
KEEP=${KEEP:-0}
NOTE=${NOTE:-}
WRK_TIMEOUT=8          # wrk --timeout, as TechEmpower runs it
READY_TIMEOUT=60       # seconds for a server to answer after start
STOP_TIMEOUT=10        # seconds between SIGTERM and SIGKILL

die() { echo "bench/run.sh: $*" >&2; exit 2; }
say() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
for v in ROUNDS DURATION WARMUP CONNECTIONS THREADS PIPE_CONNECTIONS PIPE_DEPTH POOL; do
    is_uint "${!v}" || die "$v must be a whole number (got '${!v}')"
    [ "$v" = WARMUP ] || [ "${!v}" -ge 1 ] || die "$v must be at least 1"
done
for c in $SWEEP $WORKERS_LIST; do is_uint "$c" && [ "$c" -ge 1 ] || die "bad SWEEP/WORKERS_LIST entry '$c'"; done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tern-bench.XXXXXX")
RESULTS=${RESULTS:-$([ "$QUICK" = 1 ] && echo "$WORK/RESULTS.md" || echo "$root/bench/RESULTS.md")}
CHART=${CHART:-$([ "$QUICK" = 1 ] && echo "$WORK/results.png" || echo "$root/bench/results.png")}
DATA=$WORK/runs.tsv       # table round server endpoint conns rps p50 p99 errors cpu_us hwm_kb
CEIL=$WORK/ceiling.tsv    # table round kind threads events_per_s
: > "$DATA"; : > "$CEIL"

# ------------------------------------------------------------- processes, cleanup
declare -A SERVER_PID=() SERVER_PORT=()
WRK_PID=""
SVC_DIR=$WORK/services
SVC_STARTED=0

stop_server() { # name
    local name=$1 pid=${SERVER_PID[$1]:-}
    [ -n "$pid" ] || return 0
    unset "SERVER_PID[$name]"
    # its own process group (setsid): uvicorn's worker processes go with it
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    local i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt $((STOP_TIMEOUT * 10)) ]; do sleep 0.1; i=$((i + 1)); done
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [ -z "$WRK_PID" ] || { kill -TERM "$WRK_PID" 2>/dev/null; wait "$WRK_PID" 2>/dev/null; } || true
    for name in "${!SERVER_PID[@]}"; do stop_server "$name"; done
    [ "$SVC_STARTED" = 0 ] || "$root/scripts/services.sh" stop "$SVC_DIR" >/dev/null 2>&1 || true
    if [ "$KEEP" = 1 ] || [ "$QUICK" = 1 ]; then
        echo "work folder kept: $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A port nobody listens on, below the kernel's ephemeral range so that no outgoing
# connection holds it either.
free_port() {
    local p
    for _ in $(seq 200); do
        p=$((20000 + RANDOM % 12000))   # below the ephemeral range (32768+)
        port_open "$p" || { echo "$p"; return 0; }
    done
    die "no free port found"
}

# start_server NAME PORT COMMAND...: returns once GET /json answers 200
start_server() {
    local name=$1 port=$2; shift 2
    port_open "$port" && die "127.0.0.1:$port is taken before $name started"
    setsid "$@" > "$WORK/$name.log" 2>&1 < /dev/null &
    SERVER_PID[$name]=$!
    SERVER_PORT[$name]=$port
    local i=0
    until curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$port/json"; do
        kill -0 "${SERVER_PID[$name]}" 2>/dev/null || { tail -n 20 "$WORK/$name.log" >&2; die "$name exited at start"; }
        [ $i -lt $((READY_TIMEOUT * 5)) ] || { tail -n 20 "$WORK/$name.log" >&2; die "$name not ready in ${READY_TIMEOUT}s"; }
        sleep 0.2; i=$((i + 1))
    done
}

# The pids of a server: its process and every descendant (uvicorn's workers).
pid_tree() {
    local pids=("$1") i=0 kids
    while [ $i -lt ${#pids[@]} ]; do
        kids=$(cat /proc/"${pids[$i]}"/task/*/children 2>/dev/null || true)
        for k in $kids; do pids+=("$k"); done
        i=$((i + 1))
    done
    echo "${pids[@]}"
}

# CPU ticks (utime + stime, all threads) of a process tree; comm may hold spaces,
# so the fields are counted after the last ')'.
tree_ticks() {
    local t=0 p s
    for p in $(pid_tree "$1"); do
        s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
        s=${s##*) }
        # shellcheck disable=SC2086
        set -- $s
        t=$((t + ${12} + ${13}))   # fields 14 and 15 of stat, after pid and comm
    done
    echo "$t"
}

# Resets the peak RSS of a process tree (clear_refs "5", Linux 4.0+).
tree_hwm_reset() {
    local p
    for p in $(pid_tree "$1"); do echo 5 > "/proc/$p/clear_refs" 2>/dev/null || true; done
}

# Sum of the peak RSS (kB) of a process tree.
tree_hwm_kb() {
    local kb=0 p v
    for p in $(pid_tree "$1"); do
        v=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
        kb=$((kb + ${v:-0}))
    done
    echo "$kb"
}

CLK_TCK=$(getconf CLK_TCK)

# run_wrk OUTFILE SECONDS CONNS URL [wrk script args...]: TechEmpower's headers,
# bounded by timeout(1), in the background so that a signal ends it at once
run_wrk() {
    local out=$1 secs=$2 conns=$3 url=$4; shift 4
    local accept='application/json,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7'
    [[ $url == */plaintext* ]] && accept='text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7'
    local threads=$THREADS
    [ "$threads" -le "$conns" ] || threads=$conns
    timeout -k 5 $((secs + WRK_TIMEOUT + 30)) \
        wrk -H 'Host: 127.0.0.1' -H "Accept: $accept" -H 'Connection: keep-alive' \
            --latency --timeout "$WRK_TIMEOUT" -d "${secs}s" -c "$conns" -t "$threads" \
            "$url" "$@" > "$out" 2>&1 < /dev/null &
    WRK_PID=$!
    local rc=0
    wait "$WRK_PID" || rc=$?
    WRK_PID=""
    return $rc
}

# parse_wrk FILE -> "requests rps p50_ms p99_ms errors" ("-" fields when wrk failed)
parse_wrk() {
    awk '
        function ms(v) {
            if (v ~ /us$/) return v / 1000
            if (v ~ /ms$/) return v + 0
            if (v ~ /m$/)  return v * 60000
            if (v ~ /s$/)  return v * 1000
            return v + 0
        }
        / requests in /                 { n = $1 }
        $1 == "Requests/sec:"           { rps = $2 }
        $1 == "50%" && p50 == ""        { p50 = ms($2) }
        $1 == "99%" && p99 == ""        { p99 = ms($2) }
        /Non-2xx or 3xx responses:/     { err += $NF }
        /Socket errors:/                { gsub(/,/, ""); err += $4 + $6 + $8 + $10 }
        END {
            if (rps == "") { print "- - - - -"; exit }
            printf "%d %.1f %.3f %.3f %d\n", n, rps, p50, p99, err
        }' "$1"
}

# measure TABLE ROUND SERVER ENDPOINT CONNS SECONDS [wrk script args...]
measure() {
    local table=$1 round=$2 name=$3 ep=$4 conns=$5 secs=$6; shift 6
    local pid=${SERVER_PID[$name]} port=${SERVER_PORT[$name]}
    local tag="$table.$name.r$round.c$conns.${ep//[^A-Za-z0-9]/_}"
    tree_hwm_reset "$pid"
    local t0 t1
    t0=$(tree_ticks "$pid")
    run_wrk "$WORK/$tag.wrk" "$secs" "$conns" "http://127.0.0.1:$port$ep" "$@" ||
        echo "bench/run.sh: wrk failed for $name $ep (see $WORK/$tag.wrk)" >&2
    t1=$(tree_ticks "$pid")
    kill -0 "$pid" 2>/dev/null || die "$name died during $ep (see $WORK/$name.log)"
    local n rps p50 p99 err cpu_us hwm
    read -r n rps p50 p99 err < <(parse_wrk "$WORK/$tag.wrk")
    hwm=$(tree_hwm_kb "$pid")
    cpu_us=-
    [ "$n" = - ] || [ "$n" -eq 0 ] || cpu_us=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$n" \
        'BEGIN { printf "%.2f", t * 1e6 / hz / n }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$table" "$round" "$name" "$ep" \
        "$conns" "$rps" "$p50" "$p99" "$err" "$cpu_us" "$hwm" >> "$DATA"
    printf '  %-8s r%-2s %-9s %-26s c%-5s %10s req/s  p50 %s ms  p99 %s ms  err %s  cpu %s us/req  rss %s kB\n' \
        "$table" "$round" "$name" "$ep" "$conns" "$rps" "$p50" "$p99" "$err" "$cpu_us" "$hwm"
}

# Which servers have an endpoint: h2o-bare only serves /json and /plaintext.
servers_for() {
    case $1 in
        /json|/plaintext) echo "tern h2o-bare fastapi" ;;
        *)                echo "tern fastapi" ;;
    esac
}

# ceiling_kind ENDPOINT: which database ceiling it is compared with (none: empty)
ceiling_kind() {
    case $1 in
        /db | /queries*) echo point ;;
        /updates*)       echo pairs ;;
    esac
}

start_servers() { # workers
    local w=$1 p
    p=$(free_port)
    # At saturation a request waits for a pooled connection behind all the others;
    # aiomysql's pool waits as long as it takes, so tern's wait is bounded by wrk's
    # request timeout instead of its 1 s default (which would turn queueing into 503s).
    start_server tern "$p" env TERN_MYSQL_URL="$TERN_MYSQL_URL" TERN_REDIS_URL="$TERN_REDIS_URL" \
        TERN_MYSQL_POOL_MAX="$POOL" TERN_MYSQL_POOL_MIN="$POOL" \
        TERN_MYSQL_ACQUIRE_TIMEOUT_MS=$((WRK_TIMEOUT * 1000)) \
        build-release/routes/tern-service --host 127.0.0.1 --port "$p" --access_log off --workers "$w"
    p=$(free_port)
    start_server h2o-bare "$p" build-release/bench/h2o-bare --host 127.0.0.1 --port "$p" --workers "$w"
    p=$(free_port)
    start_server fastapi "$p" env POOL_MAX="$POOL" POOL_MIN="$POOL" \
        TERN_MYSQL_URL="$TERN_MYSQL_URL" TERN_REDIS_URL="$TERN_REDIS_URL" \
        bench/fastapi/run.sh "$p" "$w"
}

stop_servers() {
    for name in "${!SERVER_PID[@]}"; do stop_server "$name"; done
}

# sysbench_ceiling TABLE ROUND KIND SCRIPT THREADS: the database's own rate, same statements
sysbench_ceiling() {
    local table=$1 round=$2 kind=$3 script=$4 threads=$5 out eps
    out=$WORK/sysbench.$table.r$round.$kind.txt
    timeout -k 5 $((DURATION + 60)) sysbench "bench/sysbench/$script" --mysql-host=127.0.0.1 \
        --mysql-port="$MYSQL_PORT" --mysql-user=benchmarkdbuser --mysql-password=benchmarkdbpass \
        --mysql-db=hello_world --threads="$threads" --time="$DURATION" run > "$out" 2>&1 ||
        echo "bench/run.sh: sysbench $script failed (see $out)" >&2
    eps=$(awk '/transactions:/ { gsub(/[(]/, "", $3); print $3 }' "$out")
    printf '%s\t%s\t%s\t%s\t%s\n' "$table" "$round" "$kind" "$threads" "${eps:--}" >> "$CEIL"
    say "ceiling $table r$round $kind, $threads connections: ${eps:-failed} per s"
}

report() { # WHAT TABLE
    awk -F'\t' -v what="$1" -v table="$2" -f bench/report.awk "$CEIL" "$DATA"
}

# ------------------------------------------------------------------- preparing
say "work folder $WORK"
"$root/scripts/deps.sh"
if [ -f build-release/build.ninja ]; then
    # an existing folder may have been set up without the bench programs
    meson configure build-release -Dbench=true > "$WORK/meson.log"
else
    nice meson setup build-release -Dbuildtype=release -Dtests=false -Dbench=true > "$WORK/meson.log"
fi
nice ninja -C build-release routes/tern-service bench/h2o-bare > "$WORK/ninja.log" ||
    { tail -n 30 "$WORK/ninja.log" >&2; die "build failed"; }
# 1024 connections, plus the servers' own descriptors
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge 4096 ] || say "warning: ulimit -n is $(ulimit -n); the 1024-connection sweep may fail"

# A benchmark database: no log flush at each commit (the same for every peer and for
# sysbench), nothing else changed from scripts/services.sh's.
export MYSQLD_OPTS="--innodb-flush-log-at-trx-commit=2 --skip-log-bin --max-connections=2000"
REDIS_PORT=$(free_port) MYSQL_PORT=$(free_port)
export REDIS_PORT MYSQL_PORT
SVC_STARTED=1
while IFS='=' read -r k v; do export "$k=$v"; done < <("$root/scripts/services.sh" start "$SVC_DIR")
[ -n "${TERN_MYSQL_URL:-}" ] || die "services.sh did not start the databases (see $SVC_DIR)"

started=$(date -u '+%Y-%m-%d %H:%M UTC')
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# ------------------------------------------------------------------- main tables
read -r -a EP_LIST <<< "$ENDPOINTS"
for w in $WORKERS_LIST; do
    table=w$w
    say "table $table: $w worker(s) each, wrk -t$THREADS -c$CONNECTIONS, $ROUNDS round(s) of ${DURATION}s"
    start_servers "$w"
    say "warm-up: ${WARMUP}s per endpoint and server"
    if [ "$WARMUP" -gt 0 ]; then
        for ep in "${EP_LIST[@]}"; do
            for s in $(servers_for "$ep"); do
                run_wrk "$WORK/warmup.wrk" "$WARMUP" "$CONNECTIONS" \
                    "http://127.0.0.1:${SERVER_PORT[$s]}$ep" || true
            done
        done
    fi
    for round in $(seq 1 "$ROUNDS"); do
        ceilings_done=" "
        for ep in "${EP_LIST[@]}"; do
            # the ceiling an endpoint is compared with, measured minutes rather than a
            # table apart from it: the machine's speed drifts (report.awk pairs by round)
            kind=$(ceiling_kind "$ep")
            if [ -n "$kind" ] && [[ $ceilings_done != *" $kind "* ]]; then
                script=point_select.lua
                [ "$kind" = pairs ] && script=select_update.lua
                sysbench_ceiling "$table" "$round" "$kind" "$script" $((POOL * w))
                ceilings_done="$ceilings_done$kind "
            fi
            order=$(servers_for "$ep")
            # every other round the other way round, so no server always goes first
            [ $((round % 2)) = 1 ] || order=$(echo "$order" | awk '{ for (i = NF; i; i--) printf "%s ", $i }')
            for s in $order; do
                measure "$table" "$round" "$s" "$ep" "$CONNECTIONS" "$DURATION"
            done
        done
    done
    if [ "$w" = "${WORKERS_LIST%% *}" ]; then
        # the sweep and pipelining on the first table's servers, already warm
        say "connection sweep: $SWEEP"
        for c in $SWEEP; do
            for ep in /json /db; do
                for s in $(servers_for "$ep"); do measure sweep 1 "$s" "$ep" "$c" "$DURATION"; done
            done
        done
        say "pipelined /plaintext: depth $PIPE_DEPTH, $PIPE_CONNECTIONS connections"
        for s in $(servers_for /plaintext); do
            measure pipe 1 "$s" /plaintext "$PIPE_CONNECTIONS" "$DURATION" \
                -s "$root/bench/pipeline.lua" -- "$PIPE_DEPTH"
        done
    fi
    stop_servers
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# -------------------------------------------------------------------- the report
first=w${WORKERS_LIST%% *}
section=$WORK/section.md
{
    echo "<!-- bench/run.sh: begin (generated; edit outside these markers) -->"
    echo "## Latest run"
    echo
    echo "Run of $started, $(nproc) CPUs ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)), $(uname -sr)."
    echo "Load average before / after: $load_before / $load_after.${NOTE:+ $NOTE}"
    echo "wrk -t$THREADS -c$CONNECTIONS --timeout $WRK_TIMEOUT --latency with TechEmpower's headers; $ROUNDS round(s) of ${DURATION}s"
    echo "per endpoint and server after a ${WARMUP}s warm-up, server order reversed every other round."
    echo "MySQL pool $POOL connections per worker (tern and FastAPI); access logs off; one"
    echo "private MariaDB and Redis shared by all (\`MYSQLD_OPTS=\"$MYSQLD_OPTS\"\`)."
    echo "CPU µs/req: the server's utime+stime (all threads and child processes) over the run"
    echo "divided by its responses; peak RSS: VmHWM summed over its processes, reset before each run."
    echo
    echo "Reproduce: \`bench/run.sh\` (\`QUICK=1 bench/run.sh\` for a short smoke run)."
    for w in $WORKERS_LIST; do
        echo
        echo "### $w worker(s) each"
        echo
        report main "w$w"
        echo
        echo "Database ceiling at the same connection count ($((POOL * w)) sysbench threads," \
             "\`bench/sysbench/\`):"
        echo
        report ceiling "w$w"
    done
    echo
    echo "### Goals ($first)"
    echo
    report goals "$first"
    echo
    echo "### Connection sweep (${DURATION}s per run, one run each)"
    echo
    report sweep sweep
    echo
    echo "### Pipelined /plaintext ($PIPE_DEPTH requests per write, $PIPE_CONNECTIONS connections, \`bench/pipeline.lua\`)"
    echo
    report pipe pipe
    echo
    echo "![requests/s per endpoint and server]($(basename "$CHART"))"
    echo "<!-- bench/run.sh: end -->"
} > "$section"

# the chart: requests/s per endpoint and server, one worker each, log scale
report chart "$first" > "$WORK/chart.dat"
if command -v gnuplot >/dev/null; then
    gnuplot -e "datafile='$WORK/chart.dat'; outfile='$CHART'; subtitle='$started, $(nproc) CPUs, load $load_before'" \
        bench/chart.gp 2> "$WORK/gnuplot.log" || say "warning: gnuplot failed (see $WORK/gnuplot.log)"
fi

# RESULTS: the section between the markers is replaced; the rest of the file is kept
if [ -f "$RESULTS" ] && grep -q '^<!-- bench/run.sh: begin' "$RESULTS"; then
    awk -v sec="$section" '
        /^<!-- bench\/run.sh: begin/ { while ((getline l < sec) > 0) print l; skip = 1; next }
        /^<!-- bench\/run.sh: end/   { skip = 0; next }
        !skip' "$RESULTS" > "$WORK/results.new"
    cp "$WORK/results.new" "$RESULTS"
elif [ -f "$RESULTS" ]; then
    { cat "$RESULTS"; echo; cat "$section"; } > "$WORK/results.new"
    cp "$WORK/results.new" "$RESULTS"
else
    { echo "# Benchmark results"; echo; cat "$section"; } > "$RESULTS"
fi
echo
sed -n '/^### Goals/,/^### Connection/p' "$section" | grep '^|'
say "results in $RESULTS, chart in $CHART"
