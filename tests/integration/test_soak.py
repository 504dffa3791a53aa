"""A short soak: scripts/soak kills the daemon with SIGKILL under 8 busy
processes, 4 times, and checks the store after each kill (integrity, every
acknowledged change, the audit trail replayed). The long run's figures are
in docs/reliability.md."""
import os
import re
import subprocess

from conftest import PATFS, ROOT


def test_a_short_soak_loses_nothing():
    r = subprocess.run([os.path.join(ROOT, "scripts", "soak"), "--rounds", "4",
                        "--seconds", "1", "--bin", PATFS],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    m = re.search(r"soak: 4 rounds, (\d+) acknowledged operations, (\d+) tokens, "
                  r"0 losses", r.stdout)
    assert m, r.stdout
    assert int(m.group(1)) > 100 and int(m.group(2)) > 10
    assert r.stdout.count(", ok") == 4
