#!/bin/sh
# hostile.sh: suf against bad input, a read-only database or reports folder,
# and a full disk.  What each must give is "a clear error, and nothing
# half-written": an exit status from sysexits.h, a message naming the file,
# and a database that passes PRAGMA integrity_check with the failed work
# wholly absent.
#
#  1. the hostile-input corpus (tests/data/hostile/, hostile_check.py);
#  2. a read-only database (mode 0400, run as an unprivileged user);
#  3. a database in a read-only folder (a tmpfs remounted read-only);
#  4. a read-only reports folder for `suf report`;
#  5. a full disk (a 2 MB tmpfs) under the database, then under the reports
#     (where libxlsxwriter's own error lines must become suf's one line).
# Parts 3 to 5 need to mount a tmpfs: they are skipped, with a message, when
# that is not permitted.  Every mount is undone by the exit trap.
#
# Environment: SUF (the binary), SUF_SOURCE_DIR, SUF_SCRATCH (as CTest sets
# them; lib.sh gives the defaults for a run by hand).
set -u
. "$(dirname "$0")/lib.sh"
keep_going

fixtures=$SUF_SOURCE_DIR/fixtures
now=2026-11-24T02:00:00Z
mounts=""

scratch_fresh
chmod 755 "$SUF_SCRATCH"
conf=$SUF_SCRATCH/empty.conf
: >"$conf"
chmod 644 "$conf"
# Nothing from the caller's environment may change what suf does here.
for v in $(env | sed -n 's/^\(SUF_[A-Z_]*\)=.*/\1/p'); do
    case $v in SUF_SOURCE_DIR|SUF_SCRATCH) ;; *) unset "$v" ;; esac
done

cleanup() {
    for m in $mounts; do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

skip() { echo "skip: $*"; }

# suf with a time limit; sets $rc and $out (stderr and stdout).
runsuf() {
    out=$(timeout -s KILL 120 "$@" 2>&1)
    rc=$?
}

# expect_exit WHAT WANT: checks $rc, and that suf neither hung nor crashed.
expect_exit() {
    if [ "$rc" -ge 124 ]; then
        fail "$1: killed, timed out or crashed (status $rc): $out"
        return 1
    fi
    if [ "$rc" -ne "$2" ]; then
        fail "$1: exit status $rc, expected $2: $out"
        return 1
    fi
    return 0
}

expect_text() {
    case $out in
    *"$2"*) return 0 ;;
    esac
    fail "$1: the message lacks '$2': $out"
    return 1
}

sql() { sqlite3 -batch -noheader "$@"; }

integrity_ok() {
    r=$(sql "$2" "PRAGMA integrity_check" 2>&1)
    if [ "$r" != ok ]; then
        fail "$1: integrity_check: $r"
        return 1
    fi
    return 0
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

# A database with the fixtures imported (the reports part needs them all).
fill_db() {
    "$SUF" -c "$conf" --db "$1" init >/dev/null 2>&1 &&
        "$SUF" -c "$conf" --db "$1" import templates "$fixtures/templates.json" >/dev/null 2>&1 &&
        "$SUF" -c "$conf" --db "$1" import campaigns "$fixtures/campaigns.csv" >/dev/null 2>&1 &&
        "$SUF" -c "$conf" --db "$1" import markets "$fixtures/markets.csv" >/dev/null 2>&1 &&
        "$SUF" -c "$conf" --db "$1" import rates "$fixtures/rates" >/dev/null 2>&1 &&
        "$SUF" -c "$conf" --db "$1" import deliveries "$fixtures/deliveries.csv" >/dev/null 2>&1
}

# A tmpfs of SIZE at DIR, remembered for the trap; false when not permitted.
mount_tmpfs() {
    mkdir -p "$1"
    if [ "$(id -u)" -ne 0 ] || ! mount -t tmpfs -o "size=$2,mode=0755" tmpfs "$1" 2>/dev/null; then
        return 1
    fi
    mounts="$1 $mounts"
    return 0
}

# Every .xlsx in DIR is a whole workbook, and no temporary file is left.
workbooks_whole() {
    $PY - "$1" <<'EOF'
import os, sys, zipfile
bad = []
for root, _, files in os.walk(sys.argv[1]):
    for f in files:
        p = os.path.join(root, f)
        if not f.endswith(".xlsx"):
            bad.append(p + ": a stray file")
            continue
        try:
            with zipfile.ZipFile(p) as z:
                if z.testzip() is not None or "xl/workbook.xml" not in z.namelist():
                    bad.append(p + ": a broken workbook")
        except zipfile.BadZipFile:
            bad.append(p + ": not a zip")
print("\n".join(bad))
sys.exit(1 if bad else 0)
EOF
}

echo "== 1. the hostile-input corpus"
if $PY "$E2E_DIR/hostile_check.py" "$SUF" "$SUF_SOURCE_DIR" "$SUF_SCRATCH/corpus"; then
    ok "hostile-input corpus"
else
    fail "hostile-input corpus (see above)"
fi

echo "== 2. a read-only database"
dir=$SUF_SCRATCH/rodb
mkdir -p "$dir"
chmod 755 "$dir"
db=$dir/suf.db
if ! "$SUF" -c "$conf" --db "$db" init >/dev/null 2>&1 ||
    ! "$SUF" -c "$conf" --db "$db" import campaigns "$fixtures/campaigns.csv" >/dev/null 2>&1; then
    fail "read-only database: cannot prepare the database"
else
    sql "$db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
    as_user=""
    if [ "$(id -u)" -eq 0 ]; then
        # root writes through any mode: run suf as nobody instead.
        chown -R 65534:65534 "$dir"
        as_user="setpriv --reuid=65534 --regid=65534 --clear-groups"
    fi
    chmod 0400 "$db"
    before=$(sha "$db")
    campaigns_before=$(sql "$db" "SELECT count(*) FROM campaigns")
    if [ -n "$as_user" ] && ! $as_user test -r "$db"; then
        skip "read-only database: the unprivileged user cannot reach the scratch folder"
    else
        runsuf $as_user "$SUF" -c "$conf" --db "$db" import deliveries "$fixtures/deliveries.csv"
        if expect_exit "read-only database: import" 73 &&
            expect_text "read-only database: import" "$db" &&
            expect_text "read-only database: import" "readonly database"; then
            ok "read-only database: import refused with exit 73 naming the database"
        fi
        if [ "$(sha "$db")" = "$before" ]; then
            ok "read-only database: the file is unchanged"
        else
            fail "read-only database: the file changed"
        fi
        chmod 0600 "$db"
        integrity_ok "read-only database" "$db" &&
            [ "$(sql "$db" "SELECT count(*) FROM attempts")" = 0 ] &&
            [ "$(sql "$db" "SELECT count(*) FROM campaigns")" = "$campaigns_before" ] &&
            ok "read-only database: integrity ok, nothing of the import stored"
        chmod 0400 "$db"
        runsuf $as_user "$SUF" -c "$conf" --db "$db" status
        expect_exit "read-only database: status still reads it" 0 &&
            ok "read-only database: status still reads it"
    fi
fi

echo "== 3. a database in a read-only folder"
mnt=$SUF_SCRATCH/mnt-rofolder
if mount_tmpfs "$mnt" 4m; then
    db=$mnt/suf.db
    "$SUF" -c "$conf" --db "$db" init >/dev/null 2>&1
    "$SUF" -c "$conf" --db "$db" import campaigns "$fixtures/campaigns.csv" >/dev/null 2>&1
    sql "$db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
    before=$(sha "$db")
    mount -o remount,ro "$mnt"
    runsuf "$SUF" -c "$conf" --db "$db" import deliveries "$fixtures/deliveries.csv"
    expect_exit "read-only folder: import" 73 &&
        expect_text "read-only folder: import" "Read-only file system" &&
        expect_text "read-only folder: import" "$mnt" &&
        ok "read-only folder: import refused with exit 73 naming the path"
    [ "$(sha "$db")" = "$before" ] && ok "read-only folder: the database is unchanged" ||
        fail "read-only folder: the database changed"
    mount -o remount,rw "$mnt"
    integrity_ok "read-only folder" "$db" &&
        [ "$(sql "$db" "SELECT count(*) FROM attempts")" = 0 ] &&
        ok "read-only folder: integrity ok, nothing of the import stored"
else
    skip "read-only folder: mounting a tmpfs is not permitted here"
fi

echo "== 4. a read-only reports folder"
db=$SUF_SCRATCH/reports.db
rm -f "$db"*
if ! fill_db "$db"; then
    fail "reports: cannot import the fixtures"
else
    mnt=$SUF_SCRATCH/mnt-roreports
    if mount_tmpfs "$mnt" 4m; then
        mount -o remount,ro "$mnt"
        runsuf "$SUF" -c "$conf" --db "$db" --now "$now" report --out "$mnt/reports"
        expect_exit "read-only reports folder" 73 &&
            expect_text "read-only reports folder" "$mnt/reports" &&
            ok "read-only reports folder: exit 73 naming the folder"
    else
        # Without a mount: an unprivileged user and a folder of mode 0555.
        rdir=$SUF_SCRATCH/roreports
        mkdir -p "$rdir"
        chmod 0555 "$rdir"
        if [ "$(id -u)" -ne 0 ]; then
            runsuf "$SUF" -c "$conf" --db "$db" --now "$now" report --out "$rdir/reports"
            expect_exit "read-only reports folder" 73 &&
                expect_text "read-only reports folder" "$rdir/reports" &&
                ok "read-only reports folder: exit 73 naming the folder"
        else
            skip "read-only reports folder: root without mount"
        fi
    fi
fi

echo "== 5. a full disk"
mnt=$SUF_SCRATCH/mnt-full
if mount_tmpfs "$mnt" 2m; then
    big=$SUF_SCRATCH/big-deliveries.csv
    $PY - "$big" <<'EOF'
import sys
with open(sys.argv[1], "w") as f:
    f.write("campaign_id,message_id,phone,template_name,status,error_code,attempt,sent_at,text\n")
    for i in range(30000):
        f.write("camp_big,wamid.%06d,9198%08d,promo_s1_text,failed,131049,1,"
                "2026-11-20T10:00:00Z,a body long enough to fill a small disk %d\n" % (i, i, i))
EOF
    db=$mnt/suf.db
    "$SUF" -c "$conf" --db "$db" init >/dev/null 2>&1
    "$SUF" -c "$conf" --db "$db" import campaigns "$fixtures/campaigns.csv" >/dev/null 2>&1
    runsuf "$SUF" -c "$conf" --db "$db" import deliveries "$big"
    expect_exit "disk full: import" 74 &&
        expect_text "disk full: import" "$db" &&
        expect_text "disk full: import" "disk is full" &&
        ok "disk full: import failed with exit 74 naming the database"
    integrity_ok "disk full" "$db" &&
        [ "$(sql "$db" "SELECT count(*) FROM attempts")" = 0 ] &&
        [ "$(sql "$db" "SELECT count(*) FROM files WHERE kind = 'deliveries'")" = 0 ] &&
        [ "$(sql "$db" "SELECT count(*) FROM campaigns")" -gt 0 ] &&
        ok "disk full: integrity ok, the import wholly absent, earlier data intact"
    rm -f "$big"

    # The reports on a disk too small for them all: the workbooks written
    # before the disk filled up are whole, and no partial file is left.
    db=$SUF_SCRATCH/reports.db
    mnt=$SUF_SCRATCH/mnt-fullreports
    if [ -f "$db" ] && mount_tmpfs "$mnt" 64k; then
        runsuf "$SUF" -c "$conf" --db "$db" --now "$now" report --out "$mnt/reports"
        expect_exit "disk full: report" 74 &&
            expect_text "disk full: report" "$mnt/reports" &&
            ok "disk full: report failed with exit 74 naming the workbook"
        # libxlsxwriter's own "[ERROR] workbook_close(): ..." lines become
        # suf's one error line, with the workbook and the system's reason.
        if printf '%s\n' "$out" | grep -q '\[ERROR\]'; then
            fail "disk full: libxlsxwriter printed: $(printf '%s\n' "$out" | grep '\[ERROR\]')"
        elif printf '%s\n' "$out" |
            grep -q "^suf: error: $mnt/reports/.*\.xlsx: cannot write workbook: no space left on device\$"; then
            ok "disk full: one suf error line with the workbook and the reason, no [ERROR] line"
        else
            fail "disk full: no suf error line naming the workbook and the full disk: $out"
        fi
        if bad=$(workbooks_whole "$mnt/reports"); then
            ok "disk full: every workbook left is whole, no partial file"
        else
            fail "disk full: report left $bad"
        fi
    fi
else
    skip "disk full: mounting a tmpfs is not permitted here"
fi

echo "== 6. the modes of what suf creates, whatever the caller's umask"
dir=$SUF_SCRATCH/modes
rm -rf "$dir"
mkdir -p "$dir"
(
    umask 000
    "$SUF" -c "$conf" --db "$dir/suf.db" init >/dev/null 2>&1 &&
        "$SUF" -c "$conf" --db "$dir/suf.db" import campaigns "$fixtures/campaigns.csv" >/dev/null 2>&1 &&
        "$SUF" -c "$conf" --db "$dir/suf.db" --now "$now" report --out "$dir/reports" >/dev/null 2>&1
) || fail "modes: init, import or report failed"
for f in "$dir/suf.db" "$dir/suf.db.lock"; do
    m=$(stat -c %a "$f" 2>/dev/null)
    [ "$m" = 600 ] && ok "modes: $(basename "$f") is 0600" || fail "modes: $f is ${m:-missing}, not 0600"
done
n=0
for f in $(find "$dir/reports" -name '*.xlsx'); do
    n=$((n + 1))
    m=$(stat -c %a "$f")
    [ "$m" = 640 ] || fail "modes: $f is $m, not 0640"
done
[ "$n" -gt 0 ] && ok "modes: $n workbook(s), all 0640" || fail "modes: no workbook written"

finish hostile
