-- wrk script: posts the pre-signed GitHub requests of the file in PRESIGNED (written by
-- bench/presign.py), each thread its own stride of the lines, so every request is a new,
-- validly signed event. When a thread runs out of lines it starts over (duplicates: 200).
local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

function init(args)
  local n = tonumber(os.getenv("WRK_THREADS") or "2")
  reqs = {}
  local i = 0
  for line in io.lines(os.getenv("PRESIGNED")) do
    if i % n == tid then
      local body, sig, delivery = line:match("^(.-)\t(.-)\t(.-)$")
      reqs[#reqs + 1] = wrk.format("POST", nil, {
        ["Content-Type"] = "application/json",
        ["X-Hub-Signature-256"] = sig,
        ["X-GitHub-Delivery"] = delivery,
        ["X-GitHub-Event"] = "push",
      }, body)
    end
    i = i + 1
  end
  idx = 0
end

function request()
  idx = idx % #reqs + 1
  return reqs[idx]
end

function done(summary, latency, requests)
  io.write(string.format("p50_ms=%.2f p99_ms=%.2f\n", latency:percentile(50) / 1000,
                         latency:percentile(99) / 1000))
end
