/**
 * The fuzz suite inside `make test`: issue 10's and 17's findings as explicit regression cases,
 * then a short seeded fuzz of every OpenAPI operation and the PTY WebSocket against
 * `dist/execd serve --root`, asserted one invariant per test. `make fuzz` runs it longer
 * (spec/fuzz/main.ts). FUZZ_SEED reproduces the generated inputs; FUZZ_TEST_SECONDS sets the length.
 */
import { stopRaceDaemons } from './races'
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { type Campaign, type Finding, runCampaign } from './campaign'
import { type FailureKind, stderrFailures } from './check'
import { drained } from './quiescence'
import { REGRESSIONS, runGroup } from './regressions'
import { formatFinding, seedFromEnv, summary, upstreams } from './report'
import { escapes, openWorld, type PingReport, removeCreated, snapshot, type World } from './world'

const SECONDS = Number(process.env.FUZZ_TEST_SECONDS ?? 25)
/** The CI machine is a shared 2-core box: a loose bound here; `make fuzz` asserts 100 ms. */
const PING_BOUND_MS = 1000

let world: World
let up: Awaited<ReturnType<typeof upstreams>>
beforeAll(async () => {
  up = await upstreams()
  world = await openWorld()
})
afterAll(async () => {
  await stopRaceDaemons()
  await world?.close()
  up?.stop()
})

describe('regressions of issues 10 and 17, pass 10 and the races', () => {
  for (const r of REGRESSIONS)
    test(
      r.name,
      async () => {
        const failures = await runGroup(world, r)
        expect(failures.map(formatFinding)).toEqual([])
      },
      90_000,
    )
})

describe('a seeded fuzz of every route', () => {
  interface Run {
    campaign: Campaign
    ping: PingReport
    escaped: string[]
    crashes: string[]
    stderr: string[]
    leaks: Finding[]
  }
  let run: Promise<Run> | undefined
  /** The campaign runs once, for whichever of the tests below comes first. */
  const result = () =>
    (run ??= (async () => {
      if (!(await world.settled())) await world.restart()
      const before = snapshot(world.layout)
      const crashesBefore = world.crashes.length
      const logsBefore = world.daemon.logs().length
      const seed = seedFromEnv()
      const campaign = await runCampaign(world, up, {
        seconds: SECONDS,
        seed,
        lanes: 4,
        requestMs: 10_000,
        quietEveryMs: 10_000,
      })
      const ping = await world.stopPinger()
      if (!(await world.settled())) await world.restart()
      const stderr = stderrFailures(world.daemon.logs().slice(logsBefore))
      const leaks = await drained(world, campaign.spans, 15_000)
      const out = {
        leaks,
        campaign,
        ping,
        escaped: escapes(before, snapshot(world.layout)),
        crashes: world.crashes.slice(crashesBefore),
        stderr,
      }
      console.log(summary(campaign, ping))
      return out
    })())
  const failures = async (...kinds: FailureKind[]) =>
    (await result()).campaign.findings.filter((f: Finding) => kinds.includes(f.kind)).map(formatFinding)

  test('every operation of /openapi.json and the PTY WebSocket gets hostile cases', async () => {
    const { campaign } = await result()
    expect(campaign.routes.filter(r => !campaign.covered.includes(r))).toEqual([])
    expect(campaign.cases).toBeGreaterThan(50)
  }, 180_000)

  test('the daemon never crashes and its stderr has no uncaught error', async () => {
    const { crashes, stderr } = await result()
    expect([...(await failures('crash')), ...crashes, ...stderr]).toEqual([])
  }, 180_000)

  test('no client fault is answered with a 5xx', async () => {
    expect(await failures('5xx')).toEqual([])
  }, 180_000)

  test('every error is the JSON {code, message} with a Content-Type, never a page or internals', async () => {
    expect(await failures('error-shape', 'internals-leak', 'contract')).toEqual([])
  }, 180_000)

  test(`no hang: every request is answered in time and /ping within ${PING_BOUND_MS} ms throughout`, async () => {
    const { ping } = await result()
    const slow = ping.max > PING_BOUND_MS ? [`/ping took ${ping.max.toFixed(0)} ms`] : []
    expect([...(await failures('hang')), ...slow]).toEqual([])
  }, 180_000)

  test('no escape: the sentinel beside the root is unchanged and nothing was created next to the root', async () => {
    const { escaped } = await result()
    expect([...(await failures('escape')), ...escaped.slice(0, 30)]).toEqual([])
  }, 180_000)

  test('bodies that are not one JSON value of the schema are refused', async () => {
    expect(await failures('malformed-accepted')).toEqual([])
  }, 180_000)

  test('a request without the right token is refused with 401 before anything else reads it', async () => {
    expect(await failures('auth')).toEqual([])
  }, 180_000)

  test("no answer echoes the daemon's environment", async () => {
    expect(await failures('env-leak')).toEqual([])
  }, 180_000)

  test('races and java/go contexts: every stream ends in one terminal event, nothing orphaned, no zombie, no temp entry left', async () => {
    expect(await failures('stream', 'orphan', 'zombie', 'stray-temp')).toEqual([])
  }, 180_000)

  test('every capped pool (streams, relays, runs, cells, commands) drains once the clients left, within and after the campaign', async () => {
    const { leaks } = await result()
    expect([...(await failures('leak')), ...leaks.map(formatFinding)]).toEqual([])
  }, 180_000)

  test('the PTY WebSocket answers every hostile frame and keeps answering ping', async () => {
    expect(await failures('ws')).toEqual([])
  }, 180_000)

  test('what the fuzz created (sessions, contexts, terminals) is deleted again', async () => {
    await result()
    const ptys = world.created.all('pty')
    const sessions = world.created.all('session')
    await removeCreated(world.daemon, world.created)
    const left: string[] = []
    for (const id of ptys) if ((await world.daemon.fetch(`/pty/${id}`)).status !== 404) left.push(`pty ${id}`)
    for (const id of sessions) {
      const res = await world.daemon.fetch(`/session/${id}/run`, {
        method: 'POST',
        body: '{"command":"true"}',
        headers: { 'content-type': 'application/json' },
      })
      await res.arrayBuffer()
      if (res.status !== 404) left.push(`session ${id}: ${res.status}`)
    }
    const contexts = (await (await world.daemon.fetch('/code/contexts')).json()) as { id: string }[]
    expect([...left, ...contexts.map(c => `context ${c.id}`)]).toEqual([])
  }, 180_000)
})
