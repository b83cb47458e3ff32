-- bench/heroes_update.lua - load PATCH /heroes/{id} (a SELECT and an UPDATE per
-- request, and the cached copy dropped from Redis) with wrk.
--
--   wrk -t2 -c32 -d10s http://127.0.0.1:8080 -s bench/heroes_update.lua -- 1000
--
-- The argument is the highest hero id to touch (default 100); ids are picked at
-- random in 1..N, so create that many heroes first (heroes_create.lua). A hero that
-- does not exist answers 404, which wrk counts as "Non-2xx"; the summary prints how
-- many came back, per status.

local max_id = 100
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  max_id = tonumber(args[1]) or max_id
  wrk.method = "PATCH"
  wrk.headers["Content-Type"] = "application/json"
  statuses = {}
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)"), 16) % 100000)
end

function request()
  local id = math.random(1, max_id)
  local body = string.format('{"age":%d}', math.random(18, 99))
  return wrk.format(nil, "/heroes/" .. id, nil, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("statuses")) do
      total[status] = (total[status] or 0) + n
    end
  end
  for status, n in pairs(total) do
    io.write(string.format("status %d: %d\n", status, n))
  end
end
