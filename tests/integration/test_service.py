"""patfs as a service: backups while mounted, schema upgrades of stores made
by earlier versions, installation, the unit, fstab. Metrics are
test_metrics.py's, importing from GitLab test_import.py's."""
import datetime
import errno
import json
import os
import re
import shutil
import sqlite3
import subprocess
import threading
import time

import pytest

from conftest import (FAKETIME_LIB, PATFS, PG, ROOT, Daemon, StoreDB, audit_lines, mint, read,
                      settles, store_db, write, write_config)

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

@pytest.mark.sqlite_only("a PostgreSQL store is backed up with the server's tools")
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
        # (less the checks' new sources: the restored daemon checked too)
        original, copy = ([l for l in audit_lines(x)
                           if l["action"] != "token_new_source"] for x in (d, e))
        k = next((i for i, l in enumerate(copy) if l.get("reason") == "secret_lost"),
                 len(copy))
        assert copy[:k] == original[:k] and k >= 2 * len(before)
        minted = {int(l["object"].rsplit("/", 1)[-1]) for l in copy[:k]
                  if l["action"] == "token_create"}
        assert minted == ids
    finally:
        e.stop()
    e.check_stderr()


@pytest.mark.sqlite_only("a PostgreSQL store is backed up with the server's tools")
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


# schema upgrades --------------------------------------------------------------

def at_fixture_time():
    """The clock of the day after the fixtures were made, so that their
    tokens are as alive as they were (libfaketime)."""
    return {"LD_PRELOAD": FAKETIME_LIB, "FAKETIME": "@2026-12-01 12:00:00",
            "FAKETIME_DONT_RESET": "1",
            "ASAN_OPTIONS": "detect_leaks=1:verify_asan_link_order=0"}


@pytest.mark.skipif(not os.path.exists(FAKETIME_LIB), reason="libfaketime is missing")
@pytest.mark.parametrize("version", [2, 5])
@pytest.mark.sqlite_only("the fixtures are SQLite stores of earlier versions")
def test_a_store_of_an_earlier_version_opens_whole(tmp_path, version):
    """A store made by an earlier patfs (tests/fixtures/v<N>, made by
    make-store with that version's binary) opens with this one: every
    attribute its mount showed is there, the audit trail goes on from where
    it was, and its secrets still authenticate. Before upgrading, a copy of
    the old store is kept beside it."""
    src = os.path.join(FIXTURES, "v%d" % version)
    with open(os.path.join(src, "manifest.json")) as f:
        manifest = json.load(f)
    with open(os.path.join(src, "secrets.json")) as f:
        secrets = json.load(f)
    work = tmp_path / "w"
    work.mkdir()
    for name in ("patfs.db", "patfs.pepper"):
        shutil.copy(os.path.join(src, name), work / name)
        os.chmod(work / name, 0o600)
    d = Daemon(work, write_config(work, "[notify]\nenabled = false\n"), env=at_fixture_time())
    d.start()
    try:
        for user, attrs in manifest["users"].items():
            for k, v in attrs.items():
                assert read(d.path("users", user, k)).decode() == v, (user, k)
        for path, attrs in manifest["tokens"].items():
            for k, v in attrs.items():
                got = read(d.path(path, k)).decode()
                if k == "revoked" and attrs["name"] == "unsealed\n":
                    continue  # its secret was never taken: revoked at start
                assert got == v, (path, k)
        unsealed = [p for p, a in manifest["tokens"].items() if a["name"] == "unsealed\n"]
        assert [read(d.path(p, "revoked")) for p in unsealed] == [b"1\n"]
        audit = read(d.path("audit.log")).decode()
        assert audit.startswith(manifest["audit"]) and len(manifest["audit"]) > 1000
        by_id = {p.rsplit("/", 1)[1]: a for p, a in manifest["tokens"].items()}
        for path, secret in secrets.items():
            t = by_id[path.rsplit("/", 1)[1]]
            want = 0 if t["revoked"] == "0\n" else errno.EKEYREVOKED  # rotated
            assert write(d.path("auth", t["scopes"].split()[0]), secret) == want, path
        assert write(d.path("auth/api"), "glpat-" + "x" * 20) != 0
    finally:
        d.stop()
    d.check_stderr()
    db = sqlite3.connect(str(work / "patfs.db"))
    (now,), = db.execute("PRAGMA user_version").fetchall()
    dump = "\n".join(db.iterdump())
    db.close()
    assert now >= version
    assert not any(s in dump for s in secrets.values())  # digests only
    bak = work / ("patfs.db.v%d.bak" % version)
    assert bak.exists() == (now > version)
    if now > version:
        assert os.stat(bak).st_mode & 0o777 == 0o600
        old = sqlite3.connect(str(bak))
        assert old.execute("PRAGMA user_version").fetchall() == [(version,)]
        assert old.execute("SELECT count(*) FROM tokens").fetchall() == \
            [(len(manifest["tokens"]),)]
        old.close()
        assert "upgraded to %d" % now in d.read_stderr()


# installation -----------------------------------------------------------------

BUILD = os.path.dirname(PATFS)
WANTED = {  # what meson install puts, under the prefix unless absolute
    "sbin/patfs", "share/man/man8/patfs.8", "share/man/man5/patfs.ini.5",
    "etc/patfs/patfs.ini", "systemd/system/patfs@.service"}


def installed(tmp_path):
    """meson install of the build under test into tmp_path/root: {what in
    WANTED: path}, and every file it put."""
    root = tmp_path / "root"
    r = subprocess.run(["meson", "install", "-C", BUILD, "--no-rebuild", "--destdir",
                        str(root)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    files = sorted(os.path.join(dp, f) for dp, _, fs in os.walk(root) for f in fs)
    found = {w: p for p in files for w in WANTED if p.endswith("/" + w)}
    return root, found, files


def test_meson_install_puts_exactly_the_service_s_files(tmp_path):
    root, found, files = installed(tmp_path)
    assert set(found) == WANTED and len(files) == len(WANTED), files
    assert os.stat(found["sbin/patfs"]).st_mode & 0o111
    ini = open(found["etc/patfs/patfs.ini"]).read()
    # the service's paths set, every other key commented out at its default
    for line in ("path = /var/lib/patfs/patfs.db", "pepper_file = /var/lib/patfs/patfs.pepper",
                 "log = /var/log/patfs/auth.log", "admin_group = patfs-admin",
                 "; prefix = glpat-", "; max_lifetime_days = 365", "; run_as = nobody"):
        assert "\n%s\n" % line in ini, line
    key = re.compile(r"^(?:; )?(\w+) =(?: |$)")
    keys = {key.match(l).group(1) for l in open(os.path.join(ROOT, "patfs.ini"))
            if key.match(l)}
    assert {key.match(l).group(1) for l in ini.splitlines() if key.match(l)} == keys
    assert len(keys) > 20
    unit = open(found["systemd/system/patfs@.service"]).read()
    prefix = found["sbin/patfs"][len(str(root)):-len("/sbin/patfs")]
    assert "ExecStart=%s/sbin/patfs -f -c " % prefix in unit
    assert "/patfs/patfs.ini %f\n" in unit and "@" + "sbindir@" not in unit


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is missing")
def test_the_unit_passes_systemd_analyze_verify(tmp_path):
    """The installed unit, instantiated for /srv/tokens, in a root that holds
    it, the binary it runs, and the system's own units."""
    root, found, _ = installed(tmp_path)
    units = root / "lib/systemd/system"
    if not units.is_dir():
        units.mkdir(parents=True)
    for f in os.listdir("/lib/systemd/system"):
        src = os.path.join("/lib/systemd/system", f)
        if not os.path.exists(units / f) and os.path.isfile(src):
            shutil.copy(src, units / f, follow_symlinks=True)
    shutil.copy(found["systemd/system/patfs@.service"], units / "patfs@srv-tokens.service")
    (root / "bin").mkdir(exist_ok=True)
    shutil.copy("/bin/mkdir", root / "bin/mkdir")
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", "--root=%s" % root,
                        "patfs@srv-tokens.service"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout + r.stderr == "", r.stdout + r.stderr
    r = subprocess.run(["systemd-analyze", "security", "--offline=true", "--root=%s" % root,
                        str(units / "patfs@srv-tokens.service")],
                       capture_output=True, text=True)
    level = float(r.stdout.rsplit("Overall exposure level for", 1)[1].split()[1])
    assert level <= 4.8, r.stdout  # the README says 4.8


def test_an_fstab_line_mounts_through_mount_fuse3(tmp_path):
    """`mount MOUNTPOINT` of a fuse.patfs line in fstab runs mount.fuse3,
    which runs the installed patfs with the line's options; umount ends it.
    In a mount namespace of the test's own, where /usr/local/sbin (in the
    PATH that mount.fuse3's shell searches) holds the installed binary."""
    root, found, _ = installed(tmp_path)
    work = tmp_path / "w"
    work.mkdir()
    mnt = work / "tokens"
    mnt.mkdir()
    cfg = write_config(work, "[notify]\nenabled = false\n")
    fstab = work / "fstab"
    fstab.write_text("patfs  %s  fuse.patfs  config=%s,allow_other,default_permissions,"
                     "_netdev  0 0\n" % (mnt, cfg))
    script = """set -e
mount --bind {sbin} /usr/local/sbin
mount -T {fstab} {mnt}
findmnt -n -o FSTYPE,SOURCE {mnt}
mkdir {mnt}/users/alice {mnt}/users/alice/tokens/ci
cat {mnt}/users/alice/tokens/ci/name
umount {mnt}
for i in $(seq 100); do pgrep -f "^patfs patfs {mnt}" >/dev/null || exit 0; sleep 0.05; done
echo still running; exit 1
""".format(sbin=os.path.dirname(found["sbin/patfs"]), fstab=fstab, mnt=mnt)
    r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.split("\n")[:2] == ["fuse.patfs patfs", "ci"], r.stdout
    assert subprocess.run(["pgrep", "-f", "patfs patfs %s" % mnt]).returncode == 1
    db = StoreDB(work)
    assert db.execute("SELECT name FROM tokens").fetchall() == [("ci",)]
    db.close()


def test_it_tells_systemd_when_it_serves_and_when_it_stops(tmp_path):
    """Type=notify: READY=1 on $NOTIFY_SOCKET once the mount answers,
    STOPPING=1 when it ends (an abstract socket too)."""
    import socket
    work = tmp_path / "w"
    work.mkdir()
    for name in (str(tmp_path / "notify"), "@patfs-test-%d" % os.getpid()):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(name if name[0] == "/" else "\0" + name[1:])
        sock.settimeout(10)
        d = Daemon(work, write_config(work, "[notify]\nenabled = false\n"),
                   env={"NOTIFY_SOCKET": name})
        d.start()
        try:
            assert sock.recv(64) == b"READY=1"
            assert os.listdir(d.mnt)  # it answers
        finally:
            d.stop()
        assert sock.recv(64) == b"STOPPING=1"
        sock.close()
        d.check_stderr()
