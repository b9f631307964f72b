/* The base layer's functions that are not inline (base/base.h). */
#include "base/base.h"

#include <stdio.h>
#include <stdlib.h>

/* ---- error messages ---- */

void base_verrf_at(char *err, size_t cap, const char *where, const char *fmt, va_list ap) {
    if (!err || !cap) return;
    int n = where ? snprintf(err, cap, "%s: ", where) : 0;
    if (n < 0 || (size_t)n >= cap) return;
    vsnprintf(err + n, cap - (size_t)n, fmt, ap);
}

void base_errf_at(char *err, size_t cap, const char *where, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    base_verrf_at(err, cap, where, fmt, ap);
    va_end(ap);
}

void base_errf(char *err, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    base_verrf_at(err, cap, NULL, fmt, ap);
    va_end(ap);
}

int base_errf_line(char *err, size_t cap, size_t *len, const char *fmt, ...) {
    size_t at = *len ? *len + 1 : 0; /* after the '\n' that will join them */
    if (!err || at >= cap) return -1;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err + at, cap - at, fmt, ap); /* err[*len] stays 0 */
    va_end(ap);
    if (n < 0 || (size_t)n >= cap - at) return -1;
    if (*len) err[*len] = '\n';
    *len = at + (size_t)n;
    return 0;
}

void base_err_unline(char *err, size_t *len) {
    if (!err) return;
    while (*len && err[*len - 1] != '\n')
        --*len;
    if (*len) --*len;
    err[*len] = 0;
}

/* ---- random numbers ---- */

/* base_rng_below's method on 64-bit draws, for 2^32 <= bound < 2^64. */
static uint64_t below64(base_rng *r, uint64_t bound) {
    unsigned __int128 m = (unsigned __int128)base_rng_next64(r) * bound;
    if ((uint64_t)m < bound) {
        uint64_t t = (0 - bound) % bound; /* 2^64 mod bound */
        while ((uint64_t)m < t)
            m = (unsigned __int128)base_rng_next64(r) * bound;
    }
    return (uint64_t)(m >> 64);
}

int64_t base_rng_range(base_rng *r, int64_t lo, int64_t hi) {
    if (lo >= hi) return lo;
    uint64_t span = (uint64_t)hi - (uint64_t)lo; /* hi - lo, without overflow */
    uint64_t off;
    if (span < UINT32_MAX)
        off = base_rng_below(r, (uint32_t)span + 1);
    else if (span == UINT64_MAX)
        off = base_rng_next64(r);
    else
        off = below64(r, span + 1);
    return (int64_t)((uint64_t)lo + off); /* wraps into [lo, hi] */
}

/* ---- growable arrays and byte buffers ---- */

int base_grow_to(void **p, size_t *cap, size_t need, size_t elem, size_t max) {
    if (need <= *cap) return 0;
    if (need > max || !elem) return -1;
    size_t n = *cap > max / 2 ? max : 2 * *cap;
    if (n < need) n = need;
    if (n > SIZE_MAX / elem) {
        if (need > SIZE_MAX / elem) return -1;
        n = need;
    }
    void *q = realloc(*p, n * elem);
    if (!q) return -1;
    *p = q;
    *cap = n;
    return 0;
}

int base_grow0(void **p, size_t *cap, size_t need, size_t elem, size_t max) {
    size_t old = *cap;
    if (base_grow(p, cap, need, elem, max)) return -1;
    if (*cap > old) memset((uint8_t *)*p + old * elem, 0, (*cap - old) * elem);
    return 0;
}

void base_buf_free(base_buf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int base_read_all(FILE *f, base_buf *out, size_t limit) {
    size_t start = out->len;
    for (;;) {
        if (base_buf_reserve(out, 65536)) return BASE_READ_NOMEM;
        size_t got = fread(out->data + out->len, 1, out->cap - out->len, f);
        out->len += got;
        if (out->len - start > limit) return BASE_READ_LIMIT;
        if (got == 0) return ferror(f) ? BASE_READ_ERROR : 0;
    }
}

/* ---- the reader ---- */

static void rd_vfail(base_rd *r, size_t at, const char *fmt, va_list ap) {
    if (r->bad) return;
    r->bad = true;
    char where[40];
    snprintf(where, sizeof where, "offset %zu", at);
    base_verrf_at(r->err, r->errcap, where, fmt, ap);
}

void base_rd_fail(base_rd *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    rd_vfail(r, r->off, fmt, ap);
    va_end(ap);
}

void base_rd_fail_at(base_rd *r, size_t at, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    rd_vfail(r, at, fmt, ap);
    va_end(ap);
}

uint64_t base_get_u(base_rd *r, int bytes, const char *what) {
    if (r->bad) return 0;
    if (r->off > r->n || r->n - r->off < (size_t)bytes) {
        base_rd_fail(r, "truncated: the image ends inside %s", what);
        return 0;
    }
    uint64_t v = base_le_get(r->d + r->off, bytes);
    r->off += (size_t)bytes;
    return v;
}

void base_get(base_rd *r, void *out, size_t n, const char *what) {
    if (!n) return;
    if (!r->bad && (r->off > r->n || r->n - r->off < n))
        base_rd_fail(r, "truncated: the image ends inside %s", what);
    if (r->bad) {
        memset(out, 0, n);
        return;
    }
    memcpy(out, r->d + r->off, n);
    r->off += n;
}

bool base_room_for(base_rd *r, uint64_t count, uint64_t size, uint64_t max, const char *what) {
    if (r->bad) return false;
    if (count > max) {
        base_rd_fail(r, "%s: %llu is over the limit of %llu", what, (unsigned long long)count,
                     (unsigned long long)max);
        return false;
    }
    if (r->off > r->n || count * size > r->n - r->off) {
        base_rd_fail(r, "truncated: %s claims %llu items, the image has room for %llu", what,
                     (unsigned long long)count,
                     (unsigned long long)(r->off > r->n ? 0 : (r->n - r->off) / size));
        return false;
    }
    return true;
}
