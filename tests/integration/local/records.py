"""Print the records of DIR/.hydro as hydro down would read them: state.json,
then the journal state.log replayed over it (a torn last line ignored).  One
line per record: KIND ID PID SERVICE ("-" where a record has none)."""
import json
import os
import sys

d = os.path.join(sys.argv[1], ".hydro")
recs = {}
try:
    with open(os.path.join(d, "state.json")) as f:
        for r in json.load(f)["records"]:
            recs[(r["kind"], r["id"])] = dict(r.get("details") or {})
except (OSError, ValueError):
    pass
try:
    with open(os.path.join(d, "state.log")) as f:
        for line in f:
            if not line.endswith("\n"):
                break
            e = json.loads(line)
            k = (e["kind"], e["id"])
            if e["op"] == "add":
                recs[k] = dict(e.get("details") or {})
            elif e["op"] == "update" and k in recs:
                recs[k].update(e.get("details") or {})
            elif e["op"] == "remove":
                recs.pop(k, None)
except (OSError, ValueError):
    pass
for (kind, rid), det in recs.items():
    print(kind, rid, det.get("pid", "-"), det.get("service", "-"))
