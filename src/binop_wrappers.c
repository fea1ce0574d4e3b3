/* binop_wrappers.c - the operator dunders of built-in containers as methods.
 *
 * `str.__add__`, `[].__iadd__`, `{1}.__or__`... CPython gives a built-in type one slot
 * wrapper per operator slot it fills; asy's types have a single `binop` slot for every
 * operator, so which dunders a type has is listed here, as CPython 3.11's dir() shows them.
 * Each wrapper calls the slot of the type that defines it (a subclass instance gets its
 * built-in base's behaviour, which is what super().__add__(x) means): the forward and
 * in-place forms with (self, other), the reflected ones with (other, self). Like CPython's
 * wrappers they return NotImplemented where the slot does not apply.
 * (int, float and bool define their arithmetic dunders in their own method tables.)
 */
#include "common.h"

#include <string.h>

#include "vm.h"

/* One wrapper per (operator, form). ORD is the operator's number; FORM: 0 forward,
 * 1 reflected, 2 in-place. */
#define BINOP_WRAPPERS(X)                                                                          \
    X(add, ADD, 0, "Return self+value.")                                                           \
    X(mul, MUL, 0, "Return self*value.")                                                           \
    X(rmul, MUL, 1, "Return value*self.")                                                          \
    X(mod, MOD, 0, "Return self%value.")                                                           \
    X(rmod, MOD, 1, "Return value%self.")                                                          \
    X(iadd, ADD, 2, "Implement self+=value.")                                                      \
    X(imul, MUL, 2, "Implement self*=value.")                                                      \
    X(and, AND, 0, "Return self&value.")                                                           \
    X(rand, AND, 1, "Return value&self.")                                                          \
    X(or, OR, 0, "Return self|value.")                                                             \
    X(ror, OR, 1, "Return value|self.")                                                            \
    X(sub, SUB, 0, "Return self-value.")                                                           \
    X(rsub, SUB, 1, "Return value-self.")                                                          \
    X(xor, XOR, 0, "Return self^value.")                                                           \
    X(rxor, XOR, 1, "Return value^self.")                                                          \
    X(iand, AND, 2, "Return self&=value.")                                                         \
    X(ior, OR, 2, "Return self|=value.")                                                           \
    X(isub, SUB, 2, "Return self-=value.")                                                         \
    X(ixor, XOR, 2, "Return self^=value.")

enum {
#define BW_ENUM(name, OP, form, doc) BW_##name,
    BINOP_WRAPPERS(BW_ENUM)
#undef BW_ENUM
    BW_COUNT
};

static AsyValue bw_call(AsyVM *vm, int argc, AsyValue *argv, AsyBinOp op, int form) {
    if (argc - 1 != 1)
        return asy_raise(vm, ASY_EXC_TypeError, "expected 1 argument, got %d", argc - 1);
    AsyType *impl = asy_type_builtin_base(asy_type_of(vm, argv[0]));
    /* a sequence's repeat slot takes any index (CPython's sq_repeat wrapper): its words */
    if (op == ASY_BIN_MUL &&
        ASY_IS_UNDEF(asy_type_lookup(asy_type_of(vm, argv[1]), ASY_S(vm, __index__))))
        return asy_raise(vm, ASY_EXC_TypeError, "'%s' object cannot be interpreted as an integer",
                         asy_type_name(vm, argv[1]));
    if (form == 1) return impl->binop(vm, argv[1], argv[0], op);
    return impl->binop(vm, argv[0], argv[1], form == 2 ? (AsyBinOp)(op + ASY_BIN_INPLACE) : op);
}

#define BW_FN(name, OP, form, doc)                                                                 \
    static AsyValue bw_##name(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {                  \
        ASY_UNUSED(kw);                                                                            \
        return bw_call(vm, argc, argv, ASY_BIN_##OP, form);                                        \
    }
BINOP_WRAPPERS(BW_FN)
#undef BW_FN

static const AsyMethodDef binop_wrappers[BW_COUNT] = {
#define BW_DEF(name, OP, form, doc) {"__" #name "__", bw_##name, ASY_METH_SLOT, doc},
    BINOP_WRAPPERS(BW_DEF)
#undef BW_DEF
};

#define BIT(name) (1u << BW_##name)
#define SEQ_OPS (BIT(add) | BIT(mul) | BIT(rmul))
#define STR_OPS (SEQ_OPS | BIT(mod) | BIT(rmod))
#define SET_OPS                                                                                    \
    (BIT(and) | BIT(rand) | BIT(or) | BIT(ror) | BIT(sub) | BIT(rsub) | BIT(xor) | BIT(rxor))
#define SET_IOPS (BIT(iand) | BIT(ior) | BIT(isub) | BIT(ixor))

/* The wrappers each built-in type has, as bits of BW_*. By name: a type is ready (and
 * given its wrappers) before the VM's table of types knows it. */
static const struct {
    const char *type;
    uint32_t set;
} binop_wrapper_sets[] = {
    {"str", STR_OPS},
    {"bytes", STR_OPS},
    {"list", SEQ_OPS | BIT(iadd) | BIT(imul)},
    {"tuple", SEQ_OPS},
    {"set", SET_OPS | SET_IOPS},
    {"frozenset", SET_OPS},
    {"dict_keys", SET_OPS},
    {"dict_items", SET_OPS},
    {"dict", BIT(or) | BIT(ror) | BIT(ior)},
};

static uint32_t binop_wrapper_set(const AsyType *t) {
    for (size_t i = 0; i < sizeof binop_wrapper_sets / sizeof binop_wrapper_sets[0]; i++)
        if (strcmp(t->name, binop_wrapper_sets[i].type) == 0) return binop_wrapper_sets[i].set;
    return 0;
}

void asy_add_binop_wrappers(AsyVM *vm, AsyType *t) {
    uint32_t set = binop_wrapper_set(t);
    for (int i = 0; i < BW_COUNT; i++) {
        if (!(set & (1u << i))) continue;
        AsyStr *n = asy_str_intern_cstr(vm, binop_wrappers[i].name);
        if (!ASY_IS_UNDEF(asy_dict_get_str(vm, t->dict, n))) continue;
        asy_dict_set_str(vm, t->dict, n, asy_native_new(vm, &binop_wrappers[i], ASY_UNDEF, t));
    }
}
