/**
 * Running commands' logs are bounded together (--command-log-total-bytes), not only each on its
 * own: fifty `yes` commands could each fill --command-log-max-bytes of execd's temp disk.
 */
import { expect, test } from 'bun:test'
import { postJson, readSse } from './harness'
import { daemonAlone } from './kit/daemon-dir'

const MiB = 1024 * 1024
const fx = daemonAlone(() => ['--command-log-max-bytes', String(4 * MiB), '--command-log-total-bytes', String(3 * MiB)])

const status = async (id: string) => (await fx.d.fetch(`/command/status/${id}`)).json()
const logBytes = async (id: string) => (await (await fx.d.fetch(`/command/${id}/logs`)).arrayBuffer()).byteLength

// Lines of 1 KiB: `yes`'s 2-byte lines made a million stdout events per run, 11–16 s of
// framing and parsing at load 13 against the test's 60 s.
const LONG_LINES = `yes $(printf %01023d 0)`

async function runToEnd(command: string): Promise<string> {
  const frames = await readSse(await postJson(fx.d, '/command', { command }))
  expect(frames.at(-1)!.data.type).toBe('execution_complete')
  return frames[0]!.data.text
}

test("a running command's log leaves the rest of the total to the others; a finished one gives it back", async () => {
  const first = await readSse(
    await postJson(fx.d, '/command', { command: `${LONG_LINES} | head -c ${2 * MiB}; sleep 600`, background: true }),
  )
  const holder = first[0]!.data.text as string
  for (let i = 0; i < 400 && (await logBytes(holder)) < 2 * MiB; i++) await Bun.sleep(25)
  expect(await logBytes(holder)).toBe(2 * MiB)

  // 2 MiB more while the first runs: its own limit (4 MiB) allows it, the total (3 MiB) does not.
  const cut = await runToEnd(`${LONG_LINES} | head -c ${2 * MiB}`)
  expect(await logBytes(cut)).toBe(MiB)
  expect((await status(cut)).log_truncated).toContain('together')
  expect((await status(holder)).log_truncated).toBeUndefined()

  expect((await fx.d.fetch(`/command?id=${holder}`, { method: 'DELETE' })).status).toBe(200)
  for (let i = 0; i < 400 && (await status(holder)).running; i++) await Bun.sleep(25)

  // Both finished: their bytes are the retention's now, the running total is free again.
  const whole = await runToEnd(`${LONG_LINES} | head -c ${2 * MiB}`)
  expect(await logBytes(whole)).toBe(2 * MiB)
  expect((await status(whole)).log_truncated).toBeUndefined()
  expect(await logBytes(holder)).toBe(2 * MiB)
}, 60_000)
