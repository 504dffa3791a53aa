"""What survives a restart or a crash, and where a secret never goes."""
import errno
import os
import signal
import subprocess
import time

from conftest import PG, audit_lines, err_of, mint, read, snapshot, store_db, write


QUIET = "[notify]\nenabled = false\n"  # no expiry notice in the trail


def test_remount_keeps_everything(make_daemon):
    fs = make_daemon(QUIET)
    mint(fs, "alice", "a", scopes="api")
    mint(fs, "bob", "b")
    write(fs.path("users/bob/tokens/2/revoked"), "1")
    write(fs.path("users/bob/blocked"), "1")
    write(fs.path("users/alice/tokens/1/description"), "kept\n")
    before = snapshot(fs)
    fs.restart()
    assert snapshot(fs) == before


def test_secret_never_taken_is_revoked_at_next_start(make_daemon):
    fs = make_daemon(QUIET)
    mint(fs, "alice", "taken")
    mint(fs, "alice", "lost", take=False)
    fs.restart()
    assert read(fs.path("users/alice/tokens/2/revoked")) == b"1\n"
    assert read(fs.path("users/alice/tokens/1/revoked")) == b"0\n"
    assert err_of(os.stat, fs.path("users/alice/tokens/2/token")) == errno.ENOENT
    last = audit_lines(fs)[-1]
    assert last["action"] == "token_revoke"
    assert last["reason"] == "secret_lost"
    assert last["object"] == "users/alice/tokens/2"
    assert "revoked 1 token" in fs.read_stderr()


def test_set_secret_seals_and_is_checked(fs):
    mint(fs, "alice", "preset", take=False)
    mint(fs, "alice", "other", take=False)
    secret = "glpat-" + "A1b2C3d4E5f6G7h8I9j0_-"
    p1 = fs.path("users/alice/tokens/1/token")
    p2 = fs.path("users/alice/tokens/2/token")
    for bad in ["glpat-short", "ghp_" + "a" * 24, "glpat-" + "a" * 19,
                "glpat-" + "a" * 20 + "!", "glpat-" + "é" * 20]:
        assert write(p1, bad) == errno.EINVAL
    assert os.path.exists(p1)
    assert write(p1, secret + "\n") == 0
    assert err_of(os.stat, p1) == errno.ENOENT
    assert write(p2, secret) == errno.EEXIST     # a digest is unique
    assert os.path.exists(p2)
    assert audit_lines(fs)[-1]["action"] == "token_secret_set"


def test_secrets_reach_no_file(fs, request):
    secrets = []
    for i in range(5):
        _, s = mint(fs, "alice", "t%d" % i)
        secrets.append(s.encode())
    preset = b"glpat-" + b"Zz9" * 8
    mint(fs, "alice", "preset", take=False)
    assert write(fs.path("users/alice/tokens/preset/token"), preset) == 0
    secrets.append(preset)
    fs.restart()
    files = [os.path.join(fs.workdir, fn) for fn in os.listdir(fs.workdir)]
    if PG:  # the server's files: tables, WAL, its log
        store_db(fs).execute("CHECKPOINT")
        top = request.getfixturevalue("pg_cluster")
        files += [os.path.join(dp, fn) for dp, _, fns in os.walk(top) for fn in fns]
    for p in files:
        if not os.path.isfile(p) or os.path.islink(p):
            continue
        data = read(p)
        for s in secrets:
            assert s not in data, "a secret is in " + p
            assert s[6:] not in data, "a secret's body is in " + p
    assert os.stat(os.path.join(fs.workdir, "patfs.pepper")).st_mode & 0o777 == 0o600
    if not PG:
        assert os.stat(os.path.join(fs.workdir, "patfs.db")).st_mode & 0o077 == 0


def test_kill9_during_revokes_loses_no_acknowledged_revoke(fs):
    os.mkdir(fs.path("users/k"))
    for i in range(200):
        os.mkdir(fs.path("users/k/tokens/t%d" % i))
        # seal with a preset secret so a restart does not revoke it as lost
        assert write(fs.path("users/k/tokens/t%d/token" % i),
                     "glpat-%020d" % i) == 0
    acked = os.path.join(fs.workdir, "acked")
    loop = subprocess.Popen(
        ["sh", "-c", "for i in $(seq 1 200); do "
         "echo 1 > users/k/tokens/$i/revoked && echo $i >> %s || exit 0; done" % acked],
        cwd=fs.mnt, stderr=subprocess.DEVNULL)
    deadline = time.time() + 20
    while time.time() < deadline:
        if os.path.exists(acked) and len(read(acked).split()) >= 30:
            break
        time.sleep(0.005)
    fs.kill9()
    loop.wait(timeout=30)
    done = [int(x) for x in read(acked).split()]
    assert 30 <= len(done) < 200, "the kill did not land mid-loop"
    fs.start()
    for i in done:
        assert read(fs.path("users/k/tokens/%d/revoked" % i)) == b"1\n", i
    revoked = [l["object"] for l in audit_lines(fs) if l["action"] == "token_revoke"]
    assert set("users/k/tokens/%d" % i for i in done) <= set(revoked)
