/* frugal arena through the command line: the table, and resume from a
 * checkpoint giving the same table. */
#include "testutil.h"

#include <stdio.h>

static char *run_cmd(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    cr_assert(p, "cannot run %s", cmd);
    size_t cap = 1 << 16, n = 0;
    char *out = malloc(cap);
    size_t k;
    while ((k = fread(out + n, 1, cap - 1 - n, p)) > 0) n += k;
    out[n] = 0;
    pclose(p);
    return out;
}

Test(arena_cli, table_and_resume)
{
    const char *frugal = getenv("FRUGAL");
    cr_assert(frugal, "FRUGAL must name the frugal binary (make test sets it)");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s arena experiments/arena/ipd.json", frugal);
    char *whole = run_cmd(cmd);
    cr_assert(strstr(whole, "always-defect") && strstr(whole, "hostile-forkbomb"), "%s", whole);
    snprintf(cmd, sizeof cmd,
             "%s arena experiments/arena/ipd.json --checkpoint build/test-arena.ckpt "
             "--stop-after 2000 >/dev/null 2>&1; %s arena experiments/arena/ipd.json --resume "
             "build/test-arena.ckpt",
             frugal, frugal);
    char *resumed = run_cmd(cmd);
    const char *t1 = strstr(whole, "rank"), *t2 = strstr(resumed, "rank");
    cr_assert(t1 && t2, "no table:\n%s", resumed);
    cr_assert_str_eq(t2, t1, "the resumed tournament's table differs");
    free(whole);
    free(resumed);
}
