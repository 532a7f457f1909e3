#!/usr/bin/python3
"""Customers answering suf's permission messages, for tests and the demo.

It reads the mock Cloud API's request log (tests/mock/cloudapi.py: one JSON
object per request with "to", "type", "callback", "wamid", "accepted"), finds
the utility permission templates it accepted (callback data "suf:<id>:u<n>"),
and decides for each one, deterministically from --seed and the fallback id,
what its customer does:

    consent   taps "Yes" (type "button", context.id = the template's wamid,
              payload suf:<id>:yes), after a delay: mostly minutes, some
              hours, some more than 24 hours, a few after the consent window
    decline   taps "No" (payload suf:<id>:no)
    stop      types STOP
    forward   someone else taps "Yes" on a forwarded copy (another phone)
    silent    does nothing

A tap is timed from the template's "delivered" status, read from the status
webhooks the mock wrote (--statuses, files or folders); a message never
delivered gets no answer.  Only answers timed in (--since, --until] are
appended to --out (or, with --post URL, posted signed to a receiver such as
`suf receive`), in Meta's webhook envelope, so calling it again with a
later --until adds the later answers and never repeats one (each answer
also has a fixed message id, and suf deduplicates anyway).

--decisions FILE writes one JSON line per utility message with the decision
and its time, so a test can compute the expected outcome on its own.

It polls for the request log (and with --wait-for N for N accepted utility
messages) for at most --timeout seconds.
"""

import argparse
import glob
import hashlib
import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cloudapi import DISPLAY_PHONE, envelope, events_sink  # noqa: E402

# (name, share of all customers, (min, max) delay after delivery in seconds)
CONSENT_DELAYS = [
    ("minutes", 0.55, (60, 2 * 3600)),
    ("hours", 0.25, (2 * 3600, 20 * 3600)),
    ("next_day", 0.12, (25 * 3600, 47 * 3600)),
    ("late", 0.08, (80 * 3600, 100 * 3600)),
]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--requests", required=True, help="the mock's request log (JSONL)")
    p.add_argument("--statuses", action="append", default=[],
                   help="status webhooks the mock wrote: a file or a folder (repeatable)")
    out = p.add_mutually_exclusive_group(required=True)
    out.add_argument("--out", help="append the answers here (JSONL)")
    out.add_argument("--post", metavar="URL", help="post them, signed, to this receiver")
    p.add_argument("--app-secret-file", help="the app secret that signs posted answers")
    p.add_argument("--decisions", help="write each customer's decision here (JSONL)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--consent", type=float, default=0.5, help="share that taps yes")
    p.add_argument("--decline", type=float, default=0.15, help="share that taps no")
    p.add_argument("--stop", type=float, default=0.1, help="share that types STOP")
    p.add_argument("--forward", type=float, default=0.05,
                   help="share whose message is tapped from another phone")
    p.add_argument("--since", type=int, default=0, help="write answers timed after this")
    p.add_argument("--until", type=int, default=2 ** 62, help="and at or before this")
    p.add_argument("--wait-for", type=int, default=0,
                   help="wait until the log holds this many accepted utility messages")
    p.add_argument("--timeout", type=float, default=30.0)
    return p.parse_args(argv)


def read_jsonl(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.endswith("\n") and line.strip():
                out.append(json.loads(line))
    return out


def utility_requests(path):
    """Accepted utility templates: [(fallback id, phone, wamid, callback)]."""
    seen, out = set(), []
    for r in read_jsonl(path):
        cb = r.get("callback") or ""
        parts = cb.split(":")
        if (not r.get("accepted") or r.get("type") != "template" or len(parts) != 3
                or parts[0] != "suf" or not parts[2].startswith("u")):
            continue
        fid = int(parts[1])
        if fid in seen:  # a re-send: the customer answers the first one
            continue
        seen.add(fid)
        out.append((fid, r["to"], r["wamid"], cb))
    return out


def wait_for_requests(args):
    deadline = time.monotonic() + args.timeout
    while True:
        if os.path.exists(args.requests):
            reqs = utility_requests(args.requests)
            if len(reqs) >= args.wait_for:
                return reqs
        if time.monotonic() > deadline:
            sys.exit("customers: timed out waiting for %d utility messages in %s"
                     % (args.wait_for, args.requests))
        time.sleep(0.1)


def delivered_times(sources):
    """wamid -> the earliest delivered or read time in the status webhooks."""
    files = []
    for s in sources:
        files += sorted(glob.glob(os.path.join(s, "*.jsonl"))) if os.path.isdir(s) else [s]
    times = {}
    for path in files:
        for body in read_jsonl(path):
            for entry in body.get("entry", []):
                for change in entry.get("changes", []):
                    for st in change.get("value", {}).get("statuses", []):
                        if st.get("status") in ("delivered", "read"):
                            t = int(st["timestamp"])
                            w = st["id"]
                            times[w] = min(t, times.get(w, t))
    return times


def decide(args, fid):
    """The customer's decision for fallback `fid`: (action, delay class, delay s)."""
    rnd = random.Random("%d:%d" % (args.seed, fid))
    x = rnd.random()
    cut = 0.0
    for action, share in (("consent", args.consent), ("decline", args.decline),
                          ("stop", args.stop), ("forward", args.forward)):
        cut += share
        if x < cut:
            break
    else:
        return "silent", None, None
    if action in ("consent", "forward"):
        y, acc = rnd.random(), 0.0
        for name, share, (lo, hi) in CONSENT_DELAYS:
            acc += share
            if y < acc or name == CONSENT_DELAYS[-1][0]:
                return action, name, rnd.randint(lo, hi)
    return action, "hours", rnd.randint(60, 12 * 3600)


def message_id(seed, fid, action):
    h = hashlib.sha256(("%d:%d:%s" % (seed, fid, action)).encode()).hexdigest()[:24].upper()
    return "wamid.HBgM%sAA==" % h


def other_phone(phone):
    """A forwarded copy: the same number with its last digit changed."""
    return phone[:-1] + str((int(phone[-1]) + 1) % 10)


def answer(args, fid, phone, wamid, action, ts):
    contacts = [{"profile": {"name": "Customer %s" % phone[-4:]}, "wa_id": phone}]
    msg = {"from": phone, "id": message_id(args.seed, fid, action), "timestamp": str(ts)}
    if action in ("consent", "decline", "forward"):
        yes = action != "decline"
        msg.update(type="button", context={"from": DISPLAY_PHONE, "id": wamid},
                   button={"payload": "suf:%d:%s" % (fid, "yes" if yes else "no"),
                           "text": "Yes, show me" if yes else "No thanks"})
    else:
        msg.update(type="text", text={"body": "STOP"})
    return envelope("2000000002", "1000000001", messages=[msg], contacts=contacts)


def main(argv=None):
    args = parse_args(argv)
    reqs = wait_for_requests(args)
    delivered = delivered_times(args.statuses)
    decisions, answers = [], []
    for fid, phone, wamid, cb in reqs:
        action, klass, delay = decide(args, fid)
        t0 = delivered.get(wamid)
        ts = t0 + delay if (t0 is not None and delay is not None) else None
        tapper = other_phone(phone) if action == "forward" else phone
        decisions.append({"fallback": fid, "phone": phone, "from": tapper, "wamid": wamid,
                          "action": action, "delay_class": klass, "delivered_at": t0,
                          "ts": ts})
        if ts is not None and args.since < ts <= args.until:
            answers.append((ts, fid, answer(args, fid, tapper, wamid, action, ts)))
    answers.sort(key=lambda a: (a[0], a[1]))
    sink = events_sink(args.out, args.post, args.app_secret_file)
    for _, _, body in answers:
        sink.write(body)
    if args.decisions:
        with open(args.decisions, "w", encoding="utf-8") as f:
            for d in decisions:
                f.write(json.dumps(d, separators=(",", ":")) + "\n")
    print("customers: %d utility messages, %d answers written" % (len(reqs), len(answers)),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
