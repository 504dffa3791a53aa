"""Fixtures that mount a real patfs in a temporary directory.

The daemon runs in the foreground with its stderr in a file; when a test ends
the mount is taken down and the test fails if that stderr shows an error or a
sanitizer report (as sshfs's tests do)."""
import errno
import os
import re
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PATFS = os.environ.get("PATFS_BIN", os.path.join(ROOT, "build", "patfs"))
FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
BAD_STDERR = re.compile(r"error|AddressSanitizer|LeakSanitizer|runtime error|"
                        r"Sanitizer|WARNING", re.I)


class Daemon:
    """One patfs process and its mount point."""

    def __init__(self, workdir, config=None, env=None, name="mnt", args=()):
        self.workdir = str(workdir)
        self.args = list(args)
        self.mnt = os.path.join(self.workdir, name)
        self.config = config
        self.env = env or {}
        self.proc = None
        self.stderr_path = os.path.join(self.workdir, "patfs.stderr")
        self.stderr_seen = ""
        self.start_cmd_prefix = []  # e.g. prlimit: it execs patfs

    def start(self, expect_fail=False):
        os.makedirs(self.mnt, exist_ok=True)
        cmd = self.start_cmd_prefix + [PATFS, "-f"] + self.args
        if self.config:
            cmd += ["-c", self.config]
        cmd.append(self.mnt)
        env = dict(os.environ)
        env.update(self.env)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        self.err = open(self.stderr_path, "a")
        self.proc = subprocess.Popen(cmd, cwd=self.workdir, stderr=self.err,
                                     stdout=subprocess.DEVNULL, env=env)
        if expect_fail:
            rc = self.proc.wait(timeout=30)
            self.err.close()
            self.proc = None
            return rc
        deadline = time.time() + 30
        while not os.path.ismount(self.mnt):
            if self.proc.poll() is not None:
                self.err.close()
                raise RuntimeError("patfs exited with %d: %s" % (
                    self.proc.returncode, self.read_stderr()))
            if time.time() > deadline:
                raise RuntimeError("patfs did not mount: " + self.read_stderr())
            time.sleep(0.02)
        return 0

    def stop(self):
        if self.proc is None:
            return
        subprocess.run(["fusermount3", "-u", self.mnt], check=False,
                       stderr=subprocess.DEVNULL)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.err.close()
        self.proc = None

    def kill9(self):
        """Kills the daemon outright and clears the dead mount."""
        self.proc.kill()
        self.proc.wait()
        self.err.close()
        self.proc = None
        subprocess.run(["fusermount3", "-u", "-z", self.mnt], check=False,
                       stderr=subprocess.DEVNULL)
        subprocess.run(["umount", "-l", self.mnt], check=False,
                       stderr=subprocess.DEVNULL)

    def restart(self):
        self.stop()
        self.start()

    def read_stderr(self):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""  # never started

    def path(self, *parts):
        return os.path.join(self.mnt, *parts)

    def check_stderr(self):
        text = self.read_stderr()
        bad = [l for l in text.splitlines() if BAD_STDERR.search(l)]
        assert not bad, "daemon stderr shows problems:\n" + text


def write_config(workdir, body=""):
    path = os.path.join(str(workdir), "patfs.ini")
    with open(path, "w") as f:
        f.write(body)
    return path


@pytest.fixture
def make_daemon(tmp_path):
    """Factory: make_daemon(config_text=None, env=None) -> started Daemon."""
    daemons = []

    def make(config_text=None, env=None, start=True, args=()):
        cfg = write_config(tmp_path, config_text) if config_text is not None else None
        d = Daemon(tmp_path, cfg, env, args=args)
        daemons.append(d)
        if start:
            d.start()
        return d

    yield make
    for d in daemons:
        d.stop()
    for d in daemons:
        d.check_stderr()


@pytest.fixture
def fs(make_daemon):
    """A started patfs on the embedded defaults (store in the test's dir)."""
    return make_daemon()


# Helpers for the tests ------------------------------------------------------

def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(path, data):
    """One write(2) of data to path (O_WRONLY|O_TRUNC); returns 0 or errno."""
    if isinstance(data, str):
        data = data.encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    except OSError as e:
        return e.errno
    try:
        os.write(fd, data)
        return 0
    except OSError as e:
        return e.errno
    finally:
        os.close(fd)


def err_of(fn, *args):
    """The errno fn(*args) fails with, or 0."""
    try:
        fn(*args)
        return 0
    except OSError as e:
        return e.errno


def mint(d, user, name, take=True, scopes=None):
    """Creates user if needed and mints a token; returns (id, secret)."""
    udir = d.path("users", user)
    if not os.path.isdir(udir):
        os.mkdir(udir)
    before = set(os.listdir(os.path.join(udir, "tokens")))
    tdir = os.path.join(udir, "tokens", name)
    os.mkdir(tdir)
    if scopes is not None:
        assert write(os.path.join(tdir, "scopes"), scopes) == 0
    new = set(os.listdir(os.path.join(udir, "tokens"))) - before
    assert len(new) == 1
    tid = int(new.pop())
    secret = read(os.path.join(tdir, "token")).decode().strip() if take else None
    return tid, secret


def audit_lines(d):
    import json
    return [json.loads(l) for l in read(d.path("audit.log")).decode().splitlines()]


def snapshot(d):
    """Every readable attribute under users/ (not the secrets), for proving
    that a refused change changed nothing."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(d.path("users")):
        if "revoked" in filenames:  # a token: is its unlisted secret there?
            out[os.path.join(dirpath, "token")] = os.path.exists(
                os.path.join(dirpath, "token"))
        for fn in filenames:
            p = os.path.join(dirpath, fn)
            out[p] = read(p)
    out["audit.log"] = read(d.path("audit.log"))
    return out


def settles(fn, want, limit=1.0):
    """Polls fn() until it returns want; returns the seconds that took, or
    fails when it takes longer than limit (caches must not stay stale)."""
    t0 = time.monotonic()
    while True:
        got = fn()
        took = time.monotonic() - t0
        if got == want:
            return took
        assert took < limit, "still %r after %.2f s, want %r" % (got, took, want)
        time.sleep(0.01)


def requests(d, since):
    """[(op, kind, id, statements)] from the daemon's statement log, a line
    per request, since byte since of its stderr."""
    out = []
    for line in d.read_stderr()[since:].splitlines():
        m = re.match(r"patfs: statements: (\w+) (.+) (-?\d+): (\d+)$", line)
        if m:
            out.append((m.group(1), m.group(2), int(m.group(3)),
                        int(m.group(4))))
    return out


def counts(d, since):
    """{(op, kind): [statements, ...]} from the daemon's statement log."""
    out = {}
    for op, kind, _, n in requests(d, since):
        out.setdefault((op, kind), []).append(n)
    return out


def forget_names():
    """Makes the kernel forget every name and inode nobody uses (as memory
    pressure would), so that the next path walk asks the daemon again."""
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("2")
