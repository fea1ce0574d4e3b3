/* tuple.c - the tuple type and tuple_iterator: construction (the empty tuple is shared,
 * vm->empty_tuple), CPython 3.11's xxHash-based hash (cached) so that sets of tuples
 * iterate in CPython's order, indexing, slicing, comparison, + and *. */
#include "common.h"

#include <string.h>

#include "containers.h"
#include "vm.h"

#define TUPLE(v) ((AsyTuple *)ASY_AS_OBJ(v))

/* A new tuple whose items the caller fills; NULL with MemoryError when too large. */
static AsyTuple *tuple_alloc(AsyVM *vm, int64_t len) {
    if (len == 0 && vm->empty_tuple) return vm->empty_tuple;
    if (!cont_size_ok(len) || (size_t)len * sizeof(AsyValue) > ASY_MAX_ALLOC - sizeof(AsyTuple)) {
        asy_raise_memory(vm);
        return NULL;
    }
    AsyTuple *t = asy_gc_alloc_var(vm, ASY_TYPE(vm, tuple),
                                   sizeof(AsyTuple) + (size_t)len * sizeof(AsyValue), true);
    if (!t) return NULL;
    t->hash = -1;
    t->len = len;
    return t;
}

AsyTuple *asy_tuple_new(AsyVM *vm, int64_t len) {
    AsyTuple *t = tuple_alloc(vm, len);
    if (!t) return NULL;
    for (int64_t i = 0; i < len; i++) t->items[i] = ASY_NONE;
    return t;
}

AsyTuple *asy_tuple_from_array(AsyVM *vm, const AsyValue *items, int64_t len) {
    AsyTuple *t = tuple_alloc(vm, len);
    if (t && len > 0) memcpy(t->items, items, (size_t)len * sizeof(AsyValue));
    return t;
}

AsyTuple *asy_tuple_from_iterable(AsyVM *vm, AsyValue iterable) {
    if (cont_is_type(vm, iterable, ASY_TYPE_tuple)) return TUPLE(iterable);
    if (cont_is_kind(vm, iterable, ASY_TYPE_list)) {
        AsyList *l = (AsyList *)ASY_AS_OBJ(iterable);
        return asy_tuple_from_array(vm, l->items, l->len);
    }
    AsyList *l = asy_list_from_iterable(vm, iterable);
    if (!l) return NULL;
    return asy_tuple_from_array(vm, l->items, l->len);
}

/* ---- slots ---- */

static AsyValue tuple_repr(AsyVM *vm, AsyValue self) {
    AsyTuple *t = TUPLE(self);
    if (t->len == 0) return ASY_OBJ(asy_str_from_cstr(vm, "()"));
    AsyValue *items = t->items;
    return asy_cont_seq_repr(vm, &t->hdr, &items, &t->len, "(", t->len == 1 ? ",)" : ")");
}

/* CPython 3.11 tuplehash (xxHash's round on every item's hash). */
#define XXPRIME_1 ((uint64_t)11400714785074694791ULL)
#define XXPRIME_2 ((uint64_t)14029467366897019727ULL)
#define XXPRIME_5 ((uint64_t)2870177450012600261ULL)
#define XXROTATE(x) (((x) << 31) | ((x) >> 33))

static bool tuple_hash(AsyVM *vm, AsyValue self, int64_t *out) {
    AsyTuple *t = TUPLE(self);
    if (t->hash != -1) {
        *out = t->hash;
        return true;
    }
    uint64_t acc = XXPRIME_5;
    for (int64_t i = 0; i < t->len; i++) {
        int64_t h;
        if (!cont_hash(vm, t->items[i], &h)) return false;
        acc += (uint64_t)h * XXPRIME_2;
        acc = XXROTATE(acc);
        acc *= XXPRIME_1;
    }
    acc += (uint64_t)t->len ^ (XXPRIME_5 ^ 3527539UL);
    int64_t h = acc == (uint64_t)-1 ? 1546275796 : (int64_t)acc;
    t->hash = h;
    *out = h;
    return true;
}

static AsyValue tuple_richcompare(AsyVM *vm, AsyValue self, AsyValue other, AsyCmpOp op) {
    if (!cont_is_kind(vm, self, ASY_TYPE_tuple) || !cont_is_kind(vm, other, ASY_TYPE_tuple))
        return cont_not_implemented(vm);
    AsyValue *a = TUPLE(self)->items, *b = TUPLE(other)->items;
    return asy_cont_seq_richcompare(vm, &a, &TUPLE(self)->len, &b, &TUPLE(other)->len, op);
}

static int tuple_truth(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm);
    return TUPLE(self)->len != 0;
}

static int64_t tuple_len(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm);
    return TUPLE(self)->len;
}

static AsyValue tuple_iter(AsyVM *vm, AsyValue self) {
    AsyTupleIter *it = asy_gc_alloc(vm, ASY_TYPE(vm, tuple_iterator), sizeof(AsyTupleIter));
    it->seq = TUPLE(self);
    return ASY_OBJ(it);
}

static AsyValue tuple_getitem(AsyVM *vm, AsyValue self, AsyValue key) {
    AsyTuple *t = TUPLE(self);
    if (ASY_LIKELY(ASY_IS_INT(key))) {
        int64_t i = key.as.i;
        if (i < 0) i += t->len;
        if ((uint64_t)i >= (uint64_t)t->len)
            return asy_raise(vm, ASY_EXC_IndexError, "tuple index out of range");
        return t->items[i];
    }
    if (cont_is_type(vm, key, ASY_TYPE_slice)) {
        int64_t start, stop, step, n;
        if (!asy_slice_indices(vm, (AsySlice *)ASY_AS_OBJ(key), t->len, &start, &stop, &step, &n))
            return ASY_ERR;
        if (step == 1 && n == t->len && cont_is_type(vm, self, ASY_TYPE_tuple)) return self;
        AsyTuple *r = tuple_alloc(vm, n);
        if (!r) return ASY_ERR;
        for (int64_t i = 0; i < n; i++) r->items[i] = t->items[start + i * step];
        return ASY_OBJ(r);
    }
    if (!cont_is_index(vm, key))
        return asy_raise(vm, ASY_EXC_TypeError, "tuple indices must be integers or slices, not %s",
                         asy_type_name(vm, key));
    int64_t i;
    bool err;
    if (!cont_seq_index(vm, key, t->len, &i, &err)) {
        if (err) return ASY_ERR;
        return asy_raise(vm, ASY_EXC_IndexError, "tuple index out of range");
    }
    return t->items[i];
}

static int tuple_contains(AsyVM *vm, AsyValue self, AsyValue item) {
    AsyTuple *t = TUPLE(self);
    for (int64_t i = 0; i < t->len; i++) {
        int r = cont_eq(vm, t->items[i], item);
        if (r != 0) return r;
    }
    return 0;
}

static AsyValue tuple_concat(AsyVM *vm, AsyValue a, AsyValue b) {
    if (!cont_is_kind(vm, b, ASY_TYPE_tuple)) {
        if (cont_is_heap(b)) return cont_not_implemented(vm);
        return asy_raise(vm, ASY_EXC_TypeError, "can only concatenate tuple (not \"%s\") to tuple",
                         asy_type_name(vm, b));
    }
    AsyTuple *x = TUPLE(a), *y = TUPLE(b);
    if (y->len == 0 && cont_is_type(vm, a, ASY_TYPE_tuple)) return a;
    if (x->len == 0 && cont_is_type(vm, b, ASY_TYPE_tuple)) return b;
    AsyTuple *r = tuple_alloc(vm, x->len + y->len);
    if (!r) return ASY_ERR;
    memcpy(r->items, x->items, (size_t)x->len * sizeof(AsyValue));
    memcpy(r->items + x->len, y->items, (size_t)y->len * sizeof(AsyValue));
    return ASY_OBJ(r);
}

static AsyValue tuple_repeat(AsyVM *vm, AsyValue seq, AsyValue cnt) {
    int64_t n;
    if (ASY_IS_INTLIKE(cnt)) {
        n = cnt.as.i;
    } else if (!cont_is_index(vm, cnt)) {
        return asy_raise(vm, ASY_EXC_TypeError, "can't multiply sequence by non-int of type '%s'",
                         asy_type_name(vm, cnt));
    } else if (!asy_index(vm, cnt, &n)) {
        return ASY_ERR;
    }
    AsyTuple *t = TUPLE(seq);
    if (n == 1 && cont_is_type(vm, seq, ASY_TYPE_tuple)) return seq;
    if (n <= 0 || t->len == 0) return ASY_OBJ(tuple_alloc(vm, 0));
    if (n > INT64_MAX / t->len) return asy_raise_memory(vm);
    AsyTuple *r = tuple_alloc(vm, t->len * n);
    if (!r) return ASY_ERR;
    for (int64_t i = 0; i < n; i++)
        memcpy(r->items + i * t->len, t->items, (size_t)t->len * sizeof(AsyValue));
    return ASY_OBJ(r);
}

/* Tuples are immutable: the in-place operators are the plain ones. */
static AsyValue tuple_binop(AsyVM *vm, AsyValue a, AsyValue b, AsyBinOp op) {
    AsyBinOp base = op >= ASY_BIN_INPLACE ? (AsyBinOp)(op - ASY_BIN_INPLACE) : op;
    bool a_tuple = cont_is_kind(vm, a, ASY_TYPE_tuple);
    if (base == ASY_BIN_ADD && a_tuple) return tuple_concat(vm, a, b);
    if (base == ASY_BIN_MUL) {
        AsyValue cnt = a_tuple ? b : a;
        if (cont_repeat_defers(vm, cnt)) return cont_not_implemented(vm);
        return tuple_repeat(vm, a_tuple ? a : b, cnt);
    }
    return cont_not_implemented(vm);
}

/* A copy of a plain tuple as an instance of the subclass `type`. */
static AsyValue tuple_as_subtype(AsyVM *vm, AsyType *type, AsyTuple *t) {
    size_t items = (size_t)t->len * sizeof(AsyValue);
    AsyTuple *r = asy_gc_alloc(vm, type, asy_var_instance_size(type, sizeof(AsyTuple) + items));
    if (!r) return ASY_ERR;
    r->hash = -1;
    r->len = t->len;
    if (items) memcpy(r->items, t->items, items);
    return ASY_OBJ(r);
}

static AsyValue tuple_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "tuple", kw) || !asy_check_args(vm, "tuple", argc, 0, 1)) return ASY_ERR;
    AsyTuple *t = argc == 0 ? tuple_alloc(vm, 0) : asy_tuple_from_iterable(vm, argv[0]);
    if (!t) return ASY_ERR;
    return type == ASY_TYPE(vm, tuple) ? ASY_OBJ(t) : tuple_as_subtype(vm, type, t);
}

static void tuple_traverse(AsyVM *vm, AsyObj *self) {
    AsyTuple *t = (AsyTuple *)self;
    asy_gc_mark_values(vm, t->items, t->len);
}

/* ---- methods ---- */

static AsyValue m_count(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "tuple.count", argc - 1, 1, 1)) return ASY_ERR;
    AsyTuple *t = TUPLE(argv[0]);
    int64_t n = 0;
    for (int64_t i = 0; i < t->len; i++) {
        int r = cont_eq(vm, t->items[i], argv[1]);
        if (r < 0) return ASY_ERR;
        n += r;
    }
    return ASY_INT(n);
}

static bool tuple_bound(AsyVM *vm, AsyValue v, int64_t len, int64_t *out) {
    AsySlice sl = {.start = v, .stop = ASY_NONE, .step = ASY_NONE};
    int64_t start, stop, step, n;
    if (!asy_slice_indices(vm, &sl, len, &start, &stop, &step, &n)) return false;
    *out = start;
    return true;
}

static AsyValue m_index(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "index", argc - 1, 1, 3)) return ASY_ERR;
    AsyTuple *t = TUPLE(argv[0]);
    int64_t start = 0, stop = t->len;
    if (argc > 2 && !tuple_bound(vm, argv[2], t->len, &start)) return ASY_ERR;
    if (argc > 3 && !tuple_bound(vm, argv[3], t->len, &stop)) return ASY_ERR;
    for (int64_t i = start; i < stop && i < t->len; i++) {
        int r = cont_eq(vm, t->items[i], argv[1]);
        if (r < 0) return ASY_ERR;
        if (r) return ASY_INT(i);
    }
    return asy_raise(vm, ASY_EXC_ValueError, "tuple.index(x): x not in tuple");
}

static const AsyMethodDef tuple_methods[] = {
    {"count", m_count, ASY_METH_NOKW, "Return number of occurrences of value."},
    {"index", m_index, ASY_METH_NOKW, "Return first index of value."},
    {NULL, NULL, 0, NULL},
};

/* ---- tuple_iterator ---- */

static AsyValue tupleiter_iter(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm);
    return self;
}

static AsyValue tupleiter_next(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm);
    AsyTupleIter *it = (AsyTupleIter *)ASY_AS_OBJ(self);
    if (it->seq && it->index < it->seq->len) return it->seq->items[it->index++];
    it->seq = NULL;
    return ASY_UNDEF;
}

static void tupleiter_traverse(AsyVM *vm, AsyObj *self) {
    asy_gc_mark_obj(vm, (AsyObj *)((AsyTupleIter *)self)->seq);
}

void asy_tuple_init(AsyVM *vm) {
    AsyType *t = asy_type_new_builtin(vm, "tuple", ASY_TYPE(vm, object), sizeof(AsyTuple));
    t->repr = tuple_repr;
    t->hash = tuple_hash;
    t->richcompare = tuple_richcompare;
    t->truth = tuple_truth;
    t->len = tuple_len;
    t->iter = tuple_iter;
    t->getitem = tuple_getitem;
    t->contains = tuple_contains;
    t->binop = tuple_binop;
    t->new_ = tuple_new;
    t->traverse = tuple_traverse;
    vm->types[ASY_TYPE_tuple] = t;
    asy_type_add_methods(vm, t, tuple_methods);
    asy_type_ready(vm, t);
    vm->empty_tuple = NULL;
    vm->empty_tuple = tuple_alloc(vm, 0);

    AsyType *it = asy_type_new_builtin(vm, "tuple_iterator", ASY_TYPE(vm, object),
                                       sizeof(AsyTupleIter));
    it->iter = tupleiter_iter;
    it->next = tupleiter_next;
    it->traverse = tupleiter_traverse;
    asy_type_ready(vm, it);
    vm->types[ASY_TYPE_tuple_iterator] = it;
}
