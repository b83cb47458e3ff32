-- tests/fault/status.lua - wrk script: counts responses by HTTP status across all
-- threads and prints one machine-readable summary for drill.sh.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("statuses")) do
      total[code] = (total[code] or 0) + n
    end
  end
  local parts = {}
  for code, n in pairs(total) do
    table.insert(parts, code .. "=" .. n)
  end
  table.sort(parts)
  local e = summary.errors
  io.write(string.format("DRILL requests=%d statuses=%s connect=%d read=%d write=%d timeout=%d p99_ms=%.1f\n",
    summary.requests, table.concat(parts, ","), e.connect, e.read, e.write, e.timeout,
    latency:percentile(99) / 1000))
end
