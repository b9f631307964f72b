/* Experiment specs: strict parsing, overrides, defaults, the canonical form,
 * and the mapping to evo_params and a task (docs/specs.md). */
#include "experiments/spec.h"
#include "experiments/cli.h"
#include "vm/evm/evm.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the schema ---- */

typedef enum {
    F_OBJ,   /* object of kids */
    F_STR,   /* string */
    F_HEX,   /* string of hex digits (an optional 0x) */
    F_UINT,  /* integer in [umin, umax] */
    F_REAL,  /* number in [rmin, rmax]; null too when nullable */
    F_BOOL,  /* true or false */
    F_ENUM,  /* one of names */
    F_ENUMS, /* array of 1..maxn of names */
    F_OPS,   /* array of 1..maxn opcode names of the task's ISA */
    F_WORD,  /* a VM word: an integer, or a real for fixed-point tasks */
    F_WORDS, /* array of 0..maxn words */
    F_STRS   /* array of 1..maxn strings */
} ftype;

typedef struct fdesc {
    const char *key;
    ftype type;
    const struct fdesc *kids;
    uint64_t umin, umax;
    double rmin, rmax;
    const char *const *names;
    size_t maxn;
    bool nullable;
    const char *dflt, *doc; /* docs/specs.md's default and meaning columns */
} fdesc;

static const char *const tie_names[] = {"none", "length", "gas", NULL};
static const char *const obj_names[] = {"error", "gas", "memtime", "length", NULL};
static const char *const topo_names[] = {"ring", "random", NULL};
static const char *const emig_names[] = {"best", "random", NULL};
/* VM_UNDERFLOW_FAULT, VM_UNDERFLOW_SKIP: index + 1 (0 is the task's rule) */
static const char *const underflow_names[] = {"fault", "skip", NULL};
/* fit_loss */
static const char *const loss_names[] = {"abs", "squared", "bits", NULL};
static const char *const isa_names[] = {"native", "evm", NULL};

int exp_spec_keep_parse(const char *txt, uint32_t *every) {
    if (!strcmp(txt, "every"))
        *every = 1;
    else if (!strcmp(txt, "final"))
        *every = ST_FINAL;
    else {
        char *end;
        if (strncmp(txt, "every ", 6) || txt[6] < '1' || txt[6] > '9') return -1;
        errno = 0;
        unsigned long n = strtoul(txt + 6, &end, 10);
        if (*end || errno || n > INT32_MAX) return -1;
        *every = (uint32_t)n;
    }
    return 0;
}

void exp_spec_keep_name(uint32_t every, char *buf, size_t cap) {
    if (every == ST_FINAL)
        snprintf(buf, cap, "final");
    else if (every <= 1)
        snprintf(buf, cap, "every");
    else
        snprintf(buf, cap, "every %u", every);
}

/* Each key: its name, type and range, then its default and meaning as
 * docs/specs.md shows them (exp_spec_doc_keys; tests/test_docs.c). */
#define U(k, lo, hi, d, m)                                                                         \
    { .key = k, .type = F_UINT, .umin = lo, .umax = hi, .dflt = d, .doc = m }
#define R(k, lo, hi, d, m)                                                                         \
    { .key = k, .type = F_REAL, .rmin = lo, .rmax = hi, .dflt = d, .doc = m }
#define P(k, d, m) R(k, 0.0, 1.0, d, m)
#define E(k, n, d, m)                                                                              \
    { .key = k, .type = F_ENUM, .names = n, .dflt = d, .doc = m }
#define O(k, kids_)                                                                                \
    { .key = k, .type = F_OBJ, .kids = kids_ }
#define T(k, t, d, m)                                                                              \
    { .key = k, .type = t, .dflt = d, .doc = m }
#define END                                                                                        \
    { .key = NULL }
#define MAX_U           ((uint64_t)INT64_MAX)
#define FX_WORD_LIMIT   2097152.0 /* |x| <= 2^21: Q32.32 words exact in a double */
#define MAX_CASES       10000000u
#define MAX_EQUIV       100000000u
#define WEIGHT(k, d, m) R(k, 0.0, 1e300, d, m)

static const fdesc task_f[] = {
    T("name", F_STR, "required (`data` when `data` is given)",
      "a task of the registry (docs/tasks.md; `frugal run --help` lists them)"),
    T("data", F_STR, "none",
      "the task `data`: a CSV file (regression) or PSB2 JSON lines (`.jsonl`), relative to the "
      "spec file's folder; kept in the run file (docs/tasks.md, \"Data tasks\")"),
    T("test", F_STR, "none (the training cases)",
      "data: the test cases, a file of the same format and columns"),
    P("split", "0 (none)",
      "data: the fraction (< 1) of the rows drawn (from the seed) into the test set"),
    T("target", F_STR, "required for CSV", "data, CSV: the column to predict"),
    {.key = "inputs",
     .type = F_STRS,
     .maxn = FIT_DATA_MAX_IN,
     .dflt = "every other column",
     .doc = "data, CSV: the input columns, in stack order (the last on top)"},
    E("loss", loss_names, "`abs`",
      "data: CSV abs(y − t) or (y − t)²; EVM JSON lines abs(y − t) or `bits` (differing bits)"),
    E("isa", isa_names, "`native`",
      "data, JSON lines: the ISA; `evm`: inputs as calldata words, the output RETURNed"),
    R("hit", 0.0, 1e300, "CSV 0.01, JSON lines 0", "data: a case is a hit when its error ≤ this"),
    R("penalty", 0.0, 1e300, "CSV 1000; JSON lines 10^6, or 1 when all outputs are boolean",
      "data: the error of a missing output"),
    U("n_train", 0, MAX_CASES, "0: the published size",
      "training cases; the canonical form holds the real count"),
    U("n_test", 0, MAX_CASES, "0: the published size",
      "held-out test cases; the canonical form holds the real count"),
    T("block", F_HEX, "none", "evm-superopt: the EVM block to superoptimise"),
    U("equiv_samples", 0, MAX_EQUIV, "0: the task's (10000)",
      "evm-superopt: random stacks for the equivalence check"),
    END,
};
static const fdesc pop_f[] = {
    U("size", 2, 1u << 24, "1000", "individuals per island"),
    U("islands", 1, 4096, "1", "islands (size × islands ≤ 2^24)"),
    END,
};
static const fdesc sel_f[] = {
    E("method", evo_selection_names, "`tournament`", "docs/gp.md"),
    U("tournament", 1, 1000000, "3", "tournament size (also NSGA-II's crowded tournament)"),
    U("elites", 0, 1u << 24, "1",
      "best copied unchanged per island (not NSGA-II); < `population.size`"),
    E("tiebreak", tie_names, "`length`", "order of equal fitness"),
    {.key = "objectives",
     .type = F_ENUMS,
     .names = obj_names,
     .maxn = 4,
     .dflt = "`[\"error\",\"gas\"]`",
     .doc = "NSGA-II objectives"},
    P("downsample", "1",
      "fraction of the training cases each generation is judged on (down-sampled lexicase: "
      "0.25); a program that meets the target on the sample is checked on all"),
    END,
};
static const fdesc fit_f[] = {
    WEIGHT("parsimony_length", "0", "weight of the genome's bytes"),
    WEIGHT("parsimony_gas", "0", "weight of gas (summed over the cases)"),
    WEIGHT("gas_ref", "0: the task's reference, else 1", "gas scale"),
    WEIGHT("parsimony_memtime", "0", "weight of memory-time"),
    WEIGHT("memtime_ref", "0: the task's reference, else 1", "memory-time scale"),
    WEIGHT("penalty_out_of_gas", "0", "per case that ran out of gas"),
    WEIGHT("penalty_fault", "0", "per case with another fault"),
    END,
};
static const fdesc var_f[] = {
    P("cx_one_point", "0.25", "one-point crossover"),
    P("cx_two_point", "0.15", "two-point crossover"),
    P("cx_homologous", "0.1", "homologous crossover"),
    P("point", "0.1", "point mutation: one instruction changes"),
    P("insert", "0.05", "insertion of a random instruction"),
    P("delete", "0.05", "deletion of one instruction"),
    P("swap", "0.025", "two instructions exchange places"),
    P("point_imm", "0.5",
      "a point mutation of an instruction with an immediate tweaks the immediate"),
    P("point_class", "0.5", "a point mutation's new opcode keeps the stack class (words in, out)"),
    P("umad", "0 (off)",
      "uniform mutation by addition and deletion: add rate (deletion umad/(1+umad)); PushGP "
      "uses 0.09 alone"),
    END,
};
static const fdesc gen_f[] = {
    U("max_bytes", 16, EVO_MAX_BYTES, "1024", "byte cap"),
    U("max_insns", 1, EVO_MAX_BYTES, "128", "instruction cap"),
    U("init_min", 1, EVO_MAX_BYTES, "4", "shortest initial program, in instructions (≤ init_max)"),
    U("init_max", 1, EVO_MAX_BYTES, "24", "longest initial program (≤ max_insns)"),
    T("init_stack_aware", F_BOOL, "true for tasks", "initial programs never underflow"),
    U("init_depth", 0, 1024, "task: its inputs", "stack depth at the start, for the above"),
    {.key = "opcodes",
     .type = F_OPS,
     .maxn = 256,
     .dflt = "task",
     .doc = "opcodes for new instructions (repeat one to weight it); native or EVM names, any "
            "case"},
    {.key = "constants",
     .type = F_WORDS,
     .maxn = EVO_MAX_CONSTS,
     .dflt = "task",
     .doc = "constants drawn with probability `p_const`"},
    P("p_const", "0.5", "a new constant is one of `constants`, else drawn in [const_lo, const_hi]"),
    T("const_lo", F_WORD, "task (fixed-point: −1; integer: −10)", "lowest other constant"),
    T("const_hi", F_WORD, "task (fixed-point: 1; integer: 10)", "highest other constant"),
    T("const_tweak", F_WORD, "task (fixed-point: 1/16; integer: 1)",
      "a point mutation moves a constant by up to this (≥ 0)"),
    U("idx_max", 0, 255, "3", "largest DUP/SWAP index"),
    END,
};
static const fdesc mig_f[] = {
    U("every", 0, UINT32_MAX, "10", "generations between migrations (0: never)"),
    U("migrants", 0, 1u << 24, "5", "per island, 1..population.size"),
    E("topology", topo_names, "`ring`", "where migrants go"),
    E("emigrate", emig_names, "`best`", "which individuals leave"),
    END,
};
static const fdesc lim_f[] = {
    U("gas", 1, VM_MAX_GAS, "task (quartic 10000), else 10^6", "gas per case"),
    U("mem", 1, VM_MAX_MEM, "task, else 65536", "words of memory per case"),
    U("memtime", 1, VM_MAX_MEMTIME, "task, else 2^62 (unlimited)", "word-gas per case"),
    U("stack", 1, VM_MAX_STACK, "task, else 1024", "stack depth"),
    U("calls", 1, VM_MAX_CALLS, "task, else 256", "call depth"),
    E("underflow", underflow_names, "task (GP tasks: `skip`)",
      "operand shortage: `fault` stops the case, `skip` charges and ignores the instruction"),
    END,
};
static const fdesc bud_f[] = {
    U("generations", 0, MAX_U, "50",
      "stop once generation = this (generation 0 is the initial population; 0: no limit)"),
    U("evaluations", 0, MAX_U, "0 (none)", "programs evaluated"),
    U("gas", 0, MAX_U, "0 (none)", "total gas of all evaluations"),
    {.key = "target_error",
     .type = F_REAL,
     .rmin = 0.0,
     .rmax = 1e300,
     .nullable = true,
     .dflt = "null (off)",
     .doc = "stop when the best error ≤ this"},
    R("wall_seconds", 0.0, 1e9, "0 (off)",
      "a wall-clock stop: **the run is then not reproducible**; only when asked for explicitly"),
    END,
};
static const fdesc out_f[] = {
    T("per_case", F_BOOL, "false",
      "also store per-case errors every generation (docs/hdf5-schema.md)"),
    T("population", F_STR, "`\"every 10\"`",
      "which generations the file's populations (`/pop`) keep: `\"every\"` generation, "
      "`\"every N\"` (0, N, 2N, ... and the last) or `\"final\"` (the last only). `/stats` "
      "keeps every generation's best and statistics, `/elite` every generation's best genome "
      "(`frugal disasm RUN.h5:GEN:best`), and every choice resumes "
      "(docs/hdf5-schema.md, \"Which generations /pop keeps\")"),
    R("commit_seconds", 0.0, 86400.0, "1",
      "write the generations made so far to the file at least this often (group commit; 0: "
      "every generation). A kill loses at most this much work, which `frugal resume` recomputes "
      "bit for bit (docs/hdf5-schema.md, \"Crash safety\")"),
    END,
};
static const fdesc root_f[] = {
    T("name", F_STR, "the file name without `.json`",
      "names the results folder `results/<name>/`: letters, digits, `-`, `_`, `.`"),
    T("description", F_STR, "none", "free text, not stored"),
    U("seed", 0, MAX_U, "1", "the run seed: task cases and every GP draw derive from it"),
    U("threads", 0, 4096, "0 (OpenMP's default)", "evaluation threads; never changes the results"),
    O("task", task_f),
    O("population", pop_f),
    O("selection", sel_f),
    O("fitness", fit_f),
    O("variation", var_f),
    O("genome", gen_f),
    O("migration", mig_f),
    O("limits", lim_f),
    O("budget", bud_f),
    O("output", out_f),
    END,
};

/* ---- messages ---- */

/* The base layer's formatter under this file's short name (other branches
 * edit this file; issue 17's error-convention step renames the calls). */
#define errf base_errf

/* "an integer", "a string", ... (shared with the data task's messages) */
#define jtype fit_json_type

/* A short rendering of a found value, e.g. "\"3\" (a string)". */
static void found_text(const json_t *v, char *buf, size_t cap) {
    char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (t && strlen(t) > 40) strcpy(t + 37, "...");
    snprintf(buf, cap, "%s (%s)", t ? t : "?", jtype(v));
    free(t);
}

/* The names, each between quote marks q, comma-separated. */
static void names_text(const char *const *names, char q, char *buf, size_t cap) {
    size_t n = 0;
    buf[0] = 0;
    for (size_t i = 0; names[i] && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%c%s%c", i ? ", " : "", q, names[i], q);
}

static void keys_text(const fdesc *kids, char *buf, size_t cap) {
    size_t n = 0;
    buf[0] = 0;
    for (size_t i = 0; kids[i].key && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? ", " : "", kids[i].key);
}

static void expected_text(const fdesc *f, char *buf, size_t cap) {
    char names[256];
    switch (f->type) {
    case F_OBJ: snprintf(buf, cap, "an object"); break;
    case F_STR: snprintf(buf, cap, "a string"); break;
    case F_HEX: snprintf(buf, cap, "a string of hex digits"); break;
    case F_UINT:
        snprintf(buf, cap, "an integer in %llu..%llu", (unsigned long long)f->umin,
                 (unsigned long long)f->umax);
        break;
    case F_REAL:
        if (f->rmax >= 1e300)
            snprintf(buf, cap, "a number >= %g%s", f->rmin, f->nullable ? " or null" : "");
        else
            snprintf(buf, cap, "a number in [%g, %g]%s", f->rmin, f->rmax,
                     f->nullable ? " or null" : "");
        break;
    case F_BOOL: snprintf(buf, cap, "true or false"); break;
    case F_ENUM:
        names_text(f->names, '"', names, sizeof names);
        snprintf(buf, cap, "one of %s", names);
        break;
    case F_ENUMS:
        names_text(f->names, '"', names, sizeof names);
        snprintf(buf, cap, "an array of 1..%zu distinct names of %s", f->maxn, names);
        break;
    case F_OPS: snprintf(buf, cap, "an array of 1..%zu opcode names", f->maxn); break;
    case F_WORD: snprintf(buf, cap, "a number (an integer for integer tasks)"); break;
    case F_WORDS: snprintf(buf, cap, "an array of at most %zu numbers", f->maxn); break;
    case F_STRS: snprintf(buf, cap, "an array of 1..%zu strings", f->maxn); break;
    }
}

/* ---- the key tables of docs/specs.md ---- */

/* An integer as the docs write it: 2^k or 2^k-1 from 2^16, 10^k from 10^4. */
static void num_text(uint64_t v, char *buf, size_t cap) {
    int k = 0;
    if (v >= 65536 && !(v & (v - 1))) {
        while (v >>= 1)
            k++;
        snprintf(buf, cap, "2^%d", k);
    } else if (v >= 65535 && !((v + 1) & v)) {
        while (v) {
            v >>= 1;
            k++;
        }
        snprintf(buf, cap, "2^%d-1", k);
    } else {
        uint64_t p = 1;
        while (p < v && p <= UINT64_MAX / 10) {
            p *= 10;
            k++;
        }
        if (v >= 10000 && p == v)
            snprintf(buf, cap, "10^%d", k);
        else
            snprintf(buf, cap, "%llu", (unsigned long long)v);
    }
}

/* The type column of a key. */
static void type_md(const fdesc *f, char *buf, size_t cap) {
    char a[32], b[32], names[256];
    switch (f->type) {
    case F_OBJ: snprintf(buf, cap, "object"); break;
    case F_STR: snprintf(buf, cap, "string"); break;
    case F_HEX: snprintf(buf, cap, "hex string"); break;
    case F_UINT:
        num_text(f->umin, a, sizeof a);
        num_text(f->umax, b, sizeof b);
        snprintf(buf, cap, "integer %s..%s", a, b);
        break;
    case F_REAL:
        if (f->rmin == 0.0 && f->rmax == 1.0)
            snprintf(buf, cap, "probability");
        else if (f->rmax >= 1e300)
            snprintf(buf, cap, "number ≥ %g%s", f->rmin, f->nullable ? " or null" : "");
        else {
            num_text((uint64_t)f->rmax, b, sizeof b); /* the maxima are whole numbers */
            snprintf(buf, cap, "number in [%g, %s]%s", f->rmin, b, f->nullable ? " or null" : "");
        }
        break;
    case F_BOOL: snprintf(buf, cap, "boolean"); break;
    case F_ENUM: names_text(f->names, '`', buf, cap); break;
    case F_ENUMS:
        names_text(f->names, '`', names, sizeof names);
        snprintf(buf, cap, "list of 1..%zu distinct of %s", f->maxn, names);
        break;
    case F_OPS: snprintf(buf, cap, "list of 1..%zu opcode names", f->maxn); break;
    case F_WORD: snprintf(buf, cap, "number"); break;
    case F_WORDS: snprintf(buf, cap, "list of ≤ %zu numbers", f->maxn); break;
    case F_STRS: snprintf(buf, cap, "list of 1..%zu strings", f->maxn); break;
    }
}

int exp_spec_doc_keys(FILE *out, const char *section) {
    const fdesc *kids = root_f;
    if (section) {
        kids = NULL;
        for (size_t i = 0; root_f[i].key; i++)
            if (root_f[i].type == F_OBJ && !strcmp(root_f[i].key, section)) kids = root_f[i].kids;
        if (!kids) return -1;
    }
    fprintf(out, "| key | type | default | meaning |\n|---|---|---|---|\n");
    for (size_t i = 0; kids[i].key; i++) {
        if (kids[i].type == F_OBJ) continue;
        char type[512];
        type_md(&kids[i], type, sizeof type);
        fprintf(out, "| `%s` | %s | %s | %s |\n", kids[i].key, type, kids[i].dflt, kids[i].doc);
    }
    return 0;
}

void exp_spec_doc_sections(const char **names, size_t *n) {
    size_t k = 0;
    for (size_t i = 0; root_f[i].key; i++)
        if (root_f[i].type == F_OBJ) names[k++] = root_f[i].key;
    *n = k;
}

/* ---- validation of the parsed tree ---- */

typedef struct {
    const char *src;        /* the file name, for messages */
    const exp_override *ov; /* the overrides applied, named in messages instead */
    size_t nov;
    char what[320]; /* origin's text */
    char *err;
    size_t cap;
} vctx;

/* Whether JSON path a is b or holds it ("$.x" holds "$.x.y" and "$.x[0]"). */
static bool holds(const char *a, const char *b) {
    size_t n = strlen(a);
    return !strncmp(a, b, n) && (!b[n] || b[n] == '.' || b[n] == '[');
}

/* Who set the value at path, for a message: the last --set of path, of a key
 * inside it or of an object that holds it (also: of the second path the
 * message is about, when not NULL), else the spec file. */
static const char *origin(vctx *c, const char *path, const char *also) {
    for (int pass = 0; pass < 2; pass++) {
        const char *x = pass ? also : path;
        if (!x || !strcmp(x, "$")) continue;
        for (size_t i = c->nov; i-- > 0;) {
            char p[300];
            snprintf(p, sizeof p, "$.%s", c->ov[i].path);
            if (holds(p, x) || holds(x, p)) {
                snprintf(c->what, sizeof c->what, "--set %s=%s", c->ov[i].path, c->ov[i].value);
                return c->what;
            }
        }
    }
    return c->src;
}

static int bad(vctx *c, const char *path, const fdesc *f, const json_t *v) {
    char exp[512], found[96];
    expected_text(f, exp, sizeof exp);
    found_text(v, found, sizeof found);
    errf(c->err, c->cap, "%s: %s: expected %s, found %s", origin(c, path, NULL), path, exp, found);
    return -1;
}

static bool is_hex(const char *s) {
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s += 2;
    size_t n = strlen(s);
    if (n % 2) return false;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i])) return false;
    return true;
}

static int name_index(const char *const *names, const char *s) {
    for (int i = 0; names[i]; i++)
        if (!strcmp(names[i], s)) return i;
    return -1;
}

static int validate(vctx *c, const fdesc *f, const json_t *v, const char *path);

/* path[i] or path.key into sub (cut when too long). */
static void sub_path(char *sub, size_t cap, const char *path, const char *key, size_t i) {
    int n = key ? snprintf(sub, cap, "%s.%s", path, key) : snprintf(sub, cap, "%s[%zu]", path, i);
    if (n < 0 || (size_t)n >= cap) sub[cap - 1] = 0;
}

static int validate_obj(vctx *c, const fdesc *kids, const json_t *v, const char *path) {
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)v, key, val) {
        const fdesc *k = NULL;
        for (size_t i = 0; kids[i].key; i++)
            if (!strcmp(kids[i].key, key)) k = &kids[i];
        if (!k) {
            char keys[512];
            keys_text(kids, keys, sizeof keys);
            errf(c->err, c->cap, "%s: %s: unknown key \"%s\" (expected one of: %s)", c->src, path,
                 key, keys);
            return -1;
        }
        char sub[256];
        sub_path(sub, sizeof sub, path, key, 0);
        if (validate(c, k, val, sub)) return -1;
    }
    return 0;
}

static int validate(vctx *c, const fdesc *f, const json_t *v, const char *path) {
    switch (f->type) {
    case F_OBJ:
        if (!json_is_object(v)) return bad(c, path, f, v);
        return validate_obj(c, f->kids, v, path);
    case F_STR:
        if (!json_is_string(v)) return bad(c, path, f, v);
        return 0;
    case F_HEX:
        if (!json_is_string(v) || !is_hex(json_string_value(v))) return bad(c, path, f, v);
        return 0;
    case F_UINT: {
        if (!json_is_integer(v)) return bad(c, path, f, v);
        json_int_t x = json_integer_value(v);
        if (x < 0 || (uint64_t)x < f->umin || (uint64_t)x > f->umax) return bad(c, path, f, v);
        return 0;
    }
    case F_REAL: {
        if (f->nullable && json_is_null(v)) return 0;
        if (!json_is_number(v)) return bad(c, path, f, v);
        double x = json_number_value(v);
        if (!(x >= f->rmin && x <= f->rmax)) return bad(c, path, f, v);
        return 0;
    }
    case F_BOOL:
        if (!json_is_boolean(v)) return bad(c, path, f, v);
        return 0;
    case F_ENUM:
        if (!json_is_string(v) || name_index(f->names, json_string_value(v)) < 0)
            return bad(c, path, f, v);
        return 0;
    case F_ENUMS: {
        if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > f->maxn)
            return bad(c, path, f, v);
        unsigned seen = 0;
        for (size_t i = 0; i < json_array_size(v); i++) {
            const json_t *e = json_array_get(v, i);
            int k = json_is_string(e) ? name_index(f->names, json_string_value(e)) : -1;
            if (k < 0 || (seen & (1u << k))) {
                char sub[256];
                sub_path(sub, sizeof sub, path, NULL, i);
                return bad(c, sub, f, e);
            }
            seen |= 1u << k;
        }
        return 0;
    }
    case F_OPS: /* opcode names are checked against the ISA once the task is known */
    case F_STRS:
        if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > f->maxn)
            return bad(c, path, f, v);
        for (size_t i = 0; i < json_array_size(v); i++)
            if (!json_is_string(json_array_get(v, i))) {
                char sub[256];
                sub_path(sub, sizeof sub, path, NULL, i);
                errf(c->err, c->cap, "%s: %s: expected %s (a string), found %s",
                     origin(c, sub, NULL), sub, f->type == F_OPS ? "an opcode name" : "a name",
                     jtype(json_array_get(v, i)));
                return -1;
            }
        return 0;
    case F_WORD:
        if (!json_is_number(v)) return bad(c, path, f, v);
        return 0;
    case F_WORDS:
        if (!json_is_array(v) || json_array_size(v) > f->maxn) return bad(c, path, f, v);
        for (size_t i = 0; i < json_array_size(v); i++)
            if (!json_is_number(json_array_get(v, i))) {
                char sub[256];
                sub_path(sub, sizeof sub, path, NULL, i);
                return bad(c, sub, &(fdesc){.type = F_WORD}, json_array_get(v, i));
            }
        return 0;
    }
    return 0;
}

/* ---- overrides: --set key.path=value, typed by the schema ---- */

static const fdesc *find_field(const char *dotted, char *err, size_t cap, const char *what) {
    const fdesc *kids = root_f, *f = NULL;
    char buf[256];
    if (strlen(dotted) >= sizeof buf) {
        errf(err, cap, "%s: the key path is too long", what);
        return NULL;
    }
    strcpy(buf, dotted);
    char *save = NULL;
    char prefix[256] = "$";
    for (char *tok = strtok_r(buf, ".", &save); tok; tok = strtok_r(NULL, ".", &save)) {
        if (!kids) {
            errf(err, cap, "%s: %s is not an object", what, prefix);
            return NULL;
        }
        f = NULL;
        for (size_t i = 0; kids[i].key; i++)
            if (!strcmp(kids[i].key, tok)) f = &kids[i];
        if (!f) {
            char keys[512];
            keys_text(kids, keys, sizeof keys);
            errf(err, cap, "%s: %s: unknown key \"%s\" (expected one of: %s)", what, prefix, tok,
                 keys);
            return NULL;
        }
        size_t n = strlen(prefix);
        snprintf(prefix + n, sizeof prefix - n, ".%s", tok);
        kids = f->type == F_OBJ ? f->kids : NULL;
    }
    if (!f) errf(err, cap, "%s: an empty key path", what);
    return f;
}

/* Parse text as a JSON scalar for field type t; NULL when it is not one. */
static json_t *scalar_from_text(ftype t, bool nullable, const char *s) {
    char *end;
    switch (t) {
    case F_STR:
    case F_HEX:
    case F_ENUM: return json_string(s);
    case F_UINT: {
        if (!*s || *s == '-' || isspace((unsigned char)*s)) return NULL;
        errno = 0;
        unsigned long long x = strtoull(s, &end, 0);
        if (errno || *end || x > (unsigned long long)INT64_MAX) return NULL;
        return json_integer((json_int_t)x);
    }
    case F_REAL:
    case F_WORD: {
        if (nullable && !strcmp(s, "null")) return json_null();
        if (!*s || isspace((unsigned char)*s)) return NULL;
        errno = 0;
        long long i = strtoll(s, &end, 10);
        if (!errno && !*end) return json_integer(i);
        errno = 0;
        double x = strtod(s, &end);
        if (errno || *end || !isfinite(x)) return NULL;
        return json_real(x);
    }
    case F_BOOL:
        if (!strcmp(s, "true")) return json_true();
        if (!strcmp(s, "false")) return json_false();
        return NULL;
    default: return NULL;
    }
}

static json_t *value_from_text(const fdesc *f, const char *s) {
    if (f->type == F_OBJ) return NULL;
    if (f->type != F_ENUMS && f->type != F_OPS && f->type != F_WORDS && f->type != F_STRS)
        return scalar_from_text(f->type, f->nullable, s);
    /* a list: comma-separated, possibly empty */
    json_t *a = json_array();
    if (!a) return NULL;
    char *copy = strdup(s), *save = NULL;
    if (!copy) goto fail;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        json_t *e = scalar_from_text(f->type == F_WORDS ? F_WORD : F_STR, false, tok);
        if (!e || json_array_append_new(a, e)) goto fail;
    }
    free(copy);
    return a;
fail:
    free(copy);
    json_decref(a);
    return NULL;
}

static int apply_override(json_t *root, const exp_override *o, char *err, size_t cap) {
    char what[320];
    snprintf(what, sizeof what, "--set %s=%s", o->path, o->value);
    const fdesc *f = find_field(o->path, err, cap, what);
    if (!f) return -1;
    json_t *v = value_from_text(f, o->value);
    if (!v) {
        char exp[512];
        expected_text(f, exp, sizeof exp);
        errf(err, cap, "%s: $.%s: expected %s, found \"%s\"", what, o->path, exp, o->value);
        return -1;
    }
    /* walk/create the parent objects */
    char buf[256];
    snprintf(buf, sizeof buf, "%s", o->path);
    json_t *obj = root;
    char *save = NULL, *tok = strtok_r(buf, ".", &save);
    for (char *next = strtok_r(NULL, ".", &save); next; next = strtok_r(NULL, ".", &save)) {
        json_t *child = json_object_get(obj, tok);
        if (!child) {
            child = json_object();
            if (!child || json_object_set_new(obj, tok, child)) goto oom;
        } else if (!json_is_object(child)) {
            errf(err, cap, "%s: the spec's %s is not an object", what, tok);
            json_decref(v);
            return -1;
        }
        obj = child;
        tok = next;
    }
    if (json_object_set_new(obj, tok, v)) {
        v = NULL;
        goto oom;
    }
    return 0;
oom:
    json_decref(v);
    errf(err, cap, "%s: out of memory", what);
    return -1;
}

/* ---- tasks: the one place that maps a spec to a task ---- */

bool exp_spec_task_known(const char *name) {
    return fit_task_find(name) != NULL;
}

int exp_spec_make_task(const char *name, const fit_task_opts *o, uint64_t seed, fit_task *t,
                       char *err, size_t errcap) {
    /* the cases: stream (seed, EVO_STREAM_TASK, 0, 0), as evo_task_quartic */
    evo_rng rng;
    fit_rng frng;
    evo_rng_stream(&rng, seed, EVO_STREAM_TASK, 0, 0);
    evo_fit_rng(&frng, &rng);
    return fit_task_make(name, o, &frng, t, err, errcap) ? -1 : 0;
}

void exp_spec_print_tasks(FILE *f) {
    fprintf(f, "Tasks (task.name, docs/tasks.md), by family:\n");
    for (size_t i = 0; i < fit_ntasks; i++) {
        const char *fam = fit_tasks[i].family;
        size_t j = 0;
        while (j < i && strcmp(fit_tasks[j].family, fam))
            j++;
        if (j < i) continue; /* family listed already */
        int col = fprintf(f, "  %-14s", fam);
        for (j = i; j < fit_ntasks; j++) {
            if (strcmp(fit_tasks[j].family, fam)) continue;
            int w = (int)strlen(fit_tasks[j].name) + 1;
            if (col + w > 80) col = fprintf(f, "\n  %-14s", "") - 1;
            col += fprintf(f, " %s", fit_tasks[j].name);
        }
        fputc('\n', f);
    }
}

/* The genome ISA of a task. */
static int task_isa(const fit_task *t, evo_isa *isa, char *err, size_t cap) {
    (void)err;
    (void)cap;
    evo_isa_for_task(isa, t);
    return 0;
}

const char *exp_spec_opname(fit_isa isa, uint8_t op) {
    if (isa == FIT_ISA_EVM) return evm_opinfo_of(op)->name;
    return vm_opinfo_of(op)->name;
}

static int opcode_by_name(fit_isa isa, const evo_isa *eisa, const char *s) {
    for (int op = 0; op < 256; op++) {
        const char *n = exp_spec_opname(isa, (uint8_t)op);
        if (n && eisa->op[op].defined && !strcasecmp(n, s)) return op;
    }
    return -1;
}

/* ---- reading values (after validation) ---- */

static json_t *at(json_t *root, const char *sect, const char *key) {
    json_t *o = sect ? json_object_get(root, sect) : root;
    return o ? json_object_get(o, key) : NULL;
}

static void get_u32(json_t *root, const char *sect, const char *key, uint32_t *out) {
    json_t *v = at(root, sect, key);
    if (v) *out = (uint32_t)json_integer_value(v);
}
static void get_u64(json_t *root, const char *sect, const char *key, uint64_t *out) {
    json_t *v = at(root, sect, key);
    if (v) *out = (uint64_t)json_integer_value(v);
}
static void get_real(json_t *root, const char *sect, const char *key, double *out) {
    json_t *v = at(root, sect, key);
    if (v) *out = json_number_value(v);
}
static void get_bool(json_t *root, const char *sect, const char *key, bool *out) {
    json_t *v = at(root, sect, key);
    if (v) *out = json_is_true(v);
}
static int get_enum(json_t *root, const char *sect, const char *key, const char *const *names,
                    int dflt) {
    json_t *v = at(root, sect, key);
    return v ? name_index(names, json_string_value(v)) : dflt;
}

/* A word from a number: Q32.32 for fixed-point tasks, else an integer. */
static int word_of(const char *src, const char *path, const json_t *v, bool fx, vm_word *out,
                   char *err, size_t cap) {
    if (fx) {
        double x = json_number_value(v);
        if (!(fabs(x) <= FX_WORD_LIMIT)) {
            errf(err, cap,
                 "%s: %s: expected a number in [-%.0f, %.0f] (a Q32.32 constant of a fixed-point "
                 "task), found %g",
                 src, path, FX_WORD_LIMIT, FX_WORD_LIMIT, x);
            return -1;
        }
        *out = (vm_word)llround(x * 4294967296.0);
        return 0;
    }
    if (!json_is_integer(v)) {
        errf(err, cap, "%s: %s: expected an integer (the task is not fixed-point), found %g", src,
             path, json_number_value(v));
        return -1;
    }
    *out = (vm_word)json_integer_value(v);
    return 0;
}

static json_t *word_json(vm_word w, bool fx) {
    return fx ? json_real((double)w / 4294967296.0) : json_integer((json_int_t)w);
}

/* ---- the task "data" ---- */

/* One data file: read (relative to spec_path), or the run file's copy (kept). */
static int data_file(exp_spec *s, const char *given, const char *name, const char *spec_path,
                     const exp_kept *kept, exp_data_file *f, char *err, size_t errcap) {
    if (!kept) return exp_data_read(spec_path, given, f, err, errcap);
    const st_file *sf = NULL;
    for (uint32_t i = 0; i < kept->n && !sf; i++)
        if (!strcmp(kept->f[i].name, name)) sf = &kept->f[i];
    if (!sf) {
        errf(err, errcap, "the run file holds no copy of the data file %s (/cases/%s)", given,
             name);
        return EXP_EXIT_INPUT;
    }
    return exp_data_stored(given, sf, f, s->data_note, sizeof s->data_note, err, errcap);
}

/* The data keys into s and o, and the files read. 0, or an exit code. */
static int load_data_keys(exp_spec *s, json_t *root, vctx *c, const char *spec_path,
                          const exp_kept *kept, fit_task_opts *o, char *err, size_t errcap) {
    json_t *v = at(root, "task", "data");
    if (!v) {
        errf(err, errcap, "%s: $.task.data: the task \"data\" needs a data file, found nothing",
             origin(c, "$.task.data", NULL));
        return EXP_EXIT_INPUT;
    }
    get_real(root, "task", "split", &s->split);
    if (s->split >= 1) {
        errf(err, errcap, "%s: $.task.split: expected a fraction below 1, found %g",
             origin(c, "$.task.split", NULL), s->split);
        return EXP_EXIT_INPUT;
    }
    json_t *tv = at(root, "task", "test");
    if (tv && s->split > 0) {
        errf(err, errcap, "%s: $.task.test, $.task.split: give one of them, not both",
             origin(c, "$.task.test", "$.task.split"));
        return EXP_EXIT_INPUT;
    }
    json_t *x = at(root, "task", "target");
    if (x && !(s->target = strdup(json_string_value(x)))) goto oom;
    x = at(root, "task", "inputs");
    if (x) {
        s->n_inputs = (uint32_t)json_array_size(x);
        if (!(s->inputs = calloc(s->n_inputs, sizeof *s->inputs))) goto oom;
        for (uint32_t i = 0; i < s->n_inputs; i++)
            if (!(s->inputs[i] = strdup(json_string_value(json_array_get(x, i))))) goto oom;
    }
    s->loss = get_enum(root, "task", "loss", loss_names, FIT_LOSS_ABS);
    x = at(root, "task", "hit");
    if ((s->has_hit = x != NULL)) s->hit = json_number_value(x);
    x = at(root, "task", "penalty");
    if ((s->has_penalty = x != NULL)) s->penalty = json_number_value(x);
    int fmt = fit_data_format(json_string_value(v));
    if (!fmt) {
        errf(err, errcap,
             "%s: $.task.data: expected a .csv, .jsonl or .json file name (the format comes from "
             "it), found \"%s\"",
             origin(c, "$.task.data", NULL), json_string_value(v));
        return EXP_EXIT_INPUT;
    }
    if (fmt == 1 && !s->target) {
        errf(err, errcap, "%s: $.task.target: a CSV task needs its target column, found nothing",
             origin(c, "$.task.target", NULL));
        return EXP_EXIT_INPUT;
    }
    s->isa = get_enum(root, "task", "isa", isa_names, FIT_ISA_NATIVE);
    bool evm = s->isa == FIT_ISA_EVM;
    if (fmt == 2 && (s->target || s->n_inputs || (!evm && at(root, "task", "loss")))) {
        errf(err, errcap,
             "%s: $.task: target, inputs and loss are for CSV files; JSON lines name their "
             "inputs and outputs (input1.., output1..)",
             origin(c, "$.task", NULL));
        return EXP_EXIT_INPUT;
    }
    if (fmt == 1 && evm) {
        errf(err, errcap,
             "%s: $.task.isa: the EVM takes JSON-lines tasks (integers and booleans as calldata "
             "words); the EVM tasks have no fixed-point convention for a CSV's real numbers",
             origin(c, "$.task.isa", NULL));
        return EXP_EXIT_INPUT;
    }
    if (evm ? s->loss == FIT_LOSS_SQUARED : s->loss == FIT_LOSS_BITS) {
        errf(err, errcap, "%s: $.task.loss: %s, found \"%s\"", origin(c, "$.task.loss", NULL),
             evm ? "expected abs or bits for an EVM task" : "expected abs or squared",
             loss_names[s->loss]);
        return EXP_EXIT_INPUT;
    }
    int rc = data_file(s, json_string_value(v), "data", spec_path, kept, &s->data, err, errcap);
    if (!rc && tv)
        rc = data_file(s, json_string_value(tv), "test", spec_path, kept, &s->test, err, errcap);
    if (rc) return rc;
    o->data = (fit_data_file){s->data.path, s->data.bytes, s->data.len};
    if (s->test.path) o->test = (fit_data_file){s->test.path, s->test.bytes, s->test.len};
    o->target = s->target;
    o->inputs = (const char *const *)s->inputs;
    o->n_inputs = s->n_inputs;
    o->split = s->split;
    o->isa = (fit_isa)s->isa;
    o->loss = (fit_loss)s->loss;
    o->has_hit = s->has_hit;
    o->hit = s->hit;
    o->has_penalty = s->has_penalty;
    o->penalty = s->penalty;
    return 0;
oom:
    errf(err, errcap, "%s: out of memory", c->src);
    return EXP_EXIT_FAIL;
}

/* ---- the whole load ---- */

static int read_text(const char *path, char **out, char *err, size_t cap) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        errf(err, cap, "cannot open %s: %s", path, strerror(errno));
        return EXP_EXIT_IO;
    }
    base_buf b = {0};
    int rc = EXP_EXIT_OK;
    int got = base_read_all(f, &b, 64u << 20);
    if (got == BASE_READ_ERROR) {
        errf(err, cap, "cannot read %s: %s", path, strerror(errno));
        rc = EXP_EXIT_IO;
        goto done;
    }
    if (got || base_buf_reserve(&b, 1)) goto oom;
    char *buf = (char *)b.data;
    size_t n = b.len;
    buf[n] = 0;
    if (strlen(buf) != n) {
        errf(err, cap, "%s: not a JSON text (it holds a NUL byte)", path);
        rc = EXP_EXIT_INPUT;
        goto done;
    }
    *out = buf;
    b.data = NULL;
    goto done;
oom:
    errf(err, cap, "%s: out of memory (or over 64 MiB)", path);
    rc = EXP_EXIT_FAIL;
done:
    base_buf_free(&b);
    fclose(f);
    return rc;
}

static void base_name(const char *path, char *out, size_t cap) {
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t n = strlen(b);
    if (n > 5 && !strcmp(b + n - 5, ".json")) n -= 5;
    if (n >= cap) n = cap - 1;
    memcpy(out, b, n);
    out[n] = 0;
}

static bool good_name(const char *s) {
    if (!*s || *s == '.') return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.') return false;
    return true;
}

/* Apply the parsed spec on top of the defaults in p. */
static int fill_params(json_t *root, vctx *c, const fit_task *t, const evo_isa *isa,
                       evo_params *p) {
    char *err = c->err;
    size_t cap = c->cap;
    get_u64(root, NULL, "seed", &p->seed);
    get_u32(root, "population", "size", &p->pop_size);
    get_u32(root, "population", "islands", &p->islands);
    p->selection =
        (evo_selection)get_enum(root, "selection", "method", evo_selection_names, p->selection);
    get_u32(root, "selection", "tournament", &p->tournament);
    get_u32(root, "selection", "elites", &p->elites);
    p->tiebreak = (evo_tiebreak)get_enum(root, "selection", "tiebreak", tie_names, p->tiebreak);
    get_real(root, "selection", "downsample", &p->downsample);
    json_t *objs = at(root, "selection", "objectives");
    if (objs) {
        p->nobjectives = (uint32_t)json_array_size(objs);
        for (size_t i = 0; i < json_array_size(objs); i++)
            p->objectives[i] =
                (evo_objective)name_index(obj_names, json_string_value(json_array_get(objs, i)));
    }
    get_real(root, "fitness", "parsimony_length", &p->parsimony_length);
    get_real(root, "fitness", "parsimony_gas", &p->parsimony_gas);
    get_real(root, "fitness", "gas_ref", &p->gas_ref);
    get_real(root, "fitness", "parsimony_memtime", &p->parsimony_memtime);
    get_real(root, "fitness", "memtime_ref", &p->memtime_ref);
    get_real(root, "fitness", "penalty_out_of_gas", &p->penalty_out_of_gas);
    get_real(root, "fitness", "penalty_fault", &p->penalty_fault);

    evo_genome_params *g = &p->genome;
    get_real(root, "variation", "cx_one_point", &g->p_cx_one);
    get_real(root, "variation", "cx_two_point", &g->p_cx_two);
    get_real(root, "variation", "cx_homologous", &g->p_cx_homol);
    get_real(root, "variation", "point", &g->p_point);
    get_real(root, "variation", "insert", &g->p_insert);
    get_real(root, "variation", "delete", &g->p_delete);
    get_real(root, "variation", "swap", &g->p_swap);
    get_real(root, "variation", "point_imm", &g->p_point_imm);
    get_real(root, "variation", "point_class", &g->p_point_class);
    get_real(root, "variation", "umad", &g->umad);

    get_u32(root, "genome", "max_bytes", &g->max_bytes);
    get_u32(root, "genome", "max_insns", &g->max_insns);
    get_u32(root, "genome", "init_min", &g->init_min);
    get_u32(root, "genome", "init_max", &g->init_max);
    get_bool(root, "genome", "init_stack_aware", &g->init_stack_aware);
    get_u32(root, "genome", "init_depth", &g->init_depth);
    get_real(root, "genome", "p_const", &g->p_const);
    get_u32(root, "genome", "idx_max", &g->idx_max);
    json_t *ops = at(root, "genome", "opcodes");
    if (ops) {
        g->nops = (uint32_t)json_array_size(ops);
        for (size_t i = 0; i < json_array_size(ops); i++) {
            const char *s = json_string_value(json_array_get(ops, i));
            int op = opcode_by_name(t->isa, isa, s);
            if (op < 0) {
                char path[64];
                snprintf(path, sizeof path, "$.genome.opcodes[%zu]", i);
                errf(err, cap, "%s: %s: expected an opcode of the %s ISA, found \"%s\"",
                     origin(c, path, NULL), path, t->isa == FIT_ISA_EVM ? "EVM" : "native", s);
                return -1;
            }
            g->ops[i] = (uint8_t)op;
        }
    }
    json_t *consts = at(root, "genome", "constants");
    if (consts) {
        g->nconsts = (uint32_t)json_array_size(consts);
        for (size_t i = 0; i < json_array_size(consts); i++) {
            char path[64];
            snprintf(path, sizeof path, "$.genome.constants[%zu]", i);
            if (word_of(origin(c, path, NULL), path, json_array_get(consts, i), t->fixed_point,
                        &g->consts[i], err, cap))
                return -1;
        }
    }
    static const char *const wkeys[] = {"const_lo", "const_hi", "const_tweak"};
    vm_word *wdst[] = {&g->const_lo, &g->const_hi, &g->const_tweak};
    for (int i = 0; i < 3; i++) {
        json_t *v = at(root, "genome", wkeys[i]);
        char path[64];
        snprintf(path, sizeof path, "$.genome.%s", wkeys[i]);
        if (v && word_of(origin(c, path, NULL), path, v, t->fixed_point, wdst[i], err, cap))
            return -1;
    }

    get_u32(root, "migration", "every", &p->migrate_every);
    get_u32(root, "migration", "migrants", &p->migrants);
    p->topology = (evo_topology)get_enum(root, "migration", "topology", topo_names, p->topology);
    p->emigrate = (evo_emigrate)get_enum(root, "migration", "emigrate", emig_names, p->emigrate);

    get_u64(root, "limits", "gas", &p->limits.gas);
    get_u32(root, "limits", "mem", &p->limits.mem);
    get_u64(root, "limits", "memtime", &p->limits.memtime);
    get_u32(root, "limits", "stack", &p->limits.stack);
    get_u32(root, "limits", "calls", &p->limits.calls);
    p->limits.underflow = (uint8_t)(get_enum(root, "limits", "underflow", underflow_names, -1) + 1);

    get_u64(root, "budget", "generations", &p->max_generations);
    get_u64(root, "budget", "evaluations", &p->max_evaluations);
    get_u64(root, "budget", "gas", &p->max_gas);
    json_t *te = at(root, "budget", "target_error");
    if (te) p->target_error = json_is_null(te) ? -1 : json_number_value(te);
    get_real(root, "budget", "wall_seconds", &p->max_seconds);
    return 0;
}

/* Checks that involve several fields, with the path of the one to change
 * (named after the override that set it, if one did): the budget here, the
 * rest in the engine (evo_params_check). */
static int cross_check(vctx *c, const evo_params *p, const evo_isa *isa, const fit_task *t) {
    char *err = c->err;
    size_t cap = c->cap;
    if (!p->max_generations && !p->max_evaluations && !p->max_gas && !(p->max_seconds > 0)) {
        errf(err, cap,
             "%s: $.budget: expected at least one of generations, evaluations, gas or "
             "wall_seconds to be > 0, found none (the run would never stop)",
             origin(c, "$.budget", NULL));
        return -1;
    }
    char why[512];
    if (evo_params_check(p, isa, t, why, sizeof why)) {
        /* why starts with the key it blames ("selection.elites: ..."); an
         * override of that key, or of population.size it is checked
         * against, is named */
        char key[160];
        snprintf(key, sizeof key, "$.%.*s", (int)strcspn(why, ": ["), why);
        errf(err, cap, "%s: $.%s",
             origin(c, key, strstr(why, "population.size") ? "$.population.size" : NULL), why);
        return -1;
    }
    return 0;
}

/* The limits a run really uses: the spec's, else the task's, else the VM's. */
static void resolve_limits(const fit_task *t, vm_limits *l) {
    vm_limits r = t->limits;
    if (l->gas) r.gas = l->gas;
    if (l->mem) r.mem = l->mem;
    if (l->memtime) r.memtime = l->memtime;
    if (l->stack) r.stack = l->stack;
    if (l->calls) r.calls = l->calls;
    if (l->underflow) r.underflow = l->underflow;
    if (!r.underflow) r.underflow = VM_UNDERFLOW_FAULT;
    if (!r.gas) r.gas = VM_DEFAULT_GAS;
    if (!r.mem) r.mem = VM_DEFAULT_MEM;
    if (!r.memtime) r.memtime = VM_MAX_MEMTIME;
    if (!r.stack) r.stack = VM_DEFAULT_STACK;
    if (!r.calls) r.calls = VM_DEFAULT_CALLS;
    *l = r;
}

#define SET(o, k, v)                                                                               \
    do {                                                                                           \
        if (json_object_set_new(o, k, v)) goto oom;                                                \
    } while (0)
#define U64(x) json_integer((json_int_t)(x))

static char *canonical_text(const exp_spec *s) {
    const evo_params *p = &s->params;
    const evo_genome_params *g = &p->genome;
    bool fx = s->task.fixed_point;
    char *out = NULL;
    json_t *root = json_object(), *o;
    if (!root) return NULL;
    SET(root, "name", json_string(s->name));
    SET(root, "seed", U64(p->seed));

    SET(root, "task", o = json_object());
    SET(o, "name", json_string(s->task_name));
    SET(o, "n_train", U64(s->n_train));
    SET(o, "n_test", U64(s->n_test));
    if (s->block_hex) SET(o, "block", json_string(s->block_hex));
    SET(o, "equiv_samples", U64(s->equiv_samples));
    if (s->data.path) {
        json_t *a;
        SET(o, "data", json_string(s->data.path));
        if (s->test.path) SET(o, "test", json_string(s->test.path));
        SET(o, "split", json_real(s->split));
        if (s->target) SET(o, "target", json_string(s->target));
        if (s->n_inputs) {
            SET(o, "inputs", a = json_array());
            for (uint32_t i = 0; i < s->n_inputs; i++)
                if (json_array_append_new(a, json_string(s->inputs[i]))) goto oom;
        }
        if (fit_data_format(s->data.path) == 1 || s->isa == FIT_ISA_EVM)
            SET(o, "loss", json_string(loss_names[s->loss]));
        if (s->isa == FIT_ISA_EVM) SET(o, "isa", json_string(isa_names[s->isa]));
        SET(o, "hit", json_real(s->hit));
        SET(o, "penalty", json_real(s->penalty));
    }

    SET(root, "population", o = json_object());
    SET(o, "size", U64(p->pop_size));
    SET(o, "islands", U64(p->islands));

    SET(root, "selection", o = json_object());
    SET(o, "method", json_string(evo_selection_names[p->selection]));
    SET(o, "tournament", U64(p->tournament));
    SET(o, "elites", U64(p->elites));
    SET(o, "tiebreak", json_string(tie_names[p->tiebreak]));
    SET(o, "downsample", json_real(p->downsample));
    json_t *a;
    SET(o, "objectives", a = json_array());
    for (uint32_t i = 0; i < p->nobjectives; i++)
        if (json_array_append_new(a, json_string(obj_names[p->objectives[i]]))) goto oom;

    SET(root, "fitness", o = json_object());
    SET(o, "parsimony_length", json_real(p->parsimony_length));
    SET(o, "parsimony_gas", json_real(p->parsimony_gas));
    SET(o, "gas_ref", json_real(p->gas_ref));
    SET(o, "parsimony_memtime", json_real(p->parsimony_memtime));
    SET(o, "memtime_ref", json_real(p->memtime_ref));
    SET(o, "penalty_out_of_gas", json_real(p->penalty_out_of_gas));
    SET(o, "penalty_fault", json_real(p->penalty_fault));

    SET(root, "variation", o = json_object());
    SET(o, "cx_one_point", json_real(g->p_cx_one));
    SET(o, "cx_two_point", json_real(g->p_cx_two));
    SET(o, "cx_homologous", json_real(g->p_cx_homol));
    SET(o, "point", json_real(g->p_point));
    SET(o, "insert", json_real(g->p_insert));
    SET(o, "delete", json_real(g->p_delete));
    SET(o, "swap", json_real(g->p_swap));
    SET(o, "point_imm", json_real(g->p_point_imm));
    SET(o, "point_class", json_real(g->p_point_class));
    SET(o, "umad", json_real(g->umad));

    SET(root, "genome", o = json_object());
    SET(o, "max_bytes", U64(g->max_bytes));
    SET(o, "max_insns", U64(g->max_insns));
    SET(o, "init_min", U64(g->init_min));
    SET(o, "init_max", U64(g->init_max));
    SET(o, "init_stack_aware", json_boolean(g->init_stack_aware));
    SET(o, "init_depth", U64(g->init_depth));
    SET(o, "opcodes", a = json_array());
    for (uint32_t i = 0; i < g->nops; i++) {
        const char *n = exp_spec_opname(s->task.isa, g->ops[i]);
        if (json_array_append_new(a, json_string(n ? n : "?"))) goto oom;
    }
    SET(o, "constants", a = json_array());
    for (uint32_t i = 0; i < g->nconsts; i++)
        if (json_array_append_new(a, word_json(g->consts[i], fx))) goto oom;
    SET(o, "p_const", json_real(g->p_const));
    SET(o, "const_lo", word_json(g->const_lo, fx));
    SET(o, "const_hi", word_json(g->const_hi, fx));
    SET(o, "const_tweak", word_json(g->const_tweak, fx));
    SET(o, "idx_max", U64(g->idx_max));

    SET(root, "migration", o = json_object());
    SET(o, "every", U64(p->migrate_every));
    SET(o, "migrants", U64(p->migrants));
    SET(o, "topology", json_string(topo_names[p->topology]));
    SET(o, "emigrate", json_string(emig_names[p->emigrate]));

    SET(root, "limits", o = json_object());
    SET(o, "gas", U64(p->limits.gas));
    SET(o, "mem", U64(p->limits.mem));
    SET(o, "memtime", U64(p->limits.memtime));
    SET(o, "stack", U64(p->limits.stack));
    SET(o, "calls", U64(p->limits.calls));
    SET(o, "underflow", json_string(underflow_names[p->limits.underflow - 1]));

    SET(root, "budget", o = json_object());
    SET(o, "generations", U64(p->max_generations));
    SET(o, "evaluations", U64(p->max_evaluations));
    SET(o, "gas", U64(p->max_gas));
    SET(o, "target_error", p->target_error >= 0 ? json_real(p->target_error) : json_null());
    SET(o, "wall_seconds", json_real(p->max_seconds));

    SET(root, "output", o = json_object());
    SET(o, "per_case", json_boolean(s->per_case));
    char keep[32];
    exp_spec_keep_name(s->keep_every, keep, sizeof keep);
    SET(o, "population", json_string(keep));
    SET(o, "commit_seconds", json_real(s->commit_seconds));

    out = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT | JSON_REAL_PRECISION(17));
oom:
    json_decref(root);
    return out;
}

void exp_spec_free(exp_spec *s) {
    if (s->have_task) fit_task_free(&s->task);
    free(s->block_hex);
    free(s->canonical);
    exp_data_free(&s->data);
    exp_data_free(&s->test);
    free(s->target);
    for (uint32_t i = 0; i < s->n_inputs; i++)
        free(s->inputs[i]);
    free(s->inputs);
    memset(s, 0, sizeof *s);
}

static int spec_load(exp_spec *s, const char *path, const char *text, const exp_override *ov,
                     size_t nov, const exp_kept *kept, char *err, size_t errcap) {
    memset(s, 0, sizeof *s);
    const char *spec_file = text ? NULL : path; /* data paths are relative to its folder */
    char *own = NULL;
    json_t *root = NULL;
    int rc = EXP_EXIT_INPUT;
    if (!text) {
        rc = read_text(path, &own, err, errcap);
        if (rc) goto fail;
        rc = EXP_EXIT_INPUT;
        text = own;
    }
    json_error_t je;
    root = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        errf(err, errcap, "%s:%d:%d: invalid JSON: %s", path, je.line, je.column, je.text);
        goto fail;
    }
    if (!json_is_object(root)) {
        errf(err, errcap, "%s: $: expected an object, found %s", path, jtype(root));
        goto fail;
    }
    for (size_t i = 0; i < nov; i++)
        if (apply_override(root, &ov[i], err, errcap)) goto fail;
    vctx c = {.src = path, .ov = ov, .nov = nov, .err = err, .cap = errcap};
    if (validate_obj(&c, root_f, root, "$")) goto fail;

    /* name and task */
    json_t *v = json_object_get(root, "name");
    if (v)
        snprintf(s->name, sizeof s->name, "%s", json_string_value(v));
    else
        base_name(path, s->name, sizeof s->name);
    if (!good_name(s->name)) {
        errf(err, errcap,
             "%s: $.name: expected a name of letters, digits, '-', '_' and '.' (it names the "
             "results folder), found \"%s\"",
             origin(&c, "$.name", NULL), s->name);
        goto fail;
    }
    v = at(root, "task", "name");
    json_t *dv = at(root, "task", "data");
    if (!v && !dv) {
        errf(err, errcap, "%s: $.task.name: expected a task name, found nothing (it is required)",
             path);
        goto fail;
    }
    snprintf(s->task_name, sizeof s->task_name, "%s", v ? json_string_value(v) : "data");
    uint32_t given_train = 0, given_test = 0;
    get_u32(root, "task", "n_train", &given_train);
    get_u32(root, "task", "n_test", &given_test);
    s->n_train = given_train;
    s->n_test = given_test;
    get_u32(root, "task", "equiv_samples", &s->equiv_samples);
    v = at(root, "task", "block");
    if (v && !(s->block_hex = strdup(json_string_value(v)))) goto oom;
    get_u32(root, NULL, "threads", &s->threads);
    get_bool(root, "output", "per_case", &s->per_case);
    s->keep_every = EXP_KEEP_EVERY;
    v = at(root, "output", "population");
    if (v && exp_spec_keep_parse(json_string_value(v), &s->keep_every) < 0) {
        errf(err, errcap,
             "%s: $.output.population: expected \"every\", \"every N\" (N from 1 to "
             "2147483647) or \"final\", found \"%s\"",
             origin(&c, "$.output.population", NULL), json_string_value(v));
        goto fail;
    }
    s->commit_seconds = EXP_COMMIT_SECONDS;
    get_real(root, "output", "commit_seconds", &s->commit_seconds);
    uint64_t seed = 1;
    get_u64(root, NULL, "seed", &seed);

    char terr[1024];
    fit_task_opts topts = {.n_train = s->n_train,
                           .n_test = s->n_test,
                           .block_hex = s->block_hex,
                           .equiv_samples = s->equiv_samples};
    bool data_task = !strcmp(s->task_name, "data");
    if (data_task) {
        rc = load_data_keys(s, root, &c, spec_file, kept, &topts, err, errcap);
        if (rc) goto fail;
        rc = EXP_EXIT_INPUT;
        topts.n_train = topts.n_test = 0;
    } else {
        static const char *const data_keys[] = {"data", "test", "split",   "target", "inputs",
                                                "loss", "hit",  "penalty", "isa",    NULL};
        for (size_t i = 0; data_keys[i]; i++)
            if (at(root, "task", data_keys[i])) {
                char kp[64];
                snprintf(kp, sizeof kp, "$.task.%s", data_keys[i]);
                errf(err, errcap,
                     "%s: %s: only the task \"data\" has this key (task.name is \"%s\")",
                     origin(&c, kp, NULL), kp, s->task_name);
                goto fail;
            }
    }
    if (exp_spec_make_task(s->task_name, &topts, seed, &s->task, terr, sizeof terr)) {
        if (data_task && terr[0] &&
            (!strncmp(terr, s->data.path, strlen(s->data.path)) ||
             (s->test.path && !strncmp(terr, s->test.path, strlen(s->test.path)))))
            errf(err, errcap, "%s", terr); /* the message names the data file, line and column */
        else
            errf(err, errcap, "%s: $.task: %s", origin(&c, "$.task", NULL), terr);
        goto fail;
    }
    s->have_task = true;
    s->n_train = s->task.train.n;
    s->n_test = s->task.test.n;
    if (data_task &&
        ((given_train && given_train != s->n_train) || (given_test && given_test != s->n_test))) {
        errf(err, errcap,
             "%s: $.task.n_train, n_test: the data gives %u training and %u test cases; leave "
             "them out",
             origin(&c, "$.task", NULL), s->n_train, s->n_test);
        goto fail;
    }
    if (data_task) { /* the effective values, for the canonical form */
        s->has_hit = s->has_penalty = true;
        s->hit = s->task.hit_tol;
        s->penalty = s->task.penalty;
    }
    evo_isa isa;
    if (task_isa(&s->task, &isa, terr, sizeof terr)) {
        errf(err, errcap, "%s: $.task: %s", path, terr);
        goto fail;
    }
    evo_params_default(&s->params, &isa, &s->task);
    if (fill_params(root, &c, &s->task, &isa, &s->params)) goto fail;
    if (cross_check(&c, &s->params, &isa, &s->task)) goto fail;
    s->params.threads = s->threads;
    resolve_limits(&s->task, &s->params.limits);
    s->canonical = canonical_text(s);
    if (!s->canonical) goto oom;
    json_decref(root);
    free(own);
    return EXP_EXIT_OK;
oom:
    errf(err, errcap, "%s: out of memory", path);
    rc = EXP_EXIT_FAIL;
fail:
    json_decref(root);
    free(own);
    exp_spec_free(s);
    return rc;
}

int exp_spec_load(exp_spec *s, const char *path, const char *text, const exp_override *ov,
                  size_t nov, char *err, size_t errcap) {
    return spec_load(s, path, text, ov, nov, NULL, err, errcap);
}

int exp_spec_load_run(exp_spec *s, const char *src, const char *text, const exp_kept *kept,
                      char *err, size_t errcap) {
    return spec_load(s, src, text, NULL, 0, kept, err, errcap);
}

uint32_t exp_spec_store_files(const exp_spec *s, st_file *out) {
    uint32_t n = 0;
    const exp_data_file *f[2] = {&s->data, &s->test};
    static const char *const names[2] = {"data", "test"};
    for (int i = 0; i < 2; i++)
        if (f[i]->path)
            out[n++] = (st_file){.name = names[i],
                                 .path = f[i]->path,
                                 .bytes = f[i]->bytes,
                                 .len = f[i]->len,
                                 .sha256 = f[i]->sha256};
    return n;
}

int exp_simplify_best(evo_run *r, const exp_spec *s, const evo_stats *st, uint32_t steps,
                      fit_split which, uint8_t *code, uint32_t *n, fit_result *res) {
    fit_ctx *fc = fit_ctx_new(evo_run_task(r), &s->params.limits);
    int rc = !fc || evo_run_simplify(r, st->best_island, st->best_slot, steps, code, n) ||
                     fit_eval(fc, code, *n, which, res)
                 ? -1
                 : 0;
    fit_ctx_free(fc);
    return rc;
}

void exp_show_simplified(FILE *f, json_t *o, evo_run *r, const exp_spec *s, const evo_stats *st) {
    const fit_task *t = evo_run_task(r);
    const fit_cases *tc = fit_task_cases(t, FIT_TEST);
    if (st->best_error != 0 || t->fixed_point || !tc || !tc->n ||
        tc == fit_task_cases(t, FIT_TRAIN))
        return;
    uint8_t *code = malloc(s->params.genome.max_bytes);
    double *e = malloc(fit_task_nerrors(t, FIT_TEST) * sizeof *e);
    fit_result res = {.errors = e};
    uint32_t n = 0;
    if (code && e && exp_simplify_best(r, s, st, EXP_SIMPLIFY, FIT_TEST, code, &n, &res) == 0) {
        uint32_t insns = evo_genome_insns(evo_run_isa(r), code, n);
        if (f) {
            fprintf(f,
                    "\nsimplified (%d tries at deleting instructions, keeping the training error "
                    "0): %u instructions\n",
                    EXP_SIMPLIFY, insns);
            fprintf(f, "test: error %.6g, %u/%u hits\n", res.error, res.hits, tc->n);
            exp_print_program(f, t, code, n, "  ");
        }
        char *hex = o ? malloc(2 * (size_t)n + 1) : NULL;
        json_t *j = hex ? json_object() : NULL;
        if (j) {
            exp_hex(code, n, hex);
            json_object_set_new(j, "tries", json_integer(EXP_SIMPLIFY));
            json_object_set_new(j, "instructions", json_integer(insns));
            json_object_set_new(j, "length", json_integer(n));
            json_object_set_new(j, "code", json_string(hex));
            json_object_set_new(j, "test_error", json_real(res.error));
            json_object_set_new(j, "test_hits", json_integer(res.hits));
            json_object_set_new(j, "test_cases", json_integer(tc->n));
            json_object_set_new(o, "simplified", j);
        }
        free(hex);
    }
    free(e);
    free(code);
}

void exp_print_program(FILE *f, const fit_task *t, const uint8_t *code, uint32_t len,
                       const char *indent) {
    if (t->isa == FIT_ISA_EVM) {
        evm_disasm(code, len, f);
        return;
    }
    for (uint32_t pc = 0; pc < len;) {
        vm_insn in;
        char text[64];
        vm_decode(code, len, pc, &in);
        vm_insn_text(&in, text, sizeof text);
        if (t->fixed_point && in.defined && vm_opinfo_of(in.op)->imm == VM_IMM_I64)
            fprintf(f, "%s%04u  %-18s ; %.6g in Q32.32\n", indent, pc, text,
                    vm_fx_to_double(in.imm));
        else
            fprintf(f, "%s%04u  %s\n", indent, pc, text);
        pc += in.len ? in.len : 1;
    }
}
