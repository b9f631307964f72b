/* The base layer (base/base.h): growth, buffers, little-endian round trips,
 * a reader that never reads past its input, whole-file reads, messages.
 * PCG32 and splitmix64 are pinned by tests/test_rng.c (through evo_rng). */
#include "testutil.h"

Test(base, splitmix64_known_answer) {
    /* splitmix64 from seed 0 (the reference C code's first outputs) */
    uint64_t s = 0;
    cr_assert_eq(base_splitmix64(&s), 0xe220a8397b1dcdafull);
    cr_assert_eq(base_splitmix64(&s), 0x6e789e6aa1b965f4ull);
    cr_assert_eq(base_splitmix64(&s), 0x06c45d188009454full);
}

Test(base, fnv1a_known_answer) {
    cr_assert_eq(base_fnv1a(BASE_FNV_OFFSET, "", 0), 0xcbf29ce484222325ull);
    cr_assert_eq(base_fnv1a(BASE_FNV_OFFSET, "a", 1), 0xaf63dc4c8601ec8cull);
    cr_assert_eq(base_fnv1a(BASE_FNV_OFFSET, "foobar", 6), 0x85944171f73967e8ull);
}

Test(base, grow_doubles_keeps_contents_and_respects_max) {
    uint32_t *a = NULL;
    size_t cap = 0;
    for (size_t n = 1; n <= 1000; n++) {
        size_t before = cap;
        cr_assert_eq(base_grow((void **)&a, &cap, n, sizeof *a, SIZE_MAX), 0);
        cr_assert_geq(cap, n);
        if (before < n) cr_assert(cap == n || cap == 2 * before, "cap %zu after %zu", cap, before);
        a[n - 1] = (uint32_t)n;
    }
    for (size_t n = 1; n <= 1000; n++)
        cr_assert_eq(a[n - 1], n);
    size_t c2 = cap;
    cr_assert_eq(base_grow((void **)&a, &c2, 5000, sizeof *a, 3000), -1, "over max");
    cr_assert_eq(c2, cap, "unchanged after a failure");
    cr_assert_eq(base_grow((void **)&a, &c2, (SIZE_MAX / 4) + 1, 8, SIZE_MAX), -1, "overflow");
    cr_assert_eq(c2, cap);
    free(a);
    /* grow0 zeroes the new elements */
    uint64_t *z = NULL;
    size_t zc = 0;
    cr_assert_eq(base_grow0((void **)&z, &zc, 3, sizeof *z, SIZE_MAX), 0);
    z[0] = z[1] = z[2] = ~0ull;
    cr_assert_eq(base_grow0((void **)&z, &zc, 100, sizeof *z, SIZE_MAX), 0);
    for (size_t i = 3; i < zc; i++)
        cr_assert_eq(z[i], 0);
    free(z);
}

Test(base, writer_and_reader_round_trip_and_truncations_are_errors) {
    base_buf b = {0};
    base_wr w = {&b, 0};
    uint64_t s = 7;
    uint64_t vals[200];
    int sizes[200];
    for (int i = 0; i < 200; i++) {
        sizes[i] = 1 + (int)tu_below(&s, 8);
        vals[i] = tu_next(&s) & (sizes[i] == 8 ? ~0ull : (1ull << (8 * sizes[i])) - 1);
        base_put_u(&w, vals[i], sizes[i]);
    }
    base_put(&w, "tail", 4);
    cr_assert_eq(w.err, 0);
    base_rd r = {.d = b.data, .n = b.len};
    for (int i = 0; i < 200; i++)
        cr_assert_eq(base_get_u(&r, sizes[i], "a value"), vals[i], "value %d", i);
    char tail[4];
    base_get(&r, tail, 4, "the tail");
    cr_assert(!r.bad && !memcmp(tail, "tail", 4) && r.off == b.len);
    /* every truncation: the reader stops with a message naming an offset,
     * never reads past the end, and later reads give 0 */
    for (size_t cut = 0; cut < b.len; cut++) {
        char err[128] = "";
        base_rd t = {.d = b.data, .n = cut, .err = err, .errcap = sizeof err};
        for (int i = 0; i < 200; i++)
            base_get_u(&t, sizes[i], "a value");
        base_get(&t, tail, 4, "the tail");
        cr_assert(t.bad, "cut %zu", cut);
        cr_assert(t.off <= cut);
        cr_assert(!strncmp(err, "offset ", 7) && strstr(err, "truncated"), "%s", err);
        cr_assert_eq(base_get_u(&t, 8, "more"), 0);
    }
    /* counts: over the limit, over the bytes left, and an offset past the end */
    char err[128];
    base_rd c = {.d = b.data, .n = 16, .err = err, .errcap = sizeof err};
    cr_assert(!base_room_for(&c, 5, 1, 4, "items"));
    cr_assert(strstr(err, "over the limit"), "%s", err);
    c = (base_rd){.d = b.data, .n = 16, .err = err, .errcap = sizeof err};
    cr_assert(!base_room_for(&c, 3, 8, 100, "items"));
    cr_assert(strstr(err, "room for 2"), "%s", err);
    c = (base_rd){.d = b.data, .n = 4, .off = 9};
    cr_assert_eq(base_get_u(&c, 1, "x"), 0);
    cr_assert(c.bad, "an offset past the end is an error, with no message buffer");
    base_buf_free(&b);
    cr_assert_null(b.data);
}

Test(base, little_endian_round_trip) {
    uint8_t p[8];
    uint64_t s = 3;
    for (int k = 0; k < 1000; k++) {
        int n = 1 + (int)tu_below(&s, 8);
        uint64_t v = tu_next(&s), want = n == 8 ? v : v & ((1ull << (8 * n)) - 1);
        cr_assert_eq(base_le_put(p, v, n), p + n);
        cr_assert_eq(p[0], (uint8_t)v);
        cr_assert_eq(base_le_get(p, n), want);
    }
    /* a whole word, byte by byte, on any host */
    const uint8_t w[8] = {8, 7, 6, 5, 4, 3, 2, 1};
    base_le_put(p, 0x0102030405060708ull, 8);
    cr_assert_arr_eq(p, w, 8);
    cr_assert_eq(base_le_get(w, 8), 0x0102030405060708ull);
}

Test(base, read_all_reads_everything_and_honours_the_limit) {
    char dir[64], path[96];
    tu_tmpdir(dir, sizeof dir, "frugal-base");
    snprintf(path, sizeof path, "%s/f", dir);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    for (int i = 0; i < 200000; i++)
        fputc(i * 7, f);
    fclose(f);
    f = fopen(path, "rb");
    base_buf b = {0};
    base_buf_put(&b, "x", 1); /* appends after what the buffer holds */
    cr_assert_eq(base_read_all(f, &b, SIZE_MAX), 0);
    fclose(f);
    cr_assert_eq(b.len, 200001);
    for (int i = 0; i < 200000; i++)
        cr_assert_eq(b.data[1 + i], (uint8_t)(i * 7), "byte %d", i);
    b.len = 0;
    f = fopen(path, "rb");
    cr_assert_eq(base_read_all(f, &b, 199999), BASE_READ_LIMIT);
    fclose(f);
    f = fopen(path, "rb");
    b.len = 0;
    cr_assert_eq(base_read_all(f, &b, 200000), 0, "exactly the limit is fine");
    fclose(f);
    base_buf_free(&b);
    tu_rmtree(dir);
}

Test(base, messages) {
    char err[32];
    base_errf(err, sizeof err, "%d apples", 3);
    cr_assert_str_eq(err, "3 apples");
    base_errf_at(err, sizeof err, "file.json", "line %d", 7);
    cr_assert_str_eq(err, "file.json: line 7");
    base_errf_at(err, sizeof err, NULL, "plain");
    cr_assert_str_eq(err, "plain");
    base_errf_at(err, 8, "a-long-place", "x");
    cr_assert_eq(strlen(err), 7, "cut, terminated: %s", err);
    base_errf(NULL, 0, "nothing %d", 1); /* no buffer: nothing happens */
}

/* Lines added while they fit whole, '\n' between them; one that does not
 * fit leaves err as it was; unline drops the last. */
Test(base, message_lines) {
    char err[16];
    size_t len = 0;
    err[0] = 0;
    cr_assert_eq(base_errf_line(err, sizeof err, &len, "a %d", 1), 0);
    cr_assert_eq(base_errf_line(err, sizeof err, &len, "bb %d", 2), 0);
    cr_assert_str_eq(err, "a 1\nbb 2");
    cr_assert_eq(len, 8);
    cr_assert_eq(base_errf_line(err, sizeof err, &len, "%s", "seven!!"), -1); /* 8+1+7 = 16 */
    cr_assert_str_eq(err, "a 1\nbb 2");
    cr_assert_eq(base_errf_line(err, sizeof err, &len, "%s", "six!!!"), 0); /* 15 fit */
    cr_assert_str_eq(err, "a 1\nbb 2\nsix!!!");
    cr_assert_eq(base_errf_line(err, sizeof err, &len, "x"), -1);
    base_err_unline(err, &len);
    cr_assert_str_eq(err, "a 1\nbb 2");
    base_err_unline(err, &len);
    base_err_unline(err, &len);
    cr_assert_str_eq(err, "");
    cr_assert_eq(len, 0);
    cr_assert_eq(base_errf_line(NULL, 0, &len, "x"), -1);
}
