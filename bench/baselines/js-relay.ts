/**
 * Rows 1f/1g's architecture floor, python-relay.ts for javascript: what any Bun daemon that runs
 * a cell in a warm Bun over Bun's IPC pays. A minimal `Bun.serve`, compiled with dist/execd's
 * flags, answers GET /ping, and POST /code by sending the code to a warm Bun child (the relay's
 * own executable run again as Bun, `BUN_BE_BUN=1`, as execd starts its javascript interpreter)
 * over `Bun.spawn`'s IPC with JSON serialization (execd's), which evaluates it globally and sends
 * back `Bun.inspect` of the value; then one SSE body of execd's frames and headers. No token,
 * journal, queue, transpile, checks or output capture: execd's javascript cell over this is what
 * execd and its driver add; this one's cell over its own /ping is the floor of rows 1f/1g.
 */
import { join } from 'node:path'
import { startCompiled, type CompiledServer } from '../lib/compile'
import { relayServerSource } from './cell-answer'

const CHILD = `
process.on('message', m => {
  let value
  try {
    value = (0, eval)(m.code)
  } catch (e) {
    value = e
  }
  process.send({ t: 'done', bundle: { 'text/plain': Bun.inspect(value) } })
})
process.send({ t: 'ready' })
`

const SOURCE = `
const [port, childFile] = [Number(process.argv[2]), process.argv[3]]
let waiting
let ready
const started = new Promise(r => (ready = r))
const proc = Bun.spawn(['/proc/self/exe', childFile], {
  env: { ...process.env, BUN_BE_BUN: '1' },
  stdio: ['ignore', 'inherit', 'inherit'],
  serialization: 'json',
  ipc(m) {
    if (m.t === 'ready') return ready()
    const w = waiting
    waiting = undefined
    w?.(m)
  },
})
await started
${relayServerSource(`proc.send({ t: 'run', code })`, 'const { bundle } = await reply', 'bundle')}`

/** Compiles the relay (dist/execd's flags) and starts it; resolves once it answers /ping. */
export function startJsRelay(startWithinMs = 15_000): Promise<CompiledServer> {
  return startCompiled('javascript relay', { 'relay.ts': SOURCE, 'child.js': CHILD }, dir => [join(dir, 'child.js')], {
    startWithinMs,
  })
}
