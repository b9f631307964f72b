/* frugal superopt: GP finds the published example (PUSH1 0 SUB PUSH1 3 ADD,
 * 12 gas -> PUSH1 3 SUB, 6 gas) with a small budget and a fixed seed. */
#include "testutil.h"

#include <stdio.h>
#include <unistd.h>

int exp_cmd_superopt(int argc, char **argv);

static char *slurp(const char *path) {
    FILE *f = fopen(path, "r");
    cr_assert(f, "cannot read %s", path);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static int run_superopt(const char *jsonl, const char *csv, const char *budget) {
    char in[] = "/tmp/frugal-superopt-XXXXXX";
    int fd = mkstemp(in);
    cr_assert_geq(fd, 0);
    FILE *f = fdopen(fd, "w");
    fputs(jsonl, f);
    fclose(f);
    char *argv[] = {"superopt", in,     "--budget", (char *)budget, "--pop",   "100", "--seed", "1",
                    "--equiv",  "2000", "--out",    (char *)csv,    "--quiet", NULL};
    FILE *saved = stdout;
    stdout = fopen("/dev/null", "w");
    int rc = exp_cmd_superopt(13, argv);
    fclose(stdout);
    stdout = saved;
    remove(in);
    return rc;
}

Test(tasks_superopt, finds_the_published_example) {
    char csv[] = "/tmp/frugal-superopt-csv-XXXXXX";
    int fd = mkstemp(csv);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(run_superopt("{\"id\": \"ex1\", \"input\": \"600003600301\", "
                              "\"cancun_static_gas\": [12, 6]}\n",
                              csv, "6000"),
                 0);
    char *text = slurp(csv);
    char *row = strchr(text, '\n');
    cr_assert(row);
    row++;
    cr_assert(!strncmp(row, "ex1,", 4), "row: %s", row);
    cr_assert(strstr(row, ",12,6,6,2,6,6,1,0,1,1,"), "row: %s", row);
    cr_assert(strstr(row, ",600303,\"PUSH1 0x3 SUB\""), "row: %s", row);
    remove(csv);
}

Test(tasks_superopt, bad_input_is_an_error) {
    char csv[] = "/tmp/frugal-superopt-csv-XXXXXX";
    int fd = mkstemp(csv);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(run_superopt("{\"id\": \"j\", \"input\": \"600056\"}\n", csv, "200"), 3);
    cr_assert_eq(run_superopt("not json\n", csv, "200"), 3);
    remove(csv);
}
