-- POST /v1/sales-events/batch with SGB_BATCH (default 100) fresh events per
-- request; every item's status is counted from the answer.
package.path = (os.getenv("SGB_WRK_DIR") or "bench/wrk") .. "/?.lua;" .. package.path
local sg = require("sgbench")

local n = tonumber(os.getenv("SGB_BATCH") or "") or 100
local headers = { ["Content-Type"] = "application/json", ["x-api-key"] = sg.key }

setup = sg.setup
done = sg.done

function init(args)
  sg.thread_init()
end

function request()
  return wrk.format("POST", "/v1/sales-events/batch", headers, sg.next_batch(n))
end

function response(status, hdrs, body)
  sg.count_response(status, body, "batch")
end
