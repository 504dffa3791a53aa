"""Retention: [tokens] retain_inactive_days removes revoked and expired
tokens inactive for longer from the tree and the store (not from the audit
trail), at the daily run; rotation families stay whole. Under libfaketime."""
import csv
import errno
import io
import os

import pytest

from conftest import (FAKETIME_LIB, audit_lines, err_of, mint, notice_run_ended,
                      read, write, write_config)

pytestmark = pytest.mark.skipif(not os.path.exists(FAKETIME_LIB),
                                reason="needs faketime")

CONFIG = "[notify]\nhour_utc = 0\n[tokens]\nretain_inactive_days = 10\n"


def shifted(days):
    return {"LD_PRELOAD": FAKETIME_LIB, "FAKETIME": "+%dd" % days,
            "FAKETIME_DONT_RESET": "1",
            "ASAN_OPTIONS": "detect_leaks=1:verify_asan_link_order=0"}


def ids(d):
    return sorted(int(t) for t in os.listdir(d.path("users/alice/tokens")))


def test_inactive_tokens_leave_the_tree_and_the_store(make_daemon):
    d = make_daemon(CONFIG)
    gone, _ = mint(d, "alice", "gone")
    assert write(d.path("users/alice/tokens", str(gone), "revoked"), "1") == 0
    short, _ = mint(d, "alice", "short")  # expires in 30 days
    keep, _ = mint(d, "alice", "keep", take=False)
    far = __import__("datetime").date.today() + __import__("datetime").timedelta(days=300)
    assert write(d.path("users/alice/tokens", str(keep), "expires_at"), far.isoformat()) == 0
    read(d.path("users/alice/tokens", str(keep), "token"))
    old, _ = mint(d, "alice", "old", take=False)
    assert write(d.path("users/alice/tokens", str(old), "expires_at"), far.isoformat()) == 0
    read(d.path("users/alice/tokens", str(old), "token"))
    assert write(d.path("users/alice/tokens", str(old), "rotate"), "%s\n" % far.isoformat()) == 0
    new = int(os.readlink(d.path("users/alice/tokens", str(old), "next")).split("/")[-1])
    read(d.path("users/alice/tokens", str(new), "token"))  # else lost at restart
    d.stop()

    d.env = shifted(5)  # nothing is old enough yet
    d.start()
    notice_run_ended(d)
    assert ids(d) == sorted([gone, short, keep, old, new])
    d.stop()

    d.env = shifted(45)
    d.start()
    notice_run_ended(d)
    assert ids(d) == sorted([keep, new])
    for t in (gone, short, old):
        assert err_of(os.stat, d.path("users/alice/tokens", str(t))) == errno.ENOENT
    # the successor stays in its family, without a link to what is gone
    assert err_of(os.lstat, d.path("users/alice/tokens", str(new), "previous")) == errno.ENOENT
    assert b"previous_personal_access_token_id\":null" in \
        read(d.path("users/alice/tokens", str(new), "meta.json"))
    rows = list(csv.DictReader(io.StringIO(read(d.path("credentials.csv")).decode(),
                                           newline="")))
    assert sorted(int(r["token_id"]) for r in rows) == sorted([keep, new])
    assert [r["family_id"] for r in rows if int(r["token_id"]) == new] == [str(old)]
    pruned = [l for l in audit_lines(d) if l["action"] == "token_prune"]
    assert sorted(l["object"] for l in pruned) == sorted(
        "users/alice/tokens/%d" % t for t in (gone, short, old))
    assert {l["reason"] for l in pruned} == {"retain_inactive_days"}
    # the audit trail keeps their history
    assert any(l["action"] == "token_create" and l["object"].endswith("/%d" % gone)
               for l in audit_lines(d))
    # a new token of a pruned one's name is no trouble, and find agrees
    os.mkdir(d.path("users/alice/tokens/gone"))
    st = os.stat(d.path("users/alice/tokens"))
    assert st.st_nlink >= 2 + len(os.listdir(d.path("users/alice/tokens")))


def test_retention_is_off_by_default(make_daemon):
    d = make_daemon("[notify]\nhour_utc = 0\n")
    gone, _ = mint(d, "alice", "gone")
    assert write(d.path("users/alice/tokens", str(gone), "revoked"), "1") == 0
    d.stop()
    d.env = shifted(400)
    d.start()
    notice_run_ended(d)
    assert ids(d) == [gone]
