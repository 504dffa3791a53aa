"""The kernel keeps attributes, names, attribute contents and listings of the
mount (fs/transport/ops.c) and patfs takes them back when the store changes (fs/daemon/cache.c).
These tests first warm every cache, then change things through the mount,
through core's C API in another process, and with the clock, and check that
nothing stale is ever served: at once for the mount's own changes, within a
second for other processes."""
import datetime
import errno
import os
import subprocess
import time

import pytest

from conftest import (FAKETIME_LIB, PATFS, err_of, mint, read, settles, store_db,
                      write)

CLIENT = os.path.join(os.path.dirname(PATFS), "tests", "auth_client")


def warm(d):
    """Reads and stats everything under users/, twice, so the kernel holds
    it all; returns {path: (bytes, size, mtime, mode, uid)}."""
    seen = {}
    for _ in range(2):
        for dirpath, _, files in os.walk(d.path("users")):
            for fn in files:
                if fn == "token":
                    continue
                p = os.path.join(dirpath, fn)
                st = os.stat(p)
                seen[p] = (read(p), st.st_size, st.st_mtime, st.st_mode, st.st_uid)
    return seen


def view(p):
    """What a tool sees of file p: its bytes, and what stat says of them."""
    st = os.stat(p)
    data = read(p)
    assert st.st_size == len(data), "%s: st_size %d, %d bytes" % (p, st.st_size, len(data))
    return data, st


def seen(p):
    """What is seen of file p, while it may still be settling: (bytes, st_size)."""
    st = os.stat(p)
    return read(p), st.st_size


def client(d, *args, secret=""):
    r = subprocess.run([CLIENT, d.config] + list(args), input=secret.encode(),
                       capture_output=True, cwd=d.workdir)
    return r.stdout.decode().strip()


def test_the_kernel_really_caches(make_daemon):
    """A change behind core's back (raw SQL, which no cache hears of) is not
    seen: proof that reads are served by the kernel, so the tests below that
    see fresh values prove invalidation, not the absence of a cache."""
    d = make_daemon("")
    tid, _ = mint(d, "alice", "a")
    marker, _ = mint(d, "alice", "marker")
    p = d.path("users/alice/tokens/%d/description" % tid)
    m = d.path("users/alice/tokens/%d/description" % marker)
    assert write(p, "before") == 0
    warm(d)
    read(m)
    db = store_db(d)
    db.execute("UPDATE tokens SET description = 'after!' WHERE id = ?", (tid,))
    db.commit()
    db.close()
    # a change through core after it, heard by cache.c's poll: by then the
    # raw one would have been too, had anything told it
    assert client(d, "--write", str(marker), "description", "seen") == "ok"
    assert settles(lambda: read(m), b"seen\n") < 1.0
    assert read(p) == b"before\n"
    # a change through core, from another process, is heard within a second
    assert client(d, "--write", str(tid), "description", "by-api") == "ok"
    took = settles(lambda: read(p), b"by-api\n")
    assert took < 1.0


def test_changes_through_the_mount_are_seen_at_once(make_daemon):
    d = make_daemon("[tokens]\nlast_used_interval_s = 0\n")
    tid, secret = mint(d, "alice", "a", scopes="api")
    other, _ = mint(d, "alice", "b")
    unsealed, _ = mint(d, "alice", "c", take=False)
    t = lambda i, a: d.path("users/alice/tokens/%d/%s" % (i, a))
    warm(d)
    os.listdir(d.path("users/alice/tokens/%d" % unsealed))

    # revoke: revoked, active and their mtimes
    before = view(t(tid, "active"))[1].st_mtime
    subprocess.run(["sh", "-c", "echo 1 > revoked"], cwd=t(tid, ""), check=True)
    assert view(t(tid, "revoked"))[0] == b"1\n"
    data, st = view(t(tid, "active"))
    assert data == b"0\n" and st.st_mtime >= before
    assert st.st_mtime == view(t(tid, "revoked"))[1].st_mtime

    # expires_at: its size changes from 11 bytes to none and back
    day = (datetime.date.today() + datetime.timedelta(days=9)).isoformat()
    assert write(t(other, "expires_at"), day) == 0
    assert view(t(other, "expires_at"))[0] == day.encode() + b"\n"

    # a use through auth/: last_used_at goes from empty to a time
    assert view(t(other, "last_used_at"))[0] == b""
    # sealing: taking the secret makes "token" unreachable (it was never
    # listed) and drops the write bits of scopes
    assert os.path.exists(t(unsealed, "token"))
    mode = view(t(unsealed, "scopes"))[1].st_mode
    assert mode & 0o200
    secret_c = read(t(unsealed, "token")).strip()
    # "token" stays while an open file holds the secret: the kernel sends
    # the release after close(2) returns, and the name goes with it
    settles(lambda: os.path.exists(t(unsealed, "token")), False, 1.0)
    assert not view(t(unsealed, "scopes"))[1].st_mode & 0o200
    assert write(d.path("auth/read_api"), secret_c) == 0
    data, st = view(t(unsealed, "last_used_at"))
    assert data.endswith(b"Z\n")
    assert st.st_mtime == datetime.datetime.strptime(
        data.decode().strip(), "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()

    # blocking the owner turns every token inactive at once
    assert view(t(other, "active"))[0] == b"1\n"
    assert write(d.path("users/alice/blocked"), "1") == 0
    assert view(t(other, "active"))[0] == b"0\n"
    assert view(t(unsealed, "active"))[0] == b"0\n"
    assert write(d.path("users/alice/blocked"), "0") == 0
    assert view(t(other, "active"))[0] == b"1\n"

    # mapping a uid changes the owner of every file below
    assert view(t(other, "name"))[1].st_uid == 0
    assert write(d.path("users/alice/uid"), "1000") == 0
    assert view(t(other, "name"))[1].st_uid == 1000
    assert os.stat(d.path("users/alice/tokens")).st_uid == 1000

    # a new token and a new user appear in cached listings and link counts
    n = os.stat(d.path("users/alice/tokens")).st_nlink
    users = os.listdir(d.path("users"))
    newest, _ = mint(d, "alice", "d")
    assert str(newest) in os.listdir(d.path("users/alice/tokens"))
    assert os.stat(d.path("users/alice/tokens")).st_nlink == n + 1
    os.mkdir(d.path("users/zed"))
    assert sorted(os.listdir(d.path("users"))) == sorted(users + ["zed"])
    os.rmdir(d.path("users/zed"))
    assert sorted(os.listdir(d.path("users"))) == sorted(users)


def test_changes_through_the_c_api_are_seen_within_a_second(make_daemon):
    d = make_daemon("[tokens]\nlast_used_interval_s = 0\n")
    tid, secret = mint(d, "alice", "a", scopes="api")
    other, secret2 = mint(d, "alice", "b")
    t = lambda i, a: d.path("users/alice/tokens/%d/%s" % (i, a))
    warm(d)
    assert view(t(tid, "last_used_at"))[0] == b""

    assert client(d, "read_api", secret=secret) == "ok"
    took = [settles(lambda: seen(t(tid, "last_used_at"))[1], 21)]
    assert view(t(tid, "last_used_at"))[0].endswith(b"Z\n")

    day = (datetime.date.today() + datetime.timedelta(days=5)).isoformat()
    assert client(d, "--write", str(tid), "expires_at", day) == "ok"
    want = day.encode() + b"\n"
    took.append(settles(lambda: seen(t(tid, "expires_at")), (want, len(want))))
    assert os.listdir(d.path("expiring", day)) == [str(tid)]

    assert client(d, "--revoke", secret=secret2) == "ok"
    took.append(settles(lambda: seen(t(other, "revoked")), (b"1\n", 2)))
    took.append(settles(lambda: seen(t(other, "active")), (b"0\n", 2)))
    assert max(took) < 1.0


def test_a_name_removed_and_created_again_by_another_process(make_daemon):
    """The kernel keeps users' names until told: a name that another
    process removes and creates again leads to the new user within a
    second, a name it removes for good answers ENOENT, and mkdir(2) of a
    name removed elsewhere creates it."""
    d = make_daemon("")
    for name in ("kim", "lee"):
        os.mkdir(d.path("users", name))
    old = os.stat(d.path("users/kim")).st_ino
    old_id = read(d.path("users/kim/id"))
    assert read(d.path("users/lee/id"))
    assert client(d, "--rmuser", "kim") == "ok"
    assert client(d, "--mkuser", "kim") == "ok"
    assert client(d, "--rmuser", "lee") == "ok"

    def ino_of(p):
        try:
            return os.stat(p).st_ino
        except FileNotFoundError:
            return None  # the old inode, removed, until the name goes

    assert settles(lambda: ino_of(d.path("users/kim")) not in (old, None), True) < 1.0
    db = store_db(d)
    (want,), = db.execute("SELECT id FROM users WHERE name = 'kim'").fetchall()
    db.close()
    assert read(d.path("users/kim/id")) == b"%d\n" % want != old_id
    # lee's removal is heard in the same poll, but dropping kim's name runs
    # on a thread of its own: each settles within the second on its own
    assert settles(lambda: err_of(os.stat, d.path("users/lee")), errno.ENOENT) < 1.0
    assert "lee" not in os.listdir(d.path("users"))
    os.mkdir(d.path("users/lee"))
    assert read(d.path("users/lee/kind")) == b"human\n"


@pytest.mark.parametrize("held", [False, True])
def test_a_reader_that_falls_behind_drops_everything(make_daemon, held):
    """More changes by other processes than the changes table keeps between
    two polls: the daemon cannot know what changed and drops every cache.
    Dropping the names alone was not enough (one run in eight read the old
    page after a second: the inode outlived its name); a new generation
    makes every inode the kernel still holds stale. Held: the file is open
    meanwhile, so its names cannot be dropped; users/ itself must be new,
    or its next lookup puts the old names back."""
    d = make_daemon("")
    tid, _ = mint(d, "alice", "a")
    p = d.path("users/alice/tokens/%d/description" % tid)
    warm(d)
    holder = open(p, "rb") if held else None
    db = store_db(d)
    db.execute("UPDATE tokens SET description = 'quietly' WHERE id = ?", (tid,))
    # what 9000 commits of another process would leave: the rows the
    # daemon has not read yet were pruned
    last = db.execute("SELECT coalesce(max(seq), 0) FROM changes").fetchone()[0]
    db.execute("DELETE FROM changes")
    db.execute("INSERT INTO changes (seq, pid, kind, user_id, token_id, day)"
               " VALUES (?, 1, 0, 0, 0, 0)", (last + 9000,))
    db.commit()
    db.close()
    try:
        settles(lambda: read(p), b"quietly\n")
    finally:
        if holder:  # the kernel took its inode as stale: its close says so
            assert err_of(holder.close) in (0, errno.EIO)


@pytest.mark.skipif(not os.path.exists(FAKETIME_LIB), reason="needs faketime")
def test_active_turns_at_midnight_though_cached(make_daemon):
    now = datetime.datetime.now(datetime.timezone.utc)
    eve = now.replace(hour=23, minute=59, second=58, microsecond=0)
    env = {"LD_PRELOAD": FAKETIME_LIB,
           "FAKETIME": "@" + eve.strftime("%Y-%m-%d %H:%M:%S"),
           "FAKETIME_DONT_RESET": "1",
           "ASAN_OPTIONS": "detect_leaks=1:verify_asan_link_order=0"}
    d = make_daemon("", env=env)
    tid, _ = mint(d, "alice", "a")
    tomorrow = (eve.date() + datetime.timedelta(days=1)).isoformat()
    assert write(d.path("users/alice/tokens/%d/expires_at" % tid), tomorrow) == 0
    active = d.path("users/alice/tokens/%d/active" % tid)
    assert view(active)[0] == b"1\n"
    warm(d)
    # the daemon's clock passes midnight about two seconds after it started
    settles(lambda: view(active)[0], b"0\n", limit=6.0)
    midnight = datetime.datetime.combine(
        eve.date() + datetime.timedelta(days=1), datetime.time(),
        tzinfo=datetime.timezone.utc).timestamp()
    assert view(active)[1].st_mtime == midnight
