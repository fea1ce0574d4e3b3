/* list.c - the list type and its iterators (list_iterator, list_reverseiterator): storage
 * growth, indexing and slicing, the methods, a stable merge sort, and the helpers list and
 * tuple share (repr with the recursion guard, lexicographic comparison). */
#include "common.h"

#include <string.h>

#include "containers.h"
#include "vm.h"

/* ---- repr recursion guard (CPython's Py_ReprEnter) ---- */

int asy_repr_enter(AsyVM *vm, AsyObj *o) {
    for (int i = vm->nrepr_active - 1; i >= 0; i--)
        if (vm->repr_active[i] == o) return 1;
    if (vm->nrepr_active >= ASY_MAX_C_DEPTH) {
        asy_raise(vm, ASY_EXC_RecursionError,
                  "maximum recursion depth exceeded while getting the repr of an object");
        return -1;
    }
    vm->repr_active[vm->nrepr_active++] = o;
    return 0;
}

void asy_repr_leave(AsyVM *vm, AsyObj *o) {
    /* Normally o is on top; search anyway so a missed leave cannot corrupt the stack. */
    for (int i = vm->nrepr_active - 1; i >= 0; i--) {
        if (vm->repr_active[i] == o) {
            memmove(&vm->repr_active[i], &vm->repr_active[i + 1],
                    (size_t)(vm->nrepr_active - i - 1) * sizeof(AsyObj *));
            vm->nrepr_active--;
            return;
        }
    }
}

AsyValue asy_cont_seq_repr(AsyVM *vm, AsyObj *self, AsyValue *const *items,
                           const int64_t *len, const char *open, const char *close) {
    int g = asy_repr_enter(vm, self);
    if (g < 0) return ASY_ERR;
    if (g > 0) {
        AsyStr *s = asy_str_printf(vm, "%s...%s", open, close[0] == ',' ? close + 1 : close);
        return s ? ASY_OBJ(s) : ASY_ERR;
    }
    AsyStrBuf b;
    asy_strbuf_init(&b);
    asy_strbuf_append_cstr(vm, &b, open);
    for (int64_t i = 0; i < *len; i++) {
        if (i > 0) asy_strbuf_append(vm, &b, ", ", 2);
        AsyValue r = asy_repr(vm, (*items)[i]);   /* may run user code that mutates self */
        if (ASY_IS_ERR(r)) {
            asy_strbuf_free(&b);
            asy_repr_leave(vm, self);
            return ASY_ERR;
        }
        asy_strbuf_append_str(vm, &b, (AsyStr *)ASY_AS_OBJ(r));
    }
    asy_strbuf_append_cstr(vm, &b, close);
    asy_repr_leave(vm, self);
    AsyStr *s = asy_strbuf_finish(vm, &b);
    return s ? ASY_OBJ(s) : ASY_ERR;
}

static AsyValue cmp_result(int64_t a, int64_t b, AsyCmpOp op) {
    switch (op) {
    case ASY_CMP_LT: return ASY_BOOL(a < b);
    case ASY_CMP_LE: return ASY_BOOL(a <= b);
    case ASY_CMP_EQ: return ASY_BOOL(a == b);
    case ASY_CMP_NE: return ASY_BOOL(a != b);
    case ASY_CMP_GT: return ASY_BOOL(a > b);
    default: return ASY_BOOL(a >= b);
    }
}

AsyValue asy_cont_seq_richcompare(AsyVM *vm, AsyValue *const *a, const int64_t *alen,
                                  AsyValue *const *b, const int64_t *blen, AsyCmpOp op) {
    if (*alen != *blen && (op == ASY_CMP_EQ || op == ASY_CMP_NE)) return ASY_BOOL(op == ASY_CMP_NE);
    if (vm->c_depth >= ASY_MAX_C_DEPTH)
        return asy_raise(vm, ASY_EXC_RecursionError, "maximum recursion depth exceeded in comparison");
    vm->c_depth++;
    int64_t i;
    for (i = 0; i < *alen && i < *blen; i++) {
        int r = cont_eq(vm, (*a)[i], (*b)[i]);
        if (r < 0) {
            vm->c_depth--;
            return ASY_ERR;
        }
        if (!r) break;
    }
    vm->c_depth--;
    /* A user __eq__ may have shrunk either sequence: re-check before indexing. */
    if (i >= *alen || i >= *blen) return cmp_result(*alen, *blen, op);
    if (op == ASY_CMP_EQ) return ASY_FALSE;
    if (op == ASY_CMP_NE) return ASY_TRUE;
    return asy_compare(vm, (*a)[i], (*b)[i], op);
}

/* ---- storage ---- */

#define LIST(v) ((AsyList *)ASY_AS_OBJ(v))

/* Make room for `need` items, over-allocating as CPython so appends are amortised O(1). */
static bool list_reserve(AsyVM *vm, AsyList *l, int64_t need) {
    if (need <= l->cap) return true;
    if (!cont_size_ok(need)) {
        asy_raise_memory(vm);
        return false;
    }
    int64_t cap = (need + (need >> 3) + 6) & ~(int64_t)3;
    if (need - l->len > cap - need) cap = (need + 3) & ~(int64_t)3;
    if (!cont_size_ok(cap)) cap = need;
    AsyValue *items = asy_mem_realloc(vm, l->items, (size_t)l->cap * sizeof(AsyValue),
                                      (size_t)cap * sizeof(AsyValue));
    if (!items) return false;
    l->items = items;
    l->cap = cap;
    return true;
}

static void list_clear_storage(AsyVM *vm, AsyList *l) {
    asy_mem_free(vm, l->items, (size_t)l->cap * sizeof(AsyValue));
    l->items = NULL;
    l->len = l->cap = 0;
}

AsyList *asy_list_new(AsyVM *vm, int64_t cap) {
    if (cap < 0) cap = 0;
    AsyList *l = asy_gc_alloc(vm, ASY_TYPE(vm, list), sizeof(AsyList));
    if (cap > 0 && !list_reserve(vm, l, cap)) return NULL;
    return l;
}

AsyList *asy_list_from_array(AsyVM *vm, const AsyValue *items, int64_t len) {
    AsyList *l = asy_list_new(vm, len);
    if (!l) return NULL;
    if (len > 0) memcpy(l->items, items, (size_t)len * sizeof(AsyValue));
    l->len = len;
    return l;
}

int asy_list_append(AsyVM *vm, AsyList *list, AsyValue v) {
    if (ASY_UNLIKELY(list->len == list->cap) && !list_reserve(vm, list, list->len + 1))
        return -1;
    list->items[list->len++] = v;
    return 0;
}

static int list_append_array(AsyVM *vm, AsyList *l, const AsyValue *items, int64_t n) {
    if (n == 0) return 0;
    if (!list_reserve(vm, l, l->len + n)) return -1;
    memmove(l->items + l->len, items, (size_t)n * sizeof(AsyValue));
    l->len += n;
    return 0;
}

/* Append everything iterator `it` yields. l must be rooted by the caller. */
static int list_extend_from_iter(AsyVM *vm, AsyList *l, AsyValue it) {
    asy_root_push(vm, it);
    for (;;) {
        AsyValue x = asy_next(vm, it);
        if (ASY_IS_UNDEF(x)) break;
        if (ASY_IS_ERR(x) || asy_list_append(vm, l, x) < 0) {
            asy_root_pop(vm, 1);
            return -1;
        }
    }
    asy_root_pop(vm, 1);
    return 0;
}

/* l.extend(iterable); l must be rooted by the caller. */
static int list_extend(AsyVM *vm, AsyList *l, AsyValue iterable) {
    if (cont_is_kind(vm, iterable, ASY_TYPE_list)) {
        AsyList *o = LIST(iterable);
        return list_append_array(vm, l, o->items, o->len);   /* memmove: o may be l */
    }
    if (cont_is_kind(vm, iterable, ASY_TYPE_tuple)) {
        AsyTuple *t = (AsyTuple *)ASY_AS_OBJ(iterable);
        return list_append_array(vm, l, t->items, t->len);
    }
    AsyValue it = asy_iter(vm, iterable);
    if (ASY_IS_ERR(it)) return -1;
    return list_extend_from_iter(vm, l, it);
}

AsyList *asy_list_from_iterable(AsyVM *vm, AsyValue iterable) {
    AsyList *l = asy_list_new(vm, 0);
    asy_root_push(vm, ASY_OBJ(l));
    int rc = list_extend(vm, l, iterable);
    asy_root_pop(vm, 1);
    return rc < 0 ? NULL : l;
}

/* PySequence_Fast: the items of a list or tuple as they are, else of list(v) (kept alive
 * through *holder, which the caller roots). msg replaces the TypeError of iter(v). */
static bool seq_fast(AsyVM *vm, AsyValue v, const char *msg, AsyValue **items, int64_t *n,
                     AsyValue *holder) {
    *holder = ASY_NONE;
    if (cont_is_kind(vm, v, ASY_TYPE_list)) {
        *items = LIST(v)->items;
        *n = LIST(v)->len;
        return true;
    }
    if (cont_is_kind(vm, v, ASY_TYPE_tuple)) {
        *items = ((AsyTuple *)ASY_AS_OBJ(v))->items;
        *n = ((AsyTuple *)ASY_AS_OBJ(v))->len;
        return true;
    }
    AsyValue it = asy_iter(vm, v);
    if (ASY_IS_ERR(it)) {
        if (asy_exc_matches(vm, ASY_EXC_TypeError)) {
            asy_exc_clear(vm);
            asy_raise(vm, ASY_EXC_TypeError, "%s", msg);
        }
        return false;
    }
    AsyList *l = asy_list_new(vm, 0);
    asy_root_push(vm, ASY_OBJ(l));
    int rc = list_extend_from_iter(vm, l, it);
    asy_root_pop(vm, 1);
    if (rc < 0) return false;
    *holder = ASY_OBJ(l);
    *items = l->items;
    *n = l->len;
    return true;
}

/* ---- slots ---- */

static AsyValue list_repr(AsyVM *vm, AsyValue self) {
    AsyList *l = LIST(self);
    if (l->len == 0) return ASY_OBJ(asy_str_from_cstr(vm, "[]"));
    return asy_cont_seq_repr(vm, &l->hdr, &l->items, &l->len, "[", "]");
}

static AsyValue list_richcompare(AsyVM *vm, AsyValue self, AsyValue other, AsyCmpOp op) {
    if (!cont_is_kind(vm, self, ASY_TYPE_list) || !cont_is_kind(vm, other, ASY_TYPE_list))
        return cont_not_implemented(vm);
    AsyList *a = LIST(self), *b = LIST(other);
    return asy_cont_seq_richcompare(vm, &a->items, &a->len, &b->items, &b->len, op);
}

static int list_truth(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm);
    return LIST(self)->len != 0;
}

static int64_t list_len(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm);
    return LIST(self)->len;
}

static AsyValue list_iter(AsyVM *vm, AsyValue self) {
    AsyListIter *it = asy_gc_alloc(vm, ASY_TYPE(vm, list_iterator), sizeof(AsyListIter));
    it->seq = LIST(self);
    return ASY_OBJ(it);
}

static AsyValue list_slice_get(AsyVM *vm, AsyList *l, AsySlice *sl) {
    int64_t start, stop, step, n;
    if (!asy_slice_indices(vm, sl, l->len, &start, &stop, &step, &n)) return ASY_ERR;
    /* n == 0 on an empty list, whose items may be NULL: NULL + 0 is undefined in C */
    if (step == 1) return ASY_OBJ(asy_list_from_array(vm, n ? l->items + start : NULL, n));
    AsyList *r = asy_list_new(vm, n);
    if (!r) return ASY_ERR;
    for (int64_t i = 0; i < n; i++) r->items[i] = l->items[start + i * step];
    r->len = n;
    return ASY_OBJ(r);
}

static AsyValue list_index_error(AsyVM *vm, AsyValue key, const char *what) {
    return asy_raise(vm, ASY_EXC_TypeError, "list %s must be integers or slices, not %s", what,
                     asy_type_name(vm, key));
}

static AsyValue list_getitem(AsyVM *vm, AsyValue self, AsyValue key) {
    AsyList *l = LIST(self);
    if (ASY_LIKELY(ASY_IS_INT(key))) {
        int64_t i = key.as.i;
        if (i < 0) i += l->len;
        if ((uint64_t)i >= (uint64_t)l->len)
            return asy_raise(vm, ASY_EXC_IndexError, "list index out of range");
        return l->items[i];
    }
    if (cont_is_type(vm, key, ASY_TYPE_slice)) return list_slice_get(vm, l, (AsySlice *)ASY_AS_OBJ(key));
    if (!cont_is_index(vm, key)) return list_index_error(vm, key, "indices");
    int64_t i;
    bool err;
    if (!cont_seq_index(vm, key, l->len, &i, &err)) {
        if (err) return ASY_ERR;
        return asy_raise(vm, ASY_EXC_IndexError, "list index out of range");
    }
    return l->items[i];
}

/* Replace items [lo, hi) with n new ones (n may differ from hi - lo). */
static int list_replace(AsyVM *vm, AsyList *l, int64_t lo, int64_t hi, const AsyValue *src,
                        int64_t n) {
    int64_t d = n - (hi - lo);
    if (d > 0 && !list_reserve(vm, l, l->len + d)) return -1;
    /* an empty list may have no items array: no pointer arithmetic on NULL */
    if (l->len > hi)
        memmove(l->items + hi + d, l->items + hi, (size_t)(l->len - hi) * sizeof(AsyValue));
    if (n > 0) memcpy(l->items + lo, src, (size_t)n * sizeof(AsyValue));
    l->len += d;
    return 0;
}

static int list_slice_del(AsyVM *vm, AsyList *l, int64_t start, int64_t step, int64_t n) {
    if (n <= 0) return 0;
    if (step == 1) return list_replace(vm, l, start, start + n, NULL, 0);
    if (step < 0) {                      /* walk forwards: same items, ascending */
        start = start + step * (n - 1);
        step = -step;
    }
    int64_t w = start;
    for (int64_t r = start; r < l->len; r++) {
        if (r >= start && (r - start) % step == 0 && (r - start) / step < n) continue;
        l->items[w++] = l->items[r];
    }
    l->len = w;
    return 0;
}

static int list_slice_set(AsyVM *vm, AsyList *l, AsySlice *sl, AsyValue v) {
    int64_t start, stop, step, n;
    if (!asy_slice_indices(vm, sl, l->len, &start, &stop, &step, &n)) return -1;
    if (ASY_IS_UNDEF(v)) return list_slice_del(vm, l, start, step, n);
    AsyValue *items;
    int64_t m;
    AsyValue holder;
    if (ASY_IS_OBJ(v) && ASY_AS_OBJ(v) == &l->hdr) {   /* a[:] = a: copy first */
        AsyList *c = asy_list_from_array(vm, l->items, l->len);
        if (!c) return -1;
        v = ASY_OBJ(c);
    }
    const char *msg = step == 1 ? "can only assign an iterable"
                                : "must assign iterable to extended slice";
    asy_root_push(vm, v);
    bool ok = seq_fast(vm, v, msg, &items, &m, &holder);
    asy_root_pop(vm, 1);
    if (!ok) return -1;
    /* The iterable may have run code that changed l: resolve the slice again (its
     * __index__ may run code too, so the new items stay rooted). */
    if (!ASY_IS_NONE(holder)) {
        asy_root_push(vm, holder);
        ok = asy_slice_indices(vm, sl, l->len, &start, &stop, &step, &n);
        asy_root_pop(vm, 1);
        if (!ok) return -1;
    }
    if (step == 1) {
        if (stop < start) stop = start;
        return list_replace(vm, l, start, stop, items, m);
    }
    if (m != n) {
        asy_raise(vm, ASY_EXC_ValueError,
                  "attempt to assign sequence of size %lld to extended slice of size %lld",
                  (long long)m, (long long)n);
        return -1;
    }
    for (int64_t i = 0; i < n; i++) l->items[start + i * step] = items[i];
    return 0;
}

static int list_setitem(AsyVM *vm, AsyValue self, AsyValue key, AsyValue v) {
    AsyList *l = LIST(self);
    if (cont_is_type(vm, key, ASY_TYPE_slice))
        return list_slice_set(vm, l, (AsySlice *)ASY_AS_OBJ(key), v);
    if (!cont_is_index(vm, key)) {
        list_index_error(vm, key, "indices");
        return -1;
    }
    int64_t i;
    bool err;
    if (!cont_seq_index(vm, key, l->len, &i, &err)) {
        if (!err) asy_raise(vm, ASY_EXC_IndexError, "list assignment index out of range");
        return -1;
    }
    if (ASY_IS_UNDEF(v)) return list_replace(vm, l, i, i + 1, NULL, 0);
    l->items[i] = v;
    return 0;
}

static int list_contains(AsyVM *vm, AsyValue self, AsyValue item) {
    AsyList *l = LIST(self);
    for (int64_t i = 0; i < l->len; i++) {
        int r = cont_eq(vm, l->items[i], item);
        if (r != 0) return r;
    }
    return 0;
}

/* [x] * n as a new list (n <= 0: empty). */
static AsyList *list_repeat(AsyVM *vm, const AsyValue *items, int64_t len, int64_t n) {
    if (n <= 0 || len == 0) return asy_list_new(vm, 0);
    if (n > INT64_MAX / len || !cont_size_ok(len * n)) {
        asy_raise_memory(vm);
        return NULL;
    }
    AsyList *r = asy_list_new(vm, len * n);
    if (!r) return NULL;
    for (int64_t i = 0; i < n; i++) memcpy(r->items + i * len, items, (size_t)len * sizeof(AsyValue));
    r->len = len * n;
    return r;
}

/* The count of a sequence repetition; false with the error CPython raises. */
static bool repeat_count(AsyVM *vm, AsyValue n, int64_t *out) {
    if (ASY_IS_INTLIKE(n)) {
        *out = n.as.i;
        return true;
    }
    if (!cont_is_index(vm, n)) {
        asy_raise(vm, ASY_EXC_TypeError, "can't multiply sequence by non-int of type '%s'",
                  asy_type_name(vm, n));
        return false;
    }
    if (asy_index(vm, n, out)) return true;
    if (asy_exc_matches(vm, ASY_EXC_IndexError)) {   /* a big int: CPython says Overflow */
        asy_exc_clear(vm);
        asy_raise(vm, ASY_EXC_OverflowError, "cannot fit 'int' into an index-sized integer");
    }
    return false;
}

static AsyValue list_inplace_repeat(AsyVM *vm, AsyList *l, int64_t n) {
    if (n <= 0 || l->len == 0) {
        list_clear_storage(vm, l);
        return ASY_OBJ(l);
    }
    int64_t len = l->len;
    if (n > INT64_MAX / len || !cont_size_ok(len * n)) return asy_raise_memory(vm);
    if (!list_reserve(vm, l, len * n)) return ASY_ERR;
    for (int64_t i = 1; i < n; i++) memcpy(l->items + i * len, l->items, (size_t)len * sizeof(AsyValue));
    l->len = len * n;
    return ASY_OBJ(l);
}

static AsyValue list_binop(AsyVM *vm, AsyValue a, AsyValue b, AsyBinOp op) {
    bool a_list = cont_is_kind(vm, a, ASY_TYPE_list);
    bool inplace = op >= ASY_BIN_INPLACE;
    AsyBinOp base = inplace ? (AsyBinOp)(op - ASY_BIN_INPLACE) : op;
    if (base == ASY_BIN_ADD && a_list) {
        if (inplace) {
            if (list_extend(vm, LIST(a), b) < 0) return ASY_ERR;
            return a;
        }
        if (!cont_is_kind(vm, b, ASY_TYPE_list)) {
            if (cont_is_heap(b)) return cont_not_implemented(vm);
            return asy_raise(vm, ASY_EXC_TypeError,
                             "can only concatenate list (not \"%s\") to list",
                             asy_type_name(vm, b));
        }
        AsyList *x = LIST(a), *y = LIST(b);
        AsyList *r = asy_list_new(vm, x->len + y->len);
        if (!r) return ASY_ERR;
        list_append_array(vm, r, x->items, x->len);
        list_append_array(vm, r, y->items, y->len);
        return ASY_OBJ(r);
    }
    if (base == ASY_BIN_MUL) {
        AsyValue seq = a_list ? a : b, cnt = a_list ? b : a;
        if (cont_repeat_defers(vm, cnt)) return cont_not_implemented(vm);
        int64_t n;
        if (!repeat_count(vm, cnt, &n)) return ASY_ERR;
        if (inplace && a_list) return list_inplace_repeat(vm, LIST(a), n);
        AsyList *r = list_repeat(vm, LIST(seq)->items, LIST(seq)->len, n);
        return r ? ASY_OBJ(r) : ASY_ERR;
    }
    return cont_not_implemented(vm);
}

static AsyValue list_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    AsyList *l = asy_gc_alloc(vm, type, type->basicsize);
    if (type != ASY_TYPE(vm, list)) return ASY_OBJ(l);   /* __init__ fills subclasses */
    if (!asy_check_nokw(vm, "list", kw) || !asy_check_args(vm, "list", argc, 0, 1)) return ASY_ERR;
    if (argc == 1) {
        asy_root_push(vm, ASY_OBJ(l));
        int rc = list_extend(vm, l, argv[0]);
        asy_root_pop(vm, 1);
        if (rc < 0) return ASY_ERR;
    }
    return ASY_OBJ(l);
}

static void list_traverse(AsyVM *vm, AsyObj *self) {
    AsyList *l = (AsyList *)self;
    asy_gc_mark_values(vm, l->items, l->len);
}

static void list_finalize(AsyVM *vm, AsyObj *self) {
    AsyList *l = (AsyList *)self;
    asy_mem_free(vm, l->items, (size_t)l->cap * sizeof(AsyValue));
    l->items = NULL;
    l->cap = l->len = 0;
}

/* ---- sorting: a bottom-up merge sort (stable, O(n log n), O(n) on sorted input) ---- */

typedef enum { SORT_GENERIC, SORT_INT, SORT_FLOAT, SORT_STR } SortKind;

typedef struct {
    AsyVM *vm;
    SortKind kind;
    AsyValue *keys;          /* what is compared                                    */
    AsyValue *vals;          /* moved alongside keys; NULL when the keys are the items */
    AsyValue *tkeys, *tvals; /* merge scratch                                       */
} Sorter;

/* Code point order of two strs: UTF-8 byte order is code point order. The first 8 bytes
 * are compared as one big-endian integer, which settles most comparisons without a call. */
static inline int str_lt(AsyValue a, AsyValue b) {
    const AsyStr *x = (const AsyStr *)ASY_AS_OBJ(a), *y = (const AsyStr *)ASY_AS_OBJ(b);
    size_t n = x->len < y->len ? x->len : y->len;
    if (n >= 8) {
        uint64_t p, q;
        memcpy(&p, x->data, 8);
        memcpy(&q, y->data, 8);
        if (p != q) return __builtin_bswap64(p) < __builtin_bswap64(q);
    } else {
        for (size_t i = 0; i < n; i++)
            if (x->data[i] != y->data[i])
                return (unsigned char)x->data[i] < (unsigned char)y->data[i];
        return x->len < y->len;
    }
    int c = memcmp(x->data, y->data, n);
    return c < 0 || (c == 0 && x->len < y->len);
}

#define LT_INT(s, a, b) ((a).as.i < (b).as.i)
#define LT_FLOAT(s, a, b) ((a).as.f < (b).as.f)
#define LT_STR(s, a, b) str_lt((a), (b))
#define LT_GENERIC(s, a, b) asy_compare_bool((s)->vm, (a), (b), ASY_CMP_LT)

static SortKind sort_kind(AsyVM *vm, const AsyValue *keys, int64_t n) {
    bool ints = true, floats = true, strs = true;
    for (int64_t i = 0; i < n && (ints || floats || strs); i++) {
        ints = ints && ASY_IS_INTLIKE(keys[i]);
        floats = floats && ASY_IS_FLOAT(keys[i]);
        strs = strs && cont_is_str(vm, keys[i]);
    }
    return ints ? SORT_INT : floats ? SORT_FLOAT : strs ? SORT_STR : SORT_GENERIC;
}

static inline void sort_move(Sorter *s, int64_t dst, AsyValue *srck, AsyValue *srcv,
                             int64_t src, int64_t n) {
    memmove(s->keys + dst, srck + src, (size_t)n * sizeof(AsyValue));
    if (s->vals) memmove(s->vals + dst, srcv + src, (size_t)n * sizeof(AsyValue));
}

static inline void sort_move1(Sorter *s, int64_t dst, AsyValue *srck, AsyValue *srcv, int64_t src) {
    s->keys[dst] = srck[src];
    if (s->vals) s->vals[dst] = srcv[src];
}

#define SORT_RUN 32

/* One sort per kind of key, so the comparison inlines (LT is 1, 0, or -1 for an error,
 * which only the generic one can give).
 *
 * insertion: binary insertion sort of [lo, hi); nothing leaves the arrays during a
 * compare, so a user __lt__ that collects garbage finds every item rooted.
 * merge: [lo, mid) and [mid, hi); the left run goes to scratch and, on error, the rest of
 * it is copied back so the arrays stay a permutation of the items. */
#define DEFINE_SORT(NAME, LT)                                                              \
    static int NAME##_insertion(Sorter *s, int64_t lo, int64_t hi) {                       \
        for (int64_t i = lo + 1; i < hi; i++) {                                            \
            AsyValue k = s->keys[i];                                                       \
            int64_t l = lo, r = i;                                                         \
            while (l < r) {                                                                \
                int64_t m = l + (r - l) / 2;                                               \
                int c = LT(s, k, s->keys[m]);                                              \
                if (c < 0) return -1;                                                      \
                if (c) r = m;                                                              \
                else l = m + 1;                                                            \
            }                                                                              \
            if (l == i) continue;                                                          \
            AsyValue v = s->vals ? s->vals[i] : k;                                         \
            sort_move(s, l + 1, s->keys, s->vals, l, i - l);                               \
            s->keys[l] = k;                                                                \
            if (s->vals) s->vals[l] = v;                                                   \
        }                                                                                  \
        return 0;                                                                          \
    }                                                                                      \
    static int NAME##_merge(Sorter *s, int64_t lo, int64_t mid, int64_t hi) {              \
        int c = LT(s, s->keys[mid], s->keys[mid - 1]);                                     \
        if (c <= 0) return c; /* already in order (or error) */                           \
        int64_t n1 = mid - lo, i = 0, j = mid, k = lo;                                     \
        memcpy(s->tkeys, s->keys + lo, (size_t)n1 * sizeof(AsyValue));                    \
        if (s->vals) memcpy(s->tvals, s->vals + lo, (size_t)n1 * sizeof(AsyValue));        \
        int rc = 0;                                                                        \
        while (i < n1 && j < hi) {                                                         \
            c = LT(s, s->keys[j], s->tkeys[i]);                                            \
            if (c < 0) {                                                                   \
                rc = -1;                                                                   \
                break;                                                                     \
            }                                                                              \
            if (c) sort_move1(s, k++, s->keys, s->vals, j++);                              \
            else sort_move1(s, k++, s->tkeys, s->tvals, i++);                              \
        }                                                                                  \
        sort_move(s, k, s->tkeys, s->tvals, i, n1 - i);                                    \
        return rc;                                                                         \
    }                                                                                      \
    static int NAME##_run(Sorter *s, int64_t n) {                                          \
        for (int64_t lo = 0; lo < n; lo += SORT_RUN)                                       \
            if (NAME##_insertion(s, lo, lo + SORT_RUN < n ? lo + SORT_RUN : n) < 0)        \
                return -1;                                                                 \
        for (int64_t w = SORT_RUN; w < n; w *= 2) {                                        \
            for (int64_t lo = 0; lo < n - w; lo += 2 * w) {                                \
                int64_t hi = lo + 2 * w < n ? lo + 2 * w : n;                              \
                if (NAME##_merge(s, lo, lo + w, hi) < 0) return -1;                        \
            }                                                                              \
        }                                                                                  \
        return 0;                                                                          \
    }

DEFINE_SORT(sort_int, LT_INT)
DEFINE_SORT(sort_float, LT_FLOAT)
DEFINE_SORT(sort_str, LT_STR)
DEFINE_SORT(sort_generic, LT_GENERIC)

static int sort_run(Sorter *s, int64_t n) {
    switch (s->kind) {
    case SORT_INT: return sort_int_run(s, n);
    case SORT_FLOAT: return sort_float_run(s, n);
    case SORT_STR: return sort_str_run(s, n);
    default: return sort_generic_run(s, n);
    }
}

static void reverse_values(AsyValue *v, int64_t n) {
    for (int64_t i = 0, j = n - 1; i < j; i++, j--) {
        AsyValue t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

/* A private list that owns a buffer the GC must see while user code runs. */
static AsyList *sort_holder(AsyVM *vm, int64_t n) {
    AsyList *h = asy_list_new(vm, n);
    if (!h) return NULL;
    if (n > 0) memset(h->items, 0, (size_t)n * sizeof(AsyValue));
    h->len = n;
    return h;
}

static int sort_compute_keys(AsyVM *vm, AsyValue key, const AsyValue *items, AsyValue *keys,
                             int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        AsyValue arg = items[i];
        AsyValue k = asy_call(vm, key, 1, &arg, NULL);
        if (ASY_IS_ERR(k)) return -1;
        keys[i] = k;
    }
    return 0;
}

int asy_list_sort(AsyVM *vm, AsyList *list, AsyValue key, bool reverse) {
    bool keyed = !ASY_IS_UNDEF(key) && !ASY_IS_NONE(key);
    int64_t n = list->len;
    if (n < 2 && !(keyed && n == 1)) return 0;
    /* As CPython: the list is empty while it is sorted, so that changes made by key or
     * comparison functions can be detected ("list modified during sort"). */
    AsyList *held = asy_list_new(vm, 0);
    held->items = list->items;
    held->len = list->len;
    held->cap = list->cap;
    list->items = NULL;
    list->len = list->cap = 0;
    asy_root_push(vm, ASY_OBJ(held));
    AsyList *scratch = sort_holder(vm, keyed ? 3 * n : n);
    int rc = scratch ? 0 : -1;
    if (scratch) {
        asy_root_push(vm, ASY_OBJ(scratch));
        Sorter s = {vm, SORT_GENERIC, held->items, NULL, scratch->items, NULL};
        if (keyed) {
            s.keys = scratch->items;
            s.vals = held->items;
            s.tkeys = scratch->items + n;
            s.tvals = scratch->items + 2 * n;
            rc = sort_compute_keys(vm, key, held->items, s.keys, n);
        }
        if (rc == 0) {
            s.kind = sort_kind(vm, s.keys, n);
            if (reverse) {
                reverse_values(s.keys, n);
                if (s.vals) reverse_values(s.vals, n);
            }
            rc = sort_run(&s, n);
            if (reverse) {
                reverse_values(s.keys, n);
                if (s.vals) reverse_values(s.vals, n);
            }
        }
        list_clear_storage(vm, scratch);
        asy_root_pop(vm, 1);
    }
    bool modified = list->items != NULL || list->len != 0;
    list_clear_storage(vm, list);
    list->items = held->items;
    list->len = held->len;
    list->cap = held->cap;
    held->items = NULL;
    held->len = held->cap = 0;
    asy_root_pop(vm, 1);
    if (rc == 0 && modified) {
        asy_raise(vm, ASY_EXC_ValueError, "list modified during sort");
        return -1;
    }
    return rc;
}

/* ---- methods ---- */

static AsyValue m_append(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "list.append", argc - 1, 1, 1)) return ASY_ERR;
    if (asy_list_append(vm, LIST(argv[0]), argv[1]) < 0) return ASY_ERR;
    return ASY_NONE;
}

static AsyValue m_extend(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "list.extend", argc - 1, 1, 1)) return ASY_ERR;
    if (list_extend(vm, LIST(argv[0]), argv[1]) < 0) return ASY_ERR;
    return ASY_NONE;
}

static AsyValue m_insert(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "insert", argc - 1, 2, 2)) return ASY_ERR;
    AsyList *l = LIST(argv[0]);
    int64_t i;
    if (!asy_index(vm, argv[1], &i)) return ASY_ERR;
    if (i < 0) {
        i += l->len;
        if (i < 0) i = 0;
    } else if (i > l->len) {
        i = l->len;
    }
    if (list_replace(vm, l, i, i, &argv[2], 1) < 0) return ASY_ERR;
    return ASY_NONE;
}

static AsyValue m_pop(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "pop", argc - 1, 0, 1)) return ASY_ERR;
    AsyList *l = LIST(argv[0]);
    int64_t i = -1;
    if (argc == 2 && !asy_index(vm, argv[1], &i)) return ASY_ERR;
    if (l->len == 0) return asy_raise(vm, ASY_EXC_IndexError, "pop from empty list");
    if (i < 0) i += l->len;
    if (i < 0 || i >= l->len) return asy_raise(vm, ASY_EXC_IndexError, "pop index out of range");
    AsyValue v = l->items[i];
    memmove(l->items + i, l->items + i + 1, (size_t)(l->len - i - 1) * sizeof(AsyValue));
    l->len--;
    return v;
}

/* Index of the first item equal to v in [start, stop), -1 absent, -2 error. */
static int64_t list_find(AsyVM *vm, AsyList *l, AsyValue v, int64_t start, int64_t stop) {
    for (int64_t i = start; i < stop && i < l->len; i++) {
        int r = cont_eq(vm, l->items[i], v);
        if (r < 0) return -2;
        if (r) return i;
    }
    return -1;
}

static AsyValue m_remove(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "list.remove", argc - 1, 1, 1)) return ASY_ERR;
    AsyList *l = LIST(argv[0]);
    int64_t i = list_find(vm, l, argv[1], 0, INT64_MAX);
    if (i == -2) return ASY_ERR;
    if (i < 0) return asy_raise(vm, ASY_EXC_ValueError, "list.remove(x): x not in list");
    if (list_replace(vm, l, i, i + 1, NULL, 0) < 0) return ASY_ERR;
    return ASY_NONE;
}

/* A start/stop bound of index() and count(): clamped to the length as slice indices. */
static bool seq_bound(AsyVM *vm, AsyValue v, int64_t len, int64_t *out) {
    AsySlice sl = {.start = v, .stop = ASY_NONE, .step = ASY_NONE};
    int64_t start, stop, step, n;
    if (!asy_slice_indices(vm, &sl, len, &start, &stop, &step, &n)) return false;
    *out = start;
    return true;
}

static AsyValue m_index(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "index", argc - 1, 1, 3)) return ASY_ERR;
    AsyList *l = LIST(argv[0]);
    int64_t start = 0, stop = INT64_MAX;
    if (argc > 2 && !seq_bound(vm, argv[2], l->len, &start)) return ASY_ERR;
    if (argc > 3 && !seq_bound(vm, argv[3], l->len, &stop)) return ASY_ERR;
    int64_t i = list_find(vm, l, argv[1], start, stop);
    if (i == -2) return ASY_ERR;
    if (i < 0) return asy_raise(vm, ASY_EXC_ValueError, "%R is not in list", argv[1]);
    return ASY_INT(i);
}

static AsyValue m_count(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "list.count", argc - 1, 1, 1)) return ASY_ERR;
    AsyList *l = LIST(argv[0]);
    int64_t n = 0;
    for (int64_t i = 0; i < l->len; i++) {
        int r = cont_eq(vm, l->items[i], argv[1]);
        if (r < 0) return ASY_ERR;
        n += r;
    }
    return ASY_INT(n);
}

static AsyValue m_sort(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (argc > 1) return asy_raise(vm, ASY_EXC_TypeError, "sort() takes no positional arguments");
    AsyValue key = asy_kwarg(vm, kw, "key");
    AsyValue rev = asy_kwarg(vm, kw, "reverse");
    if (!asy_check_kw_done(vm, "sort", kw)) return ASY_ERR;
    int64_t reverse = 0;
    if (!ASY_IS_UNDEF(rev) && !asy_index(vm, rev, &reverse)) return ASY_ERR;
    if (asy_list_sort(vm, LIST(argv[0]), key, reverse != 0) < 0) return ASY_ERR;
    return ASY_NONE;
}

static AsyValue m_reverse(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "list.reverse", argc - 1, 0, 0)) return ASY_ERR;
    reverse_values(LIST(argv[0])->items, LIST(argv[0])->len);
    return ASY_NONE;
}

static AsyValue m_copy(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "list.copy", argc - 1, 0, 0)) return ASY_ERR;
    AsyList *r = asy_list_from_array(vm, LIST(argv[0])->items, LIST(argv[0])->len);
    return r ? ASY_OBJ(r) : ASY_ERR;
}

static AsyValue m_clear(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "list.clear", argc - 1, 0, 0)) return ASY_ERR;
    list_clear_storage(vm, LIST(argv[0]));
    return ASY_NONE;
}

static AsyValue m_reversed(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "list.__reversed__", argc - 1, 0, 0)) return ASY_ERR;
    AsyListIter *it = asy_gc_alloc(vm, ASY_TYPE(vm, list_reverseiterator), sizeof(AsyListIter));
    it->seq = LIST(argv[0]);
    it->index = it->seq->len - 1;
    return ASY_OBJ(it);
}

/* list.__init__: what list(iterable) does for subclasses (list_new leaves them empty). */
static AsyValue m_init(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "list", kw) || !asy_check_args(vm, "list", argc - 1, 0, 1)) return ASY_ERR;
    AsyList *l = LIST(argv[0]);
    list_clear_storage(vm, l);
    if (argc == 2 && list_extend(vm, l, argv[1]) < 0) return ASY_ERR;
    return ASY_NONE;
}

/* Explicit dunders, so that list.__getitem__(x, i) and super().__setitem__(...) in
 * subclasses work; they route to the slots. */
static AsyValue m_getitem(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "list.__getitem__", argc - 1, 1, 1)) return ASY_ERR;
    return list_getitem(vm, argv[0], argv[1]);
}

static AsyValue m_setitem(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__setitem__", argc - 1, 2, 2)) return ASY_ERR;
    return list_setitem(vm, argv[0], argv[1], argv[2]) < 0 ? ASY_ERR : ASY_NONE;
}

static AsyValue m_delitem(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "list.__delitem__", argc - 1, 1, 1)) return ASY_ERR;
    return list_setitem(vm, argv[0], argv[1], ASY_UNDEF) < 0 ? ASY_ERR : ASY_NONE;
}

static const AsyMethodDef list_methods[] = {
    {"append", m_append, ASY_METH_NOKW, "Append object to the end of the list."},
    {"extend", m_extend, ASY_METH_NOKW, "Extend list by appending elements from the iterable."},
    {"insert", m_insert, ASY_METH_NOKW, "Insert object before index."},
    {"pop", m_pop, ASY_METH_NOKW, "Remove and return item at index (default last)."},
    {"remove", m_remove, ASY_METH_NOKW, "Remove first occurrence of value."},
    {"index", m_index, ASY_METH_NOKW, "Return first index of value."},
    {"count", m_count, ASY_METH_NOKW, "Return number of occurrences of value."},
    {"sort", m_sort, ASY_METH_DEFAULT, "Sort the list in ascending order and return None."},
    {"reverse", m_reverse, ASY_METH_NOKW, "Reverse *IN PLACE*."},
    {"copy", m_copy, ASY_METH_NOKW, "Return a shallow copy of the list."},
    {"clear", m_clear, ASY_METH_NOKW, "Remove all items from list."},
    {"__reversed__", m_reversed, ASY_METH_NOKW, "Return a reverse iterator over the list."},
    {"__init__", m_init, ASY_METH_DEFAULT, "Initialize self."},
    {"__getitem__", m_getitem, ASY_METH_NOKW, "x.__getitem__(y) <==> x[y]"},
    {"__setitem__", m_setitem, ASY_METH_NOKW, "Set self[key] to value."},
    {"__delitem__", m_delitem, ASY_METH_NOKW, "Delete self[key]."},
    {NULL, NULL, 0, NULL},
};

/* ---- iterators ---- */

static AsyValue iter_self(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm);
    return self;
}

static AsyValue listiter_next(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm);
    AsyListIter *it = (AsyListIter *)ASY_AS_OBJ(self);
    if (it->seq && it->index < it->seq->len) return it->seq->items[it->index++];
    it->seq = NULL;
    return ASY_UNDEF;
}

static AsyValue listreviter_next(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm);
    AsyListIter *it = (AsyListIter *)ASY_AS_OBJ(self);
    if (it->seq && it->index >= 0 && it->index < it->seq->len) return it->seq->items[it->index--];
    it->seq = NULL;
    return ASY_UNDEF;
}

static void listiter_traverse(AsyVM *vm, AsyObj *self) {
    asy_gc_mark_obj(vm, (AsyObj *)((AsyListIter *)self)->seq);
}

static AsyType *iter_type(AsyVM *vm, const char *name, AsyValue (*next)(AsyVM *, AsyValue)) {
    AsyType *t = asy_type_new_builtin(vm, name, ASY_TYPE(vm, object), sizeof(AsyListIter));
    t->iter = iter_self;
    t->next = next;
    t->traverse = listiter_traverse;
    asy_type_ready(vm, t);
    return t;
}

void asy_list_init(AsyVM *vm) {
    AsyType *t = asy_type_new_builtin(vm, "list", ASY_TYPE(vm, object), sizeof(AsyList));
    t->tflags |= ASY_TYPE_BASETYPE;
    t->repr = list_repr;
    t->richcompare = list_richcompare;
    t->truth = list_truth;
    t->len = list_len;
    t->iter = list_iter;
    t->getitem = list_getitem;
    t->setitem = list_setitem;
    t->contains = list_contains;
    t->binop = list_binop;
    t->new_ = list_new;
    t->traverse = list_traverse;
    t->finalize = list_finalize;
    vm->types[ASY_TYPE_list] = t;
    asy_type_add_methods(vm, t, list_methods);
    asy_type_ready(vm, t);
    t->hash = NULL;   /* unhashable, whatever object provides */
    vm->types[ASY_TYPE_list_iterator] = iter_type(vm, "list_iterator", listiter_next);
    vm->types[ASY_TYPE_list_reverseiterator] =
        iter_type(vm, "list_reverseiterator", listreviter_next);
}
