/* A data task's files: read relative to the spec, hashed (SHA-256, nettle),
 * and taken back from a run file on resume (docs/tasks.md, "Data tasks"). */
#include "experiments/cli.h"
#include "experiments/spec.h"

#include <errno.h>
#include <nettle/sha2.h>
#include <stdlib.h>
#include <string.h>

#define DATA_MAX_BYTES ((size_t)4 << 30) /* 4 GiB */

void exp_sha256_hex(const uint8_t *d, size_t n, char out[65]) {
    struct sha256_ctx c;
    uint8_t h[SHA256_DIGEST_SIZE];
    sha256_init(&c);
    while (n) { /* nettle takes size_t, but feed it in pieces all the same */
        size_t k = n > (1u << 30) ? (1u << 30) : n;
        sha256_update(&c, k, d);
        d += k;
        n -= k;
    }
    sha256_digest(&c, sizeof h, h);
    exp_hex(h, sizeof h, out);
}

void exp_hex(const uint8_t *d, size_t n, char *out) {
    static const char dig[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = dig[d[i] >> 4];
        out[2 * i + 1] = dig[d[i] & 15];
    }
    out[2 * n] = 0;
}

void exp_data_free(exp_data_file *f) {
    free(f->path);
    free(f->bytes);
    memset(f, 0, sizeof *f);
}

/* given, relative to the folder of spec_path (NULL: as it is). */
static char *resolve(const char *spec_path, const char *given) {
    const char *slash = spec_path ? strrchr(spec_path, '/') : NULL;
    if (given[0] == '/' || !slash) return strdup(given);
    size_t n = (size_t)(slash - spec_path) + 1, m = strlen(given);
    char *p = malloc(n + m + 1);
    if (!p) return NULL;
    memcpy(p, spec_path, n);
    memcpy(p + n, given, m + 1);
    return p;
}

/* Read path whole: 0, or an exit code with a message. */
static int read_whole(const char *path, uint8_t **out, size_t *len, char *err, size_t errcap) {
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        base_errf(err, errcap, "%s: cannot open the data file: %s", path, strerror(errno));
        return EXP_EXIT_IO;
    }
    base_buf b = {0};
    int got = base_read_all(fp, &b, DATA_MAX_BYTES);
    int e = errno;
    fclose(fp);
    if (got == 0 && base_buf_reserve(&b, 1)) got = BASE_READ_NOMEM;
    if (got) {
        base_buf_free(&b);
        if (got == BASE_READ_ERROR) {
            base_errf(err, errcap, "%s: cannot read the data file: %s", path, strerror(e));
            return EXP_EXIT_IO;
        }
        base_errf(err, errcap, "%s: %s", path,
                  got == BASE_READ_LIMIT ? "a data file over 4 GiB" : "out of memory");
        return got == BASE_READ_LIMIT ? EXP_EXIT_INPUT : EXP_EXIT_FAIL;
    }
    b.data[b.len] = 0;
    *out = b.data;
    *len = b.len;
    return 0;
}

int exp_data_read(const char *spec_path, const char *given, exp_data_file *f, char *err,
                  size_t errcap) {
    memset(f, 0, sizeof *f);
    if (!(f->path = resolve(spec_path, given))) {
        base_errf(err, errcap, "%s: out of memory", given);
        return EXP_EXIT_FAIL;
    }
    int rc = read_whole(f->path, &f->bytes, &f->len, err, errcap);
    if (rc) {
        exp_data_free(f);
        return rc;
    }
    exp_sha256_hex(f->bytes, f->len, f->sha256);
    return 0;
}

int exp_data_stored(const char *path, const st_file *sf, exp_data_file *f, char *note,
                    size_t notecap, char *err, size_t errcap) {
    memset(f, 0, sizeof *f);
    f->path = strdup(path);
    f->bytes = malloc(sf->len + 1);
    if (!f->path || !f->bytes) {
        exp_data_free(f);
        base_errf(err, errcap, "%s: out of memory", path);
        return EXP_EXIT_FAIL;
    }
    memcpy(f->bytes, sf->bytes, sf->len);
    f->bytes[sf->len] = 0;
    f->len = sf->len;
    exp_sha256_hex(f->bytes, f->len, f->sha256);
    if (strcmp(f->sha256, sf->sha256)) {
        base_errf(err, errcap,
                  "the copy of %s kept in the run file is damaged (SHA-256 %s, stored %s)", path,
                  f->sha256, sf->sha256);
        exp_data_free(f);
        return EXP_EXIT_INPUT;
    }
    uint8_t *disk = NULL;
    size_t n = 0;
    char e2[256];
    size_t used = strlen(note);
    if (read_whole(path, &disk, &n, e2, sizeof e2)) {
        snprintf(note + used, notecap - used,
                 "note: the data file %s is not there (moved?); the run goes on with the copy "
                 "kept in the run file (SHA-256 %.16s...)\n",
                 path, f->sha256);
    } else {
        char h[65];
        exp_sha256_hex(disk, n, h);
        if (strcmp(h, f->sha256))
            snprintf(note + used, notecap - used,
                     "note: the data file %s has CHANGED since the run began (SHA-256 %.16s... "
                     "now, %.16s... then); the run goes on with the copy kept in the run file\n",
                     path, h, f->sha256);
    }
    free(disk);
    return 0;
}
