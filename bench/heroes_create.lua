-- bench/heroes_create.lua - load POST /heroes (an INSERT per request) with wrk.
--
--   wrk -t2 -c32 -d10s http://127.0.0.1:8080/heroes -s bench/heroes_create.lua
--
-- Each request creates a hero with a name of its own (thread, counter) so that rows
-- are distinct; the body is JSON with Content-Type set, as a client would send it.
-- Responses other than 200 are counted by wrk as "Non-2xx"; the summary below also
-- prints how many came back, per status.

local counter = 0
local threads = {}

-- each thread's state gets its own thread_id (a global, so that thread:set reaches it)
function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  statuses = {}
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"name":"hero-%d-%d","secret_name":"secret-%d-%d","age":%d}',
    thread_id, counter, thread_id, counter, 18 + counter % 60)
  return wrk.format(nil, nil, nil, body)
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
