/** The model-based fuzz's command step (model.ts): a command's logs read by cursor. */
import fc from 'fast-check'
import { fail, frames, json, LIMIT_MS, type Model, q, type Real } from './model-kit'

/**
 * A background command's output read back by its logs while it runs: each read starts at the
 * last read's tail cursor, and the pieces concatenate to its whole output byte for byte (lines
 * with a two-byte character, so a cursor may fall inside one); then reads at chosen cursors,
 * some past the end, give exactly the bytes from there.
 */
export class CommandLogs implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly lines: number,
    readonly width: number,
    readonly cursors: number[],
  ) {}
  check = () => true
  async run(_m: Model, r: Real) {
    const command = `for i in $(seq 1 ${this.lines}); do printf 'é%0${this.width}d\\n' $i; [ $((i % 500)) = 0 ] && sleep 0.02; done; printf tail`
    const want = Buffer.from(
      Array.from({ length: this.lines }, (_, i) => `é${String(i + 1).padStart(this.width, '0')}\n`).join('') + 'tail',
    )
    const a = await frames(r, '/command', { command, background: true })
    const id = a.frames.find(f => f.type === 'init')?.text
    if (a.status !== 200 || !id) fail(`background command: ${a.status} ${a.text.slice(0, 200)}`)
    const logs = async (cursor: number) => {
      const res = await r.d.fetch(`/command/${q(id)}/logs?cursor=${cursor}`, { signal: AbortSignal.timeout(LIMIT_MS) })
      const body = Buffer.from(await res.arrayBuffer())
      if (res.status !== 200) fail(`logs at ${cursor}: ${res.status} ${body.toString().slice(0, 200)}`)
      return { body, tail: Number(res.headers.get('execd-commands-tail-cursor')) }
    }
    const pieces: Buffer[] = []
    let cursor = 0
    for (let done = false, reads = 0; ; reads++) {
      // Whether it ended is asked before the read: a read after the end holds the rest.
      const st = await json(r, `/command/status/${q(id)}`)
      if (st.status !== 200) fail(`status: ${st.status} ${st.text}`)
      done = st.body?.running === false
      const { body, tail } = await logs(cursor)
      if (tail !== cursor + body.length) fail(`logs from ${cursor}: ${body.length} bytes, tail cursor ${tail}`)
      pieces.push(body)
      cursor = tail
      if (done) {
        if (st.body?.exit_code !== 0) fail(`command ended ${st.text}`)
        break
      }
      if (reads > 2000) fail('command still running after 2000 reads of its logs')
      await Bun.sleep(5)
    }
    const got = Buffer.concat(pieces)
    if (!got.equals(want))
      fail(
        `logs by cursor: ${got.length} bytes, want ${want.length}; first difference at ${[...got].findIndex((b, i) => b !== want[i])}`,
      )
    for (const c of this.cursors) {
      const { body, tail } = await logs(c)
      const rest = want.subarray(Math.min(c, want.length))
      if (!body.equals(rest)) fail(`logs at ${c} of ${want.length}: ${body.length} bytes, want ${rest.length}`)
      if (tail !== Math.max(c, want.length) && tail !== want.length)
        fail(`logs at ${c} of ${want.length}: tail cursor ${tail}`)
    }
  }
  toString = () => `command of ${this.lines} lines of ${this.width + 3} bytes, logs at ${JSON.stringify(this.cursors)}`
}
