/* mod_http.c - the http module (also importable as aiohttp) and its web submodule: the
 * module state, the multidict types (CIMultiDictProxy, MultiDictProxy, CIMultiDict), the
 * URL type, shared helpers, and the parts of the API written in asy itself (exception
 * classes, ClientTimeout, AppRunner/TCPSite, run_app, json_response, HTTP exceptions),
 * which are rare enough that bytecode is fast enough for them. The client lives in
 * http_client.c, the server in http_server.c.
 */
#include "common.h"

#include <ctype.h>
#include <event2/http.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compiler.h"
#include "evmem.h"
#include "http.h"

/* ==================================================================================== */
/* The state                                                                            */
/* ==================================================================================== */

static void state_traverse(AsyVM *vm, AsyObj *o) {
    AsyHttpState *st = (AsyHttpState *)o;
    AsyObj *objs[] = {
        (AsyObj *)st->mod,
        (AsyObj *)st->web,
        (AsyObj *)st->session,
        (AsyObj *)st->reqcm,
        (AsyObj *)st->response,
        (AsyObj *)st->reqop,
        (AsyObj *)st->multidict,
        (AsyObj *)st->cimultidict,
        (AsyObj *)st->cimultidict_mut,
        (AsyObj *)st->url,
        (AsyObj *)st->router,
        (AsyObj *)st->request,
        (AsyObj *)st->webresponse,
        (AsyObj *)st->webstream,
        (AsyObj *)st->server,
        (AsyObj *)st->e_client,
        (AsyObj *)st->e_connection,
        (AsyObj *)st->e_connector,
        (AsyObj *)st->e_cert,
        (AsyObj *)st->e_disconnected,
        (AsyObj *)st->e_response,
        (AsyObj *)st->e_contenttype,
        (AsyObj *)st->e_redirects,
        (AsyObj *)st->e_payload,
        (AsyObj *)st->e_invalidurl,
        (AsyObj *)st->e_http_exception,
    };
    for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++)
        asy_gc_mark_obj(vm, objs[i]);
    asy_gc_mark_value(vm, st->timeout_cls);
    asy_gc_mark_value(vm, st->empty_bytes);
    asy_gc_mark_value(vm, st->json_loads);
    asy_gc_mark_value(vm, st->json_dumps);
}

AsyHttpState *asy_http_state(AsyVM *vm) {
    if (!vm->loop || !ASY_AIO_TYPE(vm, HttpState)) {
        AsyValue m = asy_import(vm, asy_str_intern_cstr(vm, "http"));
        if (ASY_IS_ERR(m)) return NULL;
    }
    AsyValue st = asy_dict_get_cstr(vm, ASY_AIO_TYPE(vm, HttpState)->dict, "_state");
    return (AsyHttpState *)ASY_AS_OBJ(st);
}

AsyTask *asy_http_task(AsyVM *vm) {
    AsyTask *t = asy_task_current(vm);
    if (!t) asy_raise(vm, ASY_EXC_RuntimeError, "no running event loop");
    return t;
}

/* ==================================================================================== */
/* Multidicts                                                                           */
/* ==================================================================================== */

#define MD_CI 1u  /* hdr.flags: keys compare case-insensitively (headers)                */
#define MD_MUT 2u /* hdr.flags: add/[]= allowed (CIMultiDict)                            */

static AsyHttpMultiDict *md_of(AsyValue v) { return (AsyHttpMultiDict *)ASY_AS_OBJ(v); }

static void md_traverse(AsyVM *vm, AsyObj *o) {
    AsyHttpMultiDict *md = (AsyHttpMultiDict *)o;
    for (int64_t i = 0; i < md->len * 2; i++)
        asy_gc_mark_value(vm, md->items[i]);
}

static void md_finalize(AsyVM *vm, AsyObj *o) {
    AsyHttpMultiDict *md = (AsyHttpMultiDict *)o;
    asy_mem_free(vm, md->items, (size_t)md->cap * 2 * sizeof(AsyValue));
    md->items = NULL;
}

AsyHttpMultiDict *asy_http_multidict_new(AsyVM *vm, AsyType *type) {
    AsyHttpMultiDict *md = asy_gc_alloc(vm, type, type->basicsize);
    AsyHttpState *st = asy_http_state(vm);
    if (type != st->multidict) md->hdr.flags |= MD_CI;
    if (type == st->cimultidict_mut) md->hdr.flags |= MD_MUT;
    return md;
}

bool asy_http_multidict_add_value(AsyVM *vm, AsyHttpMultiDict *md, AsyValue k, AsyValue v) {
    if (md->len == md->cap) {
        int64_t cap = md->cap ? md->cap * 2 : 8;
        AsyValue *items = asy_mem_realloc(vm, md->items, (size_t)md->cap * 2 * sizeof *items,
                                          (size_t)cap * 2 * sizeof *items);
        if (!items) return false;
        md->items = items;
        md->cap = cap;
    }
    md->items[md->len * 2] = k;
    md->items[md->len * 2 + 1] = v;
    md->len++;
    return true;
}

bool asy_http_multidict_add(AsyVM *vm, AsyHttpMultiDict *md, const char *key, size_t klen,
                            const char *value, size_t vlen) {
    AsyStr *k = asy_str_new(vm, key, klen);
    AsyStr *v = k ? asy_str_new(vm, value, vlen) : NULL;
    if (!v) { /* header bytes that are not UTF-8: keep them as latin-1 text */
        if (vm->exc) asy_exc_clear(vm);
        AsyValue kv = asy_bytes_decode(vm, (const uint8_t *)key, klen, "latin-1", NULL);
        AsyValue vv = asy_bytes_decode(vm, (const uint8_t *)value, vlen, "latin-1", NULL);
        if (ASY_IS_ERR(kv) || ASY_IS_ERR(vv)) return false;
        return asy_http_multidict_add_value(vm, md, kv, vv);
    }
    return asy_http_multidict_add_value(vm, md, ASY_OBJ(k), ASY_OBJ(v));
}

static bool md_key_eq(AsyHttpMultiDict *md, AsyValue k, const char *key, size_t klen) {
    AsyStr *s = (AsyStr *)ASY_AS_OBJ(k);
    if (s->len != klen) return false;
    if (md->hdr.flags & MD_CI) return strncasecmp(s->data, key, klen) == 0;
    return memcmp(s->data, key, klen) == 0;
}

AsyValue asy_http_multidict_get(AsyHttpMultiDict *md, const char *key) {
    size_t n = strlen(key);
    for (int64_t i = 0; i < md->len; i++)
        if (md_key_eq(md, md->items[i * 2], key, n)) return md->items[i * 2 + 1];
    return ASY_UNDEF;
}

AsyHttpMultiDict *asy_http_headers_from_evkeyvalq(AsyVM *vm, struct evkeyvalq *q) {
    AsyHttpMultiDict *md = asy_http_multidict_new(vm, asy_http_state(vm)->cimultidict);
    struct evkeyval *h;
    TAILQ_FOREACH(h, q, next) {
        if (!asy_http_multidict_add(vm, md, h->key, strlen(h->key), h->value, strlen(h->value)))
            return NULL;
    }
    return md;
}

/* The key argument as a str (multidict keys are strs); NULL with KeyError/TypeError. */
static AsyStr *md_key_arg(AsyVM *vm, AsyValue k) {
    if (ASY_IS_OBJ(k) && asy_isinstance(vm, k, ASY_TYPE(vm, str))) return (AsyStr *)ASY_AS_OBJ(k);
    AsyValue ks = asy_str(vm, k);
    return ASY_IS_ERR(ks) ? NULL : (AsyStr *)ASY_AS_OBJ(ks);
}

static int64_t md_find(AsyHttpMultiDict *md, AsyStr *k, int64_t from) {
    for (int64_t i = from; i < md->len; i++)
        if (md_key_eq(md, md->items[i * 2], k->data, k->len)) return i;
    return -1;
}

static AsyValue md_getitem(AsyVM *vm, AsyValue self, AsyValue key) {
    AsyHttpMultiDict *md = md_of(self);
    AsyStr *k = md_key_arg(vm, key);
    if (!k) return ASY_ERR;
    int64_t i = md_find(md, k, 0);
    if (i < 0) {
        AsyValue e = asy_exc_new(vm, vm->exc_types[ASY_EXC_KeyError], 1, &key);
        return ASY_IS_ERR(e) ? e : asy_raise_value(vm, e);
    }
    return md->items[i * 2 + 1];
}

static void md_remove_all(AsyHttpMultiDict *md, AsyStr *k) {
    int64_t w = 0;
    for (int64_t i = 0; i < md->len; i++) {
        if (md_key_eq(md, md->items[i * 2], k->data, k->len)) continue;
        md->items[w * 2] = md->items[i * 2];
        md->items[w * 2 + 1] = md->items[i * 2 + 1];
        w++;
    }
    md->len = w;
}

static int md_setitem(AsyVM *vm, AsyValue self, AsyValue key, AsyValue v) {
    AsyHttpMultiDict *md = md_of(self);
    if (!(md->hdr.flags & MD_MUT)) {
        asy_raise(vm, ASY_EXC_TypeError, "'%s' object does not support item assignment",
                  md->hdr.type->name);
        return -1;
    }
    AsyStr *k = md_key_arg(vm, key);
    if (!k) return -1;
    int64_t i = md_find(md, k, 0);
    if (ASY_IS_UNDEF(v)) { /* del md[k] */
        if (i < 0) {
            AsyValue e = asy_exc_new(vm, vm->exc_types[ASY_EXC_KeyError], 1, &key);
            if (!ASY_IS_ERR(e)) asy_raise_value(vm, e);
            return -1;
        }
        md_remove_all(md, k);
        return 0;
    }
    AsyStr *vs = asy_http_to_str(vm, v);
    if (!vs) return -1;
    if (i < 0) return asy_http_multidict_add_value(vm, md, ASY_OBJ(k), ASY_OBJ(vs)) ? 0 : -1;
    md->items[i * 2 + 1] = ASY_OBJ(vs); /* keep the first, drop the later ones */
    for (int64_t j = md_find(md, k, i + 1); j >= 0; j = md_find(md, k, i + 1)) {
        memmove(&md->items[j * 2], &md->items[j * 2 + 2],
                (size_t)(md->len - j - 1) * 2 * sizeof(AsyValue));
        md->len--;
    }
    return 0;
}

static int md_contains(AsyVM *vm, AsyValue self, AsyValue key) {
    if (!ASY_IS_OBJ(key) || !asy_isinstance(vm, key, ASY_TYPE(vm, str))) return 0;
    return md_find(md_of(self), (AsyStr *)ASY_AS_OBJ(key), 0) >= 0;
}

static int64_t md_len(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm);
    return md_of(self)->len;
}

/* which: 0 keys, 1 values, 2 items */
static AsyValue md_list(AsyVM *vm, AsyHttpMultiDict *md, int which) {
    AsyList *l = asy_list_new(vm, md->len);
    if (!l) return ASY_ERR;
    for (int64_t i = 0; i < md->len; i++) {
        AsyValue v;
        if (which == 2) {
            AsyTuple *t = asy_tuple_from_array(vm, &md->items[i * 2], 2);
            if (!t) return ASY_ERR;
            v = ASY_OBJ(t);
        } else {
            v = md->items[i * 2 + which];
        }
        l->items[l->len++] = v;
    }
    return ASY_OBJ(l);
}

static AsyValue md_iter(AsyVM *vm, AsyValue self) {
    AsyValue l = md_list(vm, md_of(self), 0);
    return ASY_IS_ERR(l) ? l : asy_iter(vm, l);
}

static AsyValue md_repr(AsyVM *vm, AsyValue self) {
    AsyHttpMultiDict *md = md_of(self);
    AsyStrBuf b;
    asy_strbuf_init(&b);
    asy_strbuf_printf(vm, &b, "<%s(", md->hdr.type->name);
    for (int64_t i = 0; i < md->len; i++) {
        if (i) asy_strbuf_append_cstr(vm, &b, ", ");
        for (int j = 0; j < 2; j++) {
            AsyValue r = asy_repr(vm, md->items[i * 2 + j]);
            if (ASY_IS_ERR(r)) {
                asy_strbuf_free(&b);
                return r;
            }
            asy_strbuf_append_str(vm, &b, (AsyStr *)ASY_AS_OBJ(r));
            if (j == 0) asy_strbuf_append_cstr(vm, &b, ": ");
        }
    }
    asy_strbuf_append_cstr(vm, &b, ")>");
    AsyStr *s = asy_strbuf_finish(vm, &b);
    return s ? ASY_OBJ(s) : ASY_ERR;
}

static AsyValue mdm_get(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "get", argc - 1, 1, 2)) return ASY_ERR;
    AsyStr *k = md_key_arg(vm, argv[1]);
    if (!k) return ASY_ERR;
    int64_t i = md_find(md_of(argv[0]), k, 0);
    if (i >= 0) return md_of(argv[0])->items[i * 2 + 1];
    return argc > 2 ? argv[2] : ASY_NONE;
}

static AsyValue mdm_getone(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "getone", argc - 1, 1, 2)) return ASY_ERR;
    if (argc > 2) return mdm_get(vm, argc, argv, kw);
    return md_getitem(vm, argv[0], argv[1]);
}

static AsyValue mdm_getall(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "getall", argc - 1, 1, 2)) return ASY_ERR;
    AsyHttpMultiDict *md = md_of(argv[0]);
    AsyStr *k = md_key_arg(vm, argv[1]);
    if (!k) return ASY_ERR;
    AsyList *l = asy_list_new(vm, 0);
    for (int64_t i = md_find(md, k, 0); i >= 0; i = md_find(md, k, i + 1))
        if (asy_list_append(vm, l, md->items[i * 2 + 1]) < 0) return ASY_ERR;
    if (l->len > 0) return ASY_OBJ(l);
    if (argc > 2) return argv[2];
    AsyValue e = asy_exc_new(vm, vm->exc_types[ASY_EXC_KeyError], 1, &argv[1]);
    return ASY_IS_ERR(e) ? e : asy_raise_value(vm, e);
}

static AsyValue mdm_keys(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "keys", argc - 1, 0, 0)) return ASY_ERR;
    return md_list(vm, md_of(argv[0]), 0);
}

static AsyValue mdm_values(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "values", argc - 1, 0, 0)) return ASY_ERR;
    return md_list(vm, md_of(argv[0]), 1);
}

static AsyValue mdm_items(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "items", argc - 1, 0, 0)) return ASY_ERR;
    return md_list(vm, md_of(argv[0]), 2);
}

static AsyValue mdm_add(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "add", argc - 1, 2, 2)) return ASY_ERR;
    AsyHttpMultiDict *md = md_of(argv[0]);
    if (!(md->hdr.flags & MD_MUT))
        return asy_raise(vm, ASY_EXC_AttributeError, "'%s' object has no attribute 'add'",
                         md->hdr.type->name);
    AsyStr *k = md_key_arg(vm, argv[1]);
    AsyStr *v = k ? asy_http_to_str(vm, argv[2]) : NULL;
    if (!v || !asy_http_multidict_add_value(vm, md, ASY_OBJ(k), ASY_OBJ(v))) return ASY_ERR;
    return ASY_NONE;
}

static AsyValue mdm_copy(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "copy", argc - 1, 0, 0)) return ASY_ERR;
    AsyHttpMultiDict *src = md_of(argv[0]);
    AsyHttpMultiDict *md = asy_http_multidict_new(vm, asy_http_state(vm)->cimultidict_mut);
    md->hdr.flags = src->hdr.flags | MD_MUT;
    for (int64_t i = 0; i < src->len; i++)
        if (!asy_http_multidict_add_value(vm, md, src->items[i * 2], src->items[i * 2 + 1]))
            return ASY_ERR;
    return ASY_OBJ(md);
}

static const AsyMethodDef md_methods[] = {
    {"get", mdm_get, ASY_METH_NOKW, "The first value for key, or default."},
    {"getone", mdm_getone, ASY_METH_NOKW, "The first value for key."},
    {"getall", mdm_getall, ASY_METH_NOKW, "Every value for key, as a list."},
    {"keys", mdm_keys, ASY_METH_NOKW, "The keys, in order, repeats included."},
    {"values", mdm_values, ASY_METH_NOKW, "The values, in order."},
    {"items", mdm_items, ASY_METH_NOKW, "The (key, value) pairs, in order."},
    {"add", mdm_add, ASY_METH_NOKW, "Append a (key, value) pair (CIMultiDict only)."},
    {"copy", mdm_copy, ASY_METH_NOKW, "A mutable copy."},
    {NULL, NULL, 0, NULL},
};

/* CIMultiDict() / CIMultiDict(mapping) from asy code. */
static AsyValue md_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_args(vm, type->name, argc, 0, 1)) return ASY_ERR;
    AsyHttpMultiDict *md = asy_gc_alloc(vm, type, type->basicsize);
    md->hdr.flags = MD_CI | MD_MUT;
    if (strcmp(type->name, "MultiDictProxy") == 0) md->hdr.flags = 0;
    if (strcmp(type->name, "CIMultiDictProxy") == 0) md->hdr.flags = MD_CI;
    AsyValue self = ASY_OBJ(md);
    asy_root_push(vm, self);
    bool ok = true;
    if (argc == 1 && !ASY_IS_NONE(argv[0])) {
        AsyValue items = argv[0];
        if (ASY_IS_OBJ(items) && ASY_AS_OBJ(items)->type->getitem == md_getitem)
            items = md_list(vm, md_of(items), 2);
        else if (ASY_IS_OBJ(items) && asy_isinstance(vm, items, ASY_TYPE(vm, dict)))
            items = asy_call_method(vm, items, asy_str_intern_cstr(vm, "items"), 0, NULL);
        AsyList *l = ASY_IS_ERR(items) ? NULL : asy_list_from_iterable(vm, items);
        ok = l != NULL;
        for (int64_t i = 0; ok && i < l->len; i++) {
            AsyTuple *t = asy_tuple_from_iterable(vm, l->items[i]);
            ok = t && t->len == 2;
            if (t && t->len != 2) asy_raise(vm, ASY_EXC_TypeError, "multidict items must be pairs");
            AsyStr *k = ok ? md_key_arg(vm, t->items[0]) : NULL;
            AsyStr *v = k ? asy_http_to_str(vm, t->items[1]) : NULL;
            ok = v && asy_http_multidict_add_value(vm, md, ASY_OBJ(k), ASY_OBJ(v));
        }
    }
    if (ok && kw) {
        int64_t pos = 0;
        AsyValue k, v;
        while (ok && asy_dict_next(kw, &pos, &k, &v)) {
            AsyStr *vs = asy_http_to_str(vm, v);
            ok = vs && asy_http_multidict_add_value(vm, md, k, ASY_OBJ(vs));
        }
    }
    asy_root_pop(vm, 1);
    return ok ? self : ASY_ERR;
}

static AsyType *md_type(AsyVM *vm, const char *name) {
    AsyType *t = asy_type_new_builtin(vm, name, ASY_TYPE(vm, object), sizeof(AsyHttpMultiDict));
    t->module = asy_str_intern_cstr(vm, "multidict");
    t->traverse = md_traverse;
    t->finalize = md_finalize;
    t->getitem = md_getitem;
    t->setitem = md_setitem;
    t->contains = md_contains;
    t->len = md_len;
    t->iter = md_iter;
    t->repr = md_repr;
    t->new_ = md_new;
    asy_type_add_methods(vm, t, md_methods);
    asy_type_ready(vm, t);
    return t;
}

/* Decode %XX and '+' in place; returns the new length. */
static size_t url_unquote(char *s, size_t n, bool plus) {
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+' && plus)
            c = ' ';
        else if (c == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
                 isxdigit((unsigned char)s[i + 2])) {
            char hex[3] = {s[i + 1], s[i + 2], 0};
            c = (char)strtol(hex, NULL, 16);
            i += 2;
        }
        s[w++] = c;
    }
    return w;
}

AsyHttpMultiDict *asy_http_parse_query(AsyVM *vm, const char *q) {
    AsyHttpMultiDict *md = asy_http_multidict_new(vm, asy_http_state(vm)->multidict);
    if (!q) return md;
    size_t n = strlen(q);
    char *buf = malloc(n + 1);
    if (!buf) {
        asy_raise_memory(vm);
        return NULL;
    }
    memcpy(buf, q, n + 1);
    char *p = buf;
    bool ok = true;
    while (ok && *p) {
        char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        char *eq = memchr(p, '=', len);
        if (len > 0) {
            size_t klen = eq ? (size_t)(eq - p) : len;
            char *v = eq ? eq + 1 : p + len;
            size_t vlen = eq ? len - klen - 1 : 0;
            klen = url_unquote(p, klen, true);
            vlen = url_unquote(v, vlen, true);
            ok = asy_http_multidict_add(vm, md, p, klen, v, vlen);
        }
        p += len + (amp ? 1 : 0);
    }
    free(buf);
    return ok ? md : NULL;
}

/* ==================================================================================== */
/* URL                                                                                  */
/* ==================================================================================== */

static AsyHttpURL *url_of(AsyValue v) { return (AsyHttpURL *)ASY_AS_OBJ(v); }

static void url_traverse(AsyVM *vm, AsyObj *o) {
    asy_gc_mark_obj(vm, (AsyObj *)((AsyHttpURL *)o)->s);
}

AsyValue asy_http_url_new(AsyVM *vm, AsyStr *s) {
    AsyHttpURL *u = asy_gc_alloc(vm, asy_http_state(vm)->url, sizeof(AsyHttpURL));
    u->s = s;
    return ASY_OBJ(u);
}

static AsyValue url_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "URL", kw) || !asy_check_args(vm, "URL", argc, 1, 1)) return ASY_ERR;
    if (ASY_IS_OBJ(argv[0]) && ASY_AS_OBJ(argv[0])->type == type) return argv[0];
    if (!ASY_IS_OBJ(argv[0]) || !asy_isinstance(vm, argv[0], ASY_TYPE(vm, str)))
        return asy_raise(vm, ASY_EXC_TypeError, "Constructor parameter should be str");
    AsyHttpURL *u = asy_gc_alloc(vm, type, type->basicsize);
    u->s = (AsyStr *)ASY_AS_OBJ(argv[0]);
    return ASY_OBJ(u);
}

static AsyValue url_str(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm);
    return ASY_OBJ(url_of(self)->s);
}

static AsyValue url_repr(AsyVM *vm, AsyValue self) {
    AsyValue r = asy_repr(vm, ASY_OBJ(url_of(self)->s));
    if (ASY_IS_ERR(r)) return r;
    return ASY_OBJ(asy_str_printf(vm, "URL(%s)", ((AsyStr *)ASY_AS_OBJ(r))->data));
}

static bool url_hash(AsyVM *vm, AsyValue self, int64_t *out) {
    ASY_UNUSED(vm);
    *out = asy_str_hash(url_of(self)->s);
    return true;
}

static AsyValue url_richcompare(AsyVM *vm, AsyValue self, AsyValue other, AsyCmpOp op) {
    if ((op != ASY_CMP_EQ && op != ASY_CMP_NE) || !ASY_IS_OBJ(other) ||
        ASY_AS_OBJ(other)->type != ASY_AS_OBJ(self)->type)
        return ASY_OBJ(vm->not_implemented);
    bool eq = asy_str_equal(url_of(self)->s, url_of(other)->s);
    return ASY_BOOL(op == ASY_CMP_EQ ? eq : !eq);
}

static AsyValue opt_str(AsyVM *vm, const char *s) {
    return s ? ASY_OBJ(asy_str_from_cstr(vm, s)) : ASY_NONE;
}

static AsyValue url_getattr(AsyVM *vm, AsyValue self, AsyStr *name) {
    const char *n = name->data;
    static const char *const attrs[] = {
        "scheme",   "host",     "port",  "path",    "query_string",
        "raw_path", "fragment", "query", "path_qs", "raw_query_string",
        "user",     "password", "name",  NULL};
    int which = -1;
    for (int i = 0; attrs[i]; i++)
        if (strcmp(n, attrs[i]) == 0) which = i;
    if (which < 0) return ASY_TYPE(vm, object)->getattr(vm, self, name);
    struct evhttp_uri *u =
        evhttp_uri_parse_with_flags(url_of(self)->s->data, EVHTTP_URI_NONCONFORMANT);
    if (!u) return which == 7 ? ASY_OBJ(asy_http_parse_query(vm, NULL)) : ASY_NONE;
    const char *scheme = evhttp_uri_get_scheme(u), *path = evhttp_uri_get_path(u);
    const char *q = evhttp_uri_get_query(u);
    AsyValue r = ASY_NONE;
    switch (which) {
    case 0: r = ASY_OBJ(asy_str_from_cstr(vm, scheme ? scheme : "")); break;
    case 1: {
        const char *h = evhttp_uri_get_host(u);
        size_t hl = h ? strlen(h) : 0;
        if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') /* yarl gives IPv6 hosts bare */
            r = ASY_OBJ(asy_str_new(vm, h + 1, hl - 2));
        else
            r = opt_str(vm, h);
        break;
    }
    case 2: {
        int port = evhttp_uri_get_port(u);
        if (port < 0 && scheme)
            port = strcasecmp(scheme, "https") == 0  ? 443
                   : strcasecmp(scheme, "http") == 0 ? 80
                                                     : -1;
        r = port < 0 ? ASY_NONE : ASY_INT(port);
        break;
    }
    case 3:
    case 5: {
        const char *p = path && *path ? path : "/";
        char *dec = which == 3 ? evhttp_uridecode(p, 0, NULL) : NULL;
        r = ASY_OBJ(asy_str_from_cstr(vm, dec ? dec : p));
        asy_evmem_free(dec);
        break;
    }
    case 4:
    case 9: {
        char *dec = which == 4 && q ? evhttp_uridecode(q, 1, NULL) : NULL;
        r = ASY_OBJ(asy_str_from_cstr(vm, dec ? dec : q ? q : ""));
        asy_evmem_free(dec);
        break;
    }
    case 6:
        r = ASY_OBJ(
            asy_str_from_cstr(vm, evhttp_uri_get_fragment(u) ? evhttp_uri_get_fragment(u) : ""));
        break;
    case 7: {
        AsyHttpMultiDict *md = asy_http_parse_query(vm, q);
        r = md ? ASY_OBJ(md) : ASY_ERR;
        break;
    }
    case 8:
        r = ASY_OBJ(
            asy_str_printf(vm, "%s%s%s", path && *path ? path : "/", q ? "?" : "", q ? q : ""));
        break;
    case 10:
    case 11: {
        const char *ui = evhttp_uri_get_userinfo(u);
        const char *colon = ui ? strchr(ui, ':') : NULL;
        if (ui && which == 10)
            r = ASY_OBJ(asy_str_new(vm, ui, colon ? (size_t)(colon - ui) : strlen(ui)));
        if (colon && which == 11) r = ASY_OBJ(asy_str_from_cstr(vm, colon + 1));
        break;
    }
    case 12: {
        const char *p = path && *path ? path : "/";
        const char *slash = strrchr(p, '/');
        r = ASY_OBJ(asy_str_from_cstr(vm, slash ? slash + 1 : p));
        break;
    }
    }
    evhttp_uri_free(u);
    return r;
}

static AsyValue urlm_human_repr(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "human_repr", argc - 1, 0, 0)) return ASY_ERR;
    return ASY_OBJ(url_of(argv[0])->s);
}

static const AsyMethodDef url_methods[] = {
    {"human_repr", urlm_human_repr, ASY_METH_NOKW, "The URL as text."},
    {NULL, NULL, 0, NULL},
};

static AsyType *url_type(AsyVM *vm) {
    AsyType *t = asy_type_new_builtin(vm, "URL", ASY_TYPE(vm, object), sizeof(AsyHttpURL));
    t->module = asy_str_intern_cstr(vm, "yarl");
    t->traverse = url_traverse;
    t->new_ = url_new;
    t->str = url_str;
    t->repr = url_repr;
    t->hash = url_hash;
    t->richcompare = url_richcompare;
    t->getattr = url_getattr;
    asy_type_add_methods(vm, t, url_methods);
    asy_type_ready(vm, t);
    return t;
}

/* ==================================================================================== */
/* Helpers                                                                              */
/* ==================================================================================== */

AsyStr *asy_http_to_str(AsyVM *vm, AsyValue v) {
    if (ASY_IS_OBJ(v) && asy_isinstance(vm, v, ASY_TYPE(vm, str))) return (AsyStr *)ASY_AS_OBJ(v);
    AsyValue s = asy_str(vm, v);
    return ASY_IS_ERR(s) ? NULL : (AsyStr *)ASY_AS_OBJ(s);
}

static bool json_funcs(AsyVM *vm, AsyHttpState *st) {
    if (!ASY_IS_UNDEF(st->json_loads)) return true;
    AsyValue m = asy_import(vm, asy_str_intern_cstr(vm, "json"));
    if (ASY_IS_ERR(m)) return false;
    AsyValue l = asy_getattr(vm, m, asy_str_intern_cstr(vm, "loads"));
    AsyValue d = ASY_IS_ERR(l) ? l : asy_getattr(vm, m, asy_str_intern_cstr(vm, "dumps"));
    if (ASY_IS_ERR(d)) return false;
    st->json_loads = l;
    st->json_dumps = d;
    return true;
}

AsyValue asy_http_json_dumps(AsyVM *vm, AsyValue v) {
    AsyHttpState *st = asy_http_state(vm);
    if (!st || !json_funcs(vm, st)) return ASY_ERR;
    return asy_call(vm, st->json_dumps, 1, &v, NULL);
}

AsyValue asy_http_json_loads(AsyVM *vm, AsyValue text) {
    AsyHttpState *st = asy_http_state(vm);
    if (!st || !json_funcs(vm, st)) return ASY_ERR;
    return asy_call(vm, st->json_loads, 1, &text, NULL);
}

void asy_http_urlencode(AsyVM *vm, AsyStrBuf *b, const char *s, size_t n) {
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char out[3];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '_' || c == '.' || c == '-' || c == '~') {
            asy_strbuf_append(vm, b, (const char *)&c, 1);
        } else if (c == ' ') {
            asy_strbuf_append(vm, b, "+", 1);
        } else {
            out[0] = '%';
            out[1] = hex[c >> 4];
            out[2] = hex[c & 15];
            asy_strbuf_append(vm, b, out, 3);
        }
    }
}

bool asy_http_urlencode_mapping(AsyVM *vm, AsyStrBuf *b, AsyValue mapping) {
    AsyValue items = mapping;
    if (ASY_IS_OBJ(mapping) && ASY_AS_OBJ(mapping)->type->getitem == md_getitem)
        items = md_list(vm, md_of(mapping), 2);
    else if (ASY_IS_OBJ(mapping) && asy_isinstance(vm, mapping, ASY_TYPE(vm, dict)))
        items = asy_call_method(vm, mapping, asy_str_intern_cstr(vm, "items"), 0, NULL);
    if (ASY_IS_ERR(items)) return false;
    asy_root_push(vm, items);
    AsyList *l = asy_list_from_iterable(vm, items);
    asy_root_pop(vm, 1);
    if (!l) return false;
    asy_root_push(vm, ASY_OBJ(l));
    bool ok = true;
    for (int64_t i = 0; ok && i < l->len; i++) {
        AsyTuple *t = asy_tuple_from_iterable(vm, l->items[i]);
        if (t && t->len != 2) {
            asy_raise(vm, ASY_EXC_TypeError, "expected (key, value) pairs");
            t = NULL;
        }
        AsyStr *k = t ? asy_http_to_str(vm, t->items[0]) : NULL;
        AsyValue val = t ? t->items[1] : ASY_NONE;
        AsyStr *v = NULL;
        if (k && ASY_IS_BOOL(val)) /* yarl refuses bools; aiohttp's params too */
            asy_raise(vm, ASY_EXC_TypeError,
                      "Invalid variable type: value should be str, int or float, got %R of "
                      "type %T",
                      val, val);
        else if (k)
            v = asy_http_to_str(vm, val);
        ok = v != NULL;
        if (!ok) break;
        if (b->len > 0 && b->data[b->len - 1] != '?') asy_strbuf_append(vm, b, "&", 1);
        asy_http_urlencode(vm, b, k->data, k->len);
        asy_strbuf_append(vm, b, "=", 1);
        asy_http_urlencode(vm, b, v->data, v->len);
    }
    asy_root_pop(vm, 1);
    return ok;
}

bool asy_http_kwargs(AsyVM *vm, const char *fname, AsyDict *kw, const char *const *names,
                     AsyValue *out, const char *const *ignored) {
    for (int i = 0; names[i]; i++)
        out[i] = ASY_UNDEF;
    if (!kw || kw->len == 0) return true;
    int64_t pos = 0;
    AsyValue k, v;
    while (asy_dict_next(kw, &pos, &k, &v)) {
        const char *n = ((AsyStr *)ASY_AS_OBJ(k))->data;
        bool known = false;
        for (int i = 0; names[i] && !known; i++)
            if (strcmp(n, names[i]) == 0) {
                out[i] = v;
                known = true;
            }
        for (int i = 0; ignored && ignored[i] && !known; i++)
            known = strcmp(n, ignored[i]) == 0;
        if (!known) {
            asy_raise(vm, ASY_EXC_TypeError, "%s() got an unexpected keyword argument '%s'", fname,
                      n);
            return false;
        }
    }
    return true;
}

AsyValue asy_http_raise(AsyVM *vm, AsyType *cls, int argc, AsyValue *argv) {
    AsyValue e = asy_call(vm, ASY_OBJ(cls), argc, argv, NULL);
    return ASY_IS_ERR(e) ? e : asy_raise_value(vm, e);
}

const char *asy_http_reason(int status) {
    static const struct {
        int code;
        const char *text;
    } reasons[] = {
        {100, "Continue"},
        {101, "Switching Protocols"},
        {200, "OK"},
        {201, "Created"},
        {202, "Accepted"},
        {203, "Non-Authoritative Information"},
        {204, "No Content"},
        {205, "Reset Content"},
        {206, "Partial Content"},
        {300, "Multiple Choices"},
        {301, "Moved Permanently"},
        {302, "Found"},
        {303, "See Other"},
        {304, "Not Modified"},
        {307, "Temporary Redirect"},
        {308, "Permanent Redirect"},
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {402, "Payment Required"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {406, "Not Acceptable"},
        {408, "Request Timeout"},
        {409, "Conflict"},
        {410, "Gone"},
        {411, "Length Required"},
        {412, "Precondition Failed"},
        {413, "Request Entity Too Large"},
        {414, "Request-URI Too Long"},
        {415, "Unsupported Media Type"},
        {416, "Requested Range Not Satisfiable"},
        {417, "Expectation Failed"},
        {418, "I'm a Teapot"},
        {422, "Unprocessable Entity"},
        {429, "Too Many Requests"},
        {431, "Request Header Fields Too Large"},
        {500, "Internal Server Error"},
        {501, "Not Implemented"},
        {502, "Bad Gateway"},
        {503, "Service Unavailable"},
        {504, "Gateway Timeout"},
        {505, "HTTP Version Not Supported"},
    };
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        if (reasons[i].code == status) return reasons[i].text;
    return "";
}

/* ==================================================================================== */
/* The parts written in asy                                                             */
/* ==================================================================================== */

/* The http/aiohttp module's own classes. The exceptions have aiohttp 3.x's hierarchy
 * (client_exceptions.py), multiple bases included: `except OSError` catches what it
 * catches under aiohttp (ClientOSError and below, ServerTimeoutError, the SSL errors) and
 * not the others (ServerDisconnectedError, ClientResponseError, ClientPayloadError...). */
static const char http_lib_src[] =
    "class ClientError(Exception):\n"
    "    pass\n"
    "\n"
    "class ClientConnectionError(ClientError):\n"
    "    pass\n"
    "\n"
    "class ClientOSError(ClientConnectionError, OSError):\n"
    "    pass\n"
    "\n"
    "class ConnectionKey:\n"
    "    def __init__(self, host, port, is_ssl, ssl):\n"
    "        self.host = host\n"
    "        self.port = port\n"
    "        self.is_ssl = is_ssl\n"
    "        self.ssl = ssl\n"
    "\n"
    "class ClientConnectorError(ClientOSError):\n"
    "    def __init__(self, connection_key, os_error):\n"
    "        self._conn_key = connection_key\n"
    "        self._os_error = os_error\n"
    "        super().__init__(os_error.errno, os_error.strerror)\n"
    "    @property\n"
    "    def os_error(self):\n"
    "        return self._os_error\n"
    "    @property\n"
    "    def host(self):\n"
    "        return self._conn_key.host\n"
    "    @property\n"
    "    def port(self):\n"
    "        return self._conn_key.port\n"
    "    @property\n"
    "    def ssl(self):\n"
    "        return self._conn_key.ssl\n"
    "    def __str__(self):\n"
    "        ssl = 'default' if self.ssl is True else self.ssl\n"
    "        return (f'Cannot connect to host {self.host}:{self.port} ssl:{ssl} '\n"
    "                f'[{self._os_error.strerror}]')\n"
    "\n"
    "class ClientProxyConnectionError(ClientConnectorError):\n"
    "    pass\n"
    "\n"
    "class ClientSSLError(ClientConnectorError):\n"
    "    pass\n"
    "\n"
    "class SSLError(OSError):\n"
    "    __module__ = 'ssl'\n"
    "\n"
    "class SSLCertVerificationError(SSLError, ValueError):\n"
    "    __module__ = 'ssl'\n"
    "\n"
    "class ClientConnectorSSLError(ClientSSLError, SSLError):\n"
    "    pass\n"
    "\n"
    "class ClientConnectorCertificateError(ClientSSLError, SSLCertVerificationError):\n"
    "    def __init__(self, connection_key, certificate_error):\n"
    "        self._conn_key = connection_key\n"
    "        self._certificate_error = certificate_error\n"
    "        self.args = (connection_key, certificate_error)\n"
    "    @property\n"
    "    def certificate_error(self):\n"
    "        return self._certificate_error\n"
    "    @property\n"
    "    def host(self):\n"
    "        return self._conn_key.host\n"
    "    @property\n"
    "    def port(self):\n"
    "        return self._conn_key.port\n"
    "    @property\n"
    "    def ssl(self):\n"
    "        return self._conn_key.is_ssl\n"
    "    def __str__(self):\n"
    "        e = self.certificate_error\n"
    "        return (f'Cannot connect to host {self.host}:{self.port} ssl:{self.ssl} '\n"
    "                f'[{type(e).__name__}: {e.args}]')\n"
    "\n"
    "class ServerConnectionError(ClientConnectionError):\n"
    "    pass\n"
    "\n"
    "class ServerDisconnectedError(ServerConnectionError):\n"
    "    def __init__(self, message=None):\n"
    "        if message is None:\n"
    "            message = 'Server disconnected'\n"
    "        self.args = (message,)\n"
    "        self.message = message\n"
    "    def __str__(self):\n"
    "        return str(self.message)\n"
    "\n"
    "class ServerTimeoutError(ServerConnectionError, TimeoutError):\n"
    "    pass\n"
    "\n"
    "class ServerFingerprintMismatch(ServerConnectionError):\n"
    "    def __init__(self, expected, got, host, port):\n"
    "        self.expected = expected\n"
    "        self.got = got\n"
    "        self.host = host\n"
    "        self.port = port\n"
    "        self.args = (expected, got, host, port)\n"
    "    def __repr__(self):\n"
    "        return (f'<{type(self).__name__} expected={self.expected!r} got={self.got!r} '\n"
    "                f'host={self.host!r} port={self.port!r}>')\n"
    "\n"
    "class ClientPayloadError(ClientError):\n"
    "    pass\n"
    "\n"
    "class InvalidURL(ClientError, ValueError):\n"
    "    def __init__(self, url):\n"
    "        super().__init__(url)\n"
    "    @property\n"
    "    def url(self):\n"
    "        return self.args[0]\n"
    "    def __str__(self):\n"
    "        return str(self.args[0])\n"
    "    def __repr__(self):\n"
    "        return f'<{type(self).__name__} {self.url}>'\n"
    "\n"
    "class RequestInfo:\n"
    "    def __init__(self, url, method, headers, real_url=None):\n"
    "        self.url = url\n"
    "        self.method = method\n"
    "        self.headers = headers\n"
    "        self.real_url = url if real_url is None else real_url\n"
    "    def __repr__(self):\n"
    "        return (f'RequestInfo(url={self.url!r}, method={self.method!r}, '\n"
    "                f'headers={self.headers!r}, real_url={self.real_url!r})')\n"
    "\n"
    "class ClientResponseError(ClientError):\n"
    "    def __init__(self, request_info, history, *, code=None, status=None, message='',\n"
    "                 headers=None):\n"
    "        self.request_info = request_info\n"
    "        if status is None:\n"
    "            status = 0 if code is None else code\n"
    "        self.status = status\n"
    "        self.message = message\n"
    "        self.headers = headers\n"
    "        self.history = history\n"
    "        self.args = (request_info, history)\n"
    "    @property\n"
    "    def code(self):\n"
    "        return self.status\n"
    "    def __str__(self):\n"
    "        return f'{self.status}, message={self.message!r}, "
    "url={self.request_info.real_url!r}'\n"
    "    def __repr__(self):\n"
    "        args = f'{self.request_info!r}, {self.history!r}'\n"
    "        if self.status != 0:\n"
    "            args += f', status={self.status!r}'\n"
    "        if self.message != '':\n"
    "            args += f', message={self.message!r}'\n"
    "        if self.headers is not None:\n"
    "            args += f', headers={self.headers!r}'\n"
    "        return f'{type(self).__name__}({args})'\n"
    "\n"
    "class ContentTypeError(ClientResponseError):\n"
    "    pass\n"
    "\n"
    "class ClientHttpProxyError(ClientResponseError):\n"
    "    pass\n"
    "\n"
    "class WSServerHandshakeError(ClientResponseError):\n"
    "    pass\n"
    "\n"
    "class TooManyRedirects(ClientResponseError):\n"
    "    pass\n"
    "\n"
    "class ClientTimeout:\n"
    "    def __init__(self, total=None, connect=None, sock_read=None, sock_connect=None,\n"
    "                 ceil_threshold=5):\n"
    "        self.total = total\n"
    "        self.connect = connect\n"
    "        self.sock_read = sock_read\n"
    "        self.sock_connect = sock_connect\n"
    "        self.ceil_threshold = ceil_threshold\n"
    "    def __repr__(self):\n"
    "        return (f'ClientTimeout(total={self.total!r}, connect={self.connect!r}, '\n"
    "                f'sock_read={self.sock_read!r}, sock_connect={self.sock_connect!r}, '\n"
    "                f'ceil_threshold={self.ceil_threshold!r})')\n"
    "    def __eq__(self, other):\n"
    "        return (type(other) is ClientTimeout and self.total == other.total and\n"
    "                self.connect == other.connect and self.sock_read == other.sock_read and\n"
    "                self.sock_connect == other.sock_connect)\n"
    "\n"
    "class TCPConnector:\n"
    "    def __init__(self, *, limit=100, limit_per_host=0, ssl=None, verify_ssl=True,\n"
    "                 force_close=False, **kwargs):\n"
    "        self.limit = limit\n"
    "        self.limit_per_host = limit_per_host\n"
    "        self._ssl = False if verify_ssl is False else ssl\n"
    "        self.force_close = force_close\n"
    "\n"
    "HttpProcessingError = ClientError\n"
    "\n"
    "import asyncio as _asyncio\n"
    "\n"
    "class StreamReader:\n"
    "    \"\"\"response.content: the body read in pieces (it arrives whole first).\"\"\"\n"
    "    def __init__(self, response):\n"
    "        self._response = response\n"
    "        self._data = None\n"
    "        self._pos = 0\n"
    "    async def _fill(self):\n"
    "        if self._data is None:\n"
    "            self._data = await self._response.read()\n"
    "    async def read(self, n=-1):\n"
    "        await self._fill()\n"
    "        end = len(self._data) if n is None or n < 0 else min(len(self._data), self._pos + n)\n"
    "        chunk = self._data[self._pos:end]\n"
    "        self._pos = end\n"
    "        return chunk\n"
    "    async def readany(self):\n"
    "        return await self.read()\n"
    "    async def readline(self):\n"
    "        await self._fill()\n"
    "        i = self._data.find(b'\\n', self._pos)\n"
    "        end = len(self._data) if i < 0 else i + 1\n"
    "        chunk = self._data[self._pos:end]\n"
    "        self._pos = end\n"
    "        return chunk\n"
    "    async def readexactly(self, n):\n"
    "        chunk = await self.read(n)\n"
    "        if len(chunk) < n:\n"
    "            err = getattr(_asyncio, 'IncompleteReadError', None)\n"
    "            if err is not None:\n"
    "                raise err(chunk, n)\n"
    "            raise EOFError(f'{len(chunk)} bytes read on a total of {n} expected bytes')\n"
    "        return chunk\n"
    "    def at_eof(self):\n"
    "        return self._data is not None and self._pos >= len(self._data)\n"
    "    async def iter_chunked(self, n):\n"
    "        while True:\n"
    "            chunk = await self.read(n)\n"
    "            if not chunk:\n"
    "                return\n"
    "            yield chunk\n"
    "    async def iter_any(self):\n"
    "        chunk = await self.read()\n"
    "        if chunk:\n"
    "            yield chunk\n"
    "    async def _lines(self):\n"
    "        while True:\n"
    "            line = await self.readline()\n"
    "            if not line:\n"
    "                return\n"
    "            yield line\n"
    "    def __aiter__(self):\n"
    "        return self._lines()\n"
    "\n"
    "class BasicAuth:\n"
    "    def __init__(self, login, password='', encoding='latin1'):\n"
    "        if login is None:\n"
    "            raise ValueError('None is not allowed as login value')\n"
    "        if ':' in login:\n"
    "            raise ValueError('A \":\" is not allowed in login (RFC 1945#section-11.1)')\n"
    "        self.login = login\n"
    "        self.password = password\n"
    "        self.encoding = encoding\n"
    "    def encode(self):\n"
    "        raw = f'{self.login}:{self.password}'.encode(self.encoding)\n"
    "        abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'\n"
    "        out = []\n"
    "        for i in range(0, len(raw), 3):\n"
    "            b = raw[i:i + 3]\n"
    "            n = int.from_bytes(b + bytes(3 - len(b)), 'big')\n"
    "            quad = [abc[(n >> s) & 63] for s in (18, 12, 6, 0)]\n"
    "            for j in range(3 - len(b)):\n"
    "                quad[3 - j] = '='\n"
    "            out.append(''.join(quad))\n"
    "        return 'Basic ' + ''.join(out)\n"
    "    def __repr__(self):\n"
    "        return (f'BasicAuth(login={self.login!r}, password={self.password!r}, '\n"
    "                f'encoding={self.encoding!r})')\n";

/* aiohttp.web's classes that need no speed: the runner and sites, run_app, the HTTP
 * exceptions a handler raises, route tables. */
static const char web_lib_src[] =
    "import asyncio as _asyncio\n"
    "\n"
    "class Application:\n"
    "    def __init__(self, *, middlewares=(), client_max_size=1024**2, **kwargs):\n"
    "        self.router = UrlDispatcher()\n"
    "        self.middlewares = list(middlewares)\n"
    "        self.on_startup = []\n"
    "        self.on_shutdown = []\n"
    "        self.on_cleanup = []\n"
    "        self.cleanup_ctx = []\n"
    "        self._client_max_size = client_max_size\n"
    "        self._state = {}\n"
    "    def __getitem__(self, key):\n"
    "        return self._state[key]\n"
    "    def __setitem__(self, key, value):\n"
    "        self._state[key] = value\n"
    "    def __delitem__(self, key):\n"
    "        del self._state[key]\n"
    "    def __contains__(self, key):\n"
    "        return key in self._state\n"
    "    def __len__(self):\n"
    "        return len(self._state)\n"
    "    def __iter__(self):\n"
    "        return iter(self._state)\n"
    "    def get(self, key, default=None):\n"
    "        return self._state.get(key, default)\n"
    "    def add_routes(self, routes):\n"
    "        for r in routes:\n"
    "            r.register(self.router)\n"
    "    def __repr__(self):\n"
    "        return '<Application 0x{:x}>'.format(id(self))\n"
    "\n"
    "class RouteDef:\n"
    "    def __init__(self, method, path, handler, kwargs):\n"
    "        self.method = method\n"
    "        self.path = path\n"
    "        self.handler = handler\n"
    "        self.kwargs = kwargs\n"
    "    def register(self, router):\n"
    "        if self.method == 'GET':\n"
    "            router.add_get(self.path, self.handler, **self.kwargs)\n"
    "        else:\n"
    "            router.add_route(self.method, self.path, self.handler, **self.kwargs)\n"
    "    def __repr__(self):\n"
    "        return f'<RouteDef {self.method} {self.path} -> {self.handler.__name__!r}>'\n"
    "\n"
    "def route(method, path, handler, **kwargs):\n"
    "    return RouteDef(method, path, handler, kwargs)\n"
    "def get(path, handler, **kwargs):\n"
    "    return RouteDef('GET', path, handler, kwargs)\n"
    "def head(path, handler, **kwargs):\n"
    "    return RouteDef('HEAD', path, handler, kwargs)\n"
    "def post(path, handler, **kwargs):\n"
    "    return RouteDef('POST', path, handler, kwargs)\n"
    "def put(path, handler, **kwargs):\n"
    "    return RouteDef('PUT', path, handler, kwargs)\n"
    "def patch(path, handler, **kwargs):\n"
    "    return RouteDef('PATCH', path, handler, kwargs)\n"
    "def delete(path, handler, **kwargs):\n"
    "    return RouteDef('DELETE', path, handler, kwargs)\n"
    "\n"
    "class RouteTableDef:\n"
    "    def __init__(self):\n"
    "        self._items = []\n"
    "    def route(self, method, path, **kwargs):\n"
    "        def inner(handler):\n"
    "            self._items.append(RouteDef(method, path, handler, kwargs))\n"
    "            return handler\n"
    "        return inner\n"
    "    def get(self, path, **kwargs):\n"
    "        return self.route('GET', path, **kwargs)\n"
    "    def head(self, path, **kwargs):\n"
    "        return self.route('HEAD', path, **kwargs)\n"
    "    def post(self, path, **kwargs):\n"
    "        return self.route('POST', path, **kwargs)\n"
    "    def put(self, path, **kwargs):\n"
    "        return self.route('PUT', path, **kwargs)\n"
    "    def patch(self, path, **kwargs):\n"
    "        return self.route('PATCH', path, **kwargs)\n"
    "    def delete(self, path, **kwargs):\n"
    "        return self.route('DELETE', path, **kwargs)\n"
    "    def __iter__(self):\n"
    "        return iter(self._items)\n"
    "    def __len__(self):\n"
    "        return len(self._items)\n"
    "\n"
    "def middleware(f):\n"
    "    return f\n"
    "\n"
    "def json_response(data=None, *, text=None, body=None, status=200, reason=None,\n"
    "                  headers=None, content_type='application/json', dumps=None):\n"
    "    if data is not None:\n"
    "        if text or body:\n"
    "            raise ValueError('only one of data, text, or body should be specified')\n"
    "        if dumps is None:\n"
    "            import json\n"
    "            dumps = json.dumps\n"
    "        text = dumps(data)\n"
    "    return Response(text=text, body=body, status=status, reason=reason, headers=headers,\n"
    "                    content_type=content_type)\n"
    "\n"
    "class HTTPException(Exception):\n"
    "    status_code = -1\n"
    "    empty_body = False\n"
    "    def __init__(self, *, headers=None, reason=None, body=None, text=None,\n"
    "                 content_type=None):\n"
    "        if reason is None:\n"
    "            reason = _reason(self.status_code)\n"
    "        self.reason = reason\n"
    "        self.headers = headers\n"
    "        self.body = body\n"
    "        if body is None and text is None and not self.empty_body:\n"
    "            text = f'{self.status_code}: {reason}'\n"
    "            if content_type is None:\n"
    "                content_type = 'text/plain'\n"
    "        self.text = text\n"
    "        self.content_type = content_type\n"
    "        super().__init__(reason)\n"
    "    @property\n"
    "    def status(self):\n"
    "        return self.status_code\n"
    "    def __str__(self):\n"
    "        return self.reason\n"
    "    def __repr__(self):\n"
    "        return f'<{type(self).__name__}: {self.reason}>'\n"
    "    def _response(self):\n"
    "        return Response(status=self.status_code, reason=self.reason, headers=self.headers,\n"
    "                        body=self.body, text=self.text, content_type=self.content_type)\n"
    "\n"
    "class HTTPError(HTTPException):\n"
    "    pass\n"
    "class HTTPRedirection(HTTPException):\n"
    "    pass\n"
    "class HTTPSuccessful(HTTPException):\n"
    "    pass\n"
    "class HTTPClientError(HTTPError):\n"
    "    pass\n"
    "class HTTPServerError(HTTPError):\n"
    "    pass\n"
    "\n"
    "class _HTTPMove(HTTPRedirection):\n"
    "    def __init__(self, location, *, headers=None, reason=None, body=None, text=None,\n"
    "                 content_type=None):\n"
    "        if not location:\n"
    "            raise ValueError('HTTP redirects need a location to redirect to.')\n"
    "        headers = dict(headers or {})\n"
    "        headers['Location'] = str(location)\n"
    "        super().__init__(headers=headers, reason=reason, body=body, text=text,\n"
    "                         content_type=content_type)\n"
    "        self.location = location\n"
    "\n"
    "def _http_class(name, base, code, empty=False):\n"
    "    ns = {'status_code': code}\n"
    "    if empty:\n"
    "        ns['empty_body'] = True\n"
    "    return type(name, (base,), ns)\n"
    "\n"
    "HTTPOk = _http_class('HTTPOk', HTTPSuccessful, 200)\n"
    "HTTPCreated = _http_class('HTTPCreated', HTTPSuccessful, 201)\n"
    "HTTPAccepted = _http_class('HTTPAccepted', HTTPSuccessful, 202)\n"
    "HTTPNoContent = _http_class('HTTPNoContent', HTTPSuccessful, 204, True)\n"
    "HTTPMovedPermanently = _http_class('HTTPMovedPermanently', _HTTPMove, 301)\n"
    "HTTPFound = _http_class('HTTPFound', _HTTPMove, 302)\n"
    "HTTPSeeOther = _http_class('HTTPSeeOther', _HTTPMove, 303)\n"
    "HTTPNotModified = _http_class('HTTPNotModified', HTTPRedirection, 304, True)\n"
    "HTTPTemporaryRedirect = _http_class('HTTPTemporaryRedirect', _HTTPMove, 307)\n"
    "HTTPPermanentRedirect = _http_class('HTTPPermanentRedirect', _HTTPMove, 308)\n"
    "HTTPBadRequest = _http_class('HTTPBadRequest', HTTPClientError, 400)\n"
    "HTTPUnauthorized = _http_class('HTTPUnauthorized', HTTPClientError, 401)\n"
    "HTTPForbidden = _http_class('HTTPForbidden', HTTPClientError, 403)\n"
    "HTTPNotFound = _http_class('HTTPNotFound', HTTPClientError, 404)\n"
    "HTTPMethodNotAllowed = _http_class('HTTPMethodNotAllowed', HTTPClientError, 405)\n"
    "HTTPConflict = _http_class('HTTPConflict', HTTPClientError, 409)\n"
    "HTTPGone = _http_class('HTTPGone', HTTPClientError, 410)\n"
    "HTTPRequestEntityTooLarge = _http_class('HTTPRequestEntityTooLarge', HTTPClientError, 413)\n"
    "HTTPUnprocessableEntity = _http_class('HTTPUnprocessableEntity', HTTPClientError, 422)\n"
    "HTTPTooManyRequests = _http_class('HTTPTooManyRequests', HTTPClientError, 429)\n"
    "HTTPInternalServerError = _http_class('HTTPInternalServerError', HTTPServerError, 500)\n"
    "HTTPNotImplemented = _http_class('HTTPNotImplemented', HTTPServerError, 501)\n"
    "HTTPBadGateway = _http_class('HTTPBadGateway', HTTPServerError, 502)\n"
    "HTTPServiceUnavailable = _http_class('HTTPServiceUnavailable', HTTPServerError, 503)\n"
    "HTTPGatewayTimeout = _http_class('HTTPGatewayTimeout', HTTPServerError, 504)\n"
    "\n"
    "class AppRunner:\n"
    "    def __init__(self, app, **kwargs):\n"
    "        self._app = app\n"
    "        self._sites = []\n"
    "        self._setup = False\n"
    "    @property\n"
    "    def app(self):\n"
    "        return self._app\n"
    "    @property\n"
    "    def sites(self):\n"
    "        return set(self._sites)\n"
    "    @property\n"
    "    def addresses(self):\n"
    "        return [s._server.address for s in self._sites]\n"
    "    async def setup(self):\n"
    "        self._setup = True\n"
    "        for cb in self._app.on_startup:\n"
    "            await cb(self._app)\n"
    "    async def shutdown(self):\n"
    "        for cb in self._app.on_shutdown:\n"
    "            await cb(self._app)\n"
    "    async def cleanup(self):\n"
    "        for site in list(self._sites):\n"
    "            await site.stop()\n"
    "        if self._setup:\n"
    "            self._setup = False\n"
    "            await self.shutdown()\n"
    "            for cb in self._app.on_cleanup:\n"
    "                await cb(self._app)\n"
    "\n"
    "class TCPSite:\n"
    "    def __init__(self, runner, host=None, port=None, *, shutdown_timeout=60.0,\n"
    "                 ssl_context=None, backlog=128, reuse_address=None, reuse_port=None):\n"
    "        self._runner = runner\n"
    "        self._host = host\n"
    "        self._port = 8080 if port is None else port\n"
    "        self._backlog = backlog\n"
    "        self._server = None\n"
    "    @property\n"
    "    def name(self):\n"
    "        host = '0.0.0.0' if self._host is None else self._host\n"
    "        return f'http://{host}:{self._port}'\n"
    "    async def start(self):\n"
    "        if not self._runner._setup:\n"
    "            raise RuntimeError('Call runner.setup() before making a site')\n"
    "        self._server = _serve(self._runner._app, self._host, self._port, self._backlog)\n"
    "        self._runner._sites.append(self)\n"
    "    async def stop(self):\n"
    "        if self._server is not None:\n"
    "            self._server.close()\n"
    "            self._server = None\n"
    "            self._runner._sites.remove(self)\n"
    "\n"
    "_CTYPES = {'.html': 'text/html', '.htm': 'text/html', '.css': 'text/css',\n"
    "           '.js': 'application/javascript', '.json': 'application/json',\n"
    "           '.txt': 'text/plain', '.csv': 'text/csv', '.md': 'text/markdown',\n"
    "           '.xml': 'application/xml', '.png': 'image/png', '.jpg': 'image/jpeg',\n"
    "           '.jpeg': 'image/jpeg', '.gif': 'image/gif', '.svg': 'image/svg+xml',\n"
    "           '.ico': 'image/vnd.microsoft.icon', '.pdf': 'application/pdf',\n"
    "           '.wasm': 'application/wasm'}\n"
    "\n"
    "def FileResponse(path, chunk_size=256 * 1024, status=200, reason=None, headers=None):\n"
    "    import os\n"
    "    path = str(path)\n"
    "    if not os.path.isfile(path):\n"
    "        raise HTTPNotFound()\n"
    "    with open(path, 'rb') as f:\n"
    "        body = f.read()\n"
    "    ctype = _CTYPES.get(os.path.splitext(path)[1].lower(), 'application/octet-stream')\n"
    "    return Response(body=body, status=status, reason=reason, headers=headers,\n"
    "                    content_type=ctype)\n"
    "\n"
    "def _add_static(router, prefix, path, **kwargs):\n"
    "    import os\n"
    "    root = os.path.abspath(str(path))\n"
    "    if not os.path.isdir(root):\n"
    "        raise ValueError(f\"No directory exists at '{root}'\")\n"
    "    prefix = prefix.rstrip('/')\n"
    "    async def static(request):\n"
    "        full = os.path.normpath(os.path.join(root, request.match_info['filename']))\n"
    "        if full != root and not full.startswith(root + os.sep):\n"
    "            raise HTTPNotFound()\n"
    "        if os.path.isdir(full):\n"
    "            raise HTTPForbidden()\n"
    "        if not os.path.isfile(full):\n"
    "            raise HTTPNotFound()\n"
    "        return FileResponse(full)\n"
    "    router.add_get(prefix + '/{filename:.*}', static)\n"
    "\n"
    "def static(prefix, path, **kwargs):\n"
    "    class _Static:\n"
    "        def register(self, router):\n"
    "            _add_static(router, prefix, path, **kwargs)\n"
    "    return _Static()\n"
    "\n"
    "def run_app(app, *, host=None, port=None, print=print, **kwargs):\n"
    "    async def main():\n"
    "        nonlocal app\n"
    "        if _asyncio.iscoroutine(app):\n"
    "            app = await app\n"
    "        runner = AppRunner(app)\n"
    "        await runner.setup()\n"
    "        try:\n"
    "            site = TCPSite(runner, host, port)\n"
    "            await site.start()\n"
    "            if print is not None:\n"
    "                print(f'======== Running on {site.name} ========\\n(Press CTRL+C to quit)')\n"
    "            while True:\n"
    "                await _asyncio.sleep(3600)\n"
    "        finally:\n"
    "            await runner.cleanup()\n"
    "    try:\n"
    "        _asyncio.run(main())\n"
    "    except (KeyboardInterrupt, _asyncio.CancelledError):\n"
    "        pass\n";

static AsyValue web_reason(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    int64_t code;
    if (!asy_check_args(vm, "_reason", argc, 1, 1) || !asy_index(vm, argv[0], &code))
        return ASY_ERR;
    return ASY_OBJ(asy_str_from_cstr(vm, asy_http_reason((int)code)));
}

static const AsyMethodDef web_functions[] = {
    {"_reason", web_reason, ASY_METH_NOKW, "The reason phrase of a status code."},
    {NULL, NULL, 0, NULL},
};

static bool run_lib(AsyVM *vm, AsyModule *m, const char *src, size_t len, const char *name) {
    asy_dict_set_str(vm, m->dict, ASY_S(vm, __builtins__), ASY_OBJ(vm->builtins));
    AsyCode *code = asy_compile(vm, src, len, name, ASY_PARSE_MODULE);
    if (!code) return false;
    asy_root_push(vm, ASY_OBJ(code));
    AsyValue r = asy_vm_run_code(vm, code, m->dict);
    asy_root_pop(vm, 1);
    return !ASY_IS_ERR(r);
}

static AsyType *lib_class(AsyVM *vm, AsyModule *m, const char *name) {
    AsyValue v = asy_dict_get_cstr(vm, m->dict, name);
    return ASY_IS_OBJ(v) ? (AsyType *)ASY_AS_OBJ(v) : NULL;
}

static void fetch_classes(AsyVM *vm, AsyHttpState *st) {
    AsyModule *m = st->mod;
    st->e_client = lib_class(vm, m, "ClientError");
    st->e_connection = lib_class(vm, m, "ClientConnectionError");
    st->e_connector = lib_class(vm, m, "ClientConnectorError");
    st->e_cert = lib_class(vm, m, "ClientConnectorCertificateError");
    st->e_disconnected = lib_class(vm, m, "ServerDisconnectedError");
    st->e_response = lib_class(vm, m, "ClientResponseError");
    st->e_contenttype = lib_class(vm, m, "ContentTypeError");
    st->e_redirects = lib_class(vm, m, "TooManyRedirects");
    st->e_payload = lib_class(vm, m, "ClientPayloadError");
    st->e_invalidurl = lib_class(vm, m, "InvalidURL");
    st->timeout_cls = asy_dict_get_cstr(vm, m->dict, "ClientTimeout");
}

/* aiohttp.web's part written in asy (its source above and the server's helpers): made on
 * first use of one of its names (module.c), since a client never needs it. */
static void make_web(AsyVM *vm, AsyModule *w) {
    AsyHttpState *st = asy_http_state(vm);
    if (!st) return;
    asy_http_server_run_helpers(vm, st);
    if (vm->exc || !run_lib(vm, w, web_lib_src, sizeof web_lib_src - 1, "<aiohttp.web>")) return;
    st->e_http_exception = lib_class(vm, w, "HTTPException");
}

/* Every name the part defines. */
static const char *const web_names[] = {
    "_mw_wrap", "_run_middlewares", "_not_found", "_not_allowed",
    "_asyncio", "Application", "RouteDef", "route", "get", "head", "post", "put", "patch",
    "delete", "RouteTableDef", "middleware", "json_response", "HTTPException", "HTTPError",
    "HTTPRedirection", "HTTPSuccessful", "HTTPClientError", "HTTPServerError", "_HTTPMove",
    "_http_class", "HTTPOk", "HTTPCreated", "HTTPAccepted", "HTTPNoContent",
    "HTTPMovedPermanently", "HTTPFound", "HTTPSeeOther", "HTTPNotModified",
    "HTTPTemporaryRedirect", "HTTPPermanentRedirect", "HTTPBadRequest", "HTTPUnauthorized",
    "HTTPForbidden", "HTTPNotFound", "HTTPMethodNotAllowed", "HTTPConflict", "HTTPGone",
    "HTTPRequestEntityTooLarge", "HTTPUnprocessableEntity", "HTTPTooManyRequests",
    "HTTPInternalServerError", "HTTPNotImplemented", "HTTPBadGateway",
    "HTTPServiceUnavailable", "HTTPGatewayTimeout", "AppRunner", "TCPSite", "_CTYPES",
    "FileResponse", "_add_static", "static", "run_app", NULL};

static const AsyLazyPart web_parts[] = {{web_names, make_web}, {NULL, NULL}};

/* ==================================================================================== */
/* The module                                                                           */
/* ==================================================================================== */

static void set_type(AsyVM *vm, AsyModule *m, const char *name, AsyType *t) {
    asy_dict_set_cstr(vm, m->dict, name, ASY_OBJ(t));
}

/* The scheduler is being freed (asy_vm_free): close every connection and server while
 * the event_base still exists. */
static void http_closer(AsyVM *vm) {
    AsyLoop *L = vm->loop;
    AsyType *t = L ? L->types[ASY_AIO_HttpState] : NULL;
    if (!t) return;
    AsyValue v = asy_dict_get_cstr(vm, t->dict, "_state");
    if (!ASY_IS_OBJ(v)) return;
    AsyHttpState *st = (AsyHttpState *)ASY_AS_OBJ(v);
    if (!st->reg) return;
    asy_http_client_shutdown(st->reg);
    asy_http_server_shutdown(st->reg);
    free(st->reg);
    st->reg = NULL;
}

void asy_mod_http_init(AsyVM *vm) {
    /* the async runtime's types (futures, tasks, ops) must exist first */
    if (ASY_IS_ERR(asy_import(vm, asy_str_intern_cstr(vm, "asyncio")))) return;
    AsyLoop *L = asy_loop_get(vm);
    if (!L) return;
    AsyType *stt =
        asy_type_new_builtin(vm, "_HttpState", ASY_TYPE(vm, object), sizeof(AsyHttpState));
    stt->traverse = state_traverse;
    asy_type_ready(vm, stt);
    AsyHttpState *st = asy_gc_alloc(vm, stt, sizeof(AsyHttpState));
    st->timeout_cls = st->json_loads = st->json_dumps = ASY_UNDEF;
    st->empty_bytes = ASY_OBJ(asy_bytes_new(vm, (const uint8_t *)"", 0));
    st->s_text_plain = asy_str_intern_cstr(vm, "text/plain");
    st->s_utf8 = asy_str_intern_cstr(vm, "utf-8");
    st->s_json = asy_str_intern_cstr(vm, "application/json");
    st->s_get = asy_str_intern_cstr(vm, "GET");
    asy_dict_set_cstr(vm, stt->dict, "_state", ASY_OBJ(st));
    L->types[ASY_AIO_HttpState] = stt;
    st->reg = calloc(1, sizeof *st->reg);
    if (!st->reg) {
        asy_raise_memory(vm);
        return;
    }
    asy_loop_add_closer(vm, http_closer);

    st->mod = asy_module_new(vm, "aiohttp");
    st->web = asy_module_new(vm, "aiohttp.web");
    st->multidict = md_type(vm, "MultiDictProxy");
    st->cimultidict = md_type(vm, "CIMultiDictProxy");
    st->cimultidict_mut = md_type(vm, "CIMultiDict");
    st->url = url_type(vm);
    asy_http_client_init(vm, st);
    asy_http_server_init(vm, st);
    if (vm->exc) return;

    AsyModule *m = st->mod;
    set_type(vm, m, "ClientSession", st->session);
    set_type(vm, m, "ClientResponse", st->response);
    set_type(vm, m, "CIMultiDict", st->cimultidict_mut);
    set_type(vm, m, "CIMultiDictProxy", st->cimultidict);
    set_type(vm, m, "MultiDictProxy", st->multidict);
    set_type(vm, m, "URL", st->url);
    asy_dict_set_cstr(vm, m->dict, "__version__", ASY_OBJ(asy_str_from_cstr(vm, "3.8.4")));
    asy_dict_set_cstr(vm, m->dict, "web", ASY_OBJ(st->web));
    AsyModule *w = st->web;
    asy_module_add_functions(vm, w, web_functions);
    set_type(vm, w, "UrlDispatcher", st->router);
    set_type(vm, w, "Request", st->request);
    set_type(vm, w, "BaseRequest", st->request);
    set_type(vm, w, "Response", st->webresponse);
    set_type(vm, w, "StreamResponse", st->webstream);

    /* registered before their code runs, as imports of .asy files are */
    asy_module_register(vm, m);
    asy_dict_set_cstr(vm, vm->modules, "http", ASY_OBJ(m));
    asy_dict_set_cstr(vm, vm->modules, "aiohttp.web", ASY_OBJ(w));
    asy_dict_set_cstr(vm, vm->modules, "http.web", ASY_OBJ(w));
    if (!run_lib(vm, m, http_lib_src, sizeof http_lib_src - 1, "<aiohttp>")) {
        asy_dict_del(vm, vm->modules, ASY_OBJ(asy_str_intern_cstr(vm, "http")));
        asy_dict_del(vm, vm->modules, ASY_OBJ(asy_str_intern_cstr(vm, "aiohttp")));
        return;
    }
    fetch_classes(vm, st);
    /* the client's names are reachable from web too, as in aiohttp */
    int64_t pos = 0;
    AsyValue k, v;
    while (asy_dict_next(m->dict, &pos, &k, &v)) {
        AsyStr *ks = (AsyStr *)ASY_AS_OBJ(k);
        if (ks->data[0] != '_' && ASY_IS_UNDEF(asy_dict_get_str(vm, w->dict, ks)) &&
            strcmp(ks->data, "web") != 0)
            asy_dict_set_str(vm, w->dict, ks, v);
    }
    asy_module_set_lazy(w, web_parts);
}
