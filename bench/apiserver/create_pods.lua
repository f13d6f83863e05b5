-- wrk script: every request creates a new pod (unique name per thread and request).
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

-- `wrk ... -s create_pods.lua URL -- admitted`: the pods also carry what admission adds
-- (priority, preemptionPolicy, the default not-ready/unreachable tolerations), so that
-- servers with and without those admission steps store the same pod.
local extra = ""

function init(args)
  thread_id = tid
  if args[1] == "admitted" then
    extra = ',"priority":0,"preemptionPolicy":"PreemptLowerPriority","tolerations":[' ..
      '{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":300},' ..
      '{"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute","tolerationSeconds":300}]'
  end
end

local headers = {["Content-Type"] = "application/json"}

request = function()
  counter = counter + 1
  local body = string.format(
    '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"bench-%d-%d","namespace":"default",' ..
    '"labels":{"app":"bench","shard":"s%d"}},"spec":{"containers":[{"name":"c","image":"nginx:1.25",' ..
    '"ports":[{"containerPort":80}],"resources":{"requests":{"cpu":"100m","memory":"64Mi"}}}]%s}}',
    thread_id, counter, counter % 10, extra)
  return wrk.format("POST", "/api/v1/namespaces/default/pods", headers, body)
end

response = function(status, headers, body)
  if status ~= 201 then
    errors = (errors or 0) + 1
    if errors < 3 then print("unexpected status " .. status .. ": " .. body) end
  end
end
