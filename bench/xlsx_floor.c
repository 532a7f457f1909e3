/*
 * xlsx_floor.c: the baseline of bench-report.  A bare libxlsxwriter program
 * in constant-memory mode that writes what `suf report` writes for a
 * campaign of N fallbacks, with nothing else: the same Fallbacks columns
 * (a number, five strings, eight date cells of which four are set, four
 * money numbers, a string and a count), the same number formats, split at
 * 1,048,575 rows the same way, plus small summary sheets.  The data is
 * made up in memory, so the time is the floor of writing that workbook.
 *
 * usage: xlsx_floor OUT.xlsx ROWS
 */
#include <stdio.h>
#include <stdlib.h>

#include <xlsxwriter.h>

#define PER_SHEET 1048575L

static const char *const cols[] = {
    "Fallback", "Phone", "Market", "Scenario", "Template", "State", "Created",
    "Utility sent", "Utility delivered", "Consented", "Declined", "Session sent", "Converted",
    "State since", "Utility cost (policy)", "Session cost (policy)", "Total (policy)",
    "Total (Meta)", "Priced from", "Resends",
};

static lxw_worksheet *new_sheet(lxw_workbook *wb, int n, lxw_format *hdr)
{
    char name[32];
    lxw_worksheet *ws;

    if (n == 1)
        snprintf(name, sizeof(name), "Fallbacks");
    else
        snprintf(name, sizeof(name), "Fallbacks (%d)", n);
    ws = workbook_add_worksheet(wb, name);
    for (int c = 0; c < 20; c++) {
        worksheet_write_string(ws, 0, (lxw_col_t)c, cols[c], hdr);
        worksheet_set_column(ws, (lxw_col_t)c, (lxw_col_t)c, 15, NULL);
    }
    worksheet_freeze_panes(ws, 1, 0);
    return ws;
}

int main(int argc, char **argv)
{
    lxw_workbook_options opt = {.constant_memory = LXW_TRUE, .tmpdir = NULL, .use_zip64 = 0};
    lxw_workbook *wb;
    lxw_worksheet *ws, *summary;
    lxw_format *hdr, *dt, *money, *count;
    long rows, row = 1;
    int sheets = 1;
    char phone[32];

    if (argc != 3)
        return 2;
    rows = strtol(argv[2], NULL, 10);
    wb = workbook_new_opt(argv[1], &opt);
    if (!wb)
        return 1;
    hdr = workbook_add_format(wb);
    format_set_bold(hdr);
    dt = workbook_add_format(wb);
    format_set_num_format(dt, "yyyy-mm-dd hh:mm:ss");
    money = workbook_add_format(wb);
    format_set_num_format(money, "#,##0.0000 \"USD\"");
    count = workbook_add_format(wb);
    format_set_num_format(count, "#,##0");
    summary = workbook_add_worksheet(wb, "Summary");
    ws = new_sheet(wb, sheets, hdr);
    for (long i = 1; i <= rows; i++, row++) {
        int64_t t = 1795500000 + i;

        if (row > PER_SHEET) {
            worksheet_autofilter(ws, 0, 0, (lxw_row_t)(row - 1), 19);
            ws = new_sheet(wb, ++sheets, hdr);
            row = 1;
        }
        snprintf(phone, sizeof(phone), "+91******%04ld", i % 10000);
        worksheet_write_number(ws, (lxw_row_t)row, 0, (double)i, NULL);
        worksheet_write_string(ws, (lxw_row_t)row, 1, phone, NULL);
        worksheet_write_string(ws, (lxw_row_t)row, 2, "India", NULL);
        worksheet_write_string(ws, (lxw_row_t)row, 3, i % 2 ? "S3" : "S8", NULL);
        worksheet_write_string(ws, (lxw_row_t)row, 4, "winter_sale", NULL);
        worksheet_write_string(ws, (lxw_row_t)row, 5, "utility_delivered", NULL);
        worksheet_write_unixtime(ws, (lxw_row_t)row, 6, t, dt);
        worksheet_write_unixtime(ws, (lxw_row_t)row, 7, t + 60, dt);
        worksheet_write_unixtime(ws, (lxw_row_t)row, 8, t + 120, dt);
        worksheet_write_unixtime(ws, (lxw_row_t)row, 13, t + 120, dt);
        worksheet_write_number(ws, (lxw_row_t)row, 14, 0.0014, money);
        worksheet_write_number(ws, (lxw_row_t)row, 15, 0.0, money);
        worksheet_write_number(ws, (lxw_row_t)row, 16, 0.0014, money);
        worksheet_write_number(ws, (lxw_row_t)row, 17, 0.0014, money);
        worksheet_write_string(ws, (lxw_row_t)row, 18, "estimated", NULL);
        worksheet_write_number(ws, (lxw_row_t)row, 19, 0.0, count);
    }
    worksheet_autofilter(ws, 0, 0, (lxw_row_t)(row - 1), 19);
    worksheet_write_string(summary, 0, 0, "Fallbacks", hdr);
    worksheet_write_number(summary, 0, 1, (double)rows, count);
    return workbook_close(wb) == LXW_NO_ERROR ? 0 : 1;
}
