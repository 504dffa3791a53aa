"""The file why: each refusal patfs makes leaves, for the uid that was
refused, a line with the operation, the path, the errno and the reason in
words, newest first; another uid never sees it, and no line holds a
secret."""
import errno
import os
import subprocess

import pytest

from conftest import ROOT, mint, read, write

ALICE = 1000  # owns users/alice
BOB = 1001    # owns nothing

# Acts as a uid inside the mount, then prints the errno's name (or 0) and
# the uid's why.
ACT = r"""
import errno, os, sys
op, path, data = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    if op == "write":
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
        try:
            os.write(fd, data.encode())
        finally:
            os.close(fd)
    elif op == "mkdir":
        os.mkdir(path)
    elif op == "rmdir":
        os.rmdir(path)
    elif op == "rename":
        os.rename(path, data)
    elif op == "chmod":
        os.chmod(path, 0o777)
    elif op == "create":
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    elif op == "symlink":
        os.symlink("target", path)
    elif op == "read":
        open(path, "rb").read()
    print(0)
except OSError as e:
    print(errno.errorcode[e.errno])
sys.stdout.write(open("why").read())
"""


def act(d, uid, op, path, data=""):
    """(errno name or "0", why's lines) after op on path as uid."""
    cmd = ["/usr/bin/python3", "-c", ACT, op, path, data]
    if uid:
        cmd = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
               "--clear-groups"] + cmd
    r = subprocess.run(cmd, cwd=d.mnt, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    first, _, rest = r.stdout.partition("\n")
    return first, rest.splitlines()


@pytest.fixture
def tree(fs):
    """alice (uid 1000) with an unsealed token "fresh" (id 1), a sealed
    "sealed" expiring in 30 days, a revoked "gone"; project p with a token."""
    assert mint(fs, "alice", "fresh", take=False)[0] == 1
    mint(fs, "alice", "sealed")
    mint(fs, "alice", "gone")
    assert write(fs.path("users/alice/uid"), str(ALICE)) == 0
    toks = fs.path("users/alice/tokens")
    assert write(os.path.join(toks, "2/expires_at"), _days_ahead(30)) == 0
    assert write(os.path.join(toks, "3/revoked"), "1") == 0
    os.mkdir(fs.path("projects/p"))
    os.mkdir(fs.path("projects/p/tokens/bot"))
    return fs


def _days_ahead(n):
    import datetime
    return (datetime.date.today() + datetime.timedelta(days=n)).isoformat()


T = "users/alice/tokens/"

# (id, uid, op, path, data, errno, words the reason holds)
ROWS = [
    ("revoked-value", 0, "write", T + "1/revoked", "2", "EINVAL", "expected 0 or 1"),
    ("unrevoke", 0, "write", T + "3/revoked", "0", "EPERM", "a revocation is final"),
    ("impersonation-value", 0, "write", T + "1/impersonation", "yes", "EINVAL",
     "expected 0 or 1"),
    ("blocked-value", 0, "write", "users/alice/blocked", "maybe", "EINVAL",
     "expected 0 or 1"),
    ("expires-too-far", 0, "write", T + "1/expires_at", "2099-01-01", "EINVAL",
     "2099-01-01 is past the longest lifetime allowed (max_lifetime_days 365: "),
    ("expires-not-a-date", 0, "write", T + "1/expires_at", "garbage", "EINVAL",
     "not a date: expected YYYY-MM-DD"),
    ("expires-no-such-day", 0, "write", T + "1/expires_at", "2026-13-45", "EINVAL",
     "2026-13-45 is not a day of the calendar"),
    ("expires-past", 0, "write", T + "1/expires_at", "2020-01-01", "EINVAL",
     "2020-01-01 is not after today"),
    ("expires-required", 0, "write", T + "1/expires_at", "\n", "EINVAL",
     "a token must expire (require_expiry)"),
    ("owner-extends", ALICE, "write", T + "2/expires_at", _days_ahead(60), "EPERM",
     "an owner may only shorten a token's life: %s at the latest" % _days_ahead(30)),
    ("uid-value", 0, "write", "users/alice/uid", "alice", "EINVAL",
     "expected a decimal uid below 4294967295"),
    ("kind-value", 0, "write", "users/alice/kind", "robot", "EINVAL",
     "expected human or service_account"),
    ("kind-after-token", 0, "write", "users/alice/kind", "service_account", "EPERM",
     "a user's kind is fixed once it had a token"),
    ("rotate-value", 0, "write", T + "2/rotate", "0", "EINVAL", "expected 1 or a date"),
    ("rotate-revoked", 0, "write", T + "3/rotate", "1", "EPERM",
     "a revoked token is not rotated"),
    ("description-long", 0, "write", T + "1/description", "x" * 300, "EINVAL",
     "a description is up to 255 bytes"),
    ("description-control", 0, "write", T + "1/description", "a\x07b", "EINVAL",
     "without control characters"),
    ("value-oversize", 0, "write", T + "1/description", "x" * 5000, "EINVAL",
     "a value is at most 4096 bytes"),
    ("scope-unknown", 0, "write", T + "1/scopes", "api read_everything", "EINVAL",
     "read_everything is not a scope"),
    ("scopes-sealed", 0, "write", T + "2/scopes", "api", "EPERM",
     "scopes is fixed once the token's secret was taken"),
    ("scopes-revoked", 0, "write", T + "3/description", "x", "EPERM",
     "the token is revoked"),
    ("name-fixed", 0, "write", T + "1/name", "other", "EPERM", "name is never written"),
    ("owner-blocks-root-file", 0, "write", T + "1/active", "1", "EPERM",
     "active is never written"),
    ("access-level", 0, "write", "projects/p/tokens/4/access_level", "boss", "EINVAL",
     "expected guest, planner, reporter, developer, maintainer or owner"),
    ("mint-digits", 0, "mkdir", T + "123", "", "EINVAL", "not all digits"),
    ("mint-bidi", 0, "mkdir", T + "evil\u202etxt", "", "EINVAL",
     "no Unicode format characters"),
    ("user-name", 0, "mkdir", "users/-bad", "", "EINVAL", "a name is made of"),
    ("user-had-tokens", 0, "rmdir", "users/alice", "", "ENOTEMPTY",
     "alice had tokens"),
    ("project-active", 0, "rmdir", "projects/p", "", "ENOTEMPTY",
     "a token of it is active"),
    ("path-value", 0, "write", "projects/p/path", "a//b", "EINVAL",
     "a path's segments are not empty"),
    ("rmdir-token", 0, "rmdir", T + "1", "", "EPERM", "never deleted"),
    ("expiring-ro", 0, "mkdir", "expiring/x", "", "EROFS", "expiring/ is read-only"),
    ("rename", 0, "rename", T + "1/description", T + "1/d2", "EPERM",
     "nothing in patfs is renamed"),
    ("chmod", 0, "chmod", T + "1/description", "", "EPERM",
     "modes, owners and times are patfs's own"),
    ("create", 0, "create", T + ".tmp", "", "EPERM", "no files or links are made here"),
    ("symlink", 0, "symlink", T + "1/link", "", "EPERM", "no files or links are made here"),
    ("auth-typo", 0, "create", "auth/typo", "", "ENOENT", "no such scope"),
    ("auth-bad", BOB, "write", "auth/api", "glpat-" + "q" * 20, "EKEYREJECTED",
     "token_invalid"),
    ("revoke-bad", 0, "write", "revoke", "glpat-" + "q" * 20, "EKEYREJECTED",
     "token_invalid"),
]


@pytest.mark.parametrize("uid, op, path, data, err, words",
                         [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_a_refusal_says_why(tree, uid, op, path, data, err, words):
    got, lines = act(tree, uid, op, path, data)
    assert got == err
    assert lines, "no line in why"
    time_, verb, where, rest = lines[0].split(" ", 3)
    assert time_.endswith("Z") and len(time_) == 20
    # a write refused at its open (a file without a write bit, to root) is
    # the open's
    assert verb in {"write": ("write", "open"), "chmod": ("setattr",)}.get(op, (op,))
    assert where == path.rstrip("\n")
    assert rest.startswith(err + ": ")
    assert words in rest
    if data.startswith("glpat-"):
        assert data not in "\n".join(lines)  # never a secret


def test_lines_are_each_uid_s_own_newest_first(tree):
    got, _ = act(tree, ALICE, "write", T + "1/expires_at", "garbage")
    assert got == "EPERM" or got == "EINVAL"
    got, lines = act(tree, ALICE, "write", T + "2/expires_at", "2020-01-01")
    assert got == "EINVAL"
    assert "2020-01-01 is not after today" in lines[0] and len(lines) == 2
    got, lines = act(tree, BOB, "read", "why")
    assert got == "0" and lines == []  # bob refused nothing: alice's are hers
    # a name that is not there is an answer, not a refusal
    got, lines = act(tree, ALICE, "read", T + "1/nothing")
    assert got == "ENOENT" and len(lines) == 2
    # the last 8, newest first
    for i in range(10):
        act(tree, ALICE, "write", T + "2/description", "x" * (300 + i))
    _, lines = act(tree, ALICE, "read", "why")
    assert len(lines) == 8
    assert all("description EINVAL" in l for l in lines)


def test_what_the_kernel_refuses_never_reaches_why(tree):
    """With default_permissions the kernel refuses what the modes forbid,
    and answers EEXIST for a name that is there, before patfs hears of it:
    the modes are the reason then."""
    got, lines = act(tree, ALICE, "write", "users/alice/blocked", "1")
    assert got == "EACCES" and lines == []  # r--: the owner may not
    got, lines = act(tree, 0, "mkdir", T + "sealed")
    assert got == "EEXIST" and lines == []  # the name leads to a token


def test_why_is_everyone_s_to_read_and_nobody_s_to_write(tree):
    st = os.stat(tree.path("why"))
    assert st.st_mode & 0o777 == 0o404  # 0444 with an admin_group
    assert "why" in os.listdir(tree.mnt)
    assert write(tree.path("why"), "x") == errno.EACCES or \
        write(tree.path("why"), "x") == errno.EPERM
    assert read(tree.path("why")).startswith(b"20")  # root's refusal above


# what a scope grants ---------------------------------------------------------

def test_scopes_is_the_table_the_checks_decide_with_and_the_man_page_s(make_daemon):
    """The file scopes lists each scope and what it implies; patfs.8 shows
    the same table; and a token of each scope passes exactly the checks the
    file says (so the file is the deciding table, not a copy of it)."""
    d = make_daemon("[auth]\nmax_failures_per_minute = 1000000\n"
                    "[notify]\nenabled = false\n")
    text = read(d.path("scopes")).decode()
    table = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        table[name] = set(rest.split())
    assert len(table) == 17 and table["write_repository"] == {"read_repository"}
    assert {"read_api", "read_user", "write_repository"} <= table["api"]
    man = open(os.path.join(ROOT, "docs", "patfs.8.scd")).read()
    block = man.split("# WHAT A SCOPE GRANTS")[1].split("```\n")[1]
    assert block == text
    assert os.stat(d.path("scopes")).st_mode & 0o222 == 0
    for scope in table:
        _, secret = mint(d, "alice", "t-" + scope, scopes=scope)
        for other in table:
            want = 0 if other == scope or other in table[scope] else errno.EACCES
            assert write(d.path("auth", other), secret) == want, (scope, other)


def test_log_refusals_logs_each_with_its_reason_and_no_secret(make_daemon):
    d = make_daemon(args=["-o", "log_refusals"])
    mint(d, "alice", "ci")
    assert write(d.path("users/alice/tokens/1/expires_at"), "soon") == errno.EINVAL
    secret = "glpat-" + "s" * 20
    assert write(d.path("auth/api"), secret) == errno.EKEYREJECTED
    text = d.read_stderr()
    assert "patfs: refused: uid 0 write users/alice/tokens/1/expires_at EINVAL: " \
        "not a date: expected YYYY-MM-DD" in text, text
    assert "patfs: refused: uid 0 write auth/api EKEYREJECTED: token_invalid" in text
    assert secret not in text
