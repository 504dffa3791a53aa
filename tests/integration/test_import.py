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
                      settles, snapshot, store_db, write, write_config)

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
    assert "6 tokens added, 0 updated, 0 unchanged; 4 users, 1 project, 1 group created" \
        in r.stderr
    ids = tokens_by_gitlab_id(d)
    assert sorted(ids) == [4, 5, 6, 8, 42, 43]
    users = settles(lambda: sorted(os.listdir(d.path("users"))),
                    sorted(["jane", "gitlab_jane", "gitlab_user_9",
                            "project_1_bot_0000008d", "group_2_bot_0000008e"]))
    assert users < 1.0
    m = json.loads(read(d.path("users/gitlab_jane/tokens/%d/meta.json" % ids[4])))
    assert m["gitlab_id"] == 4 and m["name"] == "Test Token"
    assert m["gitlab_user_id"] == 3
    assert m["description"] == "Test Token description" and m["scopes"] == ["api"]
    # GitLab's milliseconds too, where meta.json shows its times
    assert m["created_at"] == "2020-07-23T14:31:47.729Z"
    assert m["last_used_at"] == "2021-10-06T17:58:37.550Z"
    assert read(os.path.join(d.path("users/gitlab_jane/tokens/%d" % ids[4]),
                             "created_at")) == b"2020-07-23T14:31:47Z\n"
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
    assert "1 token added, 2 updated, 4 unchanged; 1 user, 0 projects" in r.stderr
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
     "personal_access_tokens[1]: scopes: read_everything is a scope patfs does not know"),
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
    assert r.returncode == 1
    assert "--import-gitlab is for root" in r.stderr and "pepper" not in r.stderr
    assert tokens_by_gitlab_id(d) == {}


# GitLab's facts kept: one place per GitLab id ---------------------------------

# GET /projects/:id/access_tokens as GitLab 13.9's documentation gives it:
# no access_level (Maintainer then), no description, no last_used_at
GITLAB_13_9 = json.loads("""
[
   {
      "user_id" : 141,
      "scopes" : [
         "api"
      ],
      "name" : "token",
      "expires_at" : "2021-01-31",
      "id" : 42,
      "active" : true,
      "created_at" : "2021-01-20T22:11:48.151Z",
      "revoked" : false
   }
]
""")


def import_doc(d, tmp_path, doc, name="inv.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return subprocess.run([PATFS, "-c", d.config, "--import-gitlab", str(path)],
                          cwd=d.workdir, capture_output=True, text=True,
                          timeout=60)


def counts_of(d):
    db = store_db(d)
    got = tuple(db.execute("SELECT count(*) FROM %s" % t).fetchone()[0]
                for t in ("tokens", "users", "resources"))
    db.close()
    return got


def personal(tid, uid, name="t"):
    return {"id": tid, "user_id": uid, "name": name, "revoked": False,
            "created_at": "2024-01-01T00:00:00Z", "scopes": ["api"],
            "expires_at": "2099-01-01"}


def test_a_project_token_without_access_level_is_a_maintainer_s(
        make_daemon, tmp_path):
    d = make_daemon("[notify]\nenabled = false\n")
    doc = {"projects": [{"id": 7, "path_with_namespace": "acme/web",
                         "access_tokens": GITLAB_13_9}]}
    r = import_doc(d, tmp_path, doc)
    assert r.returncode == 0, r.stderr
    (tid,) = [int(t) for t in os.listdir(d.path("projects/acme.web/tokens"))]
    tdir = d.path("projects/acme.web/tokens", str(tid))
    assert read(os.path.join(tdir, "access_level")) == b"maintainer\n"
    m = json.loads(read(os.path.join(tdir, "meta.json")))
    assert m["gitlab_id"] == 42 and m["access_level"] == 40
    assert m["created_at"] == "2021-01-20T22:11:48.151Z"


@pytest.mark.parametrize("doc, said", [
    ({"personal_access_tokens": [personal(4, 3), personal(4, 3, "again")]},
     "personal_access_tokens[0] and personal_access_tokens[1] are one token "
     "(GitLab id 4)"),
    ({"projects": [{"id": 1, "path_with_namespace": "a/b",
                    "access_tokens": [personal(9, 50)]}],
      "groups": [{"id": 2, "full_path": "g",
                  "access_tokens": [personal(9, 50)]}]},
     "projects[0].access_tokens[0] and groups[0].access_tokens[0] are one "
     "token (GitLab id 9)"),
    ({"users": [{"id": 3, "username": "jane"}, {"id": 3, "username": "joe"}],
      "personal_access_tokens": []},
     "users[0] and users[1] are one user (GitLab id 3)"),
    ({"projects": [{"id": 1, "path_with_namespace": "a/b"},
                   {"id": 1, "path_with_namespace": "a/c"}]},
     "projects[0] and projects[1] are one project (GitLab id 1)"),
    # listed as a personal token of another user than its project's bot
    ({"personal_access_tokens": [personal(9, 3)],
      "projects": [{"id": 1, "path_with_namespace": "a/b",
                    "access_tokens": [personal(9, 50)]}]},
     "personal_access_tokens[0] and projects[0].access_tokens[0] are one "
     "token (GitLab id 9)"),
])
def test_an_inventory_that_lists_one_thing_twice_changes_nothing(
        make_daemon, tmp_path, doc, said):
    d = make_daemon("[notify]\nenabled = false\n")
    mint(d, "alice", "a")
    before = counts_of(d)
    r = import_doc(d, tmp_path, doc)
    assert r.returncode == 1 and said in r.stderr, r.stderr
    assert counts_of(d) == before


def test_a_bot_s_token_listed_as_personal_too_stays_its_project_s(
        make_daemon, tmp_path):
    """GET /personal_access_tokens lists bots' tokens too: the same token
    under its project is the project's."""
    d = make_daemon("[notify]\nenabled = false\n")
    doc = {"personal_access_tokens": [personal(42, 141, "token"),
                                      personal(5, 3, "mine")],
           "projects": [{"id": 7, "path_with_namespace": "acme/web",
                         "access_tokens": GITLAB_13_9}]}
    r = import_doc(d, tmp_path, doc)
    assert r.returncode == 0, r.stderr
    assert "2 tokens added" in r.stderr
    assert len(os.listdir(d.path("projects/acme.web/tokens"))) == 1
    bots = [u for u in os.listdir(d.path("users")) if "_bot_" in u]
    assert len(bots) == 1
    assert read(d.path("users", bots[0], "kind")) == b"project_bot\n"
    assert sorted(os.listdir(d.path("users"))) == sorted(bots +
                                                         ["gitlab_user_3"])


def test_a_gitlab_id_keeps_its_owner_and_kind_across_imports(make_daemon,
                                                            tmp_path):
    d = make_daemon("[notify]\nenabled = false\n")
    r = import_doc(d, tmp_path, {"users": [{"id": 3, "username": "jane"}],
                                 "personal_access_tokens": [personal(6, 3)]})
    assert r.returncode == 0, r.stderr
    before = counts_of(d), snapshot(d)
    r = import_doc(d, tmp_path, {"groups": [
        {"id": 2, "full_path": "twitter",
         "access_tokens": [personal(6, 142, "renamed")]}]}, "again.json")
    assert r.returncode == 1, r.stderr
    assert "token id 6 was imported as users/jane/tokens/1, and here it is " \
        "a token of groups/twitter" in r.stderr, r.stderr
    assert (counts_of(d), snapshot(d)) == before
    assert not os.path.exists(d.path("groups/twitter"))


def test_gitlab_s_blocked_users_are_blocked(make_daemon, tmp_path):
    d = make_daemon("[notify]\nenabled = false\n")
    doc = {"users": [{"id": 3, "username": "jane", "state": "blocked"},
                     {"id": 4, "username": "joe", "state": "active"}],
           "personal_access_tokens": [personal(6, 3), personal(7, 4)]}
    r = import_doc(d, tmp_path, doc)
    assert r.returncode == 0, r.stderr
    assert read(d.path("users/jane/blocked")) == b"1\n"
    assert read(d.path("users/joe/blocked")) == b"0\n"
    # and follows GitLab on the next import
    doc["users"][0]["state"] = "active"
    assert import_doc(d, tmp_path, doc, "again.json").returncode == 0
    assert settles(lambda: read(d.path("users/jane/blocked")), b"0\n") < 1
    acts = [(l["action"], l["object"], l.get("reason"))
            for l in audit_lines(d)]
    assert ("user_block", "users/jane", "gitlab_import") in acts
    assert ("user_unblock", "users/jane", "gitlab_import") in acts


def test_gitlab_s_last_used_ips_become_used_from(make_daemon, tmp_path):
    d = make_daemon("[notify]\nenabled = false\n")
    t = personal(4, 3)
    t["last_used_at"] = "2024-03-01T10:00:00Z"
    t["last_used_ips"] = ["203.0.113.7", "2001:db8::1"]
    doc = {"users": [{"id": 3, "username": "jane"}], "personal_access_tokens": [t]}
    r = import_doc(d, tmp_path, doc)
    assert r.returncode == 0, r.stderr
    (tid,) = [int(x) for x in os.listdir(d.path("users/jane/tokens"))]
    got = read(d.path("users/jane/tokens", str(tid), "used_from")).decode().splitlines()
    assert sorted(l.split(" ", 3)[3] for l in got) == \
        ["gitlab client=2001:db8::1", "gitlab client=203.0.113.7"]
    assert all(l.startswith("2024-03-01T10:00:00Z 2024-03-01T10:00:00Z 0 ") for l in got)
    # again: nothing twice
    t["name"] = "renamed"
    assert import_doc(d, tmp_path, doc).returncode == 0
    assert len(read(d.path("users/jane/tokens", str(tid), "used_from")).decode().splitlines()) == 2
    t["last_used_ips"] = ["not an address"]
    r = import_doc(d, tmp_path, doc)
    assert r.returncode != 0 and "last_used_ips" in r.stderr
