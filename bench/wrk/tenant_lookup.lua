-- Cycles /v1/<WRK_ENDPOINT, default tenant_lookup>?product=p01..p12, authenticated with the API key in WRK_KEY.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
dofile(here .. "/report.lua")

local key = os.getenv("WRK_KEY") or ""
local endpoint = os.getenv("WRK_ENDPOINT") or "tenant_lookup"
local i = 0

function request()
   i = i + 1
   local path = string.format("/v1/%s?product=p%02d", endpoint, 1 + i % 12)
   return wrk.format("GET", path, {["Authorization"] = "Bearer " .. key})
end
