# Tests of the hostile-input work: the bad-input corpus through the real
# binary, a read-only database and reports folder, and a full disk
# (tests/e2e/hostile.sh; parts that need a tmpfs mount skip themselves when
# mounting is not permitted).
suf_add_e2e(hostile tests/e2e/hostile.sh TIMEOUT 1200 LABELS hostile)
