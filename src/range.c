/* range.c - range (over int64), range_iterator, and slice objects with
 * asy_slice_indices (CPython's PySlice_GetIndicesEx: clamping, negative indexes, the
 * defaults that depend on the step's sign). */
#include "common.h"

#include <string.h>

#include "containers.h"
#include "vm.h"

#define RANGE(v) ((AsyRange *)ASY_AS_OBJ(v))
#define SLICE(v) ((AsySlice *)ASY_AS_OBJ(v))

/* ---- slices ---- */

AsyValue asy_slice_new(AsyVM *vm, AsyValue start, AsyValue stop, AsyValue step) {
    AsySlice *s = asy_gc_alloc(vm, ASY_TYPE(vm, slice), sizeof(AsySlice));
    s->start = start;
    s->stop = stop;
    s->step = step;
    return ASY_OBJ(s);
}

/* A slice bound: None gives dflt; huge ints clamp to the int64 range, as CPython's
 * _PyEval_SliceIndex clamps to Py_ssize_t. */
static bool slice_bound(AsyVM *vm, AsyValue v, int64_t dflt, int64_t *out) {
    if (ASY_IS_NONE(v)) {
        *out = dflt;
        return true;
    }
    if (ASY_IS_INTLIKE(v)) {
        *out = v.as.i;
        return true;
    }
    if (cont_is_type(vm, v, ASY_TYPE_int)) {   /* a big int: beyond int64 */
        *out = mpz_sgn(((AsyBigInt *)ASY_AS_OBJ(v))->z) < 0 ? INT64_MIN : INT64_MAX;
        return true;
    }
    if (!cont_is_index(vm, v)) {
        asy_raise(vm, ASY_EXC_TypeError,
                  "slice indices must be integers or None or have an __index__ method");
        return false;
    }
    if (asy_index(vm, v, out)) return true;
    if (!asy_exc_matches(vm, ASY_EXC_IndexError)) return false;
    asy_exc_clear(vm);   /* __index__ gave a huge int: clamp (sign unknown: assume +) */
    *out = INT64_MAX;
    return true;
}

static int64_t adjust_index(int64_t i, int64_t len, int64_t step) {
    if (i < 0) {
        i += len;
        if (i < 0) i = step < 0 ? -1 : 0;
    } else if (i >= len) {
        i = step < 0 ? len - 1 : len;
    }
    return i;
}

bool asy_slice_indices(AsyVM *vm, AsySlice *s, int64_t len, int64_t *start, int64_t *stop,
                       int64_t *step, int64_t *count) {
    if (!slice_bound(vm, s->step, 1, step)) return false;
    if (*step == 0) {
        asy_raise(vm, ASY_EXC_ValueError, "slice step cannot be zero");
        return false;
    }
    if (*step < -INT64_MAX) *step = -INT64_MAX;   /* so that -step cannot overflow */
    bool neg = *step < 0;
    if (!slice_bound(vm, s->start, neg ? INT64_MAX : 0, start)) return false;
    if (!slice_bound(vm, s->stop, neg ? INT64_MIN : INT64_MAX, stop)) return false;
    *start = adjust_index(*start, len, *step);
    *stop = adjust_index(*stop, len, *step);
    if (neg)
        *count = *stop < *start ? (*start - *stop - 1) / (-*step) + 1 : 0;
    else
        *count = *start < *stop ? (*stop - *start - 1) / *step + 1 : 0;
    return true;
}

static AsyValue slice_new_slot(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(type);
    if (!asy_check_nokw(vm, "slice", kw) || !asy_check_args(vm, "slice", argc, 1, 3)) return ASY_ERR;
    if (argc == 1) return asy_slice_new(vm, ASY_NONE, argv[0], ASY_NONE);
    return asy_slice_new(vm, argv[0], argv[1], argc == 3 ? argv[2] : ASY_NONE);
}

static AsyValue slice_repr(AsyVM *vm, AsyValue self) {
    AsySlice *s = SLICE(self);
    AsyValue parts[3] = {s->start, s->stop, s->step};
    AsyStrBuf b;
    asy_strbuf_init(&b);
    asy_strbuf_append_cstr(vm, &b, "slice(");
    for (int i = 0; i < 3; i++) {
        AsyValue r = asy_repr(vm, parts[i]);
        if (ASY_IS_ERR(r)) {
            asy_strbuf_free(&b);
            return r;
        }
        if (i) asy_strbuf_append(vm, &b, ", ", 2);
        asy_strbuf_append_str(vm, &b, (AsyStr *)ASY_AS_OBJ(r));
    }
    asy_strbuf_append(vm, &b, ")", 1);
    AsyStr *str = asy_strbuf_finish(vm, &b);
    return str ? ASY_OBJ(str) : ASY_ERR;
}

static AsyValue slice_richcompare(AsyVM *vm, AsyValue self, AsyValue other, AsyCmpOp op) {
    if (!cont_is_type(vm, self, ASY_TYPE_slice) || !cont_is_type(vm, other, ASY_TYPE_slice))
        return cont_not_implemented(vm);
    AsySlice *a = SLICE(self), *b = SLICE(other);
    AsyValue x[3] = {a->start, a->stop, a->step}, y[3] = {b->start, b->stop, b->step};
    AsyTuple *tx = asy_tuple_from_array(vm, x, 3);
    if (!tx) return ASY_ERR;
    asy_root_push(vm, ASY_OBJ(tx));
    AsyTuple *ty = asy_tuple_from_array(vm, y, 3);
    if (!ty) {
        asy_root_pop(vm, 1);
        return ASY_ERR;
    }
    asy_root_push(vm, ASY_OBJ(ty));
    AsyValue r = asy_compare(vm, ASY_OBJ(tx), ASY_OBJ(ty), op);
    asy_root_pop(vm, 2);
    return r;
}

static bool name_is(AsyStr *name, const char *s) {
    return strcmp(name->data, s) == 0;
}

static AsyValue slice_getattr(AsyVM *vm, AsyValue self, AsyStr *name) {
    AsySlice *s = SLICE(self);
    if (name_is(name, "start")) return s->start;
    if (name_is(name, "stop")) return s->stop;
    if (name_is(name, "step")) return s->step;
    return ASY_TYPE(vm, object)->getattr(vm, self, name);
}

static AsyValue slice_m_indices(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "slice.indices", argc - 1, 1, 1)) return ASY_ERR;
    int64_t len;
    if (!asy_index(vm, argv[1], &len)) return ASY_ERR;
    if (len < 0) return asy_raise(vm, ASY_EXC_ValueError, "length should not be negative");
    int64_t start, stop, step, n;
    if (!asy_slice_indices(vm, SLICE(argv[0]), len, &start, &stop, &step, &n)) return ASY_ERR;
    AsyValue r[3] = {ASY_INT(start), ASY_INT(stop), ASY_INT(step)};
    AsyTuple *t = asy_tuple_from_array(vm, r, 3);
    return t ? ASY_OBJ(t) : ASY_ERR;
}

static void slice_traverse(AsyVM *vm, AsyObj *self) {
    AsySlice *s = (AsySlice *)self;
    asy_gc_mark_value(vm, s->start);
    asy_gc_mark_value(vm, s->stop);
    asy_gc_mark_value(vm, s->step);
}

static const AsyMethodDef slice_methods[] = {
    {"indices", slice_m_indices, ASY_METH_NOKW, "Calculate start, stop and stride for a sequence of the given length."},
    {NULL, NULL, 0, NULL},
};

/* ---- range ---- */

/* Number of items of range(start, stop, step), computed without overflow. */
static uint64_t range_length(int64_t start, int64_t stop, int64_t step) {
    if (step > 0 && start < stop) return 1 + ((uint64_t)stop - 1 - (uint64_t)start) / (uint64_t)step;
    if (step < 0 && start > stop)
        return 1 + ((uint64_t)start - 1 - (uint64_t)stop) / (0 - (uint64_t)step);
    return 0;
}

AsyValue asy_range_new(AsyVM *vm, int64_t start, int64_t stop, int64_t step) {
    uint64_t len = range_length(start, stop, step);
    if (len > (uint64_t)INT64_MAX)
        return asy_raise(vm, ASY_EXC_OverflowError, "Python int too large to convert to C ssize_t");
    AsyRange *r = asy_gc_alloc(vm, ASY_TYPE(vm, range), sizeof(AsyRange));
    r->start = start;
    r->stop = stop;
    r->step = step;
    r->len = (int64_t)len;
    return ASY_OBJ(r);
}

static bool range_arg(AsyVM *vm, AsyValue v, int64_t *out) {
    if (ASY_IS_INTLIKE(v)) {
        *out = v.as.i;
        return true;
    }
    if (!asy_index(vm, v, out)) {
        if (asy_exc_matches(vm, ASY_EXC_IndexError)) {   /* a big int */
            asy_exc_clear(vm);
            asy_raise(vm, ASY_EXC_OverflowError, "Python int too large to convert to C ssize_t");
        }
        return false;
    }
    return true;
}

static AsyValue range_new_slot(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(type);
    if (!asy_check_nokw(vm, "range", kw) || !asy_check_args(vm, "range", argc, 1, 3)) return ASY_ERR;
    int64_t start = 0, stop, step = 1;
    if (argc == 1) {
        if (!range_arg(vm, argv[0], &stop)) return ASY_ERR;
    } else {
        if (!range_arg(vm, argv[0], &start) || !range_arg(vm, argv[1], &stop)) return ASY_ERR;
        if (argc == 3 && !range_arg(vm, argv[2], &step)) return ASY_ERR;
        if (step == 0) return asy_raise(vm, ASY_EXC_ValueError, "range() arg 3 must not be zero");
    }
    return asy_range_new(vm, start, stop, step);
}

static AsyValue range_repr(AsyVM *vm, AsyValue self) {
    AsyRange *r = RANGE(self);
    AsyStr *s = r->step == 1
                    ? asy_str_printf(vm, "range(%lld, %lld)", (long long)r->start, (long long)r->stop)
                    : asy_str_printf(vm, "range(%lld, %lld, %lld)", (long long)r->start,
                                     (long long)r->stop, (long long)r->step);
    return s ? ASY_OBJ(s) : ASY_ERR;
}

static int64_t range_item(AsyRange *r, int64_t i) {
    return (int64_t)((uint64_t)r->start + (uint64_t)i * (uint64_t)r->step);
}

/* Ranges are equal when they yield the same items. */
static bool range_same(AsyRange *a, AsyRange *b) {
    if (a->len != b->len) return false;
    if (a->len == 0) return true;
    if (a->start != b->start) return false;
    return a->len == 1 || a->step == b->step;
}

static AsyValue range_richcompare(AsyVM *vm, AsyValue self, AsyValue other, AsyCmpOp op) {
    if ((op != ASY_CMP_EQ && op != ASY_CMP_NE) || !cont_is_type(vm, other, ASY_TYPE_range))
        return cont_not_implemented(vm);
    bool eq = range_same(RANGE(self), RANGE(other));
    return ASY_BOOL(op == ASY_CMP_EQ ? eq : !eq);
}

/* CPython: hash((len, start, step)) with None for what does not matter. */
static bool range_hash(AsyVM *vm, AsyValue self, int64_t *out) {
    AsyRange *r = RANGE(self);
    AsyValue t[3] = {ASY_INT(r->len), ASY_NONE, ASY_NONE};
    if (r->len > 0) t[1] = ASY_INT(r->start);
    if (r->len > 1) t[2] = ASY_INT(r->step);
    AsyTuple *tup = asy_tuple_from_array(vm, t, 3);
    return tup && asy_hash(vm, ASY_OBJ(tup), out);
}

static int range_truth(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm);
    return RANGE(self)->len != 0;
}

static int64_t range_len_slot(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm);
    return RANGE(self)->len;
}

static AsyValue range_iter_make(AsyVM *vm, int64_t next, int64_t step, int64_t n) {
    AsyRangeIter *it = asy_gc_alloc(vm, ASY_TYPE(vm, range_iterator), sizeof(AsyRangeIter));
    it->next = next;
    it->step = step;
    it->remaining = n;
    return ASY_OBJ(it);
}

static AsyValue range_iter(AsyVM *vm, AsyValue self) {
    AsyRange *r = RANGE(self);
    return range_iter_make(vm, r->start, r->step, r->len);
}

static bool mul_add(int64_t a, int64_t b, int64_t c, int64_t *out) {
    int64_t m;
    return !__builtin_mul_overflow(a, b, &m) && !__builtin_add_overflow(m, c, out);
}

static AsyValue range_slice(AsyVM *vm, AsyRange *r, AsySlice *sl) {
    int64_t start, stop, step, n;
    if (!asy_slice_indices(vm, sl, r->len, &start, &stop, &step, &n)) return ASY_ERR;
    int64_t nstart, nstop, nstep;
    if (!mul_add(start, r->step, r->start, &nstart) || !mul_add(stop, r->step, r->start, &nstop) ||
        __builtin_mul_overflow(step, r->step, &nstep))
        return asy_raise(vm, ASY_EXC_OverflowError, "Python int too large to convert to C ssize_t");
    return asy_range_new(vm, nstart, nstop, nstep);
}

static AsyValue range_getitem(AsyVM *vm, AsyValue self, AsyValue key) {
    AsyRange *r = RANGE(self);
    if (cont_is_type(vm, key, ASY_TYPE_slice)) return range_slice(vm, r, SLICE(key));
    if (!cont_is_index(vm, key))
        return asy_raise(vm, ASY_EXC_TypeError, "range indices must be integers or slices, not %s",
                         asy_type_name(vm, key));
    int64_t i;
    bool err;
    if (!cont_seq_index(vm, key, r->len, &i, &err)) {
        if (err) return ASY_ERR;
        return asy_raise(vm, ASY_EXC_IndexError, "range object index out of range");
    }
    return ASY_INT(range_item(r, i));
}

/* Position of int v in r, or -1. */
static int64_t range_find_int(AsyRange *r, int64_t v) {
    if (r->len == 0) return -1;
    if (r->step > 0 ? (v < r->start || v >= r->stop) : (v > r->start || v <= r->stop)) return -1;
    uint64_t off = r->step > 0 ? (uint64_t)v - (uint64_t)r->start : (uint64_t)r->start - (uint64_t)v;
    uint64_t st = r->step > 0 ? (uint64_t)r->step : 0 - (uint64_t)r->step;
    if (off % st != 0) return -1;
    return (int64_t)(off / st);
}

/* Items of r equal to v by ==, for non-int v (1.0 in range(3)); stops at the first match
 * when first_only. Returns the count or index, -1 none, -2 error. */
static int64_t range_scan(AsyVM *vm, AsyRange *r, AsyValue v, bool first_only) {
    int64_t n = 0;
    for (int64_t i = 0; i < r->len; i++) {
        int e = asy_eq(vm, ASY_INT(range_item(r, i)), v);
        if (e < 0) return -2;
        if (e && first_only) return i;
        n += e;
    }
    return first_only ? -1 : n;
}

static int range_contains(AsyVM *vm, AsyValue self, AsyValue v) {
    if (ASY_IS_INTLIKE(v)) return range_find_int(RANGE(self), v.as.i) >= 0;
    if (cont_is_kind(vm, v, ASY_TYPE_int)) return 0;   /* a big int: never in range */
    int64_t i = range_scan(vm, RANGE(self), v, true);
    return i == -2 ? -1 : i >= 0;
}

static AsyValue range_getattr(AsyVM *vm, AsyValue self, AsyStr *name) {
    AsyRange *r = RANGE(self);
    if (name_is(name, "start")) return ASY_INT(r->start);
    if (name_is(name, "stop")) return ASY_INT(r->stop);
    if (name_is(name, "step")) return ASY_INT(r->step);
    return ASY_TYPE(vm, object)->getattr(vm, self, name);
}

static AsyValue range_m_index(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "range.index", argc - 1, 1, 1)) return ASY_ERR;
    AsyRange *r = RANGE(argv[0]);
    int64_t i;
    if (ASY_IS_INTLIKE(argv[1])) i = range_find_int(r, argv[1].as.i);
    else if (cont_is_kind(vm, argv[1], ASY_TYPE_int)) i = -1;
    else i = range_scan(vm, r, argv[1], true);
    if (i == -2) return ASY_ERR;
    if (i < 0) return asy_raise(vm, ASY_EXC_ValueError, "%R is not in range", argv[1]);
    return ASY_INT(i);
}

static AsyValue range_m_count(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "range.count", argc - 1, 1, 1)) return ASY_ERR;
    AsyRange *r = RANGE(argv[0]);
    if (ASY_IS_INTLIKE(argv[1])) return ASY_INT(range_find_int(r, argv[1].as.i) >= 0);
    if (cont_is_kind(vm, argv[1], ASY_TYPE_int)) return ASY_INT(0);
    int64_t n = range_scan(vm, r, argv[1], false);
    return n == -2 ? ASY_ERR : ASY_INT(n);
}

static AsyValue range_m_reversed(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "range.__reversed__", argc - 1, 0, 0)) return ASY_ERR;
    AsyRange *r = RANGE(argv[0]);
    if (r->len == 0) return range_iter_make(vm, r->start, r->step, 0);
    /* Unsigned arithmetic: -step wraps for INT64_MIN and the iterator adds modulo 2**64. */
    return range_iter_make(vm, range_item(r, r->len - 1), (int64_t)(0 - (uint64_t)r->step), r->len);
}

static const AsyMethodDef range_methods[] = {
    {"index", range_m_index, ASY_METH_NOKW, "Return index of value."},
    {"count", range_m_count, ASY_METH_NOKW, "Return number of occurrences of value."},
    {"__reversed__", range_m_reversed, ASY_METH_NOKW, "Return a reverse iterator."},
    {NULL, NULL, 0, NULL},
};

/* ---- range_iterator ---- */

static AsyValue rangeiter_iter(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm);
    return self;
}

static AsyValue rangeiter_next(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm);
    AsyRangeIter *it = (AsyRangeIter *)ASY_AS_OBJ(self);
    if (it->remaining <= 0) return ASY_UNDEF;
    int64_t v = it->next;
    it->next = (int64_t)((uint64_t)v + (uint64_t)it->step);
    it->remaining--;
    return ASY_INT(v);
}

void asy_range_init(AsyVM *vm) {
    AsyType *r = asy_type_new_builtin(vm, "range", ASY_TYPE(vm, object), sizeof(AsyRange));
    r->repr = range_repr;
    r->hash = range_hash;
    r->richcompare = range_richcompare;
    r->truth = range_truth;
    r->len = range_len_slot;
    r->iter = range_iter;
    r->getitem = range_getitem;
    r->contains = range_contains;
    r->getattr = range_getattr;
    r->new_ = range_new_slot;
    asy_type_add_methods(vm, r, range_methods);
    asy_type_ready(vm, r);
    vm->types[ASY_TYPE_range] = r;

    AsyType *it = asy_type_new_builtin(vm, "range_iterator", ASY_TYPE(vm, object),
                                       sizeof(AsyRangeIter));
    it->iter = rangeiter_iter;
    it->next = rangeiter_next;
    asy_type_ready(vm, it);
    vm->types[ASY_TYPE_range_iterator] = it;

    AsyType *s = asy_type_new_builtin(vm, "slice", ASY_TYPE(vm, object), sizeof(AsySlice));
    s->repr = slice_repr;
    s->richcompare = slice_richcompare;
    s->getattr = slice_getattr;
    s->new_ = slice_new_slot;
    s->traverse = slice_traverse;
    asy_type_add_methods(vm, s, slice_methods);
    asy_type_ready(vm, s);
    s->hash = NULL;   /* unhashable in 3.11 */
    vm->types[ASY_TYPE_slice] = s;
}
