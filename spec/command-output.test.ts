/**
 * What a command's output becomes on the wire (CONTRACT §2): frames byte for byte, lines cut
 * and joined as the reference's are, on stdout and stderr, live, replayed and in the logs.
 */
import { describe, expect, test } from 'bun:test'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { commandFrames, lastEvent as last, texts } from './command-stream'
import { postJson, readSse } from './harness'
import { daemonWithDir } from './kit/daemon-dir'

const fx = daemonWithDir('cmd-output')

const run = (body: Record<string, unknown>) => commandFrames(fx.d, body)

describe('POST /command output frames', () => {
  test('blank lines are split exactly as the reference smoke test expects', async () => {
    const frames = await run({ command: "printf 'a\\n\\nb\\n\\n\\nc\\n'" })
    expect(texts(frames)).toEqual(['a', '\n', 'b', '\n', '\n', 'c'])
    expect(frames[0]?.data.type).toBe('init')
    expect(frames[0]?.data.text).toMatch(/^[0-9a-f]{32}$/)
    expect(frames[1]?.data).toMatchObject({ type: 'ping', text: 'pong' })
    expect(last(frames).type).toBe('execution_complete')
    expect(frames.map(f => Number(f.id))).toEqual(frames.map((_, i) => i + 1))
  })

  test('output frames stay byte for byte what they were: escapes, invalid UTF-8, \r, a character split across writes', async () => {
    // Pins the wire bytes of output lines (only the timestamps vary), whatever path encodes them.
    const command = String.raw`printf 'plain\r\nq"b\\s\tt\001\177 <&>\n'; printf '\377\376 ok \303\251 \342\202\n\n\rsplit \360\237'; printf '\230\200 tail'`
    const res = await postJson(fx.d, '/command', { command })
    const body = (await res.text()).replace(/"timestamp":\d+/g, '"timestamp":T')
    const from = body.indexOf('id: 3\n')
    const to = body.indexOf('id: 9\n')
    expect(body.slice(to)).toStartWith('id: 9\ndata: {"type":"execution_complete"')
    expect(body.slice(from, to)).toBe(
      'id: 3\ndata: {"type":"stdout","text":"plain","timestamp":T}\n\n' +
        'id: 4\ndata: {"type":"stdout","text":"q\\"b\\\\s\\tt\\u0001\u007f <&>","timestamp":T}\n\n' +
        'id: 5\ndata: {"type":"stdout","text":"\ufffd\ufffd ok \u00e9 \ufffd","timestamp":T}\n\n' +
        'id: 6\ndata: {"type":"stdout","text":"\\n","timestamp":T}\n\n' +
        'id: 7\ndata: {"type":"stdout","text":"\\n","timestamp":T}\n\n' +
        'id: 8\ndata: {"type":"stdout","text":"split \u{1f600} tail","timestamp":T}\n\n',
    )
  })

  test('long and partial lines: every frame is the compact JSON of its text, and the texts add up to the output', async () => {
    // 300 KB of ASCII with no newline (cut into pieces), a long line of é, progress bars over
    // CR, a quote and a tab inside a long line, and an unterminated tail.
    const script = [
      `head -c 300000 /dev/zero | tr '\\0' a`,
      `printf '\\n'`,
      `head -c 100000 /dev/zero | tr '\\0' '\\351' | iconv -f latin1 -t utf-8`,
      `printf '\\r10%%\\r20%%\\r\\n'`,
      `head -c 70000 /dev/zero | tr '\\0' b; printf '"\\t'; head -c 70000 /dev/zero | tr '\\0' c`,
      `printf '\\nend without newline'`,
    ].join('; ')
    const res = await postJson(fx.d, '/command', { command: script })
    const body = await res.text()
    const texts: string[] = []
    for (const block of body.split('\n\n').filter(Boolean)) {
      const data = block.slice(block.indexOf('data: ') + 6)
      const event = JSON.parse(data)
      if (event.type !== 'stdout') continue
      expect(data).toBe(`{"type":"stdout","text":${JSON.stringify(event.text)},"timestamp":${event.timestamp}}`)
      expect(event.text.length).toBeGreaterThan(0)
      texts.push(event.text)
    }
    const joined = texts.join('')
    const want = `${'a'.repeat(300000)}${'é'.repeat(100000)}10%20%${'b'.repeat(70000)}"\t${'c'.repeat(70000)}end without newline`
    // A cut piece and a whole line cannot be told apart in the frames; the output they carry can.
    expect(joined.length).toBe(want.length)
    expect(joined).toBe(want)
  })

  test('4 MiB of short lines with odd bytes here and there: every frame byte for byte, on stdout and on stderr', async () => {
    // Pipe reads of this size take execd's whole-chunk path (a chunk with nothing to escape
    // has only clean lines, framed from their bytes); a line with a quote, a backslash, a
    // control, CR, CRLF, DEL, a UTF-8 character or an invalid byte must still be its JSON.
    const odd = ['"', '\\', '\t', '\r', '\r\n', '\u0001', '\u001f', '\u007f', 'é', '\u{1f600}', '\xff']
    let seed = 7
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n
    const lines: string[] = []
    // A line in twenty odd in the first 256 KiB; after that one every ~100 KiB, so that many
    // reads have a single odd byte, anywhere in them.
    for (let size = 0, next = 1 << 18; size < 4 << 20;) {
      let line = ''
      for (let k = rand(300); k > 0; k--) line += String.fromCharCode(0x20 + rand(0x5f)).replace(/["\\]/, 'x')
      const sparse = size >= next
      if (sparse) next = size + 90_000 + rand(20_000)
      if (sparse || (size < 1 << 18 && rand(20) === 0)) {
        const at = rand(line.length + 1)
        line = line.slice(0, at) + odd[rand(odd.length)] + line.slice(at)
      }
      lines.push(line)
      size += line.length + 1
    }
    // bytes as written: \xff stays one invalid byte, the rest UTF-8
    const parts = lines.join('\n') + '\nno newline at the end'
    const bytes = Buffer.concat(
      parts.split('\xff').flatMap((p, i) => (i ? [Buffer.from([0xff]), Buffer.from(p)] : [Buffer.from(p)])),
    )
    const file = join(fx.tmp, 'odd-lines')
    writeFileSync(file, bytes)
    const want = new TextDecoder()
      .decode(bytes)
      .split(/\r\n|\r|\n/)
      .map(t => (t === '' ? '\n' : t))
    for (const [type, redirect] of [
      ['stdout', ''],
      ['stderr', ' >&2'],
    ]) {
      const res = await postJson(fx.d, '/command', { command: `cat ${file}${redirect}` })
      const body = (await res.text()).replace(/"timestamp":\d+/g, '"timestamp":T')
      const from = body.indexOf('id: 3\n')
      const end = body.indexOf(`id: ${3 + want.length}\n`)
      expect(body.slice(end)).toStartWith(`id: ${3 + want.length}\ndata: {"type":"execution_complete"`)
      const frames = want.map(
        (t, i) => `id: ${3 + i}\ndata: {"type":"${type}","text":${JSON.stringify(t)},"timestamp":T}\n\n`,
      )
      expect(body.slice(from, end)).toBe(frames.join(''))
    }
  })

  test('a line longer than 64 Ki units is cut into 64 Ki pieces whatever the reads: foreground, replay and logs', async () => {
    // Before, a long line was cut only while its end had not been read yet, so its pieces
    // depended on how the pipe's reads fell. python writes a 200,000-byte line and its newline
    // in one write; head | tr; echo writes them apart; a 4-byte character straddles a cut (the
    // piece ends before it rather than split its surrogate pair); the last line has no newline.
    const [x, y, z, v] = [
      `python3 -c 'import sys; sys.stdout.write("x" * 200000 + "\\n")'`,
      `head -c 200000 /dev/zero | tr '\\0' y; echo`,
      `head -c 65535 /dev/zero | tr '\\0' z; printf '\\360\\237\\230\\200wwww\\n'`,
      `head -c 200000 /dev/zero | tr '\\0' v`,
    ]
    const cut = (c: string) => [c.repeat(65536), c.repeat(65536), c.repeat(65536), c.repeat(3392)]
    const pair = ['z'.repeat(65535), '\u{1f600}wwww']
    expect(texts(await run({ command: [x, y, z, v].join('; ') }))).toEqual([
      ...cut('x'),
      ...cut('y'),
      ...pair,
      ...cut('v'),
    ])
    // a background command's replay has the same pieces (less output: its journal keeps 1 MiB);
    // its logs are the output as it came
    const id = (await run({ command: [x, z].join('; '), background: true }))[0]?.data.text
    while ((await (await fx.d.fetch(`/command/status/${id}`)).json()).running) await Bun.sleep(50)
    expect(texts(await readSse(await fx.d.fetch(`/command/${id}/events`)))).toEqual([...cut('x'), ...pair])
    const logs = await (await fx.d.fetch(`/command/${id}/logs`)).text()
    expect(logs).toBe(`${'x'.repeat(200000)}\n${'z'.repeat(65535)}\u{1f600}wwww\n`)
  })
})
