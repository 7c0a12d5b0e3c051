#!/usr/bin/env python3
"""Run a command on a pseudo-terminal, as a user at a terminal would, and write what
the terminal received to OUT. Used by tests/test_cli.c for colors, table widths and
progress bars.

  pty_run.py OUT [--stdin-slow FILE] [--stdout-pipe F] -- CMD ARGS...

--stdin-slow FILE feeds FILE to the command's stdin over about a second (a slow pipe,
so that reading stdin is a long step). --stdout-pipe F sends stdout to F and keeps only
stderr on the terminal. The exit status is the command's."""
import os, pty, sys, time

def main():
    args = sys.argv[1:]
    out = args.pop(0)
    slow = pipe_out = None
    while args and args[0] != "--":
        opt = args.pop(0)
        if opt == "--stdin-slow":
            slow = args.pop(0)
        elif opt == "--stdout-pipe":
            pipe_out = args.pop(0)
    args.pop(0)
    rfd = wfd = None
    if slow:
        rfd, wfd = os.pipe()
    pid, fd = pty.fork()
    if pid == 0:
        if slow:
            os.dup2(rfd, 0)
            os.close(wfd)
        if pipe_out:
            f = os.open(pipe_out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(f, 1)
        os.execvp(args[0], args)
    if slow:
        os.close(rfd)
        data = open(slow, "rb").read()
        step = max(1, len(data) // 20)
        for i in range(0, len(data), step):
            os.write(wfd, data[i:i + step])
            time.sleep(0.06)
        os.close(wfd)
    got = b""
    while True:
        try:
            d = os.read(fd, 65536)
        except OSError:
            break
        if not d:
            break
        got += d
    _, st = os.waitpid(pid, 0)
    open(out, "wb").write(got)
    sys.exit(os.WEXITSTATUS(st) if os.WIFEXITED(st) else 128)

main()
