/**
 * `fs get` into a directory on a full disk (a small tmpfs), here and with `--url`: the write
 * fails with ENOSPC midway. On main's build the one line was `execd: no space left on device`,
 * naming no file (Bun's write error carries no path), where cp says which file it could not
 * write. Now the destination is named; nothing is left under it, nor the temporary file.
 */
import { describe, expect, test } from 'bun:test'
import { readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runCli } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { scratchWithDisks } from './kit/small-disk'

const root = process.getuid?.() === 0
const scratch = scratchWithDisks('fs-get-disk-full')
const fx = daemonAlone()

describe.skipIf(!root)('fs get into a full disk: one line naming the file, nothing left', () => {
  for (const remote of [false, true]) {
    test(remote ? 'with --url' : 'here', async () => {
      const source = join(scratch.dir, `source ${remote}.bin`)
      writeFileSync(source, Buffer.alloc(3 * 1024 * 1024, 7))
      const disk = scratch.smallDisk('1m')
      const run = await runCli(['fs', 'get', source, `${disk}/`, ...(remote ? ['--url', fx.d.url] : [])], {
        env: { EXECD_ACCESS_TOKEN: remote ? fx.d.token : '' },
      })
      expect(run.code).toBe(1)
      expect(run.stderr).toBe(`execd: ${disk}/source ${remote}.bin: no space left on device\n`)
      expect(readdirSync(disk)).toEqual([])
    })
  }
})
