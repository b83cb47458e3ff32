# bench/report.awk - turns bench/run.sh's raw measurements into Markdown tables.
#
#   awk -F'\t' -v what=main -v table=w1 -f bench/report.awk ceiling.tsv runs.tsv
#
# runs.tsv:    table round server endpoint conns rps p50_ms p99_ms errors cpu_us hwm_kb
# ceiling.tsv: table round kind threads events_per_s   (kind: point, pairs)
# what:  main    one row per (endpoint, server): median req/s over rounds and min-max,
#                medians of p50/p99 and CPU per request, summed errors, largest peak RSS,
#                and on tern's rows its ratios to h2o-bare and FastAPI
#        ceiling tern against the database ceiling measured with sysbench
# Ratios are paired: tern's figure over the peer's (or the ceiling's) of the same round,
# the median of those per-round ratios. Both ran within a minute or two of each other,
# so the VM's drift over a run (up to 1.5x) cancels out of each pair.
#        goals   the performance goals, each with the measured value and PASS/MISS
#        sweep   requests/s per endpoint, connection count and server
#        pipe    pipelined /plaintext per server
#        chart   "endpoint tern h2o-bare fastapi" lines for gnuplot (NaN: no such run)
# A "-" in rps means wrk failed: that run counts as failed and is left out of medians.

function median(list,   v, n, i, j, t) {
    n = split(list, v, " ")
    if (n == 0) return ""
    for (i = 2; i <= n; i++) {          # insertion sort: a handful of rounds
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
function add(arr, k, v) { arr[k] = (k in arr) ? arr[k] " " v : v }
function num(x,   s, out) {          # 12345.6 -> 12,346 (any awk, no locale)
    s = sprintf("%.0f", x); out = ""
    while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
    return s out
}
function ratio(a, b) { return (a != "" && b != "" && b + 0 > 0) ? a / b : "" }
function fmt2(x) { return x == "" ? "n/a" : sprintf("%.2f", x) }
# queries per request of a queries-style endpoint (1 for /db)
function per_request(ep,   m) { return match(ep, /queries=[0-9]+/) ? substr(ep, RSTART + 8, RLENGTH - 8) + 0 : 1 }
# (an awk array grows on every lookup: test with "in" first, so no empty rows appear)
function rps_of(t, ep, s,   k) { k = t SUBSEP ep SUBSEP s; return (k in RPS) ? median(RPS[k]) : "" }
function kind_of(ep) { return ep ~ /^\/updates/ ? "pairs" : "point" }
function ceiling_for(ep,   k) { k = table SUBSEP kind_of(ep); return (k in CEIL) ? median(CEIL[k]) : "" }
# the median over rounds of (what a's server did ÷ what b's did) in the same round; what:
# RPS or CPU, a and b servers ("ceiling" for b: the sysbench figure of that round, the
# endpoint's req/s then counted in queries)
function val(what, k) {
    if (what == "CPU") return (k in CPUR) ? CPUR[k] : ""
    return (k in RPSR) ? RPSR[k] : ""
}
function paired(what, t, ep, a, b,   r, x, y, k, list) {
    list = ""
    for (r = 1; r <= MAXROUND; r++) {
        x = val(what, t SUBSEP ep SUBSEP a SUBSEP r)
        if (x == "") continue
        if (b == "ceiling") {
            k = t SUBSEP kind_of(ep) SUBSEP r
            if (!(k in CEILR)) continue
            x *= per_request(ep); y = CEILR[k]
        } else {
            y = val(what, t SUBSEP ep SUBSEP b SUBSEP r)
        }
        if (y != "" && y + 0 > 0) list = list " " x / y
    }
    return median(list)
}
function goal(name, value, op, bound,   ok) {
    if (value == "") { printf "| %s | n/a | %s %s | MISS (no data) |\n", name, op, bound; return }
    ok = op == ">=" ? value >= bound : value <= bound
    printf "| %s | %.2f | %s %s | %s |\n", name, value, op, bound, ok ? "PASS" : "MISS"
}

FILENAME ~ /ceiling/ {
    if ($5 != "-") { add(CEIL, $1 SUBSEP $3, $5); CEILR[$1 SUBSEP $3 SUBSEP $2] = $5 }
    next
}
{
    k = $1 SUBSEP $4 SUBSEP $3
    if (!(($1 SUBSEP $4) in SEEN_EP)) { SEEN_EP[$1 SUBSEP $4] = 1; EPS[$1] = EPS[$1] " " $4 }
    if (!(($1 SUBSEP $5) in SEEN_C)) { SEEN_C[$1 SUBSEP $5] = 1; CONNS[$1] = CONNS[$1] " " $5 }
    if ($6 == "-") { FAILED[k]++; next }
    add(RPS, k, $6); add(P50, k, $7); add(P99, k, $8); ERR[k] += $9
    if ($10 != "-") add(CPU, k, $10)
    RPSR[k SUBSEP $2] = $6
    if ($10 != "-") CPUR[k SUBSEP $2] = $10
    if ($2 + 0 > MAXROUND) MAXROUND = $2 + 0
    if ($11 + 0 > HWM[k] + 0) HWM[k] = $11
    KC = $1 SUBSEP $4 SUBSEP $5 SUBSEP $3; add(RPSC, KC, $6)
}

END {
    ns = split("tern h2o-bare fastapi", S, " ")
    ne = split(EPS[table], E, " ")
    if (what == "main") {
        print "| endpoint | server | req/s (median) | min-max | p50 ms | p99 ms | errors | CPU µs/req | peak RSS MB | tern ÷ h2o-bare: req/s, CPU/req | tern ÷ FastAPI: req/s |"
        print "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        for (i = 1; i <= ne; i++) for (j = 1; j <= ns; j++) {
            k = table SUBSEP E[i] SUBSEP S[j]
            if (!(k in RPS) && !(k in FAILED)) continue
            if (!(k in RPS)) { printf "| %s | %s | failed | | | | | | | | |\n", E[i], S[j]; continue }
            vs_bare = vs_fa = ""
            if (S[j] == "tern") {
                rb = paired("RPS", table, E[i], "tern", "h2o-bare")
                cb = paired("CPU", table, E[i], "tern", "h2o-bare")
                if (rb != "") vs_bare = sprintf("%.2f, %s", rb, fmt2(cb))
                rf = paired("RPS", table, E[i], "tern", "fastapi")
                if (rf != "") vs_fa = sprintf("%.2f", rf)
            }
            printf "| %s | %s | %s | %s-%s | %.2f | %.2f | %d%s | %s | %.1f | %s | %s |\n",
                E[i], S[j], num(median(RPS[k])), num(lo(RPS[k])), num(hi(RPS[k])),
                median(P50[k]), median(P99[k]), ERR[k], (k in FAILED) ? " (" FAILED[k] " runs failed)" : "",
                (k in CPU) ? sprintf("%.1f", median(CPU[k])) : "n/a", HWM[k] / 1024, vs_bare, vs_fa
        }
    } else if (what == "ceiling") {
        print "| endpoint | tern queries/s (or pairs/s), median | database ceiling (sysbench), median | tern ÷ ceiling, same round |"
        print "| --- | ---: | ---: | ---: |"
        for (i = 1; i <= ne; i++) {
            if (E[i] !~ /^\/(db|queries|updates)/) continue
            r = rps_of(table, E[i], "tern"); c = ceiling_for(E[i])
            q = r == "" ? "" : r * per_request(E[i])
            printf "| %s | %s | %s %s | %s |\n", E[i], q == "" ? "n/a" : num(q),
                c == "" ? "n/a" : num(c), E[i] ~ /^\/updates/ ? "pairs/s" : "selects/s",
                fmt2(paired("RPS", table, E[i], "tern", "ceiling"))
        }
    } else if (what == "goals") {
        print "| goal | measured | bound | verdict |"
        print "| --- | ---: | ---: | --- |"
        for (i = 1; i <= ne; i++) {
            e = E[i]
            if (e == "/json" || e == "/plaintext") {
                goal(e " req/s ÷ h2o-bare", paired("RPS", table, e, "tern", "h2o-bare"), ">=", 0.9)
                goal(e " CPU/req ÷ h2o-bare", paired("CPU", table, e, "tern", "h2o-bare"), "<=", 1.15)
            }
            want = e == "/db" ? 4 : e == "/queries?queries=20" ? 2.5 : e == "/updates?queries=20" ? 1.5 : \
                   e == "/fortunes" ? 5 : e == "/red" ? 8 : 0
            if (want) goal(e " req/s ÷ FastAPI", paired("RPS", table, e, "tern", "fastapi"), ">=", want)
            bound = e == "/db" ? 0.6 : (e == "/queries?queries=20" || e == "/updates?queries=20") ? 0.8 : 0
            if (bound) goal(e " ÷ database ceiling", paired("RPS", table, e, "tern", "ceiling"), ">=", bound)
        }
    } else if (what == "sweep") {
        nc = split(CONNS[table], C, " ")
        print "| endpoint | connections | tern req/s | h2o-bare req/s | FastAPI req/s | tern ÷ peer |"
        print "| --- | ---: | ---: | ---: | ---: | ---: |"
        for (i = 1; i <= ne; i++) for (c = 1; c <= nc; c++) {
            line = "| " E[i] " | " C[c]; peer = ""
            for (j = 1; j <= ns; j++) {
                kc = table SUBSEP E[i] SUBSEP C[c] SUBSEP S[j]
                v = (kc in RPSC) ? median(RPSC[kc]) : ""
                line = line " | " (v == "" ? "-" : num(v))
                if (j == 1) t = v
                if (j > 1 && peer == "" && v != "") peer = v
            }
            print line " | " fmt2(ratio(t, peer)) " |"
        }
    } else if (what == "pipe") {
        print "| server | responses/s | errors | CPU µs/response |"
        print "| --- | ---: | ---: | ---: |"
        for (i = 1; i <= ne; i++) for (j = 1; j <= ns; j++) {
            k = table SUBSEP E[i] SUBSEP S[j]
            if (!(k in RPS)) continue
            printf "| %s | %s | %d | %s |\n", S[j], num(median(RPS[k])), ERR[k],
                (k in CPU) ? sprintf("%.2f", median(CPU[k])) : "n/a"
        }
    } else if (what == "chart") {
        for (i = 1; i <= ne; i++) {
            line = E[i]
            for (j = 1; j <= ns; j++) { v = rps_of(table, E[i], S[j]); line = line " " (v == "" ? "NaN" : v) }
            print line
        }
    }
}
