-- wrk script for GET /healthz/ready: only adds the machine-readable summary
-- line; no request()/response() so wrk sends its static request at full speed.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

function done(summary, latency, requests)
  bench_report(summary, latency)
end
