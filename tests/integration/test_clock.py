"""Expiry, with the daemon's clock shifted by libfaketime (not by writing past
dates into the store)."""
import datetime
import errno
import os

import pytest

from conftest import FAKETIME_LIB, err_of, mint, read


def shifted(days):
    env = {"LD_PRELOAD": FAKETIME_LIB, "FAKETIME": "+%dd" % days,
           "FAKETIME_DONT_RESET": "1",
           "ASAN_OPTIONS": "detect_leaks=1:verify_asan_link_order=0"}
    return env


@pytest.mark.skipif(not os.path.exists(FAKETIME_LIB), reason="needs faketime")
def test_a_token_expires_at_midnight_of_its_date(make_daemon):
    d = make_daemon()
    tid, _ = mint(d, "alice", "short")
    exp = read(d.path("users/alice/tokens/1/expires_at")).decode().strip()
    d.stop()
    # the day before the expiry date: still active
    d.env = shifted(29)
    d.start()
    assert read(d.path("users/alice/tokens/1/active")) == b"1\n"
    assert read(d.path("users/alice/tokens/short/name")) == b"short\n"
    d.stop()
    # 31 days later the date has passed
    d.env = shifted(31)
    d.start()
    assert read(d.path("users/alice/tokens/1/active")) == b"0\n"
    assert read(d.path("users/alice/tokens/1/revoked")) == b"0\n"
    # the name no longer resolves to it, and may be minted again
    assert err_of(os.stat, d.path("users/alice/tokens/short")) == errno.ENOENT
    os.mkdir(d.path("users/alice/tokens/short"))
    # expiring/<past date> still lists it: how to find what expired that day
    assert os.listdir(d.path("expiring", exp)) == ["1"]
    expired_at = datetime.datetime.strptime(exp, "%Y-%m-%d").replace(
        tzinfo=datetime.timezone.utc).timestamp()
    assert os.stat(d.path("users/alice/tokens/1/active")).st_mtime == expired_at
