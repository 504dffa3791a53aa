"""Policies that change without a restart: policy/ (everyone reads,
administrators write, kept in the store, audited, starting from the ini
file's values), noncompliant/ (a link to each active token that breaks them,
and reasons), and policy/enforce at_check."""
import datetime
import errno
import json
import os
import subprocess

from conftest import audit_lines, err_of, mint, read, write

ALICE = 1000

RULES = ["allowed_scopes", "enforce", "max_lifetime_days", "require_expiry",
         "rotation_lifetime_days", "service_accounts_require_expiry"]


def as_uid(d, uid, script):
    return subprocess.run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
                           "--clear-groups", "sh", "-c", script], cwd=d.mnt,
                          capture_output=True, text=True)


def policy(d, name):
    return read(d.path("policy", name)).decode()


def test_policies_start_from_the_ini_file_and_everyone_reads_them(make_daemon):
    d = make_daemon("[tokens]\nmax_lifetime_days = 200\nrequire_expiry = false\n")
    assert sorted(os.listdir(d.path("policy"))) == RULES
    assert policy(d, "max_lifetime_days") == "200\n"
    assert policy(d, "require_expiry") == "0\n"
    assert policy(d, "enforce") == "none\n"
    assert policy(d, "allowed_scopes").splitlines()[0] == "admin_mode"
    assert len(policy(d, "allowed_scopes").splitlines()) == 17
    for name in RULES:
        st = os.stat(d.path("policy", name))
        assert st.st_mode & 0o777 == 0o604 and st.st_size == len(policy(d, name))
    r = as_uid(d, ALICE, "cat policy/max_lifetime_days")
    assert r.returncode == 0 and r.stdout == "200\n"
    r = as_uid(d, ALICE, "echo 999 > policy/max_lifetime_days")
    assert r.returncode != 0 and "Permission denied" in r.stderr
    assert policy(d, "max_lifetime_days") == "200\n"


def test_a_written_policy_applies_at_once_is_audited_and_survives_a_restart(make_daemon):
    d = make_daemon()
    tid, _ = mint(d, "alice", "ci", take=False)
    p = d.path("users/alice/tokens", str(tid), "expires_at")
    far = (datetime.date.today() + datetime.timedelta(days=100)).isoformat()
    assert write(p, far) == 0
    assert write(d.path("policy/max_lifetime_days"), "60\n") == 0
    later = (datetime.date.today() + datetime.timedelta(days=90)).isoformat()
    assert write(p, later) == errno.EINVAL
    assert "max_lifetime_days 60" in read(d.path("why")).decode()
    assert write(d.path("policy/allowed_scopes"), "read_api\nread_user\n") == 0
    assert write(d.path("users/alice/tokens", str(tid), "scopes"), "api") == errno.EINVAL
    assert write(d.path("users/alice/tokens", str(tid), "scopes"), "read_user") == 0
    # a new mint is within the policy
    t2, _ = mint(d, "alice", "short", take=False)
    assert read(d.path("users/alice/tokens", str(t2), "scopes")) == b"read_api\n"
    sets = [l for l in audit_lines(d) if l["action"] == "policy_set"]
    assert [(l["object"], l["old"], l["new"]) for l in sets] == [
        ("policy/max_lifetime_days", "365", "60"),
        ("policy/allowed_scopes", " ".join(sorted(
            ["admin_mode", "ai_features", "api", "create_runner", "k8s_proxy",
             "manage_runner", "read_api", "read_registry", "read_repository",
             "read_service_ping", "read_user", "read_virtual_registry",
             "self_rotate", "sudo", "write_registry", "write_repository",
             "write_virtual_registry"])), "read_api read_user")]
    # the same value again changes nothing
    assert write(d.path("policy/max_lifetime_days"), "60") == 0
    assert len([l for l in audit_lines(d) if l["action"] == "policy_set"]) == 2
    d.stop()
    d.start()
    assert policy(d, "max_lifetime_days") == "60\n"
    for name, bad in [("max_lifetime_days", "0"), ("max_lifetime_days", "ten"),
                      ("require_expiry", "maybe"), ("enforce", "always"),
                      ("allowed_scopes", "nonsense"), ("allowed_scopes", "\n"),
                      ("rotation_lifetime_days", "61"),
                      ("max_lifetime_days", "\x00\xff")]:
        before = policy(d, name)
        assert write(d.path("policy", name), bad) == errno.EINVAL, (name, bad)
        assert policy(d, name) == before


def test_noncompliant_lists_what_breaks_the_policies_and_why(make_daemon):
    d = make_daemon("[tokens]\nrequire_expiry = false\n")
    ok, _ = mint(d, "alice", "ok", scopes="read_api")
    wide, _ = mint(d, "alice", "wide", scopes="api")
    never, _ = mint(d, "alice", "never", take=False)
    assert write(d.path("users/alice/tokens", str(never), "expires_at"), "\n") == 0
    read(d.path("users/alice/tokens", str(never), "token"))
    gone, _ = mint(d, "alice", "gone", scopes="api")
    assert write(d.path("users/alice/tokens", str(gone), "revoked"), "1") == 0
    assert os.listdir(d.path("noncompliant")) == ["reasons"]
    assert read(d.path("noncompliant/reasons")) == b""
    assert write(d.path("policy/allowed_scopes"), "read_api") == 0
    assert write(d.path("policy/require_expiry"), "1") == 0
    assert sorted(os.listdir(d.path("noncompliant"))) == sorted(
        ["reasons", str(wide), str(never)])
    assert os.readlink(d.path("noncompliant", str(wide))) == \
        "../users/alice/tokens/%d" % wide
    assert read(d.path("noncompliant", str(wide), "name")) == b"wide\n"
    assert read(d.path("noncompliant/reasons")).decode().splitlines() == [
        "%d users/alice/tokens/%d allowed_scopes: has scopes not allowed: api"
        % (wide, wide),
        "%d users/alice/tokens/%d require_expiry: never expires" % (never, never),
    ]
    assert "patfs_tokens_noncompliant 2\n" in read(d.path("metrics")).decode()
    assert err_of(os.lstat, d.path("noncompliant", str(ok))) == errno.ENOENT
    assert err_of(os.lstat, d.path("noncompliant", str(gone))) == errno.ENOENT
    # nothing was revoked
    assert read(d.path("users/alice/tokens", str(wide), "active")) == b"1\n"
    r = as_uid(d, ALICE, "ls noncompliant")
    assert r.returncode != 0


def test_enforce_at_check_fails_checks_of_noncompliant_tokens(make_daemon):
    d = make_daemon()
    tid, secret = mint(d, "alice", "wide", scopes="api")
    assert write(d.path("auth/read_api"), secret) == 0
    assert write(d.path("policy/allowed_scopes"), "read_api") == 0
    assert write(d.path("auth/read_api"), secret) == 0  # enforce: none
    assert write(d.path("policy/enforce"), "at_check") == 0
    import time
    time.sleep(1.1)  # checks read the policies at most a second old
    assert write(d.path("auth/read_api"), secret) == errno.EKEYREJECTED
    log = [json.loads(l) for l in read(os.path.join(d.workdir, "patfs-auth.log")).decode().splitlines()]
    assert log[-1]["meta.auth_fail_reason"] == "token_noncompliant"
    assert read(d.path("users/alice/tokens", str(tid), "revoked")) == b"0\n"
    assert write(d.path("policy/enforce"), "none") == 0
    time.sleep(1.1)
    assert write(d.path("auth/read_api"), secret) == 0
