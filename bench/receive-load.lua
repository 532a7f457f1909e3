-- receive-load.lua: the wrk script of bench-receive.
--
-- Each thread posts signed webhook bodies (from the file named by $BODIES,
-- which defines `bodies` and `sigs`) until it has sent $QUOTA of them, then
-- sends GET /__tail (answered 403 by both servers, writing nothing) until
-- every post it sent has been answered, and stops.  So the 200s counted
-- here are exactly the bodies the server accepted.  wrk itself waits out
-- its -d duration even when every thread has stopped, so each thread
-- creates $STAMPS/done-<n> when it stops (the bench then interrupts wrk)
-- and the rate is computed from the threads' own start and stop times.
local quota = tonumber(os.getenv("QUOTA") or "25000")
local stamps = os.getenv("STAMPS") or "/tmp"
dofile(os.getenv("BODIES"))
local threads = {}
local tail = wrk.format("GET", "/__tail")
i, sent, answered, ok, started, stopped = 0, 0, 0, 0, 0, 0
verify_call, id = 0, 0

local function now()
  local p = io.popen("date +%s.%N")
  local t = tonumber(p:read("*l"))
  p:close()
  return t
end

-- wrk calls request() once on the first thread's state before the run, to
-- check what it returns; that call must not count as a post.
function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
  if #threads == 1 then
    thread:set("verify_call", 1)
  end
end

function request()
  if verify_call == 1 then
    verify_call = 0
    return tail
  end
  if sent >= quota then
    return tail
  end
  if started == 0 then
    started = now()
  end
  i = i % #bodies + 1
  sent = sent + 1
  return wrk.format("POST", "/webhook",
    {["Content-Type"] = "application/json", ["X-Hub-Signature-256"] = sigs[i]}, bodies[i])
end

function response(status, headers, body)
  if status ~= 403 then
    answered = answered + 1
    if status == 200 then ok = ok + 1 end
  end
  if stopped == 0 and sent >= quota and answered >= sent then
    stopped = now()
    local f = io.open(stamps .. "/done-" .. id, "w")
    f:close()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local posts, oks, t0, t1 = 0, 0, nil, nil
  for _, t in ipairs(threads) do
    posts = posts + t:get("answered")
    oks = oks + t:get("ok")
    local s, e = t:get("started"), t:get("stopped")
    if s > 0 and (not t0 or s < t0) then t0 = s end
    if e > 0 and (not t1 or e > t1) then t1 = e end
  end
  local secs = (t0 and t1) and (t1 - t0) or (summary.duration / 1e6)
  io.write(string.format(
    "RESULT posts=%d ok=%d seconds=%.3f rps=%.0f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f errors=%d\n",
    posts, oks, secs, posts / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
