/* vm_internal.h - what the dispatch loop (vm.c) shares with its helpers: call setup and
 * argument binding (vm_call.c), and the slow paths of individual opcodes (vm_ops.c).
 * Private to those three files. */
#ifndef ASY_VM_INTERNAL_H
#define ASY_VM_INTERNAL_H

#include "fiber.h"
#include "function.h"
#include "generator.h"
#include "opcodes.h"

static inline AsyType *type_of(AsyVM *vm, AsyValue v) {
    return ASY_IS_OBJ(v) ? ASY_AS_OBJ(v)->type : asy_type_of(vm, v);
}

static inline bool is_type(AsyVM *vm, AsyValue v, AsyTypeId id) {
    return ASY_IS_OBJ(v) && ASY_AS_OBJ(v)->type == vm->types[id];
}

static inline AsyStr *as_str(AsyValue v) { return (AsyStr *)ASY_AS_OBJ(v); }

/* Whether a method of type t found under name may be cached by (type, type epoch): a
 * built-in type (a class's methods can be shadowed per instance: it has a __dict__) and
 * an interned name (the caches compare names by identity). */
static inline bool method_cacheable(const AsyType *t, const AsyStr *name) {
    return !(t->tflags & ASY_TYPE_HEAP) && !t->dict_offset &&
           (name->hdr.flags & ASY_STR_INTERNED);
}

/* Keyword arguments come either as a names tuple with a values array (CALL_KW) or as a
 * dict (CALL_EX, asy_call). */
typedef struct {
    AsyTuple *names;
    const AsyValue *values;
    AsyDict *dict;
    int64_t pos;           /* iteration state over dict                                */
} KwArgs;

/* Arguments up to this many are copied into a C array rather than the heap. */
#define SMALL_ARGS 16

/* ---- vm_call.c ---- */
typedef enum { CALL_ERROR = -1, CALL_VALUE = 0, CALL_FRAME = 1 } CallResult;
/* Make stack[0 .. top) exist; false with MemoryError pending (moves the stack). */
bool asy_vm_ensure_stack(AsyVM *vm, AsyFiber *fb, int64_t top);
/* Set up a call of fn with its frame at stack[base]: positional arguments are at
 * stack[args_at ..] (args_at >= 0, possibly == base: bound in place) or in ext (args_at
 * < 0), keyword ones in kw (their values may be on the stack too: kw_at >= 0). The
 * result goes to stack[ret_sp]. Pushes a frame (CALL_FRAME), or makes a generator
 * (CALL_VALUE with *out). flags: the frame's kind; aux: an INIT frame's instance, a CLASS
 * frame's BUILD_CLASS arg (an int), else UNDEF. */
CallResult asy_vm_call_function(AsyVM *vm, AsyFiber *fb, AsyFunction *fn, int32_t ret_sp,
                                int32_t base, int32_t args_at, const AsyValue *ext, int npos,
                                KwArgs kw, int32_t kw_at, uint16_t flags, AsyValue aux,
                                AsyValue *out);
/* CALL/CALL_KW/CALL_METHOD: the callable is stack[fs], its argc arguments (the last
 * len(kwnames) of them keyword values) start at stack[as]; stack[as-1] is scratch. */
CallResult asy_vm_call_setup(AsyVM *vm, AsyFiber *fb, int32_t fs, int32_t as, int argc,
                             AsyTuple *kwnames, AsyValue *out);
/* CALL_EX: f(*args, **kwargs) with args a tuple and kwargs a dict (or NULL). */
CallResult asy_vm_call_ex_setup(AsyVM *vm, AsyFiber *fb, int32_t fs, AsyTuple *args,
                                AsyDict *kwargs, AsyValue *out);

/* ---- vm_ops.c ---- */
AsyStr *asy_vm_func_str(AsyVM *vm, AsyValue f);
/* The method `name` of obj (whose type is t) for LOAD_METHOD: UNDEF when the attribute is
 * not a plain method found on the type (then LOAD_METHOD takes the getattr path). */
AsyValue asy_vm_lookup_method(AsyVM *vm, AsyType *t, AsyValue obj, AsyStr *name);
AsyValue asy_vm_lookup_special(AsyVM *vm, AsyValue obj, AsyStr *name);
/* BEFORE_WITH / BEFORE_ASYNC_WITH: look up __(a)enter__ and __(a)exit__ on mgr, call the
 * enter method and return its result, with the bound exit method in *exit. */
AsyValue asy_vm_enter_context(AsyVM *vm, AsyValue mgr, bool is_async, AsyValue *exit);
bool asy_vm_is_exc_class(AsyVM *vm, AsyValue v);
int asy_vm_exc_match(AsyVM *vm, AsyValue exc, AsyValue type);
bool asy_vm_apply_cause(AsyVM *vm, AsyValue cause);

/* ---- excgroup.c: the steps of `except*` ---- */
/* CHECK_EG_MATCH: the part of exc that type (a clause's classes) takes, in *match, and the
 * part left, in *rest (None for none; both None when exc does not match at all). */
int asy_excgroup_match(AsyVM *vm, AsyValue exc, AsyValue type, AsyValue *match,
                       AsyValue *rest);
/* PREP_RERAISE_STAR: the exception that leaves an except* statement, None if none. */
AsyValue asy_excgroup_prep_reraise(AsyVM *vm, AsyValue orig, AsyList *excs);
bool asy_vm_unpack(AsyVM *vm, AsyValue seq, int before, int after, bool star, AsyValue *dst);
bool asy_vm_dict_update(AsyVM *vm, AsyDict *d, AsyValue m, bool merge, AsyValue f);
AsyValue asy_vm_get_awaitable(AsyVM *vm, AsyValue v);
AsyAwaitFn asy_vm_await_slot(AsyType *t);

#endif
