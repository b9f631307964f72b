/* Tests only: compare two frugal HDF5 runs dataset by dataset.
 *
 * Every dataset outside /meta and /checkpoint must exist in both files with
 * the same type, shape and bytes; the root attributes must be equal; and the
 * newest checkpoint blobs must be equal (the slots themselves are scratch
 * space whose sizes depend on the history of the file). */
#ifndef FRUGAL_TESTS_H5CMP_H
#define FRUGAL_TESTS_H5CMP_H

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char names[64][128];
    int n;
} h5cmp_list;

static herr_t h5cmp_visit(hid_t obj, const char *name, const H5O_info_t *info, void *op) {
    h5cmp_list *l = op;
    (void)obj;
    if (info->type != H5O_TYPE_DATASET) return 0;
    if (strncmp(name, "meta/", 5) == 0 || strncmp(name, "checkpoint/", 11) == 0) return 0;
    if (l->n < 64) snprintf(l->names[l->n++], sizeof l->names[0], "%s", name);
    return 0;
}

/* Raw bytes of a dataset (read with its own file type), malloc'd. */
static unsigned char *h5cmp_read(hid_t f, const char *name, size_t *len, hid_t *type,
                                 hsize_t *npts) {
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) return NULL;
    hid_t t = H5Dget_type(d), sp = H5Dget_space(d);
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    size_t sz = H5Tget_size(t);
    unsigned char *buf = malloc((size_t)n * sz + 1);
    if (buf && n > 0 && H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        free(buf);
        buf = NULL;
    }
    *len = (size_t)n * sz;
    *npts = (hsize_t)n;
    *type = t;
    H5Sclose(sp);
    H5Dclose(d);
    return buf;
}

/* The newest checkpoint blob: [len 8][blob], generation at blob offset 37. */
static unsigned char *h5cmp_newest_blob(hid_t f, size_t *len) {
    unsigned char *best = NULL;
    unsigned long long bestgen = 0;
    for (int k = 0; k < 2; k++) {
        char name[32];
        snprintf(name, sizeof name, "/checkpoint/slot%d", k);
        size_t n;
        hid_t t;
        hsize_t np;
        unsigned char *b = h5cmp_read(f, name, &n, &t, &np);
        H5Tclose(t);
        if (!b || n < 8 + 45) {
            free(b);
            continue;
        }
        unsigned long long l = 0, g = 0;
        for (int i = 7; i >= 0; i--)
            l = l << 8 | b[i];
        for (int i = 7; i >= 0; i--)
            g = g << 8 | b[8 + 37 + i];
        if (l + 8 > n) {
            free(b);
            continue;
        }
        if (!best || g > bestgen) {
            free(best);
            best = b;
            bestgen = g;
            *len = (size_t)l;
            memmove(best, best + 8, (size_t)l);
        } else {
            free(b);
        }
    }
    return best;
}

/* 0 when equal; otherwise 1 with a description in why. */
static int h5cmp_files(const char *pa, const char *pb, char *why, size_t cap) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
    hid_t a = H5Fopen(pa, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, fapl);
    hid_t b = H5Fopen(pb, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, fapl);
    H5Pclose(fapl);
    int rc = 1;
    static h5cmp_list la, lb;
    if (a < 0 || b < 0) {
        snprintf(why, cap, "cannot open %s", a < 0 ? pa : pb);
        goto done;
    }
    la.n = lb.n = 0;
    H5Ovisit2(a, H5_INDEX_NAME, H5_ITER_INC, h5cmp_visit, &la, H5O_INFO_BASIC);
    H5Ovisit2(b, H5_INDEX_NAME, H5_ITER_INC, h5cmp_visit, &lb, H5O_INFO_BASIC);
    if (la.n != lb.n || la.n == 0) {
        snprintf(why, cap, "%d datasets against %d", la.n, lb.n);
        goto done;
    }
    for (int i = 0; i < la.n; i++) {
        size_t na, nb;
        hid_t ta, tb;
        hsize_t pa_, pb_;
        unsigned char *x = h5cmp_read(a, la.names[i], &na, &ta, &pa_);
        unsigned char *y = h5cmp_read(b, la.names[i], &nb, &tb, &pb_);
        int same =
            x && y && na == nb && pa_ == pb_ && H5Tequal(ta, tb) > 0 && memcmp(x, y, na) == 0;
        if (!same && x && y && na == nb) {
            size_t k = 0;
            while (k < na && x[k] == y[k])
                k++;
            snprintf(why, cap, "/%s differs (%zu bytes, first at byte %zu)", la.names[i], na, k);
        } else if (!same) {
            snprintf(why, cap, "/%s differs (%zu against %zu bytes)", la.names[i], na, nb);
        }
        free(x);
        free(y);
        if (ta >= 0) H5Tclose(ta);
        if (tb >= 0) H5Tclose(tb);
        if (!same) goto done;
    }
    static const char *attrs[] = {"frugal", "frugal_version", "frugal_commit",
                                  "spec",   "spec_name",      "seed"};
    for (size_t i = 0; i < sizeof attrs / sizeof *attrs; i++) {
        hid_t x = H5Aopen(a, attrs[i], H5P_DEFAULT), y = H5Aopen(b, attrs[i], H5P_DEFAULT);
        int same = 0;
        if (x >= 0 && y >= 0) {
            hid_t tx = H5Aget_type(x), ty = H5Aget_type(y);
            size_t sz = H5Tget_size(tx);
            unsigned char *bx = calloc(1, sz + 1), *by = calloc(1, sz + 1);
            same = H5Tequal(tx, ty) > 0 && H5Aread(x, tx, bx) >= 0 && H5Aread(y, ty, by) >= 0 &&
                   memcmp(bx, by, sz) == 0;
            free(bx);
            free(by);
            H5Tclose(tx);
            H5Tclose(ty);
        }
        if (x >= 0) H5Aclose(x);
        if (y >= 0) H5Aclose(y);
        if (!same) {
            snprintf(why, cap, "root attribute %s differs", attrs[i]);
            goto done;
        }
    }
    size_t lx = 0, ly = 0;
    unsigned char *bx = h5cmp_newest_blob(a, &lx), *by = h5cmp_newest_blob(b, &ly);
    int same = bx && by && lx == ly && memcmp(bx, by, lx) == 0;
    free(bx);
    free(by);
    if (!same) {
        snprintf(why, cap, "the newest checkpoints differ");
        goto done;
    }
    rc = 0;
done:
    if (a >= 0) H5Fclose(a);
    if (b >= 0) H5Fclose(b);
    return rc;
}

#endif
