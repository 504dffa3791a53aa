"""The token model's metadata in one read: a token's meta.json, a user's
tokens.json, and the kind of a user (human, service_account, and the bots
of project and group tokens)."""
import errno
import json
import os
import subprocess
import threading
import time

import pytest

from conftest import PATFS, audit_lines, counts, mint, read, settles, snapshot, write

CLIENT = os.path.join(os.path.dirname(PATFS), "tests", "auth_client")

OWNER, OTHER = 1000, 1001

KEYS = ["id", "name", "description", "scopes", "impersonation", "created_at",
        "expires_at", "last_used_at", "last_used_from", "revoked", "disabled",
        "active", "user_id",
        "username", "kind", "path", "previous_personal_access_token_id", "family_id", "gitlab_id",
        "gitlab_user_id"]


def run(d, uid, script):
    """bash -c script in the mount as uid (no groups): (rc, stdout, stderr)."""
    r = subprocess.run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
                        "--clear-groups", "bash", "-c", script], cwd=d.mnt,
                       capture_output=True)
    return r.returncode, r.stdout, r.stderr


def meta(d, user, tid):
    p = d.path("users", user, "tokens", str(tid), "meta.json")
    data = read(p)
    assert os.stat(p).st_size == len(data)  # exact, as for every file
    assert data.endswith(b"}\n") and data.count(b"\n") == 1
    return json.loads(data)


# kind -----------------------------------------------------------------------

def test_a_user_is_human_until_an_admin_makes_it_a_service_account(fs):
    os.mkdir(fs.path("users/svc"))
    assert read(fs.path("users/svc/kind")) == b"human\n"
    assert "kind" in os.listdir(fs.path("users/svc"))
    assert subprocess.run(["sh", "-c", "echo service_account > kind"],
                          cwd=fs.path("users/svc")).returncode == 0
    assert read(fs.path("users/svc/kind")) == b"service_account\n"
    assert os.stat(fs.path("users/svc/kind")).st_size == 16
    last = audit_lines(fs)[-1]
    assert (last["action"], last["object"], last["old"], last["new"]) == \
        ("user_set_kind", "users/svc", "human", "service_account")
    # the same value again: no change, nothing audited
    n = len(audit_lines(fs))
    assert write(fs.path("users/svc/kind"), "service_account\n") == 0
    assert len(audit_lines(fs)) == n
    # and back, while it has no token
    assert write(fs.path("users/svc/kind"), "human") == 0
    assert write(fs.path("users/svc/kind"), "service_account") == 0
    tid, _ = mint(fs, "svc", "deploy")
    assert meta(fs, "svc", tid)["kind"] == "service_account"


@pytest.mark.parametrize("value, want", [
    (b"project_bot\n", errno.EINVAL),   # bots are patfs's to make
    (b"group_bot", errno.EINVAL),
    (b"robot\n", errno.EINVAL),
    (b"\n", errno.EINVAL),
    (b"Human\n", errno.EINVAL),
    (b"human\n\n", errno.EINVAL),
    (b"\xff\xfe\x00", errno.EINVAL),
    (b"service_account " * 300, errno.EINVAL),
])
def test_kind_refuses_what_is_no_kind(fs, value, want):
    os.mkdir(fs.path("users/svc"))
    before = snapshot(fs)
    assert write(fs.path("users/svc/kind"), value) == want
    assert snapshot(fs) == before


def test_kind_is_fixed_once_the_user_had_a_token(fs):
    mint(fs, "alice", "ci")
    before = snapshot(fs)
    assert write(fs.path("users/alice/kind"), "service_account") == errno.EPERM
    assert snapshot(fs) == before


def test_kind_is_for_admins(fs):
    os.mkdir(fs.path("users/alice"))
    assert write(fs.path("users/alice/uid"), "%d" % OWNER) == 0
    assert os.stat(fs.path("users/alice/kind")).st_mode & 0o777 == 0o400
    before = snapshot(fs)
    rc, _, err = run(fs, OWNER, "echo service_account > users/alice/kind")
    assert rc != 0 and b"Permission denied" in err, err
    assert snapshot(fs) == before


# meta.json --------------------------------------------------------------------

def test_meta_json_has_every_attribute_under_gitlab_s_names(fs):
    tid, secret = mint(fs, "alice", "ci", scopes="read_api\napi\n")
    tdir = fs.path("users/alice/tokens", str(tid))
    assert write(os.path.join(tdir, "description"), "deploys") == 0
    m = meta(fs, "alice", tid)
    assert list(m) == KEYS
    assert m["id"] == tid and m["name"] == "ci"
    assert m["description"] == "deploys"
    assert m["scopes"] == ["api", "read_api"]
    assert m["impersonation"] is False and m["revoked"] is False
    assert m["active"] is True
    assert m["created_at"] == read(os.path.join(tdir, "created_at")).decode().strip()
    assert m["expires_at"] == read(os.path.join(tdir, "expires_at")).decode().strip()
    assert m["last_used_at"] is None
    assert m["user_id"] == int(read(fs.path("users/alice/id")))
    assert m["username"] == "alice" and m["kind"] == "human"
    assert m["path"] == "users/alice/tokens/%d" % tid
    assert m["previous_personal_access_token_id"] is None
    # never the secret, nor anything of it
    assert secret[6:] not in read(os.path.join(tdir, "meta.json")).decode()
    assert "token" not in m


def test_meta_json_follows_every_change(fs):
    tid, _ = mint(fs, "alice", "ci")
    tdir = fs.path("users/alice/tokens", str(tid))
    p = os.path.join(tdir, "meta.json")
    before = os.stat(p)
    assert write(os.path.join(tdir, "expires_at"), "") in (0, errno.EINVAL)
    assert write(os.path.join(tdir, "revoked"), "1") == 0
    m = meta(fs, "alice", tid)
    assert m["revoked"] is True and m["active"] is False
    assert os.stat(p).st_mtime >= before.st_mtime
    assert os.stat(p).st_mtime == os.stat(os.path.join(tdir, "revoked")).st_mtime


@pytest.mark.parametrize("text", [
    'say "hi" \\ back',
    "line\u2028sep\u2029para",
    "\u00e9t\u00e9 \u2603 \U0001F511",
    "x" * 255,
    '"' * 255,             # every byte escaped: the longest object
    "</script>",
])
def test_meta_json_is_valid_json_for_every_description(fs, text):
    tid, _ = mint(fs, "alice", "ci")
    assert write(fs.path("users/alice/tokens", str(tid), "description"),
                 text.encode()) == 0
    assert meta(fs, "alice", tid)["description"] == text
    data = json.loads(read(fs.path("users/alice/tokens.json")))
    assert data[0]["description"] == text


def test_meta_json_cannot_be_written(fs):
    tid, _ = mint(fs, "alice", "ci")
    p = fs.path("users/alice/tokens", str(tid), "meta.json")
    assert os.stat(p).st_mode & 0o777 == 0o400
    before = snapshot(fs)
    assert write(p, '{"revoked": true}') == errno.EPERM
    assert snapshot(fs) == before


# tokens.json ------------------------------------------------------------------

def test_tokens_json_is_every_meta_json_in_id_order(fs):
    ids = [mint(fs, "alice", n)[0] for n in ("a", "b", "c")]
    mint(fs, "bob", "other")
    p = fs.path("users/alice/tokens.json")
    data = read(p)
    assert os.stat(p).st_size == len(data)
    objs = json.loads(data)
    assert [o["id"] for o in objs] == ids
    assert objs == [meta(fs, "alice", i) for i in ids]
    # one object a line, for grep and diff
    assert data.decode().splitlines()[1:-1] == [
        json.dumps(o, separators=(",", ":"), ensure_ascii=False) + ","
        for o in objs[:-1]] + [json.dumps(objs[-1], separators=(",", ":"),
                                          ensure_ascii=False)]


def test_tokens_json_of_a_user_without_tokens_is_an_empty_array(fs):
    os.mkdir(fs.path("users/alice"))
    assert read(fs.path("users/alice/tokens.json")) == b"[]\n"
    assert os.stat(fs.path("users/alice/tokens.json")).st_size == 3


def test_tokens_json_follows_changes_at_once(fs):
    tid, _ = mint(fs, "alice", "ci")
    p = fs.path("users/alice/tokens.json")
    first = read(p)  # now in the kernel's cache
    assert json.loads(first)[0]["revoked"] is False
    assert write(fs.path("users/alice/tokens", str(tid), "revoked"), "1") == 0
    assert json.loads(read(p))[0]["revoked"] is True
    assert os.stat(p).st_size == len(read(p))
    mint(fs, "alice", "next")
    assert [o["name"] for o in json.loads(read(p))] == ["ci", "next"]
    assert os.stat(p).st_size == len(read(p))


def test_tokens_json_shows_only_what_the_caller_may_see(fs):
    os.mkdir(fs.path("users/alice"))
    assert write(fs.path("users/alice/uid"), "%d" % OWNER) == 0
    plain, _ = mint(fs, "alice", "plain")
    imp, _ = mint(fs, "alice", "imp", take=False)
    assert write(fs.path("users/alice/tokens/imp/impersonation"), "1") == 0
    # the admin first, so the kernel would hold the admin's view if it
    # kept one
    admin = json.loads(read(fs.path("users/alice/tokens.json")))
    assert [o["id"] for o in admin] == [plain, imp]
    rc, out, err = run(fs, OWNER, "cat users/alice/tokens.json")
    assert rc == 0, err
    assert [o["id"] for o in json.loads(out)] == [plain]
    rc, out, _ = run(fs, OWNER, "stat -c %s users/alice/tokens.json")
    assert int(out) == len(read(fs.path("users/alice/tokens", str(plain),
                                        "meta.json"))) + 4  # "[\n" "\n]\n"
    # anyone else: not even the user's directory
    rc, _, err = run(fs, OTHER, "cat users/alice/tokens.json")
    assert rc != 0 and b"Permission denied" in err


def test_tokens_json_cannot_be_written_or_removed(fs):
    mint(fs, "alice", "ci")
    p = fs.path("users/alice/tokens.json")
    before = snapshot(fs)
    assert write(p, "[]") == errno.EPERM
    with pytest.raises(OSError) as e:
        os.unlink(p)
    assert e.value.errno == errno.EPERM
    assert snapshot(fs) == before


def test_tokens_json_in_pieces_is_one_whole(fs):
    """A large tokens.json read in small pieces while it changes: the open
    file keeps what it held when opened."""
    for i in range(40):
        mint(fs, "alice", "t%d" % i, take=False)
    p = fs.path("users/alice/tokens.json")
    with open(p, "rb", buffering=0) as f:
        head = f.read(100)
        assert write(fs.path("users/alice/tokens/t0/revoked"), "1") == 0
        rest = b""
        while True:
            piece = f.read(100)
            if not piece:
                break
            rest += piece
    objs = json.loads(head + rest)
    assert len(objs) == 40 and objs[0]["revoked"] is False
    assert json.loads(read(p))[0]["revoked"] is True


def test_tokens_json_is_read_from_the_page_cache_until_it_changes(make_daemon):
    """A second read of an unchanged tokens.json asks the daemon to open it
    but not to read it; after a change, it reads the new one whole."""
    d = make_daemon(args=["-o", "debug_statements"])
    for i in range(40):  # several pages
        mint(d, "alice", "t%d" % i)
    p = d.path("users/alice/tokens.json")
    first = read(p)
    assert len(first) > 3 * 4096 and len(json.loads(first)) == 40
    since = len(d.read_stderr())
    assert read(p) == first
    got = counts(d, since)
    assert len(got[("OPEN", "tokens.json")]) == 1, got  # a request each
    assert ("READ", "tokens.json") not in got, got
    assert write(d.path("users/alice/tokens/t39/description"), "changed") == 0
    since = len(d.read_stderr())
    data = read(p)
    assert os.stat(p).st_size == len(data) == len(first) + len("changed")
    assert json.loads(data)[39]["description"] == "changed"
    assert ("READ", "tokens.json") in counts(d, since)


def test_racing_readers_and_writers_never_see_two_states_in_one_read(fs):
    """Readers of a tokens.json of many pages, in small pieces, while a
    writer changes its first and its last token: the writer keeps the first
    one's description equal to the last one's or one ahead, so a read that
    mixed the pages of two states would show the last one ahead. Every read
    is whole JSON of one state."""
    for i in range(40):
        mint(fs, "alice", "t%d" % i)
    first, last = (fs.path("users/alice/tokens/t%d/description" % i) for i in (0, 39))
    for p in (first, last):
        assert write(p, "0") == 0
    p = fs.path("users/alice/tokens.json")
    stop = time.monotonic() + 3
    bad, reads = [], [0]

    def writer():
        v = 0
        while time.monotonic() < stop:
            v += 1
            # the length changes with every write, and with it the size
            # the kernel must hold for each snapshot
            text = str(v).zfill(1 + v % 6)
            assert write(first, text) == 0
            assert write(last, text) == 0

    def reader():
        while time.monotonic() < stop:
            with open(p, "rb", buffering=0) as f:
                data = b""
                while True:
                    piece = f.read(700)
                    if not piece:
                        break
                    data += piece
                    time.sleep(0.0005)
            try:
                objs = json.loads(data)
                a, b = int(objs[0]["description"]), int(objs[39]["description"])
                if a - b not in (0, 1):
                    bad.append((a, b))
            except (ValueError, IndexError) as e:
                bad.append((repr(e), len(data)))
            reads[0] += 1

    def stat():  # as ls -l does beside them: sizes of snapshots to come
        while time.monotonic() < stop:
            os.stat(p)

    threads = [threading.Thread(target=writer), threading.Thread(target=stat)] + [
        threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not bad, bad[:5]
    assert reads[0] > 20
    final = json.loads(read(p))
    assert final[0]["description"] == final[39]["description"] != "0"


def test_a_change_the_daemon_has_not_heard_of_never_cuts_a_read_short(make_daemon):
    """Another process (core's C API) lengthens a description; this daemon
    hears of it at its next poll, up to 100 ms later, and until then the
    kernel holds the old size. An open renders the new content: its reads
    must not end at the old size (they did: the JSON was cut short)."""
    d = make_daemon("")
    tid, _ = mint(d, "alice", "t")
    p = d.path("users/alice/tokens.json")
    for i in range(8):
        read(p)
        os.stat(p)  # the kernel holds this size
        desc = "x" * (10 + i)
        r = subprocess.run([CLIENT, d.config, "--write", str(tid), "description", desc],
                           capture_output=True, cwd=d.workdir)
        assert r.stdout.decode().strip() == "ok", r.stderr
        data = read(p)
        assert json.loads(data)[0]["description"] == desc, (i, data[-40:])


def test_jq_over_every_tokens_json(fs):
    """The bulk path: the ids of every api token, in one jq run."""
    a, _ = mint(fs, "alice", "a", scopes="api")
    mint(fs, "alice", "b", scopes="read_api")
    c, _ = mint(fs, "bob", "c", scopes="api\nread_user")
    r = subprocess.run("jq -r '.[] | select(.scopes | index(\"api\")) | .id'"
                       " users/*/tokens.json", shell=True, cwd=fs.mnt,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert sorted(int(x) for x in r.stdout.split()) == [a, c]


def test_service_account_tokens_may_live_without_expiry(make_daemon):
    d = make_daemon("[tokens]\nservice_accounts_require_expiry = false\n")
    os.mkdir(d.path("users/svc"))
    assert write(d.path("users/svc/kind"), "service_account") == 0
    svc, _ = mint(d, "svc", "deploy")
    human, _ = mint(d, "alice", "ci")
    assert write(d.path("users/svc/tokens/deploy/expires_at"), "\n") == 0
    assert read(d.path("users/svc/tokens/deploy/expires_at")) == b""
    assert os.listdir(d.path("expiring/never")) == [str(svc)]
    assert meta(d, "svc", svc)["expires_at"] is None
    before = snapshot(d)
    assert write(d.path("users/alice/tokens/ci/expires_at"), "\n") == errno.EINVAL
    assert snapshot(d) == before


def test_by_default_service_accounts_need_expiry_too(fs):
    os.mkdir(fs.path("users/svc"))
    assert write(fs.path("users/svc/kind"), "service_account") == 0
    mint(fs, "svc", "deploy")
    before = snapshot(fs)
    assert write(fs.path("users/svc/tokens/deploy/expires_at"), "\n") == errno.EINVAL
    assert snapshot(fs) == before
