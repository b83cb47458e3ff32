-- bench/pipeline.lua - HTTP/1.1 pipelining for wrk, as the TechEmpower plaintext test
-- loads a server: every write carries DEPTH copies of the request given on wrk's
-- command line (its URL and -H headers), and the connection sends the next batch as
-- soon as wrk has read the answers to the previous one.
--
--   wrk -t2 -c256 -d10s --latency http://127.0.0.1:8080/plaintext -s bench/pipeline.lua -- 16
--
-- DEPTH is the first argument after "--" (default 16, TechEmpower's depth). wrk counts
-- each answer as a request, so requests/s are responses per second; its latency figures
-- time whole batches.

local batch

function init(args)
  local depth = tonumber(args[1]) or 16
  if depth < 1 then
    error("pipeline.lua: the depth must be at least 1")
  end
  -- wrk.format() renders the configured request once; the batch is that text repeated
  batch = string.rep(wrk.format(), math.floor(depth))
end

function request()
  return batch
end
