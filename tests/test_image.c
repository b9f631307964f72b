/* Jumping processes: SAVECHILD writes a child's subtree into a page as a
 * process image, LOADCHILD revives it (docs/isa.md, "Jumping processes";
 * docs/snapshot.md, "Process images"). A revived child continues bit for
 * bit; an image, however hostile, claims nothing outside itself. */
#include "vm/vm_impl.h" /* before testutil.h: tu_key_invariants reads pages */
#include "testutil.h"

#include <zlib.h>

static vm_machine *run_src(const char *src, const vm_limits *l) {
    vm_buf b = tu_asm(src);
    vm_machine *a = vm_machine_new();
    vm_load(a, b.data, b.len);
    vm_set_limits(a, l);
    vm_run(a);
    vm_buf_free(&b);
    return a;
}

static uint32_t live_procs(const vm_machine *a) {
    uint32_t n = 0;
    for (uint32_t id = 0; id < vm_nprocs(a); id++) {
        vm_proc_info pi;
        n += vm_proc_get(a, id, &pi) == 0 && pi.live;
    }
    return n;
}

/* The whole machine saves and loads again: the snapshot reader recomputes
 * every owner, key and word held, so a tree that does not add up fails. */
static void tree_adds_up(const vm_machine *a, const char *what) {
    vm_buf b = {0};
    cr_assert_eq(vm_snapshot_save(a, &b), 0, "%s", what);
    vm_machine *m = vm_machine_new();
    char err[256];
    cr_assert_eq(vm_snapshot_load(m, b.data, b.len, err, sizeof err), 0, "%s: %s", what, err);
    vm_machine_free(m);
    vm_buf_free(&b);
}

/* key 1: a child with no code; key 2: a page of 24 words; SAVECHILD 1 into 2 */
#define SAVE_EMPTY "PUSH 0\nNEWPAGE\nPUSH 0\nCREATE\nPUSH 24\nNEWPAGE\nSAVECHILD\n"

/* Gas: the table's, plus 1 per 8 image bytes (both), 40 per code byte and
 * 500 per further process (LOADCHILD). Memory: a revived child counts in
 * its loader as a CREATEd one, and one that does not fit is not made. */
Test(image, known_answers_gas_and_memory) {
    vm_buf b = tu_asm(SAVE_EMPTY "POP\nPUSH 2\nLOADCHILD\nHALT");
    int64_t table = 0;
    for (size_t pc = 0; pc < b.len;) {
        vm_insn in;
        vm_decode(b.data, b.len, pc, &in);
        table += vm_opinfo_of(in.op)->gas;
        pc += in.len;
    }
    vm_machine *a = vm_machine_new();
    vm_load(a, b.data, b.len);
    cr_assert_eq(vm_run(a), VM_HALTED);
    vm_meters m;
    vm_meters_get(a, &m);
    /* NEWPAGE 24: 24; SAVECHILD of 187 bytes: 24; LOADCHILD of them: 24 */
    cr_assert_eq((int64_t)m.gas, table + 24 + 24 + 24, "gas %lu", (unsigned long)m.gas);
    /* the key on the stack, 4 key slots, the page, two children of 16 words */
    cr_assert_eq(m.mem, 1u + 4u + 24u + 16u + 16u);
    cr_assert_eq(live_procs(a), 3u);
    tree_adds_up(a, "loaded");
    vm_load(a, b.data, b.len);
    vm_set_limits(a, &(vm_limits){.mem = 60});
    cr_assert_eq(vm_run(a), VM_OUT_OF_MEMORY);
    cr_assert_eq(live_procs(a), 2u, "no child when it does not fit");
    tree_adds_up(a, "refused");
    vm_machine_free(a);
    vm_buf_free(&b);
    /* a child with code and a grandchild: 40 per code byte, 500 for the grandchild */
    b = tu_asm("FORK\nDUP 0\nPUSH -1\nEQ\nJNZ c\nPOP\n"
               "PUSH 0\nPUSH 1000\nPUSH 1000\nPUSH -1\nRECURSE 0\nPOP\nPOP\nPOP\nPOP\n"
               "PUSH 200\nNEWPAGE\nPUSH 0\nSWAP 0\nSAVECHILD\nPUSH 1\nGAS\nSWAP 0\nLOADCHILD\n"
               "POP\nGAS\nSUB\nHALT\n"
               "c: PUSH 0\nNEWPAGE\nPUSH 0\nCREATE\nYIELD");
    a = vm_machine_new();
    vm_load(a, b.data, b.len);
    cr_assert_eq(vm_run(a), VM_HALTED);
    cr_assert_eq(vm_depth(a), 2u);
    int64_t n = vm_stack(a)[0], used = vm_stack(a)[1];
    cr_assert_eq(used,
                 1 /* SWAP */ + 3100 + (n + 7) / 8 + 40 * (int64_t)b.len + 500 + 1 /* POP */ + 1,
                 "LOADCHILD of %ld bytes used %ld", (long)n, (long)used);
    tree_adds_up(a, "two levels");
    vm_machine_free(a);
    vm_buf_free(&b);
}

/* Keys to anything outside the subtree are written empty: a channel, a page
 * of the saver, a call key to a sibling. The child's own page comes along,
 * as a new page owned by the revived child. */
Test(image, keys_outside_the_subtree_are_dropped) {
    vm_buf b = tu_asm("PUSH 1\nNEWPAGE\nPOP\n"                    /* key 1: page A */
                      "FORK\nDUP 0\nPUSH -1\nEQ\nJNZ copy\nPOP\n" /* key 2: X */
                      "FORK\nDUP 0\nPUSH -1\nEQ\nJNZ copy\nPOP\n" /* key 3: Y */
                      "PUSH 3\nPUSH 2\nTRANSFERKEY\nPOP\n"        /* Y: a call key to X */
                      "PUSH 3\nPUSH 1000\nPUSH 1000\nPUSH -1\nRECURSE 0\nPOP\nPOP\nPOP\nPOP\n"
                      "PUSH 600\nNEWPAGE\nPOP\n"                                  /* key 4 */
                      "PUSH 3\nPUSH 4\nSAVECHILD\nPOP\nPUSH 4\nLOADCHILD\nHALT\n" /* key 5 */
                      "copy: POP\nPUSH 2\nNEWPAGE\nPOP\nYIELD\nHALT");
    vm_machine *a = vm_machine_new();
    int ch = vm_chan_new(a, 4);
    vm_load(a, b.data, b.len);
    cr_assert_eq(vm_grant_chan(a, (uint32_t)ch, VM_RIGHT_READ), 0);
    cr_assert_eq(vm_run(a), VM_HALTED);
    cr_assert_eq(vm_stack(a)[vm_depth(a) - 1], 5);
    vm_key_kind kind;
    unsigned rights;
    uint32_t y, y2, obj;
    cr_assert_eq(vm_key_get(a, 0, 3, &kind, &rights, &y), 0);
    cr_assert_eq(vm_key_get(a, 0, 5, &kind, &rights, &y2), 0);
    cr_assert_eq(kind, VM_KEY_PROC);
    cr_assert_eq(rights, VM_RIGHTS_ALL);
    vm_proc_info pi;
    vm_proc_get(a, y2, &pi);
    cr_assert_eq(pi.status, VM_YIELDED);
    cr_assert_eq(pi.nkeys, 4u);
    vm_key_kind want[4] = {VM_KEY_NONE, VM_KEY_NONE, VM_KEY_NONE, VM_KEY_PAGE};
    for (uint32_t k = 0; k < 4; k++) {
        cr_assert_eq(vm_key_get(a, y, k, &kind, &rights, &obj), 0);
        cr_assert_eq(kind, k == 0   ? VM_KEY_CHAN
                           : k == 1 ? VM_KEY_PAGE
                           : k == 2 ? VM_KEY_CALL
                                    : VM_KEY_PAGE);
        uint32_t own = obj;
        cr_assert_eq(vm_key_get(a, y2, k, &kind, &rights, &obj), 0);
        cr_assert_eq(kind, want[k], "slot %u: kind %d", k, kind);
        if (k == 3) {
            cr_assert_eq(rights, VM_RIGHT_READ | VM_RIGHT_WRITE);
            cr_assert_neq(obj, own, "a page of its own, not the saved child's");
            cr_assert_eq(a->pages[obj].owner, y2);
            cr_assert_eq(a->pages[obj].n, 2u);
        }
    }
    tu_key_invariants(a, 0);
    tree_adds_up(a, "dropped keys");
    vm_machine_free(a);
    vm_buf_free(&b);
}

/* A subtree in a call with a process outside it is not saved (BUSY): a
 * client suspended inside a KCALL of its sibling, and that server. */
Test(image, subtrees_in_a_call_are_busy) {
    for (int who = 0; who < 2; who++) {
        char src[1024];
        snprintf(src, sizeof src,
                 "FORK\nDUP 0\nPUSH -1\nEQ\nJNZ server\nPOP\n"
                 "FORK\nDUP 0\nPUSH -1\nEQ\nJNZ client\nPOP\n"
                 "PUSH 1\nPUSH 0\nTRANSFERKEY\nPOP\n"
                 "PUSH 1\nPUSH 200\nPUSH 10000\nPUSH -1\nRECURSE 0\n"
                 "PUSH 1000\nNEWPAGE\nPUSH %d\nSWAP 0\nSAVECHILD\nHALT\n"
                 "server: POP\nl: PUSH 1\nADD\nJMP l\n"
                 "client: POP\nPUSH 7\nPUSH 0\nPUSH 100000\nKCALL\nHALT",
                 1 - who);
        vm_machine *a = run_src(src, &(vm_limits){0});
        cr_assert_eq(vm_status_get(a), VM_BUSY, "%s saved: %s", who ? "server" : "client",
                     vm_status_name(vm_status_get(a)));
        cr_assert_eq(vm_stack(a)[0], VM_OUT_OF_GAS, "the client ran dry inside the call");
        vm_machine_free(a);
    }
}

/* ---- the property: save anywhere, drop, load, finish ---- */

/* Words of code into page key 0, 8 bytes a word (PWRITE). */
static size_t code_into_page(uint8_t *c, size_t n, const uint8_t *code, size_t len) {
    n = tu_emit(c, n, VM_OP_PUSH, (int64_t)((len + 7) / 8));
    n = tu_emit(c, n, VM_OP_NEWPAGE, 0);
    n = tu_emit(c, n, VM_OP_POP, 0);
    for (size_t w = 0; w < (len + 7) / 8; w++) {
        uint64_t v = 0;
        for (size_t k = 0; k < 8 && 8 * w + k < len; k++)
            v |= (uint64_t)code[8 * w + k] << (8 * k);
        n = tu_emit(c, n, VM_OP_PUSH, (int64_t)v);
        n = tu_emit(c, n, VM_OP_PUSH, 0);
        n = tu_emit(c, n, VM_OP_PUSH, (int64_t)w);
        n = tu_emit(c, n, VM_OP_PWRITE, 0);
    }
    return n;
}

static size_t run_child(uint8_t *c, size_t n, int64_t gas) {
    n = tu_emit(c, n, VM_OP_PUSH, 1);
    n = tu_emit(c, n, VM_OP_PUSH, gas);
    n = tu_emit(c, n, VM_OP_PUSH, 5000);
    n = tu_emit(c, n, VM_OP_PUSH, -1);
    return tu_emit(c, n, VM_OP_RECURSE, 0);
}

static size_t save(uint8_t *c, size_t n, int proc, int page) {
    n = tu_emit(c, n, VM_OP_PUSH, proc);
    n = tu_emit(c, n, VM_OP_PUSH, page);
    return tu_emit(c, n, VM_OP_SAVECHILD, 0);
}

/* The root: child code in page 0, the child as key 1 with 3 on its stack,
 * pages 2, 3 and 4 of 8192 words; the child runs `first` gas; if moved, it
 * is saved into page 2, dropped, loaded from page 2 (key 1 again) and saved
 * again into page 4; it runs 3000 gas more and is saved into page 3. */
static vm_machine *parent_run(const uint8_t *code, size_t len, int64_t first, bool moved,
                              uint8_t underflow) {
    static uint8_t c[1 << 16];
    size_t n = code_into_page(c, 0, code, len);
    n = tu_emit(c, n, VM_OP_PUSH, 0);
    n = tu_emit(c, n, VM_OP_PUSH, (int64_t)len);
    n = tu_emit(c, n, VM_OP_CREATE, 0);
    n = tu_emit(c, n, VM_OP_POP, 0);
    n = tu_emit(c, n, VM_OP_PUSH, 3);
    n = tu_emit(c, n, VM_OP_PUSH, 1);
    n = tu_emit(c, n, VM_OP_PUSHTO, 0);
    for (int k = 0; k < 3; k++) {
        n = tu_emit(c, n, VM_OP_PUSH, 8192);
        n = tu_emit(c, n, VM_OP_NEWPAGE, 0);
        n = tu_emit(c, n, VM_OP_POP, 0);
    }
    n = run_child(c, n, first);
    if (moved) {
        n = save(c, n, 1, 2);
        n = tu_emit(c, n, VM_OP_POP, 0);
        n = tu_emit(c, n, VM_OP_PUSH, 1);
        n = tu_emit(c, n, VM_OP_DROPKEY, 0);
        n = tu_emit(c, n, VM_OP_PUSH, 2);
        n = tu_emit(c, n, VM_OP_LOADCHILD, 0);
        n = tu_emit(c, n, VM_OP_POP, 0);
        n = save(c, n, 1, 4);
        n = tu_emit(c, n, VM_OP_POP, 0);
    }
    n = run_child(c, n, 3000);
    n = save(c, n, 1, 3);
    n = tu_emit(c, n, VM_OP_HALT, 0);
    vm_machine *a = vm_machine_new();
    vm_load(a, c, n);
    vm_set_limits(a, &(vm_limits){.gas = 1u << 26, .mem = 1u << 20, .underflow = underflow});
    vm_run(a);
    return a;
}

static void page_words(const vm_machine *a, uint32_t k, const vm_word **w, uint32_t *n) {
    cr_assert_eq(vm_key_page(a, 0, k, w, n), 0, "key %u is no page", k);
}

Test(image, save_anywhere_then_load_equals_one_run) {
    uint64_t seed = 23;
    uint8_t code[512];
    int moved_ok = 0, ran_on = 0;
    for (int i = 0; i < 1500; i++) {
        size_t len = tu_random_program(&seed, code, sizeof code);
        int64_t first = 1 + tu_below(&seed, 80);
        uint8_t uf = i & 1 ? VM_UNDERFLOW_SKIP : VM_UNDERFLOW_FAULT;
        vm_machine *one = parent_run(code, len, first, false, uf);
        vm_machine *two = parent_run(code, len, first, true, uf);
        tree_adds_up(two, "moved");
        if (vm_status_get(one) != VM_HALTED) { /* the final save refused: both the same way */
            cr_assert_eq(vm_status_get(two), vm_status_get(one), "program %d", i);
            vm_machine_free(one);
            vm_machine_free(two);
            continue;
        }
        cr_assert_eq(vm_status_get(two), VM_HALTED, "program %d: %s", i,
                     vm_status_name(vm_status_get(two)));
        moved_ok++;
        /* both RECURSEs' results and the final image's length */
        cr_assert_eq(vm_depth(one), 9u);
        cr_assert_eq(vm_depth(two), 9u);
        cr_assert_arr_eq(vm_stack(one), vm_stack(two), 9 * sizeof(vm_word), "program %d", i);
        ran_on += vm_stack(one)[0] != VM_HALTED && vm_stack(one)[5] > 0;
        /* the final child, byte for byte (its image), and the revived
         * child saved again is the image it was revived from */
        const vm_word *w1, *w2, *s2, *s4;
        uint32_t n1, n2, m2, m4;
        page_words(one, 3, &w1, &n1);
        page_words(two, 3, &w2, &n2);
        cr_assert(n1 == n2 && !memcmp(w1, w2, n1 * sizeof *w1), "program %d diverged", i);
        page_words(two, 2, &s2, &m2);
        page_words(two, 4, &s4, &m4);
        cr_assert(m2 == m4 && !memcmp(s2, s4, m2 * sizeof *s2), "program %d: resave differs", i);
        vm_machine_free(one);
        vm_machine_free(two);
    }
    cr_assert_gt(moved_ok, 1200, "only %d programs moved", moved_ok);
    cr_assert_gt(ran_on, 300, "only %d children ran on after the move", ran_on);
}

/* ---- hostile images ---- */

/* A sample image: a child stopped inside RECURSE of a grandchild (in a
 * TIMES loop, with a heap and a page of its own), the grandchild inside
 * RECURSE of a great-grandchild that loops for ever, a call key to the
 * grandchild held by the grandchild. */
static vm_buf sample_image(void) {
    vm_machine *a =
        run_src("PUSH 2000\nNEWPAGE\nPOP\n"
                "FORK\nDUP 0\nPUSH -1\nEQ\nJNZ child\nPOP\n"
                "PUSH 1\nPUSH 40000\nPUSH 4000\nPUSH -1\nRECURSE 0\nPOP\nPOP\nPOP\nPOP\n"
                "PUSH 1\nPUSH 0\nSAVECHILD\nHALT\n"
                "child: POP\nPUSH 8\nALLOC\nPOP\nPUSH 3\nNEWPAGE\nPOP\nPUSH 4\nTIMES\n"
                "FORK\nDUP 0\nPUSH -1\nEQ\nJNZ grand\n"
                "DUP 0\nDUP 0\nTRANSFERKEY\nPOP\n"
                "DUP 0\nPUSH 1000000\nPUSH 100000\nPUSH -1\nRECURSE 0\nPOP\nPOP\nPOP\nPOP\n"
                "CLOSE\nHALT\n"
                "grand: POP\nFORK\nDUP 0\nPUSH -1\nEQ\nJNZ ggc\n"
                "PUSH 1000000\nPUSH 100000\nPUSH -1\nRECURSE 0\nHALT\n"
                "ggc: PUSH 1\nADD\nJMP ggc",
                &(vm_limits){0});
    cr_assert_eq(vm_status_get(a), VM_HALTED, "%s", vm_status_name(vm_status_get(a)));
    int64_t len = vm_stack(a)[vm_depth(a) - 1];
    const vm_word *w;
    uint32_t n;
    cr_assert_eq(vm_key_page(a, 0, 0, &w, &n), 0);
    vm_buf b = {0};
    cr_assert_eq(base_buf_reserve(&b, (size_t)len), 0);
    for (int64_t i = 0; i < len; i++)
        b.data[i] = (uint8_t)((uint64_t)w[i / 8] >> (8 * (i % 8)));
    b.len = (size_t)len;
    vm_machine_free(a);
    return b;
}

/* The root is given bytes as its page 0, loads them as a child, runs it
 * with gas, saves it into page 0 again and halts; the status of the load
 * (HALTED or BAD_IMAGE) is returned, the machine left in *out. */
static vm_status load_bytes(const uint8_t *d, size_t len, const vm_limits *l, vm_machine **out) {
    static vm_buf code;
    if (!code.len)
        code = tu_asm("PUSH 0\nLOADCHILD\nDUP 0\nPUSH 3000\nPUSH 3000\nPUSH -1\nRECURSE 0\n"
                      "POP\nPOP\nPOP\nPOP\nPUSH 0\nSAVECHILD\nHALT");
    vm_word *w = calloc(len / 8 + 64, sizeof *w); /* room to save it again, grown */
    for (size_t i = 0; i < len; i++)
        w[i / 8] = (vm_word)((uint64_t)w[i / 8] | (uint64_t)d[i] << (8 * (i % 8)));
    vm_machine *a = vm_machine_new();
    vm_load(a, code.data, code.len);
    vm_set_limits(a, l);
    cr_assert_eq(vm_grant_page(a, w, (uint32_t)(len / 8 + 64)), 0);
    free(w);
    vm_status s = vm_run(a);
    *out = a;
    return s;
}

static void fix_crc(uint8_t *m, size_t len) {
    uint32_t crc = (uint32_t)crc32(0L, m + 32, (uInt)(len - 32));
    for (int b = 0; b < 4; b++)
        m[24 + b] = (uint8_t)(crc >> (8 * b));
}

/* Whatever a loaded image holds, the tree adds up and no key reaches
 * outside what its holder may reach. */
static void check_after(vm_machine *a, vm_status s, int i) {
    vm_proc_info pi;
    vm_proc_get(a, 0, &pi);
    if (s == VM_BAD_IMAGE)
        cr_assert_eq(live_procs(a), 1u, "case %d: a refused image left a child", i);
    tu_key_invariants(a, i);
    tree_adds_up(a, "hostile");
}

Test(image, the_sample_loads_and_runs) {
    vm_buf img = sample_image();
    vm_machine *a;
    cr_assert_eq(load_bytes(img.data, img.len, &(vm_limits){0}, &a), VM_HALTED);
    cr_assert_eq(live_procs(a), 4u, "the child, its grandchild and great-grandchild");
    check_after(a, VM_HALTED, 0);
    vm_machine_free(a);
    vm_buf_free(&img);
}

Test(image, every_truncation_and_flipped_byte_is_refused) {
    vm_buf img = sample_image();
    vm_machine *a;
    for (size_t n = 0; n < img.len; n += 1 + n / 64) {
        uint8_t *m = malloc(img.len);
        memcpy(m, img.data, img.len);
        if (n >= 32) { /* a header that fits the bytes */
            base_le_put(m + 16, n - 32, 8);
            fix_crc(m, n);
        }
        vm_status s = load_bytes(m, n, &(vm_limits){0}, &a);
        cr_assert_eq(s, VM_BAD_IMAGE, "truncated to %zu bytes: %s", n, vm_status_name(s));
        check_after(a, s, (int)n);
        vm_machine_free(a);
        free(m);
    }
    for (size_t i = 0; i < img.len; i += 3) {
        img.data[i] ^= 0x10;
        vm_status s = load_bytes(img.data, img.len, &(vm_limits){0}, &a);
        cr_assert_eq(s, VM_BAD_IMAGE, "flipped byte %zu: %s", i, vm_status_name(s));
        check_after(a, s, (int)i);
        vm_machine_free(a);
        img.data[i] ^= 0x10;
    }
    vm_buf_free(&img);
}

Test(image, hostile_content_is_refused_or_runs) {
    vm_buf img = sample_image();
    uint64_t seed = 5;
    uint8_t *m = malloc(img.len);
    int accepted = 0;
    for (int i = 0; i < 4000; i++) {
        memcpy(m, img.data, img.len);
        int edits = 1 + (int)tu_below(&seed, 4);
        for (int k = 0; k < edits; k++) {
            size_t at = 32 + tu_below(&seed, (uint32_t)(img.len - 32));
            m[at] = tu_below(&seed, 2) ? (uint8_t)tu_next(&seed) : (uint8_t)(m[at] ^ 0xff);
        }
        fix_crc(m, img.len);
        vm_machine *a;
        vm_status s = load_bytes(m, img.len, &(vm_limits){.gas = 200000}, &a);
        accepted += s != VM_BAD_IMAGE;
        check_after(a, s, i);
        vm_machine_free(a);
    }
    cr_assert_gt(accepted, 0, "some edits (stack words, meters) are legal");
    free(m);
    vm_buf_free(&img);
}

/* Known hostile edits of an image of a child that holds one page key
 * (code PUSH 0, NEWPAGE, POP: its one key at byte 165): a channel key, a
 * key to a page or process the image does not hold, a process key to
 * itself are refused; a call key to its own root is legal. Limits past the
 * loader's are refused. */
Test(image, keys_to_outside_objects_are_refused) {
    uint8_t child[] = {VM_OP_PUSH, 0, 0, 0, 0, 0, 0, 0, 0, VM_OP_NEWPAGE, VM_OP_POP};
    uint8_t c[4096];
    size_t n = code_into_page(c, 0, child, sizeof child);
    n = tu_emit(c, n, VM_OP_PUSH, 0);
    n = tu_emit(c, n, VM_OP_PUSH, (int64_t)sizeof child);
    n = tu_emit(c, n, VM_OP_CREATE, 0); /* key 1 */
    n = tu_emit(c, n, VM_OP_PUSH, 1000);
    n = tu_emit(c, n, VM_OP_PUSH, 100);
    n = tu_emit(c, n, VM_OP_PUSH, -1);
    n = tu_emit(c, n, VM_OP_RECURSE, 0);
    n = tu_emit(c, n, VM_OP_PUSH, 100);
    n = tu_emit(c, n, VM_OP_NEWPAGE, 0); /* key 2 */
    n = tu_emit(c, n, VM_OP_PUSH, 1);
    n = tu_emit(c, n, VM_OP_SWAP, 0);
    n = tu_emit(c, n, VM_OP_SAVECHILD, 0);
    n = tu_emit(c, n, VM_OP_HALT, 0);
    vm_machine *a = vm_machine_new();
    vm_load(a, c, n);
    cr_assert_eq(vm_run(a), VM_HALTED);
    cr_assert_eq(vm_stack(a)[0], VM_HALTED);
    size_t len = (size_t)vm_stack(a)[vm_depth(a) - 1];
    const vm_word *w;
    uint32_t nw;
    cr_assert_eq(vm_key_page(a, 0, 2, &w, &nw), 0);
    uint8_t img[512];
    cr_assert_leq(len, sizeof img);
    for (size_t i = 0; i < len; i++)
        img[i] = (uint8_t)((uint64_t)w[i / 8] >> (8 * (i % 8)));
    vm_machine_free(a);
    cr_assert_eq(img[165], VM_KEY_PAGE, "the key's kind at byte 165");
    cr_assert_eq(img[166], VM_RIGHT_READ | VM_RIGHT_WRITE);
    struct {
        uint8_t kind, rights;
        uint32_t obj;
        vm_status want;
    } cases[] = {
        {VM_KEY_PAGE, 3, 0, VM_HALTED},
        {VM_KEY_PAGE, 7, 0, VM_HALTED},
        {VM_KEY_CHAN, 3, 0, VM_BAD_IMAGE},
        {VM_KEY_PAGE, 3, 1, VM_BAD_IMAGE},
        {VM_KEY_CALL, 4, 1, VM_BAD_IMAGE},
        {VM_KEY_CALL, 4, 0, VM_HALTED},
        {VM_KEY_PROC, 7, 0, VM_BAD_IMAGE},
        {VM_KEY_PROC, 7, 1, VM_BAD_IMAGE},
        {VM_KEY_CALL, 4, 0xffffffffu, VM_BAD_IMAGE},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        uint8_t m[512];
        memcpy(m, img, len);
        m[165] = cases[k].kind;
        m[166] = cases[k].rights;
        base_le_put(m + 167, cases[k].obj, 4);
        fix_crc(m, len);
        vm_status st = load_bytes(m, len, &(vm_limits){0}, &a);
        cr_assert_eq(st, cases[k].want, "case %zu: %s", k, vm_status_name(st));
        check_after(a, st, (int)k);
        vm_machine_free(a);
    }
    /* its stack limit (1024) past the loader's */
    vm_status st = load_bytes(img, len, &(vm_limits){.stack = 1000}, &a);
    cr_assert_eq(st, VM_BAD_IMAGE);
    vm_machine_free(a);
    st = load_bytes(img, len, &(vm_limits){.stack = 1024}, &a);
    cr_assert_eq(st, VM_HALTED);
    vm_machine_free(a);
}

/* ---- capabilities through images ---- */

/* Random programs rich in key instructions and in SAVECHILD and LOADCHILD,
 * starting with a big page (key 0) and a FORK copy (key 1) that runs the
 * same random part: no right grows, nothing is reached without a key, the
 * tree adds up, and a secret channel stays untouched. */
Test(image, capabilities_never_grow_through_images) {
    uint64_t seed = 41;
    vm_machine *a = vm_machine_new();
    int secret = vm_chan_new(a, 10);
    static const uint8_t ops[] = {
        VM_OP_FORK,      VM_OP_TRANSFERKEY, VM_OP_ATTENUATE, VM_OP_DROPKEY,   VM_OP_NEWPAGE,
        VM_OP_PREAD,     VM_OP_PWRITE,      VM_OP_RECURSE,   VM_OP_KCALL,     VM_OP_SAVECHILD,
        VM_OP_SAVECHILD, VM_OP_LOADCHILD,   VM_OP_LOADCHILD, VM_OP_LOADCHILD, VM_OP_IN,
        VM_OP_POPFROM,   VM_OP_PUSHTO};
    int loaded = 0, saved = 0;
    for (int i = 0; i < 3000; i++) {
        uint8_t c[2048];
        size_t n = 0;
        n = tu_emit(c, n, VM_OP_PUSH, 600);
        n = tu_emit(c, n, VM_OP_NEWPAGE, 0);
        n = tu_emit(c, n, VM_OP_POP, 0);
        n = tu_emit(c, n, VM_OP_FORK, 0);
        n = tu_emit(c, n, VM_OP_POP, 0);
        int len = 5 + (int)tu_below(&seed, 50);
        for (int k = 0; k < len; k++) {
            uint32_t r = tu_below(&seed, 10);
            if (r < 4)
                n = tu_emit(c, n, VM_OP_PUSH, (int64_t)tu_below(&seed, 6) - 1);
            else if (r < 5)
                n = tu_emit(c, n, VM_OP_DUP, tu_below(&seed, 3));
            else if (r < 6)
                n = tu_emit(c, n, VM_OP_PUSH, 300);
            else if (r < 7) { /* a child into a page, as likely to name them right */
                n = tu_emit(c, n, VM_OP_PUSH, tu_below(&seed, 3));
                n = tu_emit(c, n, VM_OP_PUSH, tu_below(&seed, 2));
                n = tu_emit(c, n, VM_OP_SAVECHILD, 0);
            } else if (r < 8) {
                n = tu_emit(c, n, VM_OP_PUSH, tu_below(&seed, 3));
                n = tu_emit(c, n, VM_OP_LOADCHILD, 0);
            } else
                n = tu_emit(c, n, ops[tu_below(&seed, sizeof ops)], tu_below(&seed, 2));
        }
        vm_load(a, c, n);
        vm_set_limits(a, &(vm_limits){.gas = 200000, .mem = 20000});
        vm_chan_clear(a, (uint32_t)secret);
        for (int k = 0; k < 5; k++)
            vm_chan_write(a, (uint32_t)secret, 99);
        vm_run(a);
        cr_assert_eq(vm_chan_len(a, (uint32_t)secret), 5u, "program %d reached the secret", i);
        tu_key_invariants(a, i);
        tree_adds_up(a, "capabilities");
        for (uint32_t id = 0; id < vm_nprocs(a); id++) {
            vm_proc_info pi;
            vm_proc_get(a, id, &pi);
            if (!pi.live) continue;
            for (uint32_t k = 0; k < pi.nkeys; k++) {
                vm_key_kind kind;
                unsigned rights;
                uint32_t obj;
                vm_key_get(a, id, k, &kind, &rights, &obj);
                cr_assert(kind != VM_KEY_CHAN, "program %d: a channel key appeared", i);
            }
        }
        /* how often the image instructions did something: a page holding
         * an image's magic, a process count past the two made directly */
        const vm_word *w;
        uint32_t nw;
        if (vm_key_page(a, 0, 0, &w, &nw) == 0 && nw && !memcmp(w, "FRUGPROC", 8)) saved++;
        loaded += live_procs(a) > 2;
    }
    cr_assert_gt(saved, 100, "only %d programs saved an image", saved);
    cr_assert_gt(loaded, 50, "only %d programs made more processes", loaded);
    vm_machine_free(a);
}

/* ---- the examples and frugal exec ---- */

Test(image, jump_example_and_page_files) {
    const char *frugal = getenv("FRUGAL");
    cr_assert(frugal, "FRUGAL must name the frugal binary (make test sets it)");
    char dir[64], cmd[1024];
    tu_tmpdir(dir, sizeof dir, "image");
    snprintf(cmd, sizeof cmd, "%s exec examples/jump.s 2>&1", frugal);
    char *out = tu_run_cmd(cmd);
    cr_assert(strstr(out, "stack    1 8960788 1 8960788   (bottom first)"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s exec examples/jump_out.s --page-out %s/c.img 2>&1; echo rc=$?",
             frugal, dir);
    out = tu_run_cmd(cmd);
    cr_assert(strstr(out, "stack    3 440   (bottom first)"), "%s", out);
    cr_assert(strstr(out, "page written to") && strstr(out, "rc=0"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s exec examples/jump_in.s --page-in %s/c.img 2>&1; echo rc=$?",
             frugal, dir);
    out = tu_run_cmd(cmd);
    cr_assert(strstr(out, "stack    1 8960788   (bottom first)") && strstr(out, "rc=0"), "%s", out);
    free(out);
    /* not an image; no page in the key slot; a missing file */
    snprintf(cmd, sizeof cmd,
             "%s exec examples/jump_in.s --page-in examples/jump.s 2>&1; echo rc=$?", frugal);
    out = tu_run_cmd(cmd);
    cr_assert(strstr(out, "BAD_IMAGE") && strstr(out, "rc=1"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd,
             "%s exec examples/jump.s --page-out %s/x --page-key 1 2>&1; echo rc=$?", frugal, dir);
    out = tu_run_cmd(cmd);
    cr_assert(strstr(out, "key 1 names no page") && strstr(out, "rc=1"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s exec examples/jump_in.s --page-in %s/none 2>&1; echo rc=$?",
             frugal, dir);
    out = tu_run_cmd(cmd);
    cr_assert(strstr(out, "cannot open") && strstr(out, "rc=4"), "%s", out);
    free(out);
    tu_rmtree(dir);
}
