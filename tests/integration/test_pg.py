"""One store on PostgreSQL, two daemons: two mount points with configurations
of their own (two hosts, as far as patfs can tell), one database. Run when
the suite runs on PostgreSQL (PATFS_STORE=postgresql); skipped otherwise."""
import datetime
import errno
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import (PATFS, PG, Daemon, StoreDB, audit_lines, err_of, mint, pg_ctl, read,
                      settles, with_store, write, write_config)

pytestmark = pytest.mark.skipif(not PG, reason="two daemons on one store: "
                                "PostgreSQL runs only (PATFS_STORE=postgresql)")

QUIET = "[notify]\nenabled = false\n[auth]\nmax_failures_per_minute = 100000\n"
DEAD = (errno.ENOTCONN, errno.ECONNABORTED, errno.ECANCELED)


def host(tmp_path, name, pepper_from=None, config=QUIET):
    work = tmp_path / name
    work.mkdir()
    if pepper_from:  # every host of a store has its pepper
        shutil.copy(os.path.join(pepper_from.workdir, "patfs.pepper"), work / "patfs.pepper")
        os.chmod(work / "patfs.pepper", 0o600)
    d = Daemon(str(work), write_config(work, config))
    d.start()
    return d


@pytest.fixture
def pair(tmp_path):
    a = host(tmp_path, "a")
    b = host(tmp_path, "b", pepper_from=a)
    yield a, b
    for d in (a, b):
        d.stop()
    for d in (a, b):
        d.check_stderr()


def token_id(tdir):
    with open(os.path.join(tdir, "meta.json")) as f:
        return json.load(f)["id"]


def check(d, secret, scope="read_api"):
    return write(d.path("auth", scope), secret)


def test_a_token_minted_on_one_is_read_and_checked_on_the_other(pair):
    a, b = pair
    tid, _ = mint(a, "alice", "ci", take=False)
    # the secret is made by the daemon whose mount the owner reads
    secret = read(b.path("users/alice/tokens/ci/token")).decode().strip()
    assert err_of(os.stat, b.path("users/alice/tokens/ci/token")) == errno.ENOENT
    assert settles(lambda: err_of(os.stat, a.path("users/alice/tokens/ci/token")),
                   errno.ENOENT) < 1.0
    assert check(a, secret) == 0 and check(b, secret) == 0
    assert audit_lines(a) == audit_lines(b)
    # the first check's source is new (once: both daemons run on one host)
    assert [l["action"] for l in audit_lines(a)] == ["user_create", "token_create",
                                                      "token_secret_taken",
                                                      "token_new_source"]


def test_a_revoke_through_one_fails_the_next_check_through_the_other(pair):
    a, b = pair
    tid, secret = mint(a, "alice", "ci")
    assert check(b, secret) == 0
    revoked = "users/alice/tokens/%d/revoked" % tid
    assert read(b.path(revoked)) == b"0\n"
    assert write(a.path(revoked), "1") == 0
    assert check(b, secret) == errno.EKEYREVOKED  # the very next one
    assert settles(lambda: read(b.path(revoked)), b"1\n") < 1.0
    # the name now names no active token, on either host
    assert settles(lambda: err_of(os.stat, b.path("users/alice/tokens/ci")),
                   errno.ENOENT) < 1.0


def test_mints_through_both_get_distinct_ids(pair):
    a, b = pair
    os.mkdir(a.path("users/alice"))
    settles(lambda: os.path.isdir(b.path("users/alice")), True)
    made = {a: [], b: []}

    def minting(d):
        for i in range(25):
            p = d.path("users/alice/tokens/%s%d" % (d.workdir[-1], i))
            os.mkdir(p)
            made[d].append(token_id(p))

    ts = [threading.Thread(target=minting, args=(d,)) for d in (a, b)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    ids = made[a] + made[b]
    assert len(set(ids)) == 50
    want = sorted("%d" % i for i in ids)
    for d in (a, b):
        assert settles(lambda: sorted(os.listdir(d.path("users/alice/tokens"))), want) < 1.0


def test_racing_mints_of_one_name_through_both_have_one_winner(pair):
    a, b = pair
    os.mkdir(a.path("users/alice"))
    settles(lambda: os.path.isdir(b.path("users/alice")), True)
    for i in range(20):
        name = "race%d" % i
        go = threading.Barrier(2)
        got = {}

        def racing(d):
            go.wait()
            got[d] = err_of(os.mkdir, d.path("users/alice/tokens", name))

        ts = [threading.Thread(target=racing, args=(d,)) for d in (a, b)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert sorted(got.values()) == [0, errno.EEXIST], got
    db = StoreDB(a.workdir)
    rows = db.execute("SELECT name, count(*) FROM tokens GROUP BY name")
    assert sorted(rows) == sorted(("race%d" % i, 1) for i in range(20))


def test_killing_one_loses_nothing_acknowledged_through_it(pair):
    a, b = pair
    os.mkdir(a.path("users/k"))
    ids = []
    for i in range(150):
        os.mkdir(a.path("users/k/tokens/t%d" % i))
        assert write(a.path("users/k/tokens/t%d/token" % i), "glpat-%020d" % i) == 0
        ids.append(token_id(a.path("users/k/tokens/t%d" % i)))
    acked = os.path.join(a.workdir, "acked")
    loop = subprocess.Popen(
        ["sh", "-c", "for i in %s; do echo 1 > users/k/tokens/$i/revoked && "
         "echo $i >> %s || exit 0; done" % (" ".join(map(str, ids)), acked)],
        cwd=a.mnt, stderr=subprocess.DEVNULL)
    deadline = time.time() + 20
    while time.time() < deadline:
        if os.path.exists(acked) and len(read(acked).split()) >= 30:
            break
        time.sleep(0.005)
    a.kill9()
    loop.wait(timeout=30)
    done = [int(x) for x in read(acked).split()]
    assert 30 <= len(done) < 150, "the kill did not land mid-loop"
    for tid in done:
        assert settles(lambda: read(b.path("users/k/tokens/%d/revoked" % tid)), b"1\n") < 1.0
        assert check(b, "glpat-%020d" % ids.index(tid)) == errno.EKEYREVOKED
    a.start()  # the other host comes back and sees the same
    assert read(a.path("users/k/tokens/%d/revoked" % done[-1])) == b"1\n"


def test_the_lost_secrets_sweep_spares_a_live_daemon_s_tokens(pair, tmp_path):
    a, b = pair
    tid, _ = mint(a, "alice", "pending", take=False)
    b.restart()  # a start sweeps: a is alive, its token stays
    assert os.path.exists(b.path("users/alice/tokens/pending/token"))
    assert read(b.path("users/alice/tokens/pending/revoked")) == b"0\n"
    db = StoreDB(b.workdir)
    held = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
    assert db.execute(held) == [(2,)]  # each daemon's session holds its own
    a.kill9()  # now nobody can hand it out on a's behalf...
    settles(lambda: db.execute(held), [(1,)], limit=5)  # the server saw it go
    db.close()
    b.restart()  # ...and the next start revokes it
    assert read(b.path("users/alice/tokens/%d/revoked" % tid)) == b"1\n"
    assert err_of(os.stat, b.path("users/alice/tokens/%d/token" % tid)) == errno.ENOENT
    last = audit_lines(b)[-1]
    assert (last["action"], last["object"]) == ("token_revoke", "users/alice/tokens/%d" % tid)
    assert "secret_lost" in str(last)
    a.start()


def test_a_database_away_for_five_seconds(tmp_path, pg_cluster):
    """Writes and checks fail closed (EIO) while the server is down, and each
    daemon says so in its log; what the kernel holds is served for at most
    max_stale_s, then asked for again (and fails); nothing hangs. After the
    server is back both serve, and what one writes the other sees."""
    config = QUIET + "[store]\nmax_stale_s = 1\n"
    a = host(tmp_path, "a", config=config)
    b = host(tmp_path, "b", pepper_from=a, config=config)
    try:
        tid, secret = mint(a, "alice", "ci")
        desc = b.path("users/alice/tokens/%d/description" % tid)
        assert check(b, secret) == 0 and read(desc) == b""
        pg_ctl(pg_cluster, "-m", "fast", "stop")
        t0 = time.monotonic()
        try:
            assert err_of(read, desc) == errno.EIO  # an open asks the daemon
            for d in (a, b):
                assert err_of(os.mkdir, d.path("users/bob")) == errno.EIO
                assert write(d.path("users/alice/tokens/ci/revoked"), "1") == errno.EIO
                assert check(d, secret) == errno.EIO
            # past the bound the cache is dropped: the store is asked, and fails
            assert settles(lambda: err_of(os.stat, desc), errno.EIO, limit=3) < 3
            time.sleep(max(0, 5 - (time.monotonic() - t0)))
        finally:
            pg_ctl(pg_cluster, "start")
            assert time.monotonic() - t0 < 10  # nothing waited long
        for d in (a, b):  # nothing changed, and the store answers again
            # within the longest backoff, 1 s
            assert settles(lambda: check(d, secret), 0, limit=2) < 2
            assert read(d.path("users/alice/tokens/ci/revoked")) == b"0\n"
        assert write(a.path("users/alice/tokens/ci/description"), "after") == 0
        assert settles(lambda: read(desc), b"after\n") < 1.0
        os.mkdir(b.path("users/bob"))
        assert settles(lambda: os.path.isdir(a.path("users/bob")), True) < 1.0
    finally:
        a.stop()
        b.stop()
    for d in (a, b):
        lines = d.read_stderr().splitlines()
        assert any("lost the connection" in l for l in lines), lines
        # every line is about the outage: one per connection, not per request
        assert all(l.startswith("patfs: ") and "postgresql" in l for l in lines), lines
        assert len(lines) < 30, lines


@pytest.mark.parametrize("mode", ["immediate", "fast"])
def test_after_a_server_restart_nothing_fails_once_it_accepts(tmp_path,
                                                              pg_cluster,
                                                              mode):
    """Every connection of both daemons was dropped (an immediate stop
    sends nothing first); once the server accepts connections again, no
    request fails: a connection found dead is made again and the statement,
    or the transaction not yet begun, runs on the new one."""
    a = host(tmp_path, "a")
    b = host(tmp_path, "b", pepper_from=a)
    try:
        tid, secret = mint(a, "alice", "ci")
        for d in (a, b):  # each thread of each daemon has a connection
            for _ in range(8):
                assert check(d, secret) == 0
                assert read(d.path("users/alice/tokens/ci/description")) == b""
        pg_ctl(pg_cluster, "-m", mode, "stop")
        pg_ctl(pg_cluster, "start")  # -w: returns once it accepts
        for i, d in enumerate((a, b, a, b)):
            assert check(d, secret) == 0
            assert write(d.path("users/alice/tokens/ci/description"),
                         "after %d" % i) == 0
            os.mkdir(d.path("users/u%d" % i))
            assert os.path.isdir(d.path("users/u%d" % i))
    finally:
        a.stop()
        b.stop()
    for d in (a, b):  # a loss is said, once per connection, and nothing else
        lines = d.read_stderr().splitlines()
        assert all("postgresql" in l for l in lines), lines
        open(d.stderr_path, "w").close()


def test_cached_answers_are_served_within_max_stale_s(tmp_path, pg_cluster):
    """What the kernel holds (names, attributes) goes on answering while the
    server is away, within the bound; an open asks the daemon and fails."""
    d = host(tmp_path, "a", config=QUIET + "[store]\nmax_stale_s = 60\n")
    try:
        # (no secret taken: its release drops the token's cached files)
        tid, _ = mint(d, "alice", "ci", take=False)
        desc = d.path("users/alice/tokens/%d/description" % tid)
        before = os.stat(desc)
        pg_ctl(pg_cluster, "-m", "fast", "stop")
        try:
            for _ in range(3):
                assert os.stat(desc).st_mtime == before.st_mtime
                time.sleep(0.5)
            assert err_of(read, desc) == errno.EIO
        finally:
            pg_ctl(pg_cluster, "start")
        assert settles(lambda: err_of(read, desc), 0, limit=2) < 2
    finally:
        d.stop()
    assert all("postgresql" in l for l in d.read_stderr().splitlines())


def test_a_password_in_a_world_readable_dsn_is_refused(tmp_path):
    work = tmp_path / "w"
    work.mkdir()
    cfg = work / "patfs.ini"
    cfg.write_text(QUIET + "[store]\nbackend = postgresql\n"
                   "dsn = host=/nonexistent password=hunter2\n")
    os.chmod(cfg, 0o644)
    d = Daemon(str(work), str(cfg))
    assert d.start(expect_fail=True) == 1
    said = d.read_stderr()
    assert "holds a password" in said and "passfile" in said, said
    assert "hunter2" not in said
    os.chmod(cfg, 0o600)  # a private file may say it: now it connects (and fails)
    open(d.stderr_path, "w").close()
    assert d.start(expect_fail=True) == 1
    said = d.read_stderr()
    assert "holds a password" not in said and "/nonexistent" in said, said
    assert "hunter2" not in said


def test_a_database_without_the_schema_beside_a_pepper_needs_init(tmp_path):
    a_work = tmp_path / "a"
    a_work.mkdir()
    with open(a_work / "patfs.pepper", "wb") as f:
        f.write(os.urandom(32))
    os.chmod(a_work / "patfs.pepper", 0o600)
    d = Daemon(str(a_work), write_config(a_work, QUIET))
    assert d.start(expect_fail=True) == 1
    said = d.read_stderr()
    assert "holds no patfs schema but its pepper" in said and "--init" in said, said
    open(d.stderr_path, "w").close()
    d.args = ["--init"]
    d.start()
    try:
        assert os.listdir(d.path("users")) == []
    finally:
        d.stop()
    d.check_stderr()


def test_a_backup_of_a_postgresql_store_points_at_the_server_s_tools(make_daemon, tmp_path):
    d = make_daemon(QUIET)
    d.stop()
    r = subprocess.run([PATFS, "-c", d.config, "--backup", str(tmp_path / "b.db")],
                       capture_output=True, text=True, cwd=d.workdir)
    assert r.returncode == 1 and "pg_dump" in r.stderr, r.stderr
    assert not os.path.exists(tmp_path / "b.db")


def test_one_daemon_at_a_time_sends_the_day_s_notices(tmp_path):
    """Two daemons with expiry notices on, started while a run takes a
    while (the command sleeps): each notice goes out once, by whichever
    daemon leads the run; the other finds it done."""
    box = tempfile.mkdtemp(prefix="patfs-notify-", dir="/tmp")
    os.chmod(box, 0o1777)  # the command runs as nobody
    try:
        a = host(tmp_path, "a")
        for i in range(3):
            tid, _ = mint(a, "alice", "t%d" % i)
            assert write(a.path("users/alice/tokens/%d/expires_at" % tid), day(5)) == 0
        a.stop()
        notify = ("[notify]\nhour_utc = 0\ntimeout_s = 10\n"
                  "command = sleep 0.5; echo $PATFS_TOKEN_ID >> %s/sent\n"
                  "[auth]\nmax_failures_per_minute = 100000\n" % box)
        with open(a.config, "w") as f:
            f.write(with_store(notify))
        b = host(tmp_path, "b", pepper_from=a, config=notify)
        a.start()
        try:
            sent = os.path.join(box, "sent")
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and len(notices(a)) < 3:
                time.sleep(0.1)
            time.sleep(1)  # what a second sender would add meanwhile
            assert sorted(read(sent).split()) == sorted(b"%d" % i for i in (1, 2, 3))
            assert len(notices(a)) == 3
        finally:
            a.stop()
            b.stop()
        for d in (a, b):
            d.check_stderr()
    finally:
        shutil.rmtree(box)


def day(delta):
    d = datetime.datetime.now(datetime.timezone.utc).date()
    return (d + datetime.timedelta(days=delta)).isoformat()


def notices(d):
    return [l for l in audit_lines(d) if l["action"] == "token_notice"]
