/* Selection: tournament, lexicase and epsilon-lexicase, NSGA-II
 * (docs/gp.md). Everything minimises, and every tie is broken by a fixed
 * rule, so a selection is a pure function of the population and the stream. */
#define _GNU_SOURCE /* qsort_r */
#include "evolve/evolve.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

uint32_t evo_select_tournament(const evo_view *v, uint32_t k, evo_tiebreak tb, evo_rng *r) {
    uint32_t best = evo_rng_below(r, v->n);
    for (uint32_t i = 1; i < k; i++) {
        uint32_t c = evo_rng_below(r, v->n);
        best ^= (best ^ c) & (0u - (uint32_t)evo_better(v, tb, c, best)); /* no branch */
    }
    return best;
}

/* Errors per row of a view: a down-sampled row is longer than its cases. */
static inline size_t row_of(const evo_view *v) {
    return v->row ? v->row : v->ncases;
}

/* Keep the candidates cand[0 .. count) whose error is <= the best of theirs
 * + eps_c; their number. Candidate i's error is ec[cand[i] * stride]: an
 * individual's in the population's rows (stride: a row), or a group's in
 * the table's row of one case (stride 1). */
static uint32_t lex_round(const double *ec, size_t stride, double eps_c, uint32_t *cand,
                          uint32_t count) {
    double best = INFINITY;
    for (uint32_t i = 0; i < count; i++)
        if (ec[cand[i] * stride] < best) best = ec[cand[i] * stride];
    double thr = best + eps_c;
    uint32_t keep = 0;
    for (uint32_t i = 0; i < count; i++)
        if (ec[cand[i] * stride] <= thr) cand[keep++] = cand[i];
    return keep;
}

/* The table's parts (evo_lexicase_table). */
typedef struct {
    uint32_t *ng;    /* 1: distinct error rows (groups) */
    uint32_t *group; /* n: each individual's group */
    uint32_t *rep;   /* n: group g's first member (ng used) */
    uint32_t *moff;  /* n + 1: group g's members at mem[moff[g] .. moff[g + 1]) */
    uint32_t *mem;   /* n: in index order within a group */
    uint32_t *off;   /* ncases + 1: case c's first round at idx[off[c] .. off[c + 1]) */
    uint32_t *idx;   /* n * ncases: the groups kept */
    uint32_t *slot;  /* 2n: hash slots, while grouping */
    double *et;      /* ncases * ng: the groups' errors, a case to a row */
} lex_parts;

static lex_parts lex_split(uint32_t *t, uint32_t n, uint32_t nc) {
    const uint32_t *t0 = t;
    lex_parts p;
    p.ng = t, t += 1;
    p.group = t, t += n;
    p.rep = t, t += n;
    p.moff = t, t += n + 1;
    p.mem = t, t += n;
    p.off = t, t += nc + 1;
    p.idx = t, t += (size_t)n * nc;
    p.slot = t, t += 2 * (size_t)n;
    t += (t - t0) & 1;          /* the table is 8-byte aligned, and so are the doubles */
    p.et = (double *)(void *)t; /* (evo_lex_table_words counts the padding word) */
    return p;
}

size_t evo_lex_table_words(uint32_t n, uint32_t ncases) {
    size_t w = 1 + 4 * (size_t)n + 1 + ncases + 1 + (size_t)n * ncases + 2 * (size_t)n;
    return (w + 1) / 2 * 2 + 2 * (size_t)n * ncases; /* then the doubles */
}

void evo_lexicase_table(const evo_view *v, const double *eps, uint32_t *table) {
    uint32_t n = v->n, nc = v->ncases, ng = 0;
    lex_parts p = lex_split(table, n, nc);
    size_t row = row_of(v), bytes = nc * sizeof(double);
    if (n == 0) {
        *p.ng = 0;
        for (uint32_t c = 0; c <= nc; c++)
            p.off[c] = 0;
        return;
    }
    /* groups of identical rows (bit for bit), numbered in order of first member */
    uint32_t ns = 2 * n;
    for (uint32_t k = 0; k < ns; k++)
        p.slot[k] = UINT32_MAX;
    for (uint32_t i = 0; i < n; i++) {
        const double *e = v->errors + i * row;
        uint32_t k = (uint32_t)(base_fnv1a(BASE_FNV_OFFSET, e, bytes) % ns);
        while (p.slot[k] != UINT32_MAX && memcmp(v->errors + p.rep[p.slot[k]] * row, e, bytes))
            k = k + 1 == ns ? 0 : k + 1;
        if (p.slot[k] == UINT32_MAX) {
            p.slot[k] = ng;
            p.rep[ng] = i;
            p.moff[ng + 1] = 0;
            ng++;
        }
        p.group[i] = p.slot[k];
        p.moff[p.slot[k] + 1]++;
    }
    p.moff[0] = 0;
    for (uint32_t g = 0; g < ng; g++)
        p.moff[g + 1] += p.moff[g];
    for (uint32_t g = 0; g < ng; g++) /* fill from the start of each group */
        p.slot[g] = p.moff[g];
    for (uint32_t i = 0; i < n; i++)
        p.mem[p.slot[p.group[i]]++] = i;
    *p.ng = ng;
    for (uint32_t c = 0; c < nc; c++)
        for (uint32_t g = 0; g < ng; g++)
            p.et[(size_t)c * ng + g] = v->errors[p.rep[g] * row + c];
    uint32_t at = 0;
    for (uint32_t c = 0; c < nc; c++) {
        p.off[c] = at;
        uint32_t *cand = p.idx + at;
        for (uint32_t g = 0; g < ng; g++)
            cand[g] = g;
        at += lex_round(p.et + (size_t)c * ng, 1, eps ? eps[c] : 0, cand, ng);
    }
    p.off[nc] = at;
}

/* The k-th member, in index order, of the groups cand[0 .. count). */
static uint32_t kth_member(const lex_parts *p, uint32_t n, const uint32_t *cand, uint32_t count,
                           uint32_t k, uint8_t *alive) {
    if (count == 1) return p->mem[p->moff[cand[0]] + k];
    memset(alive, 0, *p->ng);
    for (uint32_t i = 0; i < count; i++)
        alive[cand[i]] = 1;
    for (uint32_t i = 0; i < n; i++)
        if (alive[p->group[i]] && k-- == 0) return i;
    return 0; /* k < the members: not reached */
}

uint32_t evo_select_lexicase(const evo_view *v, const double *eps, const uint32_t *table,
                             evo_rng *r, uint32_t *scratch) {
    uint32_t n = v->n, nc = v->ncases, *cand = scratch, *order = scratch + n;
    for (uint32_t c = 0; c < nc; c++)
        order[c] = c;
    for (uint32_t i = nc; i > 1; i--) {
        uint32_t j = evo_rng_below(r, i);
        uint32_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    if (!table || nc == 0 || n <= 1) {
        uint32_t count = n;
        for (uint32_t i = 0; i < n; i++)
            cand[i] = i;
        for (uint32_t k = 0; k < nc && count > 1; k++)
            count =
                lex_round(v->errors + order[k], row_of(v), eps ? eps[order[k]] : 0, cand, count);
        return cand[evo_rng_below(r, count)];
    }
    /* On groups of identical rows, which every round keeps or drops whole;
     * the first round from the table. The same survivors, so the same pick
     * from the same draw. */
    lex_parts p = lex_split((uint32_t *)table, n, nc);
    uint32_t c0 = order[0], count = p.off[c0 + 1] - p.off[c0];
    memcpy(cand, p.idx + p.off[c0], count * sizeof *cand);
    for (uint32_t k = 1; k < nc && count > 1; k++)
        count = lex_round(p.et + (size_t)order[k] * *p.ng, 1, eps ? eps[order[k]] : 0, cand, count);
    uint32_t members = 0;
    for (uint32_t i = 0; i < count; i++)
        members += p.moff[cand[i] + 1] - p.moff[cand[i]];
    uint32_t k = evo_rng_below(r, members);
    return kth_member(&p, n, cand, count, k, (uint8_t *)(order + nc));
}

/* Doubles as unsigned keys in IEEE total order (NaN sorts above +inf). */
static inline uint64_t dkey(double d) {
    uint64_t u;
    memcpy(&u, &d, 8);
    return u >> 63 ? ~u : u | (1ull << 63);
}

uint64_t evo_key_of_double(double d) {
    return dkey(d);
}

double evo_double_of_key(uint64_t k) {
    uint64_t u = k >> 63 ? k & ~(1ull << 63) : ~k;
    double d;
    memcpy(&d, &u, 8);
    return d;
}

/* Radix selection, a byte at a time from the highest byte in which the keys
 * differ: each round counts the current keys by that byte, keeps those of the
 * byte holding the wanted rank, and moves to the next byte. The lower middle
 * (rank t - 1) stays in the same bucket as t until t is the first of its
 * bucket; it is then the largest key of the buckets below. */
double evo_median_keys(uint64_t *k, size_t n, bool doubles) {
    if (n == 0) return 0;
    uint64_t or_ = 0, and_ = ~0ull, lov = 0;
    for (size_t i = 0; i < n; i++) {
        or_ |= k[i];
        and_ &= k[i];
    }
    uint64_t diff = or_ ^ and_;
    int shift = diff ? (63 - __builtin_clzll(diff)) / 8 * 8 : -8;
    size_t m = n, t = n / 2;
    bool lo_found = n % 2 == 1;
    uint32_t cnt[256];
    for (; shift >= 0 && m > 1; shift -= 8) {
        memset(cnt, 0, sizeof cnt);
        for (size_t i = 0; i < m; i++)
            cnt[(k[i] >> shift) & 255]++;
        size_t below = 0;
        unsigned b = 0;
        while (below + cnt[b] <= t)
            below += cnt[b++];
        t -= below;
        if (!lo_found && t == 0) { /* below > 0: rank t - 1 was in this set */
            for (size_t i = 0; i < m; i++)
                if (((k[i] >> shift) & 255) < b && k[i] > lov) lov = k[i];
            lo_found = true;
        }
        size_t j = 0;
        for (size_t i = 0; i < m; i++)
            if (((k[i] >> shift) & 255) == b) k[j++] = k[i];
        m = j;
    }
    /* the keys left are equal */
    uint64_t hi = k[0], lo = lo_found && n % 2 == 0 ? lov : hi;
    if (!doubles) return n % 2 ? (double)hi : ((double)lo + (double)hi) / 2;
    return n % 2 ? evo_double_of_key(hi) : (evo_double_of_key(lo) + evo_double_of_key(hi)) / 2;
}

void evo_lexicase_epsilon(const evo_view *v, double *eps, uint64_t *scratch) {
    size_t row = row_of(v);
    for (uint32_t c = 0; c < v->ncases; c++) {
        for (uint32_t i = 0; i < v->n; i++)
            scratch[i] = dkey(v->errors[i * row + c]);
        double med = evo_median_keys(scratch, v->n, true);
        for (uint32_t i = 0; i < v->n; i++)
            scratch[i] = dkey(fabs(v->errors[i * row + c] - med));
        eps[c] = evo_median_keys(scratch, v->n, true);
    }
}

typedef struct {
    const evo_view *v;
    evo_tiebreak tb;
} better_ctx;

static int cmp_better(const void *a, const void *b, void *arg) {
    const better_ctx *c = arg;
    uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
    if (evo_better(c->v, c->tb, i, j)) return -1;
    if (evo_better(c->v, c->tb, j, i)) return 1;
    return (i > j) - (i < j);
}

void evo_best_k(const evo_view *v, evo_tiebreak tb, uint32_t k, uint32_t *out, uint32_t *scratch) {
    if (k > v->n) k = v->n;
    if (k <= 8) { /* a few linear scans beat sorting (elites, emigrants) */
        for (uint32_t j = 0; j < k; j++) {
            uint32_t best = UINT32_MAX;
            for (uint32_t i = 0; i < v->n; i++) {
                if (best != UINT32_MAX && !evo_better(v, tb, i, best)) continue;
                bool taken = false;
                for (uint32_t q = 0; q < j; q++)
                    taken |= out[q] == i;
                if (!taken) best = i;
            }
            out[j] = best;
        }
        return;
    }
    for (uint32_t i = 0; i < v->n; i++)
        scratch[i] = i;
    better_ctx c = {v, tb};
    qsort_r(scratch, v->n, sizeof *scratch, cmp_better, &c);
    memcpy(out, scratch, k * sizeof *out);
}

/* ---- NSGA-II ---- */

static bool dominates(const double *obj, uint32_t m, uint32_t p, uint32_t q) {
    const double *a = obj + (size_t)p * m, *b = obj + (size_t)q * m;
    bool strict = false;
    for (uint32_t k = 0; k < m; k++) {
        if (a[k] > b[k]) return false;
        if (a[k] < b[k]) strict = true;
    }
    return strict;
}

typedef struct {
    const double *obj;
    uint32_t m, k;
} obj_ctx;

static int cmp_obj(const void *a, const void *b, void *arg) {
    const obj_ctx *c = arg;
    uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
    double x = c->obj[(size_t)i * c->m + c->k], y = c->obj[(size_t)j * c->m + c->k];
    if (x != y) return x < y ? -1 : 1;
    return (i > j) - (i < j);
}

static void crowding(const double *obj, uint32_t m, uint32_t *front, uint32_t nf, double *crowd) {
    for (uint32_t i = 0; i < nf; i++)
        crowd[front[i]] = 0;
    if (nf == 0) return;
    for (uint32_t k = 0; k < m; k++) {
        obj_ctx c = {obj, m, k};
        qsort_r(front, nf, sizeof *front, cmp_obj, &c);
        crowd[front[0]] = crowd[front[nf - 1]] = INFINITY;
        double lo = obj[(size_t)front[0] * m + k], hi = obj[(size_t)front[nf - 1] * m + k];
        if (!(hi > lo)) continue;
        for (uint32_t i = 1; i + 1 < nf; i++)
            crowd[front[i]] +=
                (obj[(size_t)front[i + 1] * m + k] - obj[(size_t)front[i - 1] * m + k]) / (hi - lo);
    }
}

int evo_nsga2_sort(const double *obj, uint32_t n, uint32_t m, uint32_t *rank, double *crowd) {
    uint32_t *cnt = malloc((n + 1) * sizeof *cnt), *cur = malloc((n + 1) * sizeof *cur),
             *nxt = malloc((n + 1) * sizeof *nxt), *tmp = malloc((n + 1) * sizeof *tmp);
    int fronts = -1;
    if (!cnt || !cur || !nxt || !tmp) goto cleanup;
    uint32_t ncur = 0;
    for (uint32_t p = 0; p < n; p++) {
        cnt[p] = 0;
        for (uint32_t q = 0; q < n; q++)
            if (q != p && dominates(obj, m, q, p)) cnt[p]++;
        if (cnt[p] == 0) cur[ncur++] = p;
    }
    fronts = 0;
    while (ncur > 0) {
        uint32_t nnxt = 0;
        for (uint32_t i = 0; i < ncur; i++) {
            uint32_t p = cur[i];
            rank[p] = (uint32_t)fronts;
            for (uint32_t q = 0; q < n; q++)
                if (cnt[q] > 0 && dominates(obj, m, p, q) && --cnt[q] == 0) nxt[nnxt++] = q;
        }
        memcpy(tmp, cur, ncur * sizeof *cur);
        crowding(obj, m, tmp, ncur, crowd);
        uint32_t *t = cur;
        cur = nxt;
        nxt = t;
        ncur = nnxt;
        fronts++;
    }
cleanup:
    free(cnt);
    free(cur);
    free(nxt);
    free(tmp);
    return fronts;
}

static bool crowded_better(const uint32_t *rank, const double *crowd, uint32_t i, uint32_t j) {
    if (rank[i] != rank[j]) return rank[i] < rank[j];
    return crowd[i] > crowd[j];
}

uint32_t evo_select_crowded(const uint32_t *rank, const double *crowd, uint32_t n, uint32_t k,
                            evo_rng *r) {
    uint32_t best = evo_rng_below(r, n);
    for (uint32_t i = 1; i < k; i++) {
        uint32_t c = evo_rng_below(r, n);
        if (crowded_better(rank, crowd, c, best)) best = c;
    }
    return best;
}

typedef struct {
    const uint32_t *rank;
    const double *crowd;
} rc_ctx;

static int cmp_rc(const void *a, const void *b, void *arg) {
    const rc_ctx *c = arg;
    uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
    if (crowded_better(c->rank, c->crowd, i, j)) return -1;
    if (crowded_better(c->rank, c->crowd, j, i)) return 1;
    return (i > j) - (i < j);
}

int evo_nsga2_survivors(const uint32_t *rank, const double *crowd, uint32_t n, uint32_t keep,
                        uint32_t *out) {
    uint32_t *idx = malloc((n + 1) * sizeof *idx);
    if (!idx) return -1;
    for (uint32_t i = 0; i < n; i++)
        idx[i] = i;
    rc_ctx c = {rank, crowd};
    qsort_r(idx, n, sizeof *idx, cmp_rc, &c);
    memcpy(out, idx, (keep < n ? keep : n) * sizeof *out);
    free(idx);
    return 0;
}
