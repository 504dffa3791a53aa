"""What one unprivileged uid may cost ([limits]): a rate of changes, the
audit trail of a day, and the free space below which only revocations and
blocks commit, so that an administrator's revoke always goes through."""
import errno
import json
import os
import subprocess
import time

import pytest

from conftest import SANITIZED, audit_lines, err_of, mint, read, write

BOB = 1001

FLOOD = r"""
import errno, json, os, sys
what, path, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
n, err = 0, 0
try:
    while n < limit:
        if what == "description":
            fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
            try:
                os.write(fd, (b"%06d" % n) * 42)  # 252 bytes
            finally:
                os.close(fd)
        else:
            os.mkdir(os.path.join(path, "f%d" % n))
        n += 1
except OSError as e:
    err = e.errno
print(json.dumps({"done": n, "errno": err}))
"""


def flood(d, uid, what, path, limit=10 ** 6):
    """As uid, writes descriptions (or makes tokens) as fast as it can
    until refused: {"done": how many, "errno": the refusal's}. (From the
    mount's root: pytest's directories above it are closed to uid.)"""
    r = subprocess.run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
                        "--clear-groups", "/usr/bin/python3", "-c", FLOOD,
                        what, os.path.relpath(path, d.mnt), str(limit)],
                       cwd=d.mnt, capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def bob_s_token(d):
    os.mkdir(d.path("users/bob"))
    assert write(d.path("users/bob/uid"), str(BOB)) == 0
    tid, _ = mint(d, "bob", "ci")
    return tid


def revoke_as_root(d, user, tid):
    r = subprocess.run(["sh", "-c", "echo 1 > revoked"], capture_output=True,
                       cwd=d.path("users", user, "tokens", str(tid)))
    return r.returncode, r.stderr


def test_an_owner_s_changes_are_held_to_a_rate(make_daemon):
    d = make_daemon("[limits]\nchanges_per_minute = 30\n")
    tid = bob_s_token(d)
    desc = d.path("users/bob/tokens", str(tid), "description")
    got = flood(d, BOB, "description", desc)
    # a burst of 30, and the bucket fills again at one change per 2 s while
    # the flood runs (a sanitizer's build is slow)
    assert got["errno"] == errno.EAGAIN and 30 <= got["done"] < 36, got
    # the refused write changed nothing; the last accepted one stands
    assert read(desc).startswith(b"%06d" % (got["done"] - 1))
    writes = [l for l in audit_lines(d) if l["action"] == "token_set_description"]
    assert len(writes) == got["done"]
    # containment is never held back: bob revokes his own token, root
    # writes as it likes
    other, _ = mint(d, "bob", "other")
    r = subprocess.run(["setpriv", "--reuid=%d" % BOB, "--regid=%d" % BOB,
                        "--clear-groups", "sh", "-c", "echo 1 > revoked"],
                       cwd=d.path("users/bob/tokens", str(other)),
                       capture_output=True)
    assert r.returncode == 0, r.stderr
    assert write(desc, "root's") == 0
    assert "changes_per_minute" in d.read_stderr()
    open(d.stderr_path, "w").close()  # the refusal's reason was the point


def test_an_owner_s_audit_trail_is_held_to_a_day_s_budget(make_daemon):
    d = make_daemon("[limits]\nchanges_per_minute = 1000000\n"
                    "audit_kib_per_day = 8\n")
    tid = bob_s_token(d)
    desc = d.path("users/bob/tokens", str(tid), "description")
    got = flood(d, BOB, "description", desc)
    # each line carries the old and the new 252 bytes: 8 KiB is a dozen
    assert got["errno"] == errno.EDQUOT and 5 <= got["done"] <= 16, got
    # a mint's line is shorter: what is left of the day takes a few
    got = flood(d, BOB, "mkdir", d.path("users/bob/tokens"))
    assert got["errno"] == errno.EDQUOT and got["done"] <= 4, got
    assert write(desc, "root's") == 0
    assert "audit_kib_per_day" in d.read_stderr()
    open(d.stderr_path, "w").close()


@pytest.mark.sqlite_only("the floor watches a SQLite store's filesystem; "
                         "PostgreSQL's disk is the server's")
@pytest.mark.parametrize("what", ["description", "mkdir"])
def test_an_owner_cannot_fill_the_disk_before_root_s_revoke(make_daemon,
                                                           small_fs, what):
    """Beyond rates and budgets (lifted here), the free-space floor: bob
    writes as fast as he can until refused, and the disk keeps room for
    root's revokes."""
    d = make_daemon("[store]\npath = %s/patfs.db\npepper_file = %s/pepper\n"
                    "[auth]\nlog = %s/auth.log\n"
                    "[limits]\nchanges_per_minute = 1000000\n"
                    "audit_kib_per_day = 1048576\n"
                    % (small_fs, small_fs, small_fs))
    tid = bob_s_token(d)
    carol, _ = mint(d, "carol", "ci")
    target = (d.path("users/bob/tokens", str(tid), "description")
              if what == "description" else d.path("users/bob/tokens"))
    got = flood(d, BOB, what, target)
    assert got["errno"] == errno.ENOSPC and got["done"] > 100, got
    v = os.statvfs(str(small_fs))
    assert v.f_bavail * v.f_frsize > 256 << 10  # room is left
    # only containment commits now, for root too
    assert err_of(os.mkdir, d.path("users/carol/tokens/more")) == errno.ENOSPC
    for user, t in (("carol", carol), ("bob", tid)):
        rc, err = revoke_as_root(d, user, t)
        assert rc == 0, err
        assert read(d.path("users", user, "tokens", str(t), "revoked")) \
            == b"1\n"
    assert write(d.path("users/bob/blocked"), "1") == 0
    assert "below the floor" in d.read_stderr()
    open(d.stderr_path, "w").close()


# memory: the snapshots open documents hold ----------------------------------

HOLD = r"""
import errno, json, os, sys
doc, desc, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
held, refused = [], 0
for i in range(n):
    try:
        fd = os.open(doc, os.O_RDONLY)
    except OSError as e:
        assert e.errno == errno.ENOBUFS, e
        refused += 1
    else:
        os.read(fd, 1)
        held.append(fd)
    w = os.open(desc, os.O_WRONLY | os.O_TRUNC)
    os.write(w, b"%d" % i)  # the next open renders a new snapshot
    os.close(w)
print(json.dumps({"held": len(held), "refused": refused}), flush=True)
sys.stdin.readline()
for fd in held:
    os.close(fd)
"""


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_an_owner_s_held_snapshots_are_bounded_and_given_back(make_daemon):
    """bob opens his tokens.json, reads a byte, keeps the file and changes
    a description, 200 times: past his share the opens are refused, the
    daemon's memory stays within the bounds, and returns as he closes."""
    d = make_daemon("[limits]\nchanges_per_minute = 1000000\n"
                    "snapshot_mib_per_uid = 8\nsnapshot_mib_total = 12\n")
    tid = bob_s_token(d)
    for i in range(1500):
        os.mkdir(d.path("users/bob/tokens/t%d" % i))
    size = os.stat(d.path("users/bob/tokens.json")).st_size
    assert size > 400 << 10, size
    base = rss_kib(d.proc.pid)
    p = subprocess.Popen(
        ["setpriv", "--reuid=%d" % BOB, "--regid=%d" % BOB, "--clear-groups",
         "/usr/bin/python3", "-c", HOLD, "users/bob/tokens.json",
         "users/bob/tokens/%d/description" % tid, "200"],
        cwd=d.mnt, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        held_by_bob(d, p, size, base)
    finally:  # bob's files closed, or the mount could not end
        p.kill()
        p.wait()


def held_by_bob(d, p, size, base):
    """The checks of the test above while bob's process p holds its files
    (size: of his tokens.json), then as it closes them."""
    got = json.loads(p.stdout.readline())
    peak = rss_kib(d.proc.pid)
    assert abs(got["held"] - (8 << 20) // size) <= 1, (got, size)
    assert got["refused"] == 200 - got["held"]
    # within bob's share of 8 MiB, and room to spare for the rest
    if not SANITIZED:
        assert peak - base < (8 << 10) + (16 << 10), (base, peak)
    # others are not refused: root (never) and carol (within the total)
    assert read(d.path("users/bob/tokens.json"))[:1] == b"["
    mint(d, "carol", "ci")
    assert write(d.path("users/carol/uid"), "1002") == 0
    r = subprocess.run(["setpriv", "--reuid=1002", "--regid=1002",
                        "--clear-groups", "cat", "users/carol/tokens.json"],
                       cwd=d.mnt, capture_output=True)
    assert r.returncode == 0 and r.stdout.startswith(b"["), r.stderr
    p.stdin.write(b"\n")
    p.stdin.close()
    assert p.wait(timeout=30) == 0
    time.sleep(0.2)  # the releases arrive after close returns
    if not SANITIZED:
        assert rss_kib(d.proc.pid) - base < 4 << 10, \
            (base, rss_kib(d.proc.pid))
    assert "snapshot_mib_per_uid" in d.read_stderr()
    open(d.stderr_path, "w").close()
