/* containers.h - helpers private to the container files (list.c, tuple.c, dict.c, set.c,
 * range.c, iterobject.c): type tests, hashing and equality with fast paths for the key
 * types that dominate real programs (small ints and exact strs), so that dict and set
 * lookups on them never go through the generic protocols. */
#ifndef ASY_CONTAINERS_H
#define ASY_CONTAINERS_H

#include <string.h>

#include "vm.h"

/* CPython's modulus for numeric hashes (2**61 - 1 on 64-bit builds). */
#define ASY_HASH_MODULUS ((int64_t)(((uint64_t)1 << 61) - 1))

static inline bool cont_is_type(AsyVM *vm, AsyValue v, AsyTypeId id) {
    return ASY_IS_OBJ(v) && ASY_AS_OBJ(v)->type == vm->types[id];
}

/* v is an instance of the built-in type id or of a subclass of it. */
static inline bool cont_is_kind(AsyVM *vm, AsyValue v, AsyTypeId id) {
    if (!ASY_IS_OBJ(v)) return false;
    AsyType *t = ASY_AS_OBJ(v)->type;
    return t == vm->types[id] || asy_is_subtype(t, vm->types[id]);
}

static inline bool cont_is_str(AsyVM *vm, AsyValue v) {
    return cont_is_type(vm, v, ASY_TYPE_str);
}

/* hash(int) exactly as CPython: the value modulo 2**61-1 with its sign; -1 becomes -2. */
static inline int64_t cont_hash_int(int64_t v) {
    if (v > -ASY_HASH_MODULUS && v < ASY_HASH_MODULUS) return v == -1 ? -2 : v;
    uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    int64_t r = (int64_t)(a % (uint64_t)ASY_HASH_MODULUS);
    if (v < 0) r = -r;
    return r == -1 ? -2 : r;
}

static inline int64_t cont_hash_str(AsyStr *s) {
    return s->hash != -1 ? s->hash : asy_str_hash(s);
}

/* hash(v); false with TypeError pending for unhashable values. */
static inline bool cont_hash(AsyVM *vm, AsyValue v, int64_t *out) {
    if (ASY_IS_INTLIKE(v)) {
        *out = cont_hash_int(v.as.i);
        return true;
    }
    if (cont_is_str(vm, v)) {
        *out = cont_hash_str((AsyStr *)ASY_AS_OBJ(v));
        return true;
    }
    return asy_hash(vm, v, out);
}

/* a == b for containers: identity first (as CPython's PyObject_RichCompareBool), then the
 * int and str fast paths, then the full protocol. 1, 0, or -1 with an exception pending. */
static inline int cont_eq(AsyVM *vm, AsyValue a, AsyValue b) {
    if (a.tag == b.tag && a.as.i == b.as.i) return 1;
    if (ASY_IS_INTLIKE(a) && ASY_IS_INTLIKE(b)) return a.as.i == b.as.i;
    if (cont_is_str(vm, a) && cont_is_str(vm, b))
        return asy_str_equal((AsyStr *)ASY_AS_OBJ(a), (AsyStr *)ASY_AS_OBJ(b));
    return asy_eq(vm, a, b);
}

/* True when comparing a and b cannot run asy code (so no collection can happen). */
static inline bool cont_eq_is_simple(AsyVM *vm, AsyValue a, AsyValue b) {
    if (!ASY_IS_OBJ(a) && !ASY_IS_OBJ(b)) return true;
    return cont_is_str(vm, a) && cont_is_str(vm, b);
}

/* A type other than the built-in one: a user class. Binary operators then return
 * NotImplemented so that the other operand's reflected method gets its chance. */
static inline bool cont_is_heap(AsyValue v) {
    return ASY_IS_OBJ(v) && (ASY_AS_OBJ(v)->type->tflags & ASY_TYPE_HEAP);
}

static inline AsyValue cont_not_implemented(AsyVM *vm) {
    return ASY_OBJ(vm->not_implemented);
}

/* `seq * n` with n of a user class that has __mul__ or __rmul__: those come first (CPython
 * tries the number protocol before repeating), so the sequence says NotImplemented. Any
 * other n repeats if it has __index__. */
static inline bool cont_repeat_defers(AsyVM *vm, AsyValue n) {
    if (!cont_is_heap(n) || cont_is_kind(vm, n, ASY_TYPE_int)) return false;
    AsyType *t = ASY_AS_OBJ(n)->type;
    return !ASY_IS_UNDEF(asy_type_lookup(t, ASY_S(vm, __rmul__))) ||
           !ASY_IS_UNDEF(asy_type_lookup(t, ASY_S(vm, __mul__)));
}

/* Resolve a sequence index (int or __index__) against len, counting from the end when
 * negative. False when it is out of range (nothing raised) or not an index (raised: *err
 * set). */
static inline bool cont_seq_index(AsyVM *vm, AsyValue key, int64_t len, int64_t *out,
                                  bool *err) {
    int64_t i;
    *err = false;
    if (ASY_IS_INTLIKE(key)) {
        i = key.as.i;
    } else if (!asy_index(vm, key, &i)) {
        *err = true;
        return false;
    }
    if (i < 0) i += len;
    if (i < 0 || i >= len) return false;
    *out = i;
    return true;
}

/* The "x indices must be integers or slices, not str" test: int, bool, bigint or an
 * object with __index__. */
static inline bool cont_is_index(AsyVM *vm, AsyValue key) {
    if (ASY_IS_INTLIKE(key)) return true;
    if (!ASY_IS_OBJ(key)) return false;
    if (cont_is_kind(vm, key, ASY_TYPE_int)) return true;
    return !ASY_IS_UNDEF(asy_type_lookup(ASY_AS_OBJ(key)->type, ASY_S(vm, __index__)));
}

/* Grow-or-fail helper for AsyValue arrays: n * sizeof(AsyValue) without overflow. */
static inline bool cont_size_ok(int64_t n) {
    return n >= 0 && (uint64_t)n <= (uint64_t)(ASY_MAX_ALLOC / sizeof(AsyValue));
}

/* list.c: "[1, 2]" / "(1, 2)" with the recursion guard, shared by list and tuple.
 * items and len are re-read after every repr, which may run user code. */
AsyValue asy_cont_seq_repr(AsyVM *vm, AsyObj *self, AsyValue *const *items,
                           const int64_t *len, const char *open, const char *close);
/* Lexicographic comparison of two item arrays (list and tuple). The arrays are re-read
 * through the pointers after every user call, since a user __eq__ may mutate them. */
AsyValue asy_cont_seq_richcompare(AsyVM *vm, AsyValue *const *a, const int64_t *alen,
                                  AsyValue *const *b, const int64_t *blen, AsyCmpOp op);
/* set.c: s |= other, &=, -=, ^= for any iterable other (op is the plain operator). Used
 * by the set-like dict views. */
int asy_cont_set_inplace(AsyVM *vm, AsySet *s, AsyValue other, AsyBinOp op);

#endif
