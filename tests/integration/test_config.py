"""patfs.ini: every key optional; bad ones stop the daemon, naming file,
line and key."""
import os

import pytest

from conftest import PG, mint, read, write, ROOT


@pytest.mark.parametrize("text,needle", [
    ("[tokens]\nbogus = 1\n", "patfs.ini:2: [tokens] bogus: unknown key"),
    ("[store]\npath = x.db\n[nope]\n", "patfs.ini:3: [nope]: unknown section"),
    ("[tokens]\nmax_lifetime_days = soon\n", "patfs.ini:2: [tokens] max_lifetime_days"),
    ("\n\n[tokens]\ndefault_scopes = api, nonsense\n", "patfs.ini:4: [tokens] default_scopes"),
    ("[tokens]\nrequire_expiry = perhaps\n", "[tokens] require_expiry"),
    ("[tokens]\ndefault_lifetime_days = 400\n", "default_lifetime_days: exceeds max_lifetime_days"),
    ("[access]\nadmin_group = no-such-group-here\n", "[access] admin_group: no such group"),
    ("[tokens]\nprefix = bad prefix\n", "[tokens] prefix"),
    ("this is not ini\n", "patfs.ini:1: syntax error"),
    ("[metrics]\nmode = 0755\n", "patfs.ini:2: [metrics] mode: expected an octal mode"),
])
def test_bad_config_stops_the_daemon(make_daemon, text, needle):
    d = make_daemon(text, start=False)
    assert d.start(expect_fail=True) != 0
    err = d.read_stderr()
    assert needle in err, err
    assert not os.path.ismount(d.mnt)
    open(d.stderr_path, "w").close()  # the error was expected


def test_documented_defaults_file_is_valid(make_daemon, tmp_path):
    text = open(os.path.join(ROOT, "patfs.ini")).read()
    d = make_daemon(text)
    mint(d, "alice", "x")
    assert read(d.path("users/alice/tokens/1/scopes")) == b"read_api\n"


def test_config_changes_behaviour(make_daemon):
    d = make_daemon("[store]\npath = sub.db\npepper_file = sub.pepper\n"
                    "[tokens]\nprefix = xyz-\ndefault_scopes = api read_user\n"
                    "require_expiry = false\ndefault_lifetime_days = 0\n")
    _, secret = mint(d, "alice", "x")
    assert secret.startswith("xyz-") and len(secret) == 24
    assert read(d.path("users/alice/tokens/1/scopes")) == b"api\nread_user\n"
    assert read(d.path("users/alice/tokens/1/expires_at")) == b""
    assert os.path.exists(os.path.join(d.workdir, "sub.pepper"))
    # path is SQLite's: on PostgreSQL the store is the dsn's database
    assert os.path.exists(os.path.join(d.workdir, "sub.db")) != PG
