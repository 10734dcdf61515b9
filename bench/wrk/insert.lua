-- POST one row per request to the bare insert reference endpoint.
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
require("report")
local counter = 0
function request()
  counter = counter + 1
  return wrk.format("POST", "/insert", {["Content-Type"] = "application/x-www-form-urlencoded"},
    string.format("name=Bench&email=r-%d-%d%%40example.org", id, counter))
end
