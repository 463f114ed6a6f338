/**
 * `execd fs <op> ...`: the files section's operations on this machine, without HTTP. Tables
 * for people by default, `--json` for scripts. cac hands over op-specific flags (it was told
 * to allow unknown options), so they are read here.
 */
import { createReadStream, createWriteStream } from 'node:fs'
import { basename, resolve } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { parseArgs } from 'node:util'
import type { FileInfo } from '../plugins/files/fileinfo'
import { openSection } from '../core/app'
import { files } from '../plugins/files'
import { downloadFile } from '../plugins/files/ops/download'
import { statFiles } from '../plugins/files/ops/info'
import { listDirectory, parseDepth } from '../plugins/files/ops/list'
import { makeDirectories } from '../plugins/files/ops/mkdir'
import { moveFiles } from '../plugins/files/ops/move'
import { setPermissions } from '../plugins/files/ops/permissions'
import { deleteFiles, removeDirectories } from '../plugins/files/ops/remove'
import { replaceInFiles } from '../plugins/files/ops/replace'
import { searchFiles } from '../plugins/files/ops/search'
import { writeFile } from '../plugins/files/ops/upload'
import { configFrom } from './options'

export const FS_USAGE = `Usage: execd fs <op> [args] [--json] [--root DIR]

  ls [path] [-d depth]              list a directory (default depth 1)
  stat <path>...                    FileInfo of each path (symlinks not followed)
  cat <path> [--range a-b] [--offset N --limit N]
                                    print a file, a byte range, or lines
  get <path> [dest] [--range a-b]   copy a file out (dest default: its name here; - for stdout)
  put <src|-> <dest> [--mode 644] [--owner u] [--group g]
                                    write a file atomically from a file or stdin
  rm <path>...                      delete files and symlinks
  rmdir <path>...                   delete directories recursively
  mv <src> <dest>                   move/rename (creates parents, never overwrites)
  mkdir <path>... [-m 755] [--owner u] [--group g]
  chmod <mode> <path>... [--owner u] [--group g]
  search <dir> [pattern]            glob (default **); without / it matches base names
  replace <path> <old> <new>        replace text (atomic rewrite); prints the count
`

type Options = Record<string, unknown>

class UsageError extends Error {}

/**
 * Entry from cac. Its parser (mri) drops a lone `-` and turns `0644` into a number, so the
 * words after `fs` are parsed again here, strictly, from the raw command line.
 */
export async function fsCommand(op: string, argv: string[], options: Options): Promise<number> {
  const raw = process.argv.slice(2)
  const at = raw.indexOf('fs')
  if (at >= 0) return fsMain(raw.slice(at + 1))
  return fsMain([op, ...argv, ...(options.json ? ['--json'] : [])])
}

const FLAGS = {
  json: { type: 'boolean' },
  root: { type: 'string' },
  depth: { type: 'string', short: 'd' },
  range: { type: 'string' },
  offset: { type: 'string' },
  limit: { type: 'string' },
  mode: { type: 'string', short: 'm' },
  owner: { type: 'string' },
  group: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const

/** `execd fs` with the words after `fs`. Returns the exit code (2: usage). */
export async function fsMain(words: string[]): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({ args: words, options: FLAGS, allowPositionals: true, strict: true })
  } catch (err) {
    process.stderr.write(`execd: ${(err as Error).message}\n\n${FS_USAGE}`)
    return 2
  }
  const options = parsed.values
  const [op = '', ...args] = parsed.positionals
  if (options.help) {
    process.stdout.write(FS_USAGE)
    return 0
  }
  const { scope } = (await openSection(files, configFrom(options.root ? { root: options.root } : {}))).ops
  const asJson = Boolean(options.json)
  const print = (value: unknown, human: () => string) =>
    process.stdout.write(asJson ? `${JSON.stringify(value)}\n` : human())
  const need = (n: number, what: string) => {
    if (args.length < n) throw new UsageError(`fs ${op}: ${what}`)
  }
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v))
  try {
    switch (op) {
      case 'ls': {
        const depth = parseDepth(options.depth)
        const entries = await listDirectory(scope, args[0] ?? '.', depth)
        print(entries, () => table(entries))
        return 0
      }
      case 'stat': {
        need(1, 'which path?')
        const infos = await statFiles(scope, args)
        print(infos, () => Object.values(infos).map(describe).join('\n'))
        return 0
      }
      case 'cat':
      case 'get': {
        need(1, 'which file?')
        const res = await downloadFile(scope, {
          path: args[0]!,
          range: options.range ? `bytes=${options.range}` : undefined,
          offset: options.offset,
          limit: options.limit,
        })
        const dest = op === 'cat' ? '-' : (args[1] ?? basename(args[0]!))
        const out = dest === '-' ? process.stdout : createWriteStream(resolve(dest))
        await pipeline(Readable.fromWeb(res.body as any), out)
        return 0
      }
      case 'put': {
        need(2, 'put <src|-> <dest>')
        const source = args[0] === '-' ? process.stdin : createReadStream(args[0]!)
        const written = await writeFile(
          scope,
          { path: args[1]!, mode: num(options.mode), owner: options.owner, group: options.group },
          source as AsyncIterable<Uint8Array>,
        )
        print(written, () => `${written.path}: ${written.bytes} bytes\n`)
        return 0
      }
      case 'rm':
        need(1, 'which path?')
        await deleteFiles(scope, args)
        return 0
      case 'rmdir':
        need(1, 'which path?')
        await removeDirectories(scope, args)
        return 0
      case 'mv':
        need(2, 'mv <src> <dest>')
        await moveFiles(scope, [{ src: args[0]!, dest: args[1]! }])
        return 0
      case 'mkdir': {
        need(1, 'which path?')
        const perm = { mode: num(options.mode), owner: options.owner, group: options.group }
        await makeDirectories(scope, Object.fromEntries(args.map(p => [p, perm])))
        return 0
      }
      case 'chmod': {
        need(2, 'chmod <mode> <path>...')
        const perm = { mode: Number(args[0]), owner: options.owner, group: options.group }
        await setPermissions(scope, Object.fromEntries(args.slice(1).map(p => [p, perm])))
        return 0
      }
      case 'search': {
        need(1, 'search <dir> [pattern]')
        const found = await searchFiles(scope, args[0]!, args[1])
        print(found, () => table(found))
        return 0
      }
      case 'replace': {
        need(3, 'replace <path> <old> <new>')
        const counts = await replaceInFiles(scope, { [args[0]!]: { old: args[1]!, new: args[2]! } })
        print(counts, () => `${args[0]}: ${counts[args[0]!]!.replacedCount} replaced\n`)
        return 0
      }
      default:
        throw new UsageError(op ? `unknown fs operation '${op}'` : 'which operation?')
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    process.stderr.write(`execd: ${err.message}\n\n${FS_USAGE}`)
    return 2
  }
}

/** `-rw-r--r--` from the wire mode (octal digits) and type. */
export function modeString(info: FileInfo): string {
  const kind = { file: '-', directory: 'd', symlink: 'l', other: '?' }[info.type]
  const bits = parseInt(String(info.mode), 8)
  let out = kind
  for (let shift = 6; shift >= 0; shift -= 3) {
    const b = (bits >> shift) & 7
    out += (b & 4 ? 'r' : '-') + (b & 2 ? 'w' : '-') + (b & 1 ? 'x' : '-')
  }
  return out
}

/** One line per entry, columns aligned like `ls -l`. */
export function table(entries: FileInfo[]): string {
  if (!entries.length) return ''
  const rows = entries.map(e => [
    modeString(e),
    e.owner,
    e.group,
    String(e.size),
    e.modified_at.slice(0, 19).replace('T', ' '),
    e.path,
  ])
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map(r => r[i]!.length)))
  return (
    rows
      .map(r =>
        r.map((c, i) => (i === 3 ? c.padStart(widths[i]!) : i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  '),
      )
      .join('\n') + '\n'
  )
}

function describe(info: FileInfo): string {
  return [
    `path      ${info.path}`,
    `type      ${info.type}`,
    `size      ${info.size}`,
    `mode      ${info.mode} (${modeString(info)})`,
    `owner     ${info.owner}:${info.group}`,
    `modified  ${info.modified_at}`,
    `changed   ${info.created_at}`,
    '',
  ].join('\n')
}
