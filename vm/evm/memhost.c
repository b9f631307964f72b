/* The in-memory host: accounts, storage, transient storage, logs, access
 * lists, nested calls and creates, with a journal for snapshots. Used by the
 * tests, the conformance runner and the command line. */
#include "vm/evm/evm_impl.h"
#include "vm/evm/keccak.h"

#include <stdlib.h>

typedef struct {
    evm_bytes32 key, val, orig;
    bool warm;
} slot;

typedef struct {
    slot *v; /* insertion order */
    size_t n, cap;
    int32_t *idx; /* open addressing over v, -1 empty */
    size_t icap;  /* power of two */
} smap;

typedef struct {
    evm_address addr;
    u256 balance;
    uint64_t nonce;
    uint8_t *code;
    size_t code_size;
    smap storage, transient;
    bool exists, warm, destructed, created;
} account;

typedef enum {
    J_STORAGE,
    J_TRANSIENT,
    J_BALANCE,
    J_NONCE,
    J_CODE,
    J_EXISTS,
    J_WARM_ACCOUNT,
    J_WARM_SLOT,
    J_DESTRUCT,
    J_CREATED,
    J_LOG,
} jkind;

typedef struct {
    jkind kind;
    uint32_t acct;
    uint32_t slot;
    evm_bytes32 old; /* storage, transient */
    u256 oldbal;
    uint64_t oldnonce;
    uint8_t *oldcode;
    size_t oldsize;
    bool oldflag;
} jentry;

typedef struct {
    evm_callcreate c;
    uint8_t *data;
} callcreate;

struct evm_memhost {
    evm_vm *vm;
    account *acc;
    size_t nacc, capacc;
    jentry *j;
    size_t nj, capj;
    evm_log *logs;
    size_t nlogs, caplogs;
    callcreate *cc;
    size_t ncc, capcc;
    evm_context ctx;
    bool record;
    uint8_t *pout; /* the last precompile's output */
    size_t pcap;
};

/* ---- storage maps ---- */

static uint64_t hash_key(const evm_bytes32 *k) {
    uint64_t h = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 4; i++) {
        uint64_t w;
        memcpy(&w, k->b + 8 * i, 8);
        h ^= w;
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 33;
    }
    return h;
}

static int smap_find(const smap *m, const evm_bytes32 *k) {
    if (!m->icap) return -1;
    size_t mask = m->icap - 1;
    for (size_t i = hash_key(k) & mask;; i = (i + 1) & mask) {
        int32_t e = m->idx[i];
        if (e < 0) return -1;
        if (!memcmp(m->v[e].key.b, k->b, 32)) return e;
    }
}

static int smap_reindex(smap *m, size_t icap) {
    int32_t *idx = malloc(icap * sizeof *idx);
    if (!idx) return -1;
    for (size_t i = 0; i < icap; i++)
        idx[i] = -1;
    for (size_t e = 0; e < m->n; e++) {
        size_t i = hash_key(&m->v[e].key) & (icap - 1);
        while (idx[i] >= 0)
            i = (i + 1) & (icap - 1);
        idx[i] = (int32_t)e;
    }
    free(m->idx);
    m->idx = idx;
    m->icap = icap;
    return 0;
}

/* Index of k's slot, inserting a zero slot if needed; -1 on no memory. */
static int smap_get(smap *m, const evm_bytes32 *k) {
    int e = smap_find(m, k);
    if (e >= 0) return e;
    if (m->n >= INT32_MAX / 2) return -1;
    if (m->n == m->cap) {
        size_t nc = m->cap ? 2 * m->cap : 8;
        slot *v = realloc(m->v, nc * sizeof *v);
        if (!v) return -1;
        m->v = v;
        m->cap = nc;
    }
    if ((m->n + 1) * 2 > m->icap && smap_reindex(m, m->icap ? 2 * m->icap : 16) < 0) return -1;
    slot *s = &m->v[m->n];
    memset(s, 0, sizeof *s);
    s->key = *k;
    size_t mask = m->icap - 1, i = hash_key(k) & mask;
    while (m->idx[i] >= 0)
        i = (i + 1) & mask;
    m->idx[i] = (int32_t)m->n;
    return (int)m->n++;
}

static void smap_clear(smap *m) {
    m->n = 0;
    if (m->idx)
        for (size_t i = 0; i < m->icap; i++)
            m->idx[i] = -1;
}

static void smap_free(smap *m) {
    free(m->v);
    free(m->idx);
}

/* ---- accounts and journal ---- */

static account *find(evm_memhost *h, const evm_address *a) {
    for (size_t i = 0; i < h->nacc; i++)
        if (!memcmp(h->acc[i].addr.b, a->b, 20)) return &h->acc[i];
    return NULL;
}

/* The record of a (created, not existing, if absent); NULL on no memory. */
static account *get(evm_memhost *h, const evm_address *a) {
    account *x = find(h, a);
    if (x) return x;
    if (h->nacc == h->capacc) {
        size_t nc = h->capacc ? 2 * h->capacc : 16;
        account *p = realloc(h->acc, nc * sizeof *p);
        if (!p) return NULL;
        h->acc = p;
        h->capacc = nc;
    }
    x = &h->acc[h->nacc++];
    memset(x, 0, sizeof *x);
    x->addr = *a;
    return x;
}

static uint32_t aidx(evm_memhost *h, account *a) {
    return (uint32_t)(a - h->acc);
}

static jentry *jpush(evm_memhost *h, jkind k, account *a) {
    if (h->nj == h->capj) {
        size_t nc = h->capj ? 2 * h->capj : 64;
        jentry *p = realloc(h->j, nc * sizeof *p);
        if (!p) return NULL;
        h->j = p;
        h->capj = nc;
    }
    jentry *e = &h->j[h->nj++];
    memset(e, 0, sizeof *e);
    e->kind = k;
    e->acct = a ? aidx(h, a) : 0;
    return e;
}

size_t evm_memhost_snapshot(const evm_memhost *h) {
    return h->nj;
}

void evm_memhost_revert(evm_memhost *h, size_t snap) {
    while (h->nj > snap) {
        jentry *e = &h->j[--h->nj];
        account *a = &h->acc[e->acct];
        switch (e->kind) {
        case J_STORAGE: a->storage.v[e->slot].val = e->old; break;
        case J_TRANSIENT: a->transient.v[e->slot].val = e->old; break;
        case J_BALANCE: a->balance = e->oldbal; break;
        case J_NONCE: a->nonce = e->oldnonce; break;
        case J_CODE:
            free(a->code);
            a->code = e->oldcode;
            a->code_size = e->oldsize;
            break;
        case J_EXISTS: a->exists = e->oldflag; break;
        case J_WARM_ACCOUNT: a->warm = e->oldflag; break;
        case J_WARM_SLOT: a->storage.v[e->slot].warm = e->oldflag; break;
        case J_DESTRUCT: a->destructed = e->oldflag; break;
        case J_CREATED: a->created = e->oldflag; break;
        case J_LOG:
            while (h->nlogs > e->oldsize)
                free((void *)h->logs[--h->nlogs].data);
            break;
        }
    }
}

static void set_balance_j(evm_memhost *h, account *a, const u256 *v) {
    jentry *e = jpush(h, J_BALANCE, a);
    if (e) e->oldbal = a->balance;
    a->balance = *v;
}

static void set_exists_j(evm_memhost *h, account *a) {
    if (a->exists) return;
    jentry *e = jpush(h, J_EXISTS, a);
    if (e) e->oldflag = false;
    a->exists = true;
}

static bool is_empty(const account *a) {
    return a->nonce == 0 && u256_is_zero(&a->balance) && a->code_size == 0;
}

/* ---- the host interface ---- */

static bool h_account_exists(void *ctx, const evm_address *a) {
    evm_memhost *h = ctx;
    account *x = find(h, a);
    if (!x || !x->exists) return false;
    return evm_vm_fork(h->vm) >= EVM_FORK_SPURIOUS_DRAGON ? !is_empty(x) : true;
}

static void h_get_storage(void *ctx, const evm_address *a, const evm_bytes32 *key,
                          evm_bytes32 *out) {
    evm_memhost *h = ctx;
    account *x = find(h, a);
    int e = x ? smap_find(&x->storage, key) : -1;
    if (e < 0)
        memset(out->b, 0, 32);
    else
        *out = x->storage.v[e].val;
}

static void h_set_storage(void *ctx, const evm_address *a, const evm_bytes32 *key,
                          const evm_bytes32 *value, evm_bytes32 *original, evm_bytes32 *current) {
    evm_memhost *h = ctx;
    account *x = get(h, a);
    int e = x ? smap_get(&x->storage, key) : -1;
    if (e < 0) { /* no memory: behave as a no-op write of zeros */
        memset(original->b, 0, 32);
        memset(current->b, 0, 32);
        return;
    }
    slot *s = &x->storage.v[e];
    *original = s->orig;
    *current = s->val;
    jentry *j = jpush(h, J_STORAGE, x);
    if (j) {
        j->slot = (uint32_t)e;
        j->old = s->val;
    }
    s->val = *value;
}

static void h_get_balance(void *ctx, const evm_address *a, evm_bytes32 *out) {
    account *x = find(ctx, a);
    u256 z = u256_from64(0);
    *out = evm_u256_to_b32(x ? &x->balance : &z);
}

static size_t h_get_code_size(void *ctx, const evm_address *a) {
    account *x = find(ctx, a);
    return x ? x->code_size : 0;
}

static void h_get_code_hash(void *ctx, const evm_address *a, evm_bytes32 *out) {
    evm_memhost *h = ctx;
    account *x = find(h, a);
    bool dead = !x || !x->exists || (evm_vm_fork(h->vm) >= EVM_FORK_SPURIOUS_DRAGON && is_empty(x));
    if (dead)
        memset(out->b, 0, 32);
    else
        evm_keccak256(x->code, x->code_size, out->b);
}

static const uint8_t *h_get_code(void *ctx, const evm_address *a, size_t *size) {
    account *x = find(ctx, a);
    *size = x ? x->code_size : 0;
    return x ? x->code : NULL;
}

static bool h_selfdestruct(void *ctx, const evm_address *a, const evm_address *beneficiary) {
    evm_memhost *h = ctx;
    account *x = get(h, a);
    if (!x) return false;
    u256 bal = x->balance;
    bool first = !x->destructed;
    account *b = get(h, beneficiary);
    x = find(h, a); /* get() may have moved the array */
    if (!b || !x) return first;
    if (b != x) {
        u256 nb = u256_add(&b->balance, &bal);
        set_balance_j(h, b, &nb);
        set_exists_j(h, b);
        u256 z = u256_from64(0);
        set_balance_j(h, x, &z);
    } else if (x->created || evm_vm_fork(h->vm) < EVM_FORK_CANCUN) {
        u256 z = u256_from64(0); /* sent to itself: burnt when the account goes */
        set_balance_j(h, x, &z);
    }
    bool really = evm_vm_fork(h->vm) < EVM_FORK_CANCUN || x->created;
    if (really && !x->destructed) {
        jentry *e = jpush(h, J_DESTRUCT, x);
        if (e) e->oldflag = false;
        x->destructed = true;
    }
    return first && really;
}

static const evm_context *h_get_context(void *ctx) {
    return &((evm_memhost *)ctx)->ctx;
}

static void h_get_block_hash(void *ctx, int64_t number, evm_bytes32 *out) {
    /* as the legacy tests did: keccak256 of the decimal number */
    (void)ctx;
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%lld", (long long)number);
    evm_keccak256((const uint8_t *)buf, (size_t)n, out->b);
}

static void h_emit_log(void *ctx, const evm_address *a, const uint8_t *data, size_t size,
                       const evm_bytes32 *topics, size_t ntopics) {
    evm_memhost *h = ctx;
    if (h->nlogs == h->caplogs) {
        size_t nc = h->caplogs ? 2 * h->caplogs : 16;
        evm_log *p = realloc(h->logs, nc * sizeof *p);
        if (!p) return;
        h->logs = p;
        h->caplogs = nc;
    }
    uint8_t *d = malloc(size ? size : 1);
    if (!d) return;
    if (size) memcpy(d, data, size);
    jentry *e = jpush(h, J_LOG, NULL);
    if (!e) {
        free(d);
        return;
    }
    e->oldsize = h->nlogs;
    evm_log *l = &h->logs[h->nlogs++];
    memset(l, 0, sizeof *l);
    l->addr = *a;
    l->ntopics = ntopics > 4 ? 4 : ntopics;
    for (size_t i = 0; i < l->ntopics; i++)
        l->topics[i] = topics[i];
    l->data = d;
    l->size = size;
}

static bool h_access_account(void *ctx, const evm_address *a) {
    evm_memhost *h = ctx;
    account *x = get(h, a);
    if (!x || x->warm) return false;
    jentry *e = jpush(h, J_WARM_ACCOUNT, x);
    if (e) e->oldflag = false;
    x->warm = true;
    return true;
}

static bool h_access_storage(void *ctx, const evm_address *a, const evm_bytes32 *key) {
    evm_memhost *h = ctx;
    account *x = get(h, a);
    int s = x ? smap_get(&x->storage, key) : -1;
    if (s < 0 || x->storage.v[s].warm) return false;
    jentry *e = jpush(h, J_WARM_SLOT, x);
    if (e) {
        e->slot = (uint32_t)s;
        e->oldflag = false;
    }
    x->storage.v[s].warm = true;
    return true;
}

static void h_get_transient(void *ctx, const evm_address *a, const evm_bytes32 *key,
                            evm_bytes32 *out) {
    account *x = find(ctx, a);
    int e = x ? smap_find(&x->transient, key) : -1;
    if (e < 0)
        memset(out->b, 0, 32);
    else
        *out = x->transient.v[e].val;
}

static void h_set_transient(void *ctx, const evm_address *a, const evm_bytes32 *key,
                            const evm_bytes32 *value) {
    evm_memhost *h = ctx;
    account *x = get(h, a);
    int e = x ? smap_get(&x->transient, key) : -1;
    if (e < 0) return;
    jentry *j = jpush(h, J_TRANSIENT, x);
    if (j) {
        j->slot = (uint32_t)e;
        j->old = x->transient.v[e].val;
    }
    x->transient.v[e].val = *value;
}

static bool h_call_begin(void *ctx, evm_message *msg, const uint8_t **code, size_t *size,
                         uint64_t *snap, evm_result *res);
static void h_call_end(void *ctx, const evm_message *msg, uint64_t snap, evm_result *res);
static uint64_t h_snapshot(void *ctx);
static void h_revert(void *ctx, uint64_t snap);

const evm_host evm_memhost_iface = {
    .account_exists = h_account_exists,
    .get_storage = h_get_storage,
    .set_storage = h_set_storage,
    .get_balance = h_get_balance,
    .get_code_size = h_get_code_size,
    .get_code_hash = h_get_code_hash,
    .get_code = h_get_code,
    .selfdestruct = h_selfdestruct,
    .call_begin = h_call_begin,
    .call_end = h_call_end,
    .snapshot = h_snapshot,
    .revert = h_revert,
    .get_context = h_get_context,
    .get_block_hash = h_get_block_hash,
    .emit_log = h_emit_log,
    .access_account = h_access_account,
    .access_storage = h_access_storage,
    .get_transient = h_get_transient,
    .set_transient = h_set_transient,
};

/* ---- RLP (for CREATE addresses and the logs hash) ---- */

typedef struct {
    base_buf bytes;
    bool oom;
} buf;

static void put(buf *b, const void *d, size_t n) {
    if (!b->oom && base_buf_put(&b->bytes, d, n)) b->oom = true;
}

static void rlp_len(buf *b, size_t len, uint8_t short_base, uint8_t long_base) {
    if (len < 56) {
        uint8_t c = (uint8_t)(short_base + len);
        put(b, &c, 1);
        return;
    }
    uint8_t be[8];
    int k = 0;
    for (size_t v = len; v; v >>= 8)
        k++;
    for (int i = 0; i < k; i++)
        be[i] = (uint8_t)(len >> (8 * (k - 1 - i)));
    uint8_t c = (uint8_t)(long_base + k);
    put(b, &c, 1);
    put(b, be, (size_t)k);
}

static void rlp_bytes(buf *b, const uint8_t *d, size_t n) {
    if (n == 1 && d[0] < 0x80) {
        put(b, d, 1);
        return;
    }
    rlp_len(b, n, 0x80, 0xb7);
    put(b, d, n);
}

/* Wraps b->bytes.data[from..] as a list payload. */
static void rlp_list_close(buf *b, size_t from) {
    size_t plen = b->bytes.len - from;
    buf hdr = {0};
    rlp_len(&hdr, plen, 0xc0, 0xf7);
    if (hdr.oom) {
        b->oom = true;
        return;
    }
    put(b, hdr.bytes.data, hdr.bytes.len); /* make room, then move */
    if (!b->oom) {
        memmove(b->bytes.data + from + hdr.bytes.len, b->bytes.data + from, plen);
        memcpy(b->bytes.data + from, hdr.bytes.data, hdr.bytes.len);
    }
    base_buf_free(&hdr.bytes);
}

void evm_memhost_logs_hash(const evm_memhost *h, uint8_t out[32]) {
    buf b = {0};
    for (size_t i = 0; i < h->nlogs; i++) {
        const evm_log *l = &h->logs[i];
        size_t s = b.bytes.len;
        rlp_bytes(&b, l->addr.b, 20);
        size_t t = b.bytes.len;
        for (size_t k = 0; k < l->ntopics; k++)
            rlp_bytes(&b, l->topics[k].b, 32);
        rlp_list_close(&b, t);
        rlp_bytes(&b, l->data, l->size);
        rlp_list_close(&b, s);
    }
    rlp_list_close(&b, 0);
    if (b.oom)
        memset(out, 0, 32);
    else
        evm_keccak256(b.bytes.data, b.bytes.len, out);
    base_buf_free(&b.bytes);
}

static evm_address create_address(const evm_address *sender, uint64_t nonce) {
    buf b = {0};
    rlp_bytes(&b, sender->b, 20);
    uint8_t be[8];
    int k = 0;
    for (uint64_t v = nonce; v; v >>= 8)
        k++;
    for (int i = 0; i < k; i++)
        be[i] = (uint8_t)(nonce >> (8 * (k - 1 - i)));
    rlp_bytes(&b, be, (size_t)k);
    rlp_list_close(&b, 0);
    uint8_t hsh[32] = {0};
    if (!b.oom) evm_keccak256(b.bytes.data, b.bytes.len, hsh);
    base_buf_free(&b.bytes);
    evm_address a;
    memcpy(a.b, hsh + 12, 20);
    return a;
}

static evm_address create2_address(const evm_address *sender, const evm_bytes32 *salt,
                                   const uint8_t *init, size_t n) {
    uint8_t m[85];
    m[0] = 0xff;
    memcpy(m + 1, sender->b, 20);
    memcpy(m + 21, salt->b, 32);
    evm_keccak256(init, n, m + 53);
    uint8_t hsh[32];
    evm_keccak256(m, sizeof m, hsh);
    evm_address a;
    memcpy(a.b, hsh + 12, 20);
    return a;
}

/* ---- calls ---- */

static void fail(evm_result *res, evm_status st) {
    memset(res, 0, sizeof *res);
    res->status = st;
}

static bool transfer(evm_memhost *h, const evm_address *from, const evm_address *to,
                     const u256 *v) {
    account *f = get(h, from);
    account *t = get(h, to);
    f = find(h, from);
    if (!f || !t) return false;
    if (u256_lt(&f->balance, v)) return false;
    set_exists_j(h, t);
    if (u256_is_zero(v) || f == t) return true;
    u256 nf = u256_sub(&f->balance, v);
    set_balance_j(h, f, &nf);
    u256 nt = u256_add(&t->balance, v);
    set_balance_j(h, t, &nt);
    return true;
}

static void record(evm_memhost *h, const evm_message *msg, evm_result *res) {
    fail(res, EVM_SUCCESS);
    res->gas_left = msg->gas;
    if (h->ncc == h->capcc) {
        size_t nc = h->capcc ? 2 * h->capcc : 8;
        callcreate *p = realloc(h->cc, nc * sizeof *p);
        if (!p) return;
        h->cc = p;
        h->capcc = nc;
    }
    callcreate *c = &h->cc[h->ncc];
    memset(c, 0, sizeof *c);
    c->data = malloc(msg->input_size ? msg->input_size : 1);
    if (!c->data) return;
    h->ncc++;
    if (msg->input_size) memcpy(c->data, msg->input, msg->input_size);
    c->c.kind = msg->kind;
    c->c.gas = msg->gas;
    c->c.value = msg->value;
    c->c.data = c->data;
    c->c.size = msg->input_size;
    if (msg->kind == EVM_CALL_CREATE || msg->kind == EVM_CALL_CREATE2) {
        account *s = find(h, &msg->sender);
        res->create_address = create_address(&msg->sender, s ? s->nonce : 0);
    } else {
        c->c.to = msg->code_address;
    }
}

/* CREATE: derive the address, bump the nonce, make the account, move the
 * value. The init code runs as the new account. */
static bool create_begin(evm_memhost *h, evm_message *msg, const uint8_t **code, size_t *size,
                         uint64_t *snap, evm_result *res) {
    const evm_fork_table *ft = evm_fork_table_of(evm_vm_fork(h->vm));
    account *s = get(h, &msg->sender);
    if (!s) return fail(res, EVM_INTERNAL_ERROR), false;
    evm_address addr = msg->kind == EVM_CALL_CREATE2
                           ? create2_address(&msg->sender, &msg->salt, msg->input, msg->input_size)
                           : create_address(&msg->sender, s->nonce);
    jentry *e = jpush(h, J_NONCE, s);
    if (e) e->oldnonce = s->nonce;
    s->nonce++;
    if (ft->access_lists) h_access_account(h, &addr);
    account *t = get(h, &addr);
    if (!t) return fail(res, EVM_INTERNAL_ERROR), false;
    if (t->code_size || t->nonce) return fail(res, EVM_CREATE_COLLISION), false;
    *snap = h->nj;
    set_exists_j(h, t);
    jentry *c = jpush(h, J_CREATED, t);
    if (c) c->oldflag = t->created;
    t->created = true;
    if (ft->empty_is_dead) {
        jentry *n = jpush(h, J_NONCE, t);
        if (n) n->oldnonce = t->nonce;
        t->nonce = 1;
    }
    u256 v = evm_b32_to_u256(&msg->value);
    if (!transfer(h, &msg->sender, &addr, &v)) {
        evm_memhost_revert(h, *snap);
        return fail(res, EVM_INSUFFICIENT_BALANCE), false;
    }
    *code = msg->input;
    *size = msg->input_size;
    msg->recipient = addr;
    msg->code_address = addr;
    msg->input = NULL;
    msg->input_size = 0;
    return true;
}

static bool h_call_begin(void *ctx, evm_message *msg, const uint8_t **code, size_t *size,
                         uint64_t *snap, evm_result *res) {
    evm_memhost *h = ctx;
    *snap = h->nj;
    if (h->record) return record(h, msg, res), false;
    if (msg->depth > EVM_MAX_DEPTH) return fail(res, EVM_CALL_DEPTH), false;
    if (msg->kind == EVM_CALL_CREATE || msg->kind == EVM_CALL_CREATE2)
        return create_begin(h, msg, code, size, snap, res);
    if (msg->kind == EVM_CALL_CALL) {
        u256 v = evm_b32_to_u256(&msg->value);
        if (!transfer(h, &msg->sender, &msg->recipient, &v))
            return fail(res, EVM_INSUFFICIENT_BALANCE), false;
    }
    /* a precompiled contract runs here, as a finished message; a failure
     * undoes the value transfer */
    int pre = evm_precompile_of(evm_vm_fork(h->vm), &msg->code_address);
    if (pre) {
        evm_precompile_run(evm_vm_fork(h->vm), pre, msg->input, msg->input_size, msg->gas,
                           h->vm->mem_limit, &h->pout, &h->pcap, res);
        if (res->status != EVM_SUCCESS) evm_memhost_revert(h, *snap);
        return false;
    }
    account *c = find(h, &msg->code_address);
    if (!c || !c->code_size) {
        fail(res, EVM_SUCCESS);
        res->gas_left = msg->gas;
        return false;
    }
    *code = c->code;
    *size = c->code_size;
    return true;
}

static void h_call_end(void *ctx, const evm_message *msg, uint64_t snap, evm_result *res) {
    evm_memhost *h = ctx;
    if (res->status != EVM_SUCCESS) {
        evm_memhost_revert(h, (size_t)snap);
        return;
    }
    if (msg->kind != EVM_CALL_CREATE && msg->kind != EVM_CALL_CREATE2) return;
    /* the VM charged the deposit; store the code (in the account create_begin
     * made, which a restored snapshot might not hold) */
    size_t n = res->output_size;
    uint8_t *code = NULL;
    account *t = find(h, &msg->recipient);
    if (!t || (n && !(code = malloc(n)))) {
        evm_memhost_revert(h, (size_t)snap);
        return fail(res, EVM_INTERNAL_ERROR);
    }
    if (n) memcpy(code, res->output, n);
    jentry *j = jpush(h, J_CODE, t);
    if (j) {
        j->oldcode = t->code;
        j->oldsize = t->code_size;
    } else {
        free(t->code); /* cannot journal: at least do not leak */
    }
    t->code = code;
    t->code_size = n;
    res->create_address = msg->recipient;
    res->output = NULL;
    res->output_size = 0;
}

static uint64_t h_snapshot(void *ctx) {
    return evm_memhost_snapshot(ctx);
}

static void h_revert(void *ctx, uint64_t snap) {
    evm_memhost_revert(ctx, (size_t)snap);
}

evm_status evm_memhost_transact(evm_memhost *h, const evm_message *msg, evm_result *res) {
    evm_message m = *msg;
    const uint8_t *code = NULL;
    size_t n = 0;
    uint64_t snap;
    if (h_call_begin(h, &m, &code, &n, &snap, res)) {
        evm_execute(h->vm, &evm_memhost_iface, h, &m, code, n, res);
        h_call_end(h, &m, snap, res);
    }
    return res->status;
}

/* ---- setup and inspection ---- */

evm_memhost *evm_memhost_new(evm_vm *vm) {
    evm_memhost *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->vm = vm;
    h->ctx.gas_limit = 30000000;
    h->ctx.chain_id.b[31] = 1;
    return h;
}

void evm_memhost_free(evm_memhost *h) {
    if (!h) return;
    for (size_t i = 0; i < h->nacc; i++) {
        free(h->acc[i].code);
        smap_free(&h->acc[i].storage);
        smap_free(&h->acc[i].transient);
    }
    /* journaled old code buffers are owned by the journal */
    for (size_t i = 0; i < h->nj; i++)
        if (h->j[i].kind == J_CODE) free(h->j[i].oldcode);
    for (size_t i = 0; i < h->nlogs; i++)
        free((void *)h->logs[i].data);
    for (size_t i = 0; i < h->ncc; i++)
        free(h->cc[i].data);
    free(h->acc);
    free(h->j);
    free(h->logs);
    free(h->cc);
    free(h->pout);
    free(h);
}

evm_context *evm_memhost_context(evm_memhost *h) {
    return &h->ctx;
}

int evm_memhost_set_balance(evm_memhost *h, const evm_address *a, const evm_bytes32 *v) {
    account *x = get(h, a);
    if (!x) return -1;
    x->balance = evm_b32_to_u256(v);
    x->exists = true;
    return 0;
}

int evm_memhost_set_nonce(evm_memhost *h, const evm_address *a, uint64_t nonce) {
    account *x = get(h, a);
    if (!x) return -1;
    x->nonce = nonce;
    x->exists = true;
    return 0;
}

int evm_memhost_set_code(evm_memhost *h, const evm_address *a, const uint8_t *code, size_t n) {
    account *x = get(h, a);
    if (!x) return -1;
    uint8_t *c = NULL;
    if (n) {
        c = malloc(n);
        if (!c) return -1;
        memcpy(c, code, n);
    }
    free(x->code);
    x->code = c;
    x->code_size = n;
    x->exists = true;
    return 0;
}

int evm_memhost_set_storage(evm_memhost *h, const evm_address *a, const evm_bytes32 *k,
                            const evm_bytes32 *v) {
    account *x = get(h, a);
    if (!x) return -1;
    int e = smap_get(&x->storage, k);
    if (e < 0) return -1;
    x->storage.v[e].val = *v;
    x->storage.v[e].orig = *v;
    x->exists = true;
    return 0;
}

void evm_memhost_get_storage(evm_memhost *h, const evm_address *a, const evm_bytes32 *k,
                             evm_bytes32 *v) {
    h_get_storage(h, a, k, v);
}

size_t evm_memhost_storage(evm_memhost *h, const evm_address *a, size_t i, evm_bytes32 *k,
                           evm_bytes32 *v) {
    account *x = find(h, a);
    if (!x) return 0;
    size_t count = 0;
    for (size_t e = 0; e < x->storage.n; e++) {
        const slot *s = &x->storage.v[e];
        if (evm_b32_is_zero(&s->val)) continue;
        if (count == i) {
            if (k) *k = s->key;
            if (v) *v = s->val;
        }
        count++;
    }
    return count;
}

bool evm_memhost_exists(evm_memhost *h, const evm_address *a) {
    account *x = find(h, a);
    return x && x->exists;
}

uint64_t evm_memhost_nonce(evm_memhost *h, const evm_address *a) {
    account *x = find(h, a);
    return x ? x->nonce : 0;
}

void evm_memhost_set_record_calls(evm_memhost *h, bool on) {
    h->record = on;
}
size_t evm_memhost_ncallcreates(const evm_memhost *h) {
    return h->ncc;
}
const evm_callcreate *evm_memhost_callcreate(const evm_memhost *h, size_t i) {
    return i < h->ncc ? &h->cc[i].c : NULL;
}
size_t evm_memhost_nlogs(const evm_memhost *h) {
    return h->nlogs;
}
const evm_log *evm_memhost_log(const evm_memhost *h, size_t i) {
    return i < h->nlogs ? &h->logs[i] : NULL;
}

void evm_memhost_begin_tx(evm_memhost *h, const evm_address *warm, size_t nwarm) {
    for (size_t i = 0; i < h->nj; i++)
        if (h->j[i].kind == J_CODE) free(h->j[i].oldcode);
    h->nj = 0;
    for (size_t i = 0; i < h->nlogs; i++)
        free((void *)h->logs[i].data);
    h->nlogs = 0;
    for (size_t i = 0; i < h->ncc; i++)
        free(h->cc[i].data);
    h->ncc = 0;
    for (size_t i = 0; i < h->nacc; i++) {
        account *a = &h->acc[i];
        for (size_t e = 0; e < a->storage.n; e++) {
            a->storage.v[e].orig = a->storage.v[e].val;
            a->storage.v[e].warm = false;
        }
        smap_clear(&a->transient);
        a->warm = a->destructed = a->created = false;
    }
    const evm_fork_table *ft = evm_fork_table_of(evm_vm_fork(h->vm));
    if (!ft->access_lists) return;
    account *x;
    if ((x = get(h, &h->ctx.origin))) x->warm = true;
    if (ft->warm_coinbase && (x = get(h, &h->ctx.coinbase))) x->warm = true;
    for (size_t i = 0; i < nwarm; i++)
        if ((x = get(h, &warm[i]))) x->warm = true;
    /* the fork's precompiled contracts are warm */
    for (unsigned p = 1; p <= ft->precompiles; p++) {
        evm_address a = {{0}};
        a.b[19] = (uint8_t)p;
        if ((x = get(h, &a))) x->warm = true;
    }
}

/* ---- snapshots (docs/snapshot.md, "EVM world") ---- */

static void put_u256(base_wr *w, const u256 *v) {
    evm_bytes32 b = evm_u256_to_b32(v);
    base_put(w, b.b, 32);
}

static void put_blob(base_wr *w, const uint8_t *p, size_t n) {
    U32(n);
    base_put(w, p, n);
}

/* A length-prefixed byte string, malloc'ed (NULL when empty). 0, -1, -2. */
static int get_blob(base_rd *r, uint8_t **out, size_t *n, const char *what) {
    uint32_t len = G32(what);
    *out = NULL;
    *n = 0;
    if (!base_room_for(r, len, 1, UINT32_MAX, what)) return -1;
    if (!len) return 0;
    if (!(*out = malloc(len))) return -2;
    base_get(r, *out, len, what);
    *n = len;
    return 0;
}

static void put_smap(base_wr *w, const smap *m) {
    U32(m->n);
    for (size_t i = 0; i < m->n; i++) {
        base_put(w, m->v[i].key.b, 32);
        base_put(w, m->v[i].val.b, 32);
        base_put(w, m->v[i].orig.b, 32);
        U8(m->v[i].warm);
    }
}

static int get_smap(base_rd *r, smap *m, const char *what) {
    uint32_t n = G32(what);
    if (!base_room_for(r, n, 97, INT32_MAX / 2, what)) return -1;
    for (uint32_t i = 0; i < n; i++) {
        evm_bytes32 k;
        base_get(r, k.b, 32, "a storage key");
        if (r->bad) return -1;
        int e = smap_get(m, &k);
        if (e < 0) return -2;
        if ((uint32_t)e != i) {
            base_rd_fail(r, "%s: key %u repeats an earlier one", what, i);
            return -1;
        }
        base_get(r, m->v[e].val.b, 32, "a storage value");
        base_get(r, m->v[e].orig.b, 32, "an original storage value");
        uint8_t warm = G8("a warm flag");
        if (warm > 1) base_rd_fail(r, "%s: warm flag %u", what, warm);
        m->v[e].warm = warm;
    }
    return r->bad ? -1 : 0;
}

int evm_memhost_save(const evm_memhost *h, base_wr *w) {
    const evm_context *c = &h->ctx;
    if (c->nblob_hashes) return -1;
    base_put(w, c->origin.b, 20);
    base_put(w, c->coinbase.b, 20);
    const evm_bytes32 *words[] = {&c->gas_price, &c->prev_randao, &c->chain_id, &c->base_fee,
                                  &c->blob_base_fee};
    for (size_t i = 0; i < 5; i++)
        base_put(w, words[i]->b, 32);
    U64(c->number);
    U64(c->timestamp);
    U64(c->gas_limit);
    U8(h->record);
    U32(h->nacc);
    for (size_t i = 0; i < h->nacc; i++) {
        const account *a = &h->acc[i];
        base_put(w, a->addr.b, 20);
        put_u256(w, &a->balance);
        U64(a->nonce);
        put_blob(w, a->code, a->code_size);
        U8(a->exists | a->warm << 1 | a->destructed << 2 | a->created << 3);
        put_smap(w, &a->storage);
        put_smap(w, &a->transient);
    }
    U32(h->nj);
    for (size_t i = 0; i < h->nj; i++) {
        const jentry *e = &h->j[i];
        U8(e->kind);
        U32(e->acct);
        U32(e->slot);
        base_put(w, e->old.b, 32);
        put_u256(w, &e->oldbal);
        U64(e->oldnonce);
        U8(e->oldflag);
        U64(e->oldsize);
        if (e->kind == J_CODE) base_put(w, e->oldcode, e->oldsize);
    }
    U32(h->nlogs);
    for (size_t i = 0; i < h->nlogs; i++) {
        const evm_log *l = &h->logs[i];
        base_put(w, l->addr.b, 20);
        U8(l->ntopics);
        for (size_t k = 0; k < l->ntopics; k++)
            base_put(w, l->topics[k].b, 32);
        put_blob(w, l->data, l->size);
    }
    U32(h->ncc);
    for (size_t i = 0; i < h->ncc; i++) {
        const evm_callcreate *c2 = &h->cc[i].c;
        U8(c2->kind);
        base_put(w, c2->to.b, 20);
        U64(c2->gas);
        base_put(w, c2->value.b, 32);
        put_blob(w, c2->data, c2->size);
    }
    return 0;
}

static int get_accounts(evm_memhost *h, base_rd *r) {
    uint32_t n = G32("the account count");
    if (!base_room_for(r, n, 82, UINT32_MAX, "the account count")) return -1;
    for (uint32_t i = 0; i < n; i++) {
        evm_address addr;
        base_get(r, addr.b, 20, "an account address");
        if (r->bad) return -1;
        if (h->nacc == h->capacc) { /* get() would find an earlier equal address */
            size_t nc = h->capacc ? 2 * h->capacc : 16;
            account *p = realloc(h->acc, nc * sizeof *p);
            if (!p) return -2;
            h->acc = p;
            h->capacc = nc;
        }
        account *a = &h->acc[h->nacc++];
        memset(a, 0, sizeof *a);
        a->addr = addr;
        evm_bytes32 bal;
        base_get(r, bal.b, 32, "a balance");
        a->balance = evm_b32_to_u256(&bal);
        a->nonce = G64("a nonce");
        int rc = get_blob(r, &a->code, &a->code_size, "account code");
        if (rc) return rc;
        uint8_t fl = G8("account flags");
        if (!r->bad && fl > 15) base_rd_fail(r, "account %u: flags %02x", i, fl);
        a->exists = fl & 1;
        a->warm = fl >> 1 & 1;
        a->destructed = fl >> 2 & 1;
        a->created = fl >> 3 & 1;
        if ((rc = get_smap(r, &a->storage, "a storage map")) ||
            (rc = get_smap(r, &a->transient, "a transient storage map")))
            return rc;
    }
    return r->bad ? -1 : 0;
}

/* A count of items that take at least min bytes of the image each, and a
 * zeroed array of them in *arr (capacity *cap). 0, -1 or -2. */
static int get_count(base_rd *r, uint32_t *n, uint64_t min, void **arr, size_t elem, size_t *cap,
                     const char *what) {
    *n = G32(what);
    if (!base_room_for(r, *n, min, UINT32_MAX, what)) return -1;
    if (*n && !(*arr = calloc(*n, elem))) return -2;
    *cap = *n;
    return 0;
}

static int get_journal(evm_memhost *h, base_rd *r) {
    uint32_t n;
    int rc = get_count(r, &n, 94, (void **)&h->j, sizeof *h->j, &h->capj, "the journal length");
    if (rc) return rc;
    for (uint32_t i = 0; i < n; i++) {
        jentry *e = &h->j[h->nj];
        uint8_t kind = G8("a journal entry kind");
        e->acct = G32("a journal account");
        e->slot = G32("a journal slot");
        base_get(r, e->old.b, 32, "a journaled value");
        evm_bytes32 bal;
        base_get(r, bal.b, 32, "a journaled balance");
        e->oldbal = evm_b32_to_u256(&bal);
        e->oldnonce = G64("a journaled nonce");
        uint8_t flag = G8("a journaled flag");
        uint64_t size = G64("a journaled size");
        if (r->bad) return -1;
        const account *a = e->acct < h->nacc ? &h->acc[e->acct] : NULL;
        bool ok = kind <= J_LOG && flag <= 1 && (kind == J_LOG ? e->acct == 0 : a != NULL);
        if (ok && (kind == J_STORAGE || kind == J_WARM_SLOT)) ok = e->slot < a->storage.n;
        if (ok && kind == J_TRANSIENT) ok = e->slot < a->transient.n;
        if (ok && kind == J_LOG) ok = h->nacc > 0 || e->acct == 0;
        if (!ok) {
            base_rd_fail(r, "journal entry %u: kind %u, account %u, slot %u, flag %u", i, kind,
                         e->acct, e->slot, flag);
            return -1;
        }
        e->kind = (jkind)kind;
        e->oldflag = flag;
        e->oldsize = (size_t)size;
        if (kind == J_CODE) {
            if (!base_room_for(r, size, 1, UINT32_MAX, "journaled code")) return -1;
            if (size && !(e->oldcode = malloc(size))) return -2;
            base_get(r, e->oldcode, size, "journaled code");
        }
        h->nj++;
    }
    return r->bad ? -1 : 0;
}

int evm_memhost_load(evm_memhost *h, base_rd *r) {
    evm_context *c = &h->ctx;
    base_get(r, c->origin.b, 20, "the origin");
    base_get(r, c->coinbase.b, 20, "the coinbase");
    evm_bytes32 *words[] = {&c->gas_price, &c->prev_randao, &c->chain_id, &c->base_fee,
                            &c->blob_base_fee};
    for (size_t i = 0; i < 5; i++)
        base_get(r, words[i]->b, 32, "a block context word");
    c->number = (int64_t)G64("a block number");
    c->timestamp = (int64_t)G64("a timestamp");
    c->gas_limit = (int64_t)G64("a block gas limit");
    uint8_t rec = G8("the record flag");
    if (!r->bad && rec > 1) base_rd_fail(r, "record flag %u", rec);
    h->record = rec;
    int rc;
    if ((rc = get_accounts(h, r)) || (rc = get_journal(h, r))) return rc;
    uint32_t nlogs, ncc;
    if ((rc = get_count(r, &nlogs, 25, (void **)&h->logs, sizeof *h->logs, &h->caplogs,
                        "the log count")))
        return rc;
    for (uint32_t i = 0; i < nlogs; i++) {
        evm_log *l = &h->logs[h->nlogs];
        base_get(r, l->addr.b, 20, "a log address");
        uint8_t nt = G8("a topic count");
        if (!r->bad && nt > 4) base_rd_fail(r, "log %u: %u topics", i, nt);
        if (r->bad) return -1;
        l->ntopics = nt;
        for (size_t k = 0; k < nt; k++)
            base_get(r, l->topics[k].b, 32, "a log topic");
        uint8_t *d;
        if ((rc = get_blob(r, &d, &l->size, "log data"))) return rc;
        if (!d && !(d = malloc(1))) return -2; /* logs always own a buffer */
        l->data = d;
        h->nlogs++;
    }
    for (size_t i = 0; i < h->nj; i++)
        if (h->j[i].kind == J_LOG && h->j[i].oldsize > h->nlogs) {
            base_rd_fail(r, "journal entry %zu: a log count %zu past the %zu logs", i,
                         h->j[i].oldsize, h->nlogs);
            return -1;
        }
    if ((rc = get_count(r, &ncc, 65, (void **)&h->cc, sizeof *h->cc, &h->capcc,
                        "the recorded call count")))
        return rc;
    for (uint32_t i = 0; i < ncc; i++) {
        callcreate *cc = &h->cc[h->ncc];
        uint8_t kind = G8("a recorded call kind");
        if (!r->bad && kind > EVM_CALL_CREATE2)
            base_rd_fail(r, "recorded call %u: kind %u", i, kind);
        cc->c.kind = (evm_call_kind)kind;
        base_get(r, cc->c.to.b, 20, "a recorded call target");
        cc->c.gas = (int64_t)G64("a recorded call's gas");
        base_get(r, cc->c.value.b, 32, "a recorded call value");
        if (r->bad) return -1;
        if ((rc = get_blob(r, &cc->data, &cc->c.size, "recorded call data"))) return rc;
        if (!cc->data && !(cc->data = malloc(1))) return -2;
        cc->c.data = cc->data;
        h->ncc++;
    }
    return r->bad ? -1 : 0;
}
