/**
 * Row 3's posix_spawn floor, run as its own warm process (`bun bench/lib/spawn-floor.ts`): for
 * each stdin line it spawns `bash -c true` (Bun.spawn is posix_spawn) with stdio ignored,
 * waits for it, and answers the time it measured itself — no pipe between the two hops.
 * The line `owned` spawns it as execd must (3d): stdout and stderr piped and read to their
 * end (a command streams its output), in a session and process group of its own (setsid:
 * a kill must reach everything it starts), with the owner marker in its environment.
 */
export {}

// execd keeps its shell's path; a baseline that searched PATH per spawn (14 stats) ran slow.
const bash = Bun.which('bash') ?? '/bin/bash'
const ownedEnv = { ...process.env, EXECD_OWNER: 'spawn-floor.1' }

async function owned(): Promise<number> {
  const p = Bun.spawn([bash, '-c', 'true'], { stdio: ['ignore', 'pipe', 'pipe'], env: ownedEnv, detached: true })
  await Promise.all([new Response(p.stdout).arrayBuffer(), new Response(p.stderr).arrayBuffer()])
  return p.exited
}

const decoder = new TextDecoder()
const reader = Bun.stdin.stream().getReader()
let buf = ''
for (let r = await reader.read(); !r.done; r = await reader.read()) {
  buf += decoder.decode(r.value, { stream: true })
  for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
    const line = buf.slice(0, nl)
    buf = buf.slice(nl + 1)
    const t0 = performance.now()
    const code =
      line === 'owned'
        ? await owned()
        : await Bun.spawn([bash, '-c', 'true'], { stdio: ['ignore', 'ignore', 'ignore'] }).exited
    const ms = performance.now() - t0
    process.stdout.write(`${code === 0 ? ms : -1}\n`)
  }
}
