"""Rotation as GitLab does it: a token's rotate file, previous and next,
token families and reuse detection, and self-rotation through the root's
rotate file."""
import datetime
import errno
import json
import os
import subprocess
import threading

import pytest

from conftest import audit_lines, err_of, mint, read, snapshot, write

OWNER, OTHER = 1000, 1001
SECRET_LEN = len("glpat-") + 20


def day(delta):
    d = datetime.datetime.now(datetime.timezone.utc).date()
    return (d + datetime.timedelta(days=delta)).isoformat()


def tok(d, user, tid, attr):
    return d.path("users", user, "tokens", str(tid), attr)


def auth_log(d):
    p = os.path.join(d.workdir, "patfs-auth.log")
    if not os.path.exists(p):
        return []
    return [json.loads(l) for l in read(p).decode().splitlines()]


def self_rotate(d, secret):
    """Writes secret into rotate and reads the successor's on the same open
    file, as a shell would (exec 3<>rotate): (0, new) or (errno, None)."""
    fd = os.open(d.path("rotate"), os.O_RDWR)
    try:
        os.write(fd, secret.encode())
        return 0, os.read(fd, 4096).decode()
    except OSError as e:
        return e.errno, None
    finally:
        os.close(fd)


def run(d, uid, script, stdin=b""):
    r = subprocess.run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
                        "--clear-groups", "bash", "-c", script], cwd=d.mnt,
                       input=stdin, capture_output=True)
    return r.returncode, r.stdout, r.stderr


# rotate in a token's directory -----------------------------------------------

def test_rotating_revokes_the_token_and_mints_its_successor(fs):
    old, secret = mint(fs, "alice", "ci", scopes="api\nread_user")
    assert write(tok(fs, "alice", old, "description"), "deploys prod") == 0
    assert os.stat(tok(fs, "alice", old, "rotate")).st_mode & 0o777 == 0o600
    assert read(tok(fs, "alice", old, "rotate")) == b""  # walkers copy it
    assert "next" not in os.listdir(fs.path("users/alice/tokens", str(old)))
    r = subprocess.run(["sh", "-c", "echo 1 > users/alice/tokens/%d/rotate" % old],
                       cwd=fs.mnt)
    assert r.returncode == 0
    new = int(os.readlink(tok(fs, "alice", old, "next"))[3:])
    assert os.readlink(tok(fs, "alice", old, "next")) == "../%d" % new
    assert os.readlink(tok(fs, "alice", new, "previous")) == "../%d" % old
    assert os.path.samefile(tok(fs, "alice", old, "next"),
                            fs.path("users/alice/tokens", str(new)))
    for attr in ("name", "description", "scopes", "impersonation"):
        assert read(tok(fs, "alice", new, attr)) == read(tok(fs, "alice", old, attr))
    assert read(tok(fs, "alice", old, "revoked")) == b"1\n"
    assert read(tok(fs, "alice", new, "revoked")) == b"0\n"
    # required expiry: a week from today
    assert read(tok(fs, "alice", new, "expires_at")) == (day(7) + "\n").encode()
    # the name follows the successor, whose secret reads once
    assert json.loads(read(fs.path("users/alice/tokens/ci/meta.json")))["id"] == new
    fresh = read(fs.path("users/alice/tokens/ci/token")).decode().strip()
    assert len(fresh) == SECRET_LEN and fresh != secret
    assert err_of(read, tok(fs, "alice", new, "token")) == errno.ENOENT
    assert write(fs.path("auth/api"), secret) == errno.EKEYREVOKED
    assert write(fs.path("auth/api"), fresh) == 0
    # audited with both ids, in the transaction of the change
    rot = [l for l in audit_lines(fs) if l["action"] == "token_rotate"]
    assert [(l["object"], l["old"], l["new"]) for l in rot] == \
        [("users/alice/tokens/%d" % old, str(old), str(new))]
    m = json.loads(read(tok(fs, "alice", new, "meta.json")))
    assert m["previous_personal_access_token_id"] == old
    assert [o["id"] for o in json.loads(read(fs.path("users/alice/tokens.json")))] \
        == [old, new]


def test_rotating_with_a_date_sets_the_successor_s_expiry(fs):
    old, _ = mint(fs, "alice", "ci")
    assert write(tok(fs, "alice", old, "rotate"), day(90) + "\n") == 0
    new = int(os.readlink(tok(fs, "alice", old, "next"))[3:])
    assert read(tok(fs, "alice", new, "expires_at")) == (day(90) + "\n").encode()


def test_without_required_expiry_the_successor_gets_the_longest_life(make_daemon):
    d = make_daemon("[tokens]\nrequire_expiry = false\nmax_lifetime_days = 100\n")
    old, _ = mint(d, "alice", "ci")
    assert write(tok(d, "alice", old, "rotate"), "1") == 0
    new = int(os.readlink(tok(d, "alice", old, "next"))[3:])
    assert read(tok(d, "alice", new, "expires_at")) == (day(100) + "\n").encode()


@pytest.mark.parametrize("value", [
    b"0", b"2", b"yes", b"\n", b"1\n\n", b"\x00\xff", b"x" * 5000,
    day(0).encode(), day(-3).encode(), day(366).encode(), b"2027-02-30",
])
def test_rotate_refuses_bad_values_and_changes_nothing(fs, value):
    old, _ = mint(fs, "alice", "ci")
    before = snapshot(fs)
    assert write(tok(fs, "alice", old, "rotate"), value) == errno.EINVAL
    assert snapshot(fs) == before


def test_a_revoked_token_is_not_rotated(fs):
    old, _ = mint(fs, "alice", "ci")
    assert write(tok(fs, "alice", old, "revoked"), "1") == 0
    before = snapshot(fs)
    assert write(tok(fs, "alice", old, "rotate"), "1") == errno.EPERM
    assert snapshot(fs) == before


def test_a_blocked_owner_s_token_is_not_rotated(fs):
    old, _ = mint(fs, "alice", "ci")
    assert write(fs.path("users/alice/blocked"), "1") == 0
    before = snapshot(fs)
    assert write(tok(fs, "alice", old, "rotate"), "1") == errno.EPERM
    assert snapshot(fs) == before


def test_rotate_is_for_the_owner_and_admins(fs):
    os.mkdir(fs.path("users/alice"))
    assert write(fs.path("users/alice/uid"), "%d" % OWNER) == 0
    old, _ = mint(fs, "alice", "ci", take=False)
    imp, _ = mint(fs, "alice", "imp", take=False)
    assert write(tok(fs, "alice", imp, "impersonation"), "1") == 0
    before = snapshot(fs)
    rc, _, err = run(fs, OTHER, "echo 1 > users/alice/tokens/%d/rotate" % old)
    assert rc != 0 and b"Permission denied" in err
    # the owner may not see an impersonation token, nor rotate it
    rc, _, err = run(fs, OWNER, "echo 1 > users/alice/tokens/%d/rotate" % imp)
    assert rc != 0 and b"No such file" in err
    assert snapshot(fs) == before
    rc, _, err = run(fs, OWNER, "echo 1 > users/alice/tokens/%d/rotate" % old)
    assert rc == 0, err
    assert audit_lines(fs)[-1]["uid"] == OWNER


def test_an_owner_s_rotation_date_follows_the_rule_of_expires_at(fs):
    """An admin contains alice's token by shortening it: alice may not undo
    that with a later date, neither through expires_at nor through rotate."""
    os.mkdir(fs.path("users/alice"))
    assert write(fs.path("users/alice/uid"), "%d" % OWNER) == 0
    old, _ = mint(fs, "alice", "ci")
    assert write(tok(fs, "alice", old, "expires_at"), day(1)) == 0
    before = snapshot(fs)
    for attr in ("expires_at", "rotate"):
        rc, _, err = run(fs, OWNER, "echo %s > users/alice/tokens/%d/%s"
                         % (day(300), old, attr))
        assert rc != 0 and b"Operation not permitted" in err, (attr, err)
    assert snapshot(fs) == before
    # an earlier date, or the same, is the owner's to choose; an admin's may
    # be later
    rc, _, err = run(fs, OWNER, "echo %s > users/alice/tokens/%d/rotate"
                     % (day(1), old))
    assert rc == 0, err
    new = int(os.readlink(tok(fs, "alice", old, "next"))[3:])
    assert read(tok(fs, "alice", new, "expires_at")) == (day(1) + "\n").encode()
    assert write(tok(fs, "alice", new, "rotate"), day(300)) == 0


# families and reuse -----------------------------------------------------------

def test_rotating_a_rotated_token_revokes_its_whole_family(fs):
    a, _ = mint(fs, "alice", "ci")
    other, _ = mint(fs, "alice", "other")
    assert write(tok(fs, "alice", a, "rotate"), "1") == 0
    b = int(os.readlink(tok(fs, "alice", a, "next"))[3:])
    assert write(tok(fs, "alice", b, "rotate"), "1") == 0
    c = int(os.readlink(tok(fs, "alice", b, "next"))[3:])
    assert read(tok(fs, "alice", c, "active")) == b"1\n"
    # a was rotated already: someone holds its old secret
    assert write(tok(fs, "alice", a, "rotate"), "1") == errno.EPERM
    for t in (a, b, c):
        assert read(tok(fs, "alice", t, "revoked")) == b"1\n"
    assert read(tok(fs, "alice", other, "active")) == b"1\n"  # not its family
    reuse = [l for l in audit_lines(fs) if l.get("reason") == "token_reuse"]
    assert [(l["action"], l["object"]) for l in reuse] == \
        [("token_revoke", "users/alice/tokens/%d" % c)]
    assert err_of(os.stat, fs.path("users/alice/tokens/ci")) == errno.ENOENT


def test_reuse_detection_can_be_turned_off(make_daemon):
    d = make_daemon("[tokens]\nreuse_detection = false\n")
    a, _ = mint(d, "alice", "ci")
    assert write(tok(d, "alice", a, "rotate"), "1") == 0
    b = int(os.readlink(tok(d, "alice", a, "next"))[3:])
    before = snapshot(d)
    assert write(tok(d, "alice", a, "rotate"), "1") == errno.EPERM
    assert snapshot(d) == before
    assert read(tok(d, "alice", b, "active")) == b"1\n"


@pytest.mark.parametrize("reuse", [True, False])
def test_two_racing_rotations_make_one_successor(make_daemon, reuse):
    d = make_daemon("[tokens]\nreuse_detection = %s\n" % str(reuse).lower())
    for round_ in range(5):
        a, _ = mint(d, "alice", "r%d" % round_)
        results = []
        go = threading.Barrier(2)

        def rotate():
            go.wait()
            results.append(write(tok(d, "alice", a, "rotate"), "1"))
        ts = [threading.Thread(target=rotate) for _ in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert sorted(results) == [0, errno.EPERM]
        rot = [l for l in audit_lines(d) if l["action"] == "token_rotate"
               and l["old"] == str(a)]
        assert len(rot) == 1
        b = int(rot[0]["new"])
        # the loser presented a rotated token: a reuse, unless turned off
        want = b"0\n" if not reuse else b"1\n"
        assert read(tok(d, "alice", b, "revoked")) == want


# self-rotation ----------------------------------------------------------------

def test_self_rotation_trades_a_secret_for_its_successor_s(fs):
    old, secret = mint(fs, "alice", "ci", scopes="api")
    assert os.stat(fs.path("rotate")).st_mode & 0o006 == 0o006  # anyone
    assert "rotate" in os.listdir(fs.mnt)
    # as a script would: the secret on stdin, never on a command line
    rc, out, err = run(fs, OTHER, 'read -r T; exec 3<>rotate; printf %s "$T" >&3;'
                       ' read -r N <&3; printf %s "$N"', stdin=secret.encode())
    assert rc == 0, err
    fresh = out.decode()
    assert len(fresh) == SECRET_LEN and fresh != secret
    new = int(os.readlink(tok(fs, "alice", old, "next"))[3:])
    assert write(fs.path("auth/api"), fresh) == 0
    assert write(fs.path("auth/api"), secret) == errno.EKEYREVOKED
    # sealed in the rotation: nobody else can take it
    assert err_of(read, tok(fs, "alice", new, "token")) == errno.ENOENT
    assert read(tok(fs, "alice", new, "expires_at")) == (day(7) + "\n").encode()
    rot = [l for l in audit_lines(fs) if l["action"] == "token_rotate"][-1]
    assert (rot["old"], rot["new"], rot["uid"]) == (str(old), str(new), OTHER)
    for p in (os.path.join(fs.workdir, "patfs-auth.log"), fs.path("audit.log")):
        if os.path.exists(p):
            assert fresh.encode() not in read(p) and secret.encode() not in read(p)


def test_self_rotation_with_the_self_rotate_scope(fs):
    _, secret = mint(fs, "alice", "ci", scopes="self_rotate")
    r, fresh = self_rotate(fs, secret)
    assert r == 0 and len(fresh.strip()) == SECRET_LEN
    assert self_rotate(fs, fresh.strip())[0] == 0  # and again


def test_self_rotation_refusals_are_the_auth_errnos(fs):
    _, ro = mint(fs, "alice", "ro", scopes="read_api")
    before = snapshot(fs)
    assert self_rotate(fs, ro) == (errno.EACCES, None)
    assert self_rotate(fs, "glpat-" + "x" * 20) == (errno.EKEYREJECTED, None)
    assert self_rotate(fs, "\x00\xff garbage") == (errno.EKEYREJECTED, None)
    assert snapshot(fs) == before
    reasons = [l["meta.auth_fail_reason"] for l in auth_log(fs)]
    assert reasons == ["insufficient_scope", "token_invalid", "token_invalid"]
    assert all(l["path"] == "rotate" for l in auth_log(fs))


def test_self_rotating_an_old_secret_revokes_the_family(fs):
    _, secret = mint(fs, "alice", "ci", scopes="api")
    r, fresh = self_rotate(fs, secret)
    assert r == 0
    assert self_rotate(fs, secret) == (errno.EKEYREVOKED, None)
    assert write(fs.path("auth/api"), fresh.strip()) == errno.EKEYREVOKED
    assert auth_log(fs)[-1]["meta.auth_fail_reason"] == "token_revoked"


def test_self_rotation_needs_a_read_and_write_open(fs):
    _, secret = mint(fs, "alice", "ci", scopes="api")
    assert err_of(os.open, fs.path("rotate"), os.O_WRONLY) == errno.EINVAL
    r = subprocess.run(["sh", "-c", "cat > rotate"], cwd=fs.mnt,
                       input=secret.encode(), capture_output=True)
    assert r.returncode != 0
    assert write(fs.path("auth/api"), secret) == 0  # still the live one
    assert read(fs.path("rotate")) == b""  # nothing written, nothing read


def test_the_successor_s_secret_is_read_once_by_racing_readers(fs):
    _, secret = mint(fs, "alice", "ci", scopes="api")
    fd = os.open(fs.path("rotate"), os.O_RDWR)
    try:
        os.write(fd, secret.encode())
        got = []
        go = threading.Barrier(8)

        def reader():
            go.wait()
            got.append(os.pread(fd, 4096, 0))
        ts = [threading.Thread(target=reader) for _ in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert sorted(len(g) for g in got) == [0] * 7 + [SECRET_LEN + 1]
        assert os.read(fd, 4096) == b""
    finally:
        os.close(fd)
