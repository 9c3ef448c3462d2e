-- wrk script: one fixed request, sent as wrk's static request (no
-- request()/response() in Lua, so wrk runs at full speed).
-- Arguments after "--": [method [body]]   (default GET, no body)
-- Headers come from wrk -H. Responses with status >= 400 are counted by wrk
-- itself (err_status). BENCH_PACE_MS paces it (see pace.lua);
-- BENCH_QUANTILES=1 adds the latency distribution (see report.lua).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")
dofile(dir .. "pace.lua")

function init(args)
  if args[1] and args[1] ~= "" then wrk.method = args[1] end
  if args[2] and args[2] ~= "" then wrk.body = args[2] end
end

function done(summary, latency, requests)
  bench_report(summary, latency)
  if os.getenv("BENCH_QUANTILES") then bench_quantiles(latency) end
end
