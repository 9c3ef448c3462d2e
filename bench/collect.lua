-- wrk script that collects access tokens: sends wrk's static request (a
-- token request, from -H and the arguments) and appends every
-- "access_token" of a 2xx answer to a file, one per line, until it holds
-- the number wanted. Used to make many distinct tokens quickly.
-- Arguments after "--": file count method body
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

function init(args)
  out = io.open(args[1], "a")
  want = tonumber(args[2] or "1000")
  if args[3] and args[3] ~= "" then wrk.method = args[3] end
  if args[4] and args[4] ~= "" then wrk.body = args[4] end
  got = 0
  bench_status_init()
end

function response(status, headers, body)
  if bench_status(status, body) and got < want then
    local t = body and body:match('"access_token"%s*:%s*"([^"]+)"')
    if t then
      out:write(t, "\n")
      got = got + 1
      if got % 256 == 0 then out:flush() end
    end
  end
end

function done(summary, latency, requests)
  bench_report(summary, latency, (bench_status_summary({})))
end
