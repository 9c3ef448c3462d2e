-- wrk script for POST /api/v1/signin with rotating users, all with their
-- correct password (failed sign-ins are throttled, so none are sent).
-- Arguments after "--": email_fmt count password_fmt order
--   email_fmt     string.format pattern with one %d, e.g. "si-%d@example.com"
--   count         users are numbered 1..count
--   password_fmt  pattern for the password; its %d (if any) is the same number
--   order         "seq" (each thread walks its own share in turn) or "rand"
-- The pre-session Cookie, X-CSRF-Token and Content-Type come from wrk -H.
-- A 200 whose body is not "signed_in" (e.g. verification_required) is
-- counted as not_signed_in. BENCH_QUANTILES=1 adds the distribution.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")


function init(args)
  email_fmt = args[1]
  count = tonumber(args[2])
  pw_fmt = args[3]
  random_order = args[4] == "rand"
  nthreads = tonumber(args[5] or "2")
  math.randomseed(os.time() * 100 + tid)
  -- threads start at different users and step by the thread count
  i = tid
  not_signed_in = 0
  bench_status_init()
end

function request()
  local n
  if random_order then
    n = math.random(1, count)
  else
    n = (i % count) + 1
    i = i + nthreads
  end
  local body = string.format('{"email":"%s","password":"%s"}',
    string.format(email_fmt, n), string.format(pw_fmt, n))
  return wrk.format("POST", "/api/v1/signin", nil, body)
end

function response(status, headers, body)
  if bench_status(status, body) and not (body and body:find('"signed_in"', 1, true)) then
    not_signed_in = not_signed_in + 1
    if sample == "" then sample = body or "" end
  end
end

function done(summary, latency, requests)
  local extra, first = bench_status_summary(bench_threads)
  local nsi = 0
  for _, t in ipairs(bench_threads) do nsi = nsi + (t:get("not_signed_in") or 0) end
  bench_report(summary, latency, extra .. string.format(" not_signed_in=%d", nsi))
  bench_sample(first)
  if os.getenv("BENCH_QUANTILES") then bench_quantiles(latency) end
end
