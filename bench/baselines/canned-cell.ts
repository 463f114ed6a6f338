/**
 * The HTTP floor of a warm cell's round trip: a bare `Bun.serve`, compiled with dist/execd's
 * flags, whose `POST /code` reads the JSON body and answers at once with the body of a warm cell
 * (execd's five frames and headers), and whose `GET /ping` answers 200 — no interpreter, no
 * relay, nothing but the request and the reply. Its cell over its own /ping is what a client
 * and the HTTP exchange alone make of rows 1d/1f's ratio.
 */
import { startCompiled, type CompiledServer } from '../lib/compile'
import { answerCellSource, HEADERS_SOURCE } from './cell-answer'

const SOURCE = `
${HEADERS_SOURCE}
const BUNDLE = { 'text/plain': '2' }
Bun.serve({
  hostname: '127.0.0.1',
  port: Number(process.argv[2]),
  async fetch(request) {
    if (request.method === 'GET') return new Response(null, { status: 200 })
    await request.json()
${answerCellSource('BUNDLE')}
  },
})
`

/** Compiles and starts the server; resolves once it answers /ping. */
export function startCannedCell(): Promise<CompiledServer> {
  return startCompiled('the canned server', { 'canned.ts': SOURCE })
}
