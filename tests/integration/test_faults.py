"""Faults and floods: the auth log cannot be turned into a disk filler, a
revoke fits on a full disk, and checks do not wait on writers."""
import errno
import json
import os
import subprocess
import time

import pytest

from conftest import PG, WriteLock, mint, read, settles, store_db, write

FLOOD = r"""
import errno, os, sys, time
path, secs = sys.argv[1], float(sys.argv[2])
tries = limited = 0
end = time.monotonic() + secs
while time.monotonic() < end:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, b"glpat-" + b"w" * 20)
    except OSError as e:
        limited += e.errno == errno.EAGAIN
    finally:
        os.close(fd)
    tries += 1
print(tries, limited)
"""


def flood(d, uid, secs):
    """Bad checks from uid for secs seconds: (attempts, refused EAGAIN)."""
    r = subprocess.run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
                        "--clear-groups", "/usr/bin/python3", "-c", FLOOD,
                        "auth/api", str(secs)], cwd=d.mnt,
                       capture_output=True, text=True, check=True)
    tries, limited = map(int, r.stdout.split())
    return tries, limited


def log_lines(path):
    if not os.path.exists(path):
        return []
    return [json.loads(l) for l in read(path).decode().splitlines()]


def test_a_rate_limited_flood_writes_a_line_and_a_summary(make_daemon):
    d = make_daemon("[auth]\nmax_failures_per_minute = 5\n")
    log = os.path.join(d.workdir, "patfs-auth.log")
    tries, limited = flood(d, 1000, 3)
    assert tries > 100 and limited == tries - 5
    lines = log_lines(log)
    assert [l["meta.auth_fail_reason"] for l in lines] == \
        ["token_invalid"] * 5 + ["rate_limited"]
    assert all(l["uid"] == 1000 for l in lines)
    # the rest is summed up in one line when the minute ends (here: at stop)
    d.stop()
    lines = log_lines(log)
    assert len(lines) == 7
    last = lines[-1]
    assert last["meta.auth_fail_reason"] == "rate_limited" and \
        last["status"] == 403 and last["uid"] == 1000
    assert last["count"] == limited and last["since"] <= last["time"]
    assert "pid" not in last  # a summary of many processes


GUESS = r"""
import errno, os, sys
n, limited = int(sys.argv[2]), 0
for _ in range(n):
    fd = os.open(sys.argv[1], os.O_WRONLY)
    try:
        os.write(fd, b"glpat-" + b"w" * 20)
    except OSError as e:
        limited += e.errno == errno.EAGAIN
    finally:
        os.close(fd)
print(limited)
"""


def guesses(d, uids, n):
    """n bad checks from each of uids, in turn: how many were EAGAIN."""
    refused = 0
    for uid in uids:
        r = subprocess.run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
                            "--clear-groups", "/usr/bin/python3", "-c", GUESS,
                            "auth/api", str(n)], cwd=d.mnt,
                           capture_output=True, text=True, check=True)
        refused += int(r.stdout)
    return refused


def test_the_uids_of_one_subordinate_range_are_limited_as_its_owner(
        make_daemon, tmp_path):
    """bob's subordinate uids (unshare --map-auto) guess as bob: after his
    failures of the minute, every uid of his range is refused, and logged
    as bob."""
    subuid = tmp_path / "subuid"
    subuid.write_text("1001:200000:65536\nno-such-user-here:300000:10\n")
    d = make_daemon("[auth]\nmax_failures_per_minute = 10\n"
                    "subuid_file = %s\n" % subuid)
    log = os.path.join(d.workdir, "patfs-auth.log")
    refused = guesses(d, range(200000, 200040), 3)
    assert refused == 40 * 3 - 10
    d.stop()
    lines = log_lines(log)
    assert [l["meta.auth_fail_reason"] for l in lines] == \
        ["token_invalid"] * 10 + ["rate_limited"] * 2
    assert lines[-1]["uid"] == 1001 and lines[-1]["count"] == refused
    # another uid, in no range, is its own
    d.start()
    assert guesses(d, [200000 + 70000], 3) == 0


def test_a_flood_of_many_uids_cannot_rotate_the_log_away(make_daemon):
    """Many uids, each below its own limit: past the log's lines of the
    minute, failures are counted in one line, not written one by one."""
    d = make_daemon("[auth]\nmax_failures_per_minute = 10\n"
                    "max_log_lines_per_minute = 20\n")
    log = os.path.join(d.workdir, "patfs-auth.log")
    assert guesses(d, range(5000, 5060), 3) == 0  # no uid is limited
    assert len(log_lines(log)) == 20
    d.stop()
    lines = log_lines(log)
    assert len(lines) == 21
    last = lines[-1]
    assert last["meta.auth_fail_reason"] == "log_limited"
    assert last["count"] == 60 * 3 - 20 and last["status"] == 429


def test_the_auth_log_rotates_at_its_cap(make_daemon):
    d = make_daemon("[auth]\nmax_failures_per_minute = 1000000\n"
                    "log_max_bytes = 4096\nlog_keep = 2\n")
    log = os.path.join(d.workdir, "patfs-auth.log")
    tries, limited = flood(d, 1000, 1.5)
    assert tries > 100 and limited == 0
    names = sorted(f for f in os.listdir(d.workdir) if f.startswith("patfs-auth"))
    assert names == ["patfs-auth.log", "patfs-auth.log.1", "patfs-auth.log.2"]
    kept = []
    for name in reversed(names):
        p = os.path.join(d.workdir, name)
        assert os.path.getsize(p) <= 4096, name
        assert os.stat(p).st_mode & 0o777 == 0o600
        kept += log_lines(p)  # every line whole
    assert 0 < len(kept) < tries
    assert all(l["meta.auth_fail_reason"] == "token_invalid" for l in kept)
    assert kept == sorted(kept, key=lambda l: l["time"])


def fill(path):
    """Fills the filesystem of path to the last byte; returns the filler."""
    filler = os.path.join(str(path), "filler")
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        for chunk in (1 << 16, 1 << 12, 1):
            try:
                while True:
                    os.write(fd, b"\0" * chunk)
            except OSError as e:
                assert e.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


def test_a_revoke_fits_on_a_full_disk(make_daemon, small_fs):
    d = make_daemon("[store]\npath = %s/patfs.db\npepper_file = %s/pepper\n"
                    "[auth]\nlog = %s/auth.log\nmax_failures_per_minute = 1000\n"
                    # the day's run at start whatever the hour (at 01:00,
                    # the default, a run before it would find nothing due)
                    "[notify]\nhour_utc = 0\n"
                    % (small_fs, small_fs, small_fs))
    # few tokens: the store's log is still small, so the revokes below
    # must grow it, into the reserve
    tids = [mint(d, "alice", "t%d" % i) for i in range(4)]
    filler = fill(small_fs)
    # a flood cannot log (the disk is full) and says so once, not per line
    tries, _ = flood(d, 1000, 1)
    assert tries > 50
    errs = [l for l in d.read_stderr().splitlines() if "auth log" in l]
    assert len(errs) == 1 and "No space left on device" in errs[0], errs
    # an admin's revokes still commit
    for tid, _ in tids[:3]:
        r = subprocess.run(["sh", "-c", "echo 1 > revoked"], capture_output=True,
                           cwd=d.path("users/alice/tokens/%d" % tid))
        assert r.returncode == 0, r.stderr
    assert write(d.path("auth/api"), tids[0][1]) == errno.EKEYREVOKED
    # and are durable: a restart on the full disk still has them
    d.stop()
    open(d.stderr_path, "w").close()  # the full disk was the point
    d.start()
    assert [read(d.path("users/alice/tokens/%d/revoked" % tid))
            for tid, _ in tids] == [b"1\n"] * 3 + [b"0\n"]
    os.unlink(filler)
    assert write(d.path("auth/read_api"), tids[3][1]) == 0
    # the day's notice run (the tokens expire within 30 days) found the
    # disk full, and said why it recorded nothing (SQLite's floor)
    if not PG:
        settles(lambda: "below the floor" in d.read_stderr(), True, 10.0)
    open(d.stderr_path, "w").close()


def test_a_check_does_not_wait_for_a_writer(make_daemon):
    d = make_daemon("[tokens]\nlast_used_interval_s = 0\n")
    tid, secret = mint(d, "alice", "a")
    _, other = mint(d, "alice", "b")
    lu = d.path("users/alice/tokens/%d/last_used_at" % tid)
    with WriteLock(d):
        r = subprocess.run(["sh", "-c", 'printf %s "$(cat)" > auth/read_api'],
                           input=secret.encode(), cwd=d.mnt, timeout=5,
                           capture_output=True)
        assert r.returncode == 0, r.stderr
        assert read(lu) == b""  # the stamp waits for the lock
    # the next check writes what waited
    assert write(d.path("auth/read_api"), other) == 0
    assert read(lu).endswith(b"Z\n")


def test_a_failing_store_fails_checks_closed(make_daemon):
    """A store that cannot answer (here its tokens table is renamed away
    under the daemon) fails the check with EIO and logs store_unavailable;
    nothing waits, and the next check after repair passes."""
    d = make_daemon()
    _, secret = mint(d, "alice", "a")
    db = store_db(d)
    db.execute("ALTER TABLE tokens RENAME TO tokens_away")
    try:
        assert write(d.path("auth/read_api"), secret) == errno.EIO
    finally:
        db.execute("ALTER TABLE tokens_away RENAME TO tokens")
        db.close()
    line = log_lines(os.path.join(d.workdir, "patfs-auth.log"))[-1]
    assert line["meta.auth_fail_reason"] == "store_unavailable"
    assert line["status"] == 503 and line["uid"] == 0
    assert write(d.path("auth/read_api"), secret) == 0
    errs = d.read_stderr().splitlines()
    assert errs and all("no such table: tokens" in l or  # SQLite
                        'relation "tokens" does not exist' in l  # PostgreSQL
                        for l in errs), errs
    open(d.stderr_path, "w").close()  # that error was the point
