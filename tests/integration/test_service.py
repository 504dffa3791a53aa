"""patfs as a service: backups while mounted, schema upgrades of stores made
by earlier versions, installation, the unit, fstab, metrics."""
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
    assert level <= 4.6, r.stdout  # the README says 4.6


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


# metrics ----------------------------------------------------------------------

def families(text):
    """{name: {labels as a sorted tuple: value}} through prometheus_client's
    own parser (Debian's python3-prometheus-client)."""
    parser = pytest.importorskip("prometheus_client.parser")
    out = {}
    for fam in parser.text_string_to_metric_families(text):
        for s in fam.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out


def test_metrics_say_what_the_store_holds(make_daemon):
    d = make_daemon("[notify]\nenabled = false\n[tokens]\nlast_used_interval_s = 0\n")
    ok, secret = mint(d, "alice", "ci", scopes="api")
    mint(d, "alice", "in5", take=True)
    assert write(d.path("users/alice/tokens/in5/expires_at"),
                 (datetime.date.today() + datetime.timedelta(days=5)).isoformat()) == 0
    imp, _ = mint(d, "alice", "imp", take=False)
    assert write(d.path("users/alice/tokens/imp/impersonation"), "1") == 0
    read(d.path("users/alice/tokens/imp/token"))
    gone, gone_secret = mint(d, "alice", "gone")
    assert write(d.path("users/alice/tokens/gone/revoked"), "1") == 0
    os.mkdir(d.path("users/svc"))
    assert write(d.path("users/svc/kind"), "service_account") == 0
    mint(d, "svc", "robot")
    mint(d, "bob", "b1")
    assert write(d.path("users/bob/blocked"), "1") == 0
    os.mkdir(d.path("projects/web"))
    os.mkdir(d.path("projects/web/tokens/deploy"))
    os.mkdir(d.path("groups/acme"))
    os.mkdir(d.path("groups/acme/tokens/deploy"))
    assert write(d.path("users/alice/tokens/ci/rotate"), "1") == 0
    db = store_db(d)
    old = db.execute("SELECT id FROM tokens WHERE name = 'robot'").fetchone()[0]
    db.execute("UPDATE tokens SET expires_at = expires_at - 400 WHERE id = ?", (old,))
    db.commit()  # expired, behind patfs's back: metrics read the store
    for s, want in ((secret, errno.EKEYREVOKED), (gone_secret, errno.EKEYREVOKED),
                    ("glpat-" + "x" * 20, errno.EKEYREJECTED)):
        assert write(d.path("auth/api"), s) == want
    opens = 0
    for _ in range(3):
        read(d.path("users/alice/id"))
        opens += 1

    st = os.stat(d.path("metrics"))
    text = read(d.path("metrics")).decode()
    assert st.st_size == len(text) and st.st_mode & 0o777 == 0o400  # no admin group
    m = families(text)

    # tokens by kind and state, against the store's own rows
    today = (datetime.datetime.now(datetime.timezone.utc).date()
             - datetime.date(1970, 1, 1)).days
    want = {}
    for imp_, ukind, blocked, revoked, exp in db.execute(
            "SELECT t.impersonation, u.kind, u.blocked, t.revoked_at, t.expires_at"
            " FROM tokens t JOIN users u ON u.id = t.user_id"):
        kind = ("impersonation" if imp_ else
                ["personal", "service_account", "project", "group"][ukind])
        state = ("revoked" if revoked is not None else
                 "expired" if exp is not None and exp <= today else
                 "blocked" if blocked else "active")
        want[kind, state] = want.get((kind, state), 0) + 1
    got = {(dict(k)["kind"], dict(k)["state"]): v for k, v in m["patfs_tokens"].items() if v}
    assert got == want
    assert want == {("personal", "active"): 2, ("personal", "revoked"): 2,
                    ("personal", "blocked"): 1, ("impersonation", "active"): 1,
                    ("service_account", "expired"): 1, ("project", "active"): 1,
                    ("group", "active"): 1}
    within = {dict(k)["within_days"]: v for k, v in m["patfs_tokens_expiring"].items()}
    links = {n: len(os.listdir(d.path("expiring/within/%sd" % n))) for n in ("7", "30", "60")}
    assert within == {n: float(c) for n, c in links.items()}
    assert within["7"] == 2.0  # in5, and ci's successor (a rotation gives 7 days)
    db.close()

    checks = {dict(k)["reason"]: v for k, v in m["patfs_auth_checks_total"].items()}
    assert checks["token_revoked"] == 2 and checks["token_invalid"] == 1
    assert checks["none"] == 0 and len(checks) == 9
    assert m["patfs_tokens_minted_total"][()] == 8  # rotation's successor is token_rotate's
    assert m["patfs_tokens_revoked_total"][()] == 1
    assert m["patfs_tokens_rotated_total"][()] == 1

    opened = {dict(k)["le"]: v for k, v in m["patfs_fuse_request_duration_seconds_bucket"].items()
              if dict(k)["op"] == "OPEN"}
    count = m["patfs_fuse_request_duration_seconds_count"][(("op", "OPEN"),)]
    assert opened["+Inf"] == count >= opens
    assert sorted(opened.values()) == [opened[k] for k in sorted(opened, key=lambda x: float(x))]
    if PG:
        (db_bytes,), = store_db(d).execute("SELECT pg_database_size(current_database())")
    else:
        db_bytes = sum(os.path.getsize(os.path.join(d.workdir, f))
                       for f in ("patfs.db", "patfs.db-wal"))
    assert abs(m["patfs_store_bytes"][()] - db_bytes) < 1 << 20
    assert m["patfs_notice_last_run_timestamp_seconds"][()] == 0  # notices are off
    assert abs(m["patfs_start_time_seconds"][()] - time.time()) < 60


def test_metrics_are_for_admins(make_daemon):
    d = make_daemon("")
    r = subprocess.run(["setpriv", "--reuid=1000", "--regid=1000", "--clear-groups",
                        "cat", d.path("metrics")], capture_output=True)
    assert r.returncode == 1 and b"Permission denied" in r.stderr and r.stdout == b""


def test_metrics_textfile_is_replaced_whole_every_interval(make_daemon, tmp_path):
    out = tmp_path / "prom" / "patfs.prom"
    out.parent.mkdir()
    d = make_daemon("[notify]\nenabled = false\n[metrics]\ntextfile = %s\ninterval_s = 1\n" % out)
    deadline = time.time() + 5
    while not out.exists() and time.time() < deadline:
        time.sleep(0.05)
    first = families(out.read_text())
    assert first["patfs_tokens_minted_total"][()] == 0
    mint(d, "alice", "a")
    deadline = time.time() + 5
    while time.time() < deadline:
        if families(out.read_text())["patfs_tokens_minted_total"][()] == 1:
            break
        time.sleep(0.1)
    assert families(out.read_text())["patfs_tokens_minted_total"][()] == 1
    assert os.listdir(out.parent) == ["patfs.prom"]  # no .tmp left behind


# importing a GitLab inventory ---------------------------------------------------

GITLAB = os.path.join(FIXTURES, "gitlab")


def import_gitlab(d, name):
    return subprocess.run([PATFS, "-c", d.config, "--import-gitlab", os.path.join(GITLAB, name)],
                          cwd=d.workdir, capture_output=True, text=True, timeout=60)


def tokens_by_gitlab_id(d):
    db = store_db(d)
    rows = db.execute("SELECT gitlab_id, id, digest IS NULL, sealed_at IS NOT NULL"
                      " FROM tokens WHERE gitlab_id IS NOT NULL").fetchall()
    db.close()
    assert all(nodigest and sealed for _, _, nodigest, sealed in rows)  # never a secret
    return {g: i for g, i, _, _ in rows}


def test_a_gitlab_inventory_is_imported_to_audit_with_the_tools(make_daemon):
    """GitLab's own responses, imported while mounted: the tree shows them
    within a second (the import is another process), with GitLab's values,
    and nothing of them can be changed or authenticates."""
    d = make_daemon("[notify]\nenabled = false\n")
    mint(d, "jane", "mine")  # a user of patfs's own takes the name first
    r = import_gitlab(d, "inventory.json")
    assert r.returncode == 0, r.stderr
    assert "6 tokens added, 0 updated, 0 unchanged; 4 users, 1 projects, 1 groups" in r.stderr
    ids = tokens_by_gitlab_id(d)
    assert sorted(ids) == [4, 5, 6, 8, 42, 43]
    users = settles(lambda: sorted(os.listdir(d.path("users"))),
                    sorted(["jane", "gitlab_jane", "gitlab_user_9",
                            "project_1_bot_0000008d", "group_2_bot_0000008e"]))
    assert users < 1.0
    m = json.loads(read(d.path("users/gitlab_jane/tokens/%d/meta.json" % ids[4])))
    assert m["gitlab_id"] == 4 and m["name"] == "Test Token"
    assert m["description"] == "Test Token description" and m["scopes"] == ["api"]
    assert m["created_at"] == "2020-07-23T14:31:47Z"
    assert m["last_used_at"] == "2021-10-06T17:58:37Z"
    assert m["expires_at"] is None and m["revoked"] is False and m["active"] is True
    assert json.loads(read(d.path("users/gitlab_jane/tokens/%d/meta.json" % ids[5])))[
        "revoked"] is True
    assert read(d.path("users/gitlab_user_9/tokens/%d/name" % ids[6])) == "ci été\n".encode()
    assert read(d.path("users/gitlab_user_9/tokens/%d/created_at" % ids[6])) == \
        b"2024-05-06T08:20:30Z\n"
    assert read(d.path("users/gitlab_jane/tokens/%d/impersonation" % ids[8])) == b"1\n"
    assert read(d.path("projects/gitlab-org.gitlab/path")) == b"gitlab-org/gitlab\n"
    assert os.listdir(d.path("projects/gitlab-org.gitlab/tokens")) == [str(ids[42])]
    assert read(d.path("projects/gitlab-org.gitlab/tokens/%d/access_level" % ids[42])) == \
        b"maintainer\n"
    assert read(d.path("groups/acme/tokens/%d/access_level" % ids[43])) == b"owner\n"
    # the tools: the guide's "expired on a date" kind of question, with grep
    r = subprocess.run("grep -l '\"gitlab_id\":[0-9]' users/*/tokens/*/meta.json | wc -l",
                       shell=True, cwd=d.mnt, capture_output=True, text=True)
    assert r.stdout.strip() == "6"
    # GitLab's, not patfs's: read-only, no secret, and it never authenticates
    t4 = d.path("users/gitlab_jane/tokens/%d" % ids[4])
    for attr in ("revoked", "description", "expires_at", "rotate"):
        assert os.stat(os.path.join(t4, attr)).st_mode & 0o222 == 0
        assert write(os.path.join(t4, attr), "1") == errno.EPERM  # root: as immutable
    assert not os.path.exists(os.path.join(t4, "token"))
    assert write(d.path("auth/api"), "glpat-" + "a" * 20) == errno.EKEYREJECTED
    assert [l["action"] for l in audit_lines(d)].count("token_import") == 6
    # a restart revokes no imported token (none is unsealed)
    d.stop()
    d.start()
    assert read(os.path.join(t4, "revoked")) == b"0\n"


def test_importing_again_updates_in_place_by_gitlab_s_ids(make_daemon):
    d = make_daemon("[notify]\nenabled = false\n")
    assert import_gitlab(d, "inventory.json").returncode == 0
    before = tokens_by_gitlab_id(d)
    r = import_gitlab(d, "reimport.json")
    assert r.returncode == 0, r.stderr
    assert "1 tokens added, 2 updated, 4 unchanged; 1 users, 0 projects" in r.stderr
    after = tokens_by_gitlab_id(d)
    assert {g: after[g] for g in before} == before and set(after) - set(before) == {44}
    t4 = d.path("users/jane/tokens/%d" % after[4])
    assert settles(lambda: read(os.path.join(t4, "revoked")), b"1\n") < 1.0
    assert read(os.path.join(t4, "description")) == b"leaked, revoked\n"
    assert read(d.path("projects/gitlab-org.gitlab/path")) == b"gitlab-org/gitlab-foss\n"
    assert sorted(os.listdir(d.path("projects/gitlab-org.gitlab/tokens"))) == \
        sorted([str(after[42]), str(after[44])])
    assert read(d.path("projects/gitlab-org.gitlab/tokens/%d/name" % after[42])) == \
        b"token-renamed\n"
    # the array of GET /personal_access_tokens alone is an inventory too
    r = import_gitlab(d, "personal_access_tokens.json")
    assert r.returncode == 0 and "0 tokens added, 1 updated, 3 unchanged" in r.stderr


@pytest.mark.parametrize("mangle, where", [
    (lambda inv: "{not json", "not JSON, at byte 1"),
    (lambda inv: inv["personal_access_tokens"][1]["scopes"].append("read_everything"),
     "personal_access_tokens[1]: scopes: a scope patfs does not know"),
    (lambda inv: inv["personal_access_tokens"][3].update(id="8"),
     "personal_access_tokens[3]: id: expected a whole number"),
    (lambda inv: inv["personal_access_tokens"][2].update(created_at="yesterday"),
     "personal_access_tokens[2]: created_at: expected a time"),
    (lambda inv: inv["personal_access_tokens"][0].update(name="1234"),
     "personal_access_tokens[0]: name: not a name patfs can show"),
    (lambda inv: inv["projects"][0]["access_tokens"][0].update(access_level=35),
     "projects[0].access_tokens[0]: access_level: expected 10, 15, 20, 30, 40 or 50"),
    (lambda inv: inv["groups"][0].update(access_tokens={}),
     "groups[0]: access_tokens: expected an array"),
    (lambda inv: inv.update(users="jane"), "users: expected an array"),
])
def test_a_bad_inventory_changes_nothing(make_daemon, tmp_path, mangle, where):
    """The first bad value is named with its place, and nothing is imported,
    not even what came before it."""
    d = make_daemon("[notify]\nenabled = false\n")
    mint(d, "alice", "a")
    with open(os.path.join(GITLAB, "inventory.json")) as f:
        inv = json.load(f)
    text = mangle(inv)
    bad = tmp_path / "bad.json"
    bad.write_text(text if isinstance(text, str) else json.dumps(inv))
    r = subprocess.run([PATFS, "-c", d.config, "--import-gitlab", str(bad)],
                       cwd=d.workdir, capture_output=True, text=True)
    assert r.returncode == 1 and where in r.stderr, r.stderr
    db = store_db(d)
    assert db.execute("SELECT count(*) FROM tokens").fetchone() == (1,)
    assert db.execute("SELECT count(*) FROM users").fetchone() == (1,)
    assert db.execute("SELECT count(*) FROM resources").fetchone() == (0,)
    db.close()
    assert sorted(os.listdir(d.path("users"))) == ["alice"]


def test_importing_is_for_root(make_daemon):
    d = make_daemon("[notify]\nenabled = false\n")
    os.chmod(d.workdir, 0o755)
    r = subprocess.run(["setpriv", "--reuid=1000", "--regid=1000", "--clear-groups", PATFS,
                        "-c", d.config, "--import-gitlab", os.path.join(GITLAB, "inventory.json")],
                       cwd=d.workdir, capture_output=True, text=True)
    assert r.returncode == 1 and "patfs: error" in r.stderr
    assert tokens_by_gitlab_id(d) == {}
