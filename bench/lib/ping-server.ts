/**
 * The server of bench/ping-instructions.ts: a bare Bun.serve answering `GET /ping` with an empty
 * 200, in the variant argv[2] names, each adding to the last one thing execd's /ping does:
 *   bare     `fetch` answers (row 1h's relay: the method read, nothing else);
 *   routes   the same behind Bun.serve `routes` for execd's route prefixes (core/raw-target.ts:
 *            /ping is one), each answered by a handler that calls `fetch`;
 *   url      routes, and `request.url` read (Bun builds the string on the first read);
 *   headers  url, and `request.headers` with the token read (Bun builds the Headers object);
 *   walk     headers, and every header visited (the front door's head size).
 * Prints its port on stdout once listening.
 */
const TOKEN = process.env.PING_TOKEN ?? ''
const PREFIXES = ['/openapi.json', '/ping', '/capabilities', '/docs', '/code', '/command', '/files', '/metrics']
const variant = process.argv[2] ?? 'bare'
const steps = ['bare', 'routes', 'url', 'headers', 'walk']
const level = steps.indexOf(variant)
if (level < 0) throw new Error(`unknown variant ${variant}: ${steps.join(', ')}`)

const ok = () => new Response(null, { status: 200 })
const refused = () => new Response(null, { status: 401 })

function fetch(request: Request): Response {
  if (level < 2) return request.method === 'GET' ? ok() : refused()
  const url = request.url
  if (!url.endsWith('/ping')) return refused()
  if (level < 3) return ok()
  const headers = request.headers
  if (headers.get('x-execd-access-token') !== TOKEN) return refused()
  if (level < 4) return ok()
  let n = request.method.length + url.length
  headers.forEach((value, name) => {
    n += name.length + value.length + 4
  })
  return n > 64 * 1024 ? refused() : ok()
}

const routes: Record<string, (request: Request) => Response> = {}
if (level >= 1) for (const prefix of PREFIXES) routes[prefix] = routes[`${prefix}/*`] = fetch

const server = Bun.serve({ hostname: '127.0.0.1', port: 0, development: false, reusePort: false, routes, fetch })
process.stdout.write(`${server.port}\n`)
