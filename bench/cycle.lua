-- wrk script for introspection of many distinct tokens: each request sends
-- the next token of a file (round robin, each thread starting at its own
-- offset), so a token comes back only after all the others. With more
-- tokens than gh_keys remembers (512), every request pays a full signature
-- verification: the cost of a token seen for the first time.
-- Arguments after "--": token_file nthreads
-- Client authentication and Content-Type come from wrk -H.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")


function init(args)
  tokens = {}
  for line in io.lines(args[1]) do
    if line ~= "" then tokens[#tokens + 1] = line end
  end
  local nthreads = tonumber(args[2] or "1")
  ntokens = #tokens
  pos = math.floor(#tokens * tid / nthreads)
  bench_status_init()
end

function request()
  pos = pos % #tokens + 1
  return wrk.format("POST", "/introspect", nil, "token=" .. tokens[pos])
end

function response(status, headers, body)
  if bench_status(status, body) and not (body and body:find('"active":true', 1, true)) then
    non2xx = non2xx + 1
    codes[299] = (codes[299] or 0) + 1 -- 299: a 200 that said active=false
    if sample == "" then sample = body or "" end
  end
end

function done(summary, latency, requests)
  local extra, first = bench_status_summary(bench_threads)
  local n = bench_threads[1] and bench_threads[1]:get("ntokens") or 0
  bench_report(summary, latency, extra .. string.format(" tokens=%d", n))
  bench_sample(first)
  if os.getenv("BENCH_QUANTILES") then bench_quantiles(latency) end
end
