-- wrk script for GET /healthz/ready at a reduced rate. Debian's wrk 4.1 has
-- no -R (that is wrk2), so each connection waits delay_ms after every
-- response: rate ~= connections * 1000 / (delay_ms + latency). It is still a
-- closed loop (a slow response delays the next request), so it understates
-- tail latency compared with a true constant-rate generator.
-- Arguments after "--": delay_ms.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

function init(args)
  delay_ms = tonumber(args[1]) or 1
end

function delay()
  return delay_ms
end

function done(summary, latency, requests)
  bench_report(summary, latency)
end
