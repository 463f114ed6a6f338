/**
 * How the cell floors (canned-cell, python-relay, js-relay) answer a cell, as source inlined into
 * each: execd's headers and the five frames of a warm cell whose result bundle is the expression
 * `bundle`, in one body. One copy, so that the floors answer alike and as execd does.
 */
export const answerCellSource = (bundle: string): string => `
    const t = Date.now()
    const frames = [
      { type: 'init', text: 'context', timestamp: t, execution_id: 'execution' },
      { type: 'ping', text: 'pong', timestamp: t },
      { type: 'execution_count', execution_count: 1, timestamp: t },
      { type: 'result', timestamp: t, results: { ...${bundle}, text: ${bundle}['text/plain'] } },
      { type: 'execution_complete', timestamp: t },
    ]
    const body = frames.map((f, i) => 'id: ' + (i + 1) + '\\ndata: ' + JSON.stringify(f) + '\\n\\n').join('')
    return new Response(body, { status: 200, headers: { ...HEADERS, 'EXECD-EXECUTION-ID': 'execution' } })`

export const HEADERS_SOURCE =
  "const HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' }"

/**
 * The relays' server (python-relay, js-relay), as source: GET is its /ping; POST /code hands the
 * code to the warm interpreter with `send` (a statement using `code`), sets `reply` resolving to
 * the interpreter's answer as `take` (a statement reading `await reply`) binds it, and answers
 * the cell with `bundle` of that. Its relay defines `port` and a `waiting` the answer resolves.
 */
export const relayServerSource = (send: string, take: string, bundle: string): string => `${HEADERS_SOURCE}
Bun.serve({
  hostname: '127.0.0.1',
  port,
  async fetch(request) {
    if (request.method === 'GET') return new Response(null, { status: 200 })
    const { code } = await request.json()
    const reply = new Promise(r => (waiting = r))
    ${send}
    ${take}
${answerCellSource(bundle)}
  },
})
`
