#!/usr/bin/python3
"""plan_expect.py FIXTURES NOW: the expected plan outcome of every recipient.

An independent reading of DESIGN.md's "Plan" rules, straight from the
fixture files (deliveries.csv, templates*.json, campaigns.csv) with the
default config.  It shares no code with suf.  Prints one line per recipient,
sorted: "campaign|phone|outcome[:reason][ S<n>]".
"""
import csv
import datetime
import glob
import json
import os
import re
import sys

RETRIES, INTERVAL_H, GRACE_H = 3, 24, 6
DEFAULT_FALLBACK = False  # [plan] fallback: a campaign without a setting is not enabled
ELIGIBLE = {131049, 130472, 131000, 131016}
IN_FLIGHT = {"sent", "accepted", "queued", "pending"}


def parse_time(s):
    s = s.strip()
    if re.fullmatch(r"\d{13}", s):
        return int(s) // 1000
    if re.fullmatch(r"\d+", s):
        return int(s)
    d = datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    if d.tzinfo is None:
        d = d.replace(tzinfo=datetime.timezone.utc)
    return int(d.timestamp())


def phone_of(s):
    digits = re.sub(r"\D", "", s)
    if s.strip().startswith("00") or digits.startswith("00"):
        digits = digits[2:]
    return digits, 8 <= len(digits) <= 15


def load_templates(fx):
    out = {}
    for path in sorted(glob.glob(os.path.join(fx, "templates*.json"))):
        with open(path, encoding="utf-8") as f:
            for t in json.load(f)["data"]:
                out[(t["name"], t["language"])] = t
    return out


def shape(t):
    """(scenario 1..8 or 0, placeholders needed, needs media, dynamic URL)"""
    media = False
    qr = url = phone = 0
    needs_media = dyn_url = False
    body = ""
    header_text = ""
    for c in t.get("components", []):
        kind = c.get("type", "").upper()
        if kind == "HEADER":
            fmt = c.get("format", "").upper()
            if fmt in ("IMAGE", "VIDEO", "DOCUMENT"):
                media = needs_media = True
            elif fmt == "TEXT":
                header_text = c.get("text", "")
            else:
                return 0, set(), False, False
        elif kind == "BODY":
            body = c.get("text", "")
        elif kind == "FOOTER":
            pass
        elif kind == "BUTTONS":
            for b in c.get("buttons", []):
                bt = b.get("type", "").upper()
                if bt == "QUICK_REPLY":
                    qr += 1
                elif bt == "URL":
                    url += 1
                    dyn_url = dyn_url or "{{" in b.get("url", "")
                elif bt == "PHONE_NUMBER":
                    phone += 1
                else:
                    return 0, set(), False, False
        else:
            return 0, set(), False, False
    if qr > 10 or url > 2 or phone > 1 or not body:
        return 0, set(), False, False
    base = (2 if url == 1 else 1) if qr == 0 else (3 if qr <= 3 else 4)
    needed = {int(n) for n in re.findall(r"\{\{(\d+)\}\}", body + header_text)}
    return base + (4 if media else 0), needed, needs_media, dyn_url


def on(v, default):
    v = (v or "").strip().lower()
    if not v:
        return default
    return v in ("on", "true", "yes", "1")


def main():
    fx, now = sys.argv[1], parse_time(sys.argv[2])
    templates = load_templates(fx)
    settings = {}
    with open(os.path.join(fx, "campaigns.csv"), encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            settings[row["campaign_id"]] = row
    recipients = {}
    with open(os.path.join(fx, "deliveries.csv"), encoding="utf-8-sig", newline="") as f:
        for i, row in enumerate(csv.DictReader(f)):
            phone, valid = phone_of(row["phone"])
            row["_valid"], row["_at"], row["_i"] = valid, parse_time(row["sent_at"]), i
            row["_attempt"] = int(row["attempt"] or 0)
            recipients.setdefault((row["campaign_id"], phone), []).append(row)
    lines = []
    for (camp, phone), rows in recipients.items():
        rows.sort(key=lambda r: (r["_attempt"], r["_at"], r["_i"]))
        s = settings.get(camp, {})
        retries = int(s.get("max_auto_retries") or RETRIES)
        interval = int(s.get("retry_interval_hours") or INTERVAL_H) * 3600
        ok = [r["status"].lower() in ("delivered", "read") for r in rows]
        last = rows[-1]
        status = last["status"].lower()
        code = int(last["error_code"] or 0)
        scen = ""
        if ok[0]:
            out = "delivered"
        elif any(ok[1:]):
            out = "recovered_by_retry"
        elif status in IN_FLIGHT:
            out = "in_flight"
        elif len(rows) < 1 + retries and now < last["_at"] + interval + GRACE_H * 3600:
            out = "awaiting_retries"
        else:
            t = templates.get((last["template_name"], last["template_language"]))
            n, needed, needs_media, dyn_url = shape(t) if t else (0, set(), False, False)
            vars_ = [last.get(f"var{k}", "") for k in range(1, 11)]
            if not (s.get("fallback") or "").strip() and not DEFAULT_FALLBACK:
                out = "excluded:fallback_not_enabled"
            elif not on(s.get("fallback"), DEFAULT_FALLBACK):
                out = "excluded:fallback_off"
            elif s.get("valid_until") and now > parse_time(s["valid_until"]):
                out = "excluded:campaign_expired"
            elif not t:
                out = "excluded:unknown_template"
            elif t.get("category", "").upper() != "MARKETING":
                out = "excluded:not_marketing"
            elif n == 0:
                out = "excluded:unsupported_template"
            elif any(int(r["error_code"] or 0) == 131050 for r in rows):
                out = "excluded:opted_out"
            elif code == 131026:
                out = "excluded:undeliverable"
            elif code not in ELIGIBLE:
                out = "excluded:ineligible_error"
            elif not last["_valid"]:
                out = "excluded:invalid_phone"
            elif ((any(not (vars_[k - 1] or "").strip() for k in needed) and not last.get("text"))
                  or (needs_media and not last.get("header_media_url"))
                  or (dyn_url and not last.get("url_suffix1"))):
                out = "excluded:missing_content"
            else:
                out, scen = "fallback", f" S{n}"
        lines.append(f"{camp}|{phone}|{out}{scen}")
    print("\n".join(sorted(lines)))


if __name__ == "__main__":
    main()
