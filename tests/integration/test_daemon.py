"""The daemon as a program: its options (the fuse_opt way), where its
messages go when it runs in the background, and how many SQL statements a
request costs."""
import errno
import json
import os
import subprocess
import time

import pytest

from conftest import (PATFS, PG, ROOT, counts, err_of, forget_names, mint, read,
                      requests, write, write_config)

BUILD = os.path.dirname(PATFS)
FAKE_SYSLOG = os.path.join(BUILD, "tests", "libfake_syslog.so")


def test_version_and_help():
    r = subprocess.run([PATFS, "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("patfs ")
    r = subprocess.run([PATFS, "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    assert "-o config=FILE" in r.stdout and "-c FILE" in r.stdout
    r = subprocess.run([PATFS], capture_output=True, text=True)
    assert r.returncode == 2 and "usage" in r.stderr


@pytest.mark.parametrize("form", [["-o", "config={}"], ["-oconfig={}"],
                                  ["-c", "{}"], ["-c{}"],
                                  ["-o", "noatime,config={}"]])
def test_config_option_forms(make_daemon, tmp_path, form):
    """-o config=FILE (what fstab and systemd pass) and -c FILE name the
    configuration; other -o options go on to FUSE."""
    cfg = write_config(tmp_path, "[tokens]\nprefix = opt-\n")
    d = make_daemon(args=[a.format(cfg) for a in form])
    _, secret = mint(d, "alice", "ci")
    assert secret.startswith("opt-")
    if "noatime" in form[-1]:
        assert os.statvfs(d.mnt).f_flag & os.ST_NOATIME


# what a dead mount answers: ENOTCONN, or over io_uring ECONNABORTED/ECANCELED
DEAD = (errno.ENOTCONN, errno.ECONNABORTED, errno.ECANCELED)


def test_a_dead_mount_point_is_refused(make_daemon):
    """After kill -9 the mount point is a dead FUSE mount (ENOTCONN): a new
    patfs says so instead of stacking a mount on it."""
    d = make_daemon()
    os.mkdir(d.path("users/alice"))
    d.proc.kill()
    d.proc.wait()
    d.proc = None
    d.err.close()
    try:
        assert err_of(os.statvfs, d.mnt) in DEAD
        assert d.start(expect_fail=True) == 1
        assert "is a FUSE mount whose daemon is gone" in d.read_stderr()
        assert err_of(os.statvfs, d.mnt) in DEAD  # nothing stacked
    finally:
        subprocess.run(["fusermount3", "-u", d.mnt], check=True)
    open(d.stderr_path, "w").close()  # the error was expected
    d.start()
    assert os.listdir(d.path("users")) == ["alice"]


def test_a_live_patfs_mount_point_is_refused(make_daemon, tmp_path):
    """A second patfs (another store) on a live patfs mount would hide the
    first one's store: refused, and the first stays the only mount."""
    d = make_daemon()
    os.mkdir(d.path("users/alice"))
    other = tmp_path / "other"
    other.mkdir()
    with open(other / "patfs.ini", "w") as f:
        f.write("[notify]\nenabled = false\n")
    r = subprocess.run([PATFS, "-f", "-c", str(other / "patfs.ini"), d.mnt],
                       cwd=str(other), capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert "is served by a live patfs already" in r.stderr, r.stderr
    assert "fusermount3 -u" in r.stderr
    mounts = [l.split()[1] for l in open("/proc/mounts") if l.split()[1] == d.mnt]
    assert mounts == [d.mnt]
    assert os.listdir(d.path("users")) == ["alice"]
    assert not os.path.exists(other / "patfs.db")  # nothing made


def test_bad_option_is_refused(make_daemon):
    d = make_daemon(start=False, args=["-o", "no_such_option"])
    assert d.start(expect_fail=True) != 0
    assert "no_such_option" in d.read_stderr()
    d.err = open(os.devnull, "w")  # nothing more to check


@pytest.fixture
def full_dir(tmp_path):
    """A directory on a tmpfs that is full."""
    path = tmp_path / "full"
    path.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700",
                    "tmpfs", str(path)], check=True)
    try:
        with open(path / "filler", "wb") as f:
            try:
                f.write(b"\0" * (1 << 20))
                f.flush()
            except OSError:
                pass
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_daemonized_errors_reach_syslog(tmp_path, full_dir):
    """Without -f, stderr is /dev/null: a runtime error (here the auth log
    on a full disk) must reach syslog, as LOG_DAEMON with ident patfs. A
    preloaded fake syslog(3) records what the daemon hands it."""
    assert os.path.exists(FAKE_SYSLOG), "built with the tests"
    log = tmp_path / "syslog"
    cfg = write_config(tmp_path, "[auth]\nlog = %s\n" % (full_dir / "auth.log"))
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    env = dict(os.environ, LD_PRELOAD=FAKE_SYSLOG, FAKE_SYSLOG=str(log),
               ASAN_OPTIONS="verify_asan_link_order=0:detect_leaks=0")
    r = subprocess.run([PATFS, "-o", "config=%s" % cfg, str(mnt)],
                       cwd=str(tmp_path), env=env, capture_output=True)
    assert r.returncode == 0, r.stderr
    try:
        assert os.path.ismount(str(mnt))
        # the store's lock names the daemon, not the parent that exited
        # (PostgreSQL stores take none: find it by its mount point)
        pid = int(subprocess.run(["pgrep", "-f", "%s$" % mnt], capture_output=True,
                                 text=True).stdout.split()[0]) if PG else \
            int((tmp_path / "patfs.db.lock").read_text())
        with open("/proc/%d/comm" % pid) as f:
            assert f.read() == "patfs\n"
        assert write(str(mnt / "auth" / "api"), "glpat-" + "x" * 20) != 0
    finally:
        subprocess.run(["fusermount3", "-u", str(mnt)], check=True)
    deadline = time.time() + 10
    while time.time() < deadline and "auth log" not in _text(log):
        time.sleep(0.05)
    lines = _text(log).splitlines()
    assert any(l.startswith("openlog patfs LOG_DAEMON") for l in lines), lines
    errs = [l for l in lines if "writing the auth log" in l]
    assert errs and errs[0].startswith("syslog 3 "), lines  # LOG_ERR
    assert "No space left on device" in errs[0]


def _text(path):
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""


def test_statements_per_request(make_daemon):
    """One trip per request: a lookup hands the row it fetched to the reply,
    a read renders from the row it fetched. Each request below reaches the
    daemon because the kernel has never seen the name, or because a change
    took back what it had cached."""
    d = make_daemon(args=["-o", "debug_statements"])
    tid, _ = mint(d, "alice", "ci")
    # a token by id never seen before: the user's row, then the token's
    os.mkdir(d.path("users/alice/tokens/next"))
    since = len(d.read_stderr())
    os.stat(d.path("users/alice/tokens/%d/revoked" % (tid + 1)))
    got = counts(d, since)
    assert got[("LOOKUP", "token")] == [2], got
    assert got[("LOOKUP", "token attribute")] == [1], got
    # a change takes back the cached attributes and pages of the files
    # that follow it, and only those: revoked stays cached
    attr = d.path("users/alice/tokens/%d/description" % tid)
    other = d.path("users/alice/tokens/%d/revoked" % tid)
    with open(attr, "rb") as f:
        assert f.read() == b""
    with open(other, "rb") as f:
        assert f.read() == b"0\n"
    assert write(attr, "x") == 0
    since = len(d.read_stderr())
    os.stat(attr)
    with open(attr, "rb") as f:
        assert f.read() == b"x\n"
    got = counts(d, since)
    assert got[("GETATTR", "token attribute")] == [1], got
    assert got[("READ", "token attribute")] == [1], got
    since = len(d.read_stderr())
    with open(other, "rb") as f:
        assert f.read() == b"0\n"
    assert ("READ", "token attribute") not in counts(d, since)
    # a user's attribute: its lookup reuses the user's row
    os.stat(d.path("users/alice/blocked"))
    since = len(d.read_stderr())
    forget_names()
    os.stat(d.path("users/alice/uid"))
    got = counts(d, since)
    assert got[("LOOKUP", "user")] == [1]
    assert got[("LOOKUP", "user attribute")] == [1]


def walk(d):
    """ls -lR over users/ as a tree walker does it; returns its output."""
    return subprocess.run(["ls", "-lR", d.path("users")], check=True,
                          capture_output=True).stdout


def test_requests_per_walk(make_daemon):
    """A lived-in store (secrets taken, impersonation tokens, one revoked,
    unsealed ones): a second `ls -lR` is served from the kernel's caches but
    for what cannot be cached, request by request: the name of an
    impersonation token's directory (it resolves for admins only: its owner
    must get ENOENT), the file `token` of an unsealed token, and the
    listings of tokens/ and the size of tokens.json (they hide impersonation
    tokens from their owner)."""
    d = make_daemon(args=["-o", "debug_statements"])
    imp = set()
    for user in ("alice", "bob"):
        for name in ("a", "b", "c"):
            mint(d, user, name)
        tid, _ = mint(d, user, "imp", take=False)
        assert write(d.path("users", user, "tokens/imp/impersonation"), "1") == 0
        read(d.path("users", user, "tokens/imp/token"))
        imp.add(tid)
        mint(d, user, "fresh", take=False)
    assert write(d.path("users/alice/tokens/a/revoked"), "1") == 0
    first = walk(d)
    assert walk(d) == first  # after a listing, the kernel asks atimes once
    since = len(d.read_stderr())
    assert walk(d) == first
    # every directory is opened (OPENDIR: the kernel always asks); the rest
    seen = [r for r in requests(d, since) if r[0] != "OPENDIR"]
    kinds = {(op, kind) for op, kind, _, _, _ in seen}
    assert kinds <= {("LOOKUP", "token"), ("LOOKUP", "secret"),
                     ("GETATTR", "secret"), ("GETATTR", "tokens"),
                     ("READDIRPLUS", "tokens"),
                     ("GETATTR", "tokens.json")}, seen
    assert {i for op, kind, i, _, _ in seen if kind == "token"} == imp, seen
    # tokens/ is listed once per walk (two READDIRPLUS: entries, then end)
    assert sorted(op for op, kind, _, _, _ in seen
                  if kind == "tokens") == ["GETATTR"] * 2 + ["READDIRPLUS"] * 4
    assert [op for op, kind, _, _, _ in seen if kind == "tokens.json"] == \
        ["GETATTR"] * 2


def test_json_logs_escape_what_users_write(fs, tmp_path):
    """A description and a command name holding quotes, backslashes and
    U+2028 come back intact from audit.log and the auth log."""
    tid, _ = mint(fs, "alice", "ci")
    value = 'say "hi" \\ back\u2028there'
    assert write(fs.path("users/alice/tokens/%d/description" % tid),
                 value + "\n") == 0
    last = json.loads(read(fs.path("audit.log")).decode().splitlines()[-1])
    assert last["action"] == "token_set_description" and last["new"] == value
    # a program whose name (comm) holds a quote and a backslash
    prog = tmp_path / 'a"b\\c'
    prog.write_bytes(open("/bin/sh", "rb").read())
    prog.chmod(0o755)
    subprocess.run([str(prog), "-c", "printf %s glpat-nosuchtokenxxxxxxxxx > auth/api"],
                   cwd=fs.mnt, capture_output=True)
    entry = json.loads(open(os.path.join(fs.workdir, "patfs-auth.log")).read()
                       .splitlines()[-1])
    assert entry["comm"] == 'a"b\\c'
    assert entry["meta.auth_fail_reason"] == "token_invalid"
