"""The man page's EXAMPLES as a reader copies them from man(1): rendered,
cut at their comments and run in a mount with tokens, each giving what the
page says it gives."""
import datetime
import os
import re
import subprocess

import pytest

from conftest import PATFS, mint, read, store_db, write

BUILD = os.path.dirname(PATFS)
DAY = "2024-05-22"  # the date the page's examples ask about


def snippets():
    """{comment: commands} of the second code block of EXAMPLES, as
    `man -l build/patfs.8` prints it."""
    r = subprocess.run(["man", "-l", os.path.join(BUILD, "patfs.8")],
                       env=dict(os.environ, MANWIDTH="250", LANG="C.UTF-8"),
                       capture_output=True, text=True, check=True)
    section = r.stdout.split("\nEXAMPLES\n")[1].split("\nEXIT STATUS\n")[0]
    block = section.split("one-liners run in the mount:\n")[1]
    lines = [l for l in block.splitlines() if l.strip()]
    indent = min(len(l) - len(l.lstrip()) for l in lines)
    out, comment = {}, None
    for l in lines:
        l = l[indent:]
        if l.startswith("# "):
            comment = l[2:] if comment is None or out.get(comment) else \
                comment + " " + l[2:]
            out.setdefault(comment, "")
        else:
            out[comment] += l + "\n"
    return {c: code for c, code in out.items() if code}


def find(snips, words):
    (code,) = [c for k, c in snips.items() if k.startswith(words)]
    return code


def run(d, code, env=None):
    r = subprocess.run(["bash", "-c", code], cwd=d.mnt, capture_output=True, text=True,
                       env=dict(os.environ, **(env or {})), timeout=60)
    assert r.returncode == 0, (code, r.stderr)
    return r.stdout


@pytest.fixture
def tree(make_daemon):
    """alice's ci and a project's deploy expired on DAY, alice's keep without
    expiry, blocked bob's, carol's soon (3 days) and leaked."""
    d = make_daemon("[tokens]\nrequire_expiry = false\n[notify]\nenabled = false\n")
    ids = {}
    ids["ci"], _ = mint(d, "alice", "ci", scopes="api")
    ids["keep"], _ = mint(d, "alice", "keep")
    assert write(d.path("users/alice/tokens/keep/expires_at"), "\n") == 0
    ids["bob"], _ = mint(d, "bob", "b")
    assert write(d.path("users/bob/blocked"), "1") == 0
    ids["soon"], _ = mint(d, "carol", "soon")
    soon = (datetime.date.today() + datetime.timedelta(days=3)).isoformat()
    assert write(d.path("users/carol/tokens/soon/expires_at"), soon) == 0
    ids["leaked"], leaked = mint(d, "carol", "leaked")
    os.mkdir(d.path("projects/web"))
    assert write(d.path("projects/web/path"), "acme/web") == 0
    os.mkdir(d.path("projects/web/tokens/deploy"))
    (ids["deploy"],) = [int(t) for t in os.listdir(d.path("projects/web/tokens"))]
    read(d.path("projects/web/tokens/deploy/token"))  # taken: a restart keeps it
    day = (datetime.date.fromisoformat(DAY) - datetime.date(1970, 1, 1)).days
    db = store_db(d)
    db.execute("UPDATE tokens SET expires_at = ? WHERE id IN (?, ?)",
               (day, ids["ci"], ids["deploy"]))
    db.close()
    d.stop()  # a change behind the daemon's back: start afresh
    d.start()
    d.ids, d.leaked = ids, leaked
    return d


def test_the_guide_s_one_liners_run_as_man_prints_them(tree):
    d, ids = tree, tree.ids
    s = snippets()
    assert len(s) == 11, list(s)
    out = run(d, find(s, "tokens expiring on a date")).split()
    assert sorted(out[:2]) == sorted([str(ids["ci"]), str(ids["deploy"])])
    assert str(ids["keep"]) in out[2:]
    assert "2 %s" % DAY in run(d, find(s, "the ten dates")).splitlines()
    rid = read(d.path("projects/web/id")).decode().strip()
    assert sorted(run(d, find(s, "expired on a date")).splitlines()) == sorted([
        'Expired Personal access token of alice, Token ID: %d, Name: ci, '
        'Scopes: ["api"], Last used: null' % ids["ci"],
        'Expired Project access token in Project ID %s, Token ID: %d, Name: deploy, '
        'Scopes: ["read_api"], Last used: null' % (rid, ids["deploy"])])
    assert run(d, find(s, "every project token")) == \
        "acme/web %d deploy maintainer\n" % ids["deploy"]
    assert run(d, find(s, "tokens of blocked users")).split() == \
        ["users/bob/tokens/%d" % ids["bob"]]
    assert run(d, find(s, "tokens not used for 90 days")) == ""
    assert run(d, find(s, "every active token that never expires")) == \
        "users/alice/tokens/%d\n" % ids["keep"]
    out = run(d, find(s, "which tokens a leaked text holds"), {"LEAKED": d.leaked})
    assert out == "1:%d %d carol active users/carol/tokens/%d\n" % (
        len('curl -H "PRIVATE-TOKEN: ') + 1, ids["leaked"], ids["leaked"])
    out = run(d, find(s, "revoke a leaked token"), {"LEAKED": d.leaked})
    assert out == "users/carol/tokens/%d\n" % ids["leaked"]
    assert read(d.path("users/carol/tokens/%d/revoked" % ids["leaked"])) == b"1\n"
    run(d, find(s, "extend every non-impersonation token"))
    later = subprocess.run(["date", "-u", "-d", "+6 months", "+%F"], capture_output=True,
                           text=True).stdout
    for t in ("ci", "deploy"):
        path = d.path("users/alice/tokens/%d" % ids[t]) if t == "ci" else \
            d.path("projects/web/tokens/%d" % ids[t])
        assert read(os.path.join(path, "expires_at")).decode() == later
    out = run(d, find(s, "what expires this week"))
    assert out.split() == [str(ids["soon"])]
    assert os.path.islink(d.path("users/carol/tokens/%d/next" % ids["soon"]))
    assert re.fullmatch(r"\d+", os.readlink(
        d.path("users/carol/tokens/%d/next" % ids["soon"])).split("/")[-1])
