-- tests/soak/mixed.lua - wrk script for the soak run: every example route of
-- tern-service plus bad requests, in a fixed rotation per connection thread, and a
-- count of the statuses that came back (printed as one "statuses:" line at the end).
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local hero = '{"name":"Deadpond","secret_name":"Dive Wilson","age":30}'
local json = { ["Content-Type"] = "application/json" }
local big_header = { ["X-Big"] = string.rep("h", 20000) }
local api_key = { ["X-API-Key"] = "demo-key" }
local bearer = { ["Authorization"] = "Bearer alice-token" }
local item = '{"name":"Foo","price":35.4,"tax":3.2}'

function init(args)
  counts = {}
  n = 0
  reqs = {
    wrk.format("GET", "/"),
    wrk.format("GET", "/json"),
    wrk.format("GET", "/plaintext"),
    wrk.format("GET", "/items/5?q=somequery"),
    wrk.format("GET", "/items/7"),
    wrk.format("GET", "/healthz"),
    wrk.format("GET", "/readyz"),
    wrk.format("GET", "/red"),
    wrk.format("GET", "/mysql"),
    wrk.format("GET", "/db"),
    wrk.format("GET", "/queries?queries=5"),
    wrk.format("GET", "/queries?queries=abc"),
    wrk.format("GET", "/fortunes"),
    wrk.format("GET", "/updates?queries=3"),
    wrk.format("GET", "/cached-queries?count=10"),
    wrk.format("GET", "/sleep?ms=5"),
    wrk.format("GET", "/db/sleep?ms=5"),
    wrk.format("POST", "/heroes", json, hero),
    wrk.format("GET", "/heroes?offset=0&limit=10"),
    "HEROID",
    "HEROPATCH",
    "HERODELETE",
    wrk.format("POST", "/items", json, item),
    wrk.format("PUT", "/items/5?q=x", json, item),
    wrk.format("GET", "/secure/key", api_key),
    wrk.format("GET", "/secure/me", bearer),
    wrk.format("GET", "/secure/admin/stats", bearer),             -- 403: not an admin
    wrk.format("GET", "/secure/key"),                             -- 401
    wrk.format("GET", "/stream?n=3"),
    wrk.format("GET", "/sse?n=2&ms=5"),
    wrk.format("GET", "/openapi.json"),
    wrk.format("GET", "/docs"),
    wrk.format("GET", "/metrics"),
    -- bad requests: each answered with a JSON error, never a crash
    wrk.format("GET", "/items/foo"),                              -- 422
    wrk.format("GET", "/no/such/route"),                          -- 404
    wrk.format("POST", "/json", json, "{}"),                      -- 405
    wrk.format("POST", "/heroes", json, '{"name":'),              -- 422 json_invalid
    wrk.format("POST", "/heroes", json, '{"name":"x"}'),          -- 422 missing
    wrk.format("GET", "/heroes?limit=1000"),                      -- 422
    wrk.format("GET", "/sleep?ms=-1"),                            -- 422
    wrk.format("GET", "/items/%ff%fe?q=%00"),                     -- 422
    wrk.format("GET", "/", big_header),                           -- 431
  }
end

function request()
  n = n + 1
  local r = reqs[(n - 1) % #reqs + 1]
  if r == "HEROID" then
    return wrk.format("GET", "/heroes/" .. math.random(1, 3000))
  elseif r == "HEROPATCH" then
    return wrk.format("PATCH", "/heroes/" .. math.random(1, 3000), json, '{"age":31}')
  elseif r == "HERODELETE" then
    return wrk.format("DELETE", "/heroes/" .. math.random(1, 3000))
  end
  return r
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for status, c in pairs(t:get("counts")) do
      total[status] = (total[status] or 0) + c
    end
  end
  local keys = {}
  for status in pairs(total) do table.insert(keys, status) end
  table.sort(keys)
  local parts = {}
  for _, status in ipairs(keys) do table.insert(parts, status .. "=" .. total[status]) end
  io.write("statuses: " .. table.concat(parts, " ") .. "\n")
  io.write(string.format("requests: %d errors: connect=%d read=%d write=%d timeout=%d status=%d\n",
    summary.requests, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout, summary.errors.status))
end
