-- GET the path given on the command line, each request from a distinct client
-- address (X-Forwarded-For, believed behind PETITION_PROXY_HOPS=1), as a crowd of
-- readers would be: every read pays for its own address's rate-limit bucket.
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
require("report")

local counter = 0

function request()
  counter = counter + 1
  local headers = {
    ["X-Forwarded-For"] = string.format("2001:db8:%x:%x::%x", id, math.floor(counter / 65536), counter % 65536),
  }
  return wrk.format("GET", nil, headers)
end
