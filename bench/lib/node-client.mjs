// A plain Node `http` keep-alive client on one connection, run by real Node (not Bun's
// node:http, which is built on its fetch). The bench sends one JSON request per stdin line;
// this process times it itself (request written → the stopping SSE event, or the end of the
// body) and answers one JSON line: { ms, body }. The stdin/stdout hop is outside the timing.
import http from 'node:http'
import { createInterface } from 'node:readline'

const [base, token] = process.argv.slice(2)
const url = new URL(base)
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })

function once({ method, path, body, until }) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const headers = { 'X-EXECD-ACCESS-TOKEN': token }
    if (payload !== undefined) {
      headers['Content-Type'] = 'application/json'
      headers['Content-Length'] = Buffer.byteLength(payload)
    }
    const t0 = performance.now()
    let at = NaN
    const req = http.request({ host: url.hostname, port: url.port, method, path, headers, agent }, res => {
      res.setEncoding('utf8')
      let text = ''
      res.on('data', chunk => {
        text += chunk
        // The stopping event's arrival is the figure; the body is still read to its end so the
        // connection can carry the next request.
        if (Number.isNaN(at) && until && text.includes(until)) at = performance.now()
      })
      res.on('end', () => {
        const end = performance.now()
        resolve({ ms: (Number.isNaN(at) ? end : at) - t0, status: res.statusCode, body: text })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(payload)
  })
}

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity })
for await (const line of rl) {
  let out
  try {
    out = await once(JSON.parse(line))
  } catch (e) {
    out = { error: String(e) }
  }
  process.stdout.write(JSON.stringify(out) + '\n')
}
