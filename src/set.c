/* set.c - set, frozenset and set_iterator.
 *
 * The hash table follows CPython 3.11's setobject.c step for step (linear probes of 9,
 * then perturbation; reuse of the last dummy passed on insert; growth when fill*5 >= mask*3 to
 * used*4, or used*2 past 50000; the same merge, copy, intersection and difference
 * strategies, and the same pop finger), because the iteration order of a set is visible:
 * print({3, 1, 2}) must show what CPython shows. frozenset's hash is CPython's too.
 * (Behaviour was pinned down by experiment against python3.11, e.g. which dummy an insert
 * reuses.) */
#include "common.h"

#include <string.h>

#include "containers.h"
#include "vm.h"

#define SET_MINSIZE 8
#define LINEAR_PROBES 9
#define PERTURB_SHIFT 5
#define SET(v) ((AsySet *)ASY_AS_OBJ(v))

typedef struct {
    AsyObj hdr;
    AsySet *set;             /* NULL once exhausted                                  */
    int64_t pos;
    int64_t used;            /* set->len when iteration began                        */
} AsySetIter;

static inline bool entry_empty(const AsySetEntry *e) {
    return ASY_IS_UNDEF(e->key) && e->hash == 0;
}

static inline bool entry_live(const AsySetEntry *e) {
    return !ASY_IS_UNDEF(e->key);
}

static bool is_anyset(AsyVM *vm, AsyValue v) {
    return cont_is_kind(vm, v, ASY_TYPE_set) || cont_is_kind(vm, v, ASY_TYPE_frozenset);
}

static AsySetEntry *table_alloc(AsyVM *vm, int64_t size) {
    AsySetEntry *t = asy_mem_alloc(vm, (size_t)size * sizeof(AsySetEntry));
    if (t) memset(t, 0, (size_t)size * sizeof(AsySetEntry));
    return t;
}

static void table_free(AsyVM *vm, AsySet *s) {
    asy_mem_free(vm, s->table, (size_t)(s->mask + 1) * sizeof(AsySetEntry));
    s->table = NULL;
}

/* A new empty set of `type` (set, frozenset or a subclass). */
static AsySet *set_alloc(AsyVM *vm, AsyType *type) {
    AsySetEntry *table = table_alloc(vm, SET_MINSIZE);
    if (!table) return NULL;
    AsySet *s = asy_gc_alloc(vm, type, type->basicsize);
    s->table = table;
    s->mask = SET_MINSIZE - 1;
    s->hash = -1;
    return s;
}

/* The base type of results: set for set subclasses, frozenset otherwise (CPython's
 * make_new_set_basetype). */
static AsyType *result_type(AsyVM *vm, AsySet *s) {
    return asy_is_subtype(s->hdr.type, ASY_TYPE(vm, set)) ? ASY_TYPE(vm, set)
                                                          : ASY_TYPE(vm, frozenset);
}

/* ---- the table ---- */

static void insert_clean(AsySetEntry *table, uint64_t mask, AsyValue key, int64_t hash) {
    uint64_t perturb = (uint64_t)hash, i = (uint64_t)hash & mask;
    AsySetEntry *e;
    for (;;) {
        e = &table[i];
        if (ASY_IS_UNDEF(e->key)) goto found;
        if (i + LINEAR_PROBES <= mask) {
            for (int j = 0; j < LINEAR_PROBES; j++) {
                e++;
                if (ASY_IS_UNDEF(e->key)) goto found;
            }
        }
        perturb >>= PERTURB_SHIFT;
        i = (i * 5 + 1 + perturb) & mask;
    }
found:
    e->key = key;
    e->hash = hash;
}

static int table_resize(AsyVM *vm, AsySet *s, int64_t minused) {
    int64_t size = SET_MINSIZE;
    while (size <= minused) {
        size <<= 1;
        if (size > ((int64_t)1 << 40) / (int64_t)sizeof(AsySetEntry)) {
            asy_raise_memory(vm);
            return -1;
        }
    }
    AsySetEntry *nt = table_alloc(vm, size);
    if (!nt) return -1;
    AsySetEntry *old = s->table;
    int64_t oldmask = s->mask;
    for (int64_t i = 0; i <= oldmask; i++)
        if (entry_live(&old[i])) insert_clean(nt, (uint64_t)size - 1, old[i].key, old[i].hash);
    asy_mem_free(vm, old, (size_t)(oldmask + 1) * sizeof(AsySetEntry));
    s->table = nt;
    s->mask = size - 1;
    s->fill = s->len;
    return 0;
}

static int resize_after_growth(AsyVM *vm, AsySet *s) {
    return table_resize(vm, s, s->len > 50000 ? s->len * 2 : s->len * 4);
}

/* Index of key's entry, -1 when absent, -2 on error. */
static int64_t set_lookkey(AsyVM *vm, AsySet *s, AsyValue key, int64_t hash) {
restart:;
    uint64_t mask = (uint64_t)s->mask, perturb = (uint64_t)hash;
    uint64_t i = (uint64_t)hash & mask;
    for (;;) {
        uint64_t j = i;
        int probes = (i + LINEAR_PROBES <= mask) ? LINEAR_PROBES : 0;
        do {
            AsySetEntry *e = &s->table[j];
            if (entry_empty(e)) return -1;
            if (e->hash == hash) {
                AsyValue start = e->key;
                if (asy_value_is(start, key)) return (int64_t)j;
                AsySetEntry *table = s->table;
                int r = cont_eq(vm, start, key);
                if (r < 0) return -2;
                if (table != s->table || !asy_value_is(s->table[j].key, start)) goto restart;
                if (r > 0) return (int64_t)j;
                mask = (uint64_t)s->mask;
            }
            j++;
        } while (probes--);
        perturb >>= PERTURB_SHIFT;
        i = (i * 5 + 1 + perturb) & mask;
    }
}

static int set_add_entry(AsyVM *vm, AsySet *s, AsyValue key, int64_t hash) {
restart:;
    uint64_t mask = (uint64_t)s->mask, perturb = (uint64_t)hash;
    uint64_t i = (uint64_t)hash & mask;
    int64_t freeslot = -1;
    AsySetEntry *e;
    for (;;) {
        uint64_t j = i;
        int probes = (i + LINEAR_PROBES <= mask) ? LINEAR_PROBES : 0;
        do {
            e = &s->table[j];
            if (entry_empty(e)) goto found_unused_or_dummy;
            if (e->hash == hash) {
                AsyValue start = e->key;
                if (asy_value_is(start, key)) return 0;
                AsySetEntry *table = s->table;
                int r = cont_eq(vm, start, key);
                if (r > 0) return 0;
                if (r < 0) return -1;
                if (table != s->table || !asy_value_is(s->table[j].key, start)) goto restart;
                mask = (uint64_t)s->mask;
            } else if (e->hash == -1) {
                freeslot = (int64_t)j;   /* the LAST dummy on the path, as CPython 3.11 */
            }
            j++;
        } while (probes--);
        perturb >>= PERTURB_SHIFT;
        i = (i * 5 + 1 + perturb) & mask;
    }
found_unused_or_dummy:
    s->version++;
    s->len++;
    if (freeslot >= 0) {
        s->table[freeslot].key = key;
        s->table[freeslot].hash = hash;
        return 0;
    }
    s->fill++;
    e->key = key;
    e->hash = hash;
    if ((uint64_t)s->fill * 5 < mask * 3) return 0;
    return resize_after_growth(vm, s);
}

/* Add with s, key (and the caller's values) rooted while user __eq__ may run. */
static int set_add_rooted(AsyVM *vm, AsySet *s, AsyValue key, int64_t hash) {
    if (cont_eq_is_simple(vm, key, key)) return set_add_entry(vm, s, key, hash);
    asy_root_push(vm, ASY_OBJ(s));
    asy_root_push(vm, key);
    int rc = set_add_entry(vm, s, key, hash);
    asy_root_pop(vm, 2);
    return rc;
}

static int64_t set_lookkey_rooted(AsyVM *vm, AsySet *s, AsyValue key, int64_t hash) {
    if (cont_eq_is_simple(vm, key, key)) return set_lookkey(vm, s, key, hash);
    asy_root_push(vm, ASY_OBJ(s));
    asy_root_push(vm, key);
    int64_t ix = set_lookkey(vm, s, key, hash);
    asy_root_pop(vm, 2);
    return ix;
}

/* 1 removed, 0 absent, -1 error. */
static int set_discard_entry(AsyVM *vm, AsySet *s, AsyValue key, int64_t hash) {
    int64_t ix = set_lookkey_rooted(vm, s, key, hash);
    if (ix == -2) return -1;
    if (ix < 0) return 0;
    s->table[ix].key = ASY_UNDEF;
    s->table[ix].hash = -1;
    s->len--;
    s->version++;
    return 1;
}

static bool set_next(AsySet *s, int64_t *pos, AsySetEntry **out) {
    while (*pos <= s->mask) {
        AsySetEntry *e = &s->table[(*pos)++];
        if (entry_live(e)) {
            *out = e;
            return true;
        }
    }
    return false;
}

static void set_clear_internal(AsyVM *vm, AsySet *s) {
    AsySetEntry *t = table_alloc(vm, SET_MINSIZE);
    if (!t) {                       /* keep the old table, just emptied */
        asy_exc_clear(vm);
        memset(s->table, 0, (size_t)(s->mask + 1) * sizeof(AsySetEntry));
    } else {
        table_free(vm, s);
        s->table = t;
        s->mask = SET_MINSIZE - 1;
    }
    s->len = s->fill = 0;
    s->version++;
}

/* ---- keys from values ---- */

/* hash(key), where an unhashable set is looked up as the equal frozenset (CPython). *conv
 * receives the key to use. */
static bool key_hash(AsyVM *vm, AsyValue key, int64_t *hash, AsyValue *conv) {
    *conv = key;
    if (cont_hash(vm, key, hash)) return true;
    if (!cont_is_kind(vm, key, ASY_TYPE_set) || !asy_exc_matches(vm, ASY_EXC_TypeError))
        return false;
    asy_exc_clear(vm);
    AsySet *f = set_alloc(vm, ASY_TYPE(vm, frozenset));
    if (!f) return false;
    asy_root_push(vm, ASY_OBJ(f));
    int rc = asy_set_update(vm, f, key);
    asy_root_pop(vm, 1);
    if (rc < 0) return false;
    *conv = ASY_OBJ(f);
    return asy_hash(vm, *conv, hash);
}

static int set_contains_key(AsyVM *vm, AsySet *s, AsyValue key) {
    int64_t hash;
    AsyValue k;
    if (!key_hash(vm, key, &hash, &k)) return -1;
    int64_t ix = set_lookkey_rooted(vm, s, k, hash);
    return ix == -2 ? -1 : ix >= 0;
}

static int set_discard_key(AsyVM *vm, AsySet *s, AsyValue key) {
    int64_t hash;
    AsyValue k;
    if (!key_hash(vm, key, &hash, &k)) return -1;
    return set_discard_entry(vm, s, k, hash);
}

/* ---- public API (vm.h) ---- */

AsySet *asy_set_new(AsyVM *vm, bool frozen) {
    return set_alloc(vm, frozen ? ASY_TYPE(vm, frozenset) : ASY_TYPE(vm, set));
}

int asy_set_add(AsyVM *vm, AsySet *s, AsyValue key) {
    int64_t hash;
    if (ASY_LIKELY(ASY_IS_INTLIKE(key) || cont_is_str(vm, key))) {
        cont_hash(vm, key, &hash);
        return set_add_entry(vm, s, key, hash);
    }
    asy_root_push(vm, ASY_OBJ(s));   /* a user __hash__ may collect */
    bool ok = cont_hash(vm, key, &hash);
    asy_root_pop(vm, 1);
    return ok ? set_add_rooted(vm, s, key, hash) : -1;
}

int asy_set_contains(AsyVM *vm, AsySet *s, AsyValue key) {
    return set_contains_key(vm, s, key);
}

int asy_set_discard(AsyVM *vm, AsySet *s, AsyValue key) {
    return set_discard_key(vm, s, key);
}

/* ---- bulk operations ---- */

static int set_merge(AsyVM *vm, AsySet *s, AsySet *other) {
    if (other == s || other->len == 0) return 0;
    if ((s->fill + other->len) * 5 >= s->mask * 3 &&
        table_resize(vm, s, (s->len + other->len) * 2) < 0)
        return -1;
    /* Empty target of the same size and no dummies in the source: copy the table. */
    if (s->fill == 0 && s->mask == other->mask && other->fill == other->len) {
        memcpy(s->table, other->table, (size_t)(s->mask + 1) * sizeof(AsySetEntry));
        s->fill = other->fill;
        s->len = other->len;
        s->version++;
        return 0;
    }
    if (s->fill == 0) {
        for (int64_t i = 0; i <= other->mask; i++)
            if (entry_live(&other->table[i]))
                insert_clean(s->table, (uint64_t)s->mask, other->table[i].key, other->table[i].hash);
        s->fill = s->len = other->len;
        s->version++;
        return 0;
    }
    asy_root_push(vm, ASY_OBJ(other));
    for (int64_t i = 0; i <= other->mask; i++) {
        AsySetEntry e = other->table[i];
        if (entry_live(&e) && set_add_rooted(vm, s, e.key, e.hash) < 0) {
            asy_root_pop(vm, 1);
            return -1;
        }
    }
    asy_root_pop(vm, 1);
    return 0;
}

static int set_update_iter(AsyVM *vm, AsySet *s, AsyValue iterable) {
    AsyValue it = asy_iter(vm, iterable);
    if (ASY_IS_ERR(it)) return -1;
    asy_root_push(vm, it);
    int rc = 0;
    for (;;) {
        AsyValue x = asy_next(vm, it);
        if (ASY_IS_UNDEF(x)) break;
        if (ASY_IS_ERR(x) || asy_set_add(vm, s, x) < 0) {
            rc = -1;
            break;
        }
    }
    asy_root_pop(vm, 1);
    return rc;
}

int asy_set_update(AsyVM *vm, AsySet *s, AsyValue other) {
    if (is_anyset(vm, other)) return set_merge(vm, s, SET(other));
    if (cont_is_type(vm, other, ASY_TYPE_dict)) {
        AsyDict *d = (AsyDict *)ASY_AS_OBJ(other);
        if ((s->fill + d->len) * 5 >= s->mask * 3 && table_resize(vm, s, (s->len + d->len) * 2) < 0)
            return -1;
        asy_root_push(vm, other);
        AsyValue key;
        int64_t hash;
        for (int64_t pos = 0; asy_dict_next_hash(d, &pos, &key, NULL, &hash);) {
            if (set_add_rooted(vm, s, key, hash) < 0) {
                asy_root_pop(vm, 1);
                return -1;
            }
        }
        asy_root_pop(vm, 1);
        return 0;
    }
    if (cont_is_kind(vm, other, ASY_TYPE_list) || cont_is_kind(vm, other, ASY_TYPE_tuple)) {
        /* Read the items directly: adding never runs code for int/str keys. */
        asy_root_push(vm, other);
        for (int64_t i = 0;; i++) {
            AsyValue *items;
            int64_t n;
            if (cont_is_kind(vm, other, ASY_TYPE_list)) {
                items = ((AsyList *)ASY_AS_OBJ(other))->items;
                n = ((AsyList *)ASY_AS_OBJ(other))->len;
            } else {
                items = ((AsyTuple *)ASY_AS_OBJ(other))->items;
                n = ((AsyTuple *)ASY_AS_OBJ(other))->len;
            }
            if (i >= n) break;
            if (asy_set_add(vm, s, items[i]) < 0) {
                asy_root_pop(vm, 1);
                return -1;
            }
        }
        asy_root_pop(vm, 1);
        return 0;
    }
    return set_update_iter(vm, s, other);
}

/* A new set of `type` holding the items of iterable (UNDEF: empty). */
static AsySet *make_new_set(AsyVM *vm, AsyType *type, AsyValue iterable) {
    AsySet *s = set_alloc(vm, type);
    if (!s || ASY_IS_UNDEF(iterable)) return s;
    asy_root_push(vm, ASY_OBJ(s));
    int rc = asy_set_update(vm, s, iterable);
    asy_root_pop(vm, 1);
    return rc < 0 ? NULL : s;
}

static AsySet *set_copy(AsyVM *vm, AsySet *s) {
    return make_new_set(vm, result_type(vm, s), ASY_OBJ(s));
}

static AsySet *set_intersection(AsyVM *vm, AsySet *s, AsyValue other) {
    if (ASY_IS_OBJ(other) && ASY_AS_OBJ(other) == &s->hdr) return set_copy(vm, s);
    AsySet *r = set_alloc(vm, result_type(vm, s));
    if (!r) return NULL;
    asy_root_push(vm, ASY_OBJ(r));
    asy_root_push(vm, ASY_OBJ(s));
    asy_root_push(vm, other);
    int rc = 0;
    if (is_anyset(vm, other)) {
        AsySet *a = s, *b = SET(other);
        if (b->len > a->len) {
            AsySet *t = a;
            a = b;
            b = t;
        }
        int64_t pos = 0;
        AsySetEntry *e;
        while (rc == 0 && set_next(b, &pos, &e)) {
            AsySetEntry cur = *e;
            int64_t ix = set_lookkey_rooted(vm, a, cur.key, cur.hash);
            if (ix == -2) rc = -1;
            else if (ix >= 0) rc = set_add_rooted(vm, r, cur.key, cur.hash);
        }
    } else {
        AsyValue it = asy_iter(vm, other);
        rc = ASY_IS_ERR(it) ? -1 : 0;
        if (rc == 0) asy_root_push(vm, it);
        while (rc == 0) {
            AsyValue x = asy_next(vm, it);
            if (ASY_IS_UNDEF(x)) break;
            int64_t hash;
            if (ASY_IS_ERR(x) || !cont_hash(vm, x, &hash)) {
                rc = -1;
                break;
            }
            int64_t ix = set_lookkey_rooted(vm, s, x, hash);
            if (ix == -2) rc = -1;
            else if (ix >= 0) rc = set_add_rooted(vm, r, x, hash);
        }
        if (!ASY_IS_ERR(it)) asy_root_pop(vm, 1);
    }
    asy_root_pop(vm, 3);
    return rc < 0 ? NULL : r;
}

/* As CPython's set_swap_bodies: the table moves, the pop finger stays. */
static void set_swap_bodies(AsySet *a, AsySet *b) {
    AsySet t = *a;
    a->len = b->len;
    a->fill = b->fill;
    a->mask = b->mask;
    a->table = b->table;
    a->version++;
    b->len = t.len;
    b->fill = t.fill;
    b->mask = t.mask;
    b->table = t.table;
}

static int set_intersection_update(AsyVM *vm, AsySet *s, AsyValue other) {
    AsySet *tmp = set_intersection(vm, s, other);
    if (!tmp) return -1;
    set_swap_bodies(s, tmp);
    return 0;
}

static int set_difference_update(AsyVM *vm, AsySet *s, AsyValue other) {
    if (ASY_IS_OBJ(other) && ASY_AS_OBJ(other) == &s->hdr) {
        set_clear_internal(vm, s);
        return 0;
    }
    if (is_anyset(vm, other)) {
        AsySet *o = SET(other);
        if ((o->len >> 3) > s->len) {
            o = set_intersection(vm, s, other);
            if (!o) return -1;
        }
        asy_root_push(vm, ASY_OBJ(o));
        int64_t pos = 0;
        AsySetEntry *e;
        while (set_next(o, &pos, &e)) {
            AsySetEntry cur = *e;
            if (set_discard_entry(vm, s, cur.key, cur.hash) < 0) {
                asy_root_pop(vm, 1);
                return -1;
            }
        }
        asy_root_pop(vm, 1);
    } else {
        AsyValue it = asy_iter(vm, other);
        if (ASY_IS_ERR(it)) return -1;
        asy_root_push(vm, it);
        for (;;) {
            AsyValue x = asy_next(vm, it);
            if (ASY_IS_UNDEF(x)) break;
            if (ASY_IS_ERR(x) || set_discard_key(vm, s, x) < 0) {
                asy_root_pop(vm, 1);
                return -1;
            }
        }
        asy_root_pop(vm, 1);
    }
    /* More than a quarter dummies: resize them away. */
    if (s->fill - s->len <= s->mask / 4) return 0;
    return resize_after_growth(vm, s);
}

static AsySet *set_difference(AsyVM *vm, AsySet *s, AsyValue other) {
    int64_t other_size;
    if (is_anyset(vm, other)) other_size = SET(other)->len;
    else if (cont_is_type(vm, other, ASY_TYPE_dict)) other_size = ((AsyDict *)ASY_AS_OBJ(other))->len;
    else other_size = -1;
    if (other_size < 0 || (s->len >> 2) > other_size) {
        AsySet *r = set_copy(vm, s);
        if (!r) return NULL;
        asy_root_push(vm, ASY_OBJ(r));
        int rc = set_difference_update(vm, r, other);
        asy_root_pop(vm, 1);
        return rc < 0 ? NULL : r;
    }
    AsySet *r = set_alloc(vm, result_type(vm, s));
    if (!r) return NULL;
    asy_root_push(vm, ASY_OBJ(r));
    asy_root_push(vm, ASY_OBJ(s));
    asy_root_push(vm, other);
    int64_t pos = 0;
    AsySetEntry *e;
    int rc = 0;
    while (rc == 0 && set_next(s, &pos, &e)) {
        AsySetEntry cur = *e;
        int in;
        if (is_anyset(vm, other)) {
            int64_t ix = set_lookkey_rooted(vm, SET(other), cur.key, cur.hash);
            in = ix == -2 ? -1 : ix >= 0;
        } else {
            in = asy_contains(vm, other, cur.key);
        }
        if (in < 0) rc = -1;
        else if (!in) rc = set_add_rooted(vm, r, cur.key, cur.hash);
    }
    asy_root_pop(vm, 3);
    return rc < 0 ? NULL : r;
}

static int set_symmetric_difference_update(AsyVM *vm, AsySet *s, AsyValue other) {
    if (ASY_IS_OBJ(other) && ASY_AS_OBJ(other) == &s->hdr) {
        set_clear_internal(vm, s);
        return 0;
    }
    AsySet *o;
    if (is_anyset(vm, other)) {
        o = SET(other);
    } else {
        o = make_new_set(vm, result_type(vm, s), other);
        if (!o) return -1;
    }
    asy_root_push(vm, ASY_OBJ(o));
    int64_t pos = 0;
    AsySetEntry *e;
    int rc = 0;
    while (rc == 0 && set_next(o, &pos, &e)) {
        AsySetEntry cur = *e;
        int r = set_discard_entry(vm, s, cur.key, cur.hash);
        if (r < 0) rc = -1;
        else if (r == 0) rc = set_add_rooted(vm, s, cur.key, cur.hash);
    }
    asy_root_pop(vm, 1);
    return rc;
}

static AsySet *set_symmetric_difference(AsyVM *vm, AsySet *s, AsyValue other) {
    AsySet *r = make_new_set(vm, result_type(vm, s), other);
    if (!r) return NULL;
    asy_root_push(vm, ASY_OBJ(r));
    int rc = set_symmetric_difference_update(vm, r, ASY_OBJ(s));
    asy_root_pop(vm, 1);
    return rc < 0 ? NULL : r;
}

int asy_cont_set_inplace(AsyVM *vm, AsySet *s, AsyValue other, AsyBinOp op) {
    switch (op) {
    case ASY_BIN_OR: return asy_set_update(vm, s, other);
    case ASY_BIN_AND: return set_intersection_update(vm, s, other);
    case ASY_BIN_SUB: return set_difference_update(vm, s, other);
    case ASY_BIN_XOR: return set_symmetric_difference_update(vm, s, other);
    default: return 0;
    }
}

/* 1 when every item of s is in other (a set), 0, -1. */
static int set_issubset(AsyVM *vm, AsySet *s, AsySet *other) {
    if (s->len > other->len) return 0;
    asy_root_push(vm, ASY_OBJ(s));
    asy_root_push(vm, ASY_OBJ(other));
    int64_t pos = 0;
    AsySetEntry *e;
    int r = 1;
    while (set_next(s, &pos, &e)) {
        AsySetEntry cur = *e;
        int64_t ix = set_lookkey_rooted(vm, other, cur.key, cur.hash);
        if (ix < 0) {
            r = ix == -2 ? -1 : 0;
            break;
        }
    }
    asy_root_pop(vm, 2);
    return r;
}

/* CPython compiles a display of 3+ constants, {3, 1, 2}, to a frozenset constant that
 * set.update() copies; and its constant merging rebuilds that frozenset from its own
 * iteration order. Both passes shape the table, so the same is done here. */
AsyValue asy_frozenset_const(AsyVM *vm, AsyValue items) {
    AsySet *f = make_new_set(vm, ASY_TYPE(vm, frozenset), items);
    if (!f) return ASY_ERR;
    asy_root_push(vm, ASY_OBJ(f));
    AsyList *order = asy_list_new(vm, f->len);
    AsySet *g = NULL;
    if (order) {
        int64_t pos = 0;
        AsySetEntry *e;
        while (set_next(f, &pos, &e)) asy_list_append(vm, order, e->key);
        asy_root_push(vm, ASY_OBJ(order));
        g = make_new_set(vm, ASY_TYPE(vm, frozenset), ASY_OBJ(order));
        asy_root_pop(vm, 1);
    }
    asy_root_pop(vm, 1);
    return g ? ASY_OBJ(g) : ASY_ERR;
}

/* ---- slots ---- */

static AsyValue set_repr(AsyVM *vm, AsyValue self) {
    AsySet *s = SET(self);
    AsyType *t = s->hdr.type;
    bool plain = t == ASY_TYPE(vm, set);
    if (s->len == 0) return ASY_OBJ(asy_str_printf(vm, "%s()", t->name));
    int g = asy_repr_enter(vm, &s->hdr);
    if (g < 0) return ASY_ERR;
    if (g > 0) return ASY_OBJ(asy_str_printf(vm, "%s(...)", t->name));
    AsyStrBuf b;
    asy_strbuf_init(&b);
    if (!plain) asy_strbuf_printf(vm, &b, "%s(", t->name);
    asy_strbuf_append(vm, &b, "{", 1);
    int64_t pos = 0, n = 0;
    AsySetEntry *e;
    while (set_next(s, &pos, &e)) {
        if (n++ > 0) asy_strbuf_append(vm, &b, ", ", 2);
        AsyValue r = asy_repr(vm, e->key);
        if (ASY_IS_ERR(r)) {
            asy_strbuf_free(&b);
            asy_repr_leave(vm, &s->hdr);
            return ASY_ERR;
        }
        asy_strbuf_append_str(vm, &b, (AsyStr *)ASY_AS_OBJ(r));
    }
    asy_strbuf_append_cstr(vm, &b, plain ? "}" : "})");
    asy_repr_leave(vm, &s->hdr);
    AsyStr *str = asy_strbuf_finish(vm, &b);
    return str ? ASY_OBJ(str) : ASY_ERR;
}

static uint64_t shuffle_bits(uint64_t h) {
    return ((h ^ 89869747UL) ^ (h << 16)) * 3644798167UL;
}

/* CPython 3.11 frozenset_hash. */
static bool frozenset_hash(AsyVM *vm, AsyValue self, int64_t *out) {
    ASY_UNUSED(vm);
    AsySet *s = SET(self);
    if (s->hash != -1) {
        *out = s->hash;
        return true;
    }
    uint64_t hash = 0;
    for (int64_t i = 0; i <= s->mask; i++) hash ^= shuffle_bits((uint64_t)s->table[i].hash);
    if ((s->mask + 1 - s->fill) & 1) hash ^= shuffle_bits(0);
    if ((s->fill - s->len) & 1) hash ^= shuffle_bits((uint64_t)-1);
    hash ^= ((uint64_t)s->len + 1) * 1927868237UL;
    hash ^= (hash >> 11) ^ (hash >> 25);
    hash = hash * 69069U + 907133923UL;
    if (hash == (uint64_t)-1) hash = 590923713UL;
    s->hash = (int64_t)hash;
    *out = s->hash;
    return true;
}

static AsyValue set_richcompare(AsyVM *vm, AsyValue self, AsyValue other, AsyCmpOp op) {
    if (!is_anyset(vm, self) || !is_anyset(vm, other)) return cont_not_implemented(vm);
    AsySet *a = SET(self), *b = SET(other);
    int r;
    switch (op) {
    case ASY_CMP_EQ:
    case ASY_CMP_NE:
        if (a->len != b->len) r = 0;
        else if (a->hash != -1 && b->hash != -1 && a->hash != b->hash) r = 0;
        else r = set_issubset(vm, a, b);
        if (r >= 0 && op == ASY_CMP_NE) r = !r;
        break;
    case ASY_CMP_LE: r = set_issubset(vm, a, b); break;
    case ASY_CMP_GE: r = set_issubset(vm, b, a); break;
    case ASY_CMP_LT: r = a->len < b->len ? set_issubset(vm, a, b) : 0; break;
    default: r = a->len > b->len ? set_issubset(vm, b, a) : 0; break;
    }
    return r < 0 ? ASY_ERR : ASY_BOOL(r);
}

static int set_truth(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm);
    return SET(self)->len != 0;
}

static int64_t set_len(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm);
    return SET(self)->len;
}

static AsyValue set_iter(AsyVM *vm, AsyValue self) {
    AsySetIter *it = asy_gc_alloc(vm, ASY_TYPE(vm, set_iterator), sizeof(AsySetIter));
    it->set = SET(self);
    it->used = it->set->len;
    return ASY_OBJ(it);
}

static int set_contains_slot(AsyVM *vm, AsyValue self, AsyValue key) {
    return set_contains_key(vm, SET(self), key);
}

static AsyValue set_result(AsySet *s) {
    return s ? ASY_OBJ(s) : ASY_ERR;
}

static AsyValue set_binop(AsyVM *vm, AsyValue a, AsyValue b, AsyBinOp op) {
    if (!is_anyset(vm, a) || !is_anyset(vm, b)) return cont_not_implemented(vm);
    bool inplace = op >= ASY_BIN_INPLACE;
    AsyBinOp base = inplace ? (AsyBinOp)(op - ASY_BIN_INPLACE) : op;
    if (base != ASY_BIN_OR && base != ASY_BIN_AND && base != ASY_BIN_SUB && base != ASY_BIN_XOR)
        return cont_not_implemented(vm);
    if (inplace && cont_is_kind(vm, a, ASY_TYPE_set)) {
        if (asy_cont_set_inplace(vm, SET(a), b, base) < 0) return ASY_ERR;
        return a;
    }
    AsySet *s = SET(a);
    switch (base) {
    case ASY_BIN_OR: {
        AsySet *r = set_copy(vm, s);
        if (!r || ASY_AS_OBJ(b) == &s->hdr) return set_result(r);
        asy_root_push(vm, ASY_OBJ(r));
        int rc = asy_set_update(vm, r, b);
        asy_root_pop(vm, 1);
        return rc < 0 ? ASY_ERR : ASY_OBJ(r);
    }
    case ASY_BIN_AND: return set_result(set_intersection(vm, s, b));
    case ASY_BIN_SUB: return set_result(set_difference(vm, s, b));
    default: return set_result(set_symmetric_difference(vm, s, b));
    }
}

static AsyValue set_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    AsySet *s = set_alloc(vm, type);
    if (!s) return ASY_ERR;
    if (type != ASY_TYPE(vm, set)) return ASY_OBJ(s);   /* __init__ fills subclasses */
    if (!asy_check_nokw(vm, "set", kw) || !asy_check_args(vm, "set", argc, 0, 1)) return ASY_ERR;
    if (argc == 0) return ASY_OBJ(s);
    asy_root_push(vm, ASY_OBJ(s));
    int rc = asy_set_update(vm, s, argv[0]);
    asy_root_pop(vm, 1);
    return rc < 0 ? ASY_ERR : ASY_OBJ(s);
}

static AsyValue frozenset_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "frozenset", kw) || !asy_check_args(vm, "frozenset", argc, 0, 1))
        return ASY_ERR;
    if (argc == 1 && type == ASY_TYPE(vm, frozenset) && cont_is_type(vm, argv[0], ASY_TYPE_frozenset))
        return argv[0];
    return set_result(make_new_set(vm, type, argc ? argv[0] : ASY_UNDEF));
}

static uintptr_t set_mark_slice(AsyVM *vm, const void *table, uintptr_t pos, uintptr_t end) {
    const AsySetEntry *t = table;
    uintptr_t stop = end - pos > ASY_GC_SLICE ? pos + ASY_GC_SLICE : end;
    for (uintptr_t i = pos; i < stop; i++) asy_gc_mark_value(vm, t[i].key);
    return stop;
}

static void set_traverse(AsyVM *vm, AsyObj *self) {
    AsySet *s = (AsySet *)self;
    if (s->table) asy_gc_mark_sliced(vm, set_mark_slice, s->table, 0, (uintptr_t)s->mask + 1);
}

static void set_finalize(AsyVM *vm, AsyObj *self) {
    table_free(vm, (AsySet *)self);
}

/* ---- methods ---- */

static AsyValue m_add(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "set.add", argc - 1, 1, 1)) return ASY_ERR;
    return asy_set_add(vm, SET(argv[0]), argv[1]) < 0 ? ASY_ERR : ASY_NONE;
}

static AsyValue m_discard(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "set.discard", argc - 1, 1, 1)) return ASY_ERR;
    return set_discard_key(vm, SET(argv[0]), argv[1]) < 0 ? ASY_ERR : ASY_NONE;
}

static AsyValue m_remove(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "set.remove", argc - 1, 1, 1)) return ASY_ERR;
    int r = set_discard_key(vm, SET(argv[0]), argv[1]);
    if (r < 0) return ASY_ERR;
    if (r == 0) {
        AsyValue e = asy_exc_new(vm, vm->exc_types[ASY_EXC_KeyError], 1, &argv[1]);
        return ASY_IS_ERR(e) ? e : asy_raise_value(vm, e);
    }
    return ASY_NONE;
}

static AsyValue m_pop(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "set.pop", argc - 1, 0, 0)) return ASY_ERR;
    AsySet *s = SET(argv[0]);
    if (s->len == 0) return asy_raise(vm, ASY_EXC_KeyError, "pop from an empty set");
    int64_t i = s->finger & s->mask;
    while (!entry_live(&s->table[i])) i = i + 1 > s->mask ? 0 : i + 1;
    AsyValue key = s->table[i].key;
    s->table[i].key = ASY_UNDEF;
    s->table[i].hash = -1;
    s->len--;
    s->version++;
    s->finger = i + 1;
    return key;
}

static AsyValue m_clear(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "set.clear", argc - 1, 0, 0)) return ASY_ERR;
    set_clear_internal(vm, SET(argv[0]));
    return ASY_NONE;
}

static AsyValue m_copy(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "copy", argc - 1, 0, 0)) return ASY_ERR;
    AsySet *s = SET(argv[0]);
    if (s->hdr.type == ASY_TYPE(vm, frozenset)) return argv[0];
    return set_result(set_copy(vm, s));
}

static AsyValue m_update(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    for (int i = 1; i < argc; i++)
        if (asy_set_update(vm, SET(argv[0]), argv[i]) < 0) return ASY_ERR;
    return ASY_NONE;
}

static AsyValue m_union(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    AsySet *r = set_copy(vm, SET(argv[0]));
    if (!r) return ASY_ERR;
    asy_root_push(vm, ASY_OBJ(r));
    for (int i = 1; i < argc; i++) {
        if (asy_value_is(argv[i], argv[0])) continue;
        if (asy_set_update(vm, r, argv[i]) < 0) {
            asy_root_pop(vm, 1);
            return ASY_ERR;
        }
    }
    asy_root_pop(vm, 1);
    return ASY_OBJ(r);
}

static AsySet *intersection_multi(AsyVM *vm, AsySet *s, int n, AsyValue *others) {
    if (n == 0) return set_copy(vm, s);
    AsySet *r = s;
    for (int i = 0; i < n && r; i++) {
        asy_root_push(vm, ASY_OBJ(r));
        AsySet *next = set_intersection(vm, r, others[i]);
        asy_root_pop(vm, 1);
        r = next;
    }
    return r;
}

static AsyValue m_intersection(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    return set_result(intersection_multi(vm, SET(argv[0]), argc - 1, argv + 1));
}

static AsyValue m_intersection_update(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    AsySet *tmp = intersection_multi(vm, SET(argv[0]), argc - 1, argv + 1);
    if (!tmp) return ASY_ERR;
    set_swap_bodies(SET(argv[0]), tmp);
    return ASY_NONE;
}

static AsyValue m_difference(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    AsySet *s = SET(argv[0]);
    if (argc == 1) return set_result(set_copy(vm, s));
    AsySet *r = set_difference(vm, s, argv[1]);
    if (!r) return ASY_ERR;
    asy_root_push(vm, ASY_OBJ(r));
    for (int i = 2; i < argc; i++) {
        if (set_difference_update(vm, r, argv[i]) < 0) {
            asy_root_pop(vm, 1);
            return ASY_ERR;
        }
    }
    asy_root_pop(vm, 1);
    return ASY_OBJ(r);
}

static AsyValue m_difference_update(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    for (int i = 1; i < argc; i++)
        if (set_difference_update(vm, SET(argv[0]), argv[i]) < 0) return ASY_ERR;
    return ASY_NONE;
}

static AsyValue m_symmetric_difference(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "symmetric_difference", argc - 1, 1, 1)) return ASY_ERR;
    return set_result(set_symmetric_difference(vm, SET(argv[0]), argv[1]));
}

static AsyValue m_symmetric_difference_update(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "symmetric_difference_update", argc - 1, 1, 1)) return ASY_ERR;
    return set_symmetric_difference_update(vm, SET(argv[0]), argv[1]) < 0 ? ASY_ERR : ASY_NONE;
}

/* other as a set: itself when it is one, else a new temporary set (rooted by caller). */
static AsySet *as_set(AsyVM *vm, AsyValue other) {
    if (is_anyset(vm, other)) return SET(other);
    return make_new_set(vm, ASY_TYPE(vm, set), other);
}

static AsyValue m_issubset(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "issubset", argc - 1, 1, 1)) return ASY_ERR;
    AsySet *o = as_set(vm, argv[1]);
    if (!o) return ASY_ERR;
    asy_root_push(vm, ASY_OBJ(o));
    int r = set_issubset(vm, SET(argv[0]), o);
    asy_root_pop(vm, 1);
    return r < 0 ? ASY_ERR : ASY_BOOL(r);
}

static AsyValue m_issuperset(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "issuperset", argc - 1, 1, 1)) return ASY_ERR;
    AsySet *o = as_set(vm, argv[1]);
    if (!o) return ASY_ERR;
    asy_root_push(vm, ASY_OBJ(o));
    int r = set_issubset(vm, o, SET(argv[0]));
    asy_root_pop(vm, 1);
    return r < 0 ? ASY_ERR : ASY_BOOL(r);
}

static AsyValue m_isdisjoint(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "isdisjoint", argc - 1, 1, 1)) return ASY_ERR;
    AsySet *s = SET(argv[0]);
    AsyValue it = asy_iter(vm, argv[1]);
    if (ASY_IS_ERR(it)) return ASY_ERR;
    asy_root_push(vm, it);
    int r = 0;
    for (;;) {
        AsyValue x = asy_next(vm, it);
        if (ASY_IS_UNDEF(x)) break;
        r = ASY_IS_ERR(x) ? -1 : set_contains_key(vm, s, x);
        if (r != 0) break;
    }
    asy_root_pop(vm, 1);
    return r < 0 ? ASY_ERR : ASY_BOOL(r == 0);
}

static AsyValue m_init(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "set", kw) || !asy_check_args(vm, "set", argc - 1, 0, 1)) return ASY_ERR;
    AsySet *s = SET(argv[0]);
    if (s->len > 0) set_clear_internal(vm, s);
    if (argc == 2 && asy_set_update(vm, s, argv[1]) < 0) return ASY_ERR;
    return ASY_NONE;
}

static AsyValue m_contains(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__contains__", argc - 1, 1, 1)) return ASY_ERR;
    int r = set_contains_key(vm, SET(argv[0]), argv[1]);
    return r < 0 ? ASY_ERR : ASY_BOOL(r);
}

#define SET_COMMON_METHODS                                                                  \
    {"copy", m_copy, ASY_METH_NOKW, "Return a shallow copy of a set."},                     \
    {"union", m_union, ASY_METH_NOKW, "Return the union of sets as a new set."},            \
    {"intersection", m_intersection, ASY_METH_NOKW,                                         \
     "Return the intersection of two sets as a new set."},                                  \
    {"difference", m_difference, ASY_METH_NOKW,                                             \
     "Return the difference of two or more sets as a new set."},                            \
    {"symmetric_difference", m_symmetric_difference, ASY_METH_NOKW,                         \
     "Return the symmetric difference of two sets as a new set."},                          \
    {"issubset", m_issubset, ASY_METH_NOKW, "Report whether another set contains this set."}, \
    {"issuperset", m_issuperset, ASY_METH_NOKW, "Report whether this set contains another set."}, \
    {"isdisjoint", m_isdisjoint, ASY_METH_NOKW,                                             \
     "Return True if two sets have a null intersection."},                                  \
    {"__contains__", m_contains, ASY_METH_NOKW, "x.__contains__(y) <==> y in x."}

static const AsyMethodDef set_methods[] = {
    SET_COMMON_METHODS,
    {"add", m_add, ASY_METH_NOKW, "Add an element to a set."},
    {"discard", m_discard, ASY_METH_NOKW, "Remove an element from a set if it is a member."},
    {"remove", m_remove, ASY_METH_NOKW, "Remove an element from a set; it must be a member."},
    {"pop", m_pop, ASY_METH_NOKW, "Remove and return an arbitrary set element."},
    {"clear", m_clear, ASY_METH_NOKW, "Remove all elements from this set."},
    {"update", m_update, ASY_METH_NOKW, "Update a set with the union of itself and others."},
    {"intersection_update", m_intersection_update, ASY_METH_NOKW,
     "Update a set with the intersection of itself and another."},
    {"difference_update", m_difference_update, ASY_METH_NOKW,
     "Remove all elements of another set from this set."},
    {"symmetric_difference_update", m_symmetric_difference_update, ASY_METH_NOKW,
     "Update a set with the symmetric difference of itself and another."},
    {"__init__", m_init, ASY_METH_DEFAULT, "Initialize self."},
    {NULL, NULL, 0, NULL},
};

static const AsyMethodDef frozenset_methods[] = {
    SET_COMMON_METHODS,
    {NULL, NULL, 0, NULL},
};

/* ---- set_iterator ---- */

static AsyValue setiter_iter(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm);
    return self;
}

static AsyValue setiter_next(AsyVM *vm, AsyValue self) {
    AsySetIter *it = (AsySetIter *)ASY_AS_OBJ(self);
    AsySet *s = it->set;
    if (!s) return ASY_UNDEF;
    if (it->used != s->len) {
        it->used = -1;   /* sticky, as CPython */
        return asy_raise(vm, ASY_EXC_RuntimeError, "Set changed size during iteration");
    }
    AsySetEntry *e;
    if (set_next(s, &it->pos, &e)) return e->key;
    it->set = NULL;
    return ASY_UNDEF;
}

static void setiter_traverse(AsyVM *vm, AsyObj *self) {
    asy_gc_mark_obj(vm, (AsyObj *)((AsySetIter *)self)->set);
}

static AsyType *set_type(AsyVM *vm, const char *name, const AsyMethodDef *methods) {
    AsyType *t = asy_type_new_builtin(vm, name, ASY_TYPE(vm, object), sizeof(AsySet));
    t->tflags |= ASY_TYPE_BASETYPE;
    t->repr = set_repr;
    t->richcompare = set_richcompare;
    t->truth = set_truth;
    t->len = set_len;
    t->iter = set_iter;
    t->contains = set_contains_slot;
    t->binop = set_binop;
    t->traverse = set_traverse;
    t->finalize = set_finalize;
    asy_type_add_methods(vm, t, methods);
    return t;
}

void asy_set_init(AsyVM *vm) {
    AsyType *s = set_type(vm, "set", set_methods);
    s->new_ = set_new;
    asy_type_ready(vm, s);
    s->hash = NULL;   /* unhashable */
    vm->types[ASY_TYPE_set] = s;

    AsyType *f = set_type(vm, "frozenset", frozenset_methods);
    f->new_ = frozenset_new;
    f->hash = frozenset_hash;
    asy_type_ready(vm, f);
    vm->types[ASY_TYPE_frozenset] = f;

    AsyType *it = asy_type_new_builtin(vm, "set_iterator", ASY_TYPE(vm, object), sizeof(AsySetIter));
    it->iter = setiter_iter;
    it->next = setiter_next;
    it->traverse = setiter_traverse;
    asy_type_ready(vm, it);
    vm->types[ASY_TYPE_set_iterator] = it;
}
