/* The native VM: known answers for every opcode, exact meters, refuel and
 * resume, block metering equal to per-instruction metering, bad input. */
#include "testutil.h"
#include "vm/vm_impl.h"

#include <limits.h>

#define FX(x) ((vm_word)((x)*4294967296.0))

typedef struct {
    uint8_t op;      /* the opcode this case covers */
    const char *src; /* program */
    int nin;
    vm_word in[4];
    int nout;
    vm_word out[6];
    vm_status st; /* expected status (0 means HALTED) */
    vm_limits lim;
} kat;

#define S(...)                                                                                     \
    { __VA_ARGS__ }
/* A child whose code is ADD; HALT (0x20 0x00), given 3 and 4, run, and read:
 * leaves status, gas, memtime, words of the RECURSE and then the sum. */
#define RUN_CHILD                                                                                  \
    "PUSH 1\nNEWPAGE\nPUSH 0x20\nPUSH 0\nPUSH 0\nPWRITE\nPUSH 2\nCREATE\n"                         \
    "PUSH 3\nPUSH 1\nPUSHTO\nPUSH 4\nPUSH 1\nPUSHTO\n"                                             \
    "PUSH 1\nPUSH 100\nPUSH 64\nPUSH -1\nRECURSE 0\nPUSH 1\nPOPFROM"
/* key 1: a child with no code; key 2: a page of n words; SAVECHILD of 1 into 2 */
#define SAVE_EMPTY(n) "PUSH 0\nNEWPAGE\nPUSH 0\nCREATE\nPUSH " n "\nNEWPAGE\nSAVECHILD"
static const kat kats[] = {
    {VM_OP_HALT, "HALT\nPUSH 1", 0, {0}, 0, {0}, 0, {0}},
    {VM_OP_NOP, "NOP", 1, S(5), 1, S(5), 0, {0}},
    {VM_OP_YIELD, "YIELD\nPUSH 1", 0, {0}, 0, {0}, VM_YIELDED, {0}},
    {VM_OP_JMP, "JMP a\nPUSH 1\na: PUSH 2", 0, {0}, 1, S(2), 0, {0}},
    {VM_OP_JMP, "JMP +1", 0, {0}, 0, {0}, VM_BAD_JUMP, {0}},
    {VM_OP_JZ, "JZ a\nPUSH 1\na: PUSH 2", 1, S(0), 1, S(2), 0, {0}},
    {VM_OP_JZ, "JZ a\nPUSH 1\na: PUSH 2", 1, S(3), 2, S(1, 2), 0, {0}},
    {VM_OP_JNZ, "JNZ a\nPUSH 1\na: PUSH 2", 1, S(3), 1, S(2), 0, {0}},
    {VM_OP_JNZ, "JNZ a\nPUSH 1\na: PUSH 2", 1, S(0), 2, S(1, 2), 0, {0}},
    {VM_OP_CALL, "CALL f\nPUSH 3\nHALT\nf: PUSH 2\nRET", 0, {0}, 2, S(2, 3), 0, {0}},
    {VM_OP_CALL, "f: CALL f", 0, {0}, 0, {0}, VM_CALL_OVERFLOW, {.calls = 5}},
    {VM_OP_RET, "RET\nPUSH 1", 0, {0}, 0, {0}, 0, {0}},
    /* RET leaves the loops entered since its CALL */
    {VM_OP_RET,
     "CALL f\nINDEX\nHALT\nf: PUSH 5\nTIMES\nINDEX\nRET\nCLOSE",
     0,
     {0},
     2,
     S(0, 0),
     0,
     {0}},
    {VM_OP_TIMES, "PUSH 0\nPUSH 4\nTIMES\nPUSH 2\nADD\nCLOSE", 0, {0}, 1, S(8), 0, {0}},
    {VM_OP_TIMES, "PUSH 7\nPUSH 0\nTIMES\nPUSH 1\nADD\nCLOSE", 0, {0}, 1, S(7), 0, {0}},
    {VM_OP_TIMES, "PUSH 7\nPUSH -3\nTIMES\nPUSH 1\nADD\nCLOSE\nPUSH 1", 0, {0}, 2, S(7, 1), 0, {0}},
    /* without a CLOSE the block runs to the end of the code, once */
    {VM_OP_TIMES, "PUSH 0\nPUSH 3\nTIMES\nPUSH 1\nADD", 0, {0}, 1, S(1), 0, {0}},
    /* a loop frame is two call-stack words */
    {VM_OP_TIMES, "PUSH 1\nTIMES\nCLOSE", 0, {0}, 1, S(1), VM_CALL_OVERFLOW, {.calls = 1}},
    {VM_OP_IF, "PUSH 5\nPUSH 1\nIF\nPUSH 2\nADD\nCLOSE", 0, {0}, 1, S(7), 0, {0}},
    {VM_OP_IF, "PUSH 5\nPUSH 0\nIF\nPUSH 2\nADD\nCLOSE\nPUSH 1", 0, {0}, 2, S(5, 1), 0, {0}},
    /* a condition is true when > 0 (vm_cond): a negative word is false */
    {VM_OP_IF, "PUSH 5\nPUSH -1\nIF\nPUSH 2\nADD\nCLOSE", 0, {0}, 1, S(5), 0, {0}},
    {VM_OP_IF, "PUSH 5\nPUSH 9\nIF\nPUSH 2\nADD\nCLOSE", 0, {0}, 1, S(7), 0, {0}},
    /* blocks nest as brackets: the IF's CLOSE is the inner one */
    {VM_OP_IF,
     "PUSH 0\nIF\nPUSH 1\nIF\nPUSH 2\nCLOSE\nPUSH 3\nCLOSE\nPUSH 4",
     0,
     {0},
     1,
     S(4),
     0,
     {0}},
    {VM_OP_CLOSE, "CLOSE\nPUSH 1\nCLOSE", 0, {0}, 1, S(1), 0, {0}},
    /* WHILE tests the top without popping it: Euclid's GCD in four instructions */
    {VM_OP_WHILE, "WHILE\nSWAP 0\nOVER\nMOD\nCLOSE\nPOP", 2, S(1071, 462), 1, S(21), 0, {0}},
    {VM_OP_WHILE, "PUSH 0\nWHILE\nPUSH 5\nCLOSE\nPUSH 1", 0, {0}, 2, S(0, 1), 0, {0}},
    {VM_OP_WHILE, "PUSH 3\nWHILE\nPUSH 1\nSUB\nCLOSE", 0, {0}, 1, S(0), 0, {0}},
    /* ... and so is a negative top: WHILE passes over, its CLOSE falls through */
    {VM_OP_WHILE, "PUSH -3\nWHILE\nPUSH 5\nCLOSE", 0, {0}, 1, S(-3), 0, {0}},
    {VM_OP_WHILE, "PUSH 3\nWHILE\nPUSH 2\nSUB\nCLOSE", 0, {0}, 1, S(-1), 0, {0}},
    /* a WHILE's CLOSE on an empty stack ends the loop */
    {VM_OP_WHILE, "PUSH 3\nWHILE\nPOP\nCLOSE\nPUSH 1", 0, {0}, 1, S(1), 0, {0}},
    /* nested in a TIMES: the inner CLOSE is the WHILE's, the outer the TIMES's */
    {VM_OP_WHILE,
     "PUSH 0\nPUSH 3\nTIMES\nPUSH 2\nWHILE\nSWAP 0\nPUSH 1\nADD\nSWAP 0\nPUSH 1\nSUB\nCLOSE\nPOP\n"
     "CLOSE",
     0,
     {0},
     1,
     S(6),
     0,
     {0}},
    /* TIMES inside a WHILE: INDEX is the TIMES's round */
    {VM_OP_WHILE,
     "PUSH 0\nPUSH 2\nWHILE\nSWAP 0\nPUSH 3\nTIMES\nINDEX\nADD\nCLOSE\nSWAP 0\nPUSH "
     "1\nSUB\nCLOSE\nPOP",
     0,
     {0},
     1,
     S(6),
     0,
     {0}},
    /* a loop without end runs out of gas */
    {VM_OP_WHILE, "PUSH 1\nWHILE\nCLOSE", 0, {0}, 1, S(1), VM_OUT_OF_GAS, {.gas = 1000}},
    {VM_OP_INDEX,
     "PUSH 0\nPUSH 3\nTIMES\nPUSH 2\nTIMES\nINDEX\nADD\nCLOSE\nINDEX\nADD\nCLOSE",
     0,
     {0},
     1,
     S(6),
     0,
     {0}},
    {VM_OP_INDEX, "INDEX", 0, {0}, 1, S(0), 0, {0}},
    {VM_OP_ARG, "ARG 0", 0, {0}, 0, {0}, VM_OUT_OF_BOUNDS, {0}}, /* no arguments */
    {VM_OP_NARGS, "NARGS", 0, {0}, 1, S(0), 0, {0}},
    {VM_OP_ITEM, "ITEM", 0, {0}, 0, {0}, VM_OUT_OF_BOUNDS, {0}},
    /* seed 0: the stream of (0, "RAND", 0, 0), 64 bits a word, high half first */
    {VM_OP_RAND, "RAND\nRAND", 0, {0}, 2, S(3371342946604410181, 2884859198413605546), 0, {0}},
    /* operand shortage under the SKIP rule: charged, no effect; a TIMES or IF
     * without its operand skips its block */
    {VM_OP_ADD, "PUSH 3\nADD\nPUSH 4\nADD", 0, {0}, 1, S(7), 0, {.underflow = VM_UNDERFLOW_SKIP}},
    {VM_OP_DUP, "DUP 3", 2, S(1, 2), 2, S(1, 2), 0, {.underflow = VM_UNDERFLOW_SKIP}},
    {VM_OP_TIMES,
     "TIMES\nPUSH 9\nCLOSE\nPUSH 1",
     0,
     {0},
     1,
     S(1),
     0,
     {.underflow = VM_UNDERFLOW_SKIP}},
    {VM_OP_IF, "IF\nPUSH 9\nCLOSE\nPUSH 1", 0, {0}, 1, S(1), 0, {.underflow = VM_UNDERFLOW_SKIP}},
    {VM_OP_WHILE,
     "WHILE\nPUSH 9\nCLOSE\nPUSH 1",
     0,
     {0},
     1,
     S(1),
     0,
     {.underflow = VM_UNDERFLOW_SKIP}},
    {VM_OP_POP,
     "POP\nPOP",
     0,
     {0},
     0,
     {0},
     VM_OUT_OF_GAS,
     {.gas = 1, .underflow = VM_UNDERFLOW_SKIP}},
    {VM_OP_PUSH, "PUSH -7\nPUSH 0x7fffffffffffffff", 0, {0}, 2, S(-7, INT64_MAX), 0, {0}},
    {VM_OP_POP, "POP", 2, S(1, 2), 1, S(1), 0, {0}},
    {VM_OP_POP, "POP", 0, {0}, 0, {0}, VM_STACK_UNDERFLOW, {0}},
    {VM_OP_DUP, "DUP 2", 3, S(1, 2, 3), 4, S(1, 2, 3, 1), 0, {0}},
    {VM_OP_DUP, "DUP 0", 3, S(1, 2, 3), 4, S(1, 2, 3, 3), 0, {0}},
    {VM_OP_DUP, "DUP 3", 3, S(1, 2, 3), 3, S(1, 2, 3), VM_STACK_UNDERFLOW, {0}},
    {VM_OP_SWAP, "SWAP 1", 3, S(1, 2, 3), 3, S(3, 2, 1), 0, {0}},
    {VM_OP_SWAP, "SWAP 0", 3, S(1, 2, 3), 3, S(1, 3, 2), 0, {0}},
    {VM_OP_OVER, "OVER", 2, S(1, 2), 3, S(1, 2, 1), 0, {0}},
    {VM_OP_ROT, "ROT", 3, S(1, 2, 3), 3, S(2, 3, 1), 0, {0}},
    {VM_OP_ADD, "ADD", 2, S(INT64_MAX, 1), 1, S(INT64_MIN), 0, {0}},
    {VM_OP_SUB, "SUB", 2, S(5, 7), 1, S(-2), 0, {0}},
    {VM_OP_SUB, "SUB", 2, S(INT64_MIN, 1), 1, S(INT64_MAX), 0, {0}},
    {VM_OP_MUL, "MUL", 2, S(INT64_MAX, 2), 1, S(-2), 0, {0}},
    {VM_OP_DIV, "DIV", 2, S(7, 2), 1, S(3), 0, {0}},
    {VM_OP_DIV, "DIV", 2, S(-7, 2), 1, S(-3), 0, {0}},
    {VM_OP_DIV, "DIV", 2, S(7, 0), 1, S(0), 0, {0}},
    {VM_OP_DIV, "DIV", 2, S(INT64_MIN, -1), 1, S(INT64_MIN), 0, {0}},
    {VM_OP_MOD, "MOD", 2, S(7, 3), 1, S(1), 0, {0}},
    /* floored: the sign of the divisor, so 2 MOD is 0 or 1 on any integer */
    {VM_OP_MOD, "MOD", 2, S(-7, 3), 1, S(2), 0, {0}},
    {VM_OP_MOD, "MOD", 2, S(7, -3), 1, S(-2), 0, {0}},
    {VM_OP_MOD, "MOD", 2, S(-7, -3), 1, S(-1), 0, {0}},
    {VM_OP_MOD, "MOD", 2, S(-7, 2), 1, S(1), 0, {0}},
    {VM_OP_MOD, "MOD", 2, S(-6, 3), 1, S(0), 0, {0}},
    {VM_OP_MOD, "MOD", 2, S(INT64_MIN, INT64_MAX), 1, S(INT64_MAX - 1), 0, {0}},
    {VM_OP_MOD, "MOD", 2, S(7, 0), 1, S(0), 0, {0}},
    {VM_OP_MOD, "MOD", 2, S(INT64_MIN, -1), 1, S(0), 0, {0}},
    {VM_OP_NEG, "NEG", 1, S(5), 1, S(-5), 0, {0}},
    {VM_OP_NEG, "NEG", 1, S(INT64_MIN), 1, S(INT64_MIN), 0, {0}},
    {VM_OP_ABS, "ABS", 1, S(-5), 1, S(5), 0, {0}},
    {VM_OP_ABS, "ABS", 1, S(INT64_MIN), 1, S(INT64_MIN), 0, {0}},
    {VM_OP_MIN, "MIN", 2, S(-3, 2), 1, S(-3), 0, {0}},
    {VM_OP_MAX, "MAX", 2, S(-3, 2), 1, S(2), 0, {0}},
    {VM_OP_LT, "LT", 2, S(-3, 2), 1, S(1), 0, {0}},
    {VM_OP_LT, "LT", 2, S(2, 2), 1, S(0), 0, {0}},
    {VM_OP_GT, "GT", 2, S(-3, 2), 1, S(0), 0, {0}},
    {VM_OP_EQ, "EQ", 2, S(4, 4), 1, S(1), 0, {0}},
    {VM_OP_ISZERO, "ISZERO", 1, S(0), 1, S(1), 0, {0}},
    {VM_OP_ISZERO, "ISZERO", 1, S(-9), 1, S(0), 0, {0}},
    {VM_OP_AND, "AND", 2, S(12, 10), 1, S(8), 0, {0}},
    {VM_OP_OR, "OR", 2, S(12, 10), 1, S(14), 0, {0}},
    {VM_OP_XOR, "XOR", 2, S(12, 10), 1, S(6), 0, {0}},
    {VM_OP_NOT, "NOT", 1, S(0), 1, S(-1), 0, {0}},
    {VM_OP_SHL, "SHL", 2, S(1, 65), 1, S(2), 0, {0}},
    {VM_OP_SHL, "SHL", 2, S(1, 63), 1, S(INT64_MIN), 0, {0}},
    {VM_OP_SHR, "SHR", 2, S(-1, 60), 1, S(15), 0, {0}},
    {VM_OP_SHR, "SHR", 2, S(8, -1), 1, S(0), 0, {0}},
    {VM_OP_SAR, "SAR", 2, S(-16, 2), 1, S(-4), 0, {0}},
    {VM_OP_SAR, "SAR", 2, S(-1, 64), 1, S(-1), 0, {0}},
    {VM_OP_FMUL, "FMUL", 2, S(FX(1.5), FX(2)), 1, S(FX(3)), 0, {0}},
    {VM_OP_FMUL, "FMUL", 2, S(FX(-1.5), FX(2)), 1, S(FX(-3)), 0, {0}},
    {VM_OP_FMUL, "FMUL", 2, S(INT64_MAX, FX(2)), 1, S(INT64_MAX), 0, {0}},
    {VM_OP_FDIV, "FDIV", 2, S(FX(3), FX(2)), 1, S(FX(1.5)), 0, {0}},
    {VM_OP_FDIV, "FDIV", 2, S(FX(3), 0), 1, S(0), 0, {0}},
    {VM_OP_FSQRT, "FSQRT", 1, S(FX(4)), 1, S(FX(2)), 0, {0}},
    {VM_OP_FSQRT, "FSQRT", 1, S(FX(-4)), 1, S(0), 0, {0}},
    {VM_OP_FSIN, "FSIN", 1, S(0), 1, S(0), 0, {0}},
    {VM_OP_FCOS, "FCOS", 1, S(0), 1, S(FX(1)), 0, {0}},
    {VM_OP_FEXP, "FEXP", 1, S(0), 1, S(FX(1)), 0, {0}},
    {VM_OP_FLOG, "FLOG", 1, S(FX(1)), 1, S(0), 0, {0}},
    {VM_OP_FLOG, "FLOG", 1, S(FX(-1)), 1, S(0), 0, {0}},
    {VM_OP_ITOF, "ITOF", 1, S(-3), 1, S(FX(-3)), 0, {0}},
    {VM_OP_FTOI, "FTOI", 1, S(FX(-1.5)), 1, S(-2), 0, {0}},
    {VM_OP_LOAD,
     "PUSH 3\nALLOC\nPOP\nPUSH 42\nPUSH 1\nSTORE\nPUSH 1\nLOAD\nMSIZE",
     0,
     {0},
     2,
     S(42, 3),
     0,
     {0}},
    {VM_OP_LOAD, "LOAD", 1, S(0), 1, S(0), VM_OUT_OF_BOUNDS, {0}},
    {VM_OP_STORE, "PUSH 1\nALLOC\nPOP\nPUSH 1\nSTORE", 1, S(9), 2, S(9, 1), VM_OUT_OF_BOUNDS, {0}},
    {VM_OP_STORE, "PUSH 1\nALLOC\nPOP\nPUSH 0\nSTORE\nPUSH 0\nLOAD", 1, S(9), 1, S(9), 0, {0}},
    {VM_OP_ALLOC, "PUSH 2\nALLOC\nPUSH 5\nALLOC", 0, {0}, 2, S(0, 2), 0, {0}},
    {VM_OP_ALLOC, "PUSH -5\nALLOC\nMSIZE", 0, {0}, 2, S(0, 0), 0, {0}},
    {VM_OP_ALLOC, "PUSH 100\nALLOC", 0, {0}, 1, S(100), VM_OUT_OF_MEMORY, {.mem = 50}},
    {VM_OP_FREE,
     "PUSH 4\nALLOC\nPOP\nPUSH 3\nFREE\nMSIZE\nPUSH 99\nFREE\nMSIZE",
     0,
     {0},
     2,
     S(1, 0),
     0,
     {0}},
    {VM_OP_MSIZE, "MSIZE", 0, {0}, 1, S(0), 0, {0}},
    {VM_OP_GAS, "GAS", 0, {0}, 1, S(99), 0, {.gas = 100}},
    {VM_OP_MEMLEFT, "MEMLEFT", 2, S(1, 2), 3, S(1, 2, 8), 0, {.mem = 10}},
    /* processes and keys: a child made from a page, fed, run and read */
    {VM_OP_RECURSE, RUN_CHILD, 0, {0}, 6, S(1, 1, 2, 3, 1, 7), 0, {0}},
    {VM_OP_RECURSE,
     "PUSH 0\nPUSH 1\nPUSH 1\nPUSH 1\nRECURSE 0",
     0,
     {0},
     4,
     S(0, 1, 1, 1),
     VM_BAD_KEY,
     {0}},
    {VM_OP_PUSHTO, RUN_CHILD, 0, {0}, 6, S(1, 1, 2, 3, 1, 7), 0, {0}},
    {VM_OP_POPFROM,
     "PUSH 1\nNEWPAGE\nPUSH 0\nCREATE\nPOPFROM",
     0,
     {0},
     1,
     S(1),
     VM_STACK_UNDERFLOW,
     {0}},
    {VM_OP_CREATE, "PUSH 1\nNEWPAGE\nPUSH 0\nCREATE", 0, {0}, 1, S(1), 0, {0}},
    {VM_OP_CREATE, "PUSH 1\nNEWPAGE\nPUSH 9\nCREATE", 0, {0}, 2, S(0, 9), VM_OUT_OF_BOUNDS, {0}},
    {VM_OP_FORK, "FORK", 1, S(5), 2, S(5, 0), 0, {0}},
    {VM_OP_TRANSFERKEY,
     "PUSH 1\nNEWPAGE\nPUSH 0\nCREATE\nPUSH 0\nTRANSFERKEY",
     0,
     {0},
     1,
     S(0),
     0,
     {0}},
    /* a process key gives a call key (to the copy itself, into its empty slot 0) */
    {VM_OP_TRANSFERKEY, "FORK\nFORK\nPUSH 1\nTRANSFERKEY", 0, {0}, 2, S(0, 0), 0, {0}},
    {VM_OP_TRANSFERKEY,
     "FORK\nFORK\nPUSH 1\nPUSH 3\nATTENUATE\nPUSH 1\nTRANSFERKEY",
     0,
     {0},
     3,
     S(0, 1, 1),
     VM_BAD_KEY,
     {0}},
    /* the root holds no call key (proc_kcall::known_answers runs calls) */
    {VM_OP_KCALL,
     "PUSH 1\nNEWPAGE\nPUSH 5\nPUSH 0\nPUSH 10\nKCALL",
     0,
     {0},
     4,
     S(0, 5, 0, 10),
     VM_BAD_KEY,
     {0}},
    {VM_OP_ATTENUATE,
     "PUSH 1\nNEWPAGE\nPUSH 1\nATTENUATE\nPUSH 0\nKEYINFO",
     0,
     {0},
     1,
     S(VM_KEY_PAGE * 8 + VM_RIGHT_READ),
     0,
     {0}},
    {VM_OP_ATTENUATE,
     "PUSH 1\nNEWPAGE\nPUSH 1\nATTENUATE\nPUSH 5\nPUSH 0\nPUSH 0\nPWRITE",
     0,
     {0},
     3,
     S(5, 0, 0),
     VM_BAD_KEY,
     {0}},
    {VM_OP_DROPKEY,
     "PUSH 1\nNEWPAGE\nDROPKEY\nPUSH 0\nKEYINFO\nNUMKEYS",
     0,
     {0},
     2,
     S(0, 1),
     0,
     {0}},
    {VM_OP_NUMKEYS, "NUMKEYS", 0, {0}, 1, S(0), 0, {0}},
    {VM_OP_KEYINFO, "PUSH 5\nKEYINFO", 0, {0}, 1, S(0), 0, {0}},
    {VM_OP_NEWPAGE, "PUSH 3\nNEWPAGE\nPUSH 2\nPREAD", 0, {0}, 1, S(0), 0, {0}},
    {VM_OP_NEWPAGE, "PUSH 100\nNEWPAGE", 0, {0}, 1, S(100), VM_OUT_OF_MEMORY, {.mem = 50}},
    {VM_OP_PREAD, "PUSH 2\nNEWPAGE\nPUSH 5\nPREAD", 0, {0}, 2, S(0, 5), VM_OUT_OF_BOUNDS, {0}},
    {VM_OP_PWRITE,
     "PUSH 2\nNEWPAGE\nPUSH 42\nPUSH 0\nPUSH 1\nPWRITE\nPUSH 1\nPREAD",
     0,
     {0},
     1,
     S(42),
     0,
     {0}},
    /* an image of an empty child (docs/snapshot.md, "Process images"): 187 bytes */
    {VM_OP_SAVECHILD, SAVE_EMPTY("24"), 0, {0}, 1, S(187), 0, {0}},
    {VM_OP_SAVECHILD, SAVE_EMPTY("23"), 0, {0}, 2, S(1, 2), VM_OUT_OF_BOUNDS, {0}},
    {VM_OP_SAVECHILD, "PUSH 24\nNEWPAGE\nPUSH 0\nSAVECHILD", 0, {0}, 2, S(0, 0), VM_BAD_KEY, {0}},
    {VM_OP_LOADCHILD,
     SAVE_EMPTY("24") "\nPOP\nPUSH 2\nLOADCHILD\nNUMKEYS",
     0,
     {0},
     2,
     S(3, 4),
     0,
     {0}},
    {VM_OP_LOADCHILD, "PUSH 24\nNEWPAGE\nLOADCHILD", 0, {0}, 1, S(0), VM_BAD_IMAGE, {0}},
    {VM_OP_IN, "PUSH 0\nIN", 0, {0}, 1, S(0), VM_BAD_KEY, {0}},
    {VM_OP_OUT, "PUSH 1\nPUSH 0\nOUT", 0, {0}, 2, S(1, 0), VM_BAD_KEY, {0}},
};

/* ARG cases run with the argument words 7, 9 */
static const kat arg_kats[] = {
    {VM_OP_ARG, "ARG 1\nARG 0", 0, {0}, 2, S(9, 7), 0, {0}},
    {VM_OP_ARG, "ARG 2", 0, {0}, 0, {0}, VM_OUT_OF_BOUNDS, {0}},
    {VM_OP_NARGS, "NARGS", 0, {0}, 1, S(2), 0, {0}},
    /* ITEM: the argument word of the innermost loop's round; ARG 0 outside */
    {VM_OP_ITEM, "PUSH 0\nNARGS\nTIMES\nITEM\nADD\nCLOSE\nITEM", 0, {0}, 2, S(16, 7), 0, {0}},
    {VM_OP_ITEM,
     "PUSH 3\nTIMES\nPUSH 5\nTIMES\nCLOSE\nITEM\nCLOSE",
     0,
     {0},
     2,
     S(7, 9),
     VM_OUT_OF_BOUNDS,
     {0}},
    /* EACH pushes argument word i as round i starts: the sum, the rounds */
    {VM_OP_EACH, "PUSH 0\nEACH\nADD\nCLOSE", 0, {0}, 1, S(16), 0, {0}},
    {VM_OP_EACH, "EACH\nINDEX\nCLOSE", 0, {0}, 4, S(7, 0, 9, 1), 0, {0}},
    {VM_OP_EACH, "EACH\nITEM\nSUB\nCLOSE\nINDEX", 0, {0}, 3, S(0, 0, 0), 0, {0}},
    /* nested: the inner loop runs in full in each outer round */
    {VM_OP_EACH, "EACH\nEACH\nMUL\nCLOSE\nCLOSE", 0, {0}, 2, S(441, 567), 0, {0}},
    /* without its CLOSE the block runs once, to the end of the code */
    {VM_OP_EACH, "EACH\nPUSH 1", 0, {0}, 2, S(7, 1), 0, {0}},
    /* the word pushed at the CLOSE needs room: stack, memory (a 2-word frame
     * and the word), calls; a stop changes nothing */
    {VM_OP_EACH, "EACH\nCLOSE", 0, {0}, 1, S(7), VM_STACK_OVERFLOW, {.stack = 1}},
    {VM_OP_EACH, "EACH\nCLOSE", 0, {0}, 1, S(7), VM_OUT_OF_MEMORY, {.mem = 3}},
    {VM_OP_EACH, "EACH\nCLOSE", 0, {0}, 0, {0}, VM_OUT_OF_MEMORY, {.mem = 2}},
    {VM_OP_EACH, "PUSH 1\nEACH", 0, {0}, 1, S(1), VM_STACK_OVERFLOW, {.stack = 1}},
    {VM_OP_EACH, "EACH\nCLOSE", 0, {0}, 0, {0}, VM_CALL_OVERFLOW, {.calls = 1}},
    {VM_OP_EACH, "EACH\nPOP\nCLOSE\nPUSH 1", 0, {0}, 1, S(1), 0, {.underflow = VM_UNDERFLOW_SKIP}},
    /* a jump into an EACH's body from a TIMES of 5 rounds: its CLOSE acts on
     * the TIMES frame, pushes word 1, and stops at round 2, past the words */
    {VM_OP_EACH,
     "PUSH 5\nTIMES\nJMP b\nCLOSE\nEACH\nb: CLOSE",
     0,
     {0},
     1,
     S(9),
     VM_OUT_OF_BOUNDS,
     {0}},
};

static void run_kat(const kat *k, bool stepping) {
    vm_buf b = tu_asm(k->src);
    vm_machine *a = vm_machine_new();
    cr_assert(a);
    cr_assert_eq(vm_load(a, b.data, b.len), 0);
    cr_assert_eq(vm_set_limits(a, &k->lim), 0);
    vm_set_stepping(a, stepping);
    for (int i = 0; i < k->nin; i++)
        cr_assert_eq(vm_push(a, k->in[i]), 0);
    static const vm_word args[] = {7, 9};
    bool with_args = k >= arg_kats && k < arg_kats + sizeof arg_kats / sizeof *arg_kats;
    cr_assert_eq(vm_set_args(a, args, with_args ? 2 : 0), 0);
    vm_status want = k->st ? k->st : VM_HALTED;
    vm_status got = vm_run(a);
    cr_assert_eq(got, want, "%s: status %s, want %s", k->src, vm_status_name(got),
                 vm_status_name(want));
    cr_assert_eq(vm_depth(a), (uint32_t)k->nout, "%s: depth %u, want %d", k->src, vm_depth(a),
                 k->nout);
    for (int i = 0; i < k->nout; i++)
        cr_assert_eq(vm_stack(a)[i], k->out[i], "%s: stack[%d] = %ld, want %ld", k->src, i,
                     (long)vm_stack(a)[i], (long)k->out[i]);
    vm_machine_free(a);
    vm_buf_free(&b);
}

Test(vm, every_opcode_has_a_known_answer) {
    bool covered[256] = {0};
    for (size_t i = 0; i < sizeof kats / sizeof *kats; i++)
        covered[kats[i].op] = true;
    for (size_t i = 0; i < sizeof arg_kats / sizeof *arg_kats; i++)
        covered[arg_kats[i].op] = true;
#define OP(name, byte, in, out, gas, imm, doc)                                                     \
    cr_expect(covered[byte], "opcode " #name " has no known-answer case");
#include "vm/opcodes.def"
#undef OP
}

Test(vm, known_answers) {
    for (size_t i = 0; i < sizeof kats / sizeof *kats; i++) {
        run_kat(&kats[i], false);
        run_kat(&kats[i], true);
    }
    for (size_t i = 0; i < sizeof arg_kats / sizeof *arg_kats; i++) {
        run_kat(&arg_kats[i], false);
        run_kat(&arg_kats[i], true);
    }
}

Test(vm, undefined_bytes_and_truncation) {
    vm_machine *a = vm_machine_new();
    for (int op = 0; op < 256; op++) {
        if (vm_opinfo_of((uint8_t)op)->name) continue;
        uint8_t c[1] = {(uint8_t)op};
        vm_load(a, c, 1);
        cr_assert_eq(vm_run(a), VM_INVALID_OPCODE);
        cr_assert_eq(vm_ip(a), 0u);
        vm_meters m;
        vm_meters_get(a, &m);
        cr_assert_eq(m.gas, 0u);
    }
    uint8_t c[4] = {VM_OP_NOP, VM_OP_PUSH, 1, 2};
    vm_load(a, c, 4);
    cr_assert_eq(vm_run(a), VM_TRUNCATED);
    cr_assert_eq(vm_ip(a), 1u);
    vm_load(a, NULL, 0);
    cr_assert_eq(vm_run(a), VM_HALTED);
    vm_machine_free(a);
}

Test(vm, yield_resumes_after_it) {
    vm_buf b = tu_asm("PUSH 1\nYIELD\nPUSH 2\nYIELD\nADD");
    vm_machine *a = vm_machine_new();
    vm_load(a, b.data, b.len);
    cr_assert_eq(vm_run(a), VM_YIELDED);
    cr_assert_eq(vm_depth(a), 1u);
    cr_assert_eq(vm_run(a), VM_YIELDED);
    cr_assert_eq(vm_depth(a), 2u);
    cr_assert_eq(vm_run(a), VM_HALTED);
    cr_assert_eq(vm_stack(a)[0], 3);
    cr_assert_eq(vm_run(a), VM_HALTED, "a halted process stays halted");
    vm_machine_free(a);
    vm_buf_free(&b);
}

static uint64_t g(uint8_t op) {
    return vm_opinfo_of(op)->gas;
}

/* Exact gas and memory-time: memtime charges words in use before each
 * instruction times that instruction's gas. */
Test(vm, exact_meters) {
    struct {
        const char *src;
        uint64_t gas, memtime;
    } cases[] = {
        {"PUSH 2\nPUSH 3\nADD\nHALT", 2 * g(VM_OP_PUSH) + g(VM_OP_ADD) + g(VM_OP_HALT),
         0 * g(VM_OP_PUSH) + 1 * g(VM_OP_PUSH) + 2 * g(VM_OP_ADD) + 1 * g(VM_OP_HALT)},
        {"PUSH 8\nPUSH 2\nDIV", 2 * g(VM_OP_PUSH) + g(VM_OP_DIV), g(VM_OP_PUSH) + 2 * g(VM_OP_DIV)},
        /* ALLOC 16: static cost plus 16/2 words' zeroing, at 1 word in use */
        {"PUSH 16\nALLOC\nHALT", g(VM_OP_PUSH) + g(VM_OP_ALLOC) + 8 + g(VM_OP_HALT),
         1 * (g(VM_OP_ALLOC) + 8) + 17 * g(VM_OP_HALT)},
        /* a call frame is one word */
        {"CALL f\nHALT\nf: RET", g(VM_OP_CALL) + g(VM_OP_RET) + g(VM_OP_HALT), 1 * g(VM_OP_RET)},
        /* a TIMES loop frame is 2 words while the block runs */
        {"PUSH 3\nTIMES\nPUSH 1\nPOP\nCLOSE",
         g(VM_OP_PUSH) + g(VM_OP_TIMES) + 3 * (g(VM_OP_PUSH) + g(VM_OP_POP) + g(VM_OP_CLOSE)),
         1 * g(VM_OP_TIMES) + 3 * (2 * g(VM_OP_PUSH) + 3 * g(VM_OP_POP) + 2 * g(VM_OP_CLOSE))},
        /* a loop: 3 iterations of PUSH 1, SUB, DUP 0, JNZ */
        {"PUSH 3\nl: PUSH 1\nSUB\nDUP 0\nJNZ l",
         g(VM_OP_PUSH) + 3 * (g(VM_OP_PUSH) + g(VM_OP_SUB) + g(VM_OP_DUP) + g(VM_OP_JNZ)),
         3 * (1 * g(VM_OP_PUSH) + 2 * g(VM_OP_SUB) + 1 * g(VM_OP_DUP) + 2 * g(VM_OP_JNZ))},
    };
    vm_machine *a = vm_machine_new();
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        vm_buf b = tu_asm(cases[i].src);
        for (int stepping = 0; stepping < 2; stepping++) {
            vm_load(a, b.data, b.len);
            vm_set_stepping(a, stepping);
            cr_assert_eq(vm_run(a), VM_HALTED, "%s", cases[i].src);
            vm_meters m;
            vm_meters_get(a, &m);
            cr_assert_eq(m.gas, cases[i].gas, "%s: gas %lu want %lu", cases[i].src,
                         (unsigned long)m.gas, (unsigned long)cases[i].gas);
            cr_assert_eq(m.memtime, cases[i].memtime, "%s: memtime %lu want %lu", cases[i].src,
                         (unsigned long)m.memtime, (unsigned long)cases[i].memtime);
        }
        vm_buf_free(&b);
    }
    vm_machine_free(a);
}

Test(vm, out_of_gas_leaves_ip_and_state) {
    vm_buf b = tu_asm("PUSH 1\nPUSH 2\nADD\nHALT");
    vm_machine *a = vm_machine_new();
    vm_load(a, b.data, b.len);
    vm_set_limits(a, &(vm_limits){.gas = 2 * g(VM_OP_PUSH)});
    cr_assert_eq(vm_run(a), VM_OUT_OF_GAS);
    cr_assert_eq(vm_ip(a), 18u, "IP stays on the ADD that could not be paid");
    cr_assert_eq(vm_depth(a), 2u);
    vm_meters m;
    vm_meters_get(a, &m);
    cr_assert_eq(m.gas, 2 * g(VM_OP_PUSH));
    vm_set_limits(a, &(vm_limits){.gas = 1000});
    cr_assert_eq(vm_run(a), VM_HALTED);
    cr_assert_eq(vm_stack(a)[0], 3);
    vm_machine_free(a);
    vm_buf_free(&b);
}

/* ---- properties over random programs ---- */

#define PROG_CAP 512

static void run_full(vm_machine *a, const uint8_t *c, size_t n, const vm_limits *l, bool stepping,
                     tu_state *out) {
    static const vm_word args[] = {3, -2};
    vm_load(a, c, n);
    vm_set_limits(a, l);
    vm_set_stepping(a, stepping);
    vm_set_args(a, args, 2);
    vm_push(a, 3);
    vm_push(a, -2);
    vm_run(a);
    tu_capture(a, out);
}

static bool resumable(vm_status s) {
    return s == VM_OUT_OF_GAS || s == VM_OUT_OF_MEMTIME || s == VM_OUT_OF_MEMORY || s == VM_YIELDED;
}

/* Block metering gives exactly the per-instruction result. */
Test(vm, block_metering_equals_step_metering) {
    uint64_t seed = 1;
    uint8_t c[PROG_CAP];
    vm_machine *a = vm_machine_new();
    for (int i = 0; i < 20000; i++) {
        size_t n = tu_random_program(&seed, c, sizeof c);
        vm_limits l = {.gas = 1 + tu_below(&seed, 3000),
                       .mem = 4 + tu_below(&seed, 60),
                       .memtime = 1 + tu_below(&seed, 20000),
                       .stack = 1 + tu_below(&seed, 40),
                       .calls = 1 + tu_below(&seed, 8),
                       .underflow = i & 1 ? VM_UNDERFLOW_SKIP : VM_UNDERFLOW_FAULT};
        tu_state x, y;
        run_full(a, c, n, &l, false, &x);
        run_full(a, c, n, &l, true, &y);
        cr_assert(tu_same(&x, &y),
                  "program %d: block %s ip %u gas %lu mt %lu / step %s ip %u gas %lu mt %lu", i,
                  vm_status_name(x.status), x.ip, (unsigned long)x.m.gas,
                  (unsigned long)x.m.memtime, vm_status_name(y.status), y.ip,
                  (unsigned long)y.m.gas, (unsigned long)y.m.memtime);
    }
    vm_machine_free(a);
}

/* Stop at every possible out-of-gas point, refuel, resume: the result is the
 * run with ample gas. Likewise for memory-time. */
Test(vm, refuel_at_every_point_equals_one_run) {
    uint64_t seed = 7;
    uint8_t c[PROG_CAP];
    vm_machine *a = vm_machine_new();
    int checked = 0;
    for (int i = 0; i < 4000; i++) {
        size_t n = tu_random_program(&seed, c, sizeof c);
        if (tu_reads_budget(c, n)) continue;
        vm_limits big = {.gas = 600,
                         .mem = 64,
                         .stack = 48,
                         .calls = 8,
                         .underflow = i & 1 ? VM_UNDERFLOW_SKIP : VM_UNDERFLOW_FAULT};
        tu_state want;
        run_full(a, c, n, &big, false, &want);
        if (want.status == VM_YIELDED) continue;
        for (uint64_t k = 0; k <= want.m.gas; k++) {
            vm_limits l = big;
            l.gas = k ? k : 1;
            run_full(a, c, n, &l, false, &(tu_state){0});
            int guard = 0;
            while (resumable(vm_status_get(a)) && vm_status_get(a) != VM_YIELDED && guard++ < 4) {
                vm_set_limits(a, &big);
                vm_run(a);
            }
            tu_state got;
            tu_capture(a, &got);
            cr_assert(tu_same(&got, &want), "program %d, stop at gas %lu: %s vs %s", i,
                      (unsigned long)k, vm_status_name(got.status), vm_status_name(want.status));
            checked++;
        }
        /* memory-time: stop at a random point and resume */
        for (int r = 0; r < 5 && want.m.memtime > 0; r++) {
            vm_limits l = big;
            l.memtime = 1 + tu_below(&seed, (uint32_t)want.m.memtime);
            run_full(a, c, n, &l, false, &(tu_state){0});
            if (vm_status_get(a) == VM_OUT_OF_MEMTIME) {
                vm_set_limits(a, &big);
                vm_run(a);
            }
            tu_state got;
            tu_capture(a, &got);
            cr_assert(tu_same(&got, &want), "program %d memtime stop", i);
        }
    }
    cr_assert_gt(checked, 20000, "only %d stop points checked", checked);
    vm_machine_free(a);
}

/* Resume in random chunks, alternating block and step metering. */
Test(vm, chunked_refuel_equals_one_run) {
    uint64_t seed = 99;
    uint8_t c[PROG_CAP];
    vm_machine *a = vm_machine_new();
    for (int i = 0; i < 5000; i++) {
        size_t n = tu_random_program(&seed, c, sizeof c);
        if (tu_reads_budget(c, n)) continue;
        vm_limits big = {.gas = 5000,
                         .mem = 64,
                         .stack = 48,
                         .calls = 8,
                         .underflow = i & 1 ? VM_UNDERFLOW_SKIP : VM_UNDERFLOW_FAULT};
        tu_state want;
        run_full(a, c, n, &big, false, &want);
        vm_limits l = big;
        l.gas = 1 + tu_below(&seed, 50);
        run_full(a, c, n, &l, false, &(tu_state){0});
        while (vm_status_get(a) == VM_OUT_OF_GAS && l.gas < big.gas) {
            l.gas += 1 + tu_below(&seed, 50);
            if (l.gas > big.gas) l.gas = big.gas;
            vm_set_limits(a, &l);
            vm_set_stepping(a, tu_below(&seed, 2));
            vm_run(a);
        }
        tu_state got;
        tu_capture(a, &got);
        cr_assert(tu_same(&got, &want), "program %d", i);
    }
    vm_machine_free(a);
}

typedef struct {
    uint32_t mem;
    bool exceeded;
    uint64_t steps;
} watch;

static void watch_mem(void *ctx, const vm_machine *a, uint32_t pc) {
    watch *w = ctx;
    vm_meters m;
    vm_meters_get(a, &m);
    if (m.mem > w->mem) w->exceeded = true;
    w->steps++;
}

/* Random programs always end within their gas and never exceed memory. */
Test(vm, random_programs_respect_limits) {
    uint64_t seed = 3;
    uint8_t c[PROG_CAP];
    vm_machine *a = vm_machine_new();
    for (int i = 0; i < 3000; i++) {
        size_t n = tu_random_program(&seed, c, sizeof c);
        vm_limits l = {.gas = 1 + tu_below(&seed, 5000), .mem = 2 + tu_below(&seed, 100)};
        watch w = {.mem = l.mem};
        vm_load(a, c, n);
        vm_set_limits(a, &l);
        vm_set_trace(a, watch_mem, &w);
        vm_status s = vm_run(a);
        vm_set_trace(a, NULL, NULL);
        vm_meters m;
        vm_meters_get(a, &m);
        cr_assert_neq(s, VM_RUNNING);
        cr_assert_leq(m.gas, l.gas);
        cr_assert_leq(m.mem, l.mem);
        cr_assert(!w.exceeded, "program %d exceeded its memory", i);
    }
    vm_machine_free(a);
}

/* No byte string crashes the VM (run under the sanitizers in `make asan`). */
Test(vm, random_bytes_never_crash) {
    uint64_t seed = 12345;
    uint8_t c[256];
    vm_machine *a = vm_machine_new();
    for (int i = 0; i < 100000; i++) {
        size_t n = tu_below(&seed, sizeof c);
        for (size_t j = 0; j < n; j++)
            c[j] = (uint8_t)tu_next(&seed);
        if (i & 1) n = tu_random_program(&seed, c, sizeof c);
        cr_assert_eq(vm_load(a, c, n), 0);
        vm_set_limits(a, &(vm_limits){.gas = 2000, .mem = 200});
        for (int k = 0; k < (int)tu_below(&seed, 4); k++)
            vm_push(a, (vm_word)tu_next(&seed));
        vm_status s = vm_run(a);
        cr_assert(s > VM_RUNNING && s < VM_NSTATUS);
        vm_meters m;
        vm_meters_get(a, &m);
        cr_assert_leq(m.gas, 2000u);
        cr_assert_leq(m.mem, 200u);
    }
    vm_machine_free(a);
}

Test(vm, limits_are_clamped_and_defaulted) {
    vm_machine *a = vm_machine_new();
    vm_limits l;
    vm_get_limits(a, &l);
    cr_assert_eq(l.gas, VM_DEFAULT_GAS);
    cr_assert_eq(l.mem, VM_DEFAULT_MEM);
    cr_assert_eq(l.stack, VM_DEFAULT_STACK);
    vm_set_limits(a, &(vm_limits){.gas = UINT64_MAX, .mem = UINT32_MAX});
    vm_get_limits(a, &l);
    cr_assert_eq(l.gas, VM_MAX_GAS);
    cr_assert_eq(l.mem, VM_MAX_MEM);
    vm_machine_free(a);
}

/* RAND (docs/isa.md, "Random numbers"): the root's stream is the seed's, and
 * vm_reset starts it again; the n-th child a process makes gets the stream
 * of its place, so two children, their parent and another seed all differ,
 * and a second machine repeats every word. */
#define FORK_RAND  "FORK\nDUP 0\nPUSH -1\nEQ\nIF\nPOP\nRAND\nHALT\nCLOSE\n"
#define RUN_KEY(k) "DUP " #k "\nPUSH 1000\nPUSH 1000\nPUSH -1\nRECURSE 0\nPOP\nPOP\nPOP\nPOP\n"
static void rand_tree(uint64_t seed, vm_word out[3]) {
    vm_buf b = tu_asm(FORK_RAND FORK_RAND RUN_KEY(1) RUN_KEY(0) "DUP 1\nPOPFROM\nDUP 1\nPOPFROM\n"
                                                                "RAND\n");
    vm_machine *a = vm_machine_new();
    vm_set_seed(a, seed);
    cr_assert_eq(vm_load(a, b.data, b.len), 0);
    cr_assert_eq(vm_run(a), VM_HALTED);
    cr_assert_eq(vm_depth(a), 5);
    memcpy(out, vm_stack(a) + 2, 3 * sizeof(vm_word));
    vm_machine_free(a);
    vm_buf_free(&b);
}

static vm_word first_rand(uint64_t place) {
    base_rng r;
    vm_place_stream(&r, place);
    return (vm_word)base_rng_next64(&r);
}

Test(vm, rand_streams_follow_the_tree) {
    vm_word x[3], y[3], z[3];
    rand_tree(0, x);
    rand_tree(0, y);
    rand_tree(42, z);
    cr_assert(!memcmp(x, y, sizeof x), "the same seed repeats every word");
    cr_assert_eq(x[0], first_rand(vm_place_child(0, 0)), "the first child: place (0, 0)");
    cr_assert_eq(x[1], first_rand(vm_place_child(0, 1)), "the second child: place (0, 1)");
    cr_assert_eq(x[2], 3371342946604410181, "the root: the seed's stream");
    cr_assert_eq(z[2], first_rand(42));
    cr_assert_eq(z[0], first_rand(vm_place_child(42, 0)));
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            cr_assert(i == j || x[i] != x[j], "streams %d and %d", i, j);
    cr_assert(x[0] != z[0] && x[2] != z[2]);
}

Test(vm, rand_restarts_at_reset) {
    vm_buf b = tu_asm("RAND");
    vm_machine *a = vm_machine_new();
    vm_set_seed(a, 7);
    cr_assert_eq(vm_load(a, b.data, b.len), 0);
    cr_assert_eq(vm_run(a), VM_HALTED);
    vm_word w = vm_stack(a)[0];
    vm_reset(a);
    cr_assert_eq(vm_run(a), VM_HALTED);
    cr_assert_eq(vm_stack(a)[0], w);
    cr_assert_eq(vm_seed(a), 7);
    cr_assert_eq(w, first_rand(7));
    vm_machine_free(a);
    vm_buf_free(&b);
}

/* vm_reads_seed: known answers, then the property the evaluator relies on
 * when it skips the seed: random code it calls seed-blind runs alike under
 * two seeds, and code that does read it shows it on some program. */
Test(vm, reads_seed_is_true_for_every_code_that_depends_on_the_seed) {
    const struct {
        const char *src;
        bool reads;
    } known[] = {{"PUSH 1\nPUSH 2\nADD", false},
                 {"RAND", true},
                 {"PUSH 23\nPOP", false}, /* 0x17 (RAND) as an immediate byte */
                 {FORK_RAND, true},
                 {"PUSH 0\nIN", true}};
    vm_machine *a = vm_machine_new(), *b = vm_machine_new();
    for (size_t i = 0; i < sizeof known / sizeof *known; i++) {
        vm_buf c = tu_asm(known[i].src);
        cr_assert_eq(vm_load(a, c.data, c.len), 0);
        cr_assert_eq(vm_reads_seed(a), known[i].reads, "%s", known[i].src);
        vm_buf_free(&c);
    }
    uint64_t seed = 11;
    uint8_t c[PROG_CAP];
    vm_limits l = {.gas = 3000, .mem = 64, .stack = 40, .calls = 8};
    int blind = 0, differ = 0;
    for (int i = 0; i < 20000; i++) {
        size_t n = tu_random_program(&seed, c, sizeof c);
        tu_state x, y;
        vm_set_seed(a, 1);
        vm_set_seed(b, 2);
        run_full(a, c, n, &l, false, &x);
        run_full(b, c, n, &l, false, &y);
        cr_assert_eq(vm_reads_seed(a), vm_reads_seed(b));
        if (!vm_reads_seed(a)) {
            blind++;
            cr_assert(tu_same(&x, &y), "program %d reads the seed: %s vs %s", i,
                      vm_status_name(x.status), vm_status_name(y.status));
        } else if (!tu_same(&x, &y)) {
            differ++;
        }
    }
    cr_assert(blind > 1000 && differ > 10, "blind %d, differ %d", blind, differ);
    vm_machine_free(a);
    vm_machine_free(b);
}

/* The RAND stream is derived on first use: a snapshot taken before any RAND
 * still holds the seed's stream (a loader refuses an even increment), and the
 * restored process draws the words the original draws. */
Test(vm, rand_stream_in_a_snapshot_before_the_first_rand) {
    vm_buf b = tu_asm("YIELD\nRAND\nRAND"), img = {0};
    vm_machine *a = vm_machine_new(), *c = vm_machine_new();
    char err[256];
    vm_set_seed(a, 9);
    cr_assert_eq(vm_load(a, b.data, b.len), 0);
    cr_assert_eq(vm_run(a), VM_YIELDED);
    cr_assert_eq(vm_snapshot_save(a, &img), 0);
    cr_assert_eq(vm_snapshot_load(c, img.data, img.len, err, sizeof err), 0, "%s", err);
    cr_assert_eq(vm_run(a), VM_HALTED);
    cr_assert_eq(vm_run(c), VM_HALTED);
    cr_assert_eq(vm_depth(c), 2);
    cr_assert_eq(vm_stack(a)[0], first_rand(9));
    cr_assert(!memcmp(vm_stack(a), vm_stack(c), 2 * sizeof(vm_word)));
    vm_machine_free(a);
    vm_machine_free(c);
    vm_buf_free(&b);
    vm_buf_free(&img);
}

/* ---- batched runs (vm_run_cases) ---- */

/* Case by case, as fit_eval_detail runs them without batching. */
static vm_status run_case(vm_machine *a, const uint8_t *c, size_t n, const vm_word *in,
                          uint32_t nin) {
    vm_load(a, c, n);
    vm_reset(a);
    if (vm_set_args(a, in, nin)) return VM_OUT_OF_MEMORY;
    for (uint32_t k = 0; k < nin; k++)
        if (vm_push(a, in[k])) return VM_STACK_OVERFLOW;
    return vm_run(a);
}

/* vm_run_cases gives every case exactly what vm_run gives it: status,
 * meters, depth and the top words, under random limits and both operand
 * shortage rules; and it batches all straight-line code within its limits. */
Test(vm, run_cases_equals_vm_run) {
    uint64_t seed = 17;
    uint8_t c[PROG_CAP];
    vm_machine *a = vm_machine_new(), *b = vm_machine_new();
    enum { MAXN = 150, MAXIN = 4, MAXOUT = 3 };
    static vm_word in[MAXN * MAXIN], out[MAXN * MAXOUT];
    int batched = 0, halted = 0, short_stack = 0;
    for (int i = 0; i < 6000; i++) {
        uint32_t nin = tu_below(&seed, MAXIN + 1), n = tu_below(&seed, MAXN + 1),
                 nout = tu_below(&seed, MAXOUT + 1);
        size_t len = tu_straight_program(&seed, c, sizeof c, nin);
        bool tight = tu_below(&seed, 4) == 0;
        vm_limits l = {.gas = tight ? 1 + tu_below(&seed, 60) : 100000,
                       .mem = tight ? 1 + tu_below(&seed, 12) : 4096,
                       .memtime = tight ? 1 + tu_below(&seed, 300) : 0,
                       .stack = tight ? 1 + tu_below(&seed, 12) : 256,
                       .underflow = i & 1 ? VM_UNDERFLOW_SKIP : VM_UNDERFLOW_FAULT};
        for (uint32_t k = 0; k < n * nin; k++)
            in[k] = tu_below(&seed, 3) ? (vm_word)tu_below(&seed, 7) - 3 : (vm_word)tu_next(&seed);
        vm_set_limits(a, &l);
        vm_set_limits(b, &l);
        vm_cases_result r;
        int rc = vm_run_cases(b, c, len, in, nin, n, nout, out, &r);
        cr_assert(rc == 0 || rc == 1, "program %d: %d", i, rc);
        if (rc == 1) continue;
        batched++;
        halted += r.status == VM_HALTED;
        short_stack += r.status == VM_STACK_UNDERFLOW;
        for (uint32_t j = 0; j < n; j++) {
            vm_status st = run_case(a, c, len, in + (size_t)j * nin, nin);
            vm_meters m;
            vm_meters_get(a, &m);
            cr_assert_eq(st, r.status, "program %d case %u: %s, batched %s", i, j,
                         vm_status_name(st), vm_status_name(r.status));
            cr_assert(m.gas == r.m.gas && m.memtime == r.m.memtime && m.mem == r.m.mem,
                      "program %d case %u: gas %lu mt %lu mem %u, batched %lu %lu %u", i, j,
                      (unsigned long)m.gas, (unsigned long)m.memtime, m.mem, (unsigned long)r.m.gas,
                      (unsigned long)r.m.memtime, r.m.mem);
            uint32_t depth = vm_depth(a);
            cr_assert_eq(depth, r.depth, "program %d case %u", i, j);
            if (st != VM_HALTED) continue;
            const vm_word *stk = vm_stack(a);
            for (uint32_t k = 0; k < nout; k++) {
                vm_word want = depth + k >= nout ? stk[depth + k - nout] : 0;
                cr_assert_eq(out[(size_t)j * nout + k], want, "program %d case %u word %u", i, j,
                             k);
            }
        }
    }
    /* the batched share of each outcome: most of the code, both rules */
    cr_assert_gt(batched, 3000, "only %d of 6000 batched", batched);
    cr_assert_gt(halted, 1500, "%d", halted);
    cr_assert_gt(short_stack, 100, "%d", short_stack);
    vm_machine_free(a);
    vm_machine_free(b);
}

/* Code it cannot batch is left to vm_run: a jump, a heap instruction, an
 * argument out of range, a limit that would stop it, a traced machine. */
Test(vm, run_cases_declines_what_it_cannot_batch) {
    static const char *srcs[] = {"ARG 0\nJMP L\nL: HALT",
                                 "PUSH 1\nALLOC",
                                 "ARG 1",
                                 "PUSH 1\nPUSH 2\nPUSH 3\nPUSH 4",
                                 "RAND",
                                 "GAS",
                                 "PUSH 1\nIF\nCLOSE"};
    vm_machine *a = vm_machine_new();
    vm_limits l = {.stack = 3};
    vm_set_limits(a, &l);
    vm_word in[1] = {5}, out[1];
    vm_cases_result r;
    for (size_t i = 0; i < sizeof srcs / sizeof *srcs; i++) {
        vm_buf b = tu_asm(srcs[i]);
        cr_assert_eq(vm_run_cases(a, b.data, b.len, in, 1, 1, 1, out, &r), 1, "%s", srcs[i]);
        vm_buf_free(&b);
    }
    vm_buf b = tu_asm("ARG 0\nDUP 0\nMUL");
    cr_assert_eq(vm_run_cases(a, b.data, b.len, in, 1, 1, 1, out, &r), 0);
    cr_assert(r.status == VM_HALTED && out[0] == 25 && r.m.gas == 3 && r.depth == 2);
    vm_set_trace(a, watch_mem, &(watch){0});
    cr_assert_eq(vm_run_cases(a, b.data, b.len, in, 1, 1, 1, out, &r), 1);
    vm_buf_free(&b);
    vm_machine_free(a);
}
