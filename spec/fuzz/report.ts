/** Seeds, the proxy's loopback upstreams, and the printed summary shared by `make fuzz` and the test. */
import { freePort } from '../harness'
import { type Campaign, type Finding, inFlight } from './campaign'
import type { PingReport } from './world'

/** FUZZ_SEED reproduces a run; otherwise a fresh seed, printed first. */
export function seedFromEnv(): number {
  const env = process.env.FUZZ_SEED
  return env && /^-?\d+$/.test(env) ? Number(env) : Math.floor(Math.random() * 2 ** 31)
}

/** An upstream for the proxy routes that the fuzz owns, and a loopback port nobody listens on. */
export async function upstreams(): Promise<{ echo: number; closed: number; stop(): void }> {
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch: async req => new Response(await req.arrayBuffer(), { headers: { 'x-echo': req.method } }),
  })
  return { echo: server.port!, closed: await freePort(), stop: () => server.stop(true) }
}

export function summary(c: Campaign, ping: PingReport, extra: Finding[] = []): string {
  const lines = [
    `fuzz: seed ${c.seed} (FUZZ_SEED=${c.seed} reproduces the inputs)`,
    `fuzz: ${c.cases} cases in ${c.seconds.toFixed(1)} s over ${c.covered.length}/${c.routes.length} routes` +
      ` (every OpenAPI operation; GET /pty/{id}/ws also as a WebSocket)`,
    `fuzz: /ping max latency ${ping.max.toFixed(1)} ms over ${ping.count} pings${ping.failures.length ? `; unanswered (a crashed daemon): ${ping.failures.length}${ping.failures.length >= 10 ? '+' : ''}, first: ${ping.failures[0]}` : ''}`,
    `fuzz: scenarios reached (races by name, runtime steps by language and action): ${
      Object.entries(c.scenarios)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || 'none'
    }`,
    `fuzz: the daemon died ${c.restarts} times (restarted each time)`,
    `fuzz: failing cases by kind (a case in flight when the daemon died counts as a crash): ${JSON.stringify(c.byKind)}`,
  ]
  const suspects = inFlight(c.spans, ping.maxAt, ping.maxAt + ping.max).slice(0, 4)
  const [firstSpan] = c.spans
  if (ping.max > 0 && firstSpan && ping.maxAt < firstSpan.start)
    lines.push(`fuzz: the slowest /ping was sent before the campaign (during the regression cases)`)
  for (const s of suspects) lines.push(`  in flight during the slowest /ping (${s.end - s.start} ms): ${s.label}`)
  const missing = c.routes.filter(r => !c.covered.includes(r))
  if (missing.length) lines.push(`fuzz: routes not reached: ${missing.join(', ')}`)
  for (const f of [...extra, ...c.findings]) lines.push(formatFinding(f))
  return lines.join('\n')
}

export const formatFinding = (f: Finding) =>
  `  [${f.kind}] ${f.op}: ${f.detail.replace(/\s+/g, ' ')}\n      case: ${f.example}` +
  (f.ops && f.ops.length > 1 ? `\n      also on: ${f.ops.filter(o => o !== f.op).join(', ')}` : '')
