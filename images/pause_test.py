#!/usr/bin/env python3
"""Tests of the pause binary as a pod sandbox runs it: PID 1 of a PID namespace of its own.

As PID 1 it must reap the orphans reparented to it (a zombie would stay forever otherwise),
and it must exit 0 on SIGTERM and SIGINT -- which the kernel delivers to a namespace's init
only when it has a handler. Needs root (unshare, nsenter from util-linux); exits 77 (skipped)
without it.

Usage: pause_test.py PAUSE_BINARY
"""

import os
import shutil
import signal
import subprocess
import sys
import time
import unittest

PAUSE = None
SKIP = 77


def children(pid):
    """The pids of `pid`'s children (all its threads')."""
    out = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                out += [int(c) for c in f.read().split()]
    except FileNotFoundError:
        pass
    return out


def state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return None


# The signals pause handles, as bits of /proc/PID/status's SigCgt (signal n is bit n-1).
HANDLED = (1 << (signal.SIGTERM - 1)) | (1 << (signal.SIGINT - 1))


def caught(pid):
    """The mask of signals `pid` has handlers for (0 once it is gone)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("SigCgt:"):
                    return int(line.split()[1], 16)
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def wait_for(pred, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.01)
    return pred()


class PauseAsInitTest(unittest.TestCase):
    def start(self):
        """Starts pause as PID 1 of a new PID namespace; returns (unshare process, pause pid)."""
        # --kill-child: pause goes when unshare does (it would outlive it otherwise).
        proc = subprocess.Popen(["unshare", "--pid", "--fork", "--kill-child", PAUSE],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.addCleanup(self.kill, proc)
        self.assertTrue(wait_for(lambda: len(children(proc.pid)) == 1), "pause did not start")
        pause = children(proc.pid)[0]
        self.addCleanup(self.kill_pid, pause)
        # The fork has exec'd pause once its command line says so.
        self.assertTrue(wait_for(lambda: self.cmdline(pause).startswith(PAUSE)))
        # A namespace's init gets only the signals it handles, so one sent between the exec and
        # pause's sigaction() would be dropped: wait until it catches SIGTERM and SIGINT.
        self.assertTrue(wait_for(lambda: caught(pause) & HANDLED == HANDLED),
                        "pause installed no SIGTERM and SIGINT handlers")
        return proc, pause

    @staticmethod
    def cmdline(pid):
        try:
            with open("/proc/%d/cmdline" % pid) as f:
                return f.read().replace("\0", " ")
        except FileNotFoundError:
            return ""

    @classmethod
    def kill_pid(cls, pid):
        if not cls.cmdline(pid).startswith(PAUSE):
            return  # gone already (the pid may be another process's by now)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    @staticmethod
    def kill(proc):
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()

    def test_version(self):
        out = subprocess.run([PAUSE, "-v"], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0)
        self.assertEqual(out.stdout, "pause.c v3.10 (keelson)\n")
        self.assertEqual(subprocess.run([PAUSE, "-x"], capture_output=True).returncode, 2)

    def test_reaps_orphans(self):
        proc, pause = self.start()
        # A shell in pause's PID namespace starts a child and exits: the child is orphaned
        # and reparented to pause, the namespace's init.
        subprocess.run(["nsenter", "--target", str(pause), "--pid", "--",
                        "sh", "-c", "sleep 0.5 & exit 0"], check=True)
        self.assertTrue(wait_for(lambda: len(children(pause)) == 1, 2.0),
                        "the orphan was not reparented to pause")
        orphan = children(pause)[0]
        self.assertTrue(wait_for(lambda: state(orphan) is None, 5.0),
                        "pause left its exited child as a zombie (state %s)" % state(orphan))
        self.assertEqual(children(pause), [])
        self.assertIsNone(proc.poll(), "pause exited")

    def test_exits_zero_on_sigterm_and_sigint(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            proc, pause = self.start()
            os.kill(pause, sig)
            try:
                code = proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.fail("pause as PID 1 ignored %s" % sig.name)
            self.assertEqual(code, 0, "%s: %s" % (sig.name, proc.stderr.read()))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print("usage: pause_test.py PAUSE_BINARY", file=sys.stderr)
        sys.exit(2)
    PAUSE = os.path.abspath(sys.argv.pop(1))
    if not os.access(PAUSE, os.X_OK):
        print("%s is missing: build the keelson_image_pause target" % PAUSE, file=sys.stderr)
        sys.exit(1)
    if os.geteuid() != 0:
        print("skipped: needs root for a PID namespace", file=sys.stderr)
        sys.exit(SKIP)
    for tool in ("unshare", "nsenter"):
        if shutil.which(tool) is None:
            print("skipped: %s (util-linux) is not installed" % tool, file=sys.stderr)
            sys.exit(SKIP)
    unittest.main()
