-- POST confirmations, each with a distinct token from a file (one per line).
-- Arguments: path-prefix cookie csrf token-file threads
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
require("report")

local prefix, cookie, csrf, tokens, stride
local index

function init(args)
  prefix, cookie, csrf, stride = args[1], args[2], args[3], tonumber(args[5])
  tokens = {}
  for line in io.lines(args[4]) do table.insert(tokens, line) end
  index = id
end

function request()
  local token = tokens[index] or tokens[#tokens]
  index = index + stride
  local headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = cookie,
    ["X-Forwarded-For"] = string.format("2001:db8:ffff::%x", index % 65536),
  }
  return wrk.format("POST", prefix .. token, headers, "csrf_token=" .. csrf)
end
