-- Mixed load for bench/soak.sh: cached, uncached and lazy-database endpoints and requests that are
-- errors on purpose, each with the status it must get. Run with as many connections as threads
-- (wrk -tN -cN): with one connection per thread and no pipelining, request() and response()
-- alternate, so the status a response must have is the one request() chose last. A status other
-- than that one is a failure, and so is every socket error and timeout.
-- After the run it prints one machine-readable line:
--   soak_result requests=.. ok=.. intended_errors=.. unexpected=.. socket_errors=.. rps=..
-- and up to 10 "soak_unexpected status=.. expected=.. path=.." lines.

local tenants = {}
for i = 1, 20 do tenants[i] = string.format("t%02d", i) end
local channels = { "web", "app", "store", "partner" }

-- The mix, one request per entry, in order; each thread starts at its own offset.
local mix = {}
local function add(path, expect) mix[#mix + 1] = { path = path, expect = expect } end
for i = 1, 20 do
   local t = tenants[i]
   -- Cached (the response cache holds them after the first request of each snapshot).
   add("/v1/daily_revenue?tenant=" .. t .. "&from=2024-03-01&to=2024-03-31", 200)
   add("/v1/tenant_summary?tenant=" .. t, 200)
   -- Uncached (soak.sh sets cache: false on events): a query each time.
   add("/v1/events?tenant=" .. t .. "&channel=" .. channels[1 + i % 4] .. "&limit=" .. (10 + i) .. "&offset=" .. (i % 7), 200)
   -- The lazy database (cache: false, tight budget): a day partition, fetched if evicted.
   add(string.format("/v1/lazy_day?day=2024-01-%02d", i), 200)
   add(string.format("/v1/lazy_day?day=2024-01-%02d", 31 - i), 200)
   -- The catalog apply toggles a row of this table: it must answer through every switch.
   if i % 4 == 0 then add("/v1/regions", 200) end
   -- Errors on purpose: over the limit's max, a value that is not a date, an unknown endpoint.
   if i % 2 == 0 then add("/v1/events?tenant=" .. t .. "&limit=9999", 422) end
   if i % 4 == 1 then add("/v1/daily_revenue?tenant=" .. t .. "&from=not-a-date", 422) end
   if i % 4 == 3 then add("/v1/no_such_endpoint?tenant=" .. t, 404) end
end

local threads = {}
local next_id = 0
function setup(thread)
   next_id = next_id + 1
   thread:set("id", next_id)
   threads[#threads + 1] = thread
end

-- Per thread (each thread has its own Lua state).
local pos, expect, current = 0, 0, ""
ok, intended, unexpected, bad = 0, 0, 0, ""

function init(args)
   pos = (id * 7) % #mix
end

function request()
   pos = pos % #mix + 1
   expect, current = mix[pos].expect, mix[pos].path
   return wrk.format("GET", current)
end

function response(status, headers, body)
   if status == expect then
      if status == 200 then ok = ok + 1 else intended = intended + 1 end
   else
      unexpected = unexpected + 1
      if unexpected <= 10 then
         bad = bad .. string.format("soak_unexpected status=%d expected=%d path=%s\n", status, expect, current)
      end
   end
end

function done(summary, latency, requests)
   local t_ok, t_intended, t_unexpected, lines = 0, 0, 0, ""
   for _, thread in ipairs(threads) do
      t_ok = t_ok + thread:get("ok")
      t_intended = t_intended + thread:get("intended")
      t_unexpected = t_unexpected + thread:get("unexpected")
      lines = lines .. thread:get("bad")
   end
   local e = summary.errors
   local socket_errors = e.connect + e.read + e.write + e.timeout
   local seconds = summary.duration / 1e6
   io.write(lines)
   io.write(string.format("soak_result requests=%d ok=%d intended_errors=%d unexpected=%d socket_errors=%d rps=%.1f p99_ms=%.1f\n",
                          summary.requests, t_ok, t_intended, t_unexpected, socket_errors,
                          seconds > 0 and summary.requests / seconds or 0, latency:percentile(99) / 1000))
end
