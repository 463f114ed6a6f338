/**
 * What a process waits in on its fd 3 (python's channel, the javascript driver's pipe), read from
 * the kernel: 'send' (sendto, sendmsg, write), 'recv' (its next cell), or undefined (running, or
 * elsewhere). x86_64 and aarch64 numbers.
 */
import { readFileSync } from 'node:fs'

export function waitsIn(pid: number): 'send' | 'recv' | undefined {
  const [nr, fd] = readFileSync(`/proc/${pid}/syscall`, 'utf8').trim().split(' ')
  if (fd !== '0x3') return undefined
  const sends = process.arch === 'arm64' ? ['64', '206', '211'] : ['1', '44', '46']
  const recvs = process.arch === 'arm64' ? ['63', '207', '212'] : ['0', '45', '47']
  if (sends.includes(nr!)) return 'send'
  if (recvs.includes(nr!)) return 'recv'
  return undefined
}
