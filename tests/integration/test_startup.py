"""Start-up refusals: one daemon per store, and a store that goes with its
pepper."""
import os
import subprocess

import pytest

from conftest import PATFS, Daemon, mint, read

CLIENT = os.path.join(os.path.dirname(PATFS), "tests", "auth_client")


@pytest.mark.sqlite_only("on PostgreSQL many daemons share one store")
def test_a_second_daemon_on_one_store_is_refused(make_daemon, tmp_path):
    d = make_daemon()
    tid, _ = mint(d, "alice", "fresh", take=False)
    lock = os.path.join(d.workdir, "patfs.db.lock")
    assert read(lock) == b"%d\n" % d.proc.pid
    assert os.stat(lock).st_mode & 0o777 == 0o600
    second = Daemon(tmp_path, name="mnt2")
    second.stderr_path = os.path.join(d.workdir, "second.stderr")
    assert second.start(expect_fail=True) == 1
    said = second.read_stderr()
    assert "is in use by another patfs (pid %d" % d.proc.pid in said, said
    assert os.path.join(d.workdir, "patfs.db") in said
    assert not os.path.ismount(second.mnt)
    # it touched nothing: the first daemon's unsealed token is still there
    assert os.path.exists(d.path("users/alice/tokens/%d/token" % tid))
    # a program checking tokens through the C API is not refused
    secret = read(d.path("users/alice/tokens/%d/token" % tid)).strip()
    cfg = os.path.join(d.workdir, "api.ini")
    with open(cfg, "w") as f:
        f.write("[store]\npath = patfs.db\npepper_file = patfs.pepper\n")
    r = subprocess.run([CLIENT, cfg, "read_api"], input=secret,
                       capture_output=True, cwd=d.workdir)
    assert r.stdout.decode().strip() == "ok", r
    # once the first is gone, the lock is free
    d.stop()
    second.stderr_path = d.stderr_path
    second.start()
    second.stop()


@pytest.mark.sqlite_only("test_pg.py has PostgreSQL's")
def test_an_empty_store_beside_a_pepper_needs_init(make_daemon):
    d = make_daemon()
    mint(d, "alice", "ci")
    d.stop()
    store = os.path.join(d.workdir, "patfs.db")
    for gone in ("truncate", "remove"):
        if gone == "truncate":
            open(store, "w").close()
        else:
            os.unlink(store)
        assert d.start(expect_fail=True) == 1
        said = d.read_stderr()
        assert "missing or empty but its pepper" in said and "--init" in said
        assert not os.path.ismount(d.mnt)
        open(d.stderr_path, "w").close()  # the error was expected
    d.args = ["--init"]
    d.start()
    assert os.listdir(d.path("users")) == []
    mint(d, "bob", "x")
    d.stop()
    d.args = []
    d.start()  # a store with data needs no --init
    assert os.listdir(d.path("users")) == ["bob"]


def test_a_store_without_its_pepper_is_refused(make_daemon):
    d = make_daemon()
    mint(d, "alice", "ci")
    d.stop()
    pepper = os.path.join(d.workdir, "patfs.pepper")
    os.rename(pepper, pepper + ".away")
    assert d.start(expect_fail=True) == 1
    assert "has data but its pepper" in d.read_stderr()
    assert not os.path.exists(pepper)  # no new pepper made
    os.rename(pepper + ".away", pepper)
    open(d.stderr_path, "w").close()
    d.start()
    assert os.listdir(d.path("users")) == ["alice"]


def test_the_open_file_limit_is_raised_or_refused(tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    # too low, and no way to raise it: one clear line, no mount
    r = subprocess.run(["prlimit", "--nofile=12:12", PATFS, "-f", str(mnt)],
                       cwd=str(tmp_path), capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 1 and not os.path.ismount(str(mnt))
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "open file limit (12, ulimit -n)" in lines[0]
    # a low soft limit under a high hard one is raised to the hard one
    d = Daemon(tmp_path)
    d.start_cmd_prefix = ["prlimit", "--nofile=12:2048"]
    d.start()
    try:
        with open("/proc/%d/limits" % d.proc.pid) as f:
            row = [l for l in f if l.startswith("Max open files")][0]
        assert row.split()[3:5] == ["2048", "2048"], row
        mint(d, "alice", "ci")
        assert os.listdir(d.path("users")) == ["alice"]
    finally:
        d.stop()
    d.check_stderr()
