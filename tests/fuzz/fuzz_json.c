/* libFuzzer harness: json.loads on arbitrary bytes, and dumps of whatever it accepted. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    AsyVM *vm = fuzz_get_vm();
    static AsyCode *code;
    static AsyDict *globals;
    if (!code) {
        code = fuzz_compile_once(vm, "import json\n"
                                     "try:\n"
                                     "    v = json.loads(doc)\n"
                                     "    json.loads(json.dumps(v))\n"
                                     "    json.dumps(v, indent=2, sort_keys=False)\n"
                                     "except (ValueError, RecursionError, TypeError):\n"
                                     "    pass\n");
        globals = asy_dict_new(vm);
        asy_dict_set_cstr(vm, vm->modules, "__fuzz_globals__", ASY_OBJ(globals));
    }
    asy_dict_set_cstr(vm, globals, "doc", ASY_OBJ(asy_bytes_new(vm, data, size)));
    AsyValue r = asy_vm_run_code(vm, code, globals);
    if (ASY_IS_ERR(r)) abort(); /* everything expected is caught above */
    fuzz_after(vm);
    return 0;
}
