-- Shared by the wrk scripts in bench/: prints one machine-readable line that
-- bench/run.sh parses. Latency values are microseconds.
function bench_report(summary, latency, extra)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
    "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d mean_us=%d%s\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout, latency.mean, extra or ""))
end

-- The latency distribution as "BENCH_Q q:us ..." (q in %: every 1% up to 90,
-- then every 0.05%, and the maximum as 100), so that bench/lib.sh can merge the runs of several wrk
-- processes (one per server instance) into one p99.
function bench_quantiles(latency)
  local parts = {}
  for q = 1, 90 do
    parts[#parts + 1] = string.format("%g:%d", q, latency:percentile(q))
  end
  for k = 1, 199 do
    local q = 90 + k * 0.05
    parts[#parts + 1] = string.format("%g:%d", q, latency:percentile(q))
  end
  -- wrk's percentile(100) answers 0: the top is the maximum
  parts[#parts + 1] = string.format("100:%d", latency.max)
  io.write("BENCH_Q " .. table.concat(parts, " ") .. "\n")
end

-- Status counting for scripts with a response() function: per-thread
-- tables, summed in done() by bench_status_summary(threads).
function bench_status_init()
  non2xx = 0
  codes = {}    -- status -> count, for non-2xx only
  sample = ""   -- body of the first non-2xx response
end

function bench_status(status, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    codes[status] = (codes[status] or 0) + 1
    if sample == "" then sample = body or "" end
    return false
  end
  return true
end

-- " non2xx=N codes=S" for bench_report, and the first non-2xx body.
function bench_status_summary(threads)
  local total, bycode, first = 0, {}, ""
  for _, t in ipairs(threads) do
    total = total + (t:get("non2xx") or 0)
    for code, c in pairs(t:get("codes") or {}) do
      bycode[code] = (bycode[code] or 0) + c
    end
    local s = t:get("sample") or ""
    if first == "" then first = s end
  end
  local parts = {}
  for code, c in pairs(bycode) do table.insert(parts, code .. ":" .. c) end
  table.sort(parts)
  return string.format(" non2xx=%d codes=%s", total, #parts > 0 and table.concat(parts, ",") or "-"), first
end

function bench_sample(first)
  if first ~= "" then
    io.write("BENCH_SAMPLE " .. first:gsub("[\r\n]", " "):sub(1, 400) .. "\n")
  end
end

-- Every wrk thread, in the order wrk set them up; each thread's global `tid`
-- is its index from 0, so scripts can split work between threads. done()
-- runs in its own state and reads per-thread figures through these.
bench_threads = {}

function setup(thread)
  thread:set("tid", #bench_threads)
  table.insert(bench_threads, thread)
end
