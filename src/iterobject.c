/* iterobject.c - the lazy iterator types of the builtins: enumerate, zip, map, filter,
 * reversed, callable_iterator (iter(f, sentinel)) and seq_iterator (iter() of an object
 * that only has __getitem__). Each holds the iterators it draws from and roots whatever
 * it has fetched while it calls code that may collect. */
#include "common.h"

#include <string.h>

#include "containers.h"
#include "vm.h"

typedef struct {
    AsyObj hdr;
    AsyValue it;
    int64_t index;
} AsyEnumerate;

typedef struct {
    AsyObj hdr;
    AsyTuple *iters;         /* NULL once exhausted                                  */
    bool strict;
} AsyZip;

typedef struct {
    AsyObj hdr;
    AsyValue func;
    AsyTuple *iters;
} AsyMap;

typedef struct {
    AsyObj hdr;
    AsyValue func;           /* None: keep the truthy items                          */
    AsyValue it;
} AsyFilter;

/* reversed() over len + __getitem__, and seq_iterator over __getitem__ alone. */
typedef struct {
    AsyObj hdr;
    AsyValue seq;            /* UNDEF once exhausted                                 */
    int64_t index;
} AsySeqIter;

typedef struct {
    AsyObj hdr;
    AsyValue func;           /* UNDEF once exhausted                                 */
    AsyValue sentinel;
} AsyCallIter;

static AsyValue iter_self(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm);
    return self;
}

/* The tuple of iter(x) for each x in argv (rooted by the caller once returned). */
static AsyTuple *iter_all(AsyVM *vm, int argc, AsyValue *argv) {
    AsyTuple *t = asy_tuple_new(vm, argc);
    if (!t) return NULL;
    asy_root_push(vm, ASY_OBJ(t));
    for (int i = 0; i < argc; i++) {
        AsyValue it = asy_iter(vm, argv[i]);
        if (ASY_IS_ERR(it)) {
            asy_root_pop(vm, 1);
            return NULL;
        }
        t->items[i] = it;
    }
    asy_root_pop(vm, 1);
    return t;
}

/* ---- enumerate ---- */

static AsyValue enumerate_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    AsyValue iterable = asy_kwarg(vm, kw, "iterable");
    AsyValue start = asy_kwarg(vm, kw, "start");
    if (!asy_check_kw_done(vm, "enumerate", kw)) return ASY_ERR;
    if (argc > 2)
        return asy_raise(vm, ASY_EXC_TypeError, "enumerate() takes at most 2 arguments (%d given)", argc);
    if (argc >= 1) iterable = argv[0];
    if (argc == 2) start = argv[1];
    if (ASY_IS_UNDEF(iterable))
        return asy_raise(vm, ASY_EXC_TypeError, "enumerate() missing required argument 'iterable'");
    int64_t index = 0;
    if (!ASY_IS_UNDEF(start) && !asy_index(vm, start, &index)) return ASY_ERR;
    AsyValue it = asy_iter(vm, iterable);
    if (ASY_IS_ERR(it)) return ASY_ERR;
    AsyEnumerate *e = asy_gc_alloc(vm, type, type->basicsize);
    e->it = it;
    e->index = index;
    return ASY_OBJ(e);
}

static AsyValue enumerate_next(AsyVM *vm, AsyValue self) {
    AsyEnumerate *e = (AsyEnumerate *)ASY_AS_OBJ(self);
    AsyValue x = asy_next(vm, e->it);
    if (ASY_IS_UNDEF(x) || ASY_IS_ERR(x)) return x;
    AsyValue pair[2] = {ASY_INT(e->index), x};
    e->index++;
    AsyTuple *t = asy_tuple_from_array(vm, pair, 2);
    return t ? ASY_OBJ(t) : ASY_ERR;
}

static void enumerate_traverse(AsyVM *vm, AsyObj *self) {
    asy_gc_mark_value(vm, ((AsyEnumerate *)self)->it);
}

/* ---- zip ---- */

static AsyValue zip_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    AsyValue strict = asy_kwarg(vm, kw, "strict");
    if (!asy_check_kw_done(vm, "zip", kw)) return ASY_ERR;
    int s = 0;
    if (!ASY_IS_UNDEF(strict) && (s = asy_truthy(vm, strict)) < 0) return ASY_ERR;
    AsyTuple *iters = iter_all(vm, argc, argv);
    if (!iters) return ASY_ERR;
    asy_root_push(vm, ASY_OBJ(iters));
    AsyZip *z = asy_gc_alloc(vm, type, type->basicsize);
    asy_root_pop(vm, 1);
    z->iters = iters;
    z->strict = s;
    return ASY_OBJ(z);
}

static AsyValue zip_strict_error(AsyVM *vm, int64_t i, const char *how) {
    return asy_raise(vm, ASY_EXC_ValueError, "zip() argument %lld is %s than argument%s%lld",
                     (long long)(i + 1), how, i == 1 ? " " : "s 1-", (long long)i);
}

/* The first iterator ran out: strict zip checks that the others did too. */
static AsyValue zip_check_rest(AsyVM *vm, AsyZip *z, int64_t i) {
    AsyTuple *iters = z->iters;
    z->iters = NULL;
    if (!z->strict) return ASY_UNDEF;
    if (i > 0) return zip_strict_error(vm, i, "shorter");
    asy_root_push(vm, ASY_OBJ(iters));
    for (int64_t j = 1; j < iters->len; j++) {
        AsyValue x = asy_next(vm, iters->items[j]);
        if (ASY_IS_UNDEF(x)) continue;
        asy_root_pop(vm, 1);
        return ASY_IS_ERR(x) ? x : zip_strict_error(vm, j, "longer");
    }
    asy_root_pop(vm, 1);
    return ASY_UNDEF;
}

static AsyValue zip_next(AsyVM *vm, AsyValue self) {
    AsyZip *z = (AsyZip *)ASY_AS_OBJ(self);
    if (!z->iters || z->iters->len == 0) return ASY_UNDEF;
    int64_t n = z->iters->len;
    AsyTuple *t = asy_tuple_new(vm, n);
    if (!t) return ASY_ERR;
    asy_root_push(vm, ASY_OBJ(t));
    for (int64_t i = 0; i < n; i++) {
        AsyValue x = asy_next(vm, z->iters->items[i]);
        if (ASY_IS_ERR(x) || ASY_IS_UNDEF(x)) {
            asy_root_pop(vm, 1);
            return ASY_IS_ERR(x) ? x : zip_check_rest(vm, z, i);
        }
        t->items[i] = x;
        if (!z->iters) break;   /* a re-entrant next() exhausted us */
    }
    asy_root_pop(vm, 1);
    return ASY_OBJ(t);
}

static void zip_traverse(AsyVM *vm, AsyObj *self) {
    asy_gc_mark_obj(vm, (AsyObj *)((AsyZip *)self)->iters);
}

/* ---- map ---- */

static AsyValue map_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "map", kw)) return ASY_ERR;
    if (argc < 2) return asy_raise(vm, ASY_EXC_TypeError, "map() must have at least two arguments.");
    AsyTuple *iters = iter_all(vm, argc - 1, argv + 1);
    if (!iters) return ASY_ERR;
    asy_root_push(vm, ASY_OBJ(iters));
    AsyMap *m = asy_gc_alloc(vm, type, type->basicsize);
    asy_root_pop(vm, 1);
    m->func = argv[0];
    m->iters = iters;
    return ASY_OBJ(m);
}

static AsyValue map_next(AsyVM *vm, AsyValue self) {
    AsyMap *m = (AsyMap *)ASY_AS_OBJ(self);
    int64_t n = m->iters->len;
    if (n == 1) {   /* the common case: no argument tuple */
        AsyValue x = asy_next(vm, m->iters->items[0]);
        if (ASY_IS_UNDEF(x) || ASY_IS_ERR(x)) return x;
        return asy_call(vm, m->func, 1, &x, NULL);
    }
    AsyTuple *args = asy_tuple_new(vm, n);
    if (!args) return ASY_ERR;
    asy_root_push(vm, ASY_OBJ(args));
    for (int64_t i = 0; i < n; i++) {
        AsyValue x = asy_next(vm, m->iters->items[i]);
        if (ASY_IS_UNDEF(x) || ASY_IS_ERR(x)) {
            asy_root_pop(vm, 1);
            return x;
        }
        args->items[i] = x;
    }
    AsyValue r = asy_call(vm, m->func, (int)n, args->items, NULL);
    asy_root_pop(vm, 1);
    return r;
}

static void map_traverse(AsyVM *vm, AsyObj *self) {
    asy_gc_mark_value(vm, ((AsyMap *)self)->func);
    asy_gc_mark_obj(vm, (AsyObj *)((AsyMap *)self)->iters);
}

/* ---- filter ---- */

static AsyValue filter_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "filter", kw) || !asy_check_args(vm, "filter", argc, 2, 2))
        return ASY_ERR;
    AsyValue it = asy_iter(vm, argv[1]);
    if (ASY_IS_ERR(it)) return ASY_ERR;
    AsyFilter *f = asy_gc_alloc(vm, type, type->basicsize);
    f->func = argv[0];
    f->it = it;
    return ASY_OBJ(f);
}

static AsyValue filter_next(AsyVM *vm, AsyValue self) {
    AsyFilter *f = (AsyFilter *)ASY_AS_OBJ(self);
    bool plain = ASY_IS_NONE(f->func) || asy_value_is(f->func, ASY_OBJ(ASY_TYPE(vm, bool)));
    for (;;) {
        AsyValue x = asy_next(vm, f->it);
        if (ASY_IS_UNDEF(x) || ASY_IS_ERR(x)) return x;
        int ok;
        if (plain) {
            ok = asy_truthy(vm, x);
        } else {
            asy_root_push(vm, x);
            AsyValue r = asy_call(vm, f->func, 1, &x, NULL);
            ok = ASY_IS_ERR(r) ? -1 : asy_truthy(vm, r);
            asy_root_pop(vm, 1);
        }
        if (ok < 0) return ASY_ERR;
        if (ok) return x;
    }
}

static void filter_traverse(AsyVM *vm, AsyObj *self) {
    asy_gc_mark_value(vm, ((AsyFilter *)self)->func);
    asy_gc_mark_value(vm, ((AsyFilter *)self)->it);
}

/* ---- reversed and seq_iterator ---- */

/* Does the type support indexing (the sequence protocol)? */
static bool has_getitem(AsyVM *vm, AsyType *t) {
    if (t->tflags & ASY_TYPE_HEAP)
        return !ASY_IS_UNDEF(asy_type_lookup(t, ASY_S(vm, __getitem__)));
    return t->getitem != ASY_TYPE(vm, object)->getitem &&
           !asy_is_subtype(t, ASY_TYPE(vm, dict));
}

static AsyValue reversed_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "reversed", kw)) return ASY_ERR;
    if (argc != 1)
        return asy_raise(vm, ASY_EXC_TypeError, "reversed expected 1 argument, got %d", argc);
    AsyValue seq = argv[0];
    AsyType *t = asy_type_of(vm, seq);
    AsyValue rev = asy_type_lookup(t, ASY_S(vm, __reversed__));
    if (ASY_IS_NONE(rev))
        return asy_raise(vm, ASY_EXC_TypeError, "'%s' object is not reversible", t->name);
    if (!ASY_IS_UNDEF(rev)) {
        AsyValue bound = asy_getattr(vm, seq, ASY_S(vm, __reversed__));
        if (ASY_IS_ERR(bound)) return bound;
        return asy_call(vm, bound, 0, NULL, NULL);
    }
    if (!has_getitem(vm, t))
        return asy_raise(vm, ASY_EXC_TypeError, "'%s' object is not reversible", t->name);
    int64_t n = asy_len(vm, seq);
    if (n < 0) return ASY_ERR;
    AsySeqIter *r = asy_gc_alloc(vm, type, type->basicsize);
    r->seq = seq;
    r->index = n - 1;
    return ASY_OBJ(r);
}

/* seq[i], or UNDEF (nothing raised) when it raises IndexError or StopIteration. */
static AsyValue seq_item(AsyVM *vm, AsySeqIter *s, int64_t i) {
    AsyValue x = asy_getitem(vm, s->seq, ASY_INT(i));
    if (!ASY_IS_ERR(x)) return x;
    if (asy_exc_matches(vm, ASY_EXC_IndexError) || asy_exc_matches(vm, ASY_EXC_StopIteration)) {
        asy_exc_clear(vm);
        s->seq = ASY_UNDEF;
        return ASY_UNDEF;
    }
    return ASY_ERR;
}

static AsyValue reversed_next(AsyVM *vm, AsyValue self) {
    AsySeqIter *s = (AsySeqIter *)ASY_AS_OBJ(self);
    if (ASY_IS_UNDEF(s->seq)) return ASY_UNDEF;
    if (s->index < 0) {
        s->seq = ASY_UNDEF;
        return ASY_UNDEF;
    }
    return seq_item(vm, s, s->index--);
}

static AsyValue seqiter_next(AsyVM *vm, AsyValue self) {
    AsySeqIter *s = (AsySeqIter *)ASY_AS_OBJ(self);
    if (ASY_IS_UNDEF(s->seq)) return ASY_UNDEF;
    return seq_item(vm, s, s->index++);
}

static void seqiter_traverse(AsyVM *vm, AsyObj *self) {
    asy_gc_mark_value(vm, ((AsySeqIter *)self)->seq);
}

AsyValue asy_seqiter_new(AsyVM *vm, AsyValue seq) {
    AsySeqIter *s = asy_gc_alloc(vm, ASY_TYPE(vm, seq_iterator), sizeof(AsySeqIter));
    s->seq = seq;
    return ASY_OBJ(s);
}

/* ---- callable_iterator ---- */

AsyValue asy_calliter_new(AsyVM *vm, AsyValue callable, AsyValue sentinel) {
    if (!asy_callable(vm, callable))
        return asy_raise(vm, ASY_EXC_TypeError, "iter(v, w): v must be callable");
    AsyCallIter *c = asy_gc_alloc(vm, ASY_TYPE(vm, callable_iterator), sizeof(AsyCallIter));
    c->func = callable;
    c->sentinel = sentinel;
    return ASY_OBJ(c);
}

static AsyValue calliter_next(AsyVM *vm, AsyValue self) {
    AsyCallIter *c = (AsyCallIter *)ASY_AS_OBJ(self);
    if (ASY_IS_UNDEF(c->func)) return ASY_UNDEF;
    AsyValue x = asy_call(vm, c->func, 0, NULL, NULL);
    if (ASY_IS_ERR(x)) {
        if (!asy_exc_matches(vm, ASY_EXC_StopIteration)) return x;
        asy_exc_clear(vm);
        c->func = ASY_UNDEF;
        return ASY_UNDEF;
    }
    asy_root_push(vm, x);
    int eq = cont_eq(vm, c->sentinel, x);
    asy_root_pop(vm, 1);
    if (eq < 0) return ASY_ERR;
    if (!eq) return x;
    c->func = ASY_UNDEF;
    return ASY_UNDEF;
}

static void calliter_traverse(AsyVM *vm, AsyObj *self) {
    asy_gc_mark_value(vm, ((AsyCallIter *)self)->func);
    asy_gc_mark_value(vm, ((AsyCallIter *)self)->sentinel);
}

/* ---- types ---- */

static AsyType *make_type(AsyVM *vm, AsyTypeId id, const char *name, size_t size,
                          AsyValue (*next)(AsyVM *, AsyValue), void (*traverse)(AsyVM *, AsyObj *),
                          AsyValue (*new_)(AsyVM *, AsyType *, int, AsyValue *, AsyDict *)) {
    AsyType *t = asy_type_new_builtin(vm, name, ASY_TYPE(vm, object), size);
    t->iter = iter_self;
    t->next = next;
    t->traverse = traverse;
    if (new_) {
        t->new_ = new_;
        t->tflags |= ASY_TYPE_BASETYPE;
    }
    asy_type_ready(vm, t);
    vm->types[id] = t;
    return t;
}

void asy_iterobjects_init(AsyVM *vm) {
    make_type(vm, ASY_TYPE_enumerate, "enumerate", sizeof(AsyEnumerate), enumerate_next,
              enumerate_traverse, enumerate_new);
    make_type(vm, ASY_TYPE_zip, "zip", sizeof(AsyZip), zip_next, zip_traverse, zip_new);
    make_type(vm, ASY_TYPE_map, "map", sizeof(AsyMap), map_next, map_traverse, map_new);
    make_type(vm, ASY_TYPE_filter, "filter", sizeof(AsyFilter), filter_next, filter_traverse,
              filter_new);
    make_type(vm, ASY_TYPE_reversed, "reversed", sizeof(AsySeqIter), reversed_next,
              seqiter_traverse, reversed_new);
    make_type(vm, ASY_TYPE_seq_iterator, "iterator", sizeof(AsySeqIter), seqiter_next,
              seqiter_traverse, NULL);
    make_type(vm, ASY_TYPE_callable_iterator, "callable_iterator", sizeof(AsyCallIter),
              calliter_next, calliter_traverse, NULL);
}
