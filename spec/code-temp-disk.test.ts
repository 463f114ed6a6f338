/**
 * A go or java context on a full temp disk: its 500 says the temp disk is full and names
 * TMPDIR, where it named execd's private build dir (`$TMPDIR/execd-0/go-kernel-build-<pid>-…/go.mod`),
 * removed as the answer went out. Needs root and mount(8) for a small tmpfs; skipped loudly otherwise.
 */
import { describe, expect, test } from 'bun:test'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { postJson } from './harness'
import { daemonWithDirAtLoad } from './kit/daemon-dir'

const fx = daemonWithDirAtLoad('temp-disk', () => {
  if (!mounted) return null
  // Filled to the last block: every write under TMPDIR fails with ENOSPC.
  try {
    writeFileSync(join(dir, 'fill'), Buffer.alloc(64 * 1024))
  } catch {}
  return { env: { TMPDIR: dir } }
})
const dir = fx.tmp
const mounted = process.getuid?.() === 0 && fx.mounts.mount('-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir)
if (!mounted) console.warn('skipped: spec/code-temp-disk.test.ts needs root and mount(8) (mount -t tmpfs failed)')

const tools: Record<string, string> = { go: 'go', java: 'javac' }

describe.skipIf(!mounted)('a context start on a full temp disk', () => {
  for (const language of ['go', 'java']) {
    const tool = tools[language] ?? language
    if (!Bun.which(tool)) console.warn(`skipped: the ${language} case needs ${tool}`)
    test.skipIf(!Bun.which(tool))(
      `${language}: a 500 saying the temp disk is full, naming TMPDIR, not the build dir`,
      async () => {
        const res = await postJson(fx.d, '/code/context', { language })
        const body = (await res.json()) as { code: string; message: string }
        expect([res.status, body.code]).toEqual([500, 'RUNTIME_ERROR'])
        // Before: "… ENOSPC: no space left on device, write '<TMPDIR>/execd-0/go-kernel-build-…/go.mod'".
        expect(body.message).toStartWith(
          `could not start the ${language} interpreter: no space left on the temp disk (${dir}, `,
        )
        expect(body.message).toContain("free space there, or give execd's TMPDIR a larger disk")
        expect(body.message).not.toContain(`${dir}/`)
        expect((await fx.d.fetch('/ping')).status).toBe(200)
      },
    )
  }
})
