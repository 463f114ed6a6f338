/**
 * Command logs on a tmpfs TMPDIR are memory, charged to execd's memory cgroup: the fixed 1 GiB
 * total could pass a small limit (two 300 MB logs in a 400 MiB cgroup got the children killed,
 * then execd). There, the default total is a quarter of the limit; a value given stays as given.
 */
import { expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, rmdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { memoryCgroup } from './kit/memory-cgroup'
import { postJson, readSse, startDaemon, waitFor } from './harness'

const MiB = 1024 * 1024
const LIMIT = 400 * MiB

const tmpfs = '/dev/shm'
const cgroup =
  process.getuid?.() === 0 && existsSync(tmpfs) ? memoryCgroup('logmem', LIMIT) : 'not root, or no /dev/shm'

/** A background command writing `bytes` to stdout, run to its end: its status. */
async function logged(given: string[], bytes: number) {
  const { dir: cg } = cgroup as { dir: string }
  const temp = mkdtempSync(join(tmpfs, 'execd-spec-logmem-'))
  Bun.spawnSync(['chmod', '0755', temp])
  const d = await startDaemon({
    under: ['sh', '-c', `echo $$ > ${cg}/cgroup.procs && exec "$@"`, 'sh'],
    args: ['--cgroups', 'off', ...given],
    env: { TMPDIR: temp, EXECD_PYTHON_SPARE: '0' },
  })
  try {
    // Lines of 4,000 bytes: `yes` alone is 60 million two-byte lines, each an event of its own.
    const started = await readSse(
      await postJson(d, '/command', {
        command: `yes "$(head -c 4000 /dev/zero | tr '\\0' a)" | head -c ${bytes}`,
        background: true,
      }),
    )
    const id = started[0]!.data.text as string
    let status: Record<string, unknown> = {}
    await waitFor(
      'the command to end',
      async () => {
        status = await (await d.fetch(`/command/status/${id}`)).json()
        return status.running === false
      },
      60_000,
    )
    return { status, logs: d.logs() }
  } finally {
    await d.stop()
    rmSync(temp, { recursive: true, force: true })
  }
}

test.skipIf(typeof cgroup === 'string')(
  "TMPDIR on a tmpfs in a 400 MiB cgroup: running commands' logs are capped at 100 MiB together; a given total is kept",
  async () => {
    const { dir: cg } = cgroup as { dir: string }
    try {
      const auto = await logged([], 120 * MiB)
      expect(auto.status.log_truncated).toBe(`running commands' logs reached ${100 * MiB} bytes together`)
      expect(auto.logs).toContain('capped at a quarter of the memory limit')
      const given = await logged(['--command-log-total-bytes', String(200 * MiB)], 120 * MiB)
      expect(given.status.log_truncated).toBeUndefined()
      expect(given.logs).not.toContain('capped at a quarter')
    } finally {
      await waitFor('the cgroup to empty', () => readFileSync(join(cg, 'cgroup.procs'), 'latin1').trim() === '')
      rmdirSync(cg)
    }
  },
  180_000,
)
