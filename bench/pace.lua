-- Optional pacing for the wrk scripts in bench/: when the environment
-- variable BENCH_PACE_MS is set (a number of milliseconds, may have a
-- fraction), every connection waits that long before each request, so the
-- offered rate is about connections / (BENCH_PACE_MS + latency). wrk's
-- delay() takes whole milliseconds; the fraction is carried over from one
-- request to the next so the average is right. wrk measures latency from the
-- moment a request is written, so the pause is not counted in it.
local pace = tonumber(os.getenv("BENCH_PACE_MS") or "")
if pace and pace > 0 then
  local carry = 0
  function delay()
    local d = pace + carry
    local whole = math.floor(d)
    carry = d - whole
    return whole
  end
end
