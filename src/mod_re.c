/* mod_re.c - the `re` module on PCRE2: compile (with CPython's cache of 512 patterns),
 * match/search/fullmatch, findall/finditer, sub/subn, split, escape, purge; the
 * re.Pattern and re.Match types and finditer's iterator. re.error and re.RegexFlag are
 * small classes written in asy (re_lib_src below).
 *
 * Patterns are translated to PCRE2 syntax by re_translate.c, compiled in UTF mode (with
 * Unicode properties unless re.ASCII) and JIT-compiled; match() and fullmatch() get their
 * own anchored compilations on first use, because anchoring at match time would turn the
 * JIT off. Subjects are matched in place: asy strs are UTF-8, so PCRE2 works in byte
 * offsets and positions are converted to code points only when asked for (an ASCII
 * string's byte offsets are its character offsets).
 *
 * Iteration follows sre exactly: after an empty match the next search must advance
 * (PCRE2_NOTEMPTY_ATSTART), after a non-empty one an empty match may touch it.
 * Catastrophic backtracking stops at the match limit and raises re.error.
 */
#include "common.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "re_translate.h"
#include "unicode.h"
#include "vm.h"

#define RE_CACHE_MAX 512 /* CPython's _MAXCACHE                               */
#define RE_CACHE_BUCKETS 1024
/* Backtracking budget of one match. Ordinary patterns use a few steps per subject
 * character; an exponential one exhausts this in about a second instead of running for
 * ever (CPython would hang). */
#define RE_MATCH_LIMIT 100000000u
#define RE_HEAP_LIMIT_KIB (512u * 1024u) /* the interpreter's backtracking memory  */
#define RE_JIT_STACK_MAX (8u << 20)      /* beyond it, the interpreter takes over  */

enum { MODE_SEARCH, MODE_MATCH, MODE_FULL, MODE_COUNT };

typedef struct RePattern RePattern;
typedef struct ReState ReState;

struct RePattern {
    AsyObj hdr;
    ReState *st;
    pcre2_code *code[MODE_COUNT]; /* search code at once, anchored ones on first use   */
    bool jit[MODE_COUNT];
    pcre2_match_data *md; /* shared: ovectors are copied out at once            */
    char *pcre;           /* the translated pattern, for the anchored variants  */
    size_t pcre_len;
    uint32_t copts;
    AsyValue pattern; /* the str or bytes it was compiled from              */
    uint32_t flags;
    int ngroups;
    bool is_bytes;
    int *parent; /* innermost enclosing group, for lastindex           */
    ReGroupName *names;
    int nnames;
    AsyValue groupindex; /* the mappingproxy, made on first use                */
    AsyValue tmpl_src;   /* the replacement template last parsed (UNDEF: none) */
    ReTemplate tmpl;
};

typedef struct {
    AsyObj hdr;
    RePattern *re;
    AsyValue string;
    int64_t pos, endpos;
    int lastindex;      /* 0: None                                          */
    bool ascii;         /* byte offsets are character offsets               */
    size_t anchor_byte; /* a known (byte, char) pair: the match's start     */
    int64_t anchor_char;
    int ngroups;
    PCRE2_SIZE ov[]; /* 2 * (ngroups + 1); PCRE2_UNSET when unmatched     */
} ReMatch;

typedef struct {
    AsyObj hdr;
    RePattern *re;
    AsyValue string;
    int64_t pos, endpos;
    size_t cur, end;  /* next search start and the end, in bytes          */
    size_t hint_byte; /* a known (byte, char) pair at or before cur       */
    int64_t hint_char;
    bool must_advance, done;
} ReIter;

typedef struct {
    AsyObj hdr;
    AsyDict *dict;
} ReProxy;

typedef struct {
    AsyType *type; /* the pattern's type: str and bytes never collide    */
    AsyValue key;
    uint32_t flags;
    int64_t hash;
    RePattern *pat;
    int next; /* next entry in the bucket, -1 at the end           */
} ReCacheEntry;

struct ReState {
    AsyObj hdr;
    AsyType *pattern_type, *match_type, *iter_type, *proxy_type;
    AsyValue error_class;
    pcre2_compile_context *cctx;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit_stack;
    ReCacheEntry cache[RE_CACHE_MAX]; /* a ring in insertion order: FIFO eviction     */
    int buckets[RE_CACHE_BUCKETS];
    int ncache, cache_head;
};

/* A subject string seen as bytes. */
typedef struct {
    const char *data;
    size_t len;
    int64_t nchars;
    bool ascii; /* bytes objects too: offsets are indexes            */
} ReSubject;

#define PAT(v) ((RePattern *)ASY_AS_OBJ(v))
#define MATCH(v) ((ReMatch *)ASY_AS_OBJ(v))

/* ==================================================================================== */
/* Arguments                                                                            */
/* ==================================================================================== */

/* A signature: module-level functions are Python functions in CPython (their messages),
 * methods are argument-clinic functions (theirs). */
typedef struct {
    const char *name;
    const char *params[6];
    int nparams, nrequired;
    bool pyfunc;
} ReSig;

static void missing_args(AsyVM *vm, const ReSig *sig, const AsyValue *out) {
    int miss[6], n = 0;
    for (int i = 0; i < sig->nrequired; i++)
        if (ASY_IS_UNDEF(out[i])) miss[n++] = i;
    if (!sig->pyfunc) {
        asy_raise(vm, ASY_EXC_TypeError, "%s() missing required argument '%s' (pos %d)", sig->name,
                  sig->params[miss[0]], miss[0] + 1);
        return;
    }
    char names[200] = "";
    for (int i = 0; i < n; i++) {
        size_t l = strlen(names);
        const char *sep = i == 0 ? "" : (i == n - 1 ? (n > 2 ? ", and " : " and ") : ", ");
        snprintf(names + l, sizeof names - l, "%s'%s'", sep, sig->params[miss[i]]);
    }
    asy_raise(vm, ASY_EXC_TypeError, "%s() missing %d required positional argument%s: %s",
              sig->name, n, n == 1 ? "" : "s", names);
}

static bool too_many_args(AsyVM *vm, const ReSig *sig, int argc) {
    if (!sig->pyfunc) {
        asy_raise(vm, ASY_EXC_TypeError, "%s() takes at most %d argument%s (%d given)", sig->name,
                  sig->nparams, sig->nparams == 1 ? "" : "s", argc);
        return false;
    }
    char takes[48];
    if (sig->nrequired == sig->nparams)
        snprintf(takes, sizeof takes, "%d positional argument%s", sig->nparams,
                 sig->nparams == 1 ? "" : "s");
    else
        snprintf(takes, sizeof takes, "from %d to %d positional arguments", sig->nrequired,
                 sig->nparams);
    asy_raise(vm, ASY_EXC_TypeError, "%s() takes %s but %d %s given", sig->name, takes, argc,
              argc == 1 ? "was" : "were");
    return false;
}

static bool bind_keyword(AsyVM *vm, const ReSig *sig, int argc, AsyValue key, AsyValue v,
                         AsyValue *out) {
    const char *k = ASY_IS_OBJ(key) ? ((AsyStr *)ASY_AS_OBJ(key))->data : "";
    for (int i = 0; i < sig->nparams; i++) {
        if (strcmp(k, sig->params[i]) != 0) continue;
        if (i < argc) {
            if (sig->pyfunc)
                asy_raise(vm, ASY_EXC_TypeError, "%s() got multiple values for argument '%s'",
                          sig->name, k);
            else
                asy_raise(vm, ASY_EXC_TypeError,
                          "argument for %s() given by name ('%s') and position (%d)", sig->name, k,
                          i + 1);
            return false;
        }
        out[i] = v;
        return true;
    }
    if (sig->pyfunc)
        asy_raise(vm, ASY_EXC_TypeError, "%s() got an unexpected keyword argument '%s'", sig->name,
                  k);
    else
        asy_raise(vm, ASY_EXC_TypeError, "'%s' is an invalid keyword argument for %s()", k,
                  sig->name);
    return false;
}

/* Bind positional and keyword arguments to sig's parameters; absent ones are UNDEF. */
static bool bind_args(AsyVM *vm, const ReSig *sig, int argc, const AsyValue *argv, AsyDict *kw,
                      AsyValue *out) {
    if (argc > sig->nparams) return too_many_args(vm, sig, argc);
    for (int i = 0; i < sig->nparams; i++)
        out[i] = i < argc ? argv[i] : ASY_UNDEF;
    if (kw && kw->len > 0) {
        int64_t pos = 0;
        AsyValue k, v;
        while (asy_dict_next(kw, &pos, &k, &v))
            if (!bind_keyword(vm, sig, argc, k, v, out)) return false;
    }
    for (int i = 0; i < sig->nrequired; i++)
        if (ASY_IS_UNDEF(out[i])) {
            missing_args(vm, sig, out);
            return false;
        }
    return true;
}

/* An optional int argument (UNDEF: the default). */
static bool int_arg(AsyVM *vm, AsyValue v, int64_t dflt, int64_t *out) {
    if (ASY_IS_UNDEF(v)) {
        *out = dflt;
        return true;
    }
    return asy_index(vm, v, out);
}

/* ==================================================================================== */
/* Errors                                                                               */
/* ==================================================================================== */

/* raise re.error(msg, pattern, pos): pattern UNDEF and pos < 0 leave them None. */
static AsyValue raise_re_error(AsyVM *vm, ReState *st, const char *msg, AsyValue pattern,
                               long pos) {
    AsyValue args[3];
    args[0] = ASY_OBJ(asy_str_from_cstr(vm, msg));
    args[1] = ASY_IS_UNDEF(pattern) ? ASY_NONE : pattern;
    args[2] = pos < 0 ? ASY_NONE : ASY_INT(pos);
    AsyValue e = asy_call(vm, st->error_class, 3, args, NULL);
    if (ASY_IS_ERR(e)) return e;
    return asy_raise_value(vm, e);
}

/* The exception a failed translation or template parse describes. */
static AsyValue raise_translate_error(AsyVM *vm, ReState *st, const ReError *err, AsyValue source) {
    switch (err->kind) {
    case RE_ERR_VALUE: return asy_raise(vm, ASY_EXC_ValueError, "%s", err->msg);
    case RE_ERR_OVERFLOW: return asy_raise(vm, ASY_EXC_OverflowError, "%s", err->msg);
    case RE_ERR_INDEX: return asy_raise(vm, ASY_EXC_IndexError, "%s", err->msg);
    case RE_ERR_RECURSION: return asy_raise(vm, ASY_EXC_RecursionError, "%s", err->msg);
    case RE_ERR_MEMORY: return asy_raise_memory(vm);
    default: return raise_re_error(vm, st, err->msg, err->pos < 0 ? ASY_UNDEF : source, err->pos);
    }
}

static AsyValue raise_pcre_error(AsyVM *vm, ReState *st, int code) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(code, buf, sizeof buf);
    return raise_re_error(vm, st, (const char *)buf, ASY_UNDEF, -1);
}

/* ==================================================================================== */
/* Subjects and positions                                                               */
/* ==================================================================================== */

static bool is_str(AsyVM *vm, AsyValue v) {
    return ASY_IS_OBJ(v) && (ASY_AS_OBJ(v)->type == ASY_TYPE(vm, str) ||
                             asy_is_subtype(ASY_AS_OBJ(v)->type, ASY_TYPE(vm, str)));
}

static bool is_bytes(AsyVM *vm, AsyValue v) {
    return ASY_IS_OBJ(v) && (ASY_AS_OBJ(v)->type == ASY_TYPE(vm, bytes) ||
                             asy_is_subtype(ASY_AS_OBJ(v)->type, ASY_TYPE(vm, bytes)));
}

static void subject_of(AsyVM *vm, AsyValue v, ReSubject *s) {
    if (is_str(vm, v)) {
        AsyStr *x = (AsyStr *)ASY_AS_OBJ(v);
        *s = (ReSubject){x->data, x->len, (int64_t)x->nchars, x->ascii};
    } else {
        AsyBytes *b = (AsyBytes *)ASY_AS_OBJ(v);
        *s = (ReSubject){(const char *)b->data, b->len, (int64_t)b->len, true};
    }
}

/* The string a pattern may be matched against, with CPython's TypeErrors. */
static bool get_subject(AsyVM *vm, RePattern *p, AsyValue v, ReSubject *s) {
    if (is_str(vm, v)) {
        if (p->is_bytes) {
            asy_raise(vm, ASY_EXC_TypeError, "cannot use a bytes pattern on a string-like object");
            return false;
        }
    } else if (is_bytes(vm, v)) {
        if (!p->is_bytes) {
            asy_raise(vm, ASY_EXC_TypeError, "cannot use a string pattern on a bytes-like object");
            return false;
        }
    } else {
        asy_raise(vm, ASY_EXC_TypeError, "expected string or bytes-like object, got '%s'",
                  asy_type_name(vm, v));
        return false;
    }
    subject_of(vm, v, s);
    return true;
}

static size_t byte_at(const ReSubject *s, int64_t ch) {
    return s->ascii ? (size_t)ch : asy_utf8_offset(s->data, s->len, (size_t)ch);
}

/* Characters between two byte offsets of UTF-8 text (negative when to < from). */
static int64_t chars_between(const char *d, size_t from, size_t to) {
    if (to >= from) return (int64_t)asy_utf8_nchars(d + from, to - from);
    return -(int64_t)asy_utf8_nchars(d + to, from - to);
}

/* pos/endpos as sre reads them: clamped to [0, len]. */
typedef struct {
    int64_t pos, endpos; /* characters                                       */
    size_t start, end;   /* bytes                                            */
} ReRange;

static bool get_range(AsyVM *vm, const ReSubject *s, AsyValue vpos, AsyValue vend, ReRange *r) {
    if (!int_arg(vm, vpos, 0, &r->pos) || !int_arg(vm, vend, INT64_MAX, &r->endpos)) return false;
    if (r->pos < 0) r->pos = 0;
    if (r->pos > s->nchars) r->pos = s->nchars;
    if (r->endpos < 0) r->endpos = 0;
    if (r->endpos > s->nchars) r->endpos = s->nchars;
    r->start = byte_at(s, r->pos);
    r->end = r->endpos == s->nchars ? s->len : byte_at(s, r->endpos);
    return true;
}

/* ==================================================================================== */
/* Compiling                                                                            */
/* ==================================================================================== */

static pcre2_code *pcre_compile(AsyVM *vm, ReState *st, const char *src, size_t n, uint32_t opts,
                                bool *jit) {
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)src, n, opts, &ec, &eo, st->cctx);
    if (!code) {
        raise_pcre_error(vm, st, ec);
        return NULL;
    }
    *jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
    return code;
}

/* The code for a mode: match() and fullmatch() get anchored compilations, made once. */
static pcre2_code *pattern_code(AsyVM *vm, RePattern *p, int mode) {
    if (p->code[mode]) return p->code[mode];
    char *src = p->pcre;
    size_t n = p->pcre_len;
    if (mode == MODE_FULL) {
        src = malloc(n + 8);
        if (!src) {
            asy_raise_memory(vm);
            return NULL;
        }
        memcpy(src, "(?:", 3);
        memcpy(src + 3, p->pcre, n);
        memcpy(src + 3 + n, ")\\z", 4);
        n += 6;
    }
    p->code[mode] = pcre_compile(vm, p->st, src, n, p->copts | PCRE2_ANCHORED, &p->jit[mode]);
    if (src != p->pcre) free(src);
    return p->code[mode];
}

static void pattern_finalize(AsyVM *vm, AsyObj *o) {
    ASY_UNUSED(vm);
    RePattern *p = (RePattern *)o;
    for (int i = 0; i < MODE_COUNT; i++)
        pcre2_code_free(p->code[i]);
    pcre2_match_data_free(p->md);
    free(p->pcre);
    free(p->parent);
    for (int i = 0; i < p->nnames; i++)
        free(p->names[i].name);
    free(p->names);
    re_template_free(&p->tmpl);
}

static void pattern_traverse(AsyVM *vm, AsyObj *o) {
    RePattern *p = (RePattern *)o;
    asy_gc_mark_obj(vm, (AsyObj *)p->st);
    asy_gc_mark_value(vm, p->pattern);
    asy_gc_mark_value(vm, p->groupindex);
    asy_gc_mark_value(vm, p->tmpl_src);
}

/* Compile without the cache. */
static RePattern *compile_pattern(AsyVM *vm, ReState *st, AsyValue pattern, uint32_t flags) {
    ReSubject s;
    subject_of(vm, pattern, &s);
    bool bytes = is_bytes(vm, pattern);
    ReTranslation tr;
    ReError err;
    if (!re_translate(s.data, s.len, bytes, flags, &tr, &err)) {
        raise_translate_error(vm, st, &err, pattern);
        return NULL;
    }
    RePattern *p = asy_gc_alloc(vm, st->pattern_type, sizeof(RePattern));
    p->st = st;
    p->pattern = pattern;
    p->groupindex = p->tmpl_src = ASY_UNDEF;
    p->pcre = tr.pcre;
    p->pcre_len = tr.pcre_len;
    p->flags = tr.flags;
    p->ngroups = tr.ngroups;
    p->is_bytes = bytes;
    p->parent = tr.parent;
    p->names = tr.names;
    p->nnames = tr.nnames;
    p->copts = (bytes ? 0 : PCRE2_UTF | PCRE2_NO_UTF_CHECK) | (tr.ucp ? PCRE2_UCP : 0) |
               PCRE2_ALT_CIRCUMFLEX;
    if (tr.flags & RE_FLAG_IGNORECASE) p->copts |= PCRE2_CASELESS;
    if (tr.flags & RE_FLAG_MULTILINE) p->copts |= PCRE2_MULTILINE;
    if (tr.flags & RE_FLAG_DOTALL) p->copts |= PCRE2_DOTALL;
    /* the pattern object owns the buffers from here on (its finalizer frees them) */
    p->code[MODE_SEARCH] = pcre_compile(vm, st, p->pcre, p->pcre_len, p->copts, &p->jit[0]);
    if (!p->code[MODE_SEARCH]) return NULL;
    p->md = pcre2_match_data_create_from_pattern(p->code[MODE_SEARCH], NULL);
    if (!p->md) {
        asy_raise_memory(vm);
        return NULL;
    }
    return p;
}

/* ---- the cache: CPython's _cache dict keyed by (type, pattern, flags), 512 entries,
 * the oldest dropped first ---- */

static int64_t key_hash(AsyVM *vm, AsyValue key) {
    if (is_str(vm, key)) return asy_str_hash((AsyStr *)ASY_AS_OBJ(key));
    AsyBytes *b = (AsyBytes *)ASY_AS_OBJ(key);
    return asy_hash_bytes(b->data, b->len);
}

static bool key_equal(AsyVM *vm, AsyValue a, AsyValue b) {
    if (asy_value_is(a, b)) return true;
    ReSubject x, y;
    subject_of(vm, a, &x);
    subject_of(vm, b, &y);
    return x.len == y.len && memcmp(x.data, y.data, x.len) == 0;
}

static void cache_unlink(ReState *st, int idx) {
    ReCacheEntry *e = &st->cache[idx];
    int *link = &st->buckets[(uint64_t)e->hash % RE_CACHE_BUCKETS];
    while (*link != idx)
        link = &st->cache[*link].next;
    *link = e->next;
    e->pat = NULL;
    e->key = ASY_UNDEF;
}

static void cache_insert(ReState *st, AsyType *type, AsyValue key, uint32_t flags, int64_t hash,
                         RePattern *p) {
    int idx;
    if (st->ncache < RE_CACHE_MAX) {
        idx = st->ncache++;
    } else {
        idx = st->cache_head;
        st->cache_head = (st->cache_head + 1) % RE_CACHE_MAX;
        cache_unlink(st, idx);
    }
    int b = (int)((uint64_t)hash % RE_CACHE_BUCKETS);
    st->cache[idx] = (ReCacheEntry){type, key, flags, hash, p, st->buckets[b]};
    st->buckets[b] = idx;
}

static void cache_clear(ReState *st) {
    for (int i = 0; i < RE_CACHE_BUCKETS; i++)
        st->buckets[i] = -1;
    for (int i = 0; i < st->ncache; i++)
        st->cache[i] = (ReCacheEntry){0};
    st->ncache = st->cache_head = 0;
}

static AsyValue flags_value(AsyVM *vm, AsyValue v, uint32_t *out) {
    int64_t f = 0;
    *out = 0;
    if (!ASY_IS_UNDEF(v)) {
        if (!ASY_IS_INTLIKE(v) && !asy_isinstance(vm, v, ASY_TYPE(vm, int)))
            return asy_raise(vm, ASY_EXC_TypeError,
                             "unsupported operand type(s) for &: '%s' and 'RegexFlag'",
                             asy_type_name(vm, v));
        if (!asy_index(vm, v, &f)) return ASY_ERR;
    }
    *out = (uint32_t)f;
    return ASY_NONE;
}

/* re._compile(pattern, flags): a Pattern, from the cache when possible. */
static RePattern *get_pattern(AsyVM *vm, ReState *st, AsyValue pattern, AsyValue vflags) {
    uint32_t flags;
    if (ASY_IS_ERR(flags_value(vm, vflags, &flags))) return NULL;
    if (ASY_IS_OBJ(pattern) && ASY_AS_OBJ(pattern)->type == st->pattern_type) {
        if (flags) {
            asy_raise(vm, ASY_EXC_ValueError,
                      "cannot process flags argument with a compiled pattern");
            return NULL;
        }
        return PAT(pattern);
    }
    if (!is_str(vm, pattern) && !is_bytes(vm, pattern)) {
        asy_raise(vm, ASY_EXC_TypeError, "first argument must be string or compiled pattern");
        return NULL;
    }
    AsyType *type = ASY_AS_OBJ(pattern)->type;
    int64_t hash = key_hash(vm, pattern);
    for (int i = st->buckets[(uint64_t)hash % RE_CACHE_BUCKETS]; i >= 0; i = st->cache[i].next) {
        ReCacheEntry *e = &st->cache[i];
        if (e->hash == hash && e->type == type && e->flags == flags &&
            key_equal(vm, e->key, pattern))
            return e->pat;
    }
    RePattern *p = compile_pattern(vm, st, pattern, flags);
    if (p && !(flags & RE_FLAG_DEBUG)) cache_insert(st, type, pattern, flags, hash, p);
    return p;
}

/* ==================================================================================== */
/* Matching                                                                             */
/* ==================================================================================== */

/* Run p over subject bytes [0, end) from `start`. 1: matched (the ovector is in p->md),
 * 0: no match, -1: an exception is pending. */
static int re_exec(AsyVM *vm, RePattern *p, int mode, const ReSubject *s, size_t end, size_t start,
                   uint32_t opts) {
    pcre2_code *code = pattern_code(vm, p, mode);
    if (!code) return -1;
    ReState *st = p->st;
    int rc;
    if (ASY_LIKELY(p->jit[mode])) {
        rc = pcre2_jit_match(code, (PCRE2_SPTR)s->data, end, start, opts, p->md, st->mctx);
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT) /* deep backtracking: the heap has room */
            rc = pcre2_match(code, (PCRE2_SPTR)s->data, end, start,
                             opts | PCRE2_NO_JIT | (p->is_bytes ? 0 : PCRE2_NO_UTF_CHECK), p->md,
                             st->mctx);
    } else {
        rc = pcre2_match(code, (PCRE2_SPTR)s->data, end, start,
                         opts | (p->is_bytes ? 0 : PCRE2_NO_UTF_CHECK), p->md, st->mctx);
    }
    if (rc > 0) return 1;
    if (rc == PCRE2_ERROR_NOMATCH) return 0;
    raise_pcre_error(vm, st, rc);
    return -1;
}

/* sre's lastindex: the group whose ")" ran last. An enclosing group always closes after
 * the groups inside it (even one in a look-ahead that ends further right), so a group with
 * a matched ancestor never wins; of the others, the one ending furthest right closed last
 * (loops), and on a tie the later one in the pattern. (A look-ahead capture that ends past
 * a later group is the one case this misjudges.) */
static bool has_set_ancestor(const RePattern *p, const PCRE2_SIZE *ov, int g) {
    for (int a = p->parent[g]; a; a = p->parent[a])
        if (ov[2 * a] != PCRE2_UNSET) return true;
    return false;
}

static int last_index(const RePattern *p, const PCRE2_SIZE *ov) {
    int best = 0;
    for (int g = 1; g <= p->ngroups; g++) {
        if (ov[2 * g] == PCRE2_UNSET || (best && ov[2 * g + 1] < ov[2 * best + 1])) continue;
        if (!has_set_ancestor(p, ov, g)) best = g;
    }
    return best;
}

/* A Match object for the ovector in p->md. (hint_byte, hint_char) is any known pair of
 * positions of the subject, ideally close before the match. */
static AsyValue make_match(AsyVM *vm, RePattern *p, AsyValue string, const ReSubject *s,
                           const ReRange *r, size_t hint_byte, int64_t hint_char) {
    int n = p->ngroups;
    ReMatch *m = asy_gc_alloc(vm, p->st->match_type,
                              sizeof(ReMatch) + sizeof(PCRE2_SIZE) * 2 * (size_t)(n + 1));
    if (!m) return ASY_ERR;
    const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(p->md);
    uint32_t have = pcre2_get_ovector_count(p->md);
    for (int i = 0; i <= n; i++) {
        bool set = (uint32_t)i < have && ov[2 * i] != PCRE2_UNSET;
        m->ov[2 * i] = set ? ov[2 * i] : PCRE2_UNSET;
        m->ov[2 * i + 1] = set ? ov[2 * i + 1] : PCRE2_UNSET;
    }
    m->re = p;
    m->string = string;
    m->pos = r->pos;
    m->endpos = r->endpos;
    m->ngroups = n;
    m->ascii = s->ascii;
    m->lastindex = n ? last_index(p, m->ov) : 0;
    m->anchor_byte = m->ov[0];
    m->anchor_char =
        s->ascii ? (int64_t)m->ov[0] : hint_char + chars_between(s->data, hint_byte, m->ov[0]);
    return ASY_OBJ(m);
}

/* match / search / fullmatch of one pattern over string[pos:endpos]. */
static AsyValue pattern_match_impl(AsyVM *vm, RePattern *p, int mode, AsyValue string,
                                   AsyValue vpos, AsyValue vend) {
    ReSubject s;
    ReRange r;
    if (!get_subject(vm, p, string, &s) || !get_range(vm, &s, vpos, vend, &r)) return ASY_ERR;
    if (r.end < r.start) return ASY_NONE;
    int rc = re_exec(vm, p, mode, &s, r.end, r.start, 0);
    if (rc <= 0) return rc < 0 ? ASY_ERR : ASY_NONE;
    return make_match(vm, p, string, &s, &r, r.start, r.pos);
}

/* ---- substrings ---- */

static AsyValue slice_value(AsyVM *vm, bool bytes, const char *d, size_t a, size_t b) {
    if (bytes) {
        AsyBytes *x = asy_bytes_new(vm, (const uint8_t *)d + a, b - a);
        return x ? ASY_OBJ(x) : ASY_ERR;
    }
    AsyStr *x = asy_str_new(vm, d + a, b - a);
    return x ? ASY_OBJ(x) : ASY_ERR;
}

/* Group g of the ovector ov over subject s: its text, or dflt when it did not match. */
static AsyValue group_value(AsyVM *vm, bool bytes, const ReSubject *s, const PCRE2_SIZE *ov, int g,
                            AsyValue dflt) {
    if (ov[2 * g] == PCRE2_UNSET) return dflt;
    return slice_value(vm, bytes, s->data, ov[2 * g], ov[2 * g + 1]);
}

static AsyValue empty_value(AsyVM *vm, bool bytes) {
    if (!bytes) return ASY_OBJ(vm->empty_str);
    AsyBytes *b = asy_bytes_new(vm, NULL, 0);
    return b ? ASY_OBJ(b) : ASY_ERR;
}

/* ==================================================================================== */
/* findall, split, sub                                                                  */
/* ==================================================================================== */

/* One findall item: the whole match, the one group, or a tuple of all groups. */
static AsyValue findall_item(AsyVM *vm, RePattern *p, const ReSubject *s, AsyValue empty) {
    const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(p->md);
    if (p->ngroups <= 1) return group_value(vm, p->is_bytes, s, ov, p->ngroups, empty);
    AsyTuple *t = asy_tuple_new(vm, p->ngroups);
    if (!t) return ASY_ERR;
    for (int g = 1; g <= p->ngroups; g++) {
        AsyValue v = group_value(vm, p->is_bytes, s, ov, g, empty);
        if (ASY_IS_ERR(v)) return v;
        t->items[g - 1] = v;
    }
    return ASY_OBJ(t);
}

static AsyValue findall_impl(AsyVM *vm, RePattern *p, AsyValue string, AsyValue vpos,
                             AsyValue vend) {
    ReSubject s;
    ReRange r;
    if (!get_subject(vm, p, string, &s) || !get_range(vm, &s, vpos, vend, &r)) return ASY_ERR;
    AsyList *list = asy_list_new(vm, 0);
    AsyValue empty = empty_value(vm, p->is_bytes);
    if (!list || ASY_IS_ERR(empty)) return ASY_ERR;
    size_t pos = r.start;
    uint32_t opts = 0;
    while (pos <= r.end && r.start <= r.end) {
        int rc = re_exec(vm, p, MODE_SEARCH, &s, r.end, pos, opts);
        if (rc < 0) return ASY_ERR;
        if (rc == 0) break;
        AsyValue item = findall_item(vm, p, &s, empty);
        if (ASY_IS_ERR(item) || asy_list_append(vm, list, item) < 0) return ASY_ERR;
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(p->md);
        opts = ov[0] == ov[1] ? PCRE2_NOTEMPTY_ATSTART : 0;
        pos = ov[1];
    }
    return ASY_OBJ(list);
}

static AsyValue split_impl(AsyVM *vm, RePattern *p, AsyValue string, int64_t maxsplit) {
    ReSubject s;
    if (!get_subject(vm, p, string, &s)) return ASY_ERR;
    AsyList *list = asy_list_new(vm, 0);
    if (!list) return ASY_ERR;
    size_t last = 0, pos = 0;
    uint32_t opts = 0;
    for (int64_t n = 0; !maxsplit || n < maxsplit; n++) {
        int rc = re_exec(vm, p, MODE_SEARCH, &s, s.len, pos, opts);
        if (rc < 0) return ASY_ERR;
        if (rc == 0) break;
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(p->md);
        AsyValue piece = slice_value(vm, p->is_bytes, s.data, last, ov[0]);
        if (ASY_IS_ERR(piece) || asy_list_append(vm, list, piece) < 0) return ASY_ERR;
        for (int g = 1; g <= p->ngroups; g++) {
            AsyValue v = group_value(vm, p->is_bytes, &s, ov, g, ASY_NONE);
            if (ASY_IS_ERR(v) || asy_list_append(vm, list, v) < 0) return ASY_ERR;
        }
        opts = ov[0] == ov[1] ? PCRE2_NOTEMPTY_ATSTART : 0;
        last = pos = ov[1];
    }
    AsyValue rest = slice_value(vm, p->is_bytes, s.data, last, s.len);
    if (ASY_IS_ERR(rest) || asy_list_append(vm, list, rest) < 0) return ASY_ERR;
    return ASY_OBJ(list);
}

/* The parsed template for repl, cached on the pattern (CPython caches it too). */
static const ReTemplate *pattern_template(AsyVM *vm, RePattern *p, AsyValue repl) {
    if (!ASY_IS_UNDEF(p->tmpl_src) && key_equal(vm, p->tmpl_src, repl) &&
        ASY_AS_OBJ(p->tmpl_src)->type == ASY_AS_OBJ(repl)->type)
        return &p->tmpl;
    ReSubject t;
    subject_of(vm, repl, &t);
    ReTemplate tmpl;
    ReError err;
    if (!re_template_parse(t.data, t.len, p->is_bytes, p->ngroups, p->names, p->nnames, &tmpl,
                           &err)) {
        raise_translate_error(vm, p->st, &err, repl);
        return NULL;
    }
    re_template_free(&p->tmpl);
    p->tmpl = tmpl;
    p->tmpl_src = repl;
    return &p->tmpl;
}

static void expand_template(AsyVM *vm, AsyStrBuf *out, const ReTemplate *t, const char *d,
                            const PCRE2_SIZE *ov) {
    for (int i = 0; i < t->nitems; i++) {
        const ReTemplateItem *it = &t->items[i];
        if (it->group < 0)
            asy_strbuf_append(vm, out, t->lits + it->off, it->len);
        else if (ov[2 * it->group] != PCRE2_UNSET)
            asy_strbuf_append(vm, out, d + ov[2 * it->group],
                              ov[2 * it->group + 1] - ov[2 * it->group]);
    }
}

static AsyValue finish_buf(AsyVM *vm, AsyStrBuf *b, bool bytes) {
    if (!bytes) {
        AsyStr *s = asy_strbuf_finish(vm, b);
        return s ? ASY_OBJ(s) : ASY_ERR;
    }
    AsyBytes *x = b->failed ? NULL : asy_bytes_new(vm, (const uint8_t *)b->data, b->len);
    asy_strbuf_free(b);
    return x ? ASY_OBJ(x) : ASY_ERR;
}

/* What a replacement function returned, appended (None adds nothing). npieces counts
 * the items of CPython's join list, for its "sequence item N" message. */
static bool append_result(AsyVM *vm, AsyStrBuf *out, bool bytes, AsyValue v, int64_t npieces) {
    if (ASY_IS_NONE(v)) return true;
    if (!bytes && is_str(vm, v)) {
        asy_strbuf_append_str(vm, out, (AsyStr *)ASY_AS_OBJ(v));
        return true;
    }
    if (bytes && is_bytes(vm, v)) {
        AsyBytes *b = (AsyBytes *)ASY_AS_OBJ(v);
        asy_strbuf_append(vm, out, (const char *)b->data, b->len);
        return true;
    }
    asy_raise(vm, ASY_EXC_TypeError,
              bytes ? "sequence item %lld: expected a bytes-like object, %s found"
                    : "sequence item %lld: expected str instance, %s found",
              (long long)npieces, asy_type_name(vm, v));
    return false;
}

typedef struct {
    AsyValue repl;          /* the callable, or UNDEF                            */
    const ReTemplate *tmpl; /* else the template (literal or with groups)         */
    AsyValue string;
    ReSubject s;
    int64_t count;
    int64_t n, npieces;
} ReSub;

/* One replacement for the match in p->md (ov is a copy: the callable may run p). */
static bool sub_one(AsyVM *vm, RePattern *p, ReSub *sb, AsyStrBuf *out, const PCRE2_SIZE *ov,
                    size_t hint_byte, int64_t hint_char) {
    if (ASY_IS_UNDEF(sb->repl)) {
        expand_template(vm, out, sb->tmpl, sb->s.data, ov);
        return true;
    }
    ReRange r = {0, sb->s.nchars, 0, sb->s.len};
    AsyValue m = make_match(vm, p, sb->string, &sb->s, &r, hint_byte, hint_char);
    if (ASY_IS_ERR(m)) return false;
    AsyValue v = asy_call(vm, sb->repl, 1, &m, NULL);
    if (ASY_IS_ERR(v)) return false;
    bool ok = append_result(vm, out, p->is_bytes, v, sb->npieces);
    if (!ASY_IS_NONE(v)) sb->npieces++;
    return ok;
}

static AsyValue sub_loop(AsyVM *vm, RePattern *p, ReSub *sb) {
    AsyStrBuf out;
    asy_strbuf_init(&out);
    size_t last = 0, pos = 0, hint_byte = 0;
    int64_t hint_char = 0;
    uint32_t opts = 0;
    while (!sb->count || sb->n < sb->count) {
        int rc = re_exec(vm, p, MODE_SEARCH, &sb->s, sb->s.len, pos, opts);
        if (rc <= 0) {
            if (rc == 0) break;
            asy_strbuf_free(&out);
            return ASY_ERR;
        }
        PCRE2_SIZE ov[2];
        memcpy(ov, pcre2_get_ovector_pointer(p->md), sizeof ov);
        if (last < ov[0]) {
            asy_strbuf_append(vm, &out, sb->s.data + last, ov[0] - last);
            sb->npieces++;
        }
        if (!sb->s.ascii && !ASY_IS_UNDEF(sb->repl)) {
            hint_char += chars_between(sb->s.data, hint_byte, ov[0]);
            hint_byte = ov[0];
        }
        if (!sub_one(vm, p, sb, &out, pcre2_get_ovector_pointer(p->md), hint_byte, hint_char)) {
            asy_strbuf_free(&out);
            return ASY_ERR;
        }
        sb->n++;
        opts = ov[0] == ov[1] ? PCRE2_NOTEMPTY_ATSTART : 0;
        last = pos = ov[1];
    }
    if (sb->n == 0) {
        asy_strbuf_free(&out);
        return sb->string;
    }
    asy_strbuf_append(vm, &out, sb->s.data + last, sb->s.len - last);
    return finish_buf(vm, &out, p->is_bytes);
}

/* Pattern.sub / subn */
static AsyValue subx(AsyVM *vm, RePattern *p, AsyValue repl, AsyValue string, int64_t count,
                     bool subn) {
    ReSub sb = {.repl = ASY_UNDEF, .string = string, .count = count};
    if (!get_subject(vm, p, string, &sb.s)) return ASY_ERR;
    if (is_str(vm, repl) || is_bytes(vm, repl)) {
        if (is_bytes(vm, repl) != p->is_bytes)
            return asy_raise(vm, ASY_EXC_TypeError,
                             p->is_bytes ? "expected a bytes-like object, %s found"
                                         : "expected str instance, %s found",
                             asy_type_name(vm, repl));
        sb.tmpl = pattern_template(vm, p, repl);
        if (!sb.tmpl) return ASY_ERR;
    } else if (asy_callable(vm, repl)) {
        sb.repl = repl;
    } else {
        return asy_raise(vm, ASY_EXC_TypeError,
                         "decoding to str: need a bytes-like object, %s found",
                         asy_type_name(vm, repl));
    }
    /* (a negative count replaces nothing, as in sre) */
    asy_root_push(vm, ASY_OBJ(p)); /* re.purge() in the callable must not free it */
    AsyValue r = sub_loop(vm, p, &sb);
    asy_root_pop(vm, 1);
    if (ASY_IS_ERR(r) || !subn) return r;
    AsyValue pair[2] = {r, ASY_INT(sb.n)};
    AsyTuple *t = asy_tuple_from_array(vm, pair, 2);
    return t ? ASY_OBJ(t) : ASY_ERR;
}

/* ==================================================================================== */
/* finditer's iterator                                                                  */
/* ==================================================================================== */

static void iter_traverse(AsyVM *vm, AsyObj *o) {
    ReIter *it = (ReIter *)o;
    asy_gc_mark_obj(vm, (AsyObj *)it->re);
    asy_gc_mark_value(vm, it->string);
}

static AsyValue iter_self(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm);
    return self;
}

static AsyValue iter_next(AsyVM *vm, AsyValue self) {
    ReIter *it = (ReIter *)ASY_AS_OBJ(self);
    if (it->done) return ASY_UNDEF;
    ReSubject s;
    subject_of(vm, it->string, &s);
    int rc = it->cur <= it->end ? re_exec(vm, it->re, MODE_SEARCH, &s, it->end, it->cur,
                                          it->must_advance ? PCRE2_NOTEMPTY_ATSTART : 0)
                                : 0;
    if (rc <= 0) {
        it->done = true;
        return rc < 0 ? ASY_ERR : ASY_UNDEF;
    }
    const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(it->re->md);
    ReRange r = {it->pos, it->endpos, 0, it->end};
    AsyValue m = make_match(vm, it->re, it->string, &s, &r, it->hint_byte, it->hint_char);
    if (ASY_IS_ERR(m)) return m;
    it->hint_byte = MATCH(m)->anchor_byte;
    it->hint_char = MATCH(m)->anchor_char;
    it->must_advance = ov[0] == ov[1];
    it->cur = ov[1];
    return m;
}

static AsyValue finditer_impl(AsyVM *vm, RePattern *p, AsyValue string, AsyValue vpos,
                              AsyValue vend) {
    ReSubject s;
    ReRange r;
    if (!get_subject(vm, p, string, &s) || !get_range(vm, &s, vpos, vend, &r)) return ASY_ERR;
    ReIter *it = asy_gc_alloc(vm, p->st->iter_type, sizeof(ReIter));
    if (!it) return ASY_ERR;
    it->re = p;
    it->string = string;
    it->pos = r.pos;
    it->endpos = r.endpos;
    it->cur = it->hint_byte = r.start;
    it->hint_char = r.pos;
    it->end = r.end;
    it->done = r.end < r.start;
    return ASY_OBJ(it);
}

/* ==================================================================================== */
/* re.Pattern                                                                           */
/* ==================================================================================== */

#define METHOD(name) static AsyValue name(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw)

static const ReSig sig_pmatch[3] = {
    /* by mode */
    {"search", {"string", "pos", "endpos"}, 3, 1, false},
    {"match", {"string", "pos", "endpos"}, 3, 1, false},
    {"fullmatch", {"string", "pos", "endpos"}, 3, 1, false},
};

static AsyValue pattern_mode_method(AsyVM *vm, int mode, int argc, AsyValue *argv, AsyDict *kw) {
    AsyValue a[3];
    if (!bind_args(vm, &sig_pmatch[mode], argc - 1, argv + 1, kw, a)) return ASY_ERR;
    return pattern_match_impl(vm, PAT(argv[0]), mode, a[0], a[1], a[2]);
}

METHOD(p_match) { return pattern_mode_method(vm, MODE_MATCH, argc, argv, kw); }
METHOD(p_search) { return pattern_mode_method(vm, MODE_SEARCH, argc, argv, kw); }
METHOD(p_fullmatch) { return pattern_mode_method(vm, MODE_FULL, argc, argv, kw); }

METHOD(p_findall) {
    static const ReSig sig = {"findall", {"string", "pos", "endpos"}, 3, 1, false};
    AsyValue a[3];
    if (!bind_args(vm, &sig, argc - 1, argv + 1, kw, a)) return ASY_ERR;
    return findall_impl(vm, PAT(argv[0]), a[0], a[1], a[2]);
}

METHOD(p_finditer) {
    static const ReSig sig = {"finditer", {"string", "pos", "endpos"}, 3, 1, false};
    AsyValue a[3];
    if (!bind_args(vm, &sig, argc - 1, argv + 1, kw, a)) return ASY_ERR;
    return finditer_impl(vm, PAT(argv[0]), a[0], a[1], a[2]);
}

METHOD(p_split) {
    static const ReSig sig = {"split", {"string", "maxsplit"}, 2, 1, false};
    AsyValue a[2];
    int64_t maxsplit;
    if (!bind_args(vm, &sig, argc - 1, argv + 1, kw, a) || !int_arg(vm, a[1], 0, &maxsplit))
        return ASY_ERR;
    return split_impl(vm, PAT(argv[0]), a[0], maxsplit);
}

static AsyValue pattern_sub_method(AsyVM *vm, bool subn, int argc, AsyValue *argv, AsyDict *kw) {
    static const ReSig sigs[2] = {{"sub", {"repl", "string", "count"}, 3, 2, false},
                                  {"subn", {"repl", "string", "count"}, 3, 2, false}};
    AsyValue a[3];
    int64_t count;
    if (!bind_args(vm, &sigs[subn], argc - 1, argv + 1, kw, a) || !int_arg(vm, a[2], 0, &count))
        return ASY_ERR;
    return subx(vm, PAT(argv[0]), a[0], a[1], count, subn);
}

METHOD(p_sub) { return pattern_sub_method(vm, false, argc, argv, kw); }
METHOD(p_subn) { return pattern_sub_method(vm, true, argc, argv, kw); }

METHOD(p_copy) {
    ASY_UNUSED(vm);
    ASY_UNUSED(kw);
    ASY_UNUSED(argc);
    return argv[0];
}

static const AsyMethodDef pattern_methods[] = {
    {"match", p_match, 0, "Matches zero or more characters at the beginning of the string."},
    {"search", p_search, 0, "Scan through string looking for a match, and return a Match."},
    {"fullmatch", p_fullmatch, 0, "Matches against all of the string."},
    {"findall", p_findall, 0, "Return a list of all non-overlapping matches of pattern."},
    {"finditer", p_finditer, 0, "Return an iterator over all non-overlapping matches."},
    {"split", p_split, 0, "Split string by the occurrences of pattern."},
    {"sub", p_sub, 0, "Return the string obtained by replacing the leftmost matches."},
    {"subn", p_subn, 0, "Return the tuple (new_string, number_of_subs_made)."},
    {"__copy__", p_copy, 0, NULL},
    {"__deepcopy__", p_copy, 0, NULL},
    {NULL, NULL, 0, NULL},
};

/* The groupindex mapping: {name: number}, read-only. */
static AsyValue pattern_groupindex(AsyVM *vm, RePattern *p) {
    if (!ASY_IS_UNDEF(p->groupindex)) return p->groupindex;
    AsyDict *d = asy_dict_new(vm);
    if (!d) return ASY_ERR;
    for (int i = 0; i < p->nnames; i++) {
        AsyValue name;
        if (p->is_bytes) /* CPython decodes a bytes pattern's names as latin-1 */
            name = asy_bytes_decode(vm, (const uint8_t *)p->names[i].name, p->names[i].len,
                                    "latin-1", NULL);
        else
            name = ASY_OBJ(asy_str_new(vm, p->names[i].name, p->names[i].len));
        if (ASY_IS_ERR(name) || asy_dict_set(vm, d, name, ASY_INT(p->names[i].gid)) < 0)
            return ASY_ERR;
    }
    ReProxy *px = asy_gc_alloc(vm, p->st->proxy_type, sizeof(ReProxy));
    if (!px) return ASY_ERR;
    px->dict = d;
    p->groupindex = ASY_OBJ(px);
    return p->groupindex;
}

/* Attributes are read-only properties, so that attribute access stays the generic one and
 * method calls take the VM's fast path (no bound method is made). */
METHOD(pa_pattern) {
    ASY_UNUSED(vm), ASY_UNUSED(argc), ASY_UNUSED(kw);
    return PAT(argv[0])->pattern;
}
METHOD(pa_flags) {
    ASY_UNUSED(vm), ASY_UNUSED(argc), ASY_UNUSED(kw);
    return ASY_INT(PAT(argv[0])->flags);
}
METHOD(pa_groups) {
    ASY_UNUSED(vm), ASY_UNUSED(argc), ASY_UNUSED(kw);
    return ASY_INT(PAT(argv[0])->ngroups);
}
METHOD(pa_groupindex) {
    ASY_UNUSED(argc), ASY_UNUSED(kw);
    RePattern *p = PAT(argv[0]);
    if (p->nnames) return pattern_groupindex(vm, p);
    AsyDict *d = asy_dict_new(vm); /* CPython: a plain {} when nothing is named */
    return d ? ASY_OBJ(d) : ASY_ERR;
}

static const AsyMethodDef pattern_getters[] = {
    {"pattern", pa_pattern, 0, "The pattern string from which the RE object was compiled."},
    {"flags", pa_flags, 0, "The regex matching flags."},
    {"groups", pa_groups, 0, "The number of capturing groups in the pattern."},
    {"groupindex", pa_groupindex, 0, "A dictionary mapping group names to group numbers."},
    {NULL, NULL, 0, NULL},
};

/* repr(x) cut to `limit` characters, as CPython's %.<limit>R. */
static bool append_repr_limited(AsyVM *vm, AsyStrBuf *b, AsyValue x, size_t limit) {
    AsyValue r = asy_repr(vm, x);
    if (ASY_IS_ERR(r)) return false;
    AsyStr *s = (AsyStr *)ASY_AS_OBJ(r);
    size_t n = s->nchars <= limit ? s->len : asy_utf8_offset(s->data, s->len, limit);
    asy_strbuf_append(vm, b, s->data, n);
    return true;
}

static AsyValue pattern_repr(AsyVM *vm, AsyValue self) {
    static const struct {
        const char *name;
        uint32_t value;
    } names[] = {
        {"re.TEMPLATE", RE_FLAG_TEMPLATE}, {"re.IGNORECASE", RE_FLAG_IGNORECASE},
        {"re.LOCALE", RE_FLAG_LOCALE},     {"re.MULTILINE", RE_FLAG_MULTILINE},
        {"re.DOTALL", RE_FLAG_DOTALL},     {"re.UNICODE", RE_FLAG_UNICODE},
        {"re.VERBOSE", RE_FLAG_VERBOSE},   {"re.DEBUG", RE_FLAG_DEBUG},
        {"re.ASCII", RE_FLAG_ASCII},
    };
    RePattern *p = PAT(self);
    uint32_t flags = p->flags;
    /* re.UNICODE is implied for str patterns */
    if (!p->is_bytes &&
        (flags & (RE_FLAG_LOCALE | RE_FLAG_UNICODE | RE_FLAG_ASCII)) == RE_FLAG_UNICODE)
        flags &= ~RE_FLAG_UNICODE;
    AsyStrBuf b;
    asy_strbuf_init(&b);
    asy_strbuf_append_cstr(vm, &b, "re.compile(");
    if (!append_repr_limited(vm, &b, p->pattern, 200)) {
        asy_strbuf_free(&b);
        return ASY_ERR;
    }
    const char *sep = ", ";
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(flags & names[i].value)) continue;
        asy_strbuf_append_cstr(vm, &b, sep);
        asy_strbuf_append_cstr(vm, &b, names[i].name);
        sep = "|";
        flags &= ~names[i].value;
    }
    if (flags) asy_strbuf_printf(vm, &b, "%s0x%x", sep, (unsigned)flags);
    asy_strbuf_append_cstr(vm, &b, ")");
    AsyStr *s = asy_strbuf_finish(vm, &b);
    return s ? ASY_OBJ(s) : ASY_ERR;
}

static AsyValue pattern_richcompare(AsyVM *vm, AsyValue self, AsyValue other, AsyCmpOp op) {
    if ((op != ASY_CMP_EQ && op != ASY_CMP_NE) || !ASY_IS_OBJ(other) ||
        ASY_AS_OBJ(other)->type != ASY_AS_OBJ(self)->type)
        return ASY_OBJ(vm->not_implemented);
    RePattern *a = PAT(self), *b = PAT(other);
    bool eq = a == b || (a->flags == b->flags && a->is_bytes == b->is_bytes &&
                         key_equal(vm, a->pattern, b->pattern));
    return ASY_BOOL(op == ASY_CMP_EQ ? eq : !eq);
}

static bool pattern_hash(AsyVM *vm, AsyValue self, int64_t *out) {
    RePattern *p = PAT(self);
    int64_t h = key_hash(vm, p->pattern) ^ ((int64_t)p->flags * 1000003);
    *out = h == -1 ? -2 : h;
    return true;
}

/* ==================================================================================== */
/* re.Match                                                                             */
/* ==================================================================================== */

static void match_traverse(AsyVM *vm, AsyObj *o) {
    ReMatch *m = (ReMatch *)o;
    asy_gc_mark_obj(vm, (AsyObj *)m->re);
    asy_gc_mark_value(vm, m->string);
}

/* A byte offset of the subject as a character index. */
static int64_t match_char(AsyVM *vm, ReMatch *m, PCRE2_SIZE off) {
    if (m->ascii) return (int64_t)off;
    ReSubject s;
    subject_of(vm, m->string, &s);
    return m->anchor_char + chars_between(s.data, m->anchor_byte, off);
}

/* match_getindex: an int (bool, int subclass) or a group name; -1 with IndexError. */
static int match_index(AsyVM *vm, ReMatch *m, AsyValue g) {
    int64_t i = -1;
    if (ASY_IS_INTLIKE(g)) {
        i = ASY_AS_INT(g);
    } else if (asy_isinstance(vm, g, ASY_TYPE(vm, int))) {
        if (!asy_index(vm, g, &i)) return -1;
    } else if (is_str(vm, g)) {
        AsyStr *name = (AsyStr *)ASY_AS_OBJ(g);
        for (int k = 0; k < m->re->nnames; k++)
            if (m->re->names[k].len == name->len &&
                memcmp(m->re->names[k].name, name->data, name->len) == 0)
                i = m->re->names[k].gid;
    }
    if (i < 0 || i > m->ngroups) {
        asy_raise(vm, ASY_EXC_IndexError, "no such group");
        return -1;
    }
    return (int)i;
}

static AsyValue match_group_value(AsyVM *vm, ReMatch *m, int g, AsyValue dflt) {
    ReSubject s;
    subject_of(vm, m->string, &s);
    return group_value(vm, m->re->is_bytes, &s, m->ov, g, dflt);
}

METHOD(m_group) {
    ASY_UNUSED(kw);
    ReMatch *m = MATCH(argv[0]);
    if (argc <= 2) {
        int g = argc == 1 ? 0 : match_index(vm, m, argv[1]);
        return g < 0 ? ASY_ERR : match_group_value(vm, m, g, ASY_NONE);
    }
    AsyTuple *t = asy_tuple_new(vm, argc - 1);
    if (!t) return ASY_ERR;
    for (int i = 1; i < argc; i++) {
        int g = match_index(vm, m, argv[i]);
        if (g < 0) return ASY_ERR;
        AsyValue v = match_group_value(vm, m, g, ASY_NONE);
        if (ASY_IS_ERR(v)) return v;
        t->items[i - 1] = v;
    }
    return ASY_OBJ(t);
}

static AsyValue match_getitem(AsyVM *vm, AsyValue self, AsyValue key) {
    int g = match_index(vm, MATCH(self), key);
    return g < 0 ? ASY_ERR : match_group_value(vm, MATCH(self), g, ASY_NONE);
}

METHOD(m_groups) {
    static const ReSig sig = {"groups", {"default"}, 1, 0, false};
    AsyValue a[1];
    if (!bind_args(vm, &sig, argc - 1, argv + 1, kw, a)) return ASY_ERR;
    ReMatch *m = MATCH(argv[0]);
    AsyValue dflt = ASY_IS_UNDEF(a[0]) ? ASY_NONE : a[0];
    AsyTuple *t = asy_tuple_new(vm, m->ngroups);
    if (!t) return ASY_ERR;
    for (int g = 1; g <= m->ngroups; g++) {
        AsyValue v = match_group_value(vm, m, g, dflt);
        if (ASY_IS_ERR(v)) return v;
        t->items[g - 1] = v;
    }
    return ASY_OBJ(t);
}

METHOD(m_groupdict) {
    static const ReSig sig = {"groupdict", {"default"}, 1, 0, false};
    AsyValue a[1];
    if (!bind_args(vm, &sig, argc - 1, argv + 1, kw, a)) return ASY_ERR;
    ReMatch *m = MATCH(argv[0]);
    AsyValue dflt = ASY_IS_UNDEF(a[0]) ? ASY_NONE : a[0];
    AsyValue gi = pattern_groupindex(vm, m->re);
    if (ASY_IS_ERR(gi)) return gi;
    AsyDict *names = ((ReProxy *)ASY_AS_OBJ(gi))->dict, *d = asy_dict_new(vm);
    if (!d) return ASY_ERR;
    int64_t pos = 0;
    AsyValue k, v;
    while (asy_dict_next(names, &pos, &k, &v)) {
        AsyValue val = match_group_value(vm, m, (int)ASY_AS_INT(v), dflt);
        if (ASY_IS_ERR(val) || asy_dict_set(vm, d, k, val) < 0) return ASY_ERR;
    }
    return ASY_OBJ(d);
}

/* start/end/span's group argument (default 0). */
static int span_group(AsyVM *vm, const char *name, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, name, kw) || !asy_check_args(vm, name, argc - 1, 0, 1)) return -1;
    return argc == 1 ? 0 : match_index(vm, MATCH(argv[0]), argv[1]);
}

static int64_t match_pos(AsyVM *vm, ReMatch *m, int g, int end) {
    PCRE2_SIZE off = m->ov[2 * g + end];
    return off == PCRE2_UNSET ? -1 : match_char(vm, m, off);
}

METHOD(m_start) {
    int g = span_group(vm, "start", argc, argv, kw);
    return g < 0 ? ASY_ERR : ASY_INT(match_pos(vm, MATCH(argv[0]), g, 0));
}

METHOD(m_end) {
    int g = span_group(vm, "end", argc, argv, kw);
    return g < 0 ? ASY_ERR : ASY_INT(match_pos(vm, MATCH(argv[0]), g, 1));
}

static AsyValue span_tuple(AsyVM *vm, ReMatch *m, int g) {
    AsyValue pair[2] = {ASY_INT(match_pos(vm, m, g, 0)), ASY_INT(match_pos(vm, m, g, 1))};
    AsyTuple *t = asy_tuple_from_array(vm, pair, 2);
    return t ? ASY_OBJ(t) : ASY_ERR;
}

METHOD(m_span) {
    int g = span_group(vm, "span", argc, argv, kw);
    return g < 0 ? ASY_ERR : span_tuple(vm, MATCH(argv[0]), g);
}

METHOD(m_expand) {
    static const ReSig sig = {"expand", {"template"}, 1, 1, false};
    AsyValue a[1];
    if (!bind_args(vm, &sig, argc - 1, argv + 1, kw, a)) return ASY_ERR;
    ReMatch *m = MATCH(argv[0]);
    bool bytes = m->re->is_bytes;
    if (!(bytes ? is_bytes(vm, a[0]) : is_str(vm, a[0])))
        return asy_raise(vm, ASY_EXC_TypeError,
                         bytes ? "sequence item 0: expected a bytes-like object, %s found"
                               : "sequence item 0: expected str instance, %s found",
                         asy_type_name(vm, a[0]));
    ReSubject t, s;
    subject_of(vm, a[0], &t);
    ReTemplate tmpl;
    ReError err;
    if (!re_template_parse(t.data, t.len, bytes, m->ngroups, m->re->names, m->re->nnames, &tmpl,
                           &err))
        return raise_translate_error(vm, m->re->st, &err, a[0]);
    subject_of(vm, m->string, &s);
    AsyStrBuf out;
    asy_strbuf_init(&out);
    expand_template(vm, &out, &tmpl, s.data, m->ov);
    re_template_free(&tmpl);
    return finish_buf(vm, &out, bytes);
}

static const AsyMethodDef match_methods[] = {
    {"group", m_group, 0, "Return one or more subgroups of the match."},
    {"groups", m_groups, 0, "Return a tuple containing all the subgroups of the match."},
    {"groupdict", m_groupdict, 0, "Return a dictionary of the named subgroups of the match."},
    {"start", m_start, 0, "Return index of the start of the substring matched by group."},
    {"end", m_end, 0, "Return index of the end of the substring matched by group."},
    {"span", m_span, 0, "For match object m, return the 2-tuple (m.start(group), m.end(group))."},
    {"expand", m_expand, 0, "Return the string obtained by doing backslash substitution."},
    {"__copy__", p_copy, 0, NULL},
    {"__deepcopy__", p_copy, 0, NULL},
    {NULL, NULL, 0, NULL},
};

static AsyValue match_regs(AsyVM *vm, ReMatch *m) {
    AsyTuple *t = asy_tuple_new(vm, m->ngroups + 1);
    if (!t) return ASY_ERR;
    for (int g = 0; g <= m->ngroups; g++) {
        AsyValue v = span_tuple(vm, m, g);
        if (ASY_IS_ERR(v)) return v;
        t->items[g] = v;
    }
    return ASY_OBJ(t);
}

static AsyValue match_lastgroup(AsyVM *vm, ReMatch *m) {
    for (int k = 0; m->lastindex && k < m->re->nnames; k++)
        if (m->re->names[k].gid == m->lastindex) {
            AsyValue gi = pattern_groupindex(vm, m->re); /* the same name objects */
            if (ASY_IS_ERR(gi)) return gi;
            int64_t pos = 0;
            AsyValue key, v;
            while (asy_dict_next(((ReProxy *)ASY_AS_OBJ(gi))->dict, &pos, &key, &v))
                if (ASY_AS_INT(v) == m->lastindex) return key;
        }
    return ASY_NONE;
}

METHOD(ma_lastindex) {
    ASY_UNUSED(vm), ASY_UNUSED(argc), ASY_UNUSED(kw);
    ReMatch *m = MATCH(argv[0]);
    return m->lastindex ? ASY_INT(m->lastindex) : ASY_NONE;
}
METHOD(ma_lastgroup) {
    ASY_UNUSED(argc), ASY_UNUSED(kw);
    return match_lastgroup(vm, MATCH(argv[0]));
}
METHOD(ma_string) {
    ASY_UNUSED(vm), ASY_UNUSED(argc), ASY_UNUSED(kw);
    return MATCH(argv[0])->string;
}
METHOD(ma_re) {
    ASY_UNUSED(vm), ASY_UNUSED(argc), ASY_UNUSED(kw);
    return ASY_OBJ(MATCH(argv[0])->re);
}
METHOD(ma_pos) {
    ASY_UNUSED(vm), ASY_UNUSED(argc), ASY_UNUSED(kw);
    return ASY_INT(MATCH(argv[0])->pos);
}
METHOD(ma_endpos) {
    ASY_UNUSED(vm), ASY_UNUSED(argc), ASY_UNUSED(kw);
    return ASY_INT(MATCH(argv[0])->endpos);
}
METHOD(ma_regs) {
    ASY_UNUSED(argc), ASY_UNUSED(kw);
    return match_regs(vm, MATCH(argv[0]));
}

static const AsyMethodDef match_getters[] = {
    {"lastindex", ma_lastindex, 0, "The integer index of the last matched capturing group."},
    {"lastgroup", ma_lastgroup, 0, "The name of the last matched capturing group."},
    {"string", ma_string, 0, "The string passed to match() or search()."},
    {"re", ma_re, 0, "The regular expression object."},
    {"pos", ma_pos, 0, "The index into the string at which the RE engine started looking."},
    {"endpos", ma_endpos, 0, "The index into the string beyond which the RE engine won't go."},
    {"regs", ma_regs, 0, NULL},
    {NULL, NULL, 0, NULL},
};

static AsyValue match_repr(AsyVM *vm, AsyValue self) {
    ReMatch *m = MATCH(self);
    AsyValue g0 = match_group_value(vm, m, 0, ASY_NONE);
    if (ASY_IS_ERR(g0)) return g0;
    AsyStrBuf b;
    asy_strbuf_init(&b);
    asy_strbuf_printf(vm, &b, "<re.Match object; span=(%lld, %lld), match=",
                      (long long)match_pos(vm, m, 0, 0), (long long)match_pos(vm, m, 0, 1));
    if (!append_repr_limited(vm, &b, g0, 50)) {
        asy_strbuf_free(&b);
        return ASY_ERR;
    }
    asy_strbuf_append_cstr(vm, &b, ">");
    AsyStr *s = asy_strbuf_finish(vm, &b);
    return s ? ASY_OBJ(s) : ASY_ERR;
}

/* ==================================================================================== */
/* mappingproxy (Pattern.groupindex)                                                    */
/* ==================================================================================== */

static void proxy_traverse(AsyVM *vm, AsyObj *o) {
    asy_gc_mark_obj(vm, (AsyObj *)((ReProxy *)o)->dict);
}
static AsyValue proxy_dict(AsyValue self) { return ASY_OBJ(((ReProxy *)ASY_AS_OBJ(self))->dict); }

static AsyValue proxy_repr(AsyVM *vm, AsyValue self) {
    AsyValue r = asy_repr(vm, proxy_dict(self));
    if (ASY_IS_ERR(r)) return r;
    return ASY_OBJ(asy_str_printf(vm, "mappingproxy(%s)", ((AsyStr *)ASY_AS_OBJ(r))->data));
}
static AsyValue proxy_str(AsyVM *vm, AsyValue self) { return asy_str(vm, proxy_dict(self)); }
static AsyValue proxy_getitem(AsyVM *vm, AsyValue self, AsyValue k) {
    return asy_getitem(vm, proxy_dict(self), k);
}
static int64_t proxy_len(AsyVM *vm, AsyValue self) { return asy_len(vm, proxy_dict(self)); }
static AsyValue proxy_iter(AsyVM *vm, AsyValue self) { return asy_iter(vm, proxy_dict(self)); }
static int proxy_contains(AsyVM *vm, AsyValue self, AsyValue k) {
    return asy_contains(vm, proxy_dict(self), k);
}
static AsyValue proxy_richcompare(AsyVM *vm, AsyValue self, AsyValue other, AsyCmpOp op) {
    return asy_compare(vm, proxy_dict(self), other, op);
}

/* keys/values/items/get/copy: the dict's own methods. */
static AsyValue proxy_forward(AsyVM *vm, const char *name, int argc, AsyValue *argv) {
    return asy_call_method(vm, proxy_dict(argv[0]), asy_str_intern_cstr(vm, name), argc - 1,
                           argv + 1);
}
METHOD(px_keys) {
    ASY_UNUSED(kw);
    return proxy_forward(vm, "keys", argc, argv);
}
METHOD(px_values) {
    ASY_UNUSED(kw);
    return proxy_forward(vm, "values", argc, argv);
}
METHOD(px_items) {
    ASY_UNUSED(kw);
    return proxy_forward(vm, "items", argc, argv);
}
METHOD(px_get) {
    ASY_UNUSED(kw);
    return proxy_forward(vm, "get", argc, argv);
}
METHOD(px_copy) {
    ASY_UNUSED(kw);
    return proxy_forward(vm, "copy", argc, argv);
}

static const AsyMethodDef proxy_methods[] = {
    {"keys", px_keys, ASY_METH_NOKW, NULL},   {"values", px_values, ASY_METH_NOKW, NULL},
    {"items", px_items, ASY_METH_NOKW, NULL}, {"get", px_get, ASY_METH_NOKW, NULL},
    {"copy", px_copy, ASY_METH_NOKW, NULL},   {NULL, NULL, 0, NULL},
};

/* ==================================================================================== */
/* Module functions                                                                     */
/* ==================================================================================== */

#define STATE(argv) ((ReState *)ASY_AS_OBJ((argv)[0]))

static AsyValue module_mode_fn(AsyVM *vm, int mode, int argc, AsyValue *argv, AsyDict *kw) {
    static const ReSig sigs[3] = {
        {"search", {"pattern", "string", "flags"}, 3, 2, true},
        {"match", {"pattern", "string", "flags"}, 3, 2, true},
        {"fullmatch", {"pattern", "string", "flags"}, 3, 2, true},
    };
    AsyValue a[3];
    if (!bind_args(vm, &sigs[mode], argc - 1, argv + 1, kw, a)) return ASY_ERR;
    RePattern *p = get_pattern(vm, STATE(argv), a[0], a[2]);
    return p ? pattern_match_impl(vm, p, mode, a[1], ASY_UNDEF, ASY_UNDEF) : ASY_ERR;
}

METHOD(re_match) { return module_mode_fn(vm, MODE_MATCH, argc, argv, kw); }
METHOD(re_search) { return module_mode_fn(vm, MODE_SEARCH, argc, argv, kw); }
METHOD(re_fullmatch) { return module_mode_fn(vm, MODE_FULL, argc, argv, kw); }

METHOD(re_compile) {
    static const ReSig sig = {"compile", {"pattern", "flags"}, 2, 1, true};
    AsyValue a[2];
    if (!bind_args(vm, &sig, argc - 1, argv + 1, kw, a)) return ASY_ERR;
    RePattern *p = get_pattern(vm, STATE(argv), a[0], a[1]);
    return p ? ASY_OBJ(p) : ASY_ERR;
}

METHOD(re_findall) {
    static const ReSig sig = {"findall", {"pattern", "string", "flags"}, 3, 2, true};
    AsyValue a[3];
    if (!bind_args(vm, &sig, argc - 1, argv + 1, kw, a)) return ASY_ERR;
    RePattern *p = get_pattern(vm, STATE(argv), a[0], a[2]);
    return p ? findall_impl(vm, p, a[1], ASY_UNDEF, ASY_UNDEF) : ASY_ERR;
}

METHOD(re_finditer) {
    static const ReSig sig = {"finditer", {"pattern", "string", "flags"}, 3, 2, true};
    AsyValue a[3];
    if (!bind_args(vm, &sig, argc - 1, argv + 1, kw, a)) return ASY_ERR;
    RePattern *p = get_pattern(vm, STATE(argv), a[0], a[2]);
    return p ? finditer_impl(vm, p, a[1], ASY_UNDEF, ASY_UNDEF) : ASY_ERR;
}

METHOD(re_split) {
    static const ReSig sig = {"split", {"pattern", "string", "maxsplit", "flags"}, 4, 2, true};
    AsyValue a[4];
    int64_t maxsplit;
    if (!bind_args(vm, &sig, argc - 1, argv + 1, kw, a)) return ASY_ERR;
    RePattern *p = get_pattern(vm, STATE(argv), a[0], a[3]);
    if (!p || !int_arg(vm, a[2], 0, &maxsplit)) return ASY_ERR;
    return split_impl(vm, p, a[1], maxsplit);
}

static AsyValue module_sub_fn(AsyVM *vm, bool subn, int argc, AsyValue *argv, AsyDict *kw) {
    static const ReSig sigs[2] = {
        {"sub", {"pattern", "repl", "string", "count", "flags"}, 5, 3, true},
        {"subn", {"pattern", "repl", "string", "count", "flags"}, 5, 3, true},
    };
    AsyValue a[5];
    int64_t count;
    if (!bind_args(vm, &sigs[subn], argc - 1, argv + 1, kw, a)) return ASY_ERR;
    RePattern *p = get_pattern(vm, STATE(argv), a[0], a[4]);
    if (!p || !int_arg(vm, a[3], 0, &count)) return ASY_ERR;
    return subx(vm, p, a[1], a[2], count, subn);
}

METHOD(re_sub) { return module_sub_fn(vm, false, argc, argv, kw); }
METHOD(re_subn) { return module_sub_fn(vm, true, argc, argv, kw); }

/* re.escape: a backslash before every character special in a pattern or in verbose mode. */
METHOD(re_escape) {
    static const ReSig sig = {"escape", {"pattern"}, 1, 1, true};
    AsyValue a[1];
    if (!bind_args(vm, &sig, argc - 1, argv + 1, kw, a)) return ASY_ERR;
    bool bytes = is_bytes(vm, a[0]);
    if (!bytes && !is_str(vm, a[0]))
        return asy_raise(vm, ASY_EXC_TypeError,
                         "decoding to str: need a bytes-like object, %s found",
                         asy_type_name(vm, a[0]));
    ReSubject s;
    subject_of(vm, a[0], &s);
    AsyStrBuf b;
    asy_strbuf_init(&b);
    size_t run = 0;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.data[i];
        if (c >= 0x80 || !strchr("()[]{}?*+-|^$\\.&~# \t\n\r\v\f", c) || c == 0) continue;
        asy_strbuf_append(vm, &b, s.data + run, i - run);
        asy_strbuf_append(vm, &b, "\\", 1);
        run = i;
    }
    asy_strbuf_append(vm, &b, s.data + run, s.len - run);
    return finish_buf(vm, &b, bytes);
}

METHOD(re_purge) {
    static const ReSig sig = {"purge", {NULL}, 0, 0, true};
    if (!bind_args(vm, &sig, argc - 1, argv + 1, kw, NULL)) return ASY_ERR;
    cache_clear(STATE(argv));
    return ASY_NONE;
}

static const AsyMethodDef re_functions[] = {
    {"compile", re_compile, 0, "Compile a regular expression pattern, returning a Pattern object."},
    {"search", re_search, 0, "Scan through string looking for a match to the pattern."},
    {"match", re_match, 0, "Try to apply the pattern at the start of the string."},
    {"fullmatch", re_fullmatch, 0, "Try to apply the pattern to all of the string."},
    {"findall", re_findall, 0, "Return a list of all non-overlapping matches in the string."},
    {"finditer", re_finditer, 0, "Return an iterator over all non-overlapping matches."},
    {"split", re_split, 0, "Split the source string by the occurrences of the pattern."},
    {"sub", re_sub, 0, "Return the string obtained by replacing the leftmost matches."},
    {"subn", re_subn, 0, "Return a 2-tuple containing (new_string, number)."},
    {"escape", re_escape, 0, "Escape special characters in a string."},
    {"purge", re_purge, 0, "Clear the regular expression cache."},
    {NULL, NULL, 0, NULL},
};

/* ==================================================================================== */
/* The module                                                                           */
/* ==================================================================================== */

/* re.error and re.RegexFlag, as CPython writes them (re/_constants.py, re/__init__.py). */
static const char re_lib_src[] =
    "class error(Exception):\n"
    "    def __init__(self, msg, pattern=None, pos=None):\n"
    "        self.msg = msg\n"
    "        self.pattern = pattern\n"
    "        self.pos = pos\n"
    "        if pattern is not None and pos is not None:\n"
    "            msg = '%s at position %d' % (msg, pos)\n"
    "            if isinstance(pattern, str):\n"
    "                newline = '\\n'\n"
    "            else:\n"
    "                newline = b'\\n'\n"
    "            self.lineno = pattern.count(newline, 0, pos) + 1\n"
    "            self.colno = pos - pattern.rfind(newline, 0, pos)\n"
    "            if newline in pattern:\n"
    "                msg = '%s (line %d, column %d)' % (msg, self.lineno, self.colno)\n"
    "        else:\n"
    "            self.lineno = self.colno = None\n"
    "        super().__init__(msg)\n"
    "\n"
    "class RegexFlag(int):\n"
    "    _names = (('ASCII', 256), ('IGNORECASE', 2), ('LOCALE', 4), ('UNICODE', 32),\n"
    "              ('MULTILINE', 8), ('DOTALL', 16), ('VERBOSE', 64), ('TEMPLATE', 1),\n"
    "              ('DEBUG', 128))\n"
    "    def __repr__(self):\n"
    "        v = int(self)\n"
    "        if v < 0:\n"
    "            v &= 511\n"
    "        if v == 0:\n"
    "            return 're.NOFLAG'\n"
    "        names = []\n"
    "        for name, bit in RegexFlag._names:\n"
    "            if v & bit:\n"
    "                names.append('re.' + name)\n"
    "                v &= ~bit\n"
    "        if v:\n"
    "            if not names:\n"
    "                return 're.RegexFlag(%d)' % v\n"
    "            names.append(hex(v))\n"
    "        return '|'.join(names)\n"
    "    __str__ = __repr__\n"
    "    def __format__(self, spec):\n"
    "        return format(int(self), spec) if spec else self.__repr__()\n"
    "    def __or__(self, other):\n"
    "        if isinstance(other, int):\n"
    "            return RegexFlag(int(self) | int(other))\n"
    "        return NotImplemented\n"
    "    def __and__(self, other):\n"
    "        if isinstance(other, int):\n"
    "            return RegexFlag(int(self) & int(other))\n"
    "        return NotImplemented\n"
    "    def __xor__(self, other):\n"
    "        if isinstance(other, int):\n"
    "            return RegexFlag(int(self) ^ int(other))\n"
    "        return NotImplemented\n"
    "    __ror__ = __or__\n"
    "    __rand__ = __and__\n"
    "    __rxor__ = __xor__\n"
    "    def __invert__(self):\n"
    "        return RegexFlag(~int(self) & 511)\n"
    "    def __contains__(self, other):\n"
    "        return int(other) & int(self) == int(other)\n"
    "    def __iter__(self):\n"
    "        return iter([RegexFlag(b) for n, b in sorted(RegexFlag._names, key=lambda x: x[1])\n"
    "                     if int(self) & b])\n"
    "    @property\n"
    "    def value(self):\n"
    "        return int(self)\n"
    "    @property\n"
    "    def name(self):\n"
    "        r = repr(self)\n"
    "        return None if r.startswith('re.RegexFlag(') else r.replace('re.', '')\n"
    "\n"
    "NOFLAG = RegexFlag(0)\n"
    "RegexFlag.NOFLAG = NOFLAG\n"
    "for _n, _b in RegexFlag._names:\n"
    "    globals()[_n] = RegexFlag(_b)\n"
    "    setattr(RegexFlag, _n, globals()[_n])\n"
    "A, I, L, U, M, S, X, T = ASCII, IGNORECASE, LOCALE, UNICODE, MULTILINE, DOTALL, VERBOSE, "
    "TEMPLATE\n"
    "del _n, _b\n";

static void state_traverse(AsyVM *vm, AsyObj *o) {
    ReState *st = (ReState *)o;
    asy_gc_mark_obj(vm, (AsyObj *)st->pattern_type);
    asy_gc_mark_obj(vm, (AsyObj *)st->match_type);
    asy_gc_mark_obj(vm, (AsyObj *)st->iter_type);
    asy_gc_mark_obj(vm, (AsyObj *)st->proxy_type);
    asy_gc_mark_value(vm, st->error_class);
    for (int i = 0; i < st->ncache; i++) {
        asy_gc_mark_value(vm, st->cache[i].key);
        asy_gc_mark_obj(vm, (AsyObj *)st->cache[i].pat);
    }
}

static void state_finalize(AsyVM *vm, AsyObj *o) {
    ASY_UNUSED(vm);
    ReState *st = (ReState *)o;
    pcre2_compile_context_free(st->cctx);
    pcre2_match_context_free(st->mctx);
    pcre2_jit_stack_free(st->jit_stack);
}

/* Read-only attributes: properties whose getter is a native method of the type. */
static void add_getters(AsyVM *vm, AsyType *type, const AsyMethodDef *defs) {
    for (const AsyMethodDef *d = defs; d->name; d++) {
        AsyProperty *p = asy_gc_alloc(vm, ASY_TYPE(vm, property), sizeof(AsyProperty));
        p->fget = asy_native_new(vm, d, ASY_UNDEF, type);
        p->fset = p->fdel = p->name = ASY_UNDEF;
        p->doc = d->doc ? ASY_OBJ(asy_str_from_cstr(vm, d->doc)) : ASY_NONE;
        asy_dict_set_cstr(vm, type->dict, d->name, ASY_OBJ(p));
    }
    asy_type_modified(vm, type);
}

static AsyType *re_type(AsyVM *vm, const char *name, size_t size) {
    AsyType *t = asy_type_new_builtin(vm, name, ASY_TYPE(vm, object), size);
    t->module = asy_str_intern_cstr(vm, "re");
    return t;
}

static void init_types(AsyVM *vm, ReState *st) {
    AsyType *t = st->pattern_type = re_type(vm, "Pattern", sizeof(RePattern));
    asy_type_set_tp_name(vm, t, "re.Pattern");
    t->traverse = pattern_traverse;
    t->finalize = pattern_finalize;
    t->repr = pattern_repr;
    t->richcompare = pattern_richcompare;
    t->hash = pattern_hash;
    asy_type_add_methods(vm, t, pattern_methods);
    add_getters(vm, t, pattern_getters);
    asy_type_ready(vm, t);
    t = st->match_type = re_type(vm, "Match", sizeof(ReMatch));
    asy_type_set_tp_name(vm, t, "re.Match");
    t->traverse = match_traverse;
    t->getitem = match_getitem;
    t->repr = match_repr;
    asy_type_add_methods(vm, t, match_methods);
    add_getters(vm, t, match_getters);
    asy_type_ready(vm, t);
    t = st->iter_type = asy_type_new_builtin(vm, "callable_iterator", NULL, sizeof(ReIter));
    t->traverse = iter_traverse;
    t->iter = iter_self;
    t->next = iter_next;
    asy_type_ready(vm, t);
    t = st->proxy_type = asy_type_new_builtin(vm, "mappingproxy", NULL, sizeof(ReProxy));
    t->traverse = proxy_traverse;
    t->repr = proxy_repr;
    t->str = proxy_str;
    t->getitem = proxy_getitem;
    t->len = proxy_len;
    t->iter = proxy_iter;
    t->contains = proxy_contains;
    t->richcompare = proxy_richcompare;
    asy_type_add_methods(vm, t, proxy_methods);
    asy_type_ready(vm, t);
}

static ReState *state_new(AsyVM *vm) {
    AsyType *t = asy_type_new_builtin(vm, "re_state", NULL, sizeof(ReState));
    t->traverse = state_traverse;
    t->finalize = state_finalize;
    asy_type_ready(vm, t);
    ReState *st = asy_gc_alloc(vm, t, sizeof(ReState));
    st->error_class = ASY_NONE;
    cache_clear(st);
    st->cctx = pcre2_compile_context_create(NULL);
    st->mctx = pcre2_match_context_create(NULL);
    st->jit_stack = pcre2_jit_stack_create(32 * 1024, RE_JIT_STACK_MAX, NULL);
    if (!st->cctx || !st->mctx) {
        asy_raise_memory(vm);
        return NULL;
    }
    pcre2_set_newline(st->cctx, PCRE2_NEWLINE_LF);
    pcre2_set_parens_nest_limit(st->cctx, 1000);
    pcre2_set_match_limit(st->mctx, RE_MATCH_LIMIT);
    pcre2_set_heap_limit(st->mctx, RE_HEAP_LIMIT_KIB);
    if (st->jit_stack) pcre2_jit_stack_assign(st->mctx, NULL, st->jit_stack);
    init_types(vm, st);
    return st;
}

void asy_mod_re_init(AsyVM *vm) {
    AsyModule *m = asy_module_new(vm, "re");
    asy_root_push(vm, ASY_OBJ(m));
    ReState *st = state_new(vm);
    if (!st) {
        asy_root_pop(vm, 1);
        return;
    }
    for (const AsyMethodDef *d = re_functions; d->name; d++)
        asy_dict_set_cstr(vm, m->dict, d->name, asy_native_new(vm, d, ASY_OBJ(st), NULL));
    asy_dict_set_cstr(vm, m->dict, "Pattern", ASY_OBJ(st->pattern_type));
    asy_dict_set_cstr(vm, m->dict, "Match", ASY_OBJ(st->match_type));
    asy_dict_set_str(vm, m->dict, ASY_S(vm, __builtins__), ASY_OBJ(vm->builtins));
    AsyCode *code = asy_compile(vm, re_lib_src, sizeof re_lib_src - 1, "<re>", ASY_PARSE_MODULE);
    if (code) {
        asy_root_push(vm, ASY_OBJ(code));
        AsyValue r = asy_vm_run_code(vm, code, m->dict);
        asy_root_pop(vm, 1);
        if (!ASY_IS_ERR(r)) {
            st->error_class = asy_dict_get_cstr(vm, m->dict, "error");
            asy_module_register(vm, m);
        }
    }
    asy_root_pop(vm, 1);
}
