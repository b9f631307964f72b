/* Co-evolution tasks: a program's fitness is its play against a hall of fame
 * of opponents in the arena (fitness.h "co-evolution", docs/arena.md). */
#include "fitness/fit_impl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the classic strategies (as in specs/arena/) ---- */

static const char src_tft[] = "PUSH 0\nIN\nPOP\nPUSH 0\nIN\nPOP\nPUSH 0\nIN\nPOP\n"
                              "PUSH 0\nIN\nPUSH 1\nEQ\nPUSH 1\nOUT\nHALT\n";
static const char src_alld[] = "PUSH 1\nPUSH 1\nOUT\nHALT\n";
static const char src_allc[] = "PUSH 0\nPUSH 1\nOUT\nHALT\n";
static const char src_grim[] = "PUSH 0\nIN\nPOP\nPUSH 0\nIN\nPOP\nPUSH 0\nIN\nPOP\n"
                               "PUSH 0\nIN\nPOP\nPUSH 0\nIN\nPUSH 0\nGT\nPUSH 1\nOUT\nHALT\n";
/* the low bit of the referee's random word (observation word 7) */
static const char src_random[] =
    "PUSH 7\nskip: PUSH 0\nIN\nPOP\nPUSH 1\nSUB\nDUP 0\nJNZ skip\nPOP\n"
    "PUSH 0\nIN\nPUSH 1\nAND\nPUSH 1\nOUT\nHALT\n";
static const char src_b_uniform[] = "PUSH 0x0202020202\nPUSH 1\nOUT\nHALT\n";
static const char src_b_three[] = "PUSH 0x030304\nPUSH 1\nOUT\nHALT\n";
/* the opponent's last allocation (word 3), 2 2 2 2 2 when there is none */
static const char src_b_mirror[] = "PUSH 0\nIN\nPOP\nPUSH 0\nIN\nPOP\nPUSH 0\nIN\nPOP\n"
                                   "PUSH 0\nIN\nDUP 0\nPUSH 0\nGT\nJNZ play\nPOP\n"
                                   "PUSH 0x0202020202\nplay: PUSH 1\nOUT\nHALT\n";
/* 4 3 3 0 0 rotated by (random word mod 5) fields */
static const char src_b_random[] =
    "PUSH 7\nskip: PUSH 0\nIN\nPOP\nPUSH 1\nSUB\nDUP 0\nJNZ skip\nPOP\n"
    "PUSH 0\nIN\nPUSH 5\nMOD\nPUSH 8\nMUL\nDUP 0\nPUSH 0x030304\nSWAP 0\nSHL\nSWAP 0\n"
    "PUSH 40\nSWAP 0\nSUB\nPUSH 0x030304\nSWAP 0\nSHR\nOR\nPUSH 0xFFFFFFFFFF\nAND\n"
    "PUSH 1\nOUT\nHALT\n";

typedef struct {
    const char *name, *src;
} classic;

static const classic ipd_classics[] = {{"tit-for-tat", src_tft},
                                       {"always-defect", src_alld},
                                       {"always-cooperate", src_allc},
                                       {"grim-trigger", src_grim},
                                       {"random", src_random}};
static const classic blotto_classics[] = {{"uniform", src_b_uniform},
                                          {"three-fields", src_b_three},
                                          {"mirror", src_b_mirror},
                                          {"random-rotation", src_b_random}};

/* ---- the hall of fame ---- */

typedef struct {
    uint8_t *code;
    size_t len;
    char label[32];
} entry;

struct fit_coevo {
    fit_arena_config cfg; /* game, rounds, seed; limits 0 (the ctx's) */
    uint32_t k, head;     /* slots; the oldest is slot head */
    uint64_t pushes;
    uint64_t stamp; /* grows on every push or load (never saved): the ctxs' cue to reload */
    double best;    /* the best possible score per round */
    entry *e;
};

void fit_coevo_free(struct fit_coevo *h) {
    if (!h) return;
    for (uint32_t i = 0; h->e && i < h->k; i++)
        free(h->e[i].code);
    free(h->e);
    free(h);
}

bool fit_task_is_coevo(const fit_task *t) {
    return t && t->coevo;
}

const fit_arena_config *fit_coevo_config(const fit_task *t) {
    return fit_task_is_coevo(t) ? &t->coevo->cfg : NULL;
}

uint64_t fit_coevo_pushes(const fit_task *t) {
    return fit_task_is_coevo(t) ? t->coevo->pushes : 0;
}

static entry *slot(const struct fit_coevo *h, uint32_t k) {
    return &h->e[(h->head + k) % h->k];
}

const uint8_t *fit_coevo_opponent(const fit_task *t, uint32_t k, size_t *len, const char **label) {
    if (!fit_task_is_coevo(t) || k >= t->coevo->k) return NULL;
    const entry *e = slot(t->coevo, k);
    if (len) *len = e->len;
    if (label) *label = e->label;
    return e->code;
}

static uint8_t *dup_code(const uint8_t *code, size_t len) {
    uint8_t *c = malloc(len ? len : 1);
    if (c && len) memcpy(c, code, len);
    return c;
}

int fit_coevo_push(const fit_task *t, const uint8_t *code, size_t len) {
    if (!fit_task_is_coevo(t) || len > VM_MAX_CODE || (len && !code)) return -1;
    struct fit_coevo *h = t->coevo;
    uint8_t *c = dup_code(code, len);
    if (!c) return -1;
    entry *e = &h->e[h->head];
    free(e->code);
    e->code = c;
    e->len = len;
    h->pushes++;
    snprintf(e->label, sizeof e->label, "push %" PRIu64, h->pushes);
    h->head = (h->head + 1) % h->k;
    h->stamp++;
    return 0;
}

/* ---- the blob: "FRGCOEVO", u32 version 1, u32 game, u32 K, u64 pushes,
 * then K opponents oldest first: u32 label length, label, u32 code length,
 * code; all little-endian ---- */

int fit_coevo_save(const fit_task *t, vm_buf *out) {
    if (!fit_task_is_coevo(t)) return -1;
    const struct fit_coevo *h = t->coevo;
    base_wr w = {out, 0};
    base_put(&w, "FRGCOEVO", 8);
    base_put_u(&w, 1, 4);
    base_put_u(&w, (uint64_t)h->cfg.game, 4);
    base_put_u(&w, h->k, 4);
    base_put_u(&w, h->pushes, 8);
    for (uint32_t k = 0; k < h->k && !w.err; k++) {
        const entry *x = slot(h, k);
        size_t ll = strlen(x->label);
        base_put_u(&w, ll, 4);
        base_put(&w, x->label, ll);
        base_put_u(&w, x->len, 4);
        base_put(&w, x->code, x->len);
    }
    return w.err ? -1 : 0;
}

int fit_coevo_load(const fit_task *t, const uint8_t *d, size_t len, char *err, size_t errcap) {
    if (!fit_task_is_coevo(t)) {
        base_errf(err, errcap, "hall of fame: not a co-evolution task");
        return -1;
    }
    struct fit_coevo *h = t->coevo;
    entry *ne = calloc(h->k, sizeof *ne);
    base_rd r = {.d = d, .n = len, .off = 8}; /* no messages: ours name the offset */
    int rc = -1;
    if (!ne) {
        base_errf(err, errcap, "hall of fame: out of memory");
        return -1;
    }
    if (len < 8 || memcmp(d, "FRGCOEVO", 8)) {
        base_errf(err, errcap, "hall of fame: bad magic");
        goto cleanup;
    }
    uint64_t v = base_get_u(&r, 4, "version"), game = base_get_u(&r, 4, "game");
    uint64_t k = base_get_u(&r, 4, "K"), pushes = base_get_u(&r, 8, "pushes");
    if (r.bad) goto trunc;
    if (v != 1 || game != (uint64_t)h->cfg.game || k != h->k) {
        base_errf(err, errcap,
                  "hall of fame: version %" PRIu64 ", game %" PRIu64 ", %" PRIu64
                  " opponents; this task reads version 1, game %d, %" PRIu32 " opponents",
                  v, game, k, (int)h->cfg.game, h->k);
        goto cleanup;
    }
    for (uint32_t i = 0; i < h->k; i++) {
        uint64_t ll = base_get_u(&r, 4, "a label's length");
        if (r.bad || ll >= sizeof ne[i].label || len - r.off < ll) goto trunc;
        base_get(&r, ne[i].label, ll, "a label");
        uint64_t cl = base_get_u(&r, 4, "a code length");
        if (r.bad || cl > VM_MAX_CODE || len - r.off < cl) goto trunc;
        ne[i].code = dup_code(d + r.off, cl);
        ne[i].len = cl;
        r.off += cl;
        if (!ne[i].code) {
            base_errf(err, errcap, "hall of fame: out of memory");
            goto cleanup;
        }
    }
    if (r.off != len) {
        base_errf(err, errcap, "hall of fame: %zu unexpected bytes at the end", len - r.off);
        goto cleanup;
    }
    for (uint32_t i = 0; i < h->k; i++) {
        free(h->e[i].code);
        h->e[i] = ne[i];
        ne[i].code = NULL;
    }
    h->head = 0;
    h->pushes = pushes;
    h->stamp++;
    rc = 0;
    goto cleanup;
trunc:
    base_errf(err, errcap, "hall of fame: truncated or malformed at offset %zu", r.off);
cleanup:
    for (uint32_t i = 0; i < h->k; i++)
        free(ne[i].code);
    free(ne);
    return rc;
}

/* ---- the task ---- */

/* e->arg: the game (fit_game) */
FIT_MAKER(fit_make_coevo) {
    const char *name = e->name;
    bool ipd = e->arg == FIT_GAME_IPD;
    uint32_t k;
    if (fit_size(name, "n_train (the hall of fame's size)", o->n_train, FIT_COEVO_K, 1, &k, err,
                 errcap))
        return -1;
    if (k > FIT_COEVO_MAX_K || (o->n_test && o->n_test != k)) {
        base_errf(err, errcap,
                  "%s: n_train (the hall of fame) must be 1..%u and n_test 0 or equal to it", name,
                  FIT_COEVO_MAX_K);
        return -1;
    }
    fit_task_init(t, name, FIT_ERR_INT_ABS, 0);
    struct fit_coevo *h = calloc(1, sizeof *h);
    t->coevo = h;
    if (!h) goto oom;
    h->k = k;
    h->e = calloc(k, sizeof *h->e);
    if (!h->e) goto oom;
    h->cfg.game = ipd ? FIT_GAME_IPD : FIT_GAME_BLOTTO;
    h->cfg.rounds = FIT_COEVO_ROUNDS;
    h->cfg.soldiers = FIT_BLOTTO_SOLDIERS;
    h->cfg.fields = FIT_BLOTTO_FIELDS;
    h->cfg.seed = rng ? (uint64_t)rng->range(rng->ctx, 0, INT64_MAX) : 0;
    h->best = ipd ? 5.0 : 2.0 * FIT_BLOTTO_FIELDS;
    h->stamp = 1;
    const classic *cl = ipd ? ipd_classics : blotto_classics;
    uint32_t ncl = ipd ? sizeof ipd_classics / sizeof *ipd_classics
                       : sizeof blotto_classics / sizeof *blotto_classics;
    for (uint32_t i = 0; i < k; i++) {
        vm_buf b = {0};
        const classic *c = &cl[i % ncl];
        char why[256];
        if (vm_asm(c->src, strlen(c->src), c->name, &b, NULL, why, sizeof why)) {
            vm_buf_free(&b);
            base_errf(err, errcap, "%s: the classic %s does not assemble: %s", name, c->name, why);
            fit_task_free(t);
            return -1;
        }
        h->e[i].code = b.data ? b.data : malloc(1);
        h->e[i].len = b.len;
        snprintf(h->e[i].label, sizeof h->e[i].label, "%s", c->name);
        if (!h->e[i].code) goto oom;
    }
    t->penalty = h->best;
    t->hit_tol = ipd ? 2.0 : (double)FIT_BLOTTO_FIELDS; /* IPD: >= 3 per round; Blotto: a draw */
    t->limits =
        (vm_limits){.gas = FIT_ARENA_GAS, .mem = FIT_ARENA_MEM, .memtime = FIT_ARENA_MEMTIME};
    t->gas_ref = 10.0 * FIT_COEVO_ROUNDS; /* 10 gas per move */
    if (ipd) {
        const vm_word c[] = {0, 1, 2, 3, 4, 5, 7};
        memcpy(t->consts, c, sizeof c);
        t->n_consts = sizeof c / sizeof *c;
    } else {
        const vm_word c[] = {0, 1, 3, 7, 8, 0x0202020202, 0x030304};
        memcpy(t->consts, c, sizeof c);
        t->n_consts = sizeof c / sizeof *c;
    }
    if (fit_cases_alloc(&t->train, k, 0, 1, false, false) ||
        fit_cases_alloc(&t->test, k, 0, 1, false, false))
        goto oom;
    return 0;
oom:
    fit_task_free(t);
    base_errf(err, errcap, "%s: out of memory", name);
    return -1;
}

/* ---- evaluation (per thread) ---- */

fit_arena *fit_coevo_arena_new(const fit_task *t, const vm_limits *limits, uint64_t *stamp) {
    const struct fit_coevo *h = t->coevo;
    fit_arena_config cfg = h->cfg;
    if (limits) {
        cfg.gas = limits->gas;
        cfg.mem = limits->mem;
        cfg.memtime = limits->memtime;
    }
    char err[160], nm[16];
    fit_arena *a = fit_arena_new(&cfg, err, sizeof err);
    if (!a) return NULL;
    for (uint32_t k = 0; k < h->k; k++) {
        const entry *e = slot(h, k);
        snprintf(nm, sizeof nm, "opp%" PRIu32, k);
        if (fit_arena_add(a, nm, FIT_ISA_NATIVE, e->code, e->len, err, sizeof err)) goto fail;
    }
    if (fit_arena_add(a, "self", FIT_ISA_NATIVE, NULL, 0, err, sizeof err)) goto fail;
    *stamp = h->stamp;
    return a;
fail:
    fit_arena_free(a);
    return NULL;
}

static uint64_t sat_add(uint64_t x, uint64_t y) {
    return x > UINT64_MAX - y ? UINT64_MAX : x + y;
}

int fit_coevo_eval(fit_arena *a, uint64_t *stamp, const fit_task *t, const uint8_t *code,
                   size_t len, fit_result *r) {
    const struct fit_coevo *h = t->coevo;
    uint32_t k = h->k;
    r->ncases = r->nerrors = k;
    r->error = 0;
    r->gas = r->memtime = 0;
    r->worst = VM_HALTED;
    r->hits = r->missing = r->out_of_gas = r->faults = 0;
    bool ok = a != NULL;
    if (ok && *stamp != h->stamp) {
        for (uint32_t i = 0; i < k && ok; i++) {
            const entry *e = slot(h, i);
            ok = fit_arena_set_code(a, i, e->code, e->len) == 0;
        }
        if (ok) *stamp = h->stamp;
    }
    if (ok) ok = fit_arena_set_code(a, k, code, len) == 0;
    if (!ok) {
        for (uint32_t i = 0; i < k; i++) {
            r->errors[i] = t->penalty;
            r->error += t->penalty;
        }
        r->missing = r->faults = k;
        r->worst = VM_INVALID_OPCODE;
        return -1;
    }
    unsigned worst_sev = 0;
    double rounds = (double)h->cfg.rounds;
    for (uint32_t i = 0; i < k; i++) {
        /* a duel that cannot be played (it always can: k < players, i != k)
         * would count as a faulted one, never read uninitialised */
        fit_arena_match m = {0};
        int w[2] = {VM_INVALID_OPCODE, VM_INVALID_OPCODE};
        fit_arena_duel_worst(a, k, i, &m, w);
        double e = (h->best * rounds - (double)m.score_a) / rounds;
        r->errors[i] = e;
        r->error += e;
        r->gas = sat_add(r->gas, m.gas_a);
        r->memtime = sat_add(r->memtime, m.memtime_a);
        vm_status st = (vm_status)w[0];
        unsigned sev = fit_status_severity(st);
        if (sev > worst_sev) {
            worst_sev = sev;
            r->worst = st;
        }
        if (st == VM_OUT_OF_GAS)
            r->out_of_gas++;
        else if (st != VM_HALTED)
            r->faults++;
        if (m.forfeits_a) r->missing++;
        if (e <= t->hit_tol) r->hits++;
    }
    return 0;
}
