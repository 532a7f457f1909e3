#!/usr/bin/python3
"""pty_run.py OUT SECONDS CMD...: runs CMD with its stdin, stdout and stderr
on a new pseudo-terminal, writes every byte it drew to OUT, and exits with
CMD's status (124 when it ran past SECONDS, and was killed)."""
import os
import pty
import select
import signal
import sys
import time


def main():
    out, limit, cmd = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    data = b""
    deadline = time.monotonic() + limit
    timed_out = False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            os.kill(pid, signal.SIGKILL)
            break
        ready, _, _ = select.select([fd], [], [], min(left, 1.0))
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        data += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    with open(out, "wb") as f:
        f.write(data)
    if timed_out:
        sys.exit(124)
    sys.exit(os.waitstatus_to_exitcode(status) & 0xFF)


main()
