"""A reversible stop: a token's `disabled` file. 1 stops the token at once
(its checks fail with token_disabled), 0 lets it act again; neither revokes
nor rotates; an owner may undo an owner's stop, only an administrator an
administrator's."""
import errno
import json
import os
import subprocess

from conftest import audit_lines, err_of, mint, read, write

ALICE = 1000  # owns users/alice
BOB = 1001    # owns nothing


def sh(d, uid, script, stdin=b""):
    """Runs script in the mount as uid (0: root): (returncode, stderr)."""
    cmd = ["sh", "-c", script]
    if uid:
        cmd = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
               "--clear-groups"] + cmd
    r = subprocess.run(cmd, cwd=d.mnt, input=stdin, capture_output=True,
                       timeout=30)
    return r.returncode, r.stderr.decode()


def check(d, secret, scope="read_api"):
    """write(2) of secret into auth/<scope>: 0 or errno."""
    return write(d.path("auth", scope), secret)


def auth_reasons(d):
    p = os.path.join(d.workdir, "patfs-auth.log")
    if not os.path.exists(p):
        return []
    return [json.loads(l)["meta.auth_fail_reason"]
            for l in read(p).decode().splitlines()]


def alice_token(d, name="ci"):
    tid, secret = mint(d, "alice", name)
    assert write(d.path("users/alice/uid"), "%d" % ALICE) == 0
    return d.path("users/alice/tokens", str(tid)), tid, secret


def test_an_owner_stops_and_restarts_a_token_with_echo(fs):
    tdir, tid, secret = alice_token(fs)
    rel = os.path.relpath(tdir, fs.mnt)
    assert read(os.path.join(tdir, "disabled")) == b"0\n"
    assert os.stat(os.path.join(tdir, "disabled")).st_mode & 0o777 == 0o600
    assert check(fs, secret) == 0

    assert sh(fs, ALICE, "echo 1 > %s/disabled" % rel) == (0, "")
    assert read(os.path.join(tdir, "disabled")) == b"1\n"
    assert read(os.path.join(tdir, "active")) == b"0\n"
    assert read(os.path.join(tdir, "revoked")) == b"0\n"
    meta = json.loads(read(os.path.join(tdir, "meta.json")))
    assert meta["disabled"] is True and meta["active"] is False
    assert meta["revoked"] is False
    assert check(fs, secret) == errno.EKEYREJECTED
    assert auth_reasons(fs)[-1] == "token_disabled"
    # an owner's second 1 changes nothing
    n = len(audit_lines(fs))
    assert sh(fs, ALICE, "echo 1 > %s/disabled" % rel) == (0, "")
    assert len(audit_lines(fs)) == n

    assert sh(fs, ALICE, "echo 0 > %s/disabled" % rel) == (0, "")
    assert read(os.path.join(tdir, "disabled")) == b"0\n"
    assert read(os.path.join(tdir, "active")) == b"1\n"
    assert check(fs, secret) == 0
    lines = [l for l in audit_lines(fs) if l["action"] == "token_set_disabled"]
    assert [(l["old"], l["new"], l["uid"]) for l in lines] == \
        [("0", "1", ALICE), ("1", "0", ALICE)]
    # neither the family nor the token's place changed
    assert not os.path.exists(os.path.join(tdir, "next"))
    assert os.listdir(fs.path("users/alice/tokens")) == [str(tid)]


def test_only_an_administrator_enables_what_an_administrator_disabled(fs):
    tdir, tid, secret = alice_token(fs)
    rel = os.path.relpath(tdir, fs.mnt)
    assert write(os.path.join(tdir, "disabled"), "1\n") == 0
    rc, err = sh(fs, ALICE, "echo 0 > %s/disabled" % rel)
    assert rc != 0 and "echo" in err  # dash says any failed write is EIO
    assert read(os.path.join(tdir, "disabled")) == b"1\n"
    assert check(fs, secret) == errno.EKEYREJECTED
    why = subprocess.run(["setpriv", "--reuid=%d" % ALICE, "--regid=%d" % ALICE,
                          "--clear-groups", "cat", "why"], cwd=fs.mnt,
                         capture_output=True, text=True).stdout
    assert "disabled EPERM: an administrator disabled this token: only " \
        "an administrator may enable it" in why
    # an owner's stop becomes the administrator's when one writes 1 too
    assert write(os.path.join(tdir, "disabled"), "0") == 0
    assert sh(fs, ALICE, "echo 1 > %s/disabled" % rel) == (0, "")
    assert write(os.path.join(tdir, "disabled"), "1") == 0
    rc, _ = sh(fs, ALICE, "echo 0 > %s/disabled" % rel)
    assert rc != 0
    assert write(os.path.join(tdir, "disabled"), "0") == 0
    assert check(fs, secret) == 0


def test_bad_values_and_other_uids_change_nothing(fs):
    tdir, tid, secret = alice_token(fs)
    p = os.path.join(tdir, "disabled")
    for bad in ("2", "yes", "\n", "\x00\x01", "1 1", "01x", "1" * 5000):
        assert write(p, bad) == errno.EINVAL, bad
        assert read(p) == b"0\n"
    rc, err = sh(fs, BOB, "echo 1 > %s" % os.path.relpath(p, fs.mnt))
    assert rc != 0 and "Permission denied" in err
    assert read(p) == b"0\n"
    assert check(fs, secret) == 0
    assert not [l for l in audit_lines(fs) if l["action"] == "token_set_disabled"]


def test_a_revoked_token_cannot_be_disabled_or_enabled(fs):
    tdir, tid, secret = alice_token(fs)
    assert write(os.path.join(tdir, "revoked"), "1") == 0
    assert os.stat(os.path.join(tdir, "disabled")).st_mode & 0o777 == 0o400
    assert write(os.path.join(tdir, "disabled"), "1") == errno.EPERM
    assert read(os.path.join(tdir, "disabled")) == b"0\n"


def test_a_disabled_token_is_not_rotated_around_its_stop(fs):
    """Rotation would hand out an enabled successor: refused, by the owner
    through the token's rotate and by the holder through the root's."""
    tdir, tid, secret = alice_token(fs)
    assert write(os.path.join(tdir, "disabled"), "1") == 0
    rc, _ = sh(fs, ALICE, "echo 1 > %s/rotate" % os.path.relpath(tdir, fs.mnt))
    assert rc != 0
    rc, _ = sh(fs, ALICE, "grep -q 'EPERM: a disabled token is not rotated' why")
    assert rc == 0
    assert not os.path.exists(os.path.join(tdir, "next"))
    fd = os.open(fs.path("rotate"), os.O_RDWR)
    try:
        assert err_of(os.write, fd, secret.encode()) == errno.EKEYREJECTED
    finally:
        os.close(fd)
    assert os.listdir(fs.path("users/alice/tokens")) == [str(tid)]
    assert read(os.path.join(tdir, "revoked")) == b"0\n"


def test_disabled_tokens_are_counted_and_listed(fs):
    tdir, tid, secret = alice_token(fs)
    mint(fs, "alice", "other")
    assert write(os.path.join(tdir, "disabled"), "1") == 0
    metrics = read(fs.path("metrics")).decode()
    assert 'patfs_tokens{kind="personal",state="disabled"} 1\n' in metrics
    assert 'patfs_tokens{kind="personal",state="active"} 1\n' in metrics
    listed = json.loads(read(fs.path("users/alice/tokens.json")))
    assert [(t["id"], t["disabled"]) for t in listed] == \
        [(tid, True), (tid + 1, False)]
    mtime = os.stat(os.path.join(tdir, "disabled")).st_mtime
    assert mtime >= os.stat(os.path.join(tdir, "created_at")).st_mtime
