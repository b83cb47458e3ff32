#!/usr/bin/env bash
# bench/compare.sh - A/B throughput comparison of two HTTP servers with wrk.
#
#   bench/compare.sh [options] NAME=PORT=COMMAND NAME=PORT=COMMAND
#
# Each server is given as NAME=PORT=COMMAND (COMMAND may itself contain '='),
# either as the two positional arguments or as $SERVER_A and $SERVER_B. The
# script starts each command itself, waits until 127.0.0.1:PORT accepts
# connections, runs wrk against it, and stops it (SIGTERM, then SIGKILL) by
# the pid it started. Per round and per server:
#
#   start server -> for each path: warm-up wrk run, measured wrk run -> stop
#
# Rounds alternate the order of the servers (a b, b a, a b, ...). For each
# (path, server) the table gives the median requests/s over the rounds, the
# min-max, the medians of wrk's per-run p50 and p99 latency, the totals of
# non-2xx/3xx responses and socket errors, and on the first server's row the
# ratio of the first server's median to the second's.
#
# Options (environment variable in brackets, then default):
#   -p, --paths "P..."     URL paths, space separated   [PATHS]       "/json /plaintext"
#   -r, --rounds N         rounds                       [ROUNDS]      5
#   -d, --duration T       measured run per path        [DURATION]    10s
#   -w, --warmup T         warm-up run before each      [WARMUP]      3s   (0 = none)
#   -c, --connections N    wrk connections              [CONNECTIONS] 256
#   -t, --threads N        wrk threads                  [THREADS]     2
#       --pipeline N       pipeline depth for paths containing "plaintext",
#                          as in TFB (16); 0 = off      [PIPELINE]    0
#   -o, --out FILE         also write the table as Markdown  [OUT]    (none)
#       --logs DIR         keep server logs and raw wrk output in DIR [LOGS]
#   -h, --help
#
# T is a wrk duration: 10, 10s, 2m. Everything runs on 127.0.0.1. Every wrk
# run is bounded by timeout(1), server start by READY_TIMEOUT (30 s) and
# server stop by STOP_TIMEOUT (5 s). Whatever was started is killed on exit.
#
# Example (two copies of the same server: the ratio should be ~1.0):
#   bench/compare.sh 'a=8091=/tmp/h2o-bare --port 8091' 'b=8092=/tmp/h2o-bare --port 8092'

# 'test && test || die' is used on purpose (die exits); cleanup runs from a trap
# shellcheck disable=SC2015,SC2317
set -euo pipefail

PATHS=${PATHS:-"/json /plaintext"}
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-3s}
CONNECTIONS=${CONNECTIONS:-256}
THREADS=${THREADS:-2}
PIPELINE=${PIPELINE:-0}
OUT=${OUT:-}
LOGS=${LOGS:-}
READY_TIMEOUT=${READY_TIMEOUT:-30}
STOP_TIMEOUT=${STOP_TIMEOUT:-5}
WRK_TIMEOUT=8            # wrk --timeout (seconds per request), as in TFB

SERVER_A=${SERVER_A:-}
SERVER_B=${SERVER_B:-}

die() { echo "compare.sh: $*" >&2; exit 2; }
usage() { sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; }

# ------------------------------------------------------------------ arguments
positional=()
while [ $# -gt 0 ]; do
    case $1 in
        -p|--paths)       PATHS=$2; shift 2 ;;
        -r|--rounds)      ROUNDS=$2; shift 2 ;;
        -d|--duration)    DURATION=$2; shift 2 ;;
        -w|--warmup)      WARMUP=$2; shift 2 ;;
        -c|--connections) CONNECTIONS=$2; shift 2 ;;
        -t|--threads)     THREADS=$2; shift 2 ;;
        --pipeline)       PIPELINE=$2; shift 2 ;;
        -o|--out)         OUT=$2; shift 2 ;;
        --logs)           LOGS=$2; shift 2 ;;
        -h|--help)        usage; exit 0 ;;
        --)               shift; positional+=("$@"); break ;;
        -*)               die "unknown option $1 (see --help)" ;;
        *)                positional+=("$1"); shift ;;
    esac
done
[ ${#positional[@]} -ge 1 ] && SERVER_A=${positional[0]}
[ ${#positional[@]} -ge 2 ] && SERVER_B=${positional[1]}
[ ${#positional[@]} -le 2 ] || die "expected two NAME=PORT=COMMAND arguments, got ${#positional[@]}"
[ -n "$SERVER_A" ] && [ -n "$SERVER_B" ] || { usage >&2; exit 2; }

# "name=port=command" -> NAME[i], PORT[i], CMD[i]
NAME=(); PORT=(); CMD=()
for spec in "$SERVER_A" "$SERVER_B"; do
    name=${spec%%=*}; rest=${spec#*=}
    port=${rest%%=*}; cmd=${rest#*=}
    [[ $spec == *=*=* && -n $name && -n $cmd ]] || die "bad server '$spec' (want NAME=PORT=COMMAND)"
    [[ $name =~ ^[A-Za-z0-9._-]+$ ]] || die "bad server name '$name' (letters, digits, . _ -)"
    [[ $port =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] || die "bad port '$port' in '$spec'"
    NAME+=("$name"); PORT+=("$port"); CMD+=("$cmd")
done
[ "${NAME[0]}" != "${NAME[1]}" ] || die "the two servers need different names"
[ "${PORT[0]}" != "${PORT[1]}" ] || die "the two servers need different ports"

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
is_uint "$ROUNDS" && [ "$ROUNDS" -ge 1 ] || die "bad rounds '$ROUNDS'"
is_uint "$CONNECTIONS" && [ "$CONNECTIONS" -ge 1 ] || die "bad connections '$CONNECTIONS'"
is_uint "$THREADS" && [ "$THREADS" -ge 1 ] || die "bad threads '$THREADS'"
is_uint "$PIPELINE" || die "bad pipeline depth '$PIPELINE'"
[ "$THREADS" -le "$CONNECTIONS" ] || die "threads ($THREADS) > connections ($CONNECTIONS)"
read -r -a PATH_LIST <<< "$PATHS"
[ ${#PATH_LIST[@]} -ge 1 ] || die "no paths"
for p in "${PATH_LIST[@]}"; do [[ $p == /* ]] || die "path '$p' must start with /"; done

# wrk duration -> seconds (for the time bounds)
seconds() {
    case $1 in
        *s) echo "${1%s}" ;; *m) echo $(( ${1%m} * 60 )) ;; *h) echo $(( ${1%h} * 3600 )) ;; *) echo "$1" ;;
    esac
}
DUR_S=$(seconds "$DURATION"); WARM_S=$(seconds "$WARMUP")
is_uint "$DUR_S" && [ "$DUR_S" -ge 1 ] || die "bad duration '$DURATION'"
is_uint "$WARM_S" || die "bad warm-up '$WARMUP'"

command -v wrk >/dev/null || die "wrk not found: apt-get install -y wrk"
command -v timeout >/dev/null || die "timeout(1) not found (coreutils)"

# ------------------------------------------------------------ workspace, trap
WORK=$(mktemp -d "${TMPDIR:-/tmp}/compare.XXXXXX")
if [ -n "$LOGS" ]; then mkdir -p "$LOGS"; LOGDIR=$LOGS; else LOGDIR=$WORK; fi
RESULTS=$WORK/results.tsv      # round server path rps p50_ms p99_ms non2xx sockerr
: > "$RESULTS"
SERVER_PID=""
WRK_PID=""

stop_server() {
    local pid=$SERVER_PID
    [ -n "$pid" ] || return 0
    SERVER_PID=""
WRK_PID=""
    # the command runs in its own process group (setsid): signal the group,
    # so that wrappers (env, sh -c, meson devenv ...) take their children along
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    local waited=0
    while kill -0 "$pid" 2>/dev/null && [ $waited -lt $((STOP_TIMEOUT * 10)) ]; do
        sleep 0.1; waited=$((waited + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "compare.sh: pid $pid ignored SIGTERM for ${STOP_TIMEOUT}s: SIGKILL" >&2
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$WRK_PID" ]; then kill -TERM "$WRK_PID" 2>/dev/null || true; wait "$WRK_PID" 2>/dev/null || true; fi
    stop_server
    [ -n "$LOGS" ] || rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_server INDEX ROUND: sets SERVER_PID once 127.0.0.1:PORT accepts connections
start_server() {
    local i=$1 round=$2 log pid waited=0
    log=$LOGDIR/${NAME[$i]}.round$round.log
    if port_open "${PORT[$i]}"; then
        die "127.0.0.1:${PORT[$i]} is already in use before starting ${NAME[$i]}"
    fi
    setsid bash -c "exec ${CMD[$i]}" > "$log" 2>&1 < /dev/null &
    pid=$!
    SERVER_PID=$pid
    until port_open "${PORT[$i]}"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "compare.sh: ${NAME[$i]} exited before listening; its output:" >&2
            tail -n 20 "$log" >&2
            exit 1
        fi
        if [ $waited -ge $((READY_TIMEOUT * 10)) ]; then
            echo "compare.sh: ${NAME[$i]} not listening on 127.0.0.1:${PORT[$i]} after ${READY_TIMEOUT}s" >&2
            tail -n 20 "$log" >&2
            exit 1
        fi
        sleep 0.1; waited=$((waited + 1))
    done
}

# TFB's pipelining script: DEPTH copies of the request in one write
PIPE_LUA=$WORK/pipeline.lua
cat > "$PIPE_LUA" <<'EOF'
local batch
function init(args)
  local copies = {}
  for i = 1, (tonumber(args[1]) or 1) do copies[i] = wrk.format() end
  batch = table.concat(copies)
end
function request() return batch end
EOF

# run_wrk PORT PATH DURATION OUTFILE: TFB-style headers, --latency, bounded
run_wrk() {
    local port=$1 path=$2 dur=$3 out=$4 accept script=()
    case $path in
        *plaintext*) accept='text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7'
                     [ "$PIPELINE" -gt 0 ] && script=(-s "$PIPE_LUA" -- "$PIPELINE") ;;
        *)           accept='application/json,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7' ;;
    esac
    # in the background, so that a signal to this script is handled at once
    timeout -k 5 $(( $(seconds "$dur") + WRK_TIMEOUT + 30 )) \
        wrk -H "Host: 127.0.0.1" -H "Accept: $accept" -H "Connection: keep-alive" \
            --latency --timeout "$WRK_TIMEOUT" -d "$dur" -c "$CONNECTIONS" -t "$THREADS" \
            "http://127.0.0.1:$port$path" "${script[@]}" > "$out" 2>&1 < /dev/null &
    WRK_PID=$!
    local rc=0
    wait "$WRK_PID" || rc=$?
    WRK_PID=""
    return $rc
}

# parse_wrk FILE -> "rps p50_ms p99_ms non2xx sockerr" (rps "-" if no result)
parse_wrk() {
    awk '
        function ms(v) {        # wrk prints 812.00us, 7.07ms, 1.20s, 2.00m
            if (v + 0 == 0) return "-"   # wrk reports 0 when pipelining: no data
            if (v ~ /us$/) return v / 1000
            if (v ~ /ms$/) return v + 0
            if (v ~ /s$/)  return v * 1000
            if (v ~ /m$/)  return v * 60000
            return v + 0
        }
        function fmt(v) { return (v == "" || v == "-") ? "-" : sprintf("%.2f", v) }
        $1 == "Requests/sec:"               { rps = $2 }
        $1 == "50%" && p50 == ""            { p50 = ms($2) }
        $1 == "99%" && p99 == ""            { p99 = ms($2) }
        /^ *Non-2xx or 3xx responses:/      { non2xx = $NF }
        /^ *Socket errors:/ {               # connect 0, read 0, write 0, timeout 0
            gsub(/,/, ""); sock = $4 + $6 + $8 + $10
        }
        END {
            if (rps == "") { print "- - - - -"; exit }
            printf "%.2f %s %s %d %d\n", rps, fmt(p50), fmt(p99), non2xx, sock
        }' "$1"
}

# ------------------------------------------------------------------ measuring
per_server=$(( ${#PATH_LIST[@]} * (DUR_S + WARM_S) ))
echo "compare: ${NAME[0]} (:${PORT[0]}) vs ${NAME[1]} (:${PORT[1]}); paths: ${PATH_LIST[*]}"
echo "         $ROUNDS rounds x (warm-up $WARMUP + $DURATION) per path; wrk -t$THREADS -c$CONNECTIONS" \
     "$( [ "$PIPELINE" -gt 0 ] && echo "(plaintext pipelined x$PIPELINE)")"
echo "         about $(( (2 * ROUNDS * per_server + 59) / 60 )) min of load, plus start/stop"

for round in $(seq 1 "$ROUNDS"); do
    if [ $((round % 2)) -eq 1 ]; then order="0 1"; else order="1 0"; fi
    for i in $order; do
        start_server "$i" "$round"
        for path in "${PATH_LIST[@]}"; do
            tag=${NAME[$i]}.round$round.${path//[^A-Za-z0-9._-]/_}
            if [ "$WARM_S" -gt 0 ]; then
                run_wrk "${PORT[$i]}" "$path" "$WARMUP" "$LOGDIR/$tag.warmup.txt" || true
            fi
            run_wrk "${PORT[$i]}" "$path" "$DURATION" "$LOGDIR/$tag.wrk.txt" ||
                echo "compare.sh: wrk failed for ${NAME[$i]} $path (round $round), see $LOGDIR/$tag.wrk.txt" >&2
            kill -0 "$SERVER_PID" 2>/dev/null || die "${NAME[$i]} died during $path (round $round)"
            read -r rps p50 p99 non2xx sockerr < <(parse_wrk "$LOGDIR/$tag.wrk.txt")
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
                "$round" "${NAME[$i]}" "$path" "$rps" "$p50" "$p99" "$non2xx" "$sockerr" >> "$RESULTS"
            printf '  round %d  %-10s %-14s %12s req/s  p50 %s ms  p99 %s ms  non-2xx %s  sock-err %s\n' \
                "$round" "${NAME[$i]}" "$path" "$rps" "$p50" "$p99" "$non2xx" "$sockerr"
        done
        stop_server
    done
done

# -------------------------------------------------------------------- summary
# One row per (path, server): median/min/max req/s, median p50/p99, summed errors;
# the ratio first/second on the first server's row. Prints Markdown rows.
summarize() {
    awk -F'\t' -v a="${NAME[0]}" -v b="${NAME[1]}" -v paths="${PATH_LIST[*]}" '
        function median(list,   v, n, i, j, t) {
            n = split(list, v, " ")
            if (n == 0) return ""
            for (i = 2; i <= n; i++) {              # insertion sort, n is small
                t = v[i] + 0
                for (j = i - 1; j >= 1 && v[j] + 0 > t; j--) v[j + 1] = v[j]
                v[j + 1] = t
            }
            return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
        }
        function lo(list,   v, n, i, m) { n = split(list, v, " "); m = v[1] + 0
            for (i = 2; i <= n; i++) if (v[i] + 0 < m) m = v[i] + 0; return m }
        function hi(list,   v, n, i, m) { n = split(list, v, " "); m = v[1] + 0
            for (i = 2; i <= n; i++) if (v[i] + 0 > m) m = v[i] + 0; return m }
        {
            k = $3 SUBSEP $2
            if ($4 == "-") { failed[k]++; next }
            rps[k] = rps[k] " " $4
            if ($5 != "-") p50[k] = p50[k] " " $5
            if ($6 != "-") p99[k] = p99[k] " " $6
            non2xx[k] += $7; sock[k] += $8
        }
        END {
            print "| path | server | median req/s | min-max req/s | p50 ms | p99 ms | non-2xx | socket errors | " a "/" b " |"
            print "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
            np = split(paths, P, " ")
            for (i = 1; i <= np; i++) {
                ka = P[i] SUBSEP a; kb = P[i] SUBSEP b
                ma = median(rps[ka]); mb = median(rps[kb])
                ratio = (ma != "" && mb != "" && mb > 0) ? sprintf("%.3f", ma / mb) : "n/a"
                for (s = 1; s <= 2; s++) {
                    k = (s == 1) ? ka : kb
                    if (rps[k] == "") {
                        printf "| %s | %s | no result | | | | | | %s |\n", P[i], (s == 1 ? a : b), (s == 1 ? ratio : "")
                        continue
                    }
                    printf "| %s | %s | %.0f | %.0f-%.0f | %s | %s | %d | %d%s | %s |\n",
                        P[i], (s == 1 ? a : b), median(rps[k]), lo(rps[k]), hi(rps[k]),
                        (p50[k] == "" ? "-" : sprintf("%.2f", median(p50[k]))),
                        (p99[k] == "" ? "-" : sprintf("%.2f", median(p99[k]))),
                        non2xx[k], sock[k], (failed[k] ? " (" failed[k] " runs failed)" : ""),
                        (s == 1 ? ratio : "")
                }
            }
        }' "$RESULTS"
}

TABLE=$(summarize)
echo
# the same rows, aligned for the terminal
echo "$TABLE" | grep -v '^| ---' | awk -F' *[|] *' '
    { for (i = 2; i < NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } n = NF }
    END { for (r = 1; r <= NR; r++) { line = ""
            for (i = 2; i < n; i++) line = line sprintf("%" (i <= 3 ? "-" : "") w[i] "s  ", cell[r, i])
            print line } }'

if [ -n "$OUT" ]; then
    {
        echo "# ${NAME[0]} vs ${NAME[1]}"
        echo
        echo "- ${NAME[0]}: \`${CMD[0]}\` on 127.0.0.1:${PORT[0]}"
        echo "- ${NAME[1]}: \`${CMD[1]}\` on 127.0.0.1:${PORT[1]}"
        echo "- $ROUNDS rounds, order alternating; per path a $WARMUP warm-up then $DURATION measured;" \
             "wrk -t$THREADS -c$CONNECTIONS --timeout $WRK_TIMEOUT --latency" \
             "$( [ "$PIPELINE" -gt 0 ] && echo "(plaintext pipelined x$PIPELINE)")"
        echo "- $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -sr)"
        echo "- p50/p99: medians over rounds of wrk's per-run percentiles; errors: totals over rounds"
        echo
        echo "$TABLE"
    } > "$OUT"
    echo
    echo "Markdown table written to $OUT"
fi
[ -n "$LOGS" ] && echo "server logs and raw wrk output kept in $LOGS"
exit 0
