"""patfs as a service: backups while mounted, schema upgrades of stores made
by earlier versions, installation, the unit, fstab, metrics."""
import os
import shutil
import sqlite3
import subprocess
import threading
import time

import pytest

from conftest import PATFS, Daemon, audit_lines, mint, read, write, write_config

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "fixtures")


def restored(tmp_path, store, pepper, name="restored"):
    """A daemon on a copy of store with pepper, in tmp_path/name."""
    work = tmp_path / name
    work.mkdir()
    shutil.copy(store, work / "patfs.db")
    shutil.copy(pepper, work / "patfs.pepper")
    os.chmod(work / "patfs.db", 0o600)
    os.chmod(work / "patfs.pepper", 0o600)
    d = Daemon(work, write_config(work, "[notify]\nenabled = false\n"))
    d.start()
    return d


# backup ---------------------------------------------------------------------

def test_backup_under_load_restores_into_a_new_mount(make_daemon, tmp_path):
    """A backup taken while a writer mints and revokes through the mount is
    one consistent store: restored beside the pepper, every token it holds
    is there with its audit trail, and the secrets taken before it
    authenticate."""
    d = make_daemon("[notify]\nenabled = false\n")
    before = [mint(d, "alice", "b%d" % i, scopes="api") for i in range(10)]
    assert write(d.path("users/alice/tokens/b0/revoked"), "1") == 0
    stop, done = threading.Event(), []

    def writer():
        i = 0
        while not stop.is_set():
            tid, _ = mint(d, "bob", "w%d" % i)
            if i % 2:
                assert write(d.path("users/bob/tokens/%d/revoked" % tid), "1") == 0
            done.append(tid)
            i += 1

    t = threading.Thread(target=writer)
    t.start()
    try:
        while len(done) < 5:
            time.sleep(0.01)
        bak = os.path.join(d.workdir, "backup.db")
        r = subprocess.run([PATFS, "-c", d.config, "--backup", bak], cwd=d.workdir,
                           capture_output=True, text=True, timeout=60)
        during = len(done)
    finally:
        stop.set()
        t.join()
    assert r.returncode == 0, r.stderr
    assert "copied into" in r.stderr and "\r" not in r.stderr  # no tty: no progress
    assert os.stat(bak).st_mode & 0o777 == 0o600
    db = sqlite3.connect(bak)
    assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    ids = {i for (i,) in db.execute("SELECT id FROM tokens")}
    db.close()
    assert {tid for tid, _ in before} <= ids
    assert len(ids) >= len(before) + 4  # the writer's, up to the copy
    assert len(ids) <= len(before) + during + 1

    e = restored(tmp_path, bak, os.path.join(d.workdir, "patfs.pepper"))
    try:
        for tid, secret in before[1:]:
            assert write(e.path("auth/api"), secret) == 0
        assert write(e.path("auth/api"), before[0][1]) != 0  # revoked before
        assert read(e.path("users/alice/tokens/%d/revoked" % before[0][0])) == b"1\n"
        # the audit trail: the restored one is the original's up to the copy,
        # then what the restored daemon did (revoking secrets it cannot
        # hand out: tokens minted but not yet taken at the copy)
        original, copy = audit_lines(d), audit_lines(e)
        k = next((i for i, l in enumerate(copy) if l.get("reason") == "secret_lost"),
                 len(copy))
        assert copy[:k] == original[:k] and k >= 2 * len(before)
        minted = {int(l["object"].rsplit("/", 1)[-1]) for l in copy[:k]
                  if l["action"] == "token_create"}
        assert minted == ids
    finally:
        e.stop()
    e.check_stderr()


def test_backup_refuses_an_existing_file_and_a_missing_store(make_daemon, tmp_path):
    d = make_daemon("[notify]\nenabled = false\n")
    mint(d, "alice", "a")
    taken = tmp_path / "taken.db"
    taken.write_bytes(b"keep me")
    r = subprocess.run([PATFS, "-c", d.config, "--backup", str(taken)], cwd=d.workdir,
                       capture_output=True, text=True)
    assert r.returncode == 1 and "File exists" in r.stderr
    assert taken.read_bytes() == b"keep me"
    empty = tmp_path / "empty"
    empty.mkdir()
    r = subprocess.run([PATFS, "--backup", str(tmp_path / "x.db")], cwd=empty,
                       capture_output=True, text=True)
    assert r.returncode == 1 and "no store at" in r.stderr
    assert not (tmp_path / "x.db").exists() and os.listdir(empty) == []
    r = subprocess.run([PATFS, "--backup", str(tmp_path / "x.db"), str(empty)],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "no mount point" in r.stderr
