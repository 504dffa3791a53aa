"""What a change takes back from the kernel's caches, counted by the metrics
file's patfs_cache_invalidations_total: only the files that follow the
values that changed, in both of a token's places when it has two."""
import os
import time

import pytest

from conftest import mint, read, write

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
    assert 0 < sent <= 16, sent
    # what was taken back reads the new state at once, from the same
    # cached files
    tdir = d.path("users/alice/tokens", str(tid))
    assert read(os.path.join(tdir, "revoked")) == b"1\n"
    assert read(os.path.join(tdir, "active")) == b"0\n"
    assert b'"revoked":true' in read(os.path.join(tdir, "meta.json"))
    assert b'"revoked":true' in read(d.path("users/alice/tokens.json"))
    # a revoked token's description is read-only: its mode follows revoked
    assert os.stat(os.path.join(tdir, "description")).st_mode & 0o222 == 0


def test_a_mint_takes_back_the_listing_and_the_document(make_daemon):
    d = make_daemon(CONFIG)
    tid, _ = mint(d, "alice", "ci")
    cache_everything(d, tid)
    os.listdir(d.path("users/alice/tokens"))
    before = invalidations(d)
    os.mkdir(d.path("users/alice/tokens/deploy"))
    sent = invalidations(d) - before
    assert 0 < sent <= 4, sent
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
    # last_used_at, meta.json, tokens.json
    assert 0 < sent <= 4, sent
    assert read(last) != b""
