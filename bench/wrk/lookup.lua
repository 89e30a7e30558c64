-- wrk script for the selective lookup: cycles over all 240 (tenant, product) pairs, t01..t20 x p01..p12.
-- Path: <WRK_PREFIX>/<WRK_ENDPOINT>?tenant=tXX&product=pYY
--   WRK_PREFIX   default "/v1" (dram); set WRK_PREFIX= (empty) for the Node baseline's /lookup
--   WRK_ENDPOINT default "lookup"; "lookup_unsorted" for the sort_by comparison
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
dofile(here .. "/report.lua")

local base = wrk_prefix() .. "/" .. (os.getenv("WRK_ENDPOINT") or "lookup")
local reqs = nil
local i = 0

function request()
   if reqs == nil then
      reqs = {}
      for p = 1, 12 do
         for t = 1, 20 do
            local path = string.format("%s?tenant=t%02d&product=p%02d", base, t, p)
            reqs[#reqs + 1] = wrk.format("GET", path)
         end
      end
   end
   i = i % #reqs + 1
   return reqs[i]
end
