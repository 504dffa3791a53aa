"""Who may do what (SPEC §5), as real other uids through setpriv; and the
files patfs refuses to trust."""
import datetime
import errno
import grp
import os
import subprocess

import pytest

from conftest import audit_lines, read, snapshot, write

OWNER, OTHER, STRANGER, ADMIN = 1000, 1001, 1002, 1003
ADMIN_GROUP = "adm"  # exists on Debian; membership is given by setpriv only


def day(delta):
    d = datetime.datetime.now(datetime.timezone.utc).date()
    return (d + datetime.timedelta(days=delta)).isoformat()


def run(d, uid, script, stdin=b"", groups=None):
    """Runs sh -c script in the mount as uid; returns (rc, stdout, stderr)."""
    cmd = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid]
    cmd += ["--groups=%s" % groups] if groups else ["--clear-groups"]
    # bash: dash's echo reports every failed write as "I/O error"
    r = subprocess.run(cmd + ["bash", "-c", script], cwd=d.mnt, input=stdin,
                       capture_output=True)
    return r.returncode, r.stdout, r.stderr


@pytest.fixture
def shared(make_daemon):
    """alice is uid 1000, bob uid 1001; adm is the admin group. alice has a
    sealed token 1, an unsealed token 2 and an impersonation token 3."""
    d = make_daemon("[access]\nadmin_group = %s\n" % ADMIN_GROUP)
    for user, uid in [("alice", OWNER), ("bob", OTHER)]:
        os.mkdir(d.path("users", user))
        assert write(d.path("users", user, "uid"), "%d\n" % uid) == 0
    os.mkdir(d.path("users/alice/tokens/sealed"))
    read(d.path("users/alice/tokens/sealed/token"))
    os.mkdir(d.path("users/alice/tokens/fresh"))
    os.mkdir(d.path("users/alice/tokens/imp"))
    assert write(d.path("users/alice/tokens/imp/impersonation"), "1") == 0
    read(d.path("users/alice/tokens/imp/token"))
    d.admin_gid = grp.getgrnam(ADMIN_GROUP).gr_gid
    return d


def as_admin(d, script, stdin=b""):
    return run(d, ADMIN, script, stdin, groups=str(d.admin_gid))


def refused(d, uid, script, needle=b"", groups=None):
    before = snapshot(d)
    rc, out, err = run(d, uid, script, groups=groups)
    assert rc != 0, (script, out, err)
    assert needle in err, (script, err)
    assert snapshot(d) == before, "a refused attempt changed the store: " + script


def test_modes_and_owners_say_who_may_do_what(shared):
    gid = shared.admin_gid
    st = os.stat(shared.path("users/alice"))
    # admins may make temp files there, to rename over a value (sed -i)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (OWNER, gid, 0o570)
    assert os.stat(shared.path("users/alice/tokens/1")).st_mode & 0o777 == 0o770
    st = os.stat(shared.path("users/alice/tokens"))
    assert (st.st_uid, st.st_mode & 0o777) == (OWNER, 0o770)
    assert os.stat(shared.path("users/alice/blocked")).st_mode & 0o777 == 0o460
    assert os.stat(shared.path("users/alice/uid")).st_mode & 0o777 == 0o460
    assert os.stat(shared.path("users/alice/tokens/1/revoked")).st_mode & 0o777 == 0o660
    assert os.stat(shared.path("users/alice/tokens/1/scopes")).st_mode & 0o777 == 0o440
    assert os.stat(shared.path("users/alice/tokens/2/scopes")).st_mode & 0o777 == 0o660
    assert os.stat(shared.path("users/alice/tokens/2/impersonation")).st_mode & 0o777 == 0o460
    st = os.stat(shared.path("users/alice/tokens/2/token"))
    assert (st.st_uid, st.st_mode & 0o777) == (OWNER, 0o460)
    assert os.stat(shared.path("audit.log")).st_mode & 0o777 == 0o440
    assert os.stat(shared.path("expiring")).st_mode & 0o777 == 0o550
    assert os.stat(shared.path("revoke")).st_mode & 0o777 == 0o220
    assert os.stat(shared.path("identify")).st_mode & 0o777 == 0o660
    assert os.stat(shared.path("auth/api")).st_mode & 0o777 == 0o222
    assert os.stat(shared.path("users")).st_mode & 0o777 == 0o775


def test_the_owner(shared):
    d = shared
    rc, out, _ = run(d, OWNER, "ls users; ls users/alice/tokens; cat users/alice/tokens/1/name")
    assert rc == 0
    # the impersonation token 3 is invisible to its owner, as in GitLab
    assert out == b"alice\nbob\n1\n2\nsealed\n"
    refused(d, OWNER, "ls users/alice/tokens/3", b"No such file")
    refused(d, OWNER, "cat users/alice/tokens/imp/name", b"No such file")
    # mint, take the secret once, revoke, shorten
    rc, out, err = run(d, OWNER, "mkdir users/alice/tokens/mine && "
                                 "cat users/alice/tokens/mine/token | wc -c && "
                                 "echo %s > users/alice/tokens/mine/expires_at && "
                                 "echo 1 > users/alice/tokens/mine/revoked" % day(5))
    assert rc == 0, err
    assert out.strip() == b"27"
    assert read(d.path("users/alice/tokens/4/revoked")) == b"1\n"
    assert read(d.path("users/alice/tokens/4/expires_at")) == (day(5) + "\n").encode()
    for line in audit_lines(d)[-4:]:
        assert line["uid"] == OWNER and line["gid"] == OWNER
    # but not: blocked, uid, impersonation, extending, a preset secret, others' things
    refused(d, OWNER, "echo 1 > users/alice/blocked", b"Permission denied")
    refused(d, OWNER, "echo 0 > users/alice/uid", b"Permission denied")
    refused(d, OWNER, "echo 1 > users/alice/tokens/2/impersonation", b"Permission denied")
    refused(d, OWNER, "echo %s > users/alice/tokens/1/expires_at" % day(300),
            b"Operation not permitted")
    refused(d, OWNER, "echo glpat-aaaaaaaaaaaaaaaaaaaaaaaa > users/alice/tokens/2/token",
            b"Permission denied")
    refused(d, OWNER, "ls users/bob", b"Permission denied")
    refused(d, OWNER, "mkdir users/bob/tokens/x", b"Permission denied")
    refused(d, OWNER, "mkdir users/carol", b"Permission denied")
    refused(d, OWNER, "rmdir users/bob", b"Permission denied")
    refused(d, OWNER, "ls expiring", b"Permission denied")
    refused(d, OWNER, "cat audit.log", b"Permission denied")
    refused(d, OWNER, "echo x > revoke", b"Permission denied")
    refused(d, OWNER, "exec 3<>identify", b"Permission denied")


def test_another_mapped_user(shared):
    d = shared
    rc, out, _ = run(d, OTHER, "ls users; ls users/bob/tokens")
    assert rc == 0 and out == b"alice\nbob\n"
    refused(d, OTHER, "ls users/alice", b"Permission denied")
    refused(d, OTHER, "cat users/alice/tokens/1/name", b"Permission denied")
    refused(d, OTHER, "echo 1 > users/alice/tokens/1/revoked", b"Permission denied")
    # a refused open leaves the secret in place
    refused(d, OTHER, "cat users/alice/tokens/2/token", b"Permission denied")
    assert os.path.exists(d.path("users/alice/tokens/2/token"))
    assert len(read(d.path("users/alice/tokens/2/token"))) == 27


def test_a_stranger(shared):
    d = shared
    rc, out, _ = run(d, STRANGER, "ls users; ls -d users/alice")
    assert rc == 0 and out == b"alice\nbob\nusers/alice\n"
    refused(d, STRANGER, "ls users/alice", b"Permission denied")
    refused(d, STRANGER, "cat users/alice/id", b"Permission denied")
    refused(d, STRANGER, "mkdir users/mallory", b"Permission denied")
    refused(d, STRANGER, "ls expiring/never", b"Permission denied")
    refused(d, STRANGER, "cat audit.log", b"Permission denied")


def test_an_admin_group_member_may_do_everything(shared):
    d = shared
    rc, out, err = as_admin(d, "ls users/alice/tokens; cat audit.log | wc -l; "
                               "ls expiring/never; echo 1 > users/bob/blocked; "
                               "echo 1 > users/alice/tokens/1/revoked; mkdir users/carol; "
                               "echo 2000 > users/carol/uid; "
                               "echo 1 > users/alice/tokens/2/impersonation")
    assert rc == 0, err
    assert out.startswith(b"1\n2\n3\n")  # admins see impersonation tokens
    assert read(d.path("users/bob/blocked")) == b"1\n"
    assert read(d.path("users/alice/tokens/1/revoked")) == b"1\n"
    assert read(d.path("users/carol/uid")) == b"2000\n"
    assert [l["uid"] for l in audit_lines(d)[-5:]] == [ADMIN] * 5
    _, secret = None, read(d.path("users/alice/tokens/fresh/token")).strip()
    rc, out, _ = as_admin(d, "exec 3<>identify; cat >&3; cat <&3", stdin=secret)
    assert rc == 0 and out == b"users/alice/tokens/2\n"
    # without the group, the same uid is a stranger
    refused(d, ADMIN, "ls users/alice", b"Permission denied")


def test_root_bypasses_modes_but_not_the_daemon(shared):
    d = shared
    assert write(d.path("users/alice/tokens/1/name"), "x") == errno.EPERM
    assert write(d.path("users/alice/id"), "9") == errno.EPERM
    assert write(d.path("users/alice/tokens/1/scopes"), "api") == errno.EPERM


@pytest.mark.parametrize("which,mode,needle", [
    ("patfs.ini", 0o666, "config"),
    ("patfs.ini", 0o620, "config"),
    ("patfs.pepper", 0o604, "pepper file"),
    ("patfs.pepper", 0o640, "pepper file"),
    pytest.param("patfs.db", 0o622, "store", marks=pytest.mark.sqlite_only(
        "the store is a file of its own on SQLite")),
    ("patfs-auth.log", 0o666, "auth log"),
    ("patfs-auth.log", 0o620, "auth log"),
])
def test_files_others_can_touch_are_refused(make_daemon, which, mode, needle):
    d = make_daemon("")
    os.mkdir(d.path("users/alice"))
    d.stop()
    path = os.path.join(d.workdir, which)
    os.chmod(path, mode)
    assert d.start(expect_fail=True) != 0
    err = d.read_stderr()
    assert "%s %s" % (needle, path) in err and "lets others" in err, err
    assert not os.path.ismount(d.mnt)
    os.chmod(path, 0o600)
    os.chown(path, 1000, 0)
    assert d.start(expect_fail=True) != 0
    assert "owned by uid 1000" in d.read_stderr()
    os.chown(path, 0, 0)
    open(d.stderr_path, "w").close()  # the errors were expected
    d.start()
    assert os.listdir(d.path("users")) == ["alice"]


def test_no_core_dumps(fs):
    status = read("/proc/%d/status" % fs.proc.pid).decode()
    limits = read("/proc/%d/limits" % fs.proc.pid).decode()
    core = [l for l in limits.splitlines() if l.startswith("Max core file size")][0]
    assert core.split()[4] == "0"
