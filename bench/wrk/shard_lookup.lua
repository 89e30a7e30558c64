-- One row by id from a database sharded by tenant (bench/distributed.sh): /v1/<WRK_ENDPOINT,
-- default orders_lookup>?tenant=T&id=I with I % 50 = T, so each request pins the one shard
-- holding its tenant. WRK_ROWS: the ids to draw from (default 2000000); a fixed seed per thread.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
dofile(here .. "/report.lua")

local endpoint = os.getenv("WRK_ENDPOINT") or "orders_lookup"
local rows = tonumber(os.getenv("WRK_ROWS") or "2000000")

function init(args)
   math.randomseed(7919)
end

function request()
   local id = math.random(0, rows - 1)
   return wrk.format("GET", string.format("/v1/%s?tenant=%d&id=%d", endpoint, id % 50, id))
end
