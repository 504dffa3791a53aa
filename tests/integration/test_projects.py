"""Project and group access tokens: projects/ and groups/, the bots that
hold their tokens, access levels, and removal as GitLab has it."""
import errno
import json
import os
import re
import subprocess

import pytest

from conftest import audit_lines, err_of, read, snapshot, write

OTHER = 1001


def run(d, uid, script):
    r = subprocess.run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
                        "--clear-groups", "bash", "-c", script], cwd=d.mnt,
                       capture_output=True)
    return r.returncode, r.stdout, r.stderr


def mint_in(d, where, name):
    """mkdir <where>/tokens/<name>: the new token's id."""
    before = set(os.listdir(d.path(where, "tokens")))
    os.mkdir(d.path(where, "tokens", name))
    new = set(os.listdir(d.path(where, "tokens"))) - before
    assert len(new) == 1
    return int(new.pop())


@pytest.mark.parametrize("kind", ["projects", "groups"])
def test_a_token_of_a_project_or_group_is_held_by_a_new_bot(fs, kind):
    os.mkdir(fs.path(kind, "web"))
    assert os.listdir(fs.path(kind)) == ["web"]
    assert sorted(os.listdir(fs.path(kind, "web"))) == ["id", "path", "tokens"]
    assert read(fs.path(kind, "web/path")) == b"web\n"
    assert write(fs.path(kind, "web/path"), "gitlab-org/web\n") == 0
    rid = int(read(fs.path(kind, "web/id")))
    tid = mint_in(fs, kind + "/web", "deploy")
    tdir = fs.path(kind, "web/tokens", str(tid))
    bot = read(os.path.join(tdir, "bot")).decode().strip()
    single = kind[:-1]
    assert re.fullmatch(r"%s_%d_bot_[0-9a-f]{8}" % (single, rid), bot), bot
    assert read(os.path.join(tdir, "access_level")) == b"maintainer\n"
    # the bot is a user of its kind, and holds the same token
    assert read(fs.path("users", bot, "kind")) == ("%s_bot\n" % single).encode()
    assert os.listdir(fs.path("users", bot, "tokens")) == [str(tid)]
    assert read(fs.path("users", bot, "tokens", str(tid), "name")) == b"deploy\n"
    # and its secret reads once, through the name too
    secret = read(fs.path(kind, "web/tokens/deploy/token")).decode().strip()
    assert err_of(read, os.path.join(tdir, "token")) == errno.ENOENT
    assert write(fs.path("auth/read_api"), secret) == 0
    m = json.loads(read(os.path.join(tdir, "meta.json")))
    assert m["access_level"] == 40 and m["access_level_name"] == "maintainer"
    assert (m["resource_type"], m["resource_id"], m["resource_path"]) == \
        (single, rid, "gitlab-org/web")
    assert m["kind"] == single + "_bot" and m["username"] == bot
    assert m["path"] == "%s/web/tokens/%d" % (kind, tid)
    # expiring/ links point where the token lives
    date = read(os.path.join(tdir, "expires_at")).decode().strip()
    assert os.readlink(fs.path("expiring", date, str(tid))) == \
        "../../%s/web/tokens/%d" % (kind, tid)
    acts = [(l["action"], l["object"]) for l in audit_lines(fs)]
    assert ("%s_create" % single, "%s/web" % kind) in acts
    assert ("user_create", "users/" + bot) in acts
    assert ("token_create", "%s/web/tokens/%d" % (kind, tid)) in acts


def test_each_token_gets_its_own_bot_and_names_are_per_project(fs):
    os.mkdir(fs.path("projects/a"))
    os.mkdir(fs.path("projects/b"))
    t1 = mint_in(fs, "projects/a", "ci")
    t2 = mint_in(fs, "projects/a", "deploy")
    t3 = mint_in(fs, "projects/b", "ci")     # another project: fine
    assert err_of(os.mkdir, fs.path("projects/a/tokens/ci")) == errno.EEXIST
    bots = {read(fs.path("projects", p, "tokens", str(t), "bot"))
            for p, t in [("a", t1), ("a", t2), ("b", t3)]}
    assert len(bots) == 3
    assert sorted(int(x) for x in os.listdir(fs.path("projects/a/tokens"))) == [t1, t2]
    assert os.stat(fs.path("projects/a/tokens")).st_nlink == 4
    # a revoked name may be minted again
    assert write(fs.path("projects/a/tokens/ci/revoked"), "1") == 0
    t4 = mint_in(fs, "projects/a", "ci")
    assert t4 > t3


@pytest.mark.parametrize("value, want", [
    (b"guest", 0), (b"planner\n", 0), (b"reporter", 0), (b"developer", 0),
    (b"maintainer", 0), (b"owner", 0),
    (b"admin", errno.EINVAL), (b"40", errno.EINVAL), (b"\n", errno.EINVAL),
    (b"Owner", errno.EINVAL), (b"\xff", errno.EINVAL),
])
def test_access_level_takes_gitlab_s_names(fs, value, want):
    os.mkdir(fs.path("projects/p"))
    tid = mint_in(fs, "projects/p", "t")
    p = fs.path("projects/p/tokens", str(tid), "access_level")
    before = snapshot(fs)
    assert write(p, value) == want
    if want:
        assert snapshot(fs) == before
    else:
        name = value.decode().strip()
        assert read(p) == (name + "\n").encode()
        levels = {"guest": 10, "planner": 15, "reporter": 20, "developer": 30,
                  "maintainer": 40, "owner": 50}
        m = json.loads(read(fs.path("projects/p/tokens", str(tid), "meta.json")))
        assert m["access_level"] == levels[name]


def test_access_level_is_fixed_once_sealed_and_kept_by_rotation(fs):
    os.mkdir(fs.path("projects/p"))
    tid = mint_in(fs, "projects/p", "t")
    tdir = fs.path("projects/p/tokens", str(tid))
    assert write(os.path.join(tdir, "access_level"), "developer") == 0
    read(os.path.join(tdir, "token"))
    assert write(os.path.join(tdir, "access_level"), "owner") == errno.EPERM
    assert write(os.path.join(tdir, "rotate"), "1") == 0
    new = int(os.readlink(os.path.join(tdir, "next"))[3:])
    ndir = fs.path("projects/p/tokens", str(new))
    assert read(os.path.join(ndir, "access_level")) == b"developer\n"
    assert read(os.path.join(ndir, "bot")) == read(os.path.join(tdir, "bot"))


def test_personal_tokens_have_no_access_level_nor_bot(fs):
    os.mkdir(fs.path("users/alice"))
    os.mkdir(fs.path("users/alice/tokens/t"))
    names = os.listdir(fs.path("users/alice/tokens/1"))
    assert "access_level" not in names and "bot" not in names
    assert err_of(read, fs.path("users/alice/tokens/1/access_level")) == errno.ENOENT
    assert "access_level" not in json.loads(read(fs.path("users/alice/tokens/1/meta.json")))


def test_a_project_with_active_tokens_cannot_be_removed(fs):
    os.mkdir(fs.path("projects/p"))
    tid = mint_in(fs, "projects/p", "t")
    before = snapshot(fs)
    assert err_of(os.rmdir, fs.path("projects/p")) == errno.ENOTEMPTY
    assert snapshot(fs) == before
    assert write(fs.path("projects/p/tokens", str(tid), "revoked"), "1") == 0
    os.rmdir(fs.path("projects/p"))
    assert os.listdir(fs.path("projects")) == []
    # its tokens stay, under their bots, for the record
    bot = [u for u in os.listdir(fs.path("users")) if u.startswith("project_")][0]
    m = json.loads(read(fs.path("users", bot, "tokens", str(tid), "meta.json")))
    assert m["revoked"] is True and m["path"] == "users/%s/tokens/%d" % (bot, tid)
    # and the name may be used again
    os.mkdir(fs.path("projects/p"))
    assert os.listdir(fs.path("projects/p/tokens")) == []


def test_a_blocked_bot_fails_its_tokens_checks(fs):
    os.mkdir(fs.path("groups/g"))
    tid = mint_in(fs, "groups/g", "t")
    secret = read(fs.path("groups/g/tokens/t/token")).decode().strip()
    bot = read(fs.path("groups/g/tokens", str(tid), "bot")).decode().strip()
    assert write(fs.path("users", bot, "blocked"), "1") == 0
    assert write(fs.path("auth/read_api"), secret) == errno.EKEYREJECTED
    assert read(fs.path("groups/g/tokens", str(tid), "active")) == b"0\n"


@pytest.mark.parametrize("path", [
    b"", b"/", b"a//b", b"/a", b"a/", b"a/../b", b"./a", b"a b", b"x" * 256,
    b"a/\xff", b"a\x00b",
])
def test_path_refuses_what_is_no_path(fs, path):
    os.mkdir(fs.path("projects/p"))
    before = snapshot(fs)
    assert write(fs.path("projects/p/path"), path + b"\n") == errno.EINVAL
    assert snapshot(fs) == before


@pytest.mark.parametrize("name", ["", "a b", "-x", "x" * 256, "caf\u00e9"])
def test_project_names_follow_the_user_name_rules(fs, name):
    if not name:
        return
    want = errno.ENAMETOOLONG if len(name.encode()) > 255 else errno.EINVAL
    assert err_of(os.mkdir, fs.path("projects", name)) == want
    assert os.listdir(fs.path("projects")) == []


def test_projects_and_groups_are_for_admins(fs):
    os.mkdir(fs.path("projects/p"))
    for script in ["ls projects", "mkdir projects/q", "cat projects/p/id",
                   "mkdir projects/p/tokens/x", "ls groups"]:
        rc, _, err = run(fs, OTHER, script)
        assert rc != 0 and b"Permission denied" in err, (script, err)
    assert os.listdir(fs.path("projects")) == ["p"]
    assert os.listdir(fs.path("projects/p/tokens")) == []
    assert os.stat(fs.path("projects")).st_mode & 0o077 == 0


def test_a_project_token_is_found_by_walkers_where_it_lives(fs):
    os.mkdir(fs.path("projects/p"))
    tid = mint_in(fs, "projects/p", "t")
    r = subprocess.run(["find", "projects", "-name", "access_level"],
                       cwd=fs.mnt, capture_output=True, text=True)
    assert r.stdout.split() == ["projects/p/tokens/%d/access_level" % tid]
    r = subprocess.run("grep -rl maintainer projects users | sort", shell=True,
                       cwd=fs.mnt, capture_output=True, text=True)
    assert len(r.stdout.split()) == 5  # access_level, meta.json twice; tokens.json
