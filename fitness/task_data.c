/* Data tasks (docs/tasks.md, "Data tasks"): regression from a CSV file and
 * program synthesis from JSON lines in PSB2's format. The files arrive read
 * (fit_data_file); errors name file:line:column.
 *
 * The CSV reader is our own: libcsv reports neither the line nor the column
 * of a bad field, and the subset read here (a header, numbers, optional
 * double quotes, CRLF, a UTF-8 BOM) is small. JSON lines go through
 * jansson, one line at a time. */
#include "fitness/fit_impl.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int fit_data_format(const char *path) {
    const char *dot = path ? strrchr(path, '.') : NULL;
    if (!dot) return 0;
    if (!strcasecmp(dot, ".csv")) return 1;
    if (!strcasecmp(dot, ".jsonl") || !strcasecmp(dot, ".json")) return 2;
    return 0;
}

/* ---- lines ---- */

typedef struct {
    const char *path;
    const uint8_t *p, *end; /* what is left */
    uint32_t line;          /* of the line last taken */
    const uint8_t *s, *e;   /* that line, without its \n or \r\n */
} lines;

static void lines_init(lines *l, const fit_data_file *f) {
    l->path = f->path;
    l->p = f->bytes;
    l->end = f->bytes + f->len;
    l->line = 0;
    if (f->len >= 3 && !memcmp(l->p, "\xEF\xBB\xBF", 3)) l->p += 3; /* a UTF-8 BOM */
}

/* The next line; false at the end. */
static bool lines_next(lines *l) {
    if (l->p >= l->end) return false;
    const uint8_t *nl = memchr(l->p, '\n', (size_t)(l->end - l->p));
    l->s = l->p;
    l->e = nl ? nl : l->end;
    l->p = nl ? nl + 1 : l->end;
    if (l->e > l->s && l->e[-1] == '\r') l->e--;
    l->line++;
    return true;
}

static bool blank(const uint8_t *s, const uint8_t *e) {
    for (; s < e; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r') return false;
    return true;
}

static uint32_t count_lines(const fit_data_file *f) {
    uint64_t n = 1;
    for (const uint8_t *p = f->bytes, *end = f->bytes + f->len;
         (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
        n++;
    return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/* "path:line:col: " then the message. */
static int at(char *err, size_t cap, const lines *l, const uint8_t *where, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int at(char *err, size_t cap, const lines *l, const uint8_t *where, const char *fmt, ...) {
    char loc[1200];
    size_t col = where && where >= l->s ? (size_t)(where - l->s) + 1 : 1;
    snprintf(loc, sizeof loc, "%s:%u:%zu", l->path, l->line ? l->line : 1, col);
    va_list ap;
    va_start(ap, fmt);
    base_verrf_at(err, cap, loc, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- CSV ---- */

typedef struct {
    const uint8_t *at;  /* where it starts (for the column) */
    char text[256];     /* the content, unquoted and trimmed; cut at 255 bytes */
    size_t len;         /* its full length */
    bool quoted, empty; /* empty: nothing at all */
} field;

/* Read the field at *pp (up to e) into f and move past its comma: 1, or 0
 * at the end of the line, or -1 with a message (an unclosed quote, text
 * after a closing quote, a NUL byte). */
static int csv_field(const lines *l, const uint8_t **pp, field *f, char *err, size_t cap) {
    const uint8_t *p = *pp, *e = l->e;
    if (!p) return 0;
    f->len = 0;
    f->quoted = false;
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    f->at = p;
#define PUT(c)                                                                                     \
    do {                                                                                           \
        if (f->len < sizeof f->text - 1) f->text[f->len] = (char)(c);                              \
        f->len++;                                                                                  \
    } while (0)
    if (p < e && *p == '"') {
        f->quoted = true;
        for (p++;; p++) {
            if (p >= e) return at(err, cap, l, f->at, "a quoted field is not closed on its line");
            if (*p == '"') {
                if (p + 1 < e && p[1] == '"') {
                    PUT('"');
                    p++;
                    continue;
                }
                p++;
                break;
            }
            if (!*p) return at(err, cap, l, p, "a NUL byte");
            PUT(*p);
        }
        while (p < e && (*p == ' ' || *p == '\t'))
            p++;
        if (p < e && *p != ',')
            return at(err, cap, l, p,
                      "text after a closing quote (expected ',' or the line's end)");
    } else {
        const uint8_t *q = p;
        while (q < e && *q != ',') {
            if (!*q) return at(err, cap, l, q, "a NUL byte");
            q++;
        }
        const uint8_t *r = q;
        while (r > p && (r[-1] == ' ' || r[-1] == '\t'))
            r--;
        for (; p < r; p++)
            PUT(*p);
        p = q;
    }
#undef PUT
    f->text[f->len < sizeof f->text ? f->len : sizeof f->text - 1] = 0;
    f->empty = f->len == 0 && !f->quoted;
    *pp = p < e ? p + 1 : NULL; /* past the comma, or the line is done */
    return 1;
}

/* The header: the column names (malloc'd array of malloc'd strings). */
static int csv_header(lines *l, char ***names, uint32_t *ncols, char *err, size_t cap) {
    *names = NULL;
    *ncols = 0;
    size_t room = 0;
    do {
        if (!lines_next(l) && !(l->line = 0))
            return at(err, cap, l, NULL,
                      "empty file: expected a header line naming the columns, then the rows");
    } while (blank(l->s, l->e));
    const uint8_t *p = l->s;
    field f;
    int rc;
    while ((rc = csv_field(l, &p, &f, err, cap)) == 1) {
        if (f.len == 0) return at(err, cap, l, f.at, "column %u has no name", *ncols + 1);
        if (f.len >= sizeof f.text) return at(err, cap, l, f.at, "a column name over 255 bytes");
        for (uint32_t k = 0; k < *ncols; k++)
            if (!strcmp((*names)[k], f.text))
                return at(err, cap, l, f.at, "duplicate column name '%s' (columns %u and %u)",
                          f.text, k + 1, *ncols + 1);
        if (*ncols >= 4096) return at(err, cap, l, f.at, "more than 4096 columns");
        if (base_grow((void **)names, &room, *ncols + 1, sizeof **names, SIZE_MAX)) return -2;
        if (!((*names)[*ncols] = strdup(f.text))) return -2;
        ++*ncols;
    }
    return rc;
}

static void free_names(char **names, uint32_t n) {
    for (uint32_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
}

/* A number of the CSV: 0, or -1 with a message naming the row and column. */
static int csv_number(const lines *l, const field *f, uint32_t row, const char *col, double *v,
                      char *err, size_t cap) {
    const char *s = f->text;
    if (f->len == 0)
        return at(err, cap, l, f->at, "row %u, column '%s': an empty value (expected a number)",
                  row, col);
    if (f->len >= sizeof f->text)
        return at(err, cap, l, f->at, "row %u, column '%s': a value over 255 bytes", row, col);
    const char *t = s + (*s == '+' || *s == '-');
    if (!strcasecmp(t, "nan") || !strcasecmp(t, "inf") || !strcasecmp(t, "infinity"))
        return at(err, cap, l, f->at, "row %u, column '%s': %s is not a finite number", row, col,
                  s);
    bool ok = *s != 0;
    for (const char *q = s; *q; q++)
        if (!strchr("0123456789+-.eE", *q)) ok = false;
    char *end = NULL;
    double d = ok ? strtod(s, &end) : 0;
    if (!ok || end == s || *end)
        return at(err, cap, l, f->at, "row %u, column '%s': expected a number, found '%s'", row,
                  col, s);
    if (!(d >= -FIT_DATA_FX_LIMIT && d < FIT_DATA_FX_LIMIT))
        return at(err, cap, l, f->at,
                  "row %u, column '%s': %s is outside the fixed-point range [-2^31, 2^31) of "
                  "Q32.32 words (rescale the column)",
                  row, col, s);
    *v = d;
    return 0;
}

/* Column roles: the input slot (>= 0), ROLE_TARGET or ROLE_SKIP. */
#define ROLE_TARGET (-1)
#define ROLE_SKIP   (-2)

typedef struct {
    char **names;
    uint32_t ncols, n_in;
    int *role;
} csv_cols;

static void csv_cols_free(csv_cols *c) {
    free_names(c->names, c->ncols);
    free(c->role);
    memset(c, 0, sizeof *c);
}

static int find_col(const csv_cols *c, const char *name) {
    for (uint32_t k = 0; k < c->ncols; k++)
        if (!strcmp(c->names[k], name)) return (int)k;
    return -1;
}

static void cols_text(const csv_cols *c, char *buf, size_t cap) {
    size_t n = 0;
    buf[0] = 0;
    for (uint32_t k = 0; k < c->ncols && n < cap; k++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", k ? ", " : "", c->names[k]);
}

/* Roles from the options; want_in (when not UINT32_MAX) is the inputs the
 * training file has, which the test file must have too. */
static int csv_roles(lines *l, csv_cols *c, const fit_task_opts *o, char *err, size_t cap) {
    char list[512];
    cols_text(c, list, sizeof list);
    if (!(c->role = malloc(c->ncols * sizeof *c->role))) return -2;
    for (uint32_t k = 0; k < c->ncols; k++)
        c->role[k] = ROLE_SKIP;
    if (!o->target) return at(err, cap, l, NULL, "no target column given (task.target)");
    int tk = find_col(c, o->target);
    if (tk < 0)
        return at(err, cap, l, NULL, "no column '%s' (the target; the columns are %s)", o->target,
                  list);
    c->role[tk] = ROLE_TARGET;
    c->n_in = 0;
    if (o->n_inputs) {
        for (uint32_t i = 0; i < o->n_inputs; i++) {
            int k = find_col(c, o->inputs[i]);
            if (k < 0)
                return at(err, cap, l, NULL, "no column '%s' (input %u; the columns are %s)",
                          o->inputs[i], i + 1, list);
            if (c->role[k] != ROLE_SKIP)
                return at(err, cap, l, NULL,
                          "column '%s' is named twice in task.inputs, or is "
                          "the target",
                          o->inputs[i]);
            c->role[k] = (int)c->n_in++;
        }
    } else {
        for (uint32_t k = 0; k < c->ncols; k++)
            if (c->role[k] == ROLE_SKIP) c->role[k] = (int)c->n_in++;
    }
    if (c->n_in == 0) return at(err, cap, l, NULL, "no input columns (the columns are %s)", list);
    if (c->n_in > FIT_DATA_MAX_IN)
        return at(err, cap, l, NULL, "%u input columns; at most %u", c->n_in, FIT_DATA_MAX_IN);
    return 0;
}

/* Read a CSV file into all (n_in inputs, Q32.32 words; the target exact and
 * as a word). */
static int csv_read(const fit_data_file *f, const fit_task_opts *o, fit_task *t, fit_cases *all,
                    char ***in_names, char *err, size_t cap) {
    lines l;
    csv_cols c = {0};
    int rc = 0;
    lines_init(&l, f);
    if ((rc = csv_header(&l, &c.names, &c.ncols, err, cap)) ||
        (rc = csv_roles(&l, &c, o, err, cap)))
        goto done;
    if (t->n_in && c.n_in != t->n_in) {
        rc = at(err, cap, &l, NULL, "%u input columns; the training file has %u", c.n_in, t->n_in);
        goto done;
    }
    t->n_in = c.n_in;
    if (in_names) { /* the inputs in stack order: expressions and the test file name them */
        if (!(*in_names = calloc(c.n_in, sizeof **in_names))) {
            rc = -2;
            goto done;
        }
        for (uint32_t k = 0; k < c.ncols; k++)
            if (c.role[k] >= 0 && !((*in_names)[c.role[k]] = strdup(c.names[k]))) {
                rc = -2;
                goto done;
            }
    }
    uint32_t cap_rows = count_lines(f);
    if (cap_rows > FIT_DATA_MAX_ROWS + 1) cap_rows = FIT_DATA_MAX_ROWS + 1;
    if (fit_cases_alloc(all, cap_rows, c.n_in, 1, true, false)) {
        rc = -2;
        goto done;
    }
    uint32_t n = 0;
    while (lines_next(&l)) {
        if (blank(l.s, l.e)) continue;
        if (n >= FIT_DATA_MAX_ROWS) {
            rc = at(err, cap, &l, l.s, "more than %u rows", FIT_DATA_MAX_ROWS);
            goto done;
        }
        const uint8_t *p = l.s;
        field fl;
        uint32_t k = 0;
        while ((rc = csv_field(&l, &p, &fl, err, cap)) == 1) {
            if (k >= c.ncols) {
                rc = at(err, cap, &l, fl.at, "row %u has more fields than the header's %u", n + 1,
                        c.ncols);
                goto done;
            }
            int role = c.role[k];
            if (role != ROLE_SKIP) {
                double v;
                if ((rc = csv_number(&l, &fl, n + 1, c.names[k], &v, err, cap))) goto done;
                if (role == ROLE_TARGET) {
                    all->target[n] = v;
                    all->want[n] = vm_fx_from_double(v);
                } else {
                    all->in[(size_t)n * c.n_in + (uint32_t)role] = vm_fx_from_double(v);
                }
            }
            k++;
        }
        if (rc) goto done;
        if (k < c.ncols) {
            rc =
                at(err, cap, &l, l.e, "row %u has %u fields; the header has %u", n + 1, k, c.ncols);
            goto done;
        }
        n++;
    }
    if (n == 0) {
        rc = at(err, cap, &l, NULL, "no rows after the header");
        goto done;
    }
    all->n = n;
done:
    csv_cols_free(&c);
    return rc;
}

/* ---- JSON lines (PSB2) ---- */

typedef enum { JT_NONE = 0, JT_INT, JT_BOOL, JT_VEC } jkind;
static const char *const jkind_names[] = {"?", "an integer", "a boolean", "a vector of integers"};

typedef struct {
    uint32_t n_in, n_out;
    jkind in[FIT_DATA_MAX_IN], out[FIT_MAX_OUT];
} jschema;

/* The column of "key" on the line (1 if not found), as a pointer. A key
 * may be of any length: the file's, not ours. */
static const uint8_t *key_at(const lines *l, const char *key) {
    size_t k = strlen(key);
    for (const uint8_t *p = l->s; (size_t)(l->e - p) >= k + 2; p++)
        if (p[0] == '"' && p[k + 1] == '"' && !memcmp(p + 1, key, k)) return p;
    return l->s;
}

const char *fit_json_type(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "a value";
}

/* "0x" then 1..64 hex digits: a 256-bit word (EVM tasks). */
static bool hex_word(const json_t *v) {
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0;
    return n > 2 && n <= 66 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') &&
           strspn(s + 2, "0123456789abcdefABCDEF") == n - 2;
}

static jkind kind_of(const json_t *v, bool evm) {
    if (json_is_integer(v) || (evm && hex_word(v))) return JT_INT;
    if (json_is_boolean(v)) return JT_BOOL;
    if (json_is_array(v)) return JT_VEC;
    return JT_NONE;
}

/* An integer, boolean or hex-string value as a 32-byte big-endian word
 * (negative integers in two's complement). */
static void word256(const json_t *v, uint8_t w[32]) {
    int64_t x = json_is_integer(v) ? (int64_t)json_integer_value(v) : json_is_true(v);
    memset(w, x < 0 ? 0xff : 0, 32);
    if (json_is_string(v)) {
        const char *s = json_string_value(v) + 2;
        size_t n = strlen(s);
        for (size_t i = 0; i < n; i++) {
            char c = s[n - 1 - i];
            unsigned d = c <= '9' ? (unsigned)(c - '0') : (unsigned)((c | 0x20) - 'a' + 10);
            w[31 - i / 2] |= (uint8_t)(d << (4 * (i % 2)));
        }
        return;
    }
    for (int i = 0; i < 8; i++)
        w[31 - i] = (uint8_t)((uint64_t)x >> (8 * i));
}

/* "input3" -> (false, 3); "output1" -> (true, 1); 0 if neither. */
static uint32_t key_index(const char *k, bool *out) {
    const char *d;
    if (!strncmp(k, "input", 5))
        d = k + 5, *out = false;
    else if (!strncmp(k, "output", 6))
        d = k + 6, *out = true;
    else
        return 0;
    if (*d < '1' || *d > '9' || strlen(d) > 3) return 0;
    for (const char *q = d; *q; q++)
        if (*q < '0' || *q > '9') return 0;
    return (uint32_t)atoi(d);
}

/* The schema of the first case (keys and types). */
static int json_schema(const lines *l, json_t *obj, jschema *s, bool evm, char *err, size_t cap) {
    const char *key;
    json_t *v;
    memset(s, 0, sizeof *s);
    json_object_foreach(obj, key, v) {
        bool out;
        uint32_t i = key_index(key, &out);
        if (!i)
            return at(err, cap, l, key_at(l, key),
                      "unknown key '%s' (PSB2 cases have input1..inputN and output1..outputM)",
                      key);
        if (i > (out ? FIT_MAX_OUT : FIT_DATA_MAX_IN))
            return at(err, cap, l, key_at(l, key), "'%s': at most %u %s", key,
                      out ? FIT_MAX_OUT : FIT_DATA_MAX_IN, out ? "outputs" : "inputs");
        jkind k = kind_of(v, evm);
        if (k == JT_NONE)
            return at(err, cap, l, key_at(l, key),
                      evm ? "'%s' is %s; inputs and outputs of an EVM task must be integers, "
                            "\"0x\" hex strings of up to 64 digits or booleans"
                          : "'%s' is %s; inputs and outputs must be integers, booleans or "
                            "(inputs) vectors of integers",
                      key, fit_json_type(v));
        if (evm && k == JT_VEC)
            return at(err, cap, l, key_at(l, key),
                      "'%s' is a vector; an EVM task reads calldata words (integers, \"0x\" hex "
                      "strings or booleans)",
                      key);
        if (out && k == JT_VEC)
            return at(err, cap, l, key_at(l, key),
                      "'%s' is a vector; outputs must be integers or booleans", key);
        if (out) {
            s->out[i - 1] = k;
            if (i > s->n_out) s->n_out = i;
        } else {
            s->in[i - 1] = k;
            if (i > s->n_in) s->n_in = i;
        }
    }
    for (uint32_t i = 0; i < s->n_in; i++)
        if (!s->in[i])
            return at(err, cap, l, NULL, "no key input%u (the case has input%u)", i + 1, s->n_in);
    for (uint32_t i = 0; i < s->n_out; i++)
        if (!s->out[i])
            return at(err, cap, l, NULL, "no key output%u (the case has output%u)", i + 1,
                      s->n_out);
    if (!s->n_in || !s->n_out)
        return at(err, cap, l, NULL, "a case needs input1.. and output1.. keys");
    for (uint32_t i = 0; i < s->n_in; i++)
        if (s->in[i] == JT_VEC && s->n_in > 1)
            return at(err, cap, l, key_at(l, "input1"),
                      "a vector input must be the only input (it is read from the input "
                      "channel)");
    return 0;
}

/* One value as words: an integer or a boolean into *w, a vector into
 * vec[0..*len) (cap words). */
static int json_value(const lines *l, const char *key, json_t *v, jkind want, bool evm, vm_word *w,
                      vm_word **vec, size_t *vcap, uint32_t *len, char *err, size_t cap) {
    jkind k = kind_of(v, evm);
    if (k != want)
        return at(err, cap, l, key_at(l, key), "'%s' is %s; the first case has %s", key,
                  fit_json_type(v), jkind_names[want]);
    if (k == JT_INT) *w = (vm_word)json_integer_value(v);
    if (k == JT_BOOL) *w = json_is_true(v) ? 1 : 0;
    if (k == JT_VEC) {
        size_t n = json_array_size(v);
        if (n > 1000000)
            return at(err, cap, l, key_at(l, key), "'%s': a vector over 10^6 elements", key);
        if (base_grow((void **)vec, vcap, n + 1, sizeof **vec, SIZE_MAX)) return -2;
        for (size_t i = 0; i < n; i++) {
            json_t *e = json_array_get(v, i);
            if (!json_is_integer(e))
                return at(err, cap, l, key_at(l, key), "'%s'[%zu] is %s; expected an integer", key,
                          i, fit_json_type(e));
            (*vec)[i] = (vm_word)json_integer_value(e);
        }
        *len = (uint32_t)n;
    }
    return 0;
}

/* Read JSON lines into all; s is the schema (established by the first case
 * when s->n_in is 0). */
static int json_read(const fit_data_file *f, jschema *s, bool evm, fit_cases *all, char *err,
                     size_t cap) {
    lines l;
    int rc = 0;
    json_t *obj = NULL;
    vm_word *vec = NULL;
    size_t vcap = 0;
    fit_vec_builder vb;
    bool chan = false;
    uint32_t cap_rows = count_lines(f), n = 0;
    memset(all, 0, sizeof *all);
    lines_init(&l, f);
    while (lines_next(&l)) {
        if (blank(l.s, l.e)) continue;
        json_error_t je;
        obj = json_loadb((const char *)l.s, (size_t)(l.e - l.s), JSON_REJECT_DUPLICATES, &je);
        if (!obj) {
            rc = at(err, cap, &l, l.s + (je.column > 0 ? je.column - 1 : 0), "invalid JSON: %s",
                    je.text);
            goto done;
        }
        if (!json_is_object(obj)) {
            rc = at(err, cap, &l, l.s, "a case is a JSON object, found %s", fit_json_type(obj));
            goto done;
        }
        if (!s->n_in && (rc = json_schema(&l, obj, s, evm, err, cap))) goto done;
        if (n == 0) { /* the storage, once the schema is known */
            chan = s->in[0] == JT_VEC;
            if (cap_rows > FIT_DATA_MAX_ROWS) cap_rows = FIT_DATA_MAX_ROWS;
            if (chan ? fit_vec_begin(&vb, all, cap_rows, s->n_out)
                     : fit_cases_alloc(all, cap_rows, s->n_in, s->n_out, false, evm)) {
                rc = -2;
                goto done;
            }
        }
        if (n >= cap_rows) {
            rc = at(err, cap, &l, l.s, "more than %u cases", FIT_DATA_MAX_ROWS);
            goto done;
        }
        if (json_object_size(obj) != s->n_in + s->n_out) {
            const char *key;
            json_t *v;
            json_object_foreach(obj, key, v) {
                bool out;
                uint32_t i = key_index(key, &out);
                if (!i || i > (out ? s->n_out : s->n_in)) {
                    rc = at(err, cap, &l, key_at(&l, key),
                            "unexpected key '%s' (the first case has input1..input%u and "
                            "output1..output%u)",
                            key, s->n_in, s->n_out);
                    goto done;
                }
            }
        }
        vm_word want[FIT_MAX_OUT], x = 0;
        uint32_t len = 0;
        char key[16];
        for (uint32_t i = 0; i < s->n_in + s->n_out; i++) {
            bool out = i >= s->n_in;
            uint32_t k = out ? i - s->n_in : i;
            snprintf(key, sizeof key, "%s%u", out ? "output" : "input", k + 1);
            json_t *v = json_object_get(obj, key);
            if (!v) {
                rc = at(err, cap, &l, l.s, "no key '%s' (the first case has it)", key);
                goto done;
            }
            vm_word *w = out ? &want[k] : chan ? &x : &all->in[(size_t)n * s->n_in + k];
            if ((rc = json_value(&l, key, v, out ? s->out[k] : s->in[k], evm, w, &vec, &vcap, &len,
                                 err, cap)))
                goto done;
            if (evm)
                word256(v, out ? all->want256 + ((size_t)n * s->n_out + k) * 32
                               : all->in256 + ((size_t)n * s->n_in + k) * 32);
        }
        if (chan) {
            if (fit_vec_add(&vb, vec, len, want)) {
                rc = -2;
                goto done;
            }
        } else {
            memcpy(all->want + (size_t)n * s->n_out, want, s->n_out * sizeof *want);
        }
        n++;
        json_decref(obj);
        obj = NULL;
    }
    if (n == 0) {
        l.line = 0;
        rc = at(err, cap, &l, NULL, "empty file: expected one JSON object (a case) per line");
        goto done;
    }
    all->n = n;
done:
    json_decref(obj);
    free(vec);
    return rc;
}

/* ---- the task ---- */

/* train and test from all: the seeded split (the rows keep the file's
 * order within each set), else all is the training set. */
static int split_cases(fit_task *t, fit_cases *all, double split, const fit_rng *rng, char *err,
                       size_t cap, const char *path) {
    uint32_t n = all->n;
    if (split <= 0) {
        t->train = *all;
        memset(all, 0, sizeof *all);
        return 0;
    }
    double want = round(split * n);
    uint32_t k = want < 1 ? 1 : want > n - 1.0 ? n - 1 : (uint32_t)want;
    if (n < 2) {
        base_errf(err, cap, "%s: task.split needs at least 2 cases, the file has %u", path, n);
        return -1;
    }
    uint32_t *idx = malloc((size_t)n * sizeof *idx);
    uint8_t *mark = calloc(n, 1);
    int rc = -2;
    if (!idx || !mark) goto done;
    for (uint32_t i = 0; i < n; i++)
        idx[i] = i;
    for (uint32_t i = 0; i < k; i++) { /* a partial Fisher-Yates shuffle */
        uint32_t j = (uint32_t)rng->range(rng->ctx, i, (int64_t)n - 1);
        uint32_t tmp = idx[i];
        idx[i] = idx[j];
        idx[j] = tmp;
        mark[idx[i]] = 1;
    }
    uint32_t a = 0, b = n - k;
    for (uint32_t i = 0; i < n; i++) /* training rows first, then test rows, in file order */
        idx[mark[i] ? b++ : a++] = i;
    if (fit_cases_subset(t, all, idx, n - k, &t->train) ||
        fit_cases_subset(t, all, idx + (n - k), k, &t->test))
        goto done;
    rc = 0;
done:
    free(idx);
    free(mark);
    return rc;
}

FIT_MAKER(fit_make_data) {
    (void)e;
    fit_cases all = {0}, tall = {0};
    int rc = -1;
    int fmt = fit_data_format(o->data.path);
    if (!o->data.path) {
        base_errf(err, errcap, "data: no data file (task.data)");
        return -1;
    }
    if (!fmt || (o->test.path && fit_data_format(o->test.path) != fmt)) {
        base_errf(err, errcap,
                  "%s: the format comes from the name: .csv (regression) or .jsonl/.json (PSB2 "
                  "JSON lines), the same for task.test",
                  fmt ? o->test.path : o->data.path);
        return -1;
    }
    if (o->test.path && o->split > 0) {
        base_errf(err, errcap, "data: give task.test or task.split, not both");
        return -1;
    }
    if (fmt == 1) {
        fit_reg_init(t, "data", 0);
        t->error = o->loss == FIT_LOSS_SQUARED ? FIT_ERR_FX_SQ : FIT_ERR_FX_ABS;
        rc = csv_read(&o->data, o, t, &all, &t->in_names, err, errcap);
        if (!rc && o->test.path) { /* the same columns, by name */
            fit_task_opts to = *o;
            to.inputs = (const char *const *)t->in_names;
            to.n_inputs = t->n_in;
            rc = csv_read(&o->test, &to, t, &tall, NULL, err, errcap);
        }
        if (rc) goto done;
    } else {
        jschema s = {0};
        bool evm = o->isa == FIT_ISA_EVM;
        if ((rc = json_read(&o->data, &s, evm, &all, err, errcap))) goto done;
        bool all_bool = true, same = true;
        for (uint32_t k = 0; k < s.n_out; k++) {
            all_bool &= s.out[k] == JT_BOOL;
            same &= s.out[k] == s.out[0];
        }
        bool chan = s.in[0] == JT_VEC;
        fit_psb_init(t, "data", s.out[0] == JT_BOOL ? FIT_ERR_BOOL : FIT_ERR_INT_ABS,
                     chan ? 0 : s.n_in, all_bool ? 1 : 1e6);
        t->io = chan ? FIT_IO_CHANNEL : FIT_IO_STACK;
        t->n_out = s.n_out;
        fit_error_kind ik = FIT_ERR_INT_ABS;
        if (evm) { /* calldata words in, RETURNed words out */
            ik = o->loss == FIT_LOSS_BITS ? FIT_ERR_U256_BITS : FIT_ERR_U256_ABS;
            fit_evm_syn_init(t, "data", s.out[0] == JT_BOOL ? FIT_ERR_BOOL : ik, s.n_in);
            t->penalty = all_bool ? 1 : o->loss == FIT_LOSS_BITS ? 256 : 1e6;
            t->n_out = s.n_out;
        }
        if (!same) {
            t->out_kinds = true;
            for (uint32_t k = 0; k < s.n_out; k++)
                t->out_kind[k] = s.out[k] == JT_BOOL ? FIT_ERR_BOOL : ik;
        }
        if (o->test.path && (rc = json_read(&o->test, &s, evm, &tall, err, errcap))) goto done;
    }
    if (o->has_penalty) t->penalty = o->penalty;
    if (o->has_hit) t->hit_tol = o->hit;
    if (o->test.path) {
        t->train = all;
        t->test = tall;
        memset(&all, 0, sizeof all);
        memset(&tall, 0, sizeof tall);
    } else {
        if ((rc = split_cases(t, &all, o->split, rng, err, errcap, o->data.path))) goto done;
        if (o->split <= 0 && fit_cases_copy(&t->test, &t->train, t)) rc = -2;
    }
done:
    fit_cases_free(&all);
    fit_cases_free(&tall);
    if (rc == -2 && err && errcap) err[0] = 0; /* out of memory */
    return rc ? -1 : 0;
}
