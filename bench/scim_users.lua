-- wrk script for POST /scim/v2/Users with a unique userName per request.
-- Arguments after "--": run_tag password|nopassword
--   run_tag  distinguishes runs against the same database
--   password include a password (argon2id hashing on the server) or not
-- The Authorization and Content-Type headers come from wrk -H.
-- Names are bench-<tag>-t<thread>-<n>@example.com: the thread number is set
-- in setup(), so threads never collide. Passwords avoid the email's local
-- part and the service name, which the password policy refuses.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")


function init(args)
  tag = args[1] or "run"
  with_password = args[2] == "password"
  n = 0
  non2xx = 0
  codes = {}      -- status -> count, for non-2xx only
  sample = ""     -- body of the first non-2xx response
end

function request()
  n = n + 1
  local user = string.format("bench-%s-t%d-%d@example.com", tag, tid, n)
  local pw = ""
  if with_password then
    pw = string.format(',"password":"Quartz-%s-%d-Meadow-%d"', tag, tid, n)
  end
  local body = string.format(
    '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"%s",' ..
    '"name":{"givenName":"Bench","familyName":"User %d-%d"},' ..
    '"emails":[{"value":"%s","primary":true}],"active":true%s}',
    user, tid, n, user, pw)
  return wrk.format("POST", "/scim/v2/Users", nil, body)
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    codes[status] = (codes[status] or 0) + 1
    if sample == "" then sample = body or "" end
  end
end

function done(summary, latency, requests)
  local total, bycode, first = 0, {}, ""
  for _, t in ipairs(bench_threads) do
    total = total + (t:get("non2xx") or 0)
    for code, c in pairs(t:get("codes") or {}) do
      bycode[code] = (bycode[code] or 0) + c
    end
    local s = t:get("sample") or ""
    if first == "" then first = s end
  end
  local parts = {}
  for code, c in pairs(bycode) do table.insert(parts, code .. ":" .. c) end
  table.sort(parts)
  local codestr = #parts > 0 and table.concat(parts, ",") or "-"
  bench_report(summary, latency, string.format(" non2xx=%d codes=%s", total, codestr))
  if first ~= "" then
    io.write("BENCH_SAMPLE " .. first:gsub("[\r\n]", " "):sub(1, 400) .. "\n")
  end
end
