-- wrk script for a health probe next to a load run: GET (the URL given to
-- wrk) once every BENCH_PACE_MS milliseconds per connection (see pace.lua),
-- like a load balancer's health check but much more often, so it samples
-- latency without taking CPU away from the load. Use with -t1 -c1.
--
-- With BENCH_PROBE_LOG set to a file name, every probe that took at least
-- 5 ms is appended to it as "<start_us> <end_us>" (CLOCK_MONOTONIC
-- microseconds, the clock bench/stall.c logs with), so that slow probes can
-- be matched with the machine's own stalls.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")
dofile(dir .. "pace.lua")

local log_name = os.getenv("BENCH_PROBE_LOG")
if log_name and log_name ~= "" then
  local ffi = require("ffi")
  ffi.cdef [[
    typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
    int clock_gettime(int clock, bench_timespec *ts);
  ]]
  local CLOCK_MONOTONIC = 1
  local ts = ffi.new("bench_timespec")
  local function now_us()
    ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
    return tonumber(ts.tv_sec) * 1000000 + math.floor(tonumber(ts.tv_nsec) / 1000)
  end
  local started = 0

  -- Defining request() makes wrk call it for every request, just before
  -- writing it: the start of the probe.
  function request()
    started = now_us()
    return wrk.format()
  end

  function response(status, headers, body)
    local ended = now_us()
    if ended - started >= 5000 then
      local f = io.open(log_name, "a")
      if f then
        f:write(string.format("%d %d\n", started, ended))
        f:close()
      end
    end
  end
end

function done(summary, latency, requests)
  bench_report(summary, latency)
end
