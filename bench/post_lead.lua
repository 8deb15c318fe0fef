-- wrk script: POST a lead with a phone number unique per request.
-- usage: wrk ... -s bench/post_lead.lua <url> -- <run-tag digits>
-- Prints one JSON line (prefixed BENCH_JSON) with requests, status counts and
-- latency percentiles, which bench/loadgen.py parses.

local threads = {}
local next_tid = 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

function init(args)
  tag = tonumber(args[1] or "1") or 1
  counter = 0
  statuses = {}
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  local auth = os.getenv("BENCH_AUTHORIZATION")
  if auth and auth ~= "" then wrk.headers["Authorization"] = auth end
end

function request()
  counter = counter + 1
  -- +1 <tag:2><tid:2><counter:8>: 13 digits after the country code, unique per run
  local phone = string.format("+1%02d%02d%08d", tag, tid, counter)
  local body = string.format(
    '{"name":"Bench Lead %d-%d","company":"Bench Co","phone":"%s","source":"web_form"}',
    tid, counter, phone)
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local merged = {}
  for _, t in ipairs(threads) do
    local st = t:get("statuses")
    if st then
      for k, v in pairs(st) do merged[k] = (merged[k] or 0) + v end
    end
  end
  local parts = {}
  for k, v in pairs(merged) do table.insert(parts, string.format('"%s":%d', k, v)) end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"statuses":{%s},"latency_us":{"min":%d,"mean":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    table.concat(parts, ","),
    latency.min, latency.mean, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9)))
end
