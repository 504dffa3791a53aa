"""Checking tokens (SPEC §4): auth/<scope>, last_used_at, the auth log, rate
limits, revoke and identify, and the C API beside the mount."""
import errno
import json
import os
import subprocess
import time

import pytest

from conftest import FAKETIME_LIB, PATFS, err_of, mint, read, write, audit_lines, settles

CLIENT = os.path.join(os.path.dirname(PATFS), "tests", "auth_client")


def auth_log(d):
    p = os.path.join(d.workdir, "patfs-auth.log")
    if not os.path.exists(p):
        return []
    return [json.loads(l) for l in read(p).decode().splitlines()]


def check(d, scope, secret):
    """write(2) of secret into auth/<scope>: 0 or errno."""
    return write(d.path("auth", scope), secret)


def as_uid(d, uid, script, secret):
    """Runs script as uid with the secret on stdin (never on a command line)."""
    return subprocess.run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
                           "--clear-groups", "sh", "-c", script], cwd=d.mnt,
                          input=secret.encode(), capture_output=True)


def assert_no_secret_in_log(d, secrets):
    data = read(os.path.join(d.workdir, "patfs-auth.log"))
    for s in secrets:
        assert s.encode() not in data and s[6:16].encode() not in data


def test_a_valid_token_passes_with_implied_scopes(fs):
    _, api = mint(fs, "alice", "a", scopes="api")
    _, wr = mint(fs, "alice", "w", scopes="write_repository")
    assert check(fs, "read_api", api) == 0
    assert check(fs, "read_api", api + "\n") == 0   # as echo adds
    assert check(fs, "api", api) == 0
    assert check(fs, "write_virtual_registry", api) == 0
    assert check(fs, "read_repository", wr) == 0
    assert check(fs, "read_api", wr) == errno.EACCES
    assert check(fs, "sudo", api) == errno.EACCES
    r = subprocess.run(["sh", "-c", "cat > auth/read_api"], cwd=fs.mnt,
                       input=api.encode())
    assert r.returncode == 0
    assert sorted(os.listdir(fs.path("auth"))) == sorted([
        "api", "read_api", "read_user", "create_runner", "manage_runner",
        "k8s_proxy", "read_repository", "write_repository", "read_registry",
        "write_registry", "read_virtual_registry", "write_virtual_registry",
        "sudo", "admin_mode", "read_service_ping", "self_rotate", "ai_features"])
    assert err_of(os.stat, fs.path("auth/bogus")) == errno.ENOENT
    assert write(fs.path("auth/bogus"), api) == errno.ENOENT
    r = subprocess.run(["sh", "-c", "cat > auth/bogus"], cwd=fs.mnt,
                       input=api.encode(), capture_output=True)
    assert r.returncode != 0
    assert err_of(os.open, fs.path("auth/bogus"), os.O_WRONLY | os.O_CREAT) == errno.ENOENT
    assert err_of(read, fs.path("auth/read_api")) == errno.EPERM


def test_every_reason_has_its_errno_and_its_log_line(make_daemon):
    d = make_daemon("[tokens]\nallow_impersonation = false\n"
                    "[auth]\nmax_failures_per_minute = 100\n")
    _, ok = mint(d, "alice", "ok")
    rid, revoked = mint(d, "alice", "revoked")
    write(d.path("users/alice/tokens/%d/revoked" % rid), "1")
    iid, imp = None, None
    os.mkdir(d.path("users/alice/tokens/imp"))
    assert write(d.path("users/alice/tokens/imp/impersonation"), "1") == 0
    imp = read(d.path("users/alice/tokens/imp/token")).decode().strip()
    iid = 3
    bid, blocked = mint(d, "bob", "b")
    write(d.path("users/bob/blocked"), "1")
    cases = [
        ("api", ok, errno.EACCES, "insufficient_scope", 1),
        ("read_api", revoked, errno.EKEYREVOKED, "token_revoked", rid),
        ("read_api", imp, errno.EKEYREJECTED, "impersonation_disabled", iid),
        ("read_api", blocked, errno.EKEYREJECTED, "user_blocked", bid),
        ("read_api", "glpat-" + "x" * 20, errno.EKEYREJECTED, "token_invalid", None),
        ("read_api", "not a token", errno.EKEYREJECTED, "token_invalid", None),
        ("read_api", "\xff\x00garbage", errno.EKEYREJECTED, "token_invalid", None),
        ("read_api", ok[:-1], errno.EKEYREJECTED, "token_invalid", None),
        ("read_api", ok + "x" * 5000, errno.EKEYREJECTED, "token_invalid", None),
    ]
    for scope, secret, want, reason, tid in cases:
        n = len(auth_log(d))
        assert check(d, scope, secret) == want, reason
        lines = auth_log(d)
        assert len(lines) == n + 1, reason
        line = lines[-1]
        assert line["status"] == 401
        assert line["path"] == "auth/" + scope
        assert line["meta.auth_fail_reason"] == reason
        assert line["meta.auth_fail_token_id"] == (
            "PersonalAccessToken/%d" % tid if tid else None)
        assert line["uid"] == 0 and line["pid"] > 0 and "time" in line
        assert line["comm"].startswith("python")
    assert check(d, "read_api", ok) == 0
    assert len(auth_log(d)) == len(cases)  # a success is not logged
    assert_no_secret_in_log(d, [ok, revoked, imp, blocked])


@pytest.mark.skipif(not os.path.exists(FAKETIME_LIB), reason="needs faketime")
def test_an_expired_token_fails_with_ekeyexpired(make_daemon):
    d = make_daemon()
    tid, secret = mint(d, "alice", "soon")
    d.stop()
    d.env = {"LD_PRELOAD": FAKETIME_LIB, "FAKETIME": "+31d",
             "ASAN_OPTIONS": "detect_leaks=1:verify_asan_link_order=0"}
    d.start()
    assert check(d, "read_api", secret) == errno.EKEYEXPIRED
    line = auth_log(d)[-1]
    assert line["meta.auth_fail_reason"] == "token_expired"
    assert line["meta.auth_fail_token_id"] == "PersonalAccessToken/%d" % tid


def test_last_used_at_is_written_once_per_interval(fs):
    tid, secret = mint(fs, "alice", "u")
    lu = fs.path("users/alice/tokens/%d/last_used_at" % tid)
    created = os.stat(lu).st_mtime
    assert read(lu) == b""
    time.sleep(1.1)
    assert check(fs, "read_api", secret) == 0
    first = read(lu)
    assert first.endswith(b"Z\n") and os.stat(lu).st_mtime > created
    assert os.stat(lu).st_size == len(first)
    time.sleep(1.1)
    assert check(fs, "read_api", secret) == 0   # within 600 s: no write
    assert read(lu) == first


def test_last_used_interval_zero_writes_every_second(make_daemon):
    d = make_daemon("[tokens]\nlast_used_interval_s = 0\n")
    tid, secret = mint(d, "alice", "u")
    lu = d.path("users/alice/tokens/%d/last_used_at" % tid)
    assert check(d, "read_api", secret) == 0
    first = read(lu)
    time.sleep(1.1)
    assert check(d, "read_api", secret) == 0
    assert read(lu) > first


def test_anyone_may_check_and_failures_are_limited_per_uid(make_daemon):
    d = make_daemon("[auth]\nmax_failures_per_minute = 5\n")
    _, secret = mint(d, "alice", "x")
    assert as_uid(d, 1000, "cat > auth/read_api", secret).returncode == 0
    for _ in range(5):
        r = as_uid(d, 1000, "cat > auth/read_api", "glpat-wrongwrongwrongwrong")
        assert b"Required key not available" in r.stderr or \
            b"Key was rejected" in r.stderr, r.stderr
    # the sixth attempt is refused even with a valid token
    r = as_uid(d, 1000, "cat > auth/read_api", secret)
    assert r.returncode != 0 and b"Resource temporarily unavailable" in r.stderr
    line = auth_log(d)[-1]
    assert line["status"] == 403 and line["uid"] == 1000
    assert line["meta.auth_fail_reason"] == "rate_limited"
    # another uid, and root, are unaffected
    assert as_uid(d, 1001, "cat > auth/read_api", secret).returncode == 0
    assert check(d, "read_api", secret) == 0


@pytest.mark.skipif(not os.path.exists(FAKETIME_LIB), reason="needs faketime")
def test_the_rate_limit_resets_after_a_minute(make_daemon):
    # the daemon's clock runs 40 times faster: a minute passes in 1.5 s
    d = make_daemon("[auth]\nmax_failures_per_minute = 3\nunlimited_uids =\n",
                    env={"LD_PRELOAD": FAKETIME_LIB, "FAKETIME": "+0 x40",
                         "ASAN_OPTIONS": "detect_leaks=1:verify_asan_link_order=0"})
    _, secret = mint(d, "alice", "x")
    for _ in range(3):
        assert check(d, "read_api", "glpat-nopenopenopenopenope") == errno.EKEYREJECTED
    assert check(d, "read_api", secret) == errno.EAGAIN
    time.sleep(2.0)
    assert check(d, "read_api", secret) == 0


BAD = "glpat-" + "n" * 20


def test_root_is_not_locked_out_by_its_own_failures_unless_told(make_daemon):
    d = make_daemon("[auth]\nmax_failures_per_minute = 3\n")
    _, secret = mint(d, "alice", "x")
    for _ in range(8):
        assert check(d, "read_api", BAD) == errno.EKEYREJECTED
    assert check(d, "read_api", secret) == 0
    assert len(auth_log(d)) == 8  # each failure still logged
    d.stop()
    with open(d.config, "a") as f:
        f.write("[auth]\nunlimited_uids =\n")  # none: root is limited too
    d.start()
    for _ in range(3):
        assert check(d, "read_api", BAD) == errno.EKEYREJECTED
    assert check(d, "read_api", secret) == errno.EAGAIN


def test_a_client_named_with_from_cannot_lock_out_another(make_daemon):
    """A service (uid 1000) checks tokens for two remote clients: the one
    that guesses is locked out; the other is not, nor the service's own
    checks; the auth log names the client."""
    d = make_daemon("[auth]\nmax_failures_per_minute = 3\n")
    _, secret = mint(d, "alice", "x")
    guess = BAD + "\nfrom=203.0.113.7\n"
    for _ in range(3):
        r = as_uid(d, 1000, "cat > auth/read_api", guess)
        assert b"Key was rejected by service" in r.stderr, r.stderr
    r = as_uid(d, 1000, "cat > auth/read_api", secret + "\nfrom=203.0.113.7\n")
    assert b"Resource temporarily unavailable" in r.stderr  # that client is out
    for other in ("198.51.100.2", "[2001:db8::1]", "web-7.example"):
        r = as_uid(d, 1000, "cat > auth/read_api", secret + "\nfrom=%s\n" % other)
        assert r.returncode == 0, (other, r.stderr)
    assert as_uid(d, 1000, "cat > auth/read_api", secret).returncode == 0
    lines = auth_log(d)
    assert [l.get("client") for l in lines[:3]] == ["203.0.113.7"] * 3
    assert lines[3]["meta.auth_fail_reason"] == "rate_limited"
    assert lines[3]["client"] == "203.0.113.7" and lines[3]["uid"] == 1000
    # root checking for a client is limited per client too
    for _ in range(3):
        assert check(d, "read_api", BAD + "\nfrom=gw\n") == errno.EKEYREJECTED
    assert check(d, "read_api", secret + "\nfrom=gw\n") == errno.EAGAIN
    assert check(d, "read_api", secret) == 0


@pytest.mark.parametrize("tail", ["\nfrom=\n", "\nfrom=a b\n", "\nto=x\n",
                                  "\nfrom=" + "a" * 65 + "\n", "\nfrom=x\nmore\n"])
def test_anything_but_one_from_line_after_the_secret_is_einval(fs, tail):
    _, secret = mint(fs, "alice", "x")
    assert check(fs, "read_api", secret + tail) == errno.EINVAL
    why = read(fs.path("why")).decode().splitlines()[0]
    assert "write auth/read_api EINVAL: after the secret comes nothing, or one line" in why
    assert secret not in why
    assert auth_log(fs) == []


def test_concurrent_checks_neither_fail_nor_corrupt(make_daemon):
    d = make_daemon("[tokens]\nlast_used_interval_s = 0\n")
    _, secret = mint(d, "alice", "busy", scopes="api")
    script = "for i in $(seq 1 40); do cat /dev/stdin > /dev/null; " \
             "printf %s \"$(cat ../secret)\" > auth/read_api || exit 1; done"
    path = os.path.join(d.workdir, "secret")
    with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
        f.write(secret)
    procs = [subprocess.Popen(["sh", "-c", script], cwd=d.mnt, stdin=subprocess.DEVNULL,
                              stderr=subprocess.PIPE) for _ in range(8)]
    errs = [p.communicate()[1] for p in procs]
    os.unlink(path)
    assert all(p.returncode == 0 for p in procs), errs
    lu = read(d.path("users/alice/tokens/1/last_used_at")).decode()
    assert time.strptime(lu.strip(), "%Y-%m-%dT%H:%M:%SZ")
    assert auth_log(d) == []


def test_the_c_api_and_the_mount_see_each_other(make_daemon):
    d = make_daemon("[tokens]\nlast_used_interval_s = 0\n")
    tid, secret = mint(d, "alice", "svc")
    cfg = d.config

    def client(scope):
        r = subprocess.run([CLIENT, cfg, scope, "/api/v4/user"], input=secret.encode(),
                           capture_output=True, cwd=d.workdir)
        return r.stdout.decode().strip()

    lu = d.path("users/alice/tokens/%d/last_used_at" % tid)
    assert read(lu) == b""
    assert client("read_api") == "ok"
    # the mount sees the client's use within a second (cache.c polls)
    settles(lambda: read(lu).endswith(b"Z\n"), True)
    assert client("api") == "EACCES"
    assert auth_log(d)[-1]["path"] == "/api/v4/user"
    write(d.path("users/alice/tokens/%d/revoked" % tid), "1")
    assert client("read_api") == "EKEYREVOKED"   # the client sees the revoke


def test_revoke_by_secret(fs):
    tid, secret = mint(fs, "alice", "leaked")
    r = subprocess.run(["sh", "-c", "cat > revoke"], cwd=fs.mnt, input=secret.encode())
    assert r.returncode == 0
    assert read(fs.path("users/alice/tokens/%d/revoked" % tid)) == b"1\n"
    last = audit_lines(fs)[-1]
    assert last["action"] == "token_revoke" and last["comm"] == "cat"
    assert write(fs.path("revoke"), secret) == 0               # again: no change
    assert write(fs.path("revoke"), "glpat-" + "q" * 20) == errno.EKEYREJECTED
    _, other = mint(fs, "bob", "b")
    r = as_uid(fs, 1000, "cat > revoke", other)
    assert r.returncode != 0 and b"Permission denied" in r.stderr
    assert read(fs.path("users/bob/tokens/2/revoked")) == b"0\n"


def test_identify_finds_whose_token_it_is(fs):
    tid, secret = mint(fs, "alice", "who")
    fd = os.open(fs.path("identify"), os.O_RDWR)
    try:
        assert os.write(fd, secret.encode()) == len(secret)
        assert os.pread(fd, 4096, 0) == b"users/alice/tokens/%d\n" % tid
    finally:
        os.close(fd)
    # from the shell, on one open file
    out = subprocess.run(["bash", "-c", "exec 3<>identify; cat >&3; cat <&3"],
                         cwd=fs.mnt, input=secret.encode(), capture_output=True)
    assert out.stdout == b"users/alice/tokens/%d\n" % tid, out.stderr
    fd = os.open(fs.path("identify"), os.O_RDWR)
    assert err_of(os.write, fd, b"glpat-" + b"z" * 20) == errno.EKEYREJECTED
    os.close(fd)
    r = as_uid(fs, 1000, "exec 3<>identify", secret)
    assert r.returncode != 0 and b"Permission denied" in r.stderr
