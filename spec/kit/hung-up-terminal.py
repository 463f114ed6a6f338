"""Runs a program with its stdout and stderr on a terminal that hangs up on cue.

argv: <cue file> <program> <args>...: this process becomes the program (the same pid), its
stdout and stderr the slave of a new pty. A grandchild holds the master, reading and dropping
what comes, until the cue file exists; it then closes the master (the terminal is hung up: writes
to it fail with EIO, as when the terminal of `execd serve &` closes) and writes `<cue>.done`.
"""
import os
import pty
import select
import sys

cue = sys.argv[1]
master, slave = pty.openpty()
child = os.fork()
if child == 0:
    # The grandchild holds the master, orphaned: no child of the program it becomes.
    if os.fork() != 0:
        os._exit(0)
    os.close(slave)
    while not os.path.exists(cue):
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            try:
                os.read(master, 65536)
            except OSError:
                break
    os.close(master)
    with open(cue + '.done', 'w'):
        pass
    os._exit(0)
os.waitpid(child, 0)
os.close(master)
os.dup2(slave, 1)
os.dup2(slave, 2)
os.close(slave)
os.execv(sys.argv[2], sys.argv[2:])
