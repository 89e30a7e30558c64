-- wrk script for the aggregate scan: cycles <WRK_PREFIX>/<WRK_ENDPOINT>?channel=X over the channels
-- in WRK_CHANNELS (comma-separated, default "web,app,store,partner").
--   WRK_PREFIX   default "/v1" (dram); WRK_ENDPOINT default "scan"
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
dofile(here .. "/report.lua")

local base = wrk_prefix() .. "/" .. (os.getenv("WRK_ENDPOINT") or "scan")
local channels = {}
for c in string.gmatch(os.getenv("WRK_CHANNELS") or "web,app,store,partner", "[^,]+") do
   channels[#channels + 1] = c
end
local reqs = nil
local i = 0

function request()
   if reqs == nil then
      reqs = {}
      for _, c in ipairs(channels) do
         reqs[#reqs + 1] = wrk.format("GET", base .. "?channel=" .. c)
      end
   end
   i = i % #reqs + 1
   return reqs[i]
end
