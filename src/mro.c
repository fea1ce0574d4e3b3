/* mro.c - multiple inheritance: which of a class's bases gives it its instance layout
 * (CPython's best_base, with its "lay-out conflict" error) and its method resolution
 * order by C3 linearisation (CPython's mro_implementation, with its errors). The
 * result lives in AsyType's base, bases and mro; AsyMroIter (object.h) walks it.
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#include "vm.h"

/* The nearest type at or above t whose instances differ from its base's: two bases are
 * compatible when one's solid base derives from the other's. */
static AsyType *solid_base(AsyType *t) {
    t = asy_type_builtin_base(t);
    while (t->base && !(t->tflags & ASY_TYPE_SOLID) && t->basicsize == t->base->basicsize)
        t = t->base;
    return t;
}

AsyType *asy_mro_best_base(AsyVM *vm, AsyType **bases, int n) {
    AsyType *base = NULL, *winner = NULL;
    for (int i = 0; i < n; i++) {
        AsyType *b = bases[i];
        if (!(b->tflags & ASY_TYPE_BASETYPE)) {
            asy_raise(vm, ASY_EXC_TypeError, "type '%s' is not an acceptable base type", b->name);
            return NULL;
        }
        AsyType *cand = solid_base(b);
        if (winner && asy_is_subtype(winner, cand)) continue;
        if (winner && !asy_is_subtype(cand, winner)) {
            asy_raise(vm, ASY_EXC_TypeError, "multiple bases have instance lay-out conflict");
            return NULL;
        }
        winner = cand;
        base = b;
    }
    return base;
}

/* One list C3 merges: a base's MRO, or the bases themselves; `pos` is its head. */
typedef struct {
    AsyType **items;
    int64_t len, pos;
} MergeSeq;

static int64_t mro_length(AsyType *t) {
    int64_t n = 0;
    for (AsyMroIter it = asy_mro_begin(t); it.t; asy_mro_next(&it))
        n++;
    return n;
}

/* Does c occur in some list after that list's head? Then it cannot come next. */
static bool in_some_tail(const MergeSeq *seqs, int nseqs, AsyType *c) {
    for (int i = 0; i < nseqs; i++)
        for (int64_t j = seqs[i].pos + 1; j < seqs[i].len; j++)
            if (seqs[i].items[j] == c) return true;
    return false;
}

/* CPython's message names each distinct head left, in the order of the lists. */
static void raise_inconsistent(AsyVM *vm, const MergeSeq *seqs, int nseqs) {
    AsyStrBuf b;
    asy_strbuf_init(&b);
    asy_strbuf_append_cstr(vm, &b,
                           "Cannot create a consistent method resolution\norder (MRO) for bases");
    for (int i = 0, shown = 0; i < nseqs; i++) {
        if (seqs[i].pos >= seqs[i].len) continue;
        AsyType *h = seqs[i].items[seqs[i].pos];
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = seqs[j].pos < seqs[j].len && seqs[j].items[seqs[j].pos] == h;
        if (seen) continue;
        asy_strbuf_printf(vm, &b, "%s %s", shown++ ? "," : "", h->name);
    }
    AsyStr *msg = asy_strbuf_finish(vm, &b);
    if (msg) asy_raise(vm, ASY_EXC_TypeError, "%U", msg);
}

/* The C3 merge of seqs into out (which already holds the class itself). */
static bool c3_merge(AsyVM *vm, MergeSeq *seqs, int nseqs, AsyType **out, int64_t *nout) {
    for (;;) {
        AsyType *next = NULL;
        bool left = false;
        for (int i = 0; i < nseqs && !next; i++) {
            if (seqs[i].pos >= seqs[i].len) continue;
            left = true;
            AsyType *h = seqs[i].items[seqs[i].pos];
            if (!in_some_tail(seqs, nseqs, h)) next = h;
        }
        if (!left) return true;
        if (!next) {
            raise_inconsistent(vm, seqs, nseqs);
            return false;
        }
        out[(*nout)++] = next;
        for (int i = 0; i < nseqs; i++)
            if (seqs[i].pos < seqs[i].len && seqs[i].items[seqs[i].pos] == next) seqs[i].pos++;
    }
}

/* Fills seqs (n + 1 of them) and their one shared item array; false on MemoryError. */
static AsyType **merge_input(AsyVM *vm, AsyType **bases, int n, MergeSeq *seqs, size_t *size) {
    int64_t total = n;
    for (int i = 0; i < n; i++)
        total += mro_length(bases[i]);
    *size = (size_t)total * sizeof(AsyType *);
    AsyType **items = asy_mem_alloc(vm, *size);
    if (!items) return NULL;
    AsyType **p = items;
    for (int i = 0; i < n; i++) {
        seqs[i] = (MergeSeq){p, 0, 0};
        for (AsyMroIter it = asy_mro_begin(bases[i]); it.t; asy_mro_next(&it))
            p[seqs[i].len++] = it.t;
        p += seqs[i].len;
    }
    memcpy(p, bases, (size_t)n * sizeof *bases);
    seqs[n] = (MergeSeq){p, n, 0};
    return items;
}

static bool check_duplicates(AsyVM *vm, AsyType **bases, int n) {
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (bases[i] == bases[j]) {
                asy_raise(vm, ASY_EXC_TypeError, "duplicate base class %s", bases[i]->name);
                return false;
            }
    return true;
}

static AsyTuple *types_tuple(AsyVM *vm, AsyType **types, int64_t n) {
    AsyTuple *tup = asy_tuple_new(vm, n);
    if (!tup) return NULL;
    for (int64_t i = 0; i < n; i++)
        tup->items[i] = ASY_OBJ(types[i]);
    return tup;
}

AsyTuple *asy_mro_compute(AsyVM *vm, AsyType *t, AsyType **bases, int n) {
    if (!check_duplicates(vm, bases, n)) return NULL;
    MergeSeq *seqs = asy_mem_alloc(vm, (size_t)(n + 1) * sizeof *seqs);
    if (!seqs) return NULL;
    size_t size = 0;
    AsyType **items = merge_input(vm, bases, n, seqs, &size);
    AsyType **out = items ? asy_mem_alloc(vm, size + sizeof(AsyType *)) : NULL;
    AsyTuple *mro = NULL;
    int64_t nout = 1;
    if (out) {
        out[0] = t;
        if (c3_merge(vm, seqs, n + 1, out, &nout)) mro = types_tuple(vm, out, nout);
    }
    asy_mem_free(vm, out, size + sizeof(AsyType *));
    asy_mem_free(vm, items, size);
    asy_mem_free(vm, seqs, (size_t)(n + 1) * sizeof *seqs);
    return mro;
}

bool asy_mro_set_bases(AsyVM *vm, AsyType *t, AsyType **bases, int n) {
    asy_root_push(vm, ASY_OBJ(t));
    AsyTuple *tb = types_tuple(vm, bases, n);
    bool ok = false;
    if (tb) {
        asy_root_push(vm, ASY_OBJ(tb));
        AsyTuple *mro = asy_mro_compute(vm, t, bases, n);
        asy_root_pop(vm, 1);
        if (mro) {
            t->bases = tb;
            t->mro = mro;
            asy_type_modified(vm, t);
            ok = true;
        }
    }
    asy_root_pop(vm, 1);
    return ok;
}
