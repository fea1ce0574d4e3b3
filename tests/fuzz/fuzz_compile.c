/* libFuzzer harness: the lexer, parser, scope pass and compiler on arbitrary bytes. Any
 * input must give a code object or a SyntaxError, never a crash or a leak. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    AsyVM *vm = fuzz_get_vm();
    AsyCode *code = asy_compile(vm, (const char *)data, size, "<fuzz>", ASY_PARSE_MODULE);
    if (!code && !vm->exc) abort(); /* failure must come with an exception */
    fuzz_after(vm);
    return 0;
}
