/* libFuzzer harness: re on arbitrary patterns and subjects (the input's first line is the
 * pattern, the rest the subject, each byte one code point). A bad pattern is re.error; a
 * catastrophic one must end within PCRE2's limits, never hang or crash. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    AsyVM *vm = fuzz_get_vm();
    static AsyCode *code;
    static AsyDict *globals;
    if (!code) {
        code = fuzz_compile_once(vm, "import re\n"
                                     "try:\n"
                                     "    r = re.compile(p)\n"
                                     "    r.search(s)\n"
                                     "    r.findall(s)\n"
                                     "    r.sub('x', s)\n"
                                     "    r.split(s, 3)\n"
                                     "    [m.span() for m in r.finditer(s)]\n"
                                     "except (re.error, RecursionError, IndexError, OverflowError):\n"
                                     "    pass\n");
        globals = asy_dict_new(vm);
        asy_dict_set_cstr(vm, vm->modules, "__fuzz_globals__", ASY_OBJ(globals));
    }
    const uint8_t *nl = memchr(data, '\n', size);
    size_t plen = nl ? (size_t)(nl - data) : size;
    asy_dict_set_cstr(vm, globals, "p", fuzz_latin1_str(vm, data, plen));
    asy_dict_set_cstr(vm, globals, "s", nl ? fuzz_latin1_str(vm, nl + 1, size - plen - 1)
                                           : ASY_OBJ(vm->empty_str));
    AsyValue r = asy_vm_run_code(vm, code, globals);
    if (ASY_IS_ERR(r)) abort();
    fuzz_after(vm);
    return 0;
}
