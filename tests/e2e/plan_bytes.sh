#!/bin/sh
# End-to-end: a fallback's messages go out with the bytes `plan --explain`
# rendered when it was planned, although the template catalog changed in
# between (the same names and languages, other content).  Plan; record each
# message's bytes from --explain (the "bytes:" lines); import the changed
# catalog; send to the mock Cloud API (its log keeps the raw request
# bodies); customers consent; reconcile; send the session parts.  Every
# request the mock accepted must equal, byte for byte, what --explain showed
# for its callback data, and the stored bodies must too.
set -eu
. "$(dirname "$0")/lib.sh"
. "$SUF_SOURCE_DIR/scripts/pipeline.sh"
D=$SUF_SCRATCH
NIGHT1=2026-11-24T02:00:00Z
NIGHT1_EPOCH=1795485600
HOUR1=2026-11-24T08:00:00Z
HOUR1_EPOCH=$((NIGHT1_EPOCH + 6 * 3600))

pipeline_setup "$D"
mock_start "$D" "$NIGHT1_EPOCH"
printf '[plan]\nfallback = on\n' >> "$D/suf.conf"
suf() { "$SUF" -c "$D/suf.conf" "$@"; }

suf -q init
suf -q import templates "$D"/inbox/templates/*.json
suf -q import campaigns "$D/inbox/campaigns/campaigns.csv"
suf -q import deliveries "$D/inbox/deliveries/deliveries.csv" || true
suf -q --now $NIGHT1 plan

# The bytes --explain renders now, for every planned fallback, by callback.
"$PY" - "$D/suf.db" "$SUF" "$D/suf.conf" "$NIGHT1" > "$D/rendered.jsonl" <<'PY'
import json, sqlite3, subprocess, sys
db, suf, conf, now = sys.argv[1:5]
rows = sqlite3.connect(db).execute("SELECT campaign_id, phone FROM fallbacks ORDER BY id").fetchall()
for campaign, phone in rows:
    out = subprocess.run([suf, "-c", conf, "--now", now, "plan", "--explain", phone,
                          "--campaign", campaign], check=True, capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        if line.startswith("bytes: "):
            body = line[len("bytes: "):]
            cb = json.loads(body)["biz_opaque_callback_data"]
            print(json.dumps({"callback": cb, "body": body}))
PY
grep -q ':u1"' "$D/rendered.jsonl" || fail "--explain rendered no utility message"
grep -q ':s1"' "$D/rendered.jsonl" || fail "--explain rendered no session part"

# The same catalog with other content: every text of every template changed.
mkdir -p "$D/changed"
"$PY" - "$D/changed" "$D"/inbox/templates/*.json <<'PY'
import json, os, sys
out = sys.argv[1]
def change(c):
    if isinstance(c, dict):
        return {k: (v + " (changed)" if k == "text" and isinstance(v, str) else change(v))
                for k, v in c.items()}
    if isinstance(c, list):
        return [change(x) for x in c]
    return c
for path in sys.argv[2:]:
    doc = json.load(open(path))
    doc["data"] = [change(t) for t in doc["data"]]
    json.dump(doc, open(os.path.join(out, os.path.basename(path)), "w"))
PY
suf -q import templates "$D"/changed/*.json
changed=$(sqlite3 "$D/suf.db" "SELECT count(*) FROM fallbacks f JOIN fallback_inputs i ON
  i.fallback_id = f.id JOIN template_versions v ON v.id = i.template_version JOIN templates t
  ON t.name = f.template_name AND t.language = f.template_language WHERE t.json <> v.json")
[ "$changed" -gt 0 ] || fail "the changed catalog changed no planned fallback's template"

# Send the permission messages; customers tap "yes" within six hours.
suf -q --now $NIGHT1 send > "$D/send1.out" 2>&1 || true
customers "$D" --statuses "$D/inbox/events" --consent 1 --decline 0 --stop 0 --forward 0 \
  --until "$HOUR1_EPOCH" --out "$D/inbox/events/customers.jsonl" > /dev/null
suf -q --now $HOUR1 import events "$D/inbox/events" > /dev/null 2>&1 || true
suf -q --now $HOUR1 reconcile
suf -q --now $HOUR1 send > "$D/send2.out" 2>&1 || true

"$PY" - "$D/rendered.jsonl" "$D/mock-requests.jsonl" "$D/suf.db" <<'PY' || fail "bytes sent differ from the bytes rendered at plan time"
import json, sqlite3, sys
rendered = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    rendered[r["callback"]] = r["body"]
sent = [json.loads(l) for l in open(sys.argv[2])]
sent = [r for r in sent if r.get("accepted")]
kinds = {"u": 0, "s": 0}
for r in sent:
    cb = r["callback"]
    assert cb in rendered, f"{cb}: sent, but --explain rendered nothing for it"
    assert r["body"] == rendered[cb], f"{cb}: sent {r['body']!r}, rendered {rendered[cb]!r}"
    kinds[cb.split(":")[2][0]] += 1
assert kinds["u"] > 0 and kinds["s"] > 0, kinds
db = sqlite3.connect(sys.argv[3])
stored = 0
for cb, body in db.execute("SELECT callback, body FROM sends WHERE body <> ''"):
    assert body == rendered[cb], f"{cb}: stored {body!r}, rendered {rendered[cb]!r}"
    stored += 1
print(f"{kinds['u']} utility messages and {kinds['s']} session parts sent, {stored} stored, "
      "all as rendered at plan time")
PY
ok "the bytes sent and stored are the bytes rendered at plan time"
