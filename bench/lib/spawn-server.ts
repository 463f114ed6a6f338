/**
 * Row 3e's baseline, run as its own process (`bun bench/lib/spawn-server.ts`, prints its port):
 * the least an HTTP server can do for `POST /command` — read the JSON body, spawn
 * `bash -c <command>` as execd must (stdout and stderr piped and read to their end, a session
 * of its own, the owner marker in its environment), and answer one SSE body (init, then
 * execution_complete or error) once it has exited. Reached by the same client as execd, so
 * what execd adds beyond it is the daemon's own work: its journal, stream, log, cgroup leaf
 * and ownership. Issue 16 round 4 measured the spawn itself taking as long here as in execd
 * (and as in 3d's pipe-driven process): the context of a request, not execd, is what slows
 * it beside the loop-driven floor.
 */
export {}

// execd keeps its shell's path; a baseline that searched PATH per spawn (14 stats) ran slow.
const bash = Bun.which('bash') ?? '/bin/bash'
const ownedEnv = { ...process.env, EXECD_OWNER: 'spawn-server.1' }

const server = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  async fetch(req) {
    const { command } = (await req.json()) as { command: string }
    const p = Bun.spawn([bash, '-c', command], { stdio: ['ignore', 'pipe', 'pipe'], env: ownedEnv, detached: true })
    await Promise.all([new Response(p.stdout).arrayBuffer(), new Response(p.stderr).arrayBuffer()])
    const code = await p.exited
    const end =
      code === 0
        ? { type: 'execution_complete' }
        : { type: 'error', error: { ename: 'CommandExecError', evalue: String(code) } }
    const body = `id: 1\ndata: {"type":"init","text":"${p.pid}"}\n\nid: 2\ndata: ${JSON.stringify(end)}\n\n`
    return new Response(body, { headers: { 'content-type': 'text/event-stream' } })
  },
})
process.stdout.write(`${server.port}\n`)
