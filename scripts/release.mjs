#!/usr/bin/env bun
/**
 * `make release`: the release executables, built offline from the Bun runtimes pinned with
 * their integrity in package-lock.json, into dist/release/ with SHA256SUMS.
 *
 *   execd-linux-x64        glibc ≥ 2.17, x86-64-v2 (SSE4.2, POPCNT)
 *   execd-linux-arm64      glibc ≥ 2.17, aarch64
 *   execd-linux-x64-musl   musl, with libstdc++ and libgcc installed (Alpine: apk add libstdc++ libgcc)
 *   execd-linux-arm64-musl the same on aarch64
 *
 * Each is `bun build --compile --target=… --compile-executable-path <runtime>`: the runtime is
 * the npm package's `bin/bun`, taken from its tarball in dist/cache/ after checking the
 * tarball's sha512 against the lockfile (`npm pack --prefer-offline` fetches a missing one: from
 * npm's cache when `npm ci` put it there). Plain `--target` would download the runtime itself,
 * from its own URL, ignoring registry settings and the lockfile, and fails offline.
 *
 *   RELEASE_TARGETS=linux-x64,linux-arm64   build only these
 *   RELEASE_BYTECODE=0                      build without --bytecode (see README, "Release")
 *   RELEASE_OUT=dir                         output directory (default dist/release)
 */
import { createHash } from 'node:crypto'
import { createReadStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { $, cd, chalk, echo } from 'zx'

const ROOT = resolve(import.meta.dir, '..')
cd(ROOT)
$.verbose = false

/** Release name → Bun's compile target and the npm package holding that runtime. */
export const TARGETS = {
  'linux-x64': { target: 'bun-linux-x64', pkg: '@oven/bun-linux-x64' },
  'linux-arm64': { target: 'bun-linux-arm64', pkg: '@oven/bun-linux-aarch64' },
  'linux-x64-musl': { target: 'bun-linux-x64-musl', pkg: '@oven/bun-linux-x64-musl' },
  'linux-arm64-musl': { target: 'bun-linux-arm64-musl', pkg: '@oven/bun-linux-aarch64-musl' },
}

const CACHE = join(ROOT, 'dist/cache')
const OUT = resolve(process.env.RELEASE_OUT ?? join(ROOT, 'dist/release'))
const BYTECODE = process.env.RELEASE_BYTECODE !== '0'
const wanted = (process.env.RELEASE_TARGETS ?? Object.keys(TARGETS).join(',')).split(',').filter(Boolean)

const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'))
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
const commit = (await $`git rev-parse --short HEAD`.nothrow()).stdout.trim() || 'unknown'

/** The lockfile's pinned version and integrity of an npm package. */
function pinned(name) {
  const entry = lock.packages?.[`node_modules/${name}`]
  if (!entry?.version || !entry?.integrity)
    throw new Error(`${name} is not pinned with its integrity in package-lock.json`)
  return { version: entry.version, integrity: entry.integrity }
}

async function digest(file, algorithm, encoding) {
  const hash = createHash(algorithm)
  for await (const chunk of createReadStream(file)) hash.update(chunk)
  return hash.digest(encoding)
}

/** The runtime binary of `name`, from its tarball checked against the lockfile. */
async function runtime(name) {
  const { version, integrity } = pinned(name)
  const stem = `${name.replace(/^@/, '').replace('/', '-')}-${version}`
  const tarball = join(CACHE, `${stem}.tgz`)
  mkdirSync(CACHE, { recursive: true })
  if (!existsSync(tarball)) {
    echo(chalk.dim(`fetching ${name}@${version} (npm pack --prefer-offline)`))
    await $`npm pack --prefer-offline --silent --pack-destination ${CACHE} ${`${name}@${version}`}`
  }
  const [algorithm, expected] = integrity.split(/-(.*)/s)
  const actual = await digest(tarball, algorithm, 'base64')
  if (actual !== expected) {
    throw new Error(
      `${basename(tarball)}: ${algorithm} ${actual} does not match the lockfile's ${expected}; delete it and retry`,
    )
  }
  const dir = join(CACHE, stem)
  const bin = join(dir, 'package/bin/bun')
  if (!existsSync(bin)) {
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(dir, { recursive: true })
    await $`tar -xzf ${tarball} -C ${dir}`
  }
  return { bin, version }
}

async function build(name) {
  const { target, pkg: runtimePkg } = TARGETS[name]
  if (!target) throw new Error(`unknown target ${name} (known: ${Object.keys(TARGETS).join(', ')})`)
  const { bin, version } = await runtime(runtimePkg)
  const outfile = join(OUT, `execd-${name}`)
  // The same flags as `make build` (Makefile), plus the target and what --version names.
  const flags = [
    'build',
    'cmd/execd.ts',
    '--compile',
    '--minify',
    ...(BYTECODE ? ['--bytecode', '--format=esm', '--splitting'] : []),
    `--target=${target}`,
    `--compile-executable-path=${bin}`,
    '--compile-exec-argv=--max-http-header-size=1048576',
    '--compile-jit-policy=10',
    '--no-compile-autoload-dotenv',
    '--no-compile-autoload-bunfig',
    '--define',
    `process.env.EXECD_BUILD_COMMIT="${commit}"`,
    '--define',
    `process.env.EXECD_BUILD_VERSION="${pkg.version}"`,
    '--define',
    `process.env.EXECD_BUILD_TARGET="${name}"`,
    '--outfile',
    outfile,
  ]
  await $`${process.execPath} ${flags}`
  const mib = (statSync(outfile).size / 2 ** 20).toFixed(1)
  echo(
    `${chalk.green('built')} ${basename(outfile)}  ${mib} MiB  (runtime ${runtimePkg}@${version}${BYTECODE ? ', bytecode' : ''})`,
  )
  return outfile
}

mkdirSync(OUT, { recursive: true })
const built = []
for (const name of wanted) built.push(await build(name))
// SHA256SUMS covers every executable in the directory, as `sha256sum -c` checks it.
const sums = []
for (const file of built.sort()) sums.push(`${await digest(file, 'sha256', 'hex')}  ${basename(file)}`)
writeFileSync(join(OUT, 'SHA256SUMS'), `${sums.join('\n')}\n`)
echo(`${chalk.green('wrote')} ${join(OUT, 'SHA256SUMS')}`)
