-- GET /v1/analytics/sales over April 2026 at SGB_GRANULARITY (day or hour).
package.path = (os.getenv("SGB_WRK_DIR") or "bench/wrk") .. "/?.lua;" .. package.path
local sg = require("sgbench")

local g = os.getenv("SGB_GRANULARITY") or "day"
local path = "/v1/analytics/sales?granularity=" .. g
  .. "&from=2026-04-01T00:00:00Z&to=2026-05-01T00:00:00Z"
local headers = { ["x-api-key"] = sg.key }

setup = sg.setup
done = sg.done

function init(args)
  sg.thread_init()
end

function request()
  return wrk.format("GET", path, headers)
end

function response(status, hdrs, body)
  sg.count_response(status, body, "read")
end
