/* A finished arena tournament as an HDF5 file for `frugal report`
 * (docs/hdf5-schema.md, "Arena files"). Written to a temporary file and
 * renamed, so the path holds either nothing or a whole file. */
#include "store/store.h"

#include <errno.h>
#include <hdf5.h>
#include <hdf5_hl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ARENA_FORMAT 1

static int put_attr_str(hid_t loc, const char *name, const char *v) {
    return H5LTset_attribute_string(loc, ".", name, v) < 0 ? -1 : 0;
}

static int put_attr_u64(hid_t loc, const char *name, uint64_t v) {
    unsigned long x = (unsigned long)v; /* 64 bits on every platform frugal builds on */
    return H5LTset_attribute_ulong(loc, ".", name, &x, 1) < 0 ? -1 : 0;
}

/* One column of n values of type t under group g. */
static int column(hid_t g, const char *name, hid_t t, uint32_t n, const void *data) {
    hsize_t dims[1] = {n};
    return H5LTmake_dataset(g, name, 1, dims, t, data) < 0 ? -1 : 0;
}

int st_arena_write(const char *path, bool force, const char *spec_json, const fit_arena *a,
                   char *err, size_t errcap) {
    int rc = -1;
    hid_t f = -1, gp = -1, gm = -1, st = -1;
    char tmp[4096];
    uint32_t n = fit_arena_nplayers(a), m = fit_arena_nmatches(a);
    uint32_t N = n ? n : 1, M = m ? m : 1;
    void *buf[16] = {0};
    if (!force && access(path, F_OK) == 0) {
        snprintf(err, errcap, "%s: already exists (use --force to replace it)", path);
        return -1;
    }
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        snprintf(err, errcap, "%s: path too long", path);
        return -1;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) {
        snprintf(err, errcap, "%s: cannot create: %s", tmp, strerror(errno));
        return -1;
    }
    const fit_arena_config *c = fit_arena_config_get(a);
    if (put_attr_u64(f, "frugal_arena", ARENA_FORMAT) ||
        put_attr_str(f, "frugal_version", FRUGAL_VERSION) ||
        put_attr_str(f, "frugal_commit", FRUGAL_COMMIT) ||
        put_attr_str(f, "spec", spec_json ? spec_json : "") ||
        put_attr_str(f, "game", c->game == FIT_GAME_IPD ? "ipd" : "blotto") ||
        put_attr_u64(f, "rounds", c->rounds) || put_attr_u64(f, "seed", c->seed) ||
        put_attr_u64(f, "gas_per_move", c->gas) ||
        put_attr_u64(f, "evm_gas_per_move", c->evm_gas) ||
        put_attr_u64(f, "mem_per_move", c->mem) || put_attr_u64(f, "memtime_per_move", c->memtime))
        goto fail;

    /* /players: one row per player, in spec order */
    gp = H5Gcreate2(f, "players", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    char *names = calloc(N, 64);
    int64_t *score = calloc(N, 8);
    uint64_t *gas = calloc(N, 8), *memtime = calloc(N, 8);
    uint8_t *isa = calloc(N, 1);
    uint32_t *u[11];
    for (int k = 0; k < 11; k++)
        u[k] = calloc(N, 4);
    buf[0] = names, buf[1] = score, buf[2] = gas, buf[3] = memtime, buf[4] = isa;
    for (int k = 0; k < 11; k++)
        buf[5 + k] = u[k];
    for (int k = 0; k < 16; k++)
        if (!buf[k]) goto oom;
    for (uint32_t i = 0; i < n; i++) {
        const fit_arena_stats *s = fit_arena_stats_get(a, i);
        snprintf(names + 64 * (size_t)i, 64, "%s", fit_arena_name(a, i));
        isa[i] = (uint8_t)fit_arena_isa(a, i);
        score[i] = s->score;
        gas[i] = s->gas;
        memtime[i] = s->memtime;
        uint32_t v[11] = {s->moves,  s->forfeits, s->faults, s->exhausted, s->nomove, s->invalid,
                          s->denied, s->matches,  s->wins,   s->draws,     s->losses};
        for (int k = 0; k < 11; k++)
            u[k][i] = v[k];
    }
    static const char *const ucols[11] = {"moves",  "forfeits", "faults", "exhausted",
                                          "nomove", "invalid",  "denied", "matches",
                                          "wins",   "draws",    "losses"};
    st = H5Tcopy(H5T_C_S1);
    if (gp < 0 || st < 0 || H5Tset_size(st, 64) < 0 || column(gp, "name", st, n, names) ||
        column(gp, "isa", H5T_NATIVE_UINT8, n, isa) ||
        column(gp, "score", H5T_NATIVE_INT64, n, score) ||
        column(gp, "gas", H5T_NATIVE_UINT64, n, gas) ||
        column(gp, "memtime", H5T_NATIVE_UINT64, n, memtime))
        goto fail;
    for (int k = 0; k < 11; k++)
        if (column(gp, ucols[k], H5T_NATIVE_UINT32, n, u[k])) goto fail;
    for (int k = 0; k < 16; k++) {
        free(buf[k]);
        buf[k] = NULL;
    }

    /* /matches: one row per match, in play order */
    gm = H5Gcreate2(f, "matches", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    uint32_t *ma = calloc(M, 4), *mb = calloc(M, 4), *fa = calloc(M, 4), *fb = calloc(M, 4);
    int64_t *sa = calloc(M, 8), *sb = calloc(M, 8);
    uint64_t *ga = calloc(M, 8), *gb = calloc(M, 8), *ta = calloc(M, 8), *tb = calloc(M, 8);
    void *mbufs[10] = {ma, mb, fa, fb, sa, sb, ga, gb, ta, tb};
    memcpy(buf, mbufs, sizeof mbufs);
    for (int k = 0; k < 10; k++)
        if (!buf[k]) goto oom;
    for (uint32_t k = 0; k < m; k++) {
        const fit_arena_match *x = fit_arena_match_get(a, k);
        ma[k] = x->a, mb[k] = x->b, sa[k] = x->score_a, sb[k] = x->score_b;
        ga[k] = x->gas_a, gb[k] = x->gas_b, ta[k] = x->memtime_a, tb[k] = x->memtime_b;
        fa[k] = x->forfeits_a, fb[k] = x->forfeits_b;
    }
    if (gm < 0 || column(gm, "a", H5T_NATIVE_UINT32, m, ma) ||
        column(gm, "b", H5T_NATIVE_UINT32, m, mb) ||
        column(gm, "score_a", H5T_NATIVE_INT64, m, sa) ||
        column(gm, "score_b", H5T_NATIVE_INT64, m, sb) ||
        column(gm, "gas_a", H5T_NATIVE_UINT64, m, ga) ||
        column(gm, "gas_b", H5T_NATIVE_UINT64, m, gb) ||
        column(gm, "memtime_a", H5T_NATIVE_UINT64, m, ta) ||
        column(gm, "memtime_b", H5T_NATIVE_UINT64, m, tb) ||
        column(gm, "forfeits_a", H5T_NATIVE_UINT32, m, fa) ||
        column(gm, "forfeits_b", H5T_NATIVE_UINT32, m, fb))
        goto fail;
    if (H5Fflush(f, H5F_SCOPE_GLOBAL) < 0) goto fail;
    H5Tclose(st), st = -1;
    H5Gclose(gp), gp = -1;
    H5Gclose(gm), gm = -1;
    if (H5Fclose(f) < 0) {
        f = -1;
        goto fail;
    }
    f = -1;
    if (rename(tmp, path) != 0) {
        snprintf(err, errcap, "%s: cannot rename %s into place: %s", path, tmp, strerror(errno));
        goto cleanup;
    }
    rc = 0;
    goto cleanup;
oom:
    snprintf(err, errcap, "%s: out of memory", path);
    goto cleanup;
fail:
    snprintf(err, errcap, "%s: cannot write the arena file (HDF5 error)", tmp);
cleanup:
    for (int k = 0; k < 16; k++)
        free(buf[k]);
    if (st >= 0) H5Tclose(st);
    if (gp >= 0) H5Gclose(gp);
    if (gm >= 0) H5Gclose(gm);
    if (f >= 0) H5Fclose(f);
    if (rc) remove(tmp);
    return rc;
}
