import { expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { takesDefaultInterrupt } from './run-stop'

const comm = (pid: number) => readFileSync(`/proc/${pid}/comm`, 'latin1').trim()

test('a process that leaves SIGINT to its default takes it; one that catches or ignores it does not', async () => {
  const cases: [string, boolean][] = [
    ["trap 'echo caught' INT; exec sleep 30", true], // exec resets a caught signal to its default
    ["trap '' INT; exec sleep 30", false], // an ignored one stays ignored across exec
    ["trap 'echo caught' INT; echo ready; read -r", false], // bash itself, its trap set
  ]
  for (const [script, takes] of cases) {
    const child = Bun.spawn(['bash', '-c', script], { stdio: ['pipe', 'pipe', 'ignore'] })
    try {
      // Read once the exec has happened or the trap is set (bounded: the sleep and read outlive it).
      if (script.includes('read')) await child.stdout.getReader().read()
      else while (comm(child.pid) !== 'sleep') await Bun.sleep(5)
      expect(await takesDefaultInterrupt(child.pid)).toBe(takes)
    } finally {
      child.kill('SIGKILL')
      await child.exited
    }
  }
})

test('a process gone takes nothing', async () => {
  const child = Bun.spawn(['true'])
  await child.exited
  expect(await takesDefaultInterrupt(child.pid)).toBe(false)
})
