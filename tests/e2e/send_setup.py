#!/usr/bin/python3
"""Fills a database made by `suf init` with what the send stage consumes.

The rows are what the plan stage and reconcile would leave: templates,
campaigns, fallbacks and their `sends` rows (utility templates 'queued',
session parts 'queued' after a consent or 'held' without one), each with
its exact request body and callback data.  The recipient phones pick the
mock Cloud API's faults by their last three digits (see tests/mock/cloudapi.py).

usage: send_setup.py DB NOW_EPOCH faults        the fault-class scenario
       send_setup.py DB NOW_EPOCH bulk N        N plain utility sends (bench, kill test)
       send_setup.py DB NOW_EPOCH clean N       N utility sends and three sessions, no faults
       send_setup.py DB NOW_EPOCH costcap N     N utility sends to phones of several markets

It prints one JSON line per fallback to stdout: {"fallback", "campaign",
"phone", "kind" ("utility" | "session"), "case"}, which the checker reads to
compute the expected outcome on its own.
"""

import json
import sqlite3
import sys

TEMPLATE_UTILITY = {
    "name": "fallback_permission", "language": "en_US", "status": "APPROVED",
    "category": "UTILITY", "id": "900001",
    "components": [
        {"type": "BODY", "text": "We have an offer from {{1}} for you. May we send it?"},
        {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Yes, show me"},
                                        {"type": "QUICK_REPLY", "text": "No thanks"}]}]}


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def utility_body(fid, phone, campaign_name, template="fallback_permission", n=1):
    return dumps({
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": phone,
        "type": "template", "biz_opaque_callback_data": "suf:%d:u%d" % (fid, n),
        "template": {
            "name": template, "language": {"policy": "deterministic", "code": "en_US"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": campaign_name}]},
                {"type": "button", "sub_type": "quick_reply", "index": "0",
                 "parameters": [{"type": "payload", "payload": "suf:%d:yes" % fid}]},
                {"type": "button", "sub_type": "quick_reply", "index": "1",
                 "parameters": [{"type": "payload", "payload": "suf:%d:no" % fid}]}]}})


def session_bodies(fid, phone, scenario):
    base = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": phone}
    if scenario == "S8":
        one = dict(base, type="image", biz_opaque_callback_data="suf:%d:s1" % fid,
                   image={"link": "https://cdn.example/winter.jpg", "caption": "Winter Sale"})
        rows = [{"id": "opt%d" % i, "title": "Option %d" % i} for i in range(1, 7)]
        two = dict(base, type="interactive", biz_opaque_callback_data="suf:%d:s2" % fid,
                   interactive={"type": "list", "body": {"text": "Hi Asha, pick one – café ☕"},
                                "action": {"button": "See options",
                                           "sections": [{"title": "Offers", "rows": rows}]}})
        return [dumps(one), dumps(two)]
    one = dict(base, type="interactive", biz_opaque_callback_data="suf:%d:s1" % fid,
               interactive={"type": "button", "header": {"type": "text", "text": "Winter Sale"},
                            "body": {"text": "Hi Asha, use code WINTER20 for 20% off."},
                            "action": {"buttons": [
                                {"type": "reply", "reply": {"id": "Show me deals",
                                                            "title": "Show me deals"}}]}})
    return [dumps(one)]


class Filler:
    def __init__(self, db, now):
        self.db = db
        self.now = now
        self.attempt = 0

    def template(self, t, status=None, category=None):
        t = dict(t, status=status or t["status"], category=category or t["category"])
        self.db.execute(
            "INSERT INTO templates (name, language, status, category, meta_id, json, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (t["name"], t["language"], t["status"], t["category"], t["id"], dumps(t), self.now))

    def campaign(self, cid, name, template=None):
        self.db.execute(
            "INSERT INTO campaigns (campaign_id, name, fallback, utility_template,"
            " utility_language, updated_at) VALUES (?, ?, 1, ?, ?, ?)",
            (cid, name, template, "en_US" if template else None, self.now))

    def fallback(self, campaign, phone, state, scenario="S3", consented_at=None):
        self.attempt += 1
        cur = self.db.execute(
            "INSERT INTO fallbacks (campaign_id, phone, attempt_id, template_name,"
            " template_language, scenario, state, state_at, created_at, consented_at)"
            " VALUES (?, ?, ?, 'winter_sale', 'en_US', ?, ?, ?, ?, ?)",
            (campaign, phone, self.attempt, scenario, state, self.now - 7200, self.now - 7200,
             consented_at))
        return cur.lastrowid

    def send(self, fid, kind, part, body, state):
        self.db.execute(
            "INSERT INTO sends (fallback_id, kind, part, n, callback, body, state, queued_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (fid, kind, part, part, json.loads(body)["biz_opaque_callback_data"], body, state,
             self.now - 3600, self.now - 3600))

    def utility(self, campaign, name, phone, case):
        fid = self.fallback(campaign, phone, "pending")
        self.send(fid, "u", 1, utility_body(fid, phone, name), "queued")
        print(dumps({"fallback": fid, "campaign": campaign, "phone": phone,
                     "kind": "utility", "case": case}))
        return fid

    def session(self, campaign, phone, scenario, consented_at, case, state="queued"):
        fid = self.fallback(campaign, phone, "consented" if state == "queued" else "utility_sent",
                            scenario, consented_at if state == "queued" else None)
        for i, body in enumerate(session_bodies(fid, phone, scenario)):
            self.send(fid, "s", i + 1, body, state)
        print(dumps({"fallback": fid, "campaign": campaign, "phone": phone,
                     "kind": "session", "case": case}))


# Utility rows of the fault scenario: the last three digits of the phone.
UTILITY_CASES = ["001", "002", "003", "151", "051", "152", "153", "154", "155", "156", "157",
                 "061", "062", "063", "064", "065", "165", "166", "167", "071"]


def faults(f):
    f.template(TEMPLATE_UTILITY)
    f.template(dict(TEMPLATE_UTILITY, name="fallback_permission_paused"), status="PAUSED")
    f.template(dict(TEMPLATE_UTILITY, name="permission_recategorised"), category="MARKETING")
    f.campaign("camp_ok", "Winter sale wave 1")
    f.campaign("camp_paused", "Paused wave", "fallback_permission_paused")
    f.campaign("camp_recat", "Recategorised wave", "permission_recategorised")
    f.campaign("camp_missing", "Missing wave", "no_such_template")
    for i, case in enumerate(UTILITY_CASES):
        f.utility("camp_ok", "Winter sale wave 1", "4477009%02d%s" % (i, case), "u" + case)
    f.utility("camp_paused", "Paused wave", "447701000001", "blocked")
    f.utility("camp_recat", "Recategorised wave", "447701000002", "blocked")
    f.utility("camp_missing", "Missing wave", "447701000003", "blocked")
    f.db.execute("INSERT INTO optouts (phone, at, source) VALUES ('447701000004', ?, 'stop')",
                 (f.now - 86400,))
    f.utility("camp_ok", "Winter sale wave 1", "447701000004", "optout")
    f.session("camp_ok", "919800000001", "S3", f.now - 3600, "s_ok")
    f.session("camp_ok", "919800000002", "S8", f.now - 3600, "s8_ok")
    f.session("camp_ok", "919800000162", "S8", f.now - 3600, "s8_part1_fails")
    f.session("camp_ok", "919800000004", "S3", f.now - 86400, "s_expired")
    f.session("camp_ok", "919800000005", "S3", None, "s_held", state="held")


def bulk(f, n):
    f.template(TEMPLATE_UTILITY)
    f.campaign("camp_bulk", "Bulk wave")
    for i in range(n):
        # last two digits below 50: the mock injects no fault
        f.utility("camp_bulk", "Bulk wave", "62812%05d%02d" % (i // 50, i % 50), "ok")


def clean(f, n):
    """n utility sends and three consented sessions (S3, S8, S8), no faults."""
    bulk(f, n)
    f.session("camp_bulk", "919811100001", "S3", f.now - 600, "s_ok")
    f.session("camp_bulk", "919811100002", "S8", f.now - 600, "s8_ok")
    f.session("camp_bulk", "919811100003", "S8", f.now - 1200, "s8_ok")


# Phones of several markets (UK, India, Indonesia, Brazil, North America,
# the Dominican Republic, and a calling code no market has) for the cost
# cap; the row number fills the last two digits, below 50: no fault.
COSTCAP_PHONES = ["44770010%04d", "91980010%04d", "6281230%04d", "5511900%04d",
                  "1202555%04d", "1809555%04d", "99912345%04d"]


def costcap(f, n):
    f.template(TEMPLATE_UTILITY)
    f.campaign("camp_cost", "Cost wave")
    for i in range(n):
        f.utility("camp_cost", "Cost wave", COSTCAP_PHONES[i % len(COSTCAP_PHONES)] % (i % 50),
                  "ok")


def main():
    db = sqlite3.connect(sys.argv[1])
    f = Filler(db, int(sys.argv[2]))
    with db:
        if sys.argv[3] == "faults":
            faults(f)
        elif sys.argv[3] == "bulk":
            bulk(f, int(sys.argv[4]))
        elif sys.argv[3] == "clean":
            clean(f, int(sys.argv[4]))
        elif sys.argv[3] == "costcap":
            costcap(f, int(sys.argv[4]))
        else:
            sys.exit("unknown scenario " + sys.argv[3])
    db.close()


if __name__ == "__main__":
    main()
