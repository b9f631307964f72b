/* frugal's base layer (prefix base_): what every module needs, in one
 * place. It depends on nothing of frugal's, and every layer may use it
 * (experiments -> evolve -> fitness -> vm -> base).
 *
 *  - error messages into a caller's (err, errcap)
 *  - splitmix64, PCG32 and the derivation of PCG32 streams (docs/rng.md),
 *    FNV-1a
 *  - growable arrays and byte buffers, reading a whole file into one
 *  - little-endian integers, and a binary writer and reader that never read
 *    past their input (snapshots, checkpoints, the arena's state)
 *
 * The generators and the buffer appends are on hot paths, so they are
 * static inline here. */
#ifndef FRUGAL_BASE_H
#define FRUGAL_BASE_H

#include <endian.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ==== error messages ==== */

/* Format into err (room for cap bytes, always terminated); err NULL or cap
 * 0: nothing. */
void base_errf(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The same, after "where: " (where NULL: no prefix). */
void base_errf_at(char *err, size_t cap, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void base_verrf_at(char *err, size_t cap, const char *where, const char *fmt, va_list ap);
/* Add a line to the lines in err[0..*len) ('\n' between lines, none after
 * the last; err stays terminated), when the whole line fits in cap. 0, or
 * -1 with err and *len unchanged. For functions that report every problem
 * they find, not only the first (vm_asm). */
int base_errf_line(char *err, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Drop the last of those lines (none: err becomes ""). */
void base_err_unline(char *err, size_t *len);

/* ==== random numbers (docs/rng.md). The outputs are part of every
 * result's reproducibility: never change them. ==== */

#define BASE_GOLDEN 0x9e3779b97f4a7c15ull /* 2^64 / golden ratio, splitmix64's step */

/* The splitmix64 finalizer: a bijection on 64 bits with full avalanche. */
static inline uint64_t base_mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* splitmix64 (Steele, Lea, Flood 2014): the next output of state *s. */
static inline uint64_t base_splitmix64(uint64_t *s) {
    return base_mix64(*s += BASE_GOLDEN);
}

/* PCG32 (O'Neill 2014), XSH-RR 64/32: the state is the whole generator, so
 * it can be saved and restored as two words. */
typedef struct {
    uint64_t state, inc;
} base_rng;

static inline uint32_t base_rng_next(base_rng *r) {
    uint64_t old = r->state;
    r->state = old * 6364136223846793005ull + r->inc;
    uint32_t x = (uint32_t)(((old >> 18) ^ old) >> 27);
    unsigned rot = (unsigned)(old >> 59);
    return (x >> rot) | (x << ((0u - rot) & 31));
}

/* pcg32_srandom_r: the reference seeding. */
static inline void base_rng_seed(base_rng *r, uint64_t initstate, uint64_t initseq) {
    r->state = 0;
    r->inc = (initseq << 1) | 1;
    base_rng_next(r);
    r->state += initstate;
    base_rng_next(r);
}

/* The stream of a tuple (seed, a, b, c): h = IV; for w in (seed, a, b, c):
 * h = mix64(h ^ w) + GOLDEN. Then initstate = mix64(h + GOLDEN) and initseq =
 * mix64(h + 2*GOLDEN), the next two splitmix64 outputs from h. Each step is a
 * bijection in w, so tuples that differ only in their last word never
 * collide; other distinct tuples collide with probability about 2^-64. */
static inline uint64_t base_rng_prefix(uint64_t seed, uint64_t a, uint64_t b) {
    /* IV: frac(sqrt 2) * 2^64, an arbitrary, fixed starting value */
    uint64_t h = 0x6a09e667f3bcc908ull;
    h = base_mix64(h ^ seed) + BASE_GOLDEN;
    h = base_mix64(h ^ a) + BASE_GOLDEN;
    return base_mix64(h ^ b) + BASE_GOLDEN;
}

/* The stream of (seed, a, b, c) from prefix = base_rng_prefix(seed, a, b):
 * streams that share their first three words share the prefix (a
 * generation's slots), which is half of the hashing. */
static inline void base_rng_stream_at(base_rng *r, uint64_t prefix, uint64_t c) {
    uint64_t h = base_mix64(prefix ^ c) + BASE_GOLDEN;
    base_rng_seed(r, base_mix64(h + BASE_GOLDEN), base_mix64(h + 2 * BASE_GOLDEN));
}

static inline void base_rng_stream(base_rng *r, uint64_t seed, uint64_t a, uint64_t b, uint64_t c) {
    base_rng_stream_at(r, base_rng_prefix(seed, a, b), c);
}

/* Uniform in [0, bound) without bias (Lemire 2019: the high half of x *
 * bound is uniform once the low half avoids the 2^32 mod bound values that
 * would bias it); bound 0 gives 0 without a draw. */
static inline uint32_t base_rng_below(base_rng *r, uint32_t bound) {
    if (bound == 0) return 0;
    uint64_t m = (uint64_t)base_rng_next(r) * bound;
    if ((uint32_t)m < bound) {
        uint32_t t = (0u - bound) % bound; /* 2^32 mod bound */
        while ((uint32_t)m < t)
            m = (uint64_t)base_rng_next(r) * bound;
    }
    return (uint32_t)(m >> 32);
}

/* Two draws, the first in the high half. */
static inline uint64_t base_rng_next64(base_rng *r) {
    uint64_t hi = base_rng_next(r);
    return (hi << 32) | base_rng_next(r);
}

/* Uniform in [lo, hi] inclusive, unbiased: spans that fit 32 bits use
 * base_rng_below; wider ones 64-bit draws with rejection; the full int64
 * range is one base_rng_next64. lo >= hi returns lo without a draw. */
int64_t base_rng_range(base_rng *r, int64_t lo, int64_t hi);

/* Uniform in [0, 1) with 53 random bits (the top of base_rng_next64). */
static inline double base_rng_unit(base_rng *r) {
    return (double)(base_rng_next64(r) >> 11) * 0x1.0p-53;
}

/* ==== hashing ==== */

/* FNV-1a, 64 bits, over n bytes from state h (start: BASE_FNV_OFFSET). */
#define BASE_FNV_OFFSET 0xcbf29ce484222325ull
static inline uint64_t base_fnv1a(uint64_t h, const void *data, size_t n) {
    const uint8_t *d = (const uint8_t *)data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ d[i]) * 0x100000001b3ull;
    return h;
}

/* ==== growable arrays and byte buffers ==== */

/* Room for need elements of elem bytes at *p, whose capacity is *cap
 * elements: it grows to max(need, 2 * *cap), at most max elements. 0, or -1
 * (nothing changed) when need > max or memory cannot be had. */
int base_grow_to(void **p, size_t *cap, size_t need, size_t elem, size_t max);
static inline int base_grow(void **p, size_t *cap, size_t need, size_t elem, size_t max) {
    return need <= *cap ? 0 : base_grow_to(p, cap, need, elem, max);
}
/* The same, zeroing the new elements (tables of structs that own buffers). */
int base_grow0(void **p, size_t *cap, size_t need, size_t elem, size_t max);

/* A growable byte buffer; {0} is empty. */
typedef struct {
    uint8_t *data;
    size_t len, cap;
} base_buf;

void base_buf_free(base_buf *b);

/* Room for n more bytes. 0, or -1 (nothing changed). */
static inline int base_buf_reserve(base_buf *b, size_t n) {
    if (b->len <= b->cap && b->cap - b->len >= n) return 0;
    if (n > SIZE_MAX - b->len) return -1;
    return base_grow_to((void **)&b->data, &b->cap, b->len + n, 1, SIZE_MAX);
}

/* Append n bytes. 0, or -1 (nothing changed). */
static inline int base_buf_put(base_buf *b, const void *p, size_t n) {
    if (base_buf_reserve(b, n)) return -1;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

/* Append everything f holds to out, at most limit bytes (SIZE_MAX: no
 * limit). 0, or one of: */
#define BASE_READ_NOMEM (-1) /* memory cannot be had */
#define BASE_READ_LIMIT (-2) /* f holds more than limit bytes */
#define BASE_READ_ERROR (-3) /* a read failed (errno says why) */
int base_read_all(FILE *f, base_buf *out, size_t limit);

/* ==== little-endian integers ==== */

/* v as n (<= 8) little-endian bytes at p; returns p + n. A whole word is
 * one store (GCC at -O2 leaves the byte loop a loop). */
static inline uint8_t *base_le_put(uint8_t *p, uint64_t v, int n) {
    if (n == 8) {
        uint64_t w = htole64(v);
        memcpy(p, &w, 8);
        return p + 8;
    }
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return p + n;
}

static inline uint64_t base_le_get(const uint8_t *p, int n) {
    if (n == 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        return le64toh(w);
    }
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Append v as n little-endian bytes. 0, or -1. */
static inline int base_buf_put_le(base_buf *b, uint64_t v, int n) {
    uint8_t t[8];
    base_le_put(t, v, n);
    return base_buf_put(b, t, (size_t)n);
}

/* ==== binary writer and reader ==== */

/* A writer appending to b; err becomes -1 at the first failed append and
 * later appends do nothing. */
typedef struct {
    base_buf *b;
    int err;
} base_wr;

static inline void base_put(base_wr *w, const void *p, size_t n) {
    if (!w->err && base_buf_put(w->b, p, n)) w->err = -1;
}
static inline void base_put_u(base_wr *w, uint64_t v, int bytes) {
    if (!w->err && base_buf_put_le(w->b, v, bytes)) w->err = -1;
}

/* A reader of d[0..n) from off. It never reads past the end: a short read,
 * a count over its limit or over the bytes left sets bad and a message
 * naming the offset and the problem in err (err may be NULL), and every
 * later read returns 0. */
typedef struct {
    const uint8_t *d;
    size_t n, off;
    char *err;
    size_t errcap;
    bool bad;
} base_rd;

/* The first failure: "offset <off>: <message>". */
void base_rd_fail(base_rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same at offset at (a record that started there). */
void base_rd_fail_at(base_rd *r, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A little-endian integer of bytes (<= 8) bytes. */
uint64_t base_get_u(base_rd *r, int bytes, const char *what);
/* n bytes into out (zeroes after an error). */
void base_get(base_rd *r, void *out, size_t n, const char *what);
/* A count of items of size bytes each must be at most max and fit in what
 * is left. */
bool base_room_for(base_rd *r, uint64_t count, uint64_t size, uint64_t max, const char *what);

#endif
