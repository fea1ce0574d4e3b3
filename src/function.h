/* function.h - functions, built-in functions and methods, bound methods, cells and code
 * objects (function.c). Their layouts are in object.h.
 *
 * Conventions with the compiler (compiler.c):
 * - A code object's arrays are allocated with asy_mem_alloc and owned by it; its finalize
 *   frees them with the sizes in the fields: code and locs ncode elements, consts nconsts,
 *   names nnames, varnames nlocals, cellnames and cell2arg ncells, freenames nfree.
 * - Docstring: when a function body starts with a string literal, the compiler sets
 *   ASY_CODE_DOCSTRING in cflags and puts that string at consts[0]; function.c reads
 *   __doc__ from there (None otherwise), as CPython reads co_consts[0].
 * - Parameter slots (varnames): positional (argcount, the first posonlycount of them
 *   positional-only), then keyword-only (kwonlycount), then *args if ASY_CODE_VARARGS,
 *   then **kwargs if ASY_CODE_VARKW; other locals after them.
 */
#ifndef ASY_FUNCTION_H
#define ASY_FUNCTION_H

#include "vm.h"

/* A new function of `code` in `globals` (MAKE_FUNCTION): name and qualname from the code,
 * __module__ from globals["__name__"], __doc__ by the docstring convention above. */
AsyFunction *asy_function_new(AsyVM *vm, AsyCode *code, AsyDict *globals);
/* A zeroed code object for the compiler to fill. */
AsyCode *asy_code_new(AsyVM *vm);
/* Call a built-in function or method: prepends the bound self, checks an unbound method
 * descriptor's receiver and ASY_METH_NOKW, then runs def->fn. */
AsyValue asy_native_call(AsyVM *vm, AsyNative *n, int argc, AsyValue *argv, AsyDict *kw);
/* The parts of asy_function_init that need str and dict (called by asy_vm_init_runtime). */
void asy_function_init_late(AsyVM *vm);

static inline bool asy_is_function(AsyVM *vm, AsyValue v) {
    return ASY_IS_OBJ(v) && ASY_AS_OBJ(v)->type == ASY_TYPE(vm, function);
}
static inline bool asy_is_native(AsyVM *vm, AsyValue v) {
    return ASY_IS_OBJ(v) && ASY_AS_OBJ(v)->type == ASY_TYPE(vm, builtin_function_or_method);
}
static inline bool asy_is_bound_method(AsyVM *vm, AsyValue v) {
    return ASY_IS_OBJ(v) && ASY_AS_OBJ(v)->type == ASY_TYPE(vm, method);
}

#endif
