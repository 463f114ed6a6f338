/**
 * A go cell's flood read whole over real HTTP, execd bounded as for a bash cell's
 * (spec/bash-cell-flood.test.ts). The kernel's stdout is a pipe, as a bash cell's is: its clean
 * chunks are framed from their bytes and copied into the journal's ring (core/output-chunks.ts).
 * Decoded and merged as text, 256 MiB of it peaked at 200 MiB; 88 since (load 3–4).
 */
import { describe, expect, test } from 'bun:test'
import { findGo } from '../plugins/go/toolchain'
import { postJson } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { numberedLines, readFlood } from './kit/flood-read'

const toolchain = await findGo(process.env.EXECD_GO || 'go')
const fx = daemonAlone(() => ('missing' in toolchain ? null : []))
const MiB = 1024 * 1024

describe.skipIf('missing' in toolchain)(
  `a go cell's flood${'missing' in toolchain ? ` (skipped: ${toolchain.missing})` : ''}`,
  () => {
    test('256 MiB of lines reach the reader whole, in order, and execd stays under 120 MiB', async () => {
      const made = await postJson(fx.d, '/code/context', { language: 'go' })
      const { id } = (await made.json()) as { id: string }
      const lines = 256 * 1024
      const res = await postJson(fx.d, '/code', {
        code: `line := strings.Repeat("0", 1017)\nfor i := 0; i < ${lines}; i++ { fmt.Printf("%06d%s\\n", i, line) }\n`,
        context: { id, language: 'go' },
      })
      expect(res.status).toBe(200)
      const numbered = numberedLines(1023)
      const { wire, last, peak } = await readFlood(res, fx.d.proc.pid, numbered.onText)
      expect(last).toStartWith('data: {"type":"execution_complete"')
      expect(numbered.count).toBe(lines)
      expect(numbered.rest).toBe('')
      expect(wire).toBeGreaterThan(256 * MiB)
      expect((await fx.d.fetch('/ping')).status).toBe(200)
      // Main's build (text) peaked at ~200 MiB; a bash cell's flood, framed from its bytes, at ~90.
      expect(peak).toBeLessThan(120)
    }, 180_000)
  },
)
