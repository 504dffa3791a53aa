"""The tree of SPEC §1, its formats, and what stat says about it."""
import errno
import json
import os
import re
import stat
import subprocess
import time

from conftest import audit_lines, err_of, mint, read, write

SECRET_RE = re.compile(rb"^glpat-[A-Za-z0-9_-]{20}\n$")
TOKEN_FILES = ["active", "created_at", "description", "disabled", "expires_at",
               "impersonation", "last_used_at", "meta.json", "name", "notified",
               "revoked", "rotate", "scopes", "token", "used_from"]


def test_root_lists_the_tree(fs):
    assert sorted(os.listdir(fs.mnt)) == [
        "audit.log", "auth", "credentials.csv", "credentials.json", "expiring",
        "expiring.ics", "groups", "identify", "metrics", "noncompliant",
        "policy", "projects", "revoke", "rotate", "scan", "scopes", "unused",
        "users", "why"]
    assert os.listdir(fs.path("users")) == []
    assert sorted(os.listdir(fs.path("expiring"))) == ["never", "within"]


def test_newcomer_flow_mints_and_reads_the_secret_once(fs):
    r = subprocess.run(["sh", "-c", "mkdir users/alice && mkdir users/alice/tokens/ci"
                        " && cat users/alice/tokens/ci/token > ../secret"],
                       cwd=fs.mnt)
    assert r.returncode == 0
    with open(os.path.join(fs.workdir, "secret"), "rb") as f:
        assert SECRET_RE.match(f.read())
    os.unlink(os.path.join(fs.workdir, "secret"))
    # a second cat gets nothing
    r = subprocess.run(["cat", "users/alice/tokens/ci/token"], cwd=fs.mnt,
                       capture_output=True)
    assert r.returncode != 0 and r.stdout == b""
    assert b"No such file" in r.stderr
    assert err_of(os.stat, fs.path("users/alice/tokens/ci/token")) == errno.ENOENT
    # listed by id, reachable by name
    assert os.listdir(fs.path("users/alice/tokens")) == ["1"]
    assert read(fs.path("users/alice/tokens/1/name")) == b"ci\n"
    assert read(fs.path("users/alice/tokens/ci/name")) == b"ci\n"
    assert sorted(os.listdir(fs.path("users/alice/tokens/1"))) == \
        sorted(f for f in TOKEN_FILES if f != "token")


def test_unsealed_token_hides_its_secret_file_from_listings(fs):
    os.makedirs(fs.path("users/bob/tokens/deploy"))
    assert sorted(os.listdir(fs.path("users/bob/tokens/1"))) == \
        sorted(f for f in TOKEN_FILES if f != "token")
    st = os.stat(fs.path("users/bob/tokens/1/token"))
    assert st.st_size == len("glpat-") + 20 + 1
    data = read(fs.path("users/bob/tokens/deploy/token"))
    assert SECRET_RE.match(data)
    assert len(data) == st.st_size


def test_mkdir_p_is_idempotent(fs):
    r = subprocess.run(["mkdir", "-p", "users/carol/tokens/ci"], cwd=fs.mnt)
    assert r.returncode == 0
    r = subprocess.run(["mkdir", "-p", "users/carol/tokens/ci"], cwd=fs.mnt)
    assert r.returncode == 0
    assert os.listdir(fs.path("users/carol/tokens")) == ["1"]


def test_scopes_written_before_the_secret_is_taken(fs):
    r = subprocess.run(["sh", "-c", "set -e; mkdir -p users/d/tokens/D; "
                        "echo api > users/d/tokens/D/scopes; "
                        "cat users/d/tokens/D/token >/dev/null"], cwd=fs.mnt)
    assert r.returncode == 0
    assert read(fs.path("users/d/tokens/1/scopes")) == b"api\n"
    # sealed now: scopes are read-only, even to root
    assert write(fs.path("users/d/tokens/1/scopes"), "read_api\n") == errno.EPERM
    assert read(fs.path("users/d/tokens/1/scopes")) == b"api\n"


def test_formats_of_every_attribute(fs):
    tid, _ = mint(fs, "alice", "fmt", scopes="read_user,api read_api\n")
    t = fs.path("users/alice/tokens", str(tid))
    assert read(fs.path("users/alice/id")) == b"1\n"
    assert read(fs.path("users/alice/blocked")) == b"0\n"
    assert read(fs.path("users/alice/uid")) == b""
    assert read(t + "/name") == b"fmt\n"
    assert read(t + "/description") == b""
    assert read(t + "/scopes") == b"api\nread_api\nread_user\n"
    assert read(t + "/impersonation") == b"0\n"
    assert re.match(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n$", read(t + "/created_at"))
    today = time.gmtime()
    exp = read(t + "/expires_at").decode()
    assert re.match(r"^\d{4}-\d\d-\d\d\n$", exp)
    days = (time.mktime(time.strptime(exp.strip(), "%Y-%m-%d")) -
            time.mktime(time.strptime(time.strftime("%Y-%m-%d", today), "%Y-%m-%d"))) / 86400
    assert round(days) == 30
    assert read(t + "/last_used_at") == b""
    assert read(t + "/revoked") == b"0\n"
    assert read(t + "/active") == b"1\n"
    assert write(t + "/description", "deploys the site\n") == 0
    assert read(t + "/description") == b"deploys the site\n"
    # a zero-byte write never reaches the daemon; `echo > f` clears a value
    assert write(t + "/description", "\n") == 0
    assert read(t + "/description") == b""


def test_st_size_is_exact_everywhere(fs):
    mint(fs, "alice", "a", scopes="api write_registry k8s_proxy")
    mint(fs, "bob", "b")
    write(fs.path("users/bob/tokens/2/description"), "é ünïcode ✓")
    for dirpath, dirnames, filenames in os.walk(fs.mnt):
        for fn in filenames:
            p = os.path.join(dirpath, fn)
            if fn == "token" or not os.stat(p).st_mode & 0o444:
                continue  # read-once, or write-only (auth/, revoke)
            assert os.stat(p).st_size == len(read(p)), p


def test_mtime_is_when_the_value_changed(fs):
    tid, _ = mint(fs, "alice", "m")
    t = fs.path("users/alice/tokens", str(tid))
    created = os.stat(t + "/created_at").st_mtime
    assert os.stat(t + "/last_used_at").st_mtime == created
    assert os.stat(t + "/revoked").st_mtime == created
    time.sleep(1.1)
    before = time.time()
    assert write(t + "/revoked", "1\n") == 0
    m = os.stat(t + "/revoked").st_mtime
    assert m >= int(before) and m > created
    assert os.stat(t + "/name").st_mtime == created
    assert os.stat(t + "/active").st_mtime == m


def test_modes_owners_and_nlink(fs):
    mint(fs, "alice", "a")
    mint(fs, "alice", "b")
    mint(fs, "bob", "c")
    assert os.stat(fs.path("users")).st_nlink == 2 + 2
    assert os.stat(fs.path("users/alice")).st_nlink == 3
    assert os.stat(fs.path("users/alice/tokens")).st_nlink == 2 + 2
    assert os.stat(fs.path("users/alice/tokens/1")).st_nlink == 2
    st = os.stat(fs.path("users/alice/tokens/1/name"))
    assert stat.S_ISREG(st.st_mode) and st.st_mode & 0o222 == 0
    assert os.stat(fs.path("users/alice/tokens/1/revoked")).st_mode & 0o200
    assert os.stat(fs.path("users/alice/tokens/1/scopes")).st_mode & 0o222 == 0
    assert os.stat(fs.path("audit.log")).st_mode & 0o077 == 0
    assert os.stat(fs.path("expiring")).st_mode & 0o007 == 0
    lst = os.lstat(fs.path("expiring", read(fs.path("users/alice/tokens/1/expires_at")).decode().strip(), "1"))
    assert stat.S_ISLNK(lst.st_mode)


def test_expiring_links_point_at_the_token(fs):
    tid, _ = mint(fs, "alice", "x")
    date = read(fs.path("users/alice/tokens", str(tid), "expires_at")).decode().strip()
    assert sorted(os.listdir(fs.path("expiring"))) == sorted([date, "never",
                                                              "within"])
    link = fs.path("expiring", date, str(tid))
    assert os.readlink(link) == "../../users/alice/tokens/%d" % tid
    assert os.lstat(link).st_size == len(os.readlink(link))
    assert read(link + "/name") == b"x\n"
    # expiring/ reports st_nlink 1 (not counted); find must still walk it all
    assert os.stat(fs.path("expiring")).st_nlink == 1
    out = subprocess.run(["find", "expiring", "-type", "l"], cwd=fs.mnt,
                         capture_output=True, check=True).stdout.split()
    assert sorted(out) == [b"expiring/%s/%d" % (date.encode(), tid),
                           b"expiring/within/30d/%d" % tid,
                           b"expiring/within/60d/%d" % tid]
    # revoked tokens leave expiring/
    write(fs.path("users/alice/tokens", str(tid), "revoked"), "1")
    assert os.listdir(fs.path("expiring", date)) == []
    assert err_of(os.lstat, link) == errno.ENOENT


def test_expiring_never_lists_tokens_without_expiry(make_daemon):
    d = make_daemon("[tokens]\nrequire_expiry = false\n")
    tid, _ = mint(d, "alice", "forever")
    assert write(d.path("users/alice/tokens/1/expires_at"), "\n") == 0
    assert read(d.path("users/alice/tokens/1/expires_at")) == b""
    assert os.listdir(d.path("expiring/never")) == [str(tid)]
    assert sorted(os.listdir(d.path("expiring"))) == ["never", "within"]
    assert os.listdir(d.path("expiring/within/60d")) == []


def test_an_empty_date_directory_is_not_an_error(fs):
    assert os.listdir(fs.path("expiring/2024-05-22")) == []
    assert err_of(os.listdir, fs.path("expiring/2024-02-30")) == errno.ENOENT
    assert err_of(os.listdir, fs.path("expiring/yesterday")) == errno.ENOENT


def test_audit_log_records_every_change_with_the_caller(fs):
    tid, _ = mint(fs, "alice", "au")
    subprocess.run(["sh", "-c", "echo 1 > users/alice/tokens/%d/revoked" % tid],
                   cwd=fs.mnt, check=True)
    lines = audit_lines(fs)
    assert [l["action"] for l in lines] == [
        "user_create", "token_create", "token_secret_taken", "token_revoke"]
    rev = lines[-1]
    assert rev["object"] == "users/alice/tokens/%d" % tid
    assert rev["old"] == "0" and rev["new"] == "1"
    assert rev["uid"] == 0 and rev["gid"] == 0 and rev["pid"] > 0
    assert rev["comm"] == "sh"
    assert lines[0]["comm"].startswith("python")  # mint() is os.mkdir
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", rev["time"])
    # exact size, and reads at any offset agree
    data = read(fs.path("audit.log"))
    assert os.stat(fs.path("audit.log")).st_size == len(data)
    with open(fs.path("audit.log"), "rb") as f:
        f.seek(37)
        assert f.read(100) == data[37:137]


def test_readdir_in_small_chunks_lists_everything(fs):
    os.mkdir(fs.path("users/many"))
    for i in range(300):
        os.mkdir(fs.path("users/many/tokens/t%03d" % i))
    names = os.listdir(fs.path("users/many/tokens"))
    assert sorted(map(int, names)) == list(range(1, 301))
    for i in range(40):
        os.mkdir(fs.path("users/u%02d" % i))
    assert len(os.listdir(fs.path("users"))) == 41
    # ls -l exercises readdirplus
    out = subprocess.run(["ls", "-l", fs.path("users/many/tokens")],
                         capture_output=True, check=True).stdout.decode()
    assert len(out.splitlines()) == 301


def test_python_os_walk_sees_the_tree(fs):
    mint(fs, "alice", "w")
    seen = {}
    for dirpath, dirnames, filenames in os.walk(fs.mnt):
        seen[os.path.relpath(dirpath, fs.mnt)] = (sorted(dirnames), sorted(filenames))
    assert seen["."] == (["auth", "expiring", "groups", "noncompliant", "policy",
                          "projects", "unused", "users"],
                         ["audit.log", "credentials.csv", "credentials.json",
                          "expiring.ics", "identify", "metrics", "revoke",
                          "rotate", "scan", "scopes", "why"])
    assert seen["users/alice"] == (["tokens"], ["blocked", "id", "kind",
                                                "tokens.json", "uid"])
    assert "token" not in seen["users/alice/tokens/1"][1]
    assert len(seen["users/alice/tokens/1"][1]) == 14
