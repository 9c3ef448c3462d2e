-- wrk script for a health probe next to a load run: GET (the URL given to
-- wrk) once every BENCH_PACE_MS milliseconds per connection (see pace.lua),
-- like a load balancer's health check but much more often, so it samples
-- latency without taking CPU away from the load. Use with -t1 -c1.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")
dofile(dir .. "pace.lua")

function done(summary, latency, requests)
  bench_report(summary, latency)
end
