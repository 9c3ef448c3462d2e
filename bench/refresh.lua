-- wrk script for the refresh_token grant. Refresh tokens are single-use and
-- rotate, so each request must send the token returned by the previous
-- response of the same chain. Each wrk thread keeps a queue of live tokens:
-- request() takes one, response() puts back the new one from the body.
-- Every connection has one request in flight, so with at least as many
-- tokens as connections each connection carries its own chain.
-- Arguments after "--": token_file nthreads
--   token_file  one refresh token per line (each from its own code flow);
--               thread k takes lines k+1, k+1+nthreads, ...
-- Client authentication (Authorization: Basic) and Content-Type come from
-- wrk -H. A request made with no token left is sent with an invalid one and
-- shows up as a 400 (chains end when a response carries no new token).
-- BENCH_PACE_MS paces it (see pace.lua); BENCH_QUANTILES=1 as elsewhere.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")
dofile(dir .. "pace.lua")


function init(args)
  local nthreads = tonumber(args[2] or "1")
  queue, head, tail = {}, 1, 0
  local n = 0
  for line in io.lines(args[1]) do
    if n % nthreads == tid and line ~= "" then
      tail = tail + 1
      queue[tail] = line
    end
    n = n + 1
  end
  tokens_loaded = tail
  starved = 0
  bench_status_init()
end

function request()
  local t
  if head <= tail then
    t = queue[head]
    queue[head] = nil
    head = head + 1
  else
    t = "no-token-left"
    starved = starved + 1
  end
  return wrk.format("POST", "/token", nil, "grant_type=refresh_token&refresh_token=" .. t)
end

function response(status, headers, body)
  if bench_status(status, body) then
    local t = body and body:match('"refresh_token"%s*:%s*"([^"]+)"')
    if t then
      tail = tail + 1
      queue[tail] = t
    end
  end
end

function done(summary, latency, requests)
  local extra, first = bench_status_summary(bench_threads)
  local loaded, st = 0, 0
  for _, t in ipairs(bench_threads) do
    loaded = loaded + (t:get("tokens_loaded") or 0)
    st = st + (t:get("starved") or 0)
  end
  bench_report(summary, latency, extra .. string.format(" chains=%d starved=%d", loaded, st))
  bench_sample(first)
  if os.getenv("BENCH_QUANTILES") then bench_quantiles(latency) end
end
