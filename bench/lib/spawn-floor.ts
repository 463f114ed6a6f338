/**
 * Row 3's posix_spawn floor, run as its own warm process (`bun bench/lib/spawn-floor.ts`): for
 * each stdin line it spawns `bash -c true` (Bun.spawn is posix_spawn) with stdio ignored,
 * waits for it, and answers the time it measured itself — no pipe between the two hops.
 */
export {}

const decoder = new TextDecoder()
const reader = Bun.stdin.stream().getReader()
let buf = ''
for (let r = await reader.read(); !r.done; r = await reader.read()) {
  buf += decoder.decode(r.value, { stream: true })
  for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
    buf = buf.slice(nl + 1)
    const t0 = performance.now()
    const code = await Bun.spawn(['bash', '-c', 'true'], { stdio: ['ignore', 'ignore', 'ignore'] }).exited
    const ms = performance.now() - t0
    process.stdout.write(`${code === 0 ? ms : -1}\n`)
  }
}
