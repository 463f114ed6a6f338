/**
 * `make fuzz-cli`: the CLI fuzz (cli-campaign.ts) against `dist/execd`, here and with `--url`
 * at a fuzz world's daemon. FUZZ_SECONDS (default 120), FUZZ_SEED, FUZZ_LANES (default 2: each
 * case is a process or two). Prints the counts and every distinct failure; exits 1 on any.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cliSummary, runCliCampaign } from './cli-campaign'
import { formatFinding, seedFromEnv } from './report'
import { openWorld } from './world'

const seconds = Number(process.env.FUZZ_SECONDS ?? 120)
const seed = seedFromEnv()
console.log(`fuzz cli: seed ${seed}, ${seconds} s`)
const world = await openWorld()
const base = mkdtempSync(join(tmpdir(), 'execd-fuzz-cli-'))
let failed = true
try {
  const c = await runCliCampaign(
    { base, url: world.daemon.url, token: world.daemon.token, root: world.layout.root },
    { seconds, seed, lanes: Number(process.env.FUZZ_LANES ?? 2) },
  )
  const ping = await world.stopPinger()
  console.log(cliSummary(c))
  console.log(`fuzz cli: the world's /ping max ${ping.max.toFixed(1)} ms over ${ping.count}`)
  for (const f of c.findings) console.log(formatFinding(f))
  failed = c.findings.some(f => f.kind !== 'known') || world.daemon.proc.exitCode !== null
} finally {
  await world.close()
  rmSync(base, { recursive: true, force: true })
}
process.exit(failed ? 1 : 0)
