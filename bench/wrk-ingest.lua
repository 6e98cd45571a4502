-- wrk script: POSTs a ~1 KiB JSON event with a unique id per request (thread-prefixed),
-- so every request is a new durable append, not a duplicate.
local counter = 0
local thread_id = 0
local pad = string.rep("x", 900)

function setup(thread)
  thread:set("tid", thread_id)
  thread_id = thread_id + 1
end

function init(args)
  prefix = "wrk-" .. tostring(tid) .. "-" .. tostring(os.time()) .. "-"
end

function request()
  counter = counter + 1
  local body = '{"id":"' .. prefix .. counter .. '","type":"bench.event","data":{"pad":"' .. pad .. '"}}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end

local statuses = {}
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  io.write(string.format("p50_ms=%.2f p99_ms=%.2f\n", latency:percentile(50) / 1000,
                         latency:percentile(99) / 1000))
end
