// The load of the verify phase (benchmarks/phases/verify.py): autocannon (pinned in
// package.json) drives GET /v1/verify/... from `connections` keep-alive connections for
// `seconds` after a one-second warm-up, each walking its own window of the list of requests,
// and checks every answer against the one expected (status, ETag, body, byte for byte).
//
// Usage: node verify_load.js SPEC.json > RESULT.json
// SPEC: {"url", "connections", "seconds", "requests": [{"path", "headers", "status", "etag",
//        "body"}]}
// RESULT: {"requests", "seconds", "statuses", "errors", "timeouts", "mismatches",
//          "mismatched", "latency_ms": {"p50", "p95", "p99", "max", "mean"}}
// Latencies are collected one by one (autocannon's own histogram has no p95). Every answer is
// checked, the warm-up's included; statuses, errors and timeouts are autocannon's, warm-up
// included; requests, seconds and latencies count after the warm-up.
'use strict'

const fs = require('fs')
const path = require('path')
const autocannon = require(path.join(__dirname, '..', '..', 'node_modules', 'autocannon'))

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'))
const latencies = []
const mismatched = []
let mismatches = 0

function checked (expected) {
  return function onResponse (status, body, context, headers) {
    const etag = headers.etag || headers.ETag
    const wrong =
      status !== expected.status ||
      (expected.etag !== null && etag !== expected.etag) ||
      (status === 200 && body !== expected.body)
    if (wrong) {
      mismatches += 1
      if (mismatched.length < 5) {
        mismatched.push({ path: expected.path, status, etag, body: String(body).slice(0, 300) })
      }
    }
  }
}

const WINDOW = Math.min(spec.requests.length, 64)
const WARMUP_MS = 1000

function requestsFrom (start, count) {
  const all = spec.requests
  const chosen = []
  for (let i = 0; i < count; i++) {
    const expected = all[(start + i) % all.length]
    chosen.push({
      method: 'GET',
      path: expected.path,
      headers: expected.headers,
      onResponse: checked(expected)
    })
  }
  return chosen
}

// Figures count from WARMUP_MS after the last connection was set up: building the connections'
// requests blocks the generator's event loop, and answers waiting meanwhile would read as the
// service's latency.
let clients = 0
let countFrom = Infinity
let counted = 0
let finishedAt = 0
const instance = autocannon(
  {
    url: spec.url,
    connections: spec.connections,
    duration: spec.seconds + WARMUP_MS / 1000,
    timeout: 10,
    requests: requestsFrom(0, 1),
    setupClient (client) {
      // Each connection walks its own window of the list: at any moment the connections ask
      // for many different certificates, as a crowd of verifiers would, and together they
      // cover every request.
      const start = Math.floor((clients * spec.requests.length) / spec.connections)
      clients += 1
      client.setRequests(requestsFrom(start, WINDOW))
      if (clients === spec.connections) countFrom = Date.now() + WARMUP_MS
    }
  },
  (error, result) => {
    if (error) {
      process.stderr.write(String(error) + '\n')
      process.exit(2)
    }
    latencies.sort((a, b) => a - b)
    const at = (q) =>
      latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] : 0
    const sum = latencies.reduce((a, b) => a + b, 0)
    const out = {
      requests: counted,
      seconds: Math.max(0, finishedAt - countFrom) / 1000,
      statuses: result.statusCodeStats,
      errors: result.errors,
      timeouts: result.timeouts,
      non2xx: result.non2xx,
      mismatches,
      mismatched,
      latency_ms: {
        p50: at(0.5),
        p95: at(0.95),
        p99: at(0.99),
        max: latencies.length ? latencies[latencies.length - 1] : 0,
        mean: latencies.length ? sum / latencies.length : 0
      }
    }
    // Let stdout drain before the process ends (a piped write may be cut off otherwise).
    process.stdout.write(JSON.stringify(out) + '\n', () => process.exit(0))
  }
)

instance.on('response', (client, statusCode, resBytes, responseTime) => {
  const now = Date.now()
  if (now < countFrom) return
  counted += 1
  finishedAt = now
  latencies.push(responseTime)
})
