"""Secrets and tree walkers: `token` is never listed, an open takes nothing,
the first read that returns bytes takes it, and a mapping never gets it."""
import errno
import mmap
import os
import signal
import subprocess

import re

from conftest import err_of, mint, read, settles

SECRET_RE = re.compile(rb"^glpat-[A-Za-z0-9_-]{20}\n$")


def unsealed_tree(d):
    """Three unsealed tokens of two users; returns their token directories."""
    dirs = []
    for user, name in [("alice", "ci"), ("alice", "deploy"), ("bob", "x")]:
        tid, _ = mint(d, user, name, take=False)
        dirs.append(d.path("users", user, "tokens", str(tid)))
    return dirs


def still_unsealed(dirs):
    """Each secret is still there: stat-able by name, in the sealed_at-less
    state (scopes still writable)."""
    return [os.path.exists(os.path.join(t, "token")) and
            os.stat(os.path.join(t, "scopes")).st_mode & 0o200 != 0
            for t in dirs]


def test_tree_walkers_take_no_secret(fs, tmp_path):
    dirs = unsealed_tree(fs)
    out = str(tmp_path / "copies")
    os.mkdir(out)
    walkers = [
        "tar cf %s/u.tar users" % out,
        "rsync -a users/ %s/rs/" % out,
        "grep -r glpat- users || true",
        "cp -r users %s/cp" % out,
        "find users -type f -exec file {} + >/dev/null",
        "find users -type f -exec cat {} + >/dev/null",
        "find users -name token | grep . && exit 1 || true",
        "ls -laR users >/dev/null",
    ]
    for w in walkers:
        r = subprocess.run(["bash", "-c", "set -e; " + w], cwd=fs.mnt,
                           capture_output=True)
        assert r.returncode == 0, (w, r.stderr)
        assert still_unsealed(dirs) == [True] * 3, w
    # nothing a walker copied holds a secret
    r = subprocess.run(["grep", "-ra", "glpat-", out], capture_output=True)
    assert r.returncode == 1 and r.stdout == b""
    # and each secret is still there for its owner
    for t in dirs:
        assert SECRET_RE.match(read(os.path.join(t, "token")))
    assert still_unsealed(dirs) == [False] * 3


def test_probes_that_read_nothing_take_nothing(fs):
    tid, _ = mint(fs, "alice", "probe", take=False)
    path = fs.path("users/alice/tokens/%d/token" % tid)
    for cmd in (["head", "-c", "0", path], ["true"], ["dd", "if=" + path,
                                                      "count=0", "status=none"]):
        assert subprocess.run(cmd).returncode == 0
    fd = os.open(path, os.O_RDONLY)
    assert os.read(fd, 0) == b""
    os.close(fd)
    assert os.path.exists(path)
    # open, then read: the read takes it, even at an offset
    fd = os.open(path, os.O_RDONLY)
    tail = os.pread(fd, 100, 6)
    assert len(tail) == 21 and tail.endswith(b"\n")
    head = os.pread(fd, 6, 0)
    os.close(fd)
    assert SECRET_RE.match(head + tail)
    # gone once the kernel's RELEASE (sent after close returns) arrives
    settles(lambda: err_of(os.stat, path), errno.ENOENT)


def test_an_open_file_loses_to_the_first_reader(fs):
    tid, _ = mint(fs, "alice", "two", take=False)
    path = fs.path("users/alice/tokens/%d/token" % tid)
    first, second = os.open(path, os.O_RDONLY), os.open(path, os.O_RDONLY)
    assert SECRET_RE.match(os.read(second, 100))
    assert err_of(os.read, first, 100) == errno.ENOENT
    assert os.read(second, 100) == b""  # at its end: still the reader's
    os.close(first)
    os.close(second)


MAP_CHILD = r"""
import mmap, os, sys
arg = sys.argv[1]
fd = int(arg) if arg.isdigit() else os.open(arg, os.O_RDONLY)
m = mmap.mmap(fd, 0, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ)
sys.stdout.write(repr(m[:10]))
"""


def test_mapping_the_secret_gets_nothing(fs):
    tid, _ = mint(fs, "alice", "map", take=False)
    for path in (fs.path("users/alice/tokens/%d/token" % tid),
                 fs.path("users/alice/tokens/map/token")):
        fd = os.open(path, os.O_RDONLY)
        try:
            assert err_of(mmap.mmap, fd, 0, mmap.MAP_SHARED,
                          mmap.PROT_READ) == errno.ENODEV
        finally:
            os.close(fd)
        # a private mapping faults on first touch: the daemon refuses the
        # page-cache read, so nothing of the secret reaches the mapping
        r = subprocess.run(["/usr/bin/python3", "-c", MAP_CHILD, path],
                           capture_output=True)
        assert r.returncode == -signal.SIGBUS, r
        assert b"glpat" not in r.stdout
        assert os.path.exists(path)
    # the owner still reads it; the open file that took it maps nothing
    path = fs.path("users/alice/tokens/map/token")
    fd = os.open(path, os.O_RDONLY)
    assert SECRET_RE.match(os.read(fd, 100))
    r = subprocess.run(["/usr/bin/python3", "-c", MAP_CHILD, "0"], stdin=fd,
                       capture_output=True)
    os.close(fd)
    assert r.returncode == -signal.SIGBUS and b"glpat" not in r.stdout
