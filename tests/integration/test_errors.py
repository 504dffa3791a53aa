"""Every row of SPEC §2's table: the errno, and a store left unchanged."""
import datetime
import errno
import os
import subprocess

import pytest

from conftest import err_of, mint, read, snapshot, write


def today(delta=0):
    d = datetime.datetime.now(datetime.timezone.utc).date()
    return (d + datetime.timedelta(days=delta)).isoformat()


@pytest.fixture
def tok(fs):
    """A sealed token 1 of alice, and an unsealed token 2."""
    mint(fs, "alice", "sealed")
    mint(fs, "alice", "fresh", take=False)
    return fs


def refused(d, fn, expect):
    before = snapshot(d)
    got = fn()
    assert got == expect, "expected %s, got %s" % (
        errno.errorcode.get(expect), errno.errorcode.get(got, got))
    assert snapshot(d) == before, "a refused change changed the store"


def t(d, attr, tid=1):
    return d.path("users/alice/tokens", str(tid), attr)


def test_revoke_is_idempotent_and_final(tok):
    assert write(t(tok, "revoked"), "1\n") == 0
    assert read(t(tok, "revoked")) == b"1\n"
    assert read(t(tok, "active")) == b"0\n"
    # again: success, no change (no audit record either)
    refused(tok, lambda: write(t(tok, "revoked"), "1"), 0)
    refused(tok, lambda: write(t(tok, "revoked"), "0\n"), errno.EPERM)


def test_writing_0_to_an_unrevoked_token_changes_nothing(tok):
    refused(tok, lambda: write(t(tok, "revoked"), "0\n"), 0)


@pytest.mark.parametrize("value", [b"2", b"yes", b"\n", b"1\n\n", b" 1",
                                   b"\x00\xff\xfe", b"01", b"1" * 5000,
                                   b"\x01"])
def test_revoked_rejects_other_values(tok, value):
    refused(tok, lambda: write(t(tok, "revoked"), value), errno.EINVAL)


@pytest.mark.parametrize("attr", ["blocked"])
@pytest.mark.parametrize("value", [b"2", b"true", b"\n", b"\xff"])
def test_blocked_rejects_other_values(tok, attr, value):
    refused(tok, lambda: write(tok.path("users/alice", attr), value), errno.EINVAL)


def test_blocked_and_uid(tok):
    assert write(tok.path("users/alice/blocked"), "1\n") == 0
    assert read(tok.path("users/alice/blocked")) == b"1\n"
    assert read(t(tok, "active")) == b"0\n"
    assert write(tok.path("users/alice/blocked"), "0") == 0
    assert read(t(tok, "active")) == b"1\n"
    assert write(tok.path("users/alice/uid"), "1000\n") == 0
    assert read(tok.path("users/alice/uid")) == b"1000\n"
    assert os.stat(tok.path("users/alice/tokens")).st_uid == 1000
    assert write(tok.path("users/alice/uid"), "\n") == 0
    assert read(tok.path("users/alice/uid")) == b""
    for bad in [b"-1", b"abc", b"4294967295", b"99999999999", b"1 2"]:
        refused(tok, lambda: write(tok.path("users/alice/uid"), bad), errno.EINVAL)


@pytest.mark.parametrize("value", [
    lambda: today(0),                      # today
    lambda: today(-1),                     # the past
    lambda: today(366),                    # beyond max_lifetime_days (365)
    lambda: "2027-02-30",                  # not a real date
    lambda: "2027-13-01",
    lambda: "27-01-01",
    lambda: "2027/01/01",
    lambda: "tomorrow",
    lambda: "\n",                          # empty where expiry is required
    lambda: "\xff\xfe",
])
def test_expires_at_refusals(tok, value):
    refused(tok, lambda: write(t(tok, "expires_at"), value()), errno.EINVAL)


def test_expires_at_within_policy(tok):
    assert write(t(tok, "expires_at"), today(365) + "\n") == 0
    assert read(t(tok, "expires_at")) == (today(365) + "\n").encode()
    assert write(t(tok, "expires_at"), today(1)) == 0
    assert read(t(tok, "expires_at")) == (today(1) + "\n").encode()
    assert os.listdir(tok.path("expiring", today(1))) == ["1"]


def test_sealed_and_immutable_attributes_refuse_even_root(tok):
    for attr in ["scopes", "impersonation"]:
        refused(tok, lambda: write(t(tok, attr), "api\n" if attr == "scopes" else "1"),
                errno.EPERM)
    for attr in ["name", "created_at", "last_used_at", "active"]:
        refused(tok, lambda: write(t(tok, attr), "x\n"), errno.EPERM)
        refused(tok, lambda: err_of(os.truncate, t(tok, attr), 0), errno.EPERM)
    refused(tok, lambda: write(tok.path("users/alice/id"), "7\n"), errno.EPERM)
    refused(tok, lambda: write(tok.path("audit.log"), "x\n"), errno.EPERM)
    r = subprocess.run(["sh", "-c", "echo x > users/alice/tokens/1/name"],
                       cwd=tok.mnt, capture_output=True)
    assert r.returncode != 0 and b"Operation not permitted" in r.stderr


def test_revoked_token_is_history(tok):
    assert write(t(tok, "revoked"), "1") == 0
    refused(tok, lambda: write(t(tok, "description"), "x\n"), errno.EPERM)
    refused(tok, lambda: write(t(tok, "expires_at"), today(10)), errno.EPERM)


def test_unknown_scope_changes_nothing(tok):
    for bad in ["api bogus", "READ_API", "\n", ",", "api\x00"]:
        refused(tok, lambda: write(t(tok, "scopes", 2), bad), errno.EINVAL)
    assert read(t(tok, "scopes", 2)) == b"read_api\n"
    assert write(t(tok, "scopes", 2), "write_repository\nsudo\n") == 0
    assert read(t(tok, "scopes", 2)) == b"sudo\nwrite_repository\n"


def test_description_limits(tok):
    assert write(t(tok, "description"), "x" * 255 + "\n") == 0
    refused(tok, lambda: write(t(tok, "description"), "x" * 256), errno.EINVAL)
    refused(tok, lambda: write(t(tok, "description"), "a\x01b"), errno.EINVAL)
    refused(tok, lambda: write(t(tok, "description"), b"\xc3\x28"), errno.EINVAL)


@pytest.mark.parametrize("name,expect", [
    ("12345", errno.EINVAL),              # all digits
    ("a\x01b", errno.EINVAL),             # control character
    ("tab\there", errno.EINVAL),
    ("\u202egnp.exe", errno.EINVAL),     # bidi override: a Unicode format char
    ("ci\u200b", errno.EINVAL),           # zero-width space, invisible
    ("\ufeffci", errno.EINVAL),           # byte order mark
    (" ", errno.EINVAL),                  # white space only
    ("\u00a0\u3000", errno.EINVAL),
    ("deploy key", 0),                    # white space inside is fine
    ("caf\u00e9-\u00fcber", 0),          # and so are letters beyond ASCII
    ("x" * 255, 0),                       # the longest allowed
    ("x" * 256, errno.ENAMETOOLONG),      # the kernel refuses before patfs
    ("sealed", errno.EEXIST),             # an active token has that name
])
def test_mint_name_rules(tok, name, expect):
    p = tok.path("users/alice/tokens", name)
    if expect:
        refused(tok, lambda: err_of(os.mkdir, p), expect)
    else:
        assert err_of(os.mkdir, p) == 0


def test_mint_reuses_the_name_of_a_revoked_token(tok):
    assert write(t(tok, "revoked"), "1") == 0
    os.mkdir(tok.path("users/alice/tokens/sealed"))
    assert sorted(os.listdir(tok.path("users/alice/tokens"))) == ["1", "2", "3"]
    assert read(tok.path("users/alice/tokens/sealed/revoked")) == b"0\n"


def test_mint_under_a_missing_user(fs):
    assert err_of(os.mkdir, fs.path("users/ghost/tokens/x")) == errno.ENOENT


@pytest.mark.parametrize("name,expect", [
    ("bad name", errno.EINVAL), ("-x", errno.EINVAL), (".hidden", errno.EINVAL),
    ("a/b", errno.ENOENT), ("alice", errno.EEXIST), ("ok_name-1.x", 0),
])
def test_user_names(tok, name, expect):
    p = tok.path("users", name)
    if expect:
        refused(tok, lambda: err_of(os.mkdir, p), expect)
    else:
        assert err_of(os.mkdir, p) == 0 and os.path.isdir(p)


def test_rmdir_user(tok):
    os.mkdir(tok.path("users/empty"))
    assert err_of(os.rmdir, tok.path("users/empty")) == 0
    assert not os.path.exists(tok.path("users/empty"))
    refused(tok, lambda: err_of(os.rmdir, tok.path("users/alice")), errno.ENOTEMPTY)
    refused(tok, lambda: err_of(os.rmdir, tok.path("users/nobody")), errno.ENOENT)


def test_tokens_are_never_deleted(tok):
    refused(tok, lambda: err_of(os.rmdir, t(tok, "")), errno.EPERM)
    refused(tok, lambda: err_of(os.rmdir, tok.path("users/alice/tokens/sealed")), errno.EPERM)
    before = snapshot(tok)
    r = subprocess.run(["rm", "-rf", tok.path("users/alice")], capture_output=True)
    assert r.returncode != 0
    after = snapshot(tok)
    # rm -rf may take the unsealed secret on its way? No: it only unlinks.
    assert after == before


def test_expiring_is_read_only(tok):
    date = read(t(tok, "expires_at")).decode().strip()
    link = tok.path("expiring", date, "1")
    # every real date resolves (an empty directory), so the kernel answers
    # EEXIST before patfs is asked, as it does on any read-only mount
    refused(tok, lambda: err_of(os.mkdir, tok.path("expiring/2030-01-01")), errno.EEXIST)
    refused(tok, lambda: err_of(os.mkdir, tok.path("expiring/x")), errno.EROFS)
    refused(tok, lambda: err_of(os.unlink, link), errno.EROFS)
    refused(tok, lambda: err_of(os.rmdir, tok.path("expiring", date)), errno.EROFS)
    refused(tok, lambda: err_of(os.symlink, "x", tok.path("expiring/never/9")), errno.EROFS)
    refused(tok, lambda: err_of(os.rename, link, tok.path("expiring/never/1")), errno.EROFS)
    refused(tok, lambda: err_of(os.open, tok.path("expiring/never/f"),
                                os.O_CREAT | os.O_WRONLY), errno.EROFS)


def test_rename_link_symlink_unlink_chmod_chown(tok):
    name = t(tok, "name")
    refused(tok, lambda: err_of(os.rename, name, t(tok, "name2")), errno.EPERM)
    refused(tok, lambda: err_of(os.rename, tok.path("users/alice"), tok.path("users/bob")), errno.EPERM)
    refused(tok, lambda: err_of(os.link, name, t(tok, "n2")), errno.EPERM)
    refused(tok, lambda: err_of(os.symlink, "x", t(tok, "s")), errno.EPERM)
    refused(tok, lambda: err_of(os.unlink, name), errno.EPERM)
    refused(tok, lambda: err_of(os.chmod, name, 0o777), errno.EPERM)
    refused(tok, lambda: err_of(os.chown, name, 1, 1), errno.EPERM)
    refused(tok, lambda: err_of(os.utime, name, (1, 1)), errno.EPERM)
    refused(tok, lambda: err_of(os.open, tok.path("users/alice/tokens/new"),
                                os.O_CREAT | os.O_WRONLY), errno.EPERM)


def test_chmod_and_chown_to_what_is_shown_are_no_change(tok):
    """What cp -p, sed -i and Ansible do after writing a value."""
    for name in (t(tok, "description"), t(tok, "name"), tok.path("users/alice")):
        st = os.stat(name)
        before = snapshot(tok)
        assert err_of(os.chmod, name, st.st_mode & 0o7777) == 0
        assert err_of(os.chown, name, st.st_uid, st.st_gid) == 0
        assert err_of(os.chown, name, -1, st.st_gid) == 0
        assert snapshot(tok) == before
        assert os.stat(name).st_mode == st.st_mode
        assert err_of(os.chmod, name, st.st_mode & 0o7777 | 0o001) == errno.EPERM
        assert err_of(os.chown, name, st.st_uid + 1, -1) == errno.EPERM


def test_missing_paths(tok):
    for p in ["users/nobody", "users/alice/tokens/99", "users/alice/tokens/nope",
              "users/alice/nope", "users/alice/tokens/1/nope", "nope",
              "users/alice/tokens/0", "users/alice/tokens/01"]:
        assert err_of(os.stat, tok.path(p)) == errno.ENOENT, p
    refused(tok, lambda: write(tok.path("users/alice/tokens/99/revoked"), "1"), errno.ENOENT)
    refused(tok, lambda: err_of(os.unlink, tok.path("users/alice/nope")), errno.ENOENT)


def test_two_writers_race_to_mint_one_name(fs):
    os.mkdir(fs.path("users/race"))
    script = "mkdir users/race/tokens/same 2>/dev/null && echo won || echo lost"
    procs = [subprocess.Popen(["sh", "-c", script], cwd=fs.mnt, stdout=subprocess.PIPE)
             for _ in range(8)]
    results = sorted(p.communicate()[0].decode().strip() for p in procs)
    assert results.count("won") == 1 and results.count("lost") == 7
    assert len(os.listdir(fs.path("users/race/tokens"))) == 1


def test_two_readers_race_for_one_secret(fs):
    os.makedirs(fs.path("users/r/tokens/once"))
    path = fs.path("users/r/tokens/1/token")
    procs = [subprocess.Popen(["sh", "-c", "cat %s | wc -c" % path],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
             for _ in range(8)]
    sizes = sorted(int(p.communicate()[0]) for p in procs)
    assert sizes == [0] * 7 + [27]
