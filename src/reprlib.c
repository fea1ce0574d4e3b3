/* reprlib.c - reprlib.repr as asyncio uses it: future results and callback arguments in
 * reprs and logs are abbreviated (strings past 30 characters, lists past 6 items, nesting
 * past 6 levels), with the limits and the exact cuts of CPython's reprlib.Repr.
 */
#include "common.h"

#include "task.h"

#define REPR_MAXLEVEL 6
#define REPR_MAXITEMS 6
#define REPR_MAXDICT 4
#define REPR_MAXSTRING 30
#define REPR_MAXLONG 40
#define REPR_MAXOTHER 30

/* Byte offset of code point `cp` in s. */
static size_t cp_offset(AsyStr *s, size_t cp) {
    if (s->ascii) return cp < s->len ? cp : s->len;
    size_t i = 0;
    while (i < s->len && cp > 0) {
        i++;
        while (i < s->len && ((unsigned char)s->data[i] & 0xC0) == 0x80)
            i++;
        cp--;
    }
    return i;
}

/* s[:i] + "..." + s[-j:], by code points, when s is longer than max. */
static AsyValue repr_truncate(AsyVM *vm, AsyValue sv, size_t max) {
    AsyStr *s = (AsyStr *)ASY_AS_OBJ(sv);
    if (s->nchars <= max) return sv;
    size_t i = (max - 3) / 2, j = max - 3 - i;
    size_t a = cp_offset(s, i), b = cp_offset(s, s->nchars - j);
    AsyStrBuf buf;
    asy_strbuf_init(&buf);
    asy_strbuf_append(vm, &buf, s->data, a);
    asy_strbuf_append_cstr(vm, &buf, "...");
    asy_strbuf_append(vm, &buf, s->data + b, s->len - b);
    AsyStr *out = asy_strbuf_finish(vm, &buf);
    return out ? ASY_OBJ(out) : ASY_ERR;
}

static AsyValue reprlib1(AsyVM *vm, AsyValue v, int level);

static AsyValue reprlib_str(AsyVM *vm, AsyStr *x) {
    size_t n = x->nchars;
    AsyStr *head = asy_str_new(vm, x->data, cp_offset(x, n < REPR_MAXSTRING ? n : REPR_MAXSTRING));
    if (!head) return ASY_ERR;
    AsyValue r = asy_repr(vm, ASY_OBJ(head));
    if (ASY_IS_ERR(r) || ((AsyStr *)ASY_AS_OBJ(r))->nchars <= REPR_MAXSTRING) return r;
    size_t i = (REPR_MAXSTRING - 3) / 2, j = REPR_MAXSTRING - 3 - i;
    AsyStrBuf buf;
    asy_strbuf_init(&buf);
    asy_strbuf_append(vm, &buf, x->data, cp_offset(x, i));
    size_t tail = cp_offset(x, n - j);
    asy_strbuf_append(vm, &buf, x->data + tail, x->len - tail);
    AsyStr *joined = asy_strbuf_finish(vm, &buf);
    if (!joined) return ASY_ERR;
    r = asy_repr(vm, ASY_OBJ(joined));
    if (ASY_IS_ERR(r)) return r;
    AsyStr *rs = (AsyStr *)ASY_AS_OBJ(r);
    asy_strbuf_init(&buf);
    asy_strbuf_append(vm, &buf, rs->data, cp_offset(rs, i));
    asy_strbuf_append_cstr(vm, &buf, "...");
    tail = cp_offset(rs, rs->nchars - j);
    asy_strbuf_append(vm, &buf, rs->data + tail, rs->len - tail);
    AsyStr *out = asy_strbuf_finish(vm, &buf);
    return out ? ASY_OBJ(out) : ASY_ERR;
}

/* list/tuple/set items: left items right, at most REPR_MAXITEMS of them. */
static AsyValue reprlib_seq(AsyVM *vm, AsyValue *items, int64_t n, int level, const char *left,
                            const char *right, bool tuple) {
    AsyStrBuf b;
    asy_strbuf_init(&b);
    asy_strbuf_append_cstr(vm, &b, left);
    if (level <= 0 && n > 0) {
        asy_strbuf_append_cstr(vm, &b, "...");
    } else {
        for (int64_t i = 0; i < n && i < REPR_MAXITEMS; i++) {
            if (i) asy_strbuf_append_cstr(vm, &b, ", ");
            AsyValue r = reprlib1(vm, items[i], level - 1);
            if (ASY_IS_ERR(r)) {
                asy_strbuf_free(&b);
                return r;
            }
            asy_strbuf_append_str(vm, &b, (AsyStr *)ASY_AS_OBJ(r));
        }
        if (n > REPR_MAXITEMS) asy_strbuf_append_cstr(vm, &b, ", ...");
        if (n == 1 && tuple) asy_strbuf_append_cstr(vm, &b, ",");
    }
    asy_strbuf_append_cstr(vm, &b, right);
    AsyStr *s = asy_strbuf_finish(vm, &b);
    return s ? ASY_OBJ(s) : ASY_ERR;
}

static AsyValue reprlib_dict(AsyVM *vm, AsyDict *d, int level) {
    if (d->len == 0) return ASY_OBJ(asy_str_from_cstr(vm, "{}"));
    if (level <= 0) return ASY_OBJ(asy_str_from_cstr(vm, "{...}"));
    AsyList *keys = asy_list_new(vm, d->len);
    if (!keys) return ASY_ERR;
    int64_t pos = 0;
    AsyValue k, v;
    while (asy_dict_next(d, &pos, &k, &v))
        keys->items[keys->len++] = k;
    asy_root_push(vm, ASY_OBJ(keys));
    if (asy_list_sort(vm, keys, ASY_UNDEF, false) < 0) asy_exc_clear(vm); /* unsortable: as is */
    AsyStrBuf b;
    asy_strbuf_init(&b);
    asy_strbuf_append_cstr(vm, &b, "{");
    AsyValue err = ASY_UNDEF;
    for (int64_t i = 0; i < keys->len && i < REPR_MAXDICT && ASY_IS_UNDEF(err); i++) {
        AsyValue kr = reprlib1(vm, keys->items[i], level - 1);
        AsyValue val = ASY_IS_ERR(kr) ? kr : asy_dict_get(vm, d, keys->items[i]);
        AsyValue vr =
            ASY_IS_ERR(val) ? val : reprlib1(vm, ASY_IS_UNDEF(val) ? ASY_NONE : val, level - 1);
        if (ASY_IS_ERR(vr)) {
            err = vr;
            break;
        }
        if (i) asy_strbuf_append_cstr(vm, &b, ", ");
        asy_strbuf_append_str(vm, &b, (AsyStr *)ASY_AS_OBJ(kr));
        asy_strbuf_append_cstr(vm, &b, ": ");
        asy_strbuf_append_str(vm, &b, (AsyStr *)ASY_AS_OBJ(vr));
    }
    if (ASY_IS_UNDEF(err) && d->len > REPR_MAXDICT) asy_strbuf_append_cstr(vm, &b, ", ...");
    asy_root_pop(vm, 1);
    if (!ASY_IS_UNDEF(err)) {
        asy_strbuf_free(&b);
        return err;
    }
    asy_strbuf_append_cstr(vm, &b, "}");
    AsyStr *s = asy_strbuf_finish(vm, &b);
    return s ? ASY_OBJ(s) : ASY_ERR;
}

static AsyValue reprlib1(AsyVM *vm, AsyValue v, int level) {
    AsyType *t = asy_type_of(vm, v);
    if (t == ASY_TYPE(vm, str)) return reprlib_str(vm, (AsyStr *)ASY_AS_OBJ(v));
    if (t == ASY_TYPE(vm, list)) {
        AsyList *l = (AsyList *)ASY_AS_OBJ(v);
        return reprlib_seq(vm, l->items, l->len, level, "[", "]", false);
    }
    if (t == ASY_TYPE(vm, tuple)) {
        AsyTuple *tp = (AsyTuple *)ASY_AS_OBJ(v);
        return reprlib_seq(vm, tp->items, tp->len, level, "(", ")", true);
    }
    if (t == ASY_TYPE(vm, dict)) return reprlib_dict(vm, (AsyDict *)ASY_AS_OBJ(v), level);
    AsyValue r = asy_repr(vm, v);
    if (ASY_IS_ERR(r)) return r;
    bool is_int = t == ASY_TYPE(vm, int) || t == ASY_TYPE(vm, bool);
    return repr_truncate(vm, r, is_int ? REPR_MAXLONG : REPR_MAXOTHER);
}

AsyValue asy_reprlib(AsyVM *vm, AsyValue v) { return reprlib1(vm, v, REPR_MAXLEVEL); }
