/** The official TypeScript SDK (@alibaba-group/opensandbox) drives the files section of dist/execd. */
import { beforeAll, expect, test } from 'bun:test'
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { sdkFailure, sdkFor, type ExecdStack } from './sdk'
import { daemonWithDir } from './kit/daemon-dir'

let files: ExecdStack['files']

const fx = daemonWithDir('sdk-files')
beforeAll(() => {
  files = sdkFor(fx.d).files
})

const p = (name: string) => join(fx.tmp, name)

test('the SDK writes, reads, lists, searches, moves, replaces, chmods and deletes files', async () => {
  // Several files in one call (the SDK sends one upload per file), text, bytes and a stream.
  const streamed = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < 64; i++) c.enqueue(new Uint8Array(16 * 1024).fill(i))
      c.close()
    },
  })
  await files.writeFiles([
    { path: p('proj/main.py'), data: 'print("hello")\n', mode: 644 },
    { path: p('proj/lib/util.py'), data: 'def f():\n    return "hello"\n' },
    { path: p('proj/data.bin'), data: new Uint8Array([0, 1, 2, 255]) },
    { path: p('proj/streamed.bin'), data: streamed },
    { path: p('proj/文档.txt'), data: 'unicode name' },
  ])
  expect(readFileSync(p('proj/main.py'), 'utf8')).toBe('print("hello")\n')
  expect(statSync(p('proj/streamed.bin')).size).toBe(64 * 16 * 1024)
  // The SDK defaults nothing for writeFiles' mode; a new file is not made executable.
  expect(statSync(p('proj/lib/util.py')).mode & 0o111).toBe(0)

  expect(await files.readFile(p('proj/main.py'))).toBe('print("hello")\n')
  expect([...(await files.readBytes(p('proj/data.bin')))]).toEqual([0, 1, 2, 255])
  expect(await files.readFile(p('proj/main.py'), { range: 'bytes=0-4' })).toBe('print')
  expect(await files.readFile(p('proj/lib/util.py'), { offset: 2, limit: 1 })).toBe('    return "hello"\n')
  expect(await files.readFile(p('proj/文档.txt'))).toBe('unicode name')
  let streamedBytes = 0
  for await (const chunk of files.readBytesStream(p('proj/streamed.bin'))) streamedBytes += chunk.byteLength
  expect(streamedBytes).toBe(64 * 16 * 1024)

  const info = await files.getFileInfo([p('proj/main.py')])
  expect(info[p('proj/main.py')]).toMatchObject({ type: 'file', size: 15, mode: 644, owner: 'root' })
  expect(info[p('proj/main.py')]?.modifiedAt).toBeInstanceOf(Date)

  const listed = await files.listDirectory({ path: p('proj'), depth: 2 })
  expect(listed.map(e => e.path)).toEqual([
    p('proj/data.bin'),
    p('proj/lib'),
    p('proj/lib/util.py'),
    p('proj/main.py'),
    p('proj/streamed.bin'),
    p('proj/文档.txt'),
  ])

  const found = await files.search({ path: p('proj'), pattern: '*.py' })
  expect(found.map(e => e.path)).toEqual([p('proj/lib/util.py'), p('proj/main.py')])
  expect((await files.search({ path: p('proj'), pattern: 'lib/*.{py,txt}' })).map(e => e.path)).toEqual([
    p('proj/lib/util.py'),
  ])

  await files.moveFiles([{ src: p('proj/main.py'), dest: p('proj/app/main.py') }])
  expect(readFileSync(p('proj/app/main.py'), 'utf8')).toBe('print("hello")\n')

  await files.replaceContents([{ path: p('proj/app/main.py'), oldContent: 'hello', newContent: 'world' }])
  expect(readFileSync(p('proj/app/main.py'), 'utf8')).toBe('print("world")\n')
  const detailed = await files.replaceContentsDetailed([
    { path: p('proj/lib/util.py'), oldContent: 'hello', newContent: 'bye' },
  ])
  expect(detailed).toEqual([{ path: p('proj/lib/util.py'), replacedCount: 1 }])

  await files.setPermissions([{ path: p('proj/app/main.py'), mode: 755 }])
  expect(statSync(p('proj/app/main.py')).mode & 0o777).toBe(0o755)

  await files.createDirectories([{ path: p('proj/empty/nested'), mode: 700 }])
  expect(statSync(p('proj/empty/nested')).mode & 0o777).toBe(0o700)

  await files.deleteFiles([p('proj/app/main.py'), p('proj/does-not-exist')])
  expect(() => statSync(p('proj/app/main.py'))).toThrow()
  await files.deleteDirectories([p('proj')])
  expect(() => statSync(p('proj'))).toThrow()
})

test('SDK errors carry the status and the JSON error body', async () => {
  const err = (await files.readFile(p('missing.txt')).catch(e => e)) as { statusCode?: number; rawBody?: unknown }
  expect(err.statusCode).toBe(404)
  expect(JSON.stringify(err.rawBody)).toContain('FILE_NOT_FOUND')
  const moveErr = (await files.moveFiles([{ src: p('nope'), dest: p('x') }]).catch(e => e)) as { statusCode?: number }
  expect(moveErr.statusCode).toBe(404)
})

test('SDK failures, method by method: the JSON routes give the code and message; download and upload give the status and the body as text', async () => {
  writeFileSync(p('here.txt'), 'one\ntwo\n')
  const missing = p('missing')
  for (const [name, call] of [
    ['getFileInfo', () => files.getFileInfo([p('here.txt'), missing])],
    ['setPermissions', () => files.setPermissions([{ path: missing, mode: 644 }])],
    ['replaceContents', () => files.replaceContents([{ path: missing, oldContent: 'a', newContent: 'b' }])],
    ['moveFiles', () => files.moveFiles([{ src: missing, dest: p('x') }])],
    ['listDirectory', () => files.listDirectory({ path: missing })],
    ['search', () => files.search({ path: missing, pattern: '*' })],
  ] as const) {
    const f = await sdkFailure(call)
    expect({ name, status: f.status, code: f.code }).toEqual({ name, status: 404, code: 'FILE_NOT_FOUND' })
    expect(f.message).toStartWith('file not found. ')
    expect(f.message).toContain(missing)
  }
  expect(await sdkFailure(() => files.listDirectory({ path: p('here.txt') }))).toMatchObject({
    status: 400,
    code: 'INVALID_REQUEST_BODY',
  })
  expect(
    await sdkFailure(() => files.setPermissions([{ path: p('here.txt'), mode: 644, owner: 'no-such-user' }])),
  ).toMatchObject({ status: 400, message: 'unknown user: no-such-user' })
  expect(
    await sdkFailure(() => files.replaceContents([{ path: p('here.txt'), oldContent: '', newContent: 'x' }])),
  ).toMatchObject({ status: 400, code: 'INVALID_REQUEST_BODY' })
  expect(await sdkFailure(() => files.deleteFiles([fx.tmp]))).toMatchObject({ status: 400 })

  const read = await sdkFailure(() => files.readFile(missing))
  expect(read).toMatchObject({ status: 404, code: 'UNEXPECTED_RESPONSE', message: 'Download failed' })
  expect(JSON.parse(read.raw as string)).toMatchObject({ code: 'FILE_NOT_FOUND' })
  const range = await sdkFailure(() => files.readFile(p('here.txt'), { range: 'bytes=100-200' }))
  expect(range.status).toBe(416)
  expect(JSON.parse(range.raw as string)).toMatchObject({ code: 'RANGE_NOT_SATISFIABLE' })
  const line = await sdkFailure(() => files.readFile(p('here.txt'), { offset: 0 }))
  expect(line.status).toBe(400)
  expect(JSON.parse(line.raw as string).message).toContain('offset')
  const stream = files.readBytesStream(missing)[Symbol.asyncIterator]()
  expect(await sdkFailure(() => stream.next())).toMatchObject({ status: 404, message: 'Download stream failed' })
  const upload = await sdkFailure(() => files.writeFiles([{ path: p('u.txt'), data: 'x', owner: 'no-such-user' }]))
  expect(upload).toMatchObject({ status: 400, message: 'Upload failed (status=400)' })
  expect(JSON.parse(upload.raw as string)).toMatchObject({ code: 'INVALID_REQUEST_BODY' })
  expect(() => statSync(p('u.txt'))).toThrow()

  // What is not there is no error to delete; lines past the end are no lines.
  await files.deleteFiles([missing])
  await files.deleteDirectories([missing])
  expect(await files.readFile(p('here.txt'), { offset: 9 })).toBe('')
})
