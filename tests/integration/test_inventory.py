"""credentials.csv and credentials.json: every token the caller may see in
one read, agreeing with the tree row for row, exact in stat, one snapshot
per open, and kept in the page cache while nothing changes."""
import csv
import errno
import io
import json
import os
import subprocess
import threading
import time

from conftest import counts, err_of, mint, read, write

ALICE = 1000  # owns users/alice
BOB = 1001    # owns nothing

HEADER = ["user", "user_kind", "token_id", "name", "scopes", "created_at",
          "expires_at", "last_used_at", "last_used_from", "revoked",
          "disabled", "active",
          "resource_type", "resource_path", "access_level", "family_id",
          "gitlab_id", "path"]


def as_uid(d, uid, *argv):
    r = subprocess.run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
                        "--clear-groups"] + list(argv), cwd=d.mnt,
                       capture_output=True, timeout=30)
    return r.returncode, r.stdout, r.stderr.decode()


def rows(data):
    return list(csv.DictReader(io.StringIO(data.decode(), newline="")))


def populate(d):
    """alice: two tokens (one with a comma and a quote in its name), one
    revoked, one disabled, one impersonation; bob's; a project's."""
    a1, s1 = mint(d, "alice", "ci")
    a2, _ = mint(d, "alice", 'we,"ird')
    a3, _ = mint(d, "alice", "old")
    a4, _ = mint(d, "alice", "off", scopes="api\nread_user")
    assert write(d.path("users/alice/tokens", str(a3), "revoked"), "1") == 0
    assert write(d.path("users/alice/tokens", str(a4), "disabled"), "1") == 0
    imp, _ = mint(d, "alice", "imp", take=False)
    assert write(d.path("users/alice/tokens", str(imp), "impersonation"), "1") == 0
    read(d.path("users/alice/tokens", str(imp), "token"))
    b1, _ = mint(d, "bob", "deploy")
    os.mkdir(d.path("projects/web"))
    os.mkdir(d.path("projects/web/tokens/bot"))
    assert write(d.path("projects/web/tokens/bot/access_level"), "developer") == 0
    read(d.path("projects/web/tokens/bot/token"))
    assert write(d.path("auth/read_api"), s1) == 0  # last_used_at
    assert write(d.path("users/alice/uid"), "%d" % ALICE) == 0
    return {"a1": a1, "a2": a2, "a3": a3, "a4": a4, "imp": imp, "b1": b1}


def tree_tokens(d):
    """Every token directory in the tree: {id: path}."""
    out = {}
    for top in ("users", "projects", "groups"):
        for owner in os.listdir(d.path(top)):
            tdir = d.path(top, owner, "tokens")
            for t in os.listdir(tdir):
                out.setdefault(int(t), os.path.join(tdir, t))
    return out


def value(path, name):
    return read(os.path.join(path, name)).decode().rstrip("\n")


def test_both_forms_parse_and_agree_with_the_tree_row_for_row(fs):
    populate(fs)
    data = read(fs.path("credentials.csv"))
    assert data.startswith(b",".join(h.encode() for h in HEADER) + b"\r\n")
    assert data.endswith(b"\r\n") and data.count(b"\r\n") == data.count(b"\n")
    table = rows(data)
    doc = json.loads(read(fs.path("credentials.json")))
    tree = tree_tokens(fs)
    assert [int(r["token_id"]) for r in table] == sorted(tree) == \
        [m["id"] for m in doc]
    for r, m in zip(table, doc):
        path = tree[int(r["token_id"])]
        assert m == json.loads(read(os.path.join(path, "meta.json")))
        assert r["name"] == value(path, "name") == m["name"]
        assert r["scopes"].split(" ") == value(path, "scopes").split("\n")
        assert r["created_at"] == value(path, "created_at")
        assert r["expires_at"] == value(path, "expires_at")
        assert r["last_used_at"] == value(path, "last_used_at")
        for flag in ("revoked", "disabled", "active"):
            assert r[flag] == {"1": "true", "0": "false"}[value(path, flag)]
        assert r["path"] == m["path"] and os.path.isdir(fs.path(r["path"]))
        assert r["family_id"] == str(m["family_id"])
    by_name = {r["name"]: r for r in table}
    assert 'we,"ird' in by_name and by_name["ci"]["last_used_at"] != ""
    bot = by_name["bot"]
    assert (bot["user_kind"], bot["resource_type"], bot["resource_path"],
            bot["access_level"], bot["path"]) == \
        ("project_bot", "project", "web", "developer",
         "projects/web/tokens/%s" % bot["token_id"])
    assert by_name["off"]["disabled"] == "true" and by_name["off"]["active"] == "false"
    assert by_name["old"]["revoked"] == "true"
    # python's csv and csv.writer agree on every byte
    out = io.StringIO(newline="")
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(HEADER)
    for r in table:
        w.writerow([r[h] for h in HEADER])
    assert out.getvalue().encode() == data


def test_stat_is_exact_and_each_open_reads_one_snapshot(fs):
    ids = populate(fs)
    for name in ("credentials.csv", "credentials.json"):
        p = fs.path(name)
        assert os.stat(p).st_size == len(read(p))
    p = fs.path("credentials.csv")
    with open(p, "rb") as before:
        head = before.read(10)
        assert write(fs.path("users/bob/tokens", str(ids["b1"]), "revoked"), "1") == 0
        old = rows(head + before.read())
    new = rows(read(p))
    assert os.stat(p).st_size == len(read(p))
    pick = lambda t: [r["revoked"] for r in t if r["token_id"] == str(ids["b1"])]
    assert pick(old) == ["false"] and pick(new) == ["true"]
    # tools that trust the size copy every byte
    subprocess.run(["cp", p, fs.workdir + "/copy.csv"], check=True)
    assert read(fs.workdir + "/copy.csv") == read(p)
    r = subprocess.run(["wc", "-l", p], capture_output=True, text=True, check=True)
    assert int(r.stdout.split()[0]) == 1 + len(new)


def test_a_user_sees_their_own_and_a_stranger_nothing(fs):
    ids = populate(fs)
    rc, out, err = as_uid(fs, ALICE, "cat", "credentials.csv")
    assert rc == 0, err
    mine = rows(out)
    # not bob's, not the project's, not the impersonation token
    assert sorted(int(r["token_id"]) for r in mine) == \
        sorted([ids["a1"], ids["a2"], ids["a3"], ids["a4"]])
    rc, out, _ = as_uid(fs, ALICE, "stat", "-c", "%s %U", "credentials.json")
    size = int(out.split()[0])
    rc, doc, _ = as_uid(fs, ALICE, "cat", "credentials.json")
    assert len(doc) == size and len(json.loads(doc)) == 4
    rc, out, _ = as_uid(fs, BOB, "cat", "credentials.json")
    assert rc == 0 and json.loads(out) == []
    rc, out, _ = as_uid(fs, BOB, "cat", "credentials.csv")
    assert rows(out) == [] and out.startswith(b"user,user_kind,")
    # the administrators' view after theirs: every token again
    assert len(rows(read(fs.path("credentials.csv")))) == len(tree_tokens(fs))
    # read-only for everyone
    for name in ("credentials.csv", "credentials.json"):
        assert err_of(os.open, fs.path(name), os.O_WRONLY) in (errno.EACCES, errno.EPERM)
        assert err_of(os.unlink, fs.path(name)) == errno.EPERM


def test_an_unchanged_inventory_is_read_from_the_page_cache(make_daemon):
    d = make_daemon(args=["-o", "debug_statements"])
    for i in range(60):  # several pages
        mint(d, "alice", "t%d" % i)
    p = d.path("credentials.json")
    first = read(p)
    assert len(first) > 4 * 4096
    since = len(d.read_stderr())
    assert read(p) == first
    got = counts(d, since)
    assert ("READ", "credentials") not in got, got
    assert write(d.path("users/alice/tokens/t59/revoked"), "1") == 0
    since = len(d.read_stderr())
    data = read(p)
    assert ("READ", "credentials") in counts(d, since)
    assert os.stat(p).st_size == len(data)
    assert json.loads(data)[59]["revoked"] is True


def test_racing_readers_and_a_writer_see_whole_snapshots(fs):
    for i in range(30):
        mint(fs, "alice", "t%d" % i)
    stop = time.monotonic() + 2
    bad, reads = [], [0]

    def writer():
        v = 0
        while time.monotonic() < stop:
            v += 1
            assert write(fs.path("users/alice/tokens/t0/description"),
                         "x" * (v % 7)) == 0

    def reader(name):
        while time.monotonic() < stop:
            data = read(fs.path(name))
            try:
                n = len(json.loads(data)) if name.endswith("json") \
                    else len(rows(data))
                if n != 30:
                    bad.append(n)
            except ValueError as e:
                bad.append(str(e))
            reads[0] += 1

    ts = [threading.Thread(target=writer)] + \
        [threading.Thread(target=reader, args=(n,))
         for n in ("credentials.json", "credentials.csv") * 2]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert bad == [] and reads[0] > 10
