"""Where each token was used from: tokens/<id>/used_from lists the sources
of its passing checks (the daemon's host, the checker's uid and program,
the client it checked for), the latest first, with first and last seen and
a count; a new source is audited; meta.json and the inventory show the
latest."""
import csv
import io
import json
import os
import socket
import subprocess

from conftest import audit_lines, mint, read, write

ALICE = 1000


def check_as(d, uid, secret, client=None):
    """One check by uid through auth/read_api (by cat): 0 or cat's rc."""
    body = secret + ("\nfrom=%s\n" % client if client else "")
    cmd = ["sh", "-c", "cat > auth/read_api"]
    if uid:
        cmd = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
               "--clear-groups"] + cmd
    return subprocess.run(cmd, cwd=d.mnt, input=body.encode()).returncode


def lines(d, tid):
    return read(d.path("users/alice/tokens", str(tid), "used_from")).decode().splitlines()


def test_used_from_lists_each_source_latest_first(make_daemon):
    d = make_daemon("[tokens]\nlast_used_interval_s = 0\n")
    tid, secret = mint(d, "alice", "ci")
    p = d.path("users/alice/tokens", str(tid), "used_from")
    assert read(p) == b"" and os.stat(p).st_size == 0
    host = socket.gethostname()
    assert check_as(d, 0, secret) == 0
    assert check_as(d, ALICE, secret, client="203.0.113.7") == 0
    assert check_as(d, ALICE, secret, client="203.0.113.7") == 0
    assert check_as(d, ALICE, secret, client="198.51.100.1") == 0
    got = lines(d, tid)
    assert os.stat(p).st_size == len(read(p))
    # checks in one second share a time: newest first, then the later row
    assert [l.split(" ", 3)[3] for l in got] == [
        "host=%s uid=%d comm=cat client=198.51.100.1" % (host, ALICE),
        "host=%s uid=%d comm=cat client=203.0.113.7" % (host, ALICE),
        "host=%s uid=0 comm=cat" % host,
    ]
    counts = {l.split(" ", 3)[3].split("client=")[-1]: int(l.split()[2]) for l in got}
    assert counts["203.0.113.7"] == 2 and counts["198.51.100.1"] == 1
    last, first = got[1].split()[:2]
    assert first <= last
    # a new source is audited once, with the source and never the secret
    new = [l for l in audit_lines(d) if l["action"] == "token_new_source"]
    assert len(new) == 3 and new[1]["new"].endswith("client=203.0.113.7")
    assert all(l["object"] == "users/alice/tokens/%d" % tid for l in new)
    assert secret.encode() not in read(d.path("audit.log"))
    # meta.json and the inventory say the latest
    meta = json.loads(read(d.path("users/alice/tokens", str(tid), "meta.json")))
    assert meta["last_used_from"].endswith("client=198.51.100.1")
    row = next(csv.DictReader(io.StringIO(read(d.path("credentials.csv")).decode(),
                                          newline="")))
    assert row["last_used_from"] == meta["last_used_from"]
    # a failed check records nothing
    assert write(d.path("users/alice/tokens", str(tid), "disabled"), "1") == 0
    assert check_as(d, ALICE, secret, client="192.0.2.9") != 0
    assert not any("192.0.2.9" in l for l in lines(d, tid))


def test_only_the_sixteen_latest_are_kept(make_daemon):
    d = make_daemon("[tokens]\nlast_used_interval_s = 0\n")
    tid, secret = mint(d, "alice", "ci")
    for i in range(20):
        assert check_as(d, 0, secret, client="10.0.0.%d" % i) == 0
    got = lines(d, tid)
    assert len(got) == 16
    assert got[0].endswith("client=10.0.0.19") and got[-1].endswith("client=10.0.0.4")


def test_checks_within_the_interval_are_counted_not_written(make_daemon):
    d = make_daemon()  # last_used_interval_s: 600
    tid, secret = mint(d, "alice", "ci")
    for _ in range(5):
        assert write(d.path("auth/read_api"), secret) == 0
    got = lines(d, tid)
    assert len(got) == 1 and got[0].split()[2] == "1"
    assert len([l for l in audit_lines(d) if l["action"] == "token_new_source"]) == 1


def test_used_from_is_the_owners_and_read_only(fs):
    tid, secret = mint(fs, "alice", "ci")
    assert write(fs.path("users/alice/uid"), "%d" % ALICE) == 0
    assert write(fs.path("auth/read_api"), secret) == 0
    p = fs.path("users/alice/tokens", str(tid), "used_from")
    assert os.stat(p).st_mode & 0o777 == 0o400
    r = subprocess.run(["setpriv", "--reuid=1001", "--regid=1001", "--clear-groups",
                        "cat", os.path.relpath(p, fs.mnt)], cwd=fs.mnt,
                       capture_output=True)
    assert r.returncode != 0
    r = subprocess.run(["setpriv", "--reuid=%d" % ALICE, "--regid=%d" % ALICE,
                        "--clear-groups", "cat", os.path.relpath(p, fs.mnt)],
                       cwd=fs.mnt, capture_output=True)
    assert r.returncode == 0 and b"uid=0 " in r.stdout
    assert write(p, "x") != 0


def test_a_new_source_runs_the_notify_command(make_daemon):
    import shutil
    import tempfile
    import time
    box = tempfile.mkdtemp(prefix="patfs-source-", dir="/tmp")
    os.chmod(box, 0o1777)
    try:
        d = make_daemon("[tokens]\nlast_used_interval_s = 0\n"
                        "[notify]\ncommand = env > %s/s.$PATFS_TOKEN_ID.$$\n" % box)
        tid, secret = mint(d, "alice", "ci")
        assert check_as(d, ALICE, secret, client="203.0.113.7") == 0
        assert check_as(d, ALICE, secret, client="203.0.113.7") == 0  # not new
        t0 = time.monotonic()
        while not os.listdir(box) and time.monotonic() - t0 < 10:
            time.sleep(0.05)
        time.sleep(0.5)  # a second one would have come by now
        runs = os.listdir(box)
        assert len(runs) == 1 and runs[0].startswith("s.%d." % tid)
        text = open(os.path.join(box, runs[0])).read()
        env = dict(l.split("=", 1) for l in text.splitlines() if "=" in l)
        assert env["PATFS_EVENT"] == "new_source"
        assert env["PATFS_SOURCE"].endswith("uid=%d comm=cat client=203.0.113.7" % ALICE)
        assert env["PATFS_TOKEN_PATH"] == "users/alice/tokens/%d" % tid
        assert secret not in text and secret[6:] not in text
    finally:
        shutil.rmtree(box)
