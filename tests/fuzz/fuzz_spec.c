/* libFuzzer: any spec text, with any bytes as its data file, loads or
 * fails with a message; and a spec that loads has a canonical text that
 * loads again to the same canonical text (docs/specs.md: the canonical
 * text is what a run file keeps and `frugal resume` reads back).
 *
 * The input is the spec, then optionally a NUL and the bytes of the data
 * file, written as d.csv, d.jsonl, t.csv and t.jsonl beside the spec. */
#include "experiments/spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];
static const char *const files[] = {"s.json", "c.json", "d.csv", "d.jsonl", "t.csv", "t.jsonl"};

/* The scratch folder goes when the fuzzer exits normally. */
static void cleanup(void) {
    char path[128];
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

static void put(const char *name, const uint8_t *p, size_t n) {
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f)) abort();
}

static void load(const char *name, exp_spec *s, int *rc, char *err) {
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    err[0] = 0;
    *rc = exp_spec_load(s, path, NULL, NULL, 0, err, EXP_SPEC_ERRCAP);
    if (*rc && !err[0]) abort(); /* a failure always says why */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/frugal-fuzz-spec-XXXXXX");
        if (!mkdtemp(dir)) abort();
        atexit(cleanup);
    }
    if (size > 1 << 16) return 0;
    const uint8_t *nul = memchr(data, 0, size);
    size_t slen = nul ? (size_t)(nul - data) : size;
    const uint8_t *d = nul ? nul + 1 : data + size;
    size_t dlen = (size_t)(data + size - d);
    put("s.json", data, slen);
    for (size_t i = 2; i < sizeof files / sizeof *files; i++) /* the data files */
        put(files[i], d, dlen);
    exp_spec a, b;
    char err[EXP_SPEC_ERRCAP];
    int rc;
    load("s.json", &a, &rc, err);
    if (rc) return 0;
    if (!a.canonical) abort();
    put("c.json", (const uint8_t *)a.canonical, strlen(a.canonical));
    load("c.json", &b, &rc, err);
    if (rc) {
        fprintf(stderr, "the canonical text does not load: %s\n%s\n", err, a.canonical);
        abort();
    }
    if (strcmp(a.canonical, b.canonical)) {
        fprintf(stderr, "the canonical text is not a fixed point:\n%s\n%s\n", a.canonical,
                b.canonical);
        abort();
    }
    exp_spec_free(&b);
    exp_spec_free(&a);
    return 0;
}
