#!/usr/bin/env python3
"""dist/etc-ini.py IN OUT STATEDIR LOGDIR - the configuration installed as
/etc/patfs/patfs.ini, made from patfs.ini (every key at its embedded
default): every key is commented out, with its default, but for the few a
service needs set: the store and pepper under STATEDIR, the auth log under
LOGDIR, and the patfs-admin group."""
import re
import sys

SET = {("store", "path"): "%(state)s/patfs.db",
       ("store", "pepper_file"): "%(state)s/patfs.pepper",
       ("auth", "log"): "%(logs)s/auth.log",
       ("access", "admin_group"): "patfs-admin"}

src, dst, state, logs = sys.argv[1:5]
out, section = [], None
for line in open(src):
    line = line.rstrip("\n")
    m = re.match(r"\[(\w+)\]$", line)
    if m:
        section = m.group(1)
    m = re.match(r"(\w+) =( ?)(.*)$", line)
    if m and (section, m.group(1)) in SET:
        value = SET[(section, m.group(1))] % {"state": state, "logs": logs}
        out.append("; default: %s" % line)
        line = "%s = %s" % (m.group(1), value)
    elif m:
        line = "; " + line
    out.append(line)
head = out.index("")  # the file's own header ends at its first blank line
out[:head] = ["; patfs.ini - the configuration of the patfs service (patfs.ini(5)).",
              "; A key commented out holds its embedded default; remove the ; to change",
              "; it. The service reads this file at start (systemctl restart to apply)."]
with open(dst, "w") as f:
    f.write("\n".join(out) + "\n")
