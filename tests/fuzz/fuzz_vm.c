/* libFuzzer harness: compile and run arbitrary programs under a step budget, so loops end
 * with RuntimeError instead of hanging. Whatever a program does, asy must end it with a
 * result or an exception: never a crash, a sanitizer report or a leak. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    AsyVM *vm = fuzz_get_vm();
    asy_vm_set_step_budget(vm, 20000);
    AsyModule *m = asy_vm_run_source(vm, (const char *)data, size, "<fuzz>", "__fuzz__");
    if (!m && !vm->exc) abort();
    asy_vm_set_step_budget(vm, 0);
    fuzz_after(vm);
    return 0;
}
