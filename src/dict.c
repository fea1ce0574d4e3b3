/* dict.c - the dict type, its views (dict_keys, dict_values, dict_items) and iterators.
 *
 * The layout is CPython 3.11's compact dict. One block holds a power-of-two index table,
 * probed with CPython's perturbation scheme, whose slots are int8, int16 or int32 (the
 * narrowest that numbers every entry), followed by the entries in insertion order (deleted
 * ones left as holes until the next resize compacts them). While every key is an exact str
 * (CPython's unicode-keys tables) an entry is 24 bytes: the key pointer with the value's tag
 * in its alignment bits, the key's hash (kept: a colliding probe then never loads the other
 * key, which CPython's 16-byte entries must), and the value's payload. The first key of
 * another type converts the table to 40-byte (hash, key, value) entries until clear(). Big
 * tables also keep hash bits in the index slots (ix_tag_shift). Keys are compared with the
 * identity/int/str fast paths of containers.h before the full == protocol. A user __eq__ may
 * mutate the dict during a lookup: then the lookup restarts, as in CPython. */
#include "common.h"

#include <string.h>

#include "containers.h"
#include "vm.h"

#define DKIX_EMPTY (-1)
#define DKIX_DUMMY (-2)
#define DKIX_ERROR (-3)
#define DICT_MINSIZE 8
#define PERTURB_SHIFT 5
#define USABLE(n) (((n) << 1) / 3)
#define DICT(v) ((AsyDict *)ASY_AS_OBJ(v))

/* An entry of a str-keys table; key 0 marks a deleted one. */
typedef struct {
    uintptr_t key;     /* AsyStr * | the value's tag (objects are at least 8-byte aligned) */
    int64_t hash;      /* the str's: a probe that collides need not load the str          */
    int64_t payload;   /* the value's `as`                                                */
} StrEntry;

/* An entry of a general table. */
typedef struct {
    int64_t hash;
    AsyValue key;      /* UNDEF: deleted */
    AsyValue value;
} GenEntry;

#define SE_TAGMASK ((uintptr_t)7)
_Static_assert(ASY_T_ERR <= SE_TAGMASK, "a value's tag fits in a str pointer's low bits");

#define SENT(d) ((StrEntry *)(d)->entries)
#define GENT(d) ((GenEntry *)(d)->entries)

/* A view (keys/values/items) is a live window on its dict. */
typedef struct {
    AsyObj hdr;
    AsyDict *dict;
} AsyDictView;

typedef struct {
    AsyObj hdr;
    AsyDict *dict;           /* NULL once exhausted                                  */
    int64_t pos;             /* next entry to look at (reversed: going down)         */
    int64_t used;            /* dict->len when iteration began                       */
    int64_t remaining;       /* items still expected                                 */
    bool reversed;
} AsyDictIter;

/* ---- entries ---- */

static inline AsyStr *se_str(const StrEntry *e) {
    return (AsyStr *)(e->key & ~SE_TAGMASK);
}

static inline AsyValue se_value(const StrEntry *e) {
    AsyValue v = {.tag = (AsyTag)(e->key & SE_TAGMASK), .as.i = e->payload};
    return v;
}

static inline void se_set_value(StrEntry *e, AsyValue value) {
    e->key = (e->key & ~SE_TAGMASK) | (uintptr_t)value.tag;
    e->payload = value.as.i;
}

static inline bool ent_live(const AsyDict *d, int64_t i) {
    return d->general ? !ASY_IS_UNDEF(GENT(d)[i].key) : SENT(d)[i].key != 0;
}

/* Key and value of entry i: UNDEF for a deleted one. */
static inline AsyValue ent_key(const AsyDict *d, int64_t i) {
    if (d->general) return GENT(d)[i].key;
    AsyStr *s = se_str(&SENT(d)[i]);
    return s ? ASY_OBJ(s) : ASY_UNDEF;
}

static inline AsyValue ent_value(const AsyDict *d, int64_t i) {
    if (d->general) return GENT(d)[i].value;
    return SENT(d)[i].key ? se_value(&SENT(d)[i]) : ASY_UNDEF;
}

static inline int64_t ent_hash(const AsyDict *d, int64_t i) {
    return d->general ? GENT(d)[i].hash : SENT(d)[i].hash;
}

static inline void ent_set_value(AsyDict *d, int64_t i, AsyValue value) {
    if (d->general) GENT(d)[i].value = value;
    else se_set_value(&SENT(d)[i], value);
}

static inline void ent_clear(AsyDict *d, int64_t i) {
    if (d->general) {
        GENT(d)[i].key = ASY_UNDEF;
        GENT(d)[i].value = ASY_UNDEF;
    } else {
        SENT(d)[i].key = 0;
        SENT(d)[i].payload = 0;
    }
}

/* ---- tables ---- */

/* Slot i of an index table of w-byte slots. The hot loops are instantiated once per width
 * (w a constant after inlining) rather than testing the width at every probe. */
static ASY_ALWAYS_INLINE int64_t ix_load(const void *indices, uint64_t i, int w) {
    return w == 1 ? ((const int8_t *)indices)[i]
         : w == 2 ? ((const int16_t *)indices)[i]
                  : ((const int32_t *)indices)[i];
}

static ASY_ALWAYS_INLINE void ix_store(void *indices, uint64_t i, int64_t ix, int w) {
    if (w == 1) ((int8_t *)indices)[i] = (int8_t)ix;
    else if (w == 2) ((int16_t *)indices)[i] = (int16_t)ix;
    else ((int32_t *)indices)[i] = (int32_t)ix;
}

static inline void ix_set(AsyDict *d, uint64_t i, int64_t ix) {
    switch (d->ixsize) {
    case 1: ix_store(d->indices, i, ix, 1); break;
    case 2: ix_store(d->indices, i, ix, 2); break;
    default: ix_store(d->indices, i, ix, 4); break;
    }
}

/* Run `call(..., w)` with w the constant slot width of d. */
#define IX_DISPATCH(d, call)          \
    switch ((d)->ixsize) {            \
    case 1: return call(1);           \
    case 2: return call(2);           \
    default: return call(4);          \
    }

/* The narrowest slot that holds every entry number of a table of `size` slots (fewer
 * than size entries) and the two negative markers. The table never exceeds 2**30 slots,
 * so CPython's int64 slots are never needed. */
static uint8_t ix_width(int64_t size) {
    return size <= 128 ? 1 : size <= 32768 ? 2 : 4;
}

/* Tables too big for the caches keep 7 bits of each entry's hash above its number in the
 * index slot (int32 slots of tables up to 2**24 slots, bits 24-30): a probe that meets
 * another key's slot then moves on without loading that entry, which in a big table is a
 * cache miss. The shift of those bits, 0 for untagged tables. */
#define IX_TAG_SHIFT 24
static uint8_t ix_tag_shift(int64_t size) {
    return ix_width(size) == 4 && size <= ((int64_t)1 << IX_TAG_SHIFT) ? IX_TAG_SHIFT : 0;
}

/* The tag bits of hash in a slot of d; 0 in an untagged table. */
static inline int64_t ix_tag(const AsyDict *d, int64_t hash) {
    return d->ixtag ? (int64_t)((uint64_t)hash >> 57) << d->ixtag : 0;
}

/* The tag bits of d's slots: a live slot is its entry number | its hash's tag. */
static inline int64_t ix_tag_mask(const AsyDict *d) {
    return d->ixtag ? ~(((int64_t)1 << d->ixtag) - 1) : 0;
}

static size_t block_size(int64_t nindices, uint8_t ixsize, int64_t cap, bool general) {
    return (size_t)nindices * ixsize +
           (size_t)cap * (general ? sizeof(GenEntry) : sizeof(StrEntry));
}

static void dict_free_tables(AsyVM *vm, AsyDict *d) {
    asy_mem_free(vm, d->indices, block_size(d->nindices, d->ixsize, d->capentries, d->general));
    d->entries = NULL;
    d->indices = NULL;
    d->capentries = d->nindices = d->nentries = d->len = 0;
}

/* A walk along hash's probe sequence in d's index (CPython's: i = i*5 + perturb + 1,
 * perturb >>= 5). */
typedef struct {
    uint64_t i, mask, perturb;
    int64_t tag, tagmask;   /* hash's tag bits in a slot, and where they are */
} Probe;

static inline Probe probe_start(const AsyDict *d, int64_t hash) {
    Probe p = {.mask = (uint64_t)d->nindices - 1, .perturb = (uint64_t)hash,
               .tag = ix_tag(d, hash), .tagmask = ix_tag_mask(d)};
    p.i = (uint64_t)hash & p.mask;
    return p;
}

static inline void probe_next(Probe *p) {
    p->perturb >>= PERTURB_SHIFT;
    p->i = (p->i * 5 + p->perturb + 1) & p->mask;
}

/* The entry number at the probe's slot if it may hold hash's key, DKIX_EMPTY where the
 * sequence ends, DKIX_DUMMY for a slot to pass (deleted, or another hash's tag). */
static ASY_ALWAYS_INLINE int64_t probe_entry(const AsyDict *d, const Probe *p, int w) {
    int64_t raw = ix_load(d->indices, p->i, w);
    if (raw < 0) return raw;
    return (raw & p->tagmask) == p->tag ? raw & ~p->tagmask : DKIX_DUMMY;
}

/* The first free index slot on hash's probe sequence (the table always has one). */
static ASY_ALWAYS_INLINE uint64_t find_empty_slot_w(const AsyDict *d, int64_t hash, int w) {
    Probe p = probe_start(d, hash);
    while (ix_load(d->indices, p.i, w) >= 0) probe_next(&p);
    return p.i;
}

static uint64_t find_empty_slot(const AsyDict *d, int64_t hash) {
#define FIND_EMPTY(w) find_empty_slot_w(d, hash, w)
    IX_DISPATCH(d, FIND_EMPTY)
#undef FIND_EMPTY
}

/* Index every entry of a table just rebuilt (no holes), by the hashes in the entries. */
static ASY_ALWAYS_INLINE int64_t build_indices_w(AsyDict *d, int w) {
    for (int64_t i = 0; i < d->nentries; i++) {
        int64_t hash = d->general ? GENT(d)[i].hash : SENT(d)[i].hash;
        ix_store(d->indices, find_empty_slot_w(d, hash, w), i | ix_tag(d, hash), w);
    }
    return d->nentries;
}

static int64_t build_indices(AsyDict *d) {
#define BUILD(w) build_indices_w(d, w)
    IX_DISPATCH(d, BUILD)
#undef BUILD
}

/* Copy d's live entries, in order, into `to` in the form `general` says; their count. */
static int64_t copy_live_entries(const AsyDict *d, void *to, bool general) {
    int64_t n = 0;
    if (d->general && general) {
        for (int64_t i = 0; i < d->nentries; i++)
            if (!ASY_IS_UNDEF(GENT(d)[i].key)) ((GenEntry *)to)[n++] = GENT(d)[i];
        return n;
    }
    if (!d->general && !general) {
        for (int64_t i = 0; i < d->nentries; i++)
            if (SENT(d)[i].key) ((StrEntry *)to)[n++] = SENT(d)[i];
        return n;
    }
    GenEntry *g = to;   /* str-keys -> general: the only conversion */
    for (int64_t i = 0; i < d->nentries; i++) {
        if (!ent_live(d, i)) continue;
        g[n].hash = ent_hash(d, i);
        g[n].key = ent_key(d, i);
        g[n++].value = ent_value(d, i);
    }
    return n;
}

/* Rebuild in the form `general` says with an index table of the smallest power of two
 * >= minsize (at least 8), dropping deleted entries. */
static bool dict_resize_to(AsyVM *vm, AsyDict *d, int64_t minsize, bool general) {
    int64_t size = DICT_MINSIZE;
    while (size < minsize) size <<= 1;
    if (size > ((int64_t)1 << 30)) {
        asy_raise_memory(vm);
        return false;
    }
    int64_t cap = USABLE(size);
    uint8_t ixsize = ix_width(size);
    char *block = asy_mem_alloc(vm, block_size(size, ixsize, cap, general));
    if (!block) return false;
    memset(block, 0xff, (size_t)size * ixsize);   /* all DKIX_EMPTY */
    void *entries = block + (size_t)size * ixsize;
    int64_t n = copy_live_entries(d, entries, general);
    int64_t len = d->len;
    uint64_t version = d->version;
    dict_free_tables(vm, d);
    d->indices = block;
    d->ixsize = ixsize;
    d->ixtag = ix_tag_shift(size);
    d->nindices = size;
    d->entries = entries;
    d->general = general;
    d->capentries = cap;
    d->nentries = n;
    d->len = len;
    d->version = version + 1;
    build_indices(d);
    return true;
}

static bool dict_resize(AsyVM *vm, AsyDict *d, int64_t minsize) {
    return dict_resize_to(vm, d, minsize, d->general);
}

/* Index of key's entry, DKIX_EMPTY when absent, DKIX_ERROR with an exception pending.
 * *slot receives the position in `indices` of a found entry. */
static int64_t dict_lookup(AsyVM *vm, AsyDict *d, AsyValue key, int64_t hash, int64_t *slot) {
restart:
    if (d->nindices == 0) return DKIX_EMPTY;
    for (Probe p = probe_start(d, hash);; probe_next(&p)) {
        int64_t ix = probe_entry(d, &p, d->ixsize);
        if (ix == DKIX_EMPTY) return DKIX_EMPTY;
        if (ix < 0 || ent_hash(d, ix) != hash) continue;
        AsyValue start = ent_key(d, ix);
        int r = 1;
        if (start.tag != key.tag || start.as.i != key.as.i) {
            void *entries = d->entries;
            r = cont_eq(vm, start, key);
            if (r < 0) return DKIX_ERROR;
            /* A user __eq__ may have changed the dict under us: start over. */
            if (d->entries != entries || (uint64_t)d->nindices - 1 != p.mask ||
                ix >= d->nentries || !asy_value_is(ent_key(d, ix), start))
                goto restart;
        }
        if (r) {
            *slot = (int64_t)p.i;
            return ix;
        }
    }
}

/* dict_lookup_str in a general table. */
static int64_t lookup_str_general(const AsyDict *d, AsyStr *key, int64_t hash, int64_t *slot) {
    for (Probe p = probe_start(d, hash);; probe_next(&p)) {
        int64_t ix = probe_entry(d, &p, d->ixsize);
        if (ix == DKIX_EMPTY) return DKIX_EMPTY;
        if (ix < 0) continue;
        GenEntry *e = &GENT(d)[ix];
        if (e->hash != hash || !ASY_IS_OBJ(e->key)) continue;
        AsyObj *k = ASY_AS_OBJ(e->key);
        if (k != &key->hdr && ((k->type != key->hdr.type && !asy_is_subtype(k->type, key->hdr.type)) ||
                               !asy_str_equal((AsyStr *)k, key)))
            continue;
        *slot = (int64_t)p.i;
        return ix;
    }
}

static ASY_ALWAYS_INLINE int64_t lookup_str_w(const AsyDict *d, AsyStr *key, int64_t hash,
                                              int64_t *slot, int w) {
    const StrEntry *entries = SENT(d);
    for (Probe p = probe_start(d, hash);; probe_next(&p)) {
        int64_t ix = probe_entry(d, &p, w);
        if (ix == DKIX_EMPTY) return DKIX_EMPTY;
        if (ix < 0 || entries[ix].hash != hash) continue;
        AsyStr *k = se_str(&entries[ix]);
        if (k != key && !asy_str_equal(k, key)) continue;
        *slot = (int64_t)p.i;
        return ix;
    }
}

/* Lookup for an exact str key without running user code: what a str-only table (and the
 * VM-less callers, asy_dict_find_str) use. In a general table a key of a str subclass that
 * holds the same text matches as under str's ==; one whose class overrides __eq__ needs
 * dict_lookup, which the callers with a VM use for general tables. */
static int64_t dict_lookup_str(const AsyDict *d, AsyStr *key, int64_t hash, int64_t *slot) {
    if (d->nindices == 0) return DKIX_EMPTY;
    if (d->general) return lookup_str_general(d, key, hash, slot);
#define LOOKUP(w) lookup_str_w(d, key, hash, slot, w)
    IX_DISPATCH(d, LOOKUP)
#undef LOOKUP
}

/* Append a new entry for a key known to be absent. */
static int dict_insert_new(AsyVM *vm, AsyDict *d, AsyValue key, int64_t hash, AsyValue value) {
    if (!d->general && !cont_is_str(vm, key)) {
        if (!dict_resize_to(vm, d, d->len * 3, true)) return -1;
    } else if (d->nentries >= d->capentries && !dict_resize(vm, d, d->len * 3)) {
        return -1;
    }
    int64_t ix = d->nentries++;
    ix_set(d, find_empty_slot(d, hash), ix | ix_tag(d, hash));
    if (d->general) {
        GenEntry *e = &GENT(d)[ix];
        e->hash = hash;
        e->key = key;
        e->value = value;
    } else {
        StrEntry *e = &SENT(d)[ix];
        e->key = (uintptr_t)ASY_AS_OBJ(key);
        e->hash = hash;
        se_set_value(e, value);
    }
    d->len++;
    d->version++;
    return 0;
}

static int dict_insert(AsyVM *vm, AsyDict *d, AsyValue key, int64_t hash, AsyValue value) {
    int64_t slot, ix;
    if (!d->general && cont_is_str(vm, key)) {
        ix = dict_lookup_str(d, (AsyStr *)ASY_AS_OBJ(key), hash, &slot);
    } else {
        asy_root_push(vm, ASY_OBJ(d));
        asy_root_push(vm, key);
        asy_root_push(vm, value);
        ix = dict_lookup(vm, d, key, hash, &slot);
        asy_root_pop(vm, 3);
        if (ix == DKIX_ERROR) return -1;
    }
    if (ix >= 0) {
        ent_set_value(d, ix, value);
        d->version++;
        return 0;
    }
    return dict_insert_new(vm, d, key, hash, value);
}

static void dict_del_at(AsyDict *d, int64_t slot, int64_t ix) {
    ix_set(d, (uint64_t)slot, DKIX_DUMMY);
    ent_clear(d, ix);
    d->len--;
    d->version++;
}

/* Lookup with the str fast path; the key's hash goes to *hash. */
static int64_t dict_find(AsyVM *vm, AsyDict *d, AsyValue key, int64_t *hash, int64_t *slot) {
    if (!cont_hash(vm, key, hash)) return DKIX_ERROR;
    if (!d->general && cont_is_str(vm, key))
        return dict_lookup_str(d, (AsyStr *)ASY_AS_OBJ(key), *hash, slot);
    asy_root_push(vm, ASY_OBJ(d));
    asy_root_push(vm, key);
    int64_t ix = dict_lookup(vm, d, key, *hash, slot);
    asy_root_pop(vm, 2);
    return ix;
}

/* ---- the public API (vm.h) ---- */

AsyDict *asy_dict_new(AsyVM *vm) {
    return asy_gc_alloc(vm, ASY_TYPE(vm, dict), sizeof(AsyDict));
}

AsyDict *asy_dict_new_sized(AsyVM *vm, int64_t n) {
    AsyDict *d = asy_dict_new(vm);
    if (!d || n <= 0) return d;
    int64_t size = DICT_MINSIZE;
    while (USABLE(size) < n)
        size <<= 1;
    return dict_resize(vm, d, size) ? d : NULL;
}

AsyValue asy_dict_get(AsyVM *vm, AsyDict *d, AsyValue key) {
    int64_t hash, slot;
    int64_t ix = dict_find(vm, d, key, &hash, &slot);
    if (ix == DKIX_ERROR) return ASY_ERR;
    return ix >= 0 ? ent_value(d, ix) : ASY_UNDEF;
}

int asy_dict_set(AsyVM *vm, AsyDict *d, AsyValue key, AsyValue value) {
    int64_t hash;
    if (ASY_LIKELY(ASY_IS_INTLIKE(key) || cont_is_str(vm, key))) {
        cont_hash(vm, key, &hash);
        return dict_insert(vm, d, key, hash, value);
    }
    /* A user __hash__ may collect: keep the dict and the value alive meanwhile. */
    asy_root_push(vm, ASY_OBJ(d));
    asy_root_push(vm, value);
    bool ok = cont_hash(vm, key, &hash);
    asy_root_pop(vm, 2);
    return ok ? dict_insert(vm, d, key, hash, value) : -1;
}

int asy_dict_del(AsyVM *vm, AsyDict *d, AsyValue key) {
    int64_t hash, slot;
    int64_t ix = dict_find(vm, d, key, &hash, &slot);
    if (ix == DKIX_ERROR) return -1;
    if (ix < 0) return 0;
    dict_del_at(d, slot, ix);
    return 1;
}

AsyValue asy_dict_find_str(AsyDict *d, AsyStr *key) {
    int64_t slot;
    int64_t ix = dict_lookup_str(d, key, cont_hash_str(key), &slot);
    return ix >= 0 ? ent_value(d, ix) : ASY_UNDEF;
}

AsyValue asy_dict_get_str(AsyVM *vm, AsyDict *d, AsyStr *key) {
    ASY_UNUSED(vm);
    return asy_dict_find_str(d, key);
}

int asy_dict_set_str(AsyVM *vm, AsyDict *d, AsyStr *key, AsyValue value) {
    return dict_insert(vm, d, ASY_OBJ(key), cont_hash_str(key), value);
}

AsyValue asy_dict_get_cstr(AsyVM *vm, AsyDict *d, const char *key) {
    AsyStr *s = asy_str_intern_cstr(vm, key);
    return s ? asy_dict_get_str(vm, d, s) : ASY_ERR;
}

int asy_dict_set_cstr(AsyVM *vm, AsyDict *d, const char *key, AsyValue value) {
    AsyStr *s = asy_str_intern_cstr(vm, key);
    return s ? asy_dict_set_str(vm, d, s, value) : -1;
}

bool asy_dict_next_hash(AsyDict *d, int64_t *pos, AsyValue *key, AsyValue *value,
                        int64_t *hash) {
    while (*pos < d->nentries) {
        int64_t i = (*pos)++;
        if (!ent_live(d, i)) continue;
        if (key) *key = ent_key(d, i);
        if (value) *value = ent_value(d, i);
        if (hash) *hash = ent_hash(d, i);
        return true;
    }
    return false;
}

bool asy_dict_next(AsyDict *d, int64_t *pos, AsyValue *key, AsyValue *value) {
    return asy_dict_next_hash(d, pos, key, value, NULL);
}

/* Insert every entry of src into d, reusing the stored hashes. */
static int dict_merge_dict(AsyVM *vm, AsyDict *d, AsyDict *src, bool override) {
    if (src == d || src->len == 0) return 0;
    if (d->len == 0 && src->len == src->nentries && d->nindices == 0) {
        /* Fast copy: same form, same tables, no holes to drop. */
        d->general = src->general;
        if (!dict_resize(vm, d, src->nindices)) return -1;
        memcpy(d->indices, src->indices,
               block_size(src->nindices, src->ixsize, src->nentries, src->general));
        d->nentries = d->len = src->len;
        d->version++;
        return 0;
    }
    asy_root_push(vm, ASY_OBJ(src));
    for (int64_t i = 0; i < src->nentries; i++) {
        if (!ent_live(src, i)) continue;
        AsyValue key = ent_key(src, i), value = ent_value(src, i);
        int64_t hash = ent_hash(src, i);
        int rc = 0;
        if (override) {
            rc = dict_insert(vm, d, key, hash, value);
        } else {
            int64_t slot;
            asy_root_push(vm, value);
            int64_t ix = dict_lookup(vm, d, key, hash, &slot);
            asy_root_pop(vm, 1);
            if (ix == DKIX_ERROR) rc = -1;
            else if (ix < 0) rc = dict_insert_new(vm, d, key, hash, value);
        }
        if (rc < 0) {
            asy_root_pop(vm, 1);
            return -1;
        }
        if (i >= src->nentries) break;
    }
    asy_root_pop(vm, 1);
    return 0;
}

AsyDict *asy_dict_copy(AsyVM *vm, AsyDict *d) {
    AsyDict *r = asy_dict_new(vm);
    asy_root_push(vm, ASY_OBJ(r));
    int rc = dict_merge_dict(vm, r, d, true);
    asy_root_pop(vm, 1);
    return rc < 0 ? NULL : r;
}

static AsyValue raise_key_error(AsyVM *vm, AsyValue key) {
    AsyValue e = asy_exc_new(vm, vm->exc_types[ASY_EXC_KeyError], 1, &key);
    if (ASY_IS_ERR(e)) return e;
    return asy_raise_value(vm, e);
}

/* One element of a dict(pairs) sequence: exactly two items. */
static int dict_add_pair(AsyVM *vm, AsyDict *d, AsyValue item, int64_t n) {
    AsyValue kv[2];
    if (cont_is_kind(vm, item, ASY_TYPE_tuple) || cont_is_kind(vm, item, ASY_TYPE_list)) {
        bool tup = cont_is_kind(vm, item, ASY_TYPE_tuple);
        int64_t len = tup ? ((AsyTuple *)ASY_AS_OBJ(item))->len : ((AsyList *)ASY_AS_OBJ(item))->len;
        AsyValue *items = tup ? ((AsyTuple *)ASY_AS_OBJ(item))->items
                              : ((AsyList *)ASY_AS_OBJ(item))->items;
        if (len != 2) goto bad_len_n;
        kv[0] = items[0];
        kv[1] = items[1];
        return asy_dict_set(vm, d, kv[0], kv[1]);
    bad_len_n:
        asy_raise(vm, ASY_EXC_ValueError,
                  "dictionary update sequence element #%lld has length %lld; 2 is required",
                  (long long)n, (long long)len);
        return -1;
    }
    AsyValue it = asy_iter(vm, item);
    if (ASY_IS_ERR(it)) {
        if (asy_exc_matches(vm, ASY_EXC_TypeError)) {
            asy_exc_clear(vm);
            asy_raise(vm, ASY_EXC_TypeError,
                      "cannot convert dictionary update sequence element #%lld to a sequence",
                      (long long)n);
        }
        return -1;
    }
    AsyList *l = asy_list_from_iterable(vm, it);
    if (!l) return -1;
    asy_root_push(vm, ASY_OBJ(l));
    int rc = dict_add_pair(vm, d, ASY_OBJ(l), n);
    asy_root_pop(vm, 1);
    return rc;
}

static int dict_merge_pairs(AsyVM *vm, AsyDict *d, AsyValue seq) {
    AsyValue it = asy_iter(vm, seq);
    if (ASY_IS_ERR(it)) return -1;
    asy_root_push(vm, it);
    for (int64_t n = 0;; n++) {
        AsyValue item = asy_next(vm, it);
        if (ASY_IS_UNDEF(item)) break;
        if (ASY_IS_ERR(item)) goto fail;
        asy_root_push(vm, item);
        int rc = dict_add_pair(vm, d, item, n);
        asy_root_pop(vm, 1);
        if (rc < 0) goto fail;
    }
    asy_root_pop(vm, 1);
    return 0;
fail:
    asy_root_pop(vm, 1);
    return -1;
}

/* for k in m.keys(): d[k] = m[k] */
static int dict_merge_mapping(AsyVM *vm, AsyDict *d, AsyValue m, AsyValue keys_fn) {
    AsyValue keys = asy_call(vm, keys_fn, 0, NULL, NULL);
    if (ASY_IS_ERR(keys)) return -1;
    asy_root_push(vm, keys);
    AsyValue it = asy_iter(vm, keys);
    asy_root_pop(vm, 1);
    if (ASY_IS_ERR(it)) return -1;
    asy_root_push(vm, it);
    for (;;) {
        AsyValue k = asy_next(vm, it);
        if (ASY_IS_UNDEF(k)) break;
        if (ASY_IS_ERR(k)) goto fail;
        asy_root_push(vm, k);
        AsyValue v = asy_getitem(vm, m, k);
        int rc = ASY_IS_ERR(v) ? -1 : asy_dict_set(vm, d, k, v);
        asy_root_pop(vm, 1);
        if (rc < 0) goto fail;
    }
    asy_root_pop(vm, 1);
    return 0;
fail:
    asy_root_pop(vm, 1);
    return -1;
}

int asy_dict_update(AsyVM *vm, AsyDict *d, AsyValue other) {
    if (cont_is_kind(vm, other, ASY_TYPE_dict) &&
        ASY_AS_OBJ(other)->type->iter == ASY_TYPE(vm, dict)->iter)
        return dict_merge_dict(vm, d, DICT(other), true);
    AsyValue keys_fn = asy_getattr_opt(vm, other, ASY_S(vm, keys));
    if (ASY_IS_ERR(keys_fn)) return -1;
    if (!ASY_IS_UNDEF(keys_fn)) {
        asy_root_push(vm, keys_fn);
        int rc = dict_merge_mapping(vm, d, other, keys_fn);
        asy_root_pop(vm, 1);
        return rc;
    }
    return dict_merge_pairs(vm, d, other);
}

/* dict(arg, **kw) and d.update(arg, **kw). */
static int dict_update_args(AsyVM *vm, AsyDict *d, const char *fname, int argc, AsyValue *argv,
                            AsyDict *kw) {
    if (!asy_check_args(vm, fname, argc, 0, 1)) return -1;
    if (argc == 1 && asy_dict_update(vm, d, argv[0]) < 0) return -1;
    if (kw && kw->len > 0 && dict_merge_dict(vm, d, kw, true) < 0) return -1;
    return 0;
}

/* ---- dict slots ---- */

static AsyValue dict_repr(AsyVM *vm, AsyValue self) {
    AsyDict *d = DICT(self);
    if (d->len == 0) return ASY_OBJ(asy_str_from_cstr(vm, "{}"));
    int g = asy_repr_enter(vm, &d->hdr);
    if (g < 0) return ASY_ERR;
    if (g > 0) return ASY_OBJ(asy_str_from_cstr(vm, "{...}"));
    AsyStrBuf b;
    asy_strbuf_init(&b);
    asy_strbuf_append(vm, &b, "{", 1);
    bool first = true;
    for (int64_t i = 0; i < d->nentries; i++) {
        if (!ent_live(d, i)) continue;
        AsyValue key = ent_key(d, i), value = ent_value(d, i);
        if (!first) asy_strbuf_append(vm, &b, ", ", 2);
        first = false;
        asy_root_push(vm, key);
        asy_root_push(vm, value);
        AsyValue r = asy_repr(vm, key);
        if (!ASY_IS_ERR(r)) {
            asy_strbuf_append_str(vm, &b, (AsyStr *)ASY_AS_OBJ(r));
            asy_strbuf_append(vm, &b, ": ", 2);
            r = asy_repr(vm, value);
            if (!ASY_IS_ERR(r)) asy_strbuf_append_str(vm, &b, (AsyStr *)ASY_AS_OBJ(r));
        }
        asy_root_pop(vm, 2);
        if (ASY_IS_ERR(r)) {
            asy_strbuf_free(&b);
            asy_repr_leave(vm, &d->hdr);
            return ASY_ERR;
        }
    }
    asy_strbuf_append(vm, &b, "}", 1);
    asy_repr_leave(vm, &d->hdr);
    AsyStr *s = asy_strbuf_finish(vm, &b);
    return s ? ASY_OBJ(s) : ASY_ERR;
}

/* a == b for two dicts: same length, every key of a in b with an equal value. */
static int dict_equal(AsyVM *vm, AsyDict *a, AsyDict *b) {
    if (a->len != b->len) return 0;
    for (int64_t i = 0; i < a->nentries; i++) {
        if (!ent_live(a, i)) continue;
        AsyValue key = ent_key(a, i), value = ent_value(a, i);
        int64_t hash = ent_hash(a, i);
        asy_root_push(vm, key);
        asy_root_push(vm, value);
        int64_t slot, ix;
        if (!b->general && cont_is_str(vm, key))
            ix = dict_lookup_str(b, (AsyStr *)ASY_AS_OBJ(key), hash, &slot);
        else
            ix = dict_lookup(vm, b, key, hash, &slot);
        int r = ix == DKIX_ERROR ? -1 : ix < 0 ? 0 : cont_eq(vm, value, ent_value(b, ix));
        asy_root_pop(vm, 2);
        if (r <= 0) return r;
        if (i >= a->nentries) break;
    }
    return 1;
}

static AsyValue dict_richcompare(AsyVM *vm, AsyValue self, AsyValue other, AsyCmpOp op) {
    if ((op != ASY_CMP_EQ && op != ASY_CMP_NE) || !cont_is_kind(vm, self, ASY_TYPE_dict) ||
        !cont_is_kind(vm, other, ASY_TYPE_dict))
        return cont_not_implemented(vm);
    if (vm->c_depth >= ASY_MAX_C_DEPTH)
        return asy_raise(vm, ASY_EXC_RecursionError, "maximum recursion depth exceeded in comparison");
    vm->c_depth++;
    int r = dict_equal(vm, DICT(self), DICT(other));
    vm->c_depth--;
    if (r < 0) return ASY_ERR;
    return ASY_BOOL(op == ASY_CMP_EQ ? r : !r);
}

static int dict_truth(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm);
    return DICT(self)->len != 0;
}

static int64_t dict_len(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm);
    return DICT(self)->len;
}

static AsyValue dictiter_make(AsyVM *vm, AsyDict *d, AsyTypeId kind, bool reversed) {
    AsyDictIter *it = asy_gc_alloc(vm, vm->types[kind], sizeof(AsyDictIter));
    it->dict = d;
    it->used = d->len;
    it->remaining = d->len;
    it->reversed = reversed;
    it->pos = reversed ? d->nentries - 1 : 0;
    return ASY_OBJ(it);
}

static AsyValue dict_iter(AsyVM *vm, AsyValue self) {
    return dictiter_make(vm, DICT(self), ASY_TYPE_dict_keyiterator, false);
}

static AsyValue dict_getitem(AsyVM *vm, AsyValue self, AsyValue key) {
    AsyDict *d = DICT(self);
    AsyValue v = asy_dict_get(vm, d, key);
    if (!ASY_IS_UNDEF(v)) return v;
    AsyType *t = d->hdr.type;
    if (t != ASY_TYPE(vm, dict)) {
        AsyValue missing = asy_type_lookup(t, ASY_S(vm, __missing__));
        if (!ASY_IS_UNDEF(missing)) {
            AsyValue args[2] = {self, key};
            return asy_call(vm, missing, 2, args, NULL);
        }
    }
    return raise_key_error(vm, key);
}

static int dict_setitem(AsyVM *vm, AsyValue self, AsyValue key, AsyValue v) {
    if (!ASY_IS_UNDEF(v)) return asy_dict_set(vm, DICT(self), key, v);
    int r = asy_dict_del(vm, DICT(self), key);
    if (r == 0) raise_key_error(vm, key);
    return r > 0 ? 0 : -1;
}

static int dict_contains(AsyVM *vm, AsyValue self, AsyValue key) {
    int64_t hash, slot;
    int64_t ix = dict_find(vm, DICT(self), key, &hash, &slot);
    return ix == DKIX_ERROR ? -1 : ix >= 0;
}

static AsyValue dict_binop(AsyVM *vm, AsyValue a, AsyValue b, AsyBinOp op) {
    if (op == ASY_BIN_OR + ASY_BIN_INPLACE && cont_is_kind(vm, a, ASY_TYPE_dict)) {
        if (asy_dict_update(vm, DICT(a), b) < 0) return ASY_ERR;
        return a;
    }
    if ((op != ASY_BIN_OR && op != ASY_BIN_OR + ASY_BIN_INPLACE) ||
        !cont_is_kind(vm, a, ASY_TYPE_dict) || !cont_is_kind(vm, b, ASY_TYPE_dict))
        return cont_not_implemented(vm);
    AsyDict *r = asy_dict_copy(vm, DICT(a));
    if (!r) return ASY_ERR;
    asy_root_push(vm, ASY_OBJ(r));
    int rc = dict_merge_dict(vm, r, DICT(b), true);
    asy_root_pop(vm, 1);
    return rc < 0 ? ASY_ERR : ASY_OBJ(r);
}

static AsyValue dict_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    AsyDict *d = asy_gc_alloc(vm, type, type->basicsize);
    if (type != ASY_TYPE(vm, dict)) return ASY_OBJ(d);   /* __init__ fills subclasses */
    asy_root_push(vm, ASY_OBJ(d));
    int rc = dict_update_args(vm, d, "dict", argc, argv, kw);
    asy_root_pop(vm, 1);
    return rc < 0 ? ASY_ERR : ASY_OBJ(d);
}

/* A slice of the entries [pos, end) (a big dict is marked a slice at a time). */
static uintptr_t dict_mark_slice(AsyVM *vm, const void *obj, uintptr_t pos, uintptr_t end) {
    const AsyDict *d = obj;
    int64_t stop = (int64_t)(end - pos > ASY_GC_SLICE ? pos + ASY_GC_SLICE : end);
    if (d->general) {
        for (int64_t i = (int64_t)pos; i < stop; i++) {
            asy_gc_mark_value(vm, GENT(d)[i].key);
            asy_gc_mark_value(vm, GENT(d)[i].value);
        }
        return (uintptr_t)stop;
    }
    enum { AHEAD = 8 };   /* prefetch keys ahead, as asy_gc_mark_values */
    for (int64_t i = (int64_t)pos; i < stop; i++) {
        StrEntry *e = &SENT(d)[i];
        if (i + AHEAD < stop) ASY_PREFETCH_W(se_str(e + AHEAD));
        if (!e->key) continue;
        asy_gc_mark_obj(vm, &se_str(e)->hdr);
        asy_gc_mark_value(vm, se_value(e));
    }
    return (uintptr_t)stop;
}

static void dict_traverse(AsyVM *vm, AsyObj *self) {
    AsyDict *d = (AsyDict *)self;
    asy_gc_mark_sliced(vm, dict_mark_slice, d, 0, (uintptr_t)d->nentries);
}

static void dict_finalize(AsyVM *vm, AsyObj *self) {
    dict_free_tables(vm, (AsyDict *)self);
}

/* ---- dict methods ---- */

static AsyValue view_make(AsyVM *vm, AsyValue d, AsyTypeId kind) {
    AsyDictView *v = asy_gc_alloc(vm, vm->types[kind], sizeof(AsyDictView));
    v->dict = DICT(d);
    return ASY_OBJ(v);
}

static AsyValue m_keys(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "dict.keys", argc - 1, 0, 0)) return ASY_ERR;
    return view_make(vm, argv[0], ASY_TYPE_dict_keys);
}

static AsyValue m_values(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "dict.values", argc - 1, 0, 0)) return ASY_ERR;
    return view_make(vm, argv[0], ASY_TYPE_dict_values);
}

static AsyValue m_items(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "dict.items", argc - 1, 0, 0)) return ASY_ERR;
    return view_make(vm, argv[0], ASY_TYPE_dict_items);
}

static AsyValue m_get(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "get", argc - 1, 1, 2)) return ASY_ERR;
    AsyValue v = asy_dict_get(vm, DICT(argv[0]), argv[1]);
    if (ASY_IS_UNDEF(v)) return argc > 2 ? argv[2] : ASY_NONE;
    return v;
}

static AsyValue m_setdefault(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "setdefault", argc - 1, 1, 2)) return ASY_ERR;
    AsyDict *d = DICT(argv[0]);
    int64_t hash, slot;
    int64_t ix = dict_find(vm, d, argv[1], &hash, &slot);
    if (ix == DKIX_ERROR) return ASY_ERR;
    if (ix >= 0) return ent_value(d, ix);
    AsyValue dflt = argc > 2 ? argv[2] : ASY_NONE;
    if (dict_insert_new(vm, d, argv[1], hash, dflt) < 0) return ASY_ERR;
    return dflt;
}

static AsyValue m_pop(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "pop", argc - 1, 1, 2)) return ASY_ERR;
    AsyDict *d = DICT(argv[0]);
    int64_t hash, slot;
    int64_t ix = dict_find(vm, d, argv[1], &hash, &slot);
    if (ix == DKIX_ERROR) return ASY_ERR;
    if (ix < 0) return argc > 2 ? argv[2] : raise_key_error(vm, argv[1]);
    AsyValue v = ent_value(d, ix);
    dict_del_at(d, slot, ix);
    return v;
}

static AsyValue m_popitem(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "dict.popitem", argc - 1, 0, 0)) return ASY_ERR;
    AsyDict *d = DICT(argv[0]);
    if (d->len == 0) return asy_raise(vm, ASY_EXC_KeyError, "popitem(): dictionary is empty");
    int64_t ix = d->nentries - 1;
    while (!ent_live(d, ix)) ix--;
    AsyTuple *t = asy_tuple_new(vm, 2);
    if (!t) return ASY_ERR;
    t->items[0] = ent_key(d, ix);
    t->items[1] = ent_value(d, ix);
    /* Find the index slot pointing at ix, then drop the trailing entries. */
    Probe p = probe_start(d, ent_hash(d, ix));
    while (probe_entry(d, &p, d->ixsize) != ix) probe_next(&p);
    dict_del_at(d, (int64_t)p.i, ix);
    d->nentries = ix;
    return ASY_OBJ(t);
}

static AsyValue m_update(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (dict_update_args(vm, DICT(argv[0]), "update", argc - 1, argv + 1, kw) < 0) return ASY_ERR;
    return ASY_NONE;
}

static AsyValue m_init(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (dict_update_args(vm, DICT(argv[0]), "dict", argc - 1, argv + 1, kw) < 0) return ASY_ERR;
    return ASY_NONE;
}

static AsyValue m_copy(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "dict.copy", argc - 1, 0, 0)) return ASY_ERR;
    AsyDict *r = asy_dict_copy(vm, DICT(argv[0]));
    return r ? ASY_OBJ(r) : ASY_ERR;
}

static AsyValue m_clear(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "dict.clear", argc - 1, 0, 0)) return ASY_ERR;
    AsyDict *d = DICT(argv[0]);
    uint64_t version = d->version;
    dict_free_tables(vm, d);
    d->general = false;
    d->version = version + 1;
    return ASY_NONE;
}

static AsyValue m_fromkeys(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "fromkeys", argc - 1, 1, 2)) return ASY_ERR;
    AsyValue value = argc > 2 ? argv[2] : ASY_NONE;
    AsyValue d = asy_call(vm, argv[0], 0, NULL, NULL);
    if (ASY_IS_ERR(d)) return ASY_ERR;
    asy_root_push(vm, d);
    AsyValue it = asy_iter(vm, argv[1]);
    if (ASY_IS_ERR(it)) goto fail;
    asy_root_push(vm, it);
    bool exact = cont_is_type(vm, d, ASY_TYPE_dict);
    for (;;) {
        AsyValue k = asy_next(vm, it);
        if (ASY_IS_UNDEF(k)) break;
        int rc = ASY_IS_ERR(k) ? -1
                 : exact       ? asy_dict_set(vm, DICT(d), k, value)
                               : asy_setitem(vm, d, k, value);
        if (rc < 0) {
            asy_root_pop(vm, 1);
            goto fail;
        }
    }
    asy_root_pop(vm, 2);
    return d;
fail:
    asy_root_pop(vm, 1);
    return ASY_ERR;
}

static AsyValue m_reversed(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "dict.__reversed__", argc - 1, 0, 0)) return ASY_ERR;
    return dictiter_make(vm, DICT(argv[0]), ASY_TYPE_dict_keyiterator, true);
}

/* Explicit dunders so that subclasses can call super().__getitem__(k) and friends. */
static AsyValue m_getitem(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "dict.__getitem__", argc - 1, 1, 1)) return ASY_ERR;
    AsyValue v = asy_dict_get(vm, DICT(argv[0]), argv[1]);
    return ASY_IS_UNDEF(v) ? raise_key_error(vm, argv[1]) : v;
}

static AsyValue m_setitem(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__setitem__", argc - 1, 2, 2)) return ASY_ERR;
    return asy_dict_set(vm, DICT(argv[0]), argv[1], argv[2]) < 0 ? ASY_ERR : ASY_NONE;
}

static AsyValue m_delitem(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "dict.__delitem__", argc - 1, 1, 1)) return ASY_ERR;
    return dict_setitem(vm, argv[0], argv[1], ASY_UNDEF) < 0 ? ASY_ERR : ASY_NONE;
}

static AsyValue m_contains(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "dict.__contains__", argc - 1, 1, 1)) return ASY_ERR;
    int r = dict_contains(vm, argv[0], argv[1]);
    return r < 0 ? ASY_ERR : ASY_BOOL(r);
}

static const AsyMethodDef dict_methods[] = {
    {"keys", m_keys, ASY_METH_NOKW, "A set-like object providing a view on D's keys."},
    {"values", m_values, ASY_METH_NOKW, "An object providing a view on D's values."},
    {"items", m_items, ASY_METH_NOKW, "A set-like object providing a view on D's items."},
    {"get", m_get, ASY_METH_NOKW, "Return the value for key if key is in the dictionary, else default."},
    {"setdefault", m_setdefault, ASY_METH_NOKW, "Insert key with a value of default if key is not in the dictionary."},
    {"pop", m_pop, ASY_METH_NOKW, "D.pop(k[,d]) -> v, remove specified key and return the corresponding value."},
    {"popitem", m_popitem, ASY_METH_NOKW, "Remove and return a (key, value) pair as a 2-tuple."},
    {"update", m_update, ASY_METH_DEFAULT, "D.update([E, ]**F) -> None.  Update D from dict/iterable E and F."},
    {"copy", m_copy, ASY_METH_NOKW, "D.copy() -> a shallow copy of D"},
    {"clear", m_clear, ASY_METH_NOKW, "D.clear() -> None.  Remove all items from D."},
    {"fromkeys", m_fromkeys, ASY_METH_CLASS | ASY_METH_NOKW, "Create a new dictionary with keys from iterable and values set to value."},
    {"__reversed__", m_reversed, ASY_METH_NOKW, "Return a reverse iterator over the dict keys."},
    {"__init__", m_init, ASY_METH_DEFAULT, "Initialize self."},
    {"__getitem__", m_getitem, ASY_METH_NOKW, "x.__getitem__(y) <==> x[y]"},
    {"__setitem__", m_setitem, ASY_METH_NOKW, "Set self[key] to value."},
    {"__delitem__", m_delitem, ASY_METH_NOKW, "Delete self[key]."},
    {"__contains__", m_contains, ASY_METH_NOKW, "True if the dictionary has the specified key, else False."},
    {NULL, NULL, 0, NULL},
};

/* ---- iterators ---- */

static AsyValue iter_self(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm);
    return self;
}

/* The index of the next live entry, -1 at the end or on error (*err set). */
static int64_t dictiter_step(AsyVM *vm, AsyDictIter *it, bool *err) {
    *err = false;
    AsyDict *d = it->dict;
    if (!d) return -1;
    if (it->used != d->len) {
        it->used = -1;   /* sticky, as CPython */
        *err = true;
        asy_raise(vm, ASY_EXC_RuntimeError, "dictionary changed size during iteration");
        return -1;
    }
    int64_t found = -1;
    if (it->reversed) {
        while (found < 0 && it->pos >= 0 && it->pos < d->nentries) {
            int64_t i = it->pos--;
            if (ent_live(d, i)) found = i;
        }
    } else {
        while (found < 0 && it->pos < d->nentries) {
            int64_t i = it->pos++;
            if (ent_live(d, i)) found = i;
        }
    }
    if (found < 0) {
        it->dict = NULL;
        return -1;
    }
    if (it->remaining == 0) {
        it->dict = NULL;
        *err = true;
        asy_raise(vm, ASY_EXC_RuntimeError, "dictionary keys changed during iteration");
        return -1;
    }
    it->remaining--;
    return found;
}

/* dictiter_step on the iterator self, whose dict goes to *d (before the step ends it). */
static int64_t dictiter_next_ix(AsyVM *vm, AsyValue self, AsyDict **d, bool *err) {
    AsyDictIter *it = (AsyDictIter *)ASY_AS_OBJ(self);
    *d = it->dict;
    return dictiter_step(vm, it, err);
}

static AsyValue dictiter_next_key(AsyVM *vm, AsyValue self) {
    AsyDict *d;
    bool err;
    int64_t i = dictiter_next_ix(vm, self, &d, &err);
    return i >= 0 ? ent_key(d, i) : err ? ASY_ERR : ASY_UNDEF;
}

static AsyValue dictiter_next_value(AsyVM *vm, AsyValue self) {
    AsyDict *d;
    bool err;
    int64_t i = dictiter_next_ix(vm, self, &d, &err);
    return i >= 0 ? ent_value(d, i) : err ? ASY_ERR : ASY_UNDEF;
}

static AsyValue dictiter_next_item(AsyVM *vm, AsyValue self) {
    AsyDict *d;
    bool err;
    int64_t i = dictiter_next_ix(vm, self, &d, &err);
    if (i < 0) return err ? ASY_ERR : ASY_UNDEF;
    AsyValue kv[2] = {ent_key(d, i), ent_value(d, i)};
    AsyTuple *t = asy_tuple_from_array(vm, kv, 2);
    return t ? ASY_OBJ(t) : ASY_ERR;
}

static void dictiter_traverse(AsyVM *vm, AsyObj *self) {
    asy_gc_mark_obj(vm, (AsyObj *)((AsyDictIter *)self)->dict);
}

/* ---- views ---- */

#define VIEW(v) ((AsyDictView *)ASY_AS_OBJ(v))

static int64_t view_len(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm);
    return VIEW(self)->dict->len;
}

static int view_truth(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm);
    return VIEW(self)->dict->len != 0;
}

static AsyTypeId view_iter_kind(AsyVM *vm, AsyValue self) {
    AsyType *t = ASY_AS_OBJ(self)->type;
    if (t == ASY_TYPE(vm, dict_values)) return ASY_TYPE_dict_valueiterator;
    if (t == ASY_TYPE(vm, dict_items)) return ASY_TYPE_dict_itemiterator;
    return ASY_TYPE_dict_keyiterator;
}

static AsyValue view_iter(AsyVM *vm, AsyValue self) {
    return dictiter_make(vm, VIEW(self)->dict, view_iter_kind(vm, self), false);
}

static AsyValue view_m_reversed(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__reversed__", argc - 1, 0, 0)) return ASY_ERR;
    return dictiter_make(vm, VIEW(argv[0])->dict, view_iter_kind(vm, argv[0]), true);
}

static int keys_contains(AsyVM *vm, AsyValue self, AsyValue key) {
    return dict_contains(vm, ASY_OBJ(VIEW(self)->dict), key);
}

static int items_contains(AsyVM *vm, AsyValue self, AsyValue item) {
    if (!cont_is_kind(vm, item, ASY_TYPE_tuple) || ((AsyTuple *)ASY_AS_OBJ(item))->len != 2)
        return 0;
    AsyTuple *t = (AsyTuple *)ASY_AS_OBJ(item);
    AsyValue v = asy_dict_get(vm, VIEW(self)->dict, t->items[0]);
    if (ASY_IS_ERR(v)) return -1;
    if (ASY_IS_UNDEF(v)) return 0;
    asy_root_push(vm, v);
    int r = cont_eq(vm, v, t->items[1]);
    asy_root_pop(vm, 1);
    return r;
}

static int values_contains(AsyVM *vm, AsyValue self, AsyValue x) {
    AsyDict *d = VIEW(self)->dict;
    for (int64_t i = 0; i < d->nentries; i++) {
        if (!ent_live(d, i)) continue;
        int r = cont_eq(vm, ent_value(d, i), x);
        if (r != 0) return r;
    }
    return 0;
}

static AsyValue view_repr(AsyVM *vm, AsyValue self) {
    AsyObj *o = ASY_AS_OBJ(self);
    int g = asy_repr_enter(vm, o);
    if (g < 0) return ASY_ERR;
    if (g > 0) return ASY_OBJ(asy_str_from_cstr(vm, "..."));
    AsyValue r = ASY_ERR;
    AsyList *l = asy_list_from_iterable(vm, self);
    if (l) {
        asy_root_push(vm, ASY_OBJ(l));
        r = asy_repr(vm, ASY_OBJ(l));
        asy_root_pop(vm, 1);
    }
    asy_repr_leave(vm, o);
    if (ASY_IS_ERR(r)) return r;
    AsyStr *s = asy_str_printf(vm, "%s(%s)", o->type->name, ((AsyStr *)ASY_AS_OBJ(r))->data);
    return s ? ASY_OBJ(s) : ASY_ERR;
}

static bool is_setlike(AsyVM *vm, AsyValue v) {
    return cont_is_kind(vm, v, ASY_TYPE_set) || cont_is_kind(vm, v, ASY_TYPE_frozenset) ||
           cont_is_type(vm, v, ASY_TYPE_dict_keys) || cont_is_type(vm, v, ASY_TYPE_dict_items);
}

/* Every item of a is in b. */
static int all_contained_in(AsyVM *vm, AsyValue a, AsyValue b) {
    AsyValue it = asy_iter(vm, a);
    if (ASY_IS_ERR(it)) return -1;
    asy_root_push(vm, it);
    int r = 1;
    for (;;) {
        AsyValue x = asy_next(vm, it);
        if (ASY_IS_UNDEF(x)) break;
        r = ASY_IS_ERR(x) ? -1 : asy_contains(vm, b, x);
        if (r <= 0) break;
    }
    asy_root_pop(vm, 1);
    return r;
}

static AsyValue view_richcompare(AsyVM *vm, AsyValue self, AsyValue other, AsyCmpOp op) {
    if (!is_setlike(vm, self) || !is_setlike(vm, other)) return cont_not_implemented(vm);
    int64_t la = asy_len(vm, self), lb = asy_len(vm, other);
    if (la < 0 || lb < 0) return ASY_ERR;
    int r;
    switch (op) {
    case ASY_CMP_EQ:
    case ASY_CMP_NE: r = la == lb ? all_contained_in(vm, self, other) : 0; break;
    case ASY_CMP_LT: r = la < lb ? all_contained_in(vm, self, other) : 0; break;
    case ASY_CMP_LE: r = la <= lb ? all_contained_in(vm, self, other) : 0; break;
    case ASY_CMP_GT: r = la > lb ? all_contained_in(vm, other, self) : 0; break;
    default: r = la >= lb ? all_contained_in(vm, other, self) : 0; break;
    }
    if (r < 0) return ASY_ERR;
    return ASY_BOOL(op == ASY_CMP_NE ? !r : r);
}

/* keys & other, | - ^: the left operand as a set, then the set operation (CPython). */
static AsyValue view_binop(AsyVM *vm, AsyValue a, AsyValue b, AsyBinOp op) {
    AsyBinOp base = op >= ASY_BIN_INPLACE ? (AsyBinOp)(op - ASY_BIN_INPLACE) : op;
    if (base != ASY_BIN_AND && base != ASY_BIN_OR && base != ASY_BIN_SUB && base != ASY_BIN_XOR)
        return cont_not_implemented(vm);
    AsySet *s = asy_set_new(vm, false);
    asy_root_push(vm, ASY_OBJ(s));
    int rc = 0;
    if (base == ASY_BIN_AND) {
        /* Items of b that are in a, in b's order. */
        AsyValue it = asy_iter(vm, b);
        rc = ASY_IS_ERR(it) ? -1 : 0;
        if (rc == 0) asy_root_push(vm, it);
        while (rc == 0) {
            AsyValue x = asy_next(vm, it);
            if (ASY_IS_UNDEF(x)) break;
            if (ASY_IS_ERR(x)) {
                rc = -1;
                break;
            }
            asy_root_push(vm, x);
            int in = asy_contains(vm, a, x);
            if (in < 0 || (in && asy_set_add(vm, s, x) < 0)) rc = -1;
            asy_root_pop(vm, 1);
        }
        if (!ASY_IS_ERR(it)) asy_root_pop(vm, 1);
    } else {
        rc = asy_set_update(vm, s, a);
        if (rc == 0) rc = asy_cont_set_inplace(vm, s, b, base);
    }
    asy_root_pop(vm, 1);
    return rc < 0 ? ASY_ERR : ASY_OBJ(s);
}

static AsyValue view_m_isdisjoint(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "isdisjoint", argc - 1, 1, 1)) return ASY_ERR;
    AsyValue it = asy_iter(vm, argv[1]);
    if (ASY_IS_ERR(it)) return ASY_ERR;
    asy_root_push(vm, it);
    int r = 0;
    for (;;) {
        AsyValue x = asy_next(vm, it);
        if (ASY_IS_UNDEF(x)) break;
        r = ASY_IS_ERR(x) ? -1 : asy_contains(vm, argv[0], x);
        if (r != 0) break;
    }
    asy_root_pop(vm, 1);
    return r < 0 ? ASY_ERR : ASY_BOOL(r == 0);
}

static void view_traverse(AsyVM *vm, AsyObj *self) {
    asy_gc_mark_obj(vm, (AsyObj *)((AsyDictView *)self)->dict);
}

static const AsyMethodDef setview_methods[] = {
    {"__reversed__", view_m_reversed, ASY_METH_NOKW, "Return a reverse iterator over the view."},
    {"isdisjoint", view_m_isdisjoint, ASY_METH_NOKW, "Return True if the view and the given iterable have a null intersection."},
    {NULL, NULL, 0, NULL},
};

static const AsyMethodDef values_methods[] = {
    {"__reversed__", view_m_reversed, ASY_METH_NOKW, "Return a reverse iterator over the view."},
    {NULL, NULL, 0, NULL},
};

static void view_type(AsyVM *vm, AsyTypeId id, const char *name,
                      int (*contains)(AsyVM *, AsyValue, AsyValue), bool setlike) {
    AsyType *t = asy_type_new_builtin(vm, name, ASY_TYPE(vm, object), sizeof(AsyDictView));
    t->len = view_len;
    t->truth = view_truth;
    t->iter = view_iter;
    t->contains = contains;
    t->repr = view_repr;
    t->traverse = view_traverse;
    if (setlike) {
        t->richcompare = view_richcompare;
        t->binop = view_binop;
    }
    asy_type_add_methods(vm, t, setlike ? setview_methods : values_methods);
    asy_type_ready(vm, t);
    if (setlike) t->hash = NULL;
    vm->types[id] = t;
}

static void dictiter_type(AsyVM *vm, AsyTypeId id, const char *name,
                          AsyValue (*next)(AsyVM *, AsyValue)) {
    AsyType *t = asy_type_new_builtin(vm, name, ASY_TYPE(vm, object), sizeof(AsyDictIter));
    t->iter = iter_self;
    t->next = next;
    t->traverse = dictiter_traverse;
    asy_type_ready(vm, t);
    vm->types[id] = t;
}

void asy_dict_init(AsyVM *vm) {
    AsyType *t = asy_type_new_builtin(vm, "dict", ASY_TYPE(vm, object), sizeof(AsyDict));
    t->tflags |= ASY_TYPE_BASETYPE;
    t->repr = dict_repr;
    t->richcompare = dict_richcompare;
    t->truth = dict_truth;
    t->len = dict_len;
    t->iter = dict_iter;
    t->getitem = dict_getitem;
    t->setitem = dict_setitem;
    t->contains = dict_contains;
    t->binop = dict_binop;
    t->new_ = dict_new;
    t->traverse = dict_traverse;
    t->finalize = dict_finalize;
    vm->types[ASY_TYPE_dict] = t;
    asy_type_add_methods(vm, t, dict_methods);
    asy_type_ready(vm, t);
    t->hash = NULL;   /* unhashable */

    view_type(vm, ASY_TYPE_dict_keys, "dict_keys", keys_contains, true);
    view_type(vm, ASY_TYPE_dict_values, "dict_values", values_contains, false);
    view_type(vm, ASY_TYPE_dict_items, "dict_items", items_contains, true);
    dictiter_type(vm, ASY_TYPE_dict_keyiterator, "dict_keyiterator", dictiter_next_key);
    dictiter_type(vm, ASY_TYPE_dict_valueiterator, "dict_valueiterator", dictiter_next_value);
    dictiter_type(vm, ASY_TYPE_dict_itemiterator, "dict_itemiterator", dictiter_next_item);
}
