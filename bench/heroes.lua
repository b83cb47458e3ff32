-- bench/heroes.lua - load the hero writes of tern-service (FastAPI's SQL tutorial) with wrk.
--
--   wrk -t2 -c32 -d10s http://127.0.0.1:8080 -s bench/heroes.lua -- create
--   wrk -t2 -c32 -d10s http://127.0.0.1:8080 -s bench/heroes.lua -- update 1000
--
-- create: POST /heroes, a JSON body with a name of its own per request (thread and
--         counter), so that every row is distinct (an INSERT per request).
-- update: PATCH /heroes/{id} with a new age, on random ids 1..N (default 100): a SELECT
--         and an UPDATE per request, and the cached copy dropped from Redis. Create N
--         heroes first; a hero that does not exist answers 404.
-- Both send Content-Type: application/json. At the end it prints how many responses
-- came back per status ("status 200: 51234"); wrk counts anything but 2xx/3xx as Non-2xx.

local threads = {}
local mode, max_id, counter = "create", 100, 0

-- each thread's Lua state gets its own thread_id (a global, so that thread:set reaches it)
function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  mode = args[1] or mode
  if mode ~= "create" and mode ~= "update" then
    error("heroes.lua: the mode is create or update, not " .. mode)
  end
  max_id = tonumber(args[2]) or max_id
  wrk.method = mode == "create" and "POST" or "PATCH"
  wrk.headers["Content-Type"] = "application/json"
  statuses = {}
  math.randomseed(os.time() * 100 + (thread_id or 0))
end

function request()
  counter = counter + 1
  if mode == "create" then
    local body = string.format('{"name":"hero-%d-%d","secret_name":"secret-%d-%d","age":%d}',
      thread_id, counter, thread_id, counter, 18 + counter % 60)
    return wrk.format(nil, "/heroes", nil, body)
  end
  local body = string.format('{"age":%d}', math.random(18, 99))
  return wrk.format(nil, "/heroes/" .. math.random(1, max_id), nil, body)
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
