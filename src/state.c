/* state.c - the life of an interpreter: asy_vm_new builds every built-in type in
 * dependency order, asy_vm_run_source compiles and runs a module, asy_vm_free releases
 * everything.
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "dynlib.h"
#include "evmem.h"
#include "fiber.h"
#include "function.h"
#include "vm.h"

static const char *const name_texts[] = {
#define ASY_X_TEXT(n) #n,
    ASY_NAMES(ASY_X_TEXT)
#undef ASY_X_TEXT
};

static void intern_names(AsyVM *vm) {
    for (int i = 0; i < ASY_S_COUNT; i++) vm->names[i] = asy_str_intern_cstr(vm, name_texts[i]);
}

/* Types made before str existed get their names now. */
static void fix_type_names(AsyVM *vm) {
    AsyStr *builtins = asy_str_intern_cstr(vm, "builtins");
    for (int i = 0; i < ASY_TYPE_COUNT; i++) {
        AsyType *t = vm->types[i];
        if (!t) continue;
        if (!t->name_str) t->name_str = asy_str_intern_cstr(vm, t->name);
        if (!t->qualname) t->qualname = t->name_str;
        if (!t->module) t->module = builtins;
    }
    for (int i = 0; i < ASY_EXC_COUNT; i++) {
        AsyType *t = vm->exc_types[i];
        if (!t->name_str) t->name_str = asy_str_intern_cstr(vm, t->name);
        if (!t->qualname) t->qualname = t->name_str;
        if (!t->module) t->module = builtins;
    }
}

AsyVM *asy_vm_new(void) {
    asy_evmem_install(); /* before anything calls libevent */
    AsyVM *vm = calloc(1, sizeof *vm);
    if (!vm) return NULL;
    vm->next_gc = ASY_GC_INITIAL_THRESHOLD;
    vm->max_alloc = ASY_MAX_ALLOC;
    vm->recursion_limit = ASY_DEFAULT_RECURSION_LIMIT;
    vm->out = stdout;
    vm->err = stderr;
    vm->sys_argv = ASY_UNDEF;
    vm->gc_disabled++; /* half-built types must not be collected */
    asy_object_init_types(vm);
    asy_function_init(vm);
    asy_str_init(vm);
    asy_dict_init(vm);
    intern_names(vm);
    asy_object_init_methods(vm);
    asy_tuple_init(vm);
    asy_list_init(vm);
    asy_int_init(vm);
    asy_float_init(vm);
    asy_bytes_init(vm);
    asy_set_init(vm);
    asy_range_init(vm);
    asy_iterobjects_init(vm);
    asy_traceback_init(vm);
    asy_module_init(vm);
    asy_exception_init(vm);
    asy_vm_init_runtime(vm);
    asy_builtins_init(vm);
    asy_exception_register_builtins(vm, vm->builtins->dict);
    fix_type_names(vm);
    vm->gc_disabled--;
    return vm;
}

void asy_vm_free(AsyVM *vm) {
    if (!vm) return;
    asy_unawaited_exit(vm);
    if (vm->loop) asy_loop_free(vm);
    asy_gc_free_all(vm);
    asy_fiber_free_main(vm);
    asy_dynlib_free(vm); /* after the objects: an HTTP client frees its SSL_CTX through it */
    free(vm->interned.slots);
    asy_unawaited_free(vm);
    asy_gensite_free(vm);
    free(vm);
}

void asy_vm_exit(AsyVM *vm) {
    if (!vm) return;
#if !ASY_ASAN && !ASY_GC_STRESS
    const char *full = getenv("ASY_FULL_TEARDOWN");
    if (!full || !*full) {
        asy_unawaited_exit(vm);
        if (vm->loop) asy_loop_free(vm);
        asy_gc_exit(vm);
        return;
    }
#endif
    asy_vm_free(vm);
}

/* A module body with top-level `await` (asy's extension; the compiler flags it as a
 * coroutine) runs as the main task of an implicit asyncio.run; any other runs directly. */
static AsyValue run_module_code(AsyVM *vm, AsyCode *code, AsyDict *globals) {
    if (!(code->cflags & ASY_CODE_COROUTINE)) return asy_vm_run_code(vm, code, globals);
    AsyFunction *fn = asy_function_new(vm, code, globals);
    if (!fn) return ASY_ERR;
    asy_root_push(vm, ASY_OBJ(fn));
    AsyValue coro = asy_call(vm, ASY_OBJ(fn), 0, NULL, NULL);
    AsyValue r = ASY_IS_ERR(coro) ? coro : asy_asyncio_run_main(vm, coro);
    asy_root_pop(vm, 1);
    return r;
}

AsyValue asy_vm_exec(AsyVM *vm, const char *src, size_t len, const char *filename, AsyDict *ns) {
    AsyCode *code = asy_compile(vm, src, len, filename, ASY_PARSE_MODULE);
    if (!code) return ASY_ERR;
    asy_root_push(vm, ASY_OBJ(code));
    AsyValue r = asy_vm_run_code(vm, code, ns);
    asy_root_pop(vm, 1);
    return r;
}

AsyValue asy_vm_define(AsyVM *vm, const char *src, size_t len, const char *filename,
                       const char *name) {
    AsyDict *ns = asy_dict_new(vm);
    asy_root_push(vm, ASY_OBJ(ns));
    AsyValue r = asy_vm_exec(vm, src, len, filename, ns);
    if (!ASY_IS_ERR(r)) r = asy_dict_get_cstr(vm, ns, name);
    asy_root_pop(vm, 1);
    return r;
}

AsyModule *asy_vm_run_source(AsyVM *vm, const char *src, size_t len, const char *filename,
                             const char *modname) {
    AsyModule *m = asy_module_new(vm, modname);
    asy_dict_set_str(vm, m->dict, ASY_S(vm, __file__), ASY_OBJ(asy_str_from_cstr(vm, filename)));
    asy_dict_set_str(vm, m->dict, ASY_S(vm, __builtins__), ASY_OBJ(vm->builtins));
    asy_module_register(vm, m);
    if (strcmp(modname, "__main__") == 0) vm->main_module = m;
    asy_root_push(vm, ASY_OBJ(m));
    AsyCode *code = asy_compile(vm, src, len, filename, ASY_PARSE_MODULE);
    AsyValue r = ASY_ERR;
    if (code) {
        asy_root_push(vm, ASY_OBJ(code));
        r = run_module_code(vm, code, m->dict);
        asy_root_pop(vm, 1);
    }
    asy_root_pop(vm, 1);
    return ASY_IS_ERR(r) ? NULL : m;
}
