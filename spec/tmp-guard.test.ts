/** spec/tmp-guard.ts, the tiers' preload: a temp dir other users cannot enter is named at start. */
import { expect, test } from 'bun:test'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const run = (tmp: string) => {
  writeFileSync(join(tmp, 'empty.test.ts'), "import { test } from 'bun:test'\ntest('nothing', () => {})\n")
  const p = Bun.spawnSync(
    [process.execPath, 'test', '--preload', join(import.meta.dir, 'tmp-guard.ts'), join(tmp, 'empty.test.ts')],
    { cwd: tmp, env: { ...process.env, TMPDIR: tmp, EXECD_TMP_GUARD: '' } },
  )
  return { code: p.exitCode, stderr: p.stderr.toString() }
}

test.skipIf(process.getuid?.() !== 0)(
  'a private (0700) TMPDIR is named in one line at start, as the reason tests that drop to another user fail',
  () => {
    const tmp = mkdtempSync(join(tmpdir(), 'execd-tmp-guard-'))
    try {
      chmodSync(tmp, 0o700)
      const closed = run(tmp)
      expect(closed.code).toBe(0)
      expect(closed.stderr).toContain(
        `spec/tmp-guard.ts: ${tmp} is mode 700: tests that drop to another user will fail`,
      )
      chmodSync(tmp, 0o755)
      expect(run(tmp).stderr).not.toContain(`${tmp} is mode`)
    } finally {
      rmSync(tmp, { recursive: true, force: true })
    }
  },
)
