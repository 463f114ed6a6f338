/**
 * The baselines a row sets beside execd (a bare server, a relay, a canned cell) are compiled as
 * `make build` compiles dist/execd (Makefile), so what a row compares is the work, not the build:
 * the same bytecode, the same reluctant JIT at start, no `.env` or `bunfig.toml` read.
 */
import { join } from 'node:path'

const BUN = join(import.meta.dir, '..', '..', 'node_modules', '.bin', 'bun')

export const EXECD_BUILD_FLAGS = [
  '--compile',
  '--minify',
  '--bytecode',
  '--format=esm',
  '--splitting',
  '--compile-jit-policy=10',
  '--no-compile-autoload-dotenv',
  '--no-compile-autoload-bunfig',
]

/** `source` compiled into `dir/name` with dist/execd's flags; the executable's path. */
export async function compileLikeExecd(source: string, dir: string, name: string): Promise<string> {
  const bin = join(dir, name)
  const b = Bun.spawn([BUN, 'build', source, ...EXECD_BUILD_FLAGS, '--outfile', bin], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  if ((await b.exited) !== 0) throw new Error(`bun build ${source}: ${await new Response(b.stderr).text()}`)
  return bin
}
