-- Shared wrk reporting, loaded with dofile() by lookup.lua and scan.lua; also usable alone as
-- `wrk -s bench/wrk/report.lua URL` for a fixed URL. After the run it prints one machine-readable line:
--   wrk_result rps=<requests/sec> p50_ms=<..> p99_ms=<..> errors=<non-2xx/3xx + socket errors>
-- (wrk's own summary above it counts only non-2xx/3xx as "Non-2xx or 3xx responses").

-- Path prefix for the endpoints: "/v1" for dram (default), "" for the Node baseline.
function wrk_prefix()
   local p = os.getenv("WRK_PREFIX")
   if p == nil then return "/v1" end
   return p
end

function done(summary, latency, requests)
   local seconds = summary.duration / 1e6
   local rps = 0
   if seconds > 0 then rps = summary.requests / seconds end
   local e = summary.errors
   local errors = e.connect + e.read + e.write + e.timeout + e.status
   io.write(string.format("wrk_result rps=%.2f p50_ms=%.3f p99_ms=%.3f errors=%d requests=%d\n",
                          rps, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
                          errors, summary.requests))
end
