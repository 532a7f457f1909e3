#!/usr/bin/python3
"""crash_gen.py OUT_CSV EXPECTED_JSON RECIPIENTS: a one-campaign delivery
export for the crash harness, and what planning it must give.

Every fourth recipient failed with 131049 on 2026-11-20 (its retries are
over by the night of 2026-11-24: a fallback); the others were delivered.
Phones are UK numbers whose last two digits stay below 50, so the mock
Cloud API injects no fault into them.  The template is the fixture
catalog's winter_sale (S3).
"""
import csv
import json
import sys

out, expected, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
fallbacks = 0
with open(out, "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["campaign_id", "campaign_name", "message_id", "phone", "customer_name",
                "template_name", "template_language", "status", "error_code", "attempt",
                "sent_at", "var1", "var2"])
    for i in range(n):
        phone = "4477%04d%04d" % (i // 50, i % 50)
        failed = i % 4 == 0
        fallbacks += failed
        w.writerow(["camp_big", "Big crash campaign", "wamid.big.%d" % i, "+" + phone,
                    "Cust%d" % i, "winter_sale", "en_US", "failed" if failed else "delivered",
                    "131049" if failed else "", 1, "2026-11-20T10:00:00Z",
                    "Cust%d" % i, "CODE%d" % (i % 97)])
json.dump({"recipients": n, "fallbacks": fallbacks, "delivered": n - fallbacks},
          open(expected, "w"))
