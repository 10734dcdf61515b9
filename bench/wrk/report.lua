-- Shared by every wrk script: count 2xx/3xx answers and 429s per thread and print one
-- JSON line with throughput and latency percentiles (microseconds) when the run ends.
-- wrk's own "status" errors are every answer of 400 or more, 429s included.
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

ok = 0
limited = 0
function response(status, headers, body)
  if status < 400 then ok = ok + 1 elseif status == 429 then limited = limited + 1 end
end

function done(summary, latency, requests)
  local answered, refused = 0, 0
  for _, t in ipairs(threads) do
    answered = answered + t:get("ok")
    refused = refused + t:get("limited")
  end
  local seconds = summary.duration / 1e6
  io.write(string.format(
    '{"requests": %d, "ok": %d, "rps": %.1f, "p50_us": %d, "p99_us": %d, ' ..
    '"socket_errors": %d, "http_errors": %d, "limited": %d, "seconds": %.2f}\n',
    summary.requests, answered, summary.requests / seconds,
    latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, refused, seconds))
end
