"""The metrics file: what the store holds, for admins only, written whole
to a textfile for node_exporter; and what a change takes back from the
kernel's caches (patfs_cache_invalidations_total): only the files that
follow the values that changed."""
import datetime
import errno
import json
import os
import re
import shutil
import sqlite3
import subprocess
import threading
import time

import pytest

from conftest import (FAKETIME_LIB, PATFS, PG, ROOT, Daemon, StoreDB, audit_lines, mint, read,
                      settles, store_db, write, write_config)

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "fixtures")


# metrics ----------------------------------------------------------------------

def families(text):
    """{name: {labels as a sorted tuple: value}} through prometheus_client's
    own parser (Debian's python3-prometheus-client)."""
    parser = pytest.importorskip("prometheus_client.parser")
    out = {}
    for fam in parser.text_string_to_metric_families(text):
        for s in fam.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out


def test_metrics_say_what_the_store_holds(make_daemon):
    d = make_daemon("[notify]\nenabled = false\n[tokens]\nlast_used_interval_s = 0\n")
    ok, secret = mint(d, "alice", "ci", scopes="api")
    mint(d, "alice", "in5", take=True)
    assert write(d.path("users/alice/tokens/in5/expires_at"),
                 (datetime.date.today() + datetime.timedelta(days=5)).isoformat()) == 0
    imp, _ = mint(d, "alice", "imp", take=False)
    assert write(d.path("users/alice/tokens/imp/impersonation"), "1") == 0
    read(d.path("users/alice/tokens/imp/token"))
    gone, gone_secret = mint(d, "alice", "gone")
    assert write(d.path("users/alice/tokens/gone/revoked"), "1") == 0
    os.mkdir(d.path("users/svc"))
    assert write(d.path("users/svc/kind"), "service_account") == 0
    mint(d, "svc", "robot")
    mint(d, "bob", "b1")
    assert write(d.path("users/bob/blocked"), "1") == 0
    os.mkdir(d.path("projects/web"))
    os.mkdir(d.path("projects/web/tokens/deploy"))
    os.mkdir(d.path("groups/acme"))
    os.mkdir(d.path("groups/acme/tokens/deploy"))
    assert write(d.path("users/alice/tokens/ci/rotate"), "1") == 0
    db = store_db(d)
    old = db.execute("SELECT id FROM tokens WHERE name = 'robot'").fetchone()[0]
    db.execute("UPDATE tokens SET expires_at = expires_at - 400 WHERE id = ?", (old,))
    db.commit()  # expired, behind patfs's back: metrics read the store
    for s, want in ((secret, errno.EKEYREVOKED), (gone_secret, errno.EKEYREVOKED),
                    ("glpat-" + "x" * 20, errno.EKEYREJECTED)):
        assert write(d.path("auth/api"), s) == want
    opens = 0
    for _ in range(3):
        read(d.path("users/alice/id"))
        opens += 1

    st = os.stat(d.path("metrics"))
    text = read(d.path("metrics")).decode()
    assert st.st_size == len(text) and st.st_mode & 0o777 == 0o400  # no admin group
    m = families(text)

    # tokens by kind and state, against the store's own rows
    today = (datetime.datetime.now(datetime.timezone.utc).date()
             - datetime.date(1970, 1, 1)).days
    want = {}
    for imp_, ukind, blocked, revoked, exp in db.execute(
            "SELECT t.impersonation, u.kind, u.blocked, t.revoked_at, t.expires_at"
            " FROM tokens t JOIN users u ON u.id = t.user_id"):
        kind = ("impersonation" if imp_ else
                ["personal", "service_account", "project", "group"][ukind])
        state = ("revoked" if revoked is not None else
                 "expired" if exp is not None and exp <= today else
                 "blocked" if blocked else "active")
        want[kind, state] = want.get((kind, state), 0) + 1
    got = {(dict(k)["kind"], dict(k)["state"]): v for k, v in m["patfs_tokens"].items() if v}
    assert got == want
    assert want == {("personal", "active"): 2, ("personal", "revoked"): 2,
                    ("personal", "blocked"): 1, ("impersonation", "active"): 1,
                    ("service_account", "expired"): 1, ("project", "active"): 1,
                    ("group", "active"): 1}
    within = {dict(k)["within_days"]: v for k, v in m["patfs_tokens_expiring"].items()}
    links = {n: len(os.listdir(d.path("expiring/within/%sd" % n))) for n in ("7", "30", "60")}
    assert within == {n: float(c) for n, c in links.items()}
    assert within["7"] == 2.0  # in5, and ci's successor (a rotation gives 7 days)
    db.close()

    checks = {dict(k)["reason"]: v for k, v in m["patfs_auth_checks_total"].items()}
    assert checks["token_revoked"] == 2 and checks["token_invalid"] == 1
    assert checks["none"] == 0 and len(checks) == 11
    assert m["patfs_tokens_minted_total"][()] == 8  # rotation's successor is token_rotate's
    assert m["patfs_tokens_revoked_total"][()] == 1
    assert m["patfs_tokens_rotated_total"][()] == 1

    opened = {dict(k)["le"]: v for k, v in m["patfs_fuse_request_duration_seconds_bucket"].items()
              if dict(k)["op"] == "OPEN"}
    count = m["patfs_fuse_request_duration_seconds_count"][(("op", "OPEN"),)]
    assert opened["+Inf"] == count >= opens
    assert sorted(opened.values()) == [opened[k] for k in sorted(opened, key=lambda x: float(x))]
    if PG:
        (db_bytes,), = store_db(d).execute("SELECT pg_database_size(current_database())")
    else:
        db_bytes = sum(os.path.getsize(os.path.join(d.workdir, f))
                       for f in ("patfs.db", "patfs.db-wal"))
    assert abs(m["patfs_store_bytes"][()] - db_bytes) < 1 << 20
    assert m["patfs_notice_last_run_timestamp_seconds"][()] == 0  # notices are off
    assert abs(m["patfs_start_time_seconds"][()] - time.time()) < 60


def test_metrics_are_for_admins(make_daemon):
    d = make_daemon("")
    r = subprocess.run(["setpriv", "--reuid=1000", "--regid=1000", "--clear-groups",
                        "cat", d.path("metrics")], capture_output=True)
    assert r.returncode == 1 and b"Permission denied" in r.stderr and r.stdout == b""


def test_metrics_textfile_is_replaced_whole_every_interval(make_daemon, tmp_path):
    out = tmp_path / "prom" / "patfs.prom"
    out.parent.mkdir()
    d = make_daemon("[notify]\nenabled = false\n[metrics]\ntextfile = %s\ninterval_s = 1\n" % out)
    deadline = time.time() + 5
    while not out.exists() and time.time() < deadline:
        time.sleep(0.05)
    first = families(out.read_text())
    assert first["patfs_tokens_minted_total"][()] == 0
    mint(d, "alice", "a")
    deadline = time.time() + 5
    while time.time() < deadline:
        if families(out.read_text())["patfs_tokens_minted_total"][()] == 1:
            break
        time.sleep(0.1)
    assert families(out.read_text())["patfs_tokens_minted_total"][()] == 1
    assert os.listdir(out.parent) == ["patfs.prom"]  # no .tmp left behind
    assert os.stat(out).st_mode & 0o777 == 0o640  # metrics is admins'


def test_the_textfile_takes_its_mode_from_the_configuration(make_daemon, tmp_path):
    out = tmp_path / "patfs.prom"
    make_daemon("[notify]\nenabled = false\n[metrics]\ntextfile = %s\n"
                "interval_s = 1\nmode = 0604\n" % out)
    deadline = time.time() + 5
    while not out.exists() and time.time() < deadline:
        time.sleep(0.05)
    assert os.stat(out).st_mode & 0o777 == 0o604


# invalidations ----------------------------------------------------------------

CONFIG = "[notify]\nenabled = false\n[tokens]\nlast_used_interval_s = 0\n"


def invalidations(d):
    """The daemon's invalidations so far, from a rendering of metrics made
    after every reply so far (metrics renders at most once a second)."""
    parser = pytest.importorskip("prometheus_client.parser")
    time.sleep(1.1)
    total = 0
    text = read(d.path("metrics")).decode()
    for fam in parser.text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == "patfs_cache_invalidations_total":
                total += s.value
    return int(total)


def cache_everything(d, tid):
    """Reads every file of the token, so the kernel holds them all."""
    tdir = d.path("users/alice/tokens", str(tid))
    for name in os.listdir(tdir):
        path = os.path.join(tdir, name)
        if not os.path.islink(path) and name != "token":
            read(path)
    read(d.path("users/alice/tokens.json"))


def test_a_revoke_takes_back_only_what_follows_revoked(make_daemon):
    d = make_daemon(CONFIG)
    tid, _ = mint(d, "alice", "ci")
    cache_everything(d, tid)
    before = invalidations(d)
    assert write(d.path("users/alice/tokens/ci/revoked"), "1") == 0
    sent = invalidations(d) - before
    assert 0 < sent <= 18, sent  # and credentials.csv, .json
    # what was taken back reads the new state at once, from the same
    # cached files
    tdir = d.path("users/alice/tokens", str(tid))
    assert read(os.path.join(tdir, "revoked")) == b"1\n"
    assert read(os.path.join(tdir, "active")) == b"0\n"
    assert b'"revoked":true' in read(os.path.join(tdir, "meta.json"))
    assert b'"revoked":true' in read(d.path("users/alice/tokens.json"))
    # a revoked token's description is read-only: its mode follows revoked
    assert os.stat(os.path.join(tdir, "description")).st_mode & 0o222 == 0


def test_a_project_token_s_revoke_takes_back_each_file_once(make_daemon):
    """A project's token lies in two places, below its bot and below the
    project: its directories are two inodes, each file one inode with two
    links, so a revoke takes back no more with both places held."""
    d = make_daemon(CONFIG)
    os.mkdir(d.path("projects/web"))
    os.mkdir(d.path("projects/web/tokens/deploy"))
    (tid,) = [int(n) for n in os.listdir(d.path("projects/web/tokens"))]
    (bot,) = [u for u in os.listdir(d.path("users")) if "_bot_" in u]
    places = [d.path("users", bot, "tokens", str(tid)),
              d.path("projects/web/tokens", str(tid))]
    for tdir in places:
        for name in os.listdir(tdir):
            if not os.path.islink(os.path.join(tdir, name)) and name != "token":
                read(os.path.join(tdir, name))
    a, b = (os.stat(os.path.join(t, "revoked")) for t in places)
    assert (a.st_ino, a.st_nlink) == (b.st_ino, 2)
    assert os.stat(places[0]).st_ino != os.stat(places[1]).st_ino
    before = invalidations(d)
    assert write(os.path.join(places[1], "revoked"), "1") == 0
    sent = invalidations(d) - before
    assert 0 < sent <= 18, sent  # and credentials.csv, .json
    for tdir in places:
        assert read(os.path.join(tdir, "active")) == b"0\n"
        assert b'"revoked":true' in read(os.path.join(tdir, "meta.json"))


def test_a_mint_takes_back_the_listing_and_the_document(make_daemon):
    d = make_daemon(CONFIG)
    tid, _ = mint(d, "alice", "ci")
    cache_everything(d, tid)
    os.listdir(d.path("users/alice/tokens"))
    before = invalidations(d)
    os.mkdir(d.path("users/alice/tokens/deploy"))
    sent = invalidations(d) - before
    assert 0 < sent <= 6, sent  # and credentials.csv, .json
    assert "deploy" not in os.listdir(d.path("users/alice/tokens"))
    assert len(os.listdir(d.path("users/alice/tokens"))) == 2


def test_an_auth_check_takes_back_last_used_at(make_daemon):
    d = make_daemon(CONFIG)
    tid, secret = mint(d, "alice", "ci", scopes="api")
    cache_everything(d, tid)
    last = d.path("users/alice/tokens", str(tid), "last_used_at")
    assert read(last) == b""
    before = invalidations(d)
    assert write(d.path("auth/api"), secret) == 0
    sent = invalidations(d) - before
    # last_used_at, meta.json, tokens.json, used_from, credentials.csv, .json
    assert 0 < sent <= 6, sent
    assert read(last) != b""
