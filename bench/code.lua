-- wrk script for the authorization code flow of a signed-in user: a GET
-- /authorize answered 302 with a new code, then the code's exchange at POST
-- /token (which writes token.issued to the tenant's audit chain). Each wrk
-- thread keeps a queue of codes: response() puts the code of a redirect in,
-- request() sends an exchange when a code is waiting, else a new /authorize.
-- So about half the requests are each; "flows" counts the exchanges that
-- returned tokens.
-- Arguments after "--": authorize_path token_body_prefix
--   authorize_path     /authorize?... (the session cookie comes from wrk -H)
--   token_body_prefix  the form body up to "code=", e.g.
--                      grant_type=authorization_code&redirect_uri=...&code_verifier=...&
-- Client authentication, Cookie and Content-Type come from wrk -H (each
-- endpoint ignores the headers meant for the other).
-- BENCH_PACE_MS paces it (see pace.lua); BENCH_QUANTILES=1 as elsewhere.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")
dofile(dir .. "pace.lua")

function init(args)
  authorize = args[1]
  prefix = args[2]
  queue, head, tail = {}, 1, 0
  flows, nocode = 0, 0
  bench_status_init()
end

function request()
  if head <= tail then
    local c = queue[head]
    queue[head] = nil
    head = head + 1
    return wrk.format("POST", "/token", nil, prefix .. "code=" .. c)
  end
  return wrk.format("GET", authorize)
end

function response(status, headers, body)
  if status == 302 then
    local loc = headers["Location"] or headers["location"] or ""
    local c = loc:match("[?&]code=([^&]+)")
    if c then
      tail = tail + 1
      queue[tail] = c
    else
      nocode = nocode + 1
      bench_status(400, "302 without a code: " .. loc)
    end
    return
  end
  if bench_status(status, body) and body and body:find('"access_token"', 1, true) then
    flows = flows + 1
  end
end

function done(summary, latency, requests)
  local extra, first = bench_status_summary(bench_threads)
  local f, nc = 0, 0
  for _, t in ipairs(bench_threads) do
    f = f + (t:get("flows") or 0)
    nc = nc + (t:get("nocode") or 0)
  end
  bench_report(summary, latency, extra .. string.format(" flows=%d flows_per_s=%.1f nocode=%d",
    f, f / (summary.duration / 1e6), nc))
  bench_sample(first)
  if os.getenv("BENCH_QUANTILES") then bench_quantiles(latency) end
end
