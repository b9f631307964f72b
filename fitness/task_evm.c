/* EVM tasks (stub until the EVM evaluation lands). */
#include "fitness/fit_impl.h"

#include <stdlib.h>

struct fit_evm_ctx {
    int unused;
};

fit_evm_ctx *fit_evm_ctx_new(const fit_task *t, const vm_limits *limits) {
    return calloc(1, sizeof(fit_evm_ctx));
}
void fit_evm_ctx_free(fit_evm_ctx *c) {
    free(c);
}
int fit_evm_eval(fit_evm_ctx *c, const fit_task *t, const uint8_t *code, size_t len,
                 const fit_cases *cs, fit_result *r) {
    return -1;
}
int fit_make_evm(const char *name, const fit_task_opts *o, const fit_rng *rng, fit_task *t,
                 char *err, size_t errcap) {
    return 1;
}
int fit_evm_equivalent(const fit_task *t, const uint8_t *code, size_t len, const fit_rng *rng,
                       uint64_t *cex) {
    return -1;
}
int64_t fit_evm_static_gas(const uint8_t *code, size_t len) {
    return -1;
}
