"""Importing a GitLab instance's inventory (patfs --import-gitlab): tokens,
projects and groups to audit, updated in place on a second import, nothing
changed by a bad inventory, for root only."""
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


# importing a GitLab inventory ---------------------------------------------------

GITLAB = os.path.join(FIXTURES, "gitlab")


def import_gitlab(d, name):
    return subprocess.run([PATFS, "-c", d.config, "--import-gitlab", os.path.join(GITLAB, name)],
                          cwd=d.workdir, capture_output=True, text=True, timeout=60)


def tokens_by_gitlab_id(d):
    db = store_db(d)
    rows = db.execute("SELECT gitlab_id, id, digest IS NULL, sealed_at IS NOT NULL"
                      " FROM tokens WHERE gitlab_id IS NOT NULL").fetchall()
    db.close()
    assert all(nodigest and sealed for _, _, nodigest, sealed in rows)  # never a secret
    return {g: i for g, i, _, _ in rows}


def test_a_gitlab_inventory_is_imported_to_audit_with_the_tools(make_daemon):
    """GitLab's own responses, imported while mounted: the tree shows them
    within a second (the import is another process), with GitLab's values,
    and nothing of them can be changed or authenticates."""
    d = make_daemon("[notify]\nenabled = false\n")
    mint(d, "jane", "mine")  # a user of patfs's own takes the name first
    r = import_gitlab(d, "inventory.json")
    assert r.returncode == 0, r.stderr
    assert "6 tokens added, 0 updated, 0 unchanged; 4 users, 1 projects, 1 groups" in r.stderr
    ids = tokens_by_gitlab_id(d)
    assert sorted(ids) == [4, 5, 6, 8, 42, 43]
    users = settles(lambda: sorted(os.listdir(d.path("users"))),
                    sorted(["jane", "gitlab_jane", "gitlab_user_9",
                            "project_1_bot_0000008d", "group_2_bot_0000008e"]))
    assert users < 1.0
    m = json.loads(read(d.path("users/gitlab_jane/tokens/%d/meta.json" % ids[4])))
    assert m["gitlab_id"] == 4 and m["name"] == "Test Token"
    assert m["description"] == "Test Token description" and m["scopes"] == ["api"]
    assert m["created_at"] == "2020-07-23T14:31:47Z"
    assert m["last_used_at"] == "2021-10-06T17:58:37Z"
    assert m["expires_at"] is None and m["revoked"] is False and m["active"] is True
    assert json.loads(read(d.path("users/gitlab_jane/tokens/%d/meta.json" % ids[5])))[
        "revoked"] is True
    assert read(d.path("users/gitlab_user_9/tokens/%d/name" % ids[6])) == "ci été\n".encode()
    assert read(d.path("users/gitlab_user_9/tokens/%d/created_at" % ids[6])) == \
        b"2024-05-06T08:20:30Z\n"
    assert read(d.path("users/gitlab_jane/tokens/%d/impersonation" % ids[8])) == b"1\n"
    assert read(d.path("projects/gitlab-org.gitlab/path")) == b"gitlab-org/gitlab\n"
    assert os.listdir(d.path("projects/gitlab-org.gitlab/tokens")) == [str(ids[42])]
    assert read(d.path("projects/gitlab-org.gitlab/tokens/%d/access_level" % ids[42])) == \
        b"maintainer\n"
    assert read(d.path("groups/acme/tokens/%d/access_level" % ids[43])) == b"owner\n"
    # the tools: the guide's "expired on a date" kind of question, with grep
    r = subprocess.run("grep -l '\"gitlab_id\":[0-9]' users/*/tokens/*/meta.json | wc -l",
                       shell=True, cwd=d.mnt, capture_output=True, text=True)
    assert r.stdout.strip() == "6"
    # GitLab's, not patfs's: read-only, no secret, and it never authenticates
    t4 = d.path("users/gitlab_jane/tokens/%d" % ids[4])
    for attr in ("revoked", "description", "expires_at", "rotate"):
        assert os.stat(os.path.join(t4, attr)).st_mode & 0o222 == 0
        assert write(os.path.join(t4, attr), "1") == errno.EPERM  # root: as immutable
    assert not os.path.exists(os.path.join(t4, "token"))
    assert write(d.path("auth/api"), "glpat-" + "a" * 20) == errno.EKEYREJECTED
    assert [l["action"] for l in audit_lines(d)].count("token_import") == 6
    # a restart revokes no imported token (none is unsealed)
    d.stop()
    d.start()
    assert read(os.path.join(t4, "revoked")) == b"0\n"


def test_importing_again_updates_in_place_by_gitlab_s_ids(make_daemon):
    d = make_daemon("[notify]\nenabled = false\n")
    assert import_gitlab(d, "inventory.json").returncode == 0
    before = tokens_by_gitlab_id(d)
    r = import_gitlab(d, "reimport.json")
    assert r.returncode == 0, r.stderr
    assert "1 tokens added, 2 updated, 4 unchanged; 1 users, 0 projects" in r.stderr
    after = tokens_by_gitlab_id(d)
    assert {g: after[g] for g in before} == before and set(after) - set(before) == {44}
    t4 = d.path("users/jane/tokens/%d" % after[4])
    assert settles(lambda: read(os.path.join(t4, "revoked")), b"1\n") < 1.0
    assert read(os.path.join(t4, "description")) == b"leaked, revoked\n"
    assert read(d.path("projects/gitlab-org.gitlab/path")) == b"gitlab-org/gitlab-foss\n"
    assert sorted(os.listdir(d.path("projects/gitlab-org.gitlab/tokens"))) == \
        sorted([str(after[42]), str(after[44])])
    assert read(d.path("projects/gitlab-org.gitlab/tokens/%d/name" % after[42])) == \
        b"token-renamed\n"
    # the array of GET /personal_access_tokens alone is an inventory too
    r = import_gitlab(d, "personal_access_tokens.json")
    assert r.returncode == 0 and "0 tokens added, 1 updated, 3 unchanged" in r.stderr


@pytest.mark.parametrize("mangle, where", [
    (lambda inv: "{not json", "not JSON, at byte 1"),
    (lambda inv: inv["personal_access_tokens"][1]["scopes"].append("read_everything"),
     "personal_access_tokens[1]: scopes: a scope patfs does not know"),
    (lambda inv: inv["personal_access_tokens"][3].update(id="8"),
     "personal_access_tokens[3]: id: expected a whole number"),
    (lambda inv: inv["personal_access_tokens"][2].update(created_at="yesterday"),
     "personal_access_tokens[2]: created_at: expected a time"),
    (lambda inv: inv["personal_access_tokens"][0].update(name="1234"),
     "personal_access_tokens[0]: name: not a name patfs can show"),
    (lambda inv: inv["projects"][0]["access_tokens"][0].update(access_level=35),
     "projects[0].access_tokens[0]: access_level: expected 10, 15, 20, 30, 40 or 50"),
    (lambda inv: inv["groups"][0].update(access_tokens={}),
     "groups[0]: access_tokens: expected an array"),
    (lambda inv: inv.update(users="jane"), "users: expected an array"),
])
def test_a_bad_inventory_changes_nothing(make_daemon, tmp_path, mangle, where):
    """The first bad value is named with its place, and nothing is imported,
    not even what came before it."""
    d = make_daemon("[notify]\nenabled = false\n")
    mint(d, "alice", "a")
    with open(os.path.join(GITLAB, "inventory.json")) as f:
        inv = json.load(f)
    text = mangle(inv)
    bad = tmp_path / "bad.json"
    bad.write_text(text if isinstance(text, str) else json.dumps(inv))
    r = subprocess.run([PATFS, "-c", d.config, "--import-gitlab", str(bad)],
                       cwd=d.workdir, capture_output=True, text=True)
    assert r.returncode == 1 and where in r.stderr, r.stderr
    db = store_db(d)
    assert db.execute("SELECT count(*) FROM tokens").fetchone() == (1,)
    assert db.execute("SELECT count(*) FROM users").fetchone() == (1,)
    assert db.execute("SELECT count(*) FROM resources").fetchone() == (0,)
    db.close()
    assert sorted(os.listdir(d.path("users"))) == ["alice"]


def test_importing_is_for_root(make_daemon):
    d = make_daemon("[notify]\nenabled = false\n")
    os.chmod(d.workdir, 0o755)
    r = subprocess.run(["setpriv", "--reuid=1000", "--regid=1000", "--clear-groups", PATFS,
                        "-c", d.config, "--import-gitlab", os.path.join(GITLAB, "inventory.json")],
                       cwd=d.workdir, capture_output=True, text=True)
    assert r.returncode == 1 and "patfs: error" in r.stderr
    assert tokens_by_gitlab_id(d) == {}
