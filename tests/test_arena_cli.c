/* frugal arena through the command line: the table, and resume from a
 * checkpoint giving the same table. */
#include "experiments/cli.h"
#include "testutil.h"

#include <stdio.h>

Test(arena_cli, table_and_resume) {
    const char *frugal = getenv("FRUGAL");
    cr_assert(frugal, "FRUGAL must name the frugal binary (make test sets it)");
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "%s arena specs/arena/ipd.json --out build/test-arena.h5 --force 2>/dev/null", frugal);
    char *whole = tu_run_cmd(cmd);
    cr_assert(strstr(whole, "always-defect") && strstr(whole, "hostile-forkbomb"), "%s", whole);
    snprintf(cmd, sizeof cmd,
             "%s arena specs/arena/ipd.json --checkpoint build/test-arena.ckpt "
             "--stop-after 2000 >/dev/null 2>&1; %s arena specs/arena/ipd.json --resume "
             "build/test-arena.ckpt --out build/test-arena2.h5 --force 2>/dev/null",
             frugal, frugal);
    char *resumed = tu_run_cmd(cmd);
    const char *t1 = strstr(whole, "rank"), *t2 = strstr(resumed, "rank");
    cr_assert(t1 && t2, "no table:\n%s", resumed);
    cr_assert_str_eq(t2, t1, "the resumed tournament's table differs");
    free(whole);
    free(resumed);
}

/* The tournament's HDF5 file, and frugal report on it: the CSV holds the
 * numbers the table printed, and the figures are real PNGs. */
Test(arena_cli, hdf5_and_report) {
    const char *frugal = getenv("FRUGAL");
    cr_assert(frugal, "FRUGAL must name the frugal binary (make test sets it)");
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "%s arena specs/arena/ipd.json --out build/test-arena-r.h5 --force 2>/dev/null",
             frugal);
    char *table = tu_run_cmd(cmd);
    snprintf(cmd, sizeof cmd,
             "rm -rf build/test-arena-report; %s report build/test-arena-r.h5 --out "
             "build/test-arena-report --quiet 2>&1; echo rc=$?",
             frugal);
    char *rep = tu_run_cmd(cmd);
    cr_assert(strstr(rep, "rc=0"), "%s", rep);
    vm_buf csv = {0};
    cr_assert_eq(tu_read_file("build/test-arena-report/arena-players.csv", &csv), 0);
    char *text = calloc(1, csv.len + 1);
    memcpy(text, csv.data, csv.len);
    /* every table row's player, score, gas and memtime appear in the CSV */
    int rows = 0;
    for (char *line = strstr(table, "\n   1  "); line && *line; line = strchr(line + 1, '\n')) {
        char name[64], isa[8], wdl[32];
        long long score;
        unsigned long long gas, mt;
        int rank;
        if (sscanf(line + 1, "%d %63s %7s %lld %31s %llu %llu", &rank, name, isa, &score, wdl, &gas,
                   &mt) != 7)
            continue;
        char want[256];
        snprintf(want, sizeof want, "%d,%s,%s,%lld,%llu,%llu,", rank, name, isa, score, gas, mt);
        cr_assert(strstr(text, want), "CSV lacks %s", want);
        rows++;
    }
    cr_assert_eq(rows, 12, "rows checked: %d", rows);
    static const char *const figs[] = {"build/test-arena-report/arena-score-gas.png",
                                       "build/test-arena-report/arena-scores.png"};
    for (int i = 0; i < 2; i++) {
        vm_buf png = {0};
        cr_assert_eq(tu_read_file(figs[i], &png), 0);
        cr_assert_gt(png.len, 2000u);
        cr_assert(!memcmp(png.data, "\x89PNG\r\n\x1a\n", 8), "%s is not a PNG", figs[i]);
        vm_buf_free(&png);
    }
    vm_buf md = {0};
    cr_assert_eq(tu_read_file("build/test-arena-report/report.md", &md), 0);
    vm_buf_free(&md);
    free(text);
    vm_buf_free(&csv);
    free(table);
    free(rep);
}

/* The whole text of a file (malloc'd). */
static char *text_of(const char *path) {
    vm_buf b = {0};
    cr_assert_eq(tu_read_file(path, &b), 0, "%s", path);
    char *s = malloc(b.len + 1);
    cr_assert(s);
    if (b.len) memcpy(s, b.data, b.len);
    s[b.len] = 0;
    vm_buf_free(&b);
    return s;
}

/* An existing result is refused before any match is played, with the exit
 * code of frugal run for the same reason (4), and stays as it was. */
Test(arena_cli, existing_result_refused_before_playing) {
    const char *frugal = getenv("FRUGAL");
    cr_assert(frugal, "FRUGAL must name the frugal binary (make test sets it)");
    char dir[64], out[128], so[128], se[128];
    tu_tmpdir(dir, sizeof dir, "frugal-arena");
    snprintf(out, sizeof out, "%s/ipd.h5", dir);
    snprintf(so, sizeof so, "%s/out", dir);
    snprintf(se, sizeof se, "%s/err", dir);
    FILE *f = fopen(out, "w");
    cr_assert(f);
    fputs("precious", f);
    fclose(f);
    char *argv[] = {(char *)frugal, "arena", "specs/arena/ipd.json", "--out", out, NULL};
    int rc = tu_run_watched(argv, so, se, NULL, 600);
    char *o = text_of(so), *e = text_of(se), *kept = text_of(out);
    cr_assert_eq(rc, EXP_EXIT_IO, "exit %d: %s", rc, e);
    cr_assert(strstr(e, "already exists"), "%s", e);
    cr_assert_str_empty(o, "the tournament was played:\n%s", o);
    cr_assert_str_eq(kept, "precious");
    free(o);
    free(e);
    free(kept);
    tu_rmtree(dir);
}

/* The spec's evm_policy: the table names it and the EVM players' calls to
 * SHA-256 pass; a bad policy is a spec error naming $.evm_policy. */
Test(arena_cli, evm_policy_in_the_spec) {
    const char *frugal = getenv("FRUGAL");
    cr_assert(frugal, "FRUGAL must name the frugal binary (make test sets it)");
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "mkdir -p build/test-arena-pol && cd build/test-arena-pol && "
             "echo '60206000600060006002 5afa15 600052 60206000f3 # cooperate iff allowed' "
             "> sha.hex && "
             "printf '{\"game\": \"ipd\", \"rounds\": 3, \"evm_policy\": \"%%s\", \"players\": "
             "[{\"name\": \"a\", \"file\": \"sha.hex\"}, {\"name\": \"b\", \"file\": "
             "\"sha.hex\"}]}' keys:0x02 > ok.json && "
             "printf '{\"game\": \"ipd\", \"evm_policy\": \"bogus\", \"players\": []}' > bad.json "
             "&& %s arena ok.json --out ok.h5 --force 2>&1; echo rc=$?; "
             "%s arena bad.json --out bad.h5 --force 2>&1; echo rc=$?",
             frugal, frugal);
    char *out = tu_run_cmd(cmd);
    cr_assert(strstr(out, "EVM policy: keys:0x02"), "%s", out);
    cr_assert(strstr(out, "rc=0"), "%s", out);
    cr_assert(strstr(out, "$.evm_policy: bogus: expected allow"), "%s", out);
    cr_assert(strstr(out, "rc=3"), "%s", out);
    /* both cooperate every round: 3 rounds x 3 points, no denials */
    cr_assert(strstr(out, "         9"), "%s", out);
    free(out);
}
