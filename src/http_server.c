/* http_server.c - aiohttp.web's server on libevent's evhttp: the router (UrlDispatcher,
 * with {name} path parameters), web.Request, web.Response, and the listening server that
 * TCPSite starts (_serve). Every request runs its handler as a task.
 *
 * A request's life: evhttp parses it and calls srv_request_cb (a libevent callback: no
 * bytecode), which matches the route in C, answers 404/405 at once, or makes the Request
 * object and queues srv_start_h. That handle (loop context) calls the handler and runs the
 * coroutine as a task; the task's done callback turns the result (a Response, an
 * HTTPException, or any other exception: 500) into evhttp_send_reply.
 *
 * evhttp keeps a request alive until it is answered, even when the client has gone (it is
 * then detached from its connection and freed by the reply), so every request is answered
 * exactly once; only closing the server frees unanswered ones, which srv_close marks gone.
 */
#include "common.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "compiler.h"
#include "evmem.h"
#include "function.h"
#include "http.h"

#define SRV_MAX_HEADERS_SIZE (64 * 1024)
#define SRV_SERVER_HEADER "Python/3.11 aiohttp/3.8.4"

/* ==================================================================================== */
/* The router                                                                           */
/* ==================================================================================== */

enum { PART_LIT, PART_SEG, PART_DIGITS, PART_ANY, PART_ANY1 };

typedef struct {
    int kind;
    char *text; /* the literal, or the parameter's name                         */
} RoutePart;

typedef struct {
    char method[16]; /* "*" for any                                                  */
    char *path;      /* as registered                                                */
    RoutePart *parts;
    int nparts;
    AsyValue handler;
} Route;

typedef struct {
    AsyObj hdr;
    Route *routes;
    int nroutes, cap;
} AsyRouter;

static AsyRouter *router_of(AsyValue v) { return (AsyRouter *)ASY_AS_OBJ(v); }

static void router_traverse(AsyVM *vm, AsyObj *o) {
    AsyRouter *r = (AsyRouter *)o;
    for (int i = 0; i < r->nroutes; i++)
        asy_gc_mark_value(vm, r->routes[i].handler);
}

static void route_free(Route *rt) {
    for (int i = 0; i < rt->nparts; i++)
        free(rt->parts[i].text);
    free(rt->parts);
    free(rt->path);
}

static void router_finalize(AsyVM *vm, AsyObj *o) {
    AsyRouter *r = (AsyRouter *)o;
    for (int i = 0; i < r->nroutes; i++)
        route_free(&r->routes[i]);
    asy_mem_free(vm, r->routes, (size_t)r->cap * sizeof(Route));
    r->routes = NULL;
}

static AsyValue router_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argv);
    if (!asy_check_nokw(vm, "UrlDispatcher", kw) ||
        !asy_check_args(vm, "UrlDispatcher", argc, 0, 0))
        return ASY_ERR;
    return ASY_OBJ(asy_gc_alloc(vm, type, type->basicsize));
}

static bool add_part(RoutePart **parts, int *n, int kind, const char *s, size_t len) {
    RoutePart *p = realloc(*parts, (size_t)(*n + 1) * sizeof *p);
    if (!p) return false;
    *parts = p;
    p[*n].kind = kind;
    p[*n].text = malloc(len + 1);
    if (!p[*n].text) return false;
    memcpy(p[*n].text, s, len);
    p[*n].text[len] = '\0';
    (*n)++;
    return true;
}

/* "{name}" or "{name:regex}" for the regexes routes use in practice. */
static int part_kind(const char *re, size_t n) {
    static const struct {
        const char *re;
        int kind;
    } known[] = {
        {"[^{}/]+", PART_SEG}, {"[^/]+", PART_SEG}, {"\\d+", PART_DIGITS}, {"[0-9]+", PART_DIGITS},
        {".*", PART_ANY},      {".+", PART_ANY1},   {"\\w+", PART_SEG},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strlen(known[i].re) == n && memcmp(known[i].re, re, n) == 0) return known[i].kind;
    return -1;
}

static bool route_compile(AsyVM *vm, Route *rt, const char *path) {
    const char *p = path;
    while (*p) {
        const char *brace = strchr(p, '{');
        if (!brace) {
            if (!add_part(&rt->parts, &rt->nparts, PART_LIT, p, strlen(p))) goto nomem;
            break;
        }
        if (brace > p && !add_part(&rt->parts, &rt->nparts, PART_LIT, p, (size_t)(brace - p)))
            goto nomem;
        const char *close = strchr(brace, '}');
        if (!close) {
            asy_raise(vm, ASY_EXC_ValueError, "Invalid path '%s'['Unbalanced braces']", path);
            return false;
        }
        const char *colon = memchr(brace, ':', (size_t)(close - brace));
        int kind = PART_SEG;
        if (colon) {
            /* the regex may itself hold braces ({n:\d{2}}): unsupported, as other regexes */
            kind = part_kind(colon + 1, (size_t)(close - colon - 1));
            if (kind < 0) {
                asy_raise(vm, ASY_EXC_ValueError,
                          "Unsupported route pattern '%.*s' in '%s' (supported: [^/]+, \\d+, "
                          "[0-9]+, \\w+, .*, .+)",
                          (int)(close - colon - 1), colon + 1, path);
                return false;
            }
        }
        const char *name_end = colon ? colon : close;
        if (!add_part(&rt->parts, &rt->nparts, kind, brace + 1, (size_t)(name_end - brace - 1)))
            goto nomem;
        p = close + 1;
    }
    return true;
nomem:
    asy_raise_memory(vm);
    return false;
}

/* Match path[pos:] against parts[i:]; the parameters found go into vals (start, len). */
static bool route_match_from(const Route *rt, int i, const char *path, size_t pos, size_t len,
                             size_t *vals) {
    if (i == rt->nparts) return pos == len;
    const RoutePart *p = &rt->parts[i];
    if (p->kind == PART_LIT) {
        size_t n = strlen(p->text);
        if (len - pos < n || memcmp(path + pos, p->text, n) != 0) return false;
        return route_match_from(rt, i + 1, path, pos + n, len, vals);
    }
    size_t max = pos;
    while (max < len) {
        char c = path[max];
        if ((p->kind == PART_SEG && c == '/') || (p->kind == PART_DIGITS && (c < '0' || c > '9')))
            break;
        if (p->kind == PART_SEG && (c == '{' || c == '}')) break;
        max++;
    }
    size_t min = pos + (p->kind == PART_ANY ? 0 : 1);
    for (size_t end = max + 1; end-- > min;) { /* greedy, then backtrack */
        vals[i * 2] = pos;
        vals[i * 2 + 1] = end - pos;
        if (route_match_from(rt, i + 1, path, end, len, vals)) return true;
        if (end == 0) break;
    }
    return false;
}

static bool method_matches(const Route *rt, const char *method) {
    return strcmp(rt->method, "*") == 0 || strcmp(rt->method, method) == 0;
}

static AsyValue router_add(AsyVM *vm, AsyRouter *r, AsyValue method, AsyValue path,
                           AsyValue handler) {
    AsyStr *m = asy_http_to_str(vm, method);
    AsyStr *p = m ? asy_http_to_str(vm, path) : NULL;
    if (!p) return ASY_ERR;
    if (!asy_callable(vm, handler))
        return asy_raise(vm, ASY_EXC_TypeError,
                         "Only async functions are allowed as web-handlers , got %R", handler);
    if (p->len == 0 || (p->data[0] != '/' && p->data[0] != '{'))
        return asy_raise(vm, ASY_EXC_ValueError, "path should be started with / or be empty");
    if (m->len == 0 || m->len >= sizeof r->routes[0].method)
        return asy_raise(vm, ASY_EXC_ValueError, "%R is not allowed HTTP method", method);
    if (r->nroutes == r->cap) {
        int cap = r->cap ? r->cap * 2 : 8;
        Route *nr =
            asy_mem_realloc(vm, r->routes, (size_t)r->cap * sizeof *nr, (size_t)cap * sizeof *nr);
        if (!nr) return ASY_ERR;
        r->routes = nr;
        r->cap = cap;
    }
    Route *rt = &r->routes[r->nroutes];
    memset(rt, 0, sizeof *rt);
    for (size_t i = 0; i < m->len; i++)
        rt->method[i] = (char)toupper((unsigned char)m->data[i]);
    rt->handler = handler;
    rt->path = strdup(p->data);
    if (!rt->path) return asy_raise_memory(vm);
    if (!route_compile(vm, rt, p->data)) {
        route_free(rt);
        return ASY_ERR;
    }
    r->nroutes++;
    return ASY_NONE;
}

/* add_route(method, path, handler, *, name=None, expect_handler=None) */
static AsyValue routerm_add_route(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    asy_kwarg(vm, kw, "name");
    asy_kwarg(vm, kw, "expect_handler");
    if (!asy_check_kw_done(vm, "add_route", kw) || !asy_check_args(vm, "add_route", argc - 1, 3, 3))
        return ASY_ERR;
    return router_add(vm, router_of(argv[0]), argv[1], argv[2], argv[3]);
}

static AsyValue router_add_method(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw,
                                  const char *fname, const char *method) {
    AsyValue allow_head = asy_kwarg(vm, kw, "allow_head");
    asy_kwarg(vm, kw, "name");
    asy_kwarg(vm, kw, "expect_handler");
    if (!asy_check_kw_done(vm, fname, kw) || !asy_check_args(vm, fname, argc - 1, 2, 2))
        return ASY_ERR;
    AsyValue m = ASY_OBJ(asy_str_from_cstr(vm, method));
    AsyValue r = router_add(vm, router_of(argv[0]), m, argv[1], argv[2]);
    if (ASY_IS_ERR(r) || strcmp(method, "GET") != 0) return r;
    int head = ASY_IS_UNDEF(allow_head) ? 1 : asy_truthy(vm, allow_head);
    if (head < 0) return ASY_ERR;
    if (!head) return r;
    return router_add(vm, router_of(argv[0]), ASY_OBJ(asy_str_from_cstr(vm, "HEAD")), argv[1],
                      argv[2]);
}

#define ROUTER_METHOD(fname, NAME)                                                                 \
    static AsyValue routerm_##fname(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {            \
        return router_add_method(vm, argc, argv, kw, #fname, NAME);                                \
    }
ROUTER_METHOD(add_get, "GET")
ROUTER_METHOD(add_post, "POST")
ROUTER_METHOD(add_put, "PUT")
ROUTER_METHOD(add_patch, "PATCH")
ROUTER_METHOD(add_delete, "DELETE")
ROUTER_METHOD(add_head, "HEAD")

static AsyValue routerm_add_routes(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "add_routes", argc - 1, 1, 1)) return ASY_ERR;
    AsyList *l = asy_list_from_iterable(vm, argv[1]);
    if (!l) return ASY_ERR;
    asy_root_push(vm, ASY_OBJ(l));
    AsyStr *reg = asy_str_intern_cstr(vm, "register");
    for (int64_t i = 0; i < l->len; i++) {
        AsyValue r = asy_call_method(vm, l->items[i], reg, 1, &argv[0]);
        if (ASY_IS_ERR(r)) {
            asy_root_pop(vm, 1);
            return r;
        }
    }
    asy_root_pop(vm, 1);
    return ASY_NONE;
}

/* A name of aiohttp.web's asy-written part, which is made on first use (mod_http.c): a
 * router made directly (web.UrlDispatcher()) can get here before anything made it. */
static AsyValue web_name(AsyVM *vm, AsyHttpState *st, const char *name) {
    if (asy_module_make_all(vm, st->web) < 0) return ASY_ERR;
    AsyValue v = asy_dict_get_cstr(vm, st->web->dict, name);
    if (ASY_IS_UNDEF(v))
        return asy_raise(vm, ASY_EXC_AttributeError, "module 'aiohttp.web' has no attribute '%s'",
                         name);
    return v;
}

/* add_static(prefix, path): files under path, served by a handler written in asy. */
static AsyValue routerm_add_static(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_args(vm, "add_static", argc - 1, 2, 2)) return ASY_ERR;
    AsyHttpState *st = asy_http_state(vm);
    if (!st) return ASY_ERR;
    AsyValue f = web_name(vm, st, "_add_static");
    return ASY_IS_ERR(f) ? f : asy_call(vm, f, 3, argv, kw);
}

static AsyValue routerm_routes(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "routes", argc - 1, 0, 0)) return ASY_ERR;
    AsyRouter *r = router_of(argv[0]);
    AsyList *l = asy_list_new(vm, r->nroutes);
    for (int i = 0; i < r->nroutes; i++) {
        AsyValue t[3] = {ASY_OBJ(asy_str_from_cstr(vm, r->routes[i].method)),
                         ASY_OBJ(asy_str_from_cstr(vm, r->routes[i].path)), r->routes[i].handler};
        l->items[l->len++] = ASY_OBJ(asy_tuple_from_array(vm, t, 3));
    }
    return ASY_OBJ(l);
}

static const AsyMethodDef router_methods[] = {
    {"add_route", routerm_add_route, 0, "Route method and path to an async handler."},
    {"add_get", routerm_add_get, 0, "Route GET (and HEAD) requests for path."},
    {"add_post", routerm_add_post, 0, "Route POST requests for path."},
    {"add_put", routerm_add_put, 0, "Route PUT requests for path."},
    {"add_patch", routerm_add_patch, 0, "Route PATCH requests for path."},
    {"add_delete", routerm_add_delete, 0, "Route DELETE requests for path."},
    {"add_head", routerm_add_head, 0, "Route HEAD requests for path."},
    {"add_routes", routerm_add_routes, ASY_METH_NOKW, "Add route definitions."},
    {"add_static", routerm_add_static, 0, "Serve the files under a folder at prefix."},
    {"routes", routerm_routes, ASY_METH_NOKW, "(method, path, handler) of every route."},
    {NULL, NULL, 0, NULL},
};

/* ==================================================================================== */
/* web.Response                                                                         */
/* ==================================================================================== */

typedef struct {
    AsyObj hdr;
    int status;
    AsyValue reason;       /* str, or None for the status's phrase                    */
    AsyValue body;         /* bytes, or None                                          */
    AsyValue headers;      /* CIMultiDict                                             */
    AsyValue content_type; /* str or None                                             */
    AsyValue charset;      /* str or None                                             */
    AsyDict *dict;         /* attributes set by scripts                               */
    AsyValue stream_req;   /* the Request a prepared StreamResponse writes to          */
    int stream_state;      /* STREAM_*                                                */
} AsyWebResponse;

enum { STREAM_NONE, STREAM_PREPARED, STREAM_ENDED };

static AsyWebResponse *wresp_of(AsyValue v) { return (AsyWebResponse *)ASY_AS_OBJ(v); }

static void wresp_traverse(AsyVM *vm, AsyObj *o) {
    AsyWebResponse *r = (AsyWebResponse *)o;
    asy_gc_mark_value(vm, r->reason);
    asy_gc_mark_value(vm, r->body);
    asy_gc_mark_value(vm, r->headers);
    asy_gc_mark_value(vm, r->content_type);
    asy_gc_mark_value(vm, r->charset);
    asy_gc_mark_obj(vm, (AsyObj *)r->dict);
    asy_gc_mark_value(vm, r->stream_req);
}

static bool is_str(AsyVM *vm, AsyValue v) {
    return ASY_IS_OBJ(v) && asy_isinstance(vm, v, ASY_TYPE(vm, str));
}

static bool is_bytes(AsyVM *vm, AsyValue v) {
    return ASY_IS_OBJ(v) && asy_isinstance(vm, v, ASY_TYPE(vm, bytes));
}

static bool wresp_set_text(AsyVM *vm, AsyWebResponse *r, AsyValue text) {
    if (!is_str(vm, text)) {
        asy_raise(vm, ASY_EXC_TypeError, "text argument must be str (%R)", text);
        return false;
    }
    const char *cs = is_str(vm, r->charset) ? ((AsyStr *)ASY_AS_OBJ(r->charset))->data : "utf-8";
    AsyValue b = asy_str_encode(vm, (AsyStr *)ASY_AS_OBJ(text), cs, NULL);
    if (ASY_IS_ERR(b)) return false;
    r->body = b;
    return true;
}

static bool wresp_set_body(AsyVM *vm, AsyWebResponse *r, AsyValue body) {
    if (ASY_IS_NONE(body) || is_bytes(vm, body)) {
        r->body = body;
        return true;
    }
    if (is_str(vm, body)) {
        if (ASY_IS_NONE(r->charset)) r->charset = ASY_OBJ(asy_str_from_cstr(vm, "utf-8"));
        if (ASY_IS_NONE(r->content_type))
            r->content_type = ASY_OBJ(asy_str_from_cstr(vm, "text/plain"));
        return wresp_set_text(vm, r, body);
    }
    if (ASY_IS_OBJ(body)) { /* bytearray, memoryview: whatever bytes() accepts */
        AsyValue b = asy_call(vm, ASY_OBJ(ASY_TYPE(vm, bytes)), 1, &body, NULL);
        if (!ASY_IS_ERR(b)) {
            r->body = b;
            return true;
        }
        asy_exc_clear(vm);
    }
    asy_raise(vm, ASY_EXC_ValueError, "Unsupported body type %T", body);
    return false;
}

static AsyValue wresp_headers(AsyVM *vm, AsyWebResponse *r) {
    if (!ASY_IS_UNDEF(r->headers)) return r->headers;
    AsyHttpState *st = asy_http_state(vm);
    AsyValue none = ASY_NONE;
    r->headers = st->cimultidict_mut->new_(vm, st->cimultidict_mut, 1, &none, NULL);
    return r->headers;
}

/* Response(*, body=None, status=200, reason=None, text=None, headers=None,
 *          content_type=None, charset=None): the common case allocates nothing but the
 * object and the encoded text. */
static AsyValue wresp_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argv);
    static const char *const names[] = {"body",    "status",       "reason",  "text",
                                        "headers", "content_type", "charset", NULL};
    static const char *const ignored[] = {"zlib_executor_size", "zlib_executor", NULL};
    AsyValue a[7];
    if (!asy_http_kwargs(vm, "Response.__init__", kw, names, a, ignored)) return ASY_ERR;
    if (argc > 0)
        return asy_raise(vm, ASY_EXC_TypeError,
                         "Response.__init__() takes 1 positional "
                         "argument but %d were given",
                         argc + 1);
    AsyValue body = a[0], status = a[1], text = a[3], headers = a[4];
    AsyWebResponse *r = asy_gc_alloc(vm, type, type->basicsize);
    r->status = 200;
    r->reason = ASY_IS_UNDEF(a[2]) ? ASY_NONE : a[2];
    r->content_type = ASY_IS_UNDEF(a[5]) ? ASY_NONE : a[5];
    r->charset = ASY_IS_UNDEF(a[6]) ? ASY_NONE : a[6];
    r->body = ASY_NONE;
    r->headers = ASY_UNDEF;
    r->stream_req = ASY_UNDEF;
    AsyValue self = ASY_OBJ(r);
    asy_root_push(vm, self);
    AsyHttpState *st = asy_http_state(vm);
    AsyValue result = ASY_ERR;
    int64_t code = 200;
    if (!ASY_IS_UNDEF(status) && !asy_index(vm, status, &code)) goto done;
    if (code < 100 || code > 999) {
        asy_raise(vm, ASY_EXC_ValueError, "Invalid status code %lld", (long long)code);
        goto done;
    }
    r->status = (int)code;
    if (!ASY_IS_UNDEF(headers) && !ASY_IS_NONE(headers)) {
        r->headers = st->cimultidict_mut->new_(vm, st->cimultidict_mut, 1, &headers, NULL);
        if (ASY_IS_ERR(r->headers)) goto done;
    }
    bool has_text = !ASY_IS_UNDEF(text) && !ASY_IS_NONE(text);
    bool has_body = !ASY_IS_UNDEF(body) && !ASY_IS_NONE(body);
    if (has_text && has_body) {
        asy_raise(vm, ASY_EXC_ValueError, "body and text are not allowed together");
        goto done;
    }
    if (has_text) {
        if (is_str(vm, r->content_type) &&
            strstr(((AsyStr *)ASY_AS_OBJ(r->content_type))->data, "charset")) {
            asy_raise(vm, ASY_EXC_ValueError, "charset must not be in content_type argument");
            goto done;
        }
        if (ASY_IS_NONE(r->content_type)) r->content_type = ASY_OBJ(st->s_text_plain);
        if (ASY_IS_NONE(r->charset)) r->charset = ASY_OBJ(st->s_utf8);
        if (!wresp_set_text(vm, r, text)) goto done;
    } else if (has_body && !wresp_set_body(vm, r, body)) {
        goto done;
    }
    result = self;
done:
    asy_root_pop(vm, 1);
    return result;
}

/* StreamResponse(*, status=200, reason=None, headers=None) */
static AsyValue wstream_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argv);
    static const char *const names[] = {"status", "reason", "headers", NULL};
    AsyValue a[3];
    if (!asy_http_kwargs(vm, "StreamResponse.__init__", kw, names, a, NULL)) return ASY_ERR;
    if (argc > 0)
        return asy_raise(vm, ASY_EXC_TypeError,
                         "StreamResponse.__init__() takes 1 positional "
                         "argument but %d were given",
                         argc + 1);
    AsyDict *k = asy_dict_new(vm);
    for (int i = 0; i < 3; i++)
        if (!ASY_IS_UNDEF(a[i])) asy_dict_set_cstr(vm, k, names[i], a[i]);
    asy_root_push(vm, ASY_OBJ(k));
    AsyValue r = wresp_new(vm, type, 0, NULL, k);
    asy_root_pop(vm, 1);
    return r;
}

static AsyValue wresp_text(AsyVM *vm, AsyWebResponse *r) {
    if (!is_bytes(vm, r->body)) return ASY_NONE;
    AsyBytes *b = (AsyBytes *)ASY_AS_OBJ(r->body);
    const char *cs = is_str(vm, r->charset) ? ((AsyStr *)ASY_AS_OBJ(r->charset))->data : "utf-8";
    return asy_bytes_decode(vm, b->data, b->len, cs, NULL);
}

static AsyValue wresp_getattr(AsyVM *vm, AsyValue self, AsyStr *name) {
    AsyWebResponse *r = wresp_of(self);
    const char *n = name->data;
    if (strcmp(n, "status") == 0) return ASY_INT(r->status);
    if (strcmp(n, "reason") == 0)
        return ASY_IS_NONE(r->reason) ? ASY_OBJ(asy_str_from_cstr(vm, asy_http_reason(r->status)))
                                      : r->reason;
    if (strcmp(n, "body") == 0) return r->body;
    if (strcmp(n, "text") == 0) return wresp_text(vm, r);
    if (strcmp(n, "headers") == 0) return wresp_headers(vm, r);
    if (strcmp(n, "charset") == 0) return r->charset;
    if (strcmp(n, "content_type") == 0)
        return ASY_IS_NONE(r->content_type)
                   ? ASY_OBJ(asy_str_from_cstr(vm, "application/octet-stream"))
                   : r->content_type;
    if (strcmp(n, "content_length") == 0)
        return is_bytes(vm, r->body) ? ASY_INT(((AsyBytes *)ASY_AS_OBJ(r->body))->len) : ASY_INT(0);
    if (r->dict) {
        AsyValue v = asy_dict_get_str(vm, r->dict, name);
        if (!ASY_IS_UNDEF(v)) return v;
    }
    return ASY_TYPE(vm, object)->getattr(vm, self, name);
}

static int wresp_setattr(AsyVM *vm, AsyValue self, AsyStr *name, AsyValue v) {
    AsyWebResponse *r = wresp_of(self);
    const char *n = name->data;
    if (ASY_IS_UNDEF(v)) return ASY_TYPE(vm, object)->setattr(vm, self, name, v);
    if (strcmp(n, "text") == 0) {
        if (ASY_IS_NONE(r->content_type))
            r->content_type = ASY_OBJ(asy_str_intern_cstr(vm, "text/plain"));
        if (ASY_IS_NONE(r->charset)) r->charset = ASY_OBJ(asy_str_intern_cstr(vm, "utf-8"));
        return wresp_set_text(vm, r, v) ? 0 : -1;
    }
    if (strcmp(n, "body") == 0) return wresp_set_body(vm, r, v) ? 0 : -1;
    if (strcmp(n, "content_type") == 0) {
        r->content_type = v;
        return 0;
    }
    if (strcmp(n, "charset") == 0) {
        r->charset = v;
        return 0;
    }
    if (strcmp(n, "status") == 0 || strcmp(n, "reason") == 0 || strcmp(n, "headers") == 0 ||
        strcmp(n, "content_length") == 0) {
        asy_raise(vm, ASY_EXC_AttributeError, "can't set attribute '%s'", n);
        return -1;
    }
    if (!r->dict) r->dict = asy_dict_new(vm);
    return asy_dict_set_str(vm, r->dict, name, v);
}

static AsyValue wrespm_set_status(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    AsyValue reason = asy_kwarg(vm, kw, "reason");
    if (!asy_check_kw_done(vm, "set_status", kw) ||
        !asy_check_args(vm, "set_status", argc - 1, 1, 2))
        return ASY_ERR;
    int64_t code;
    if (!asy_index(vm, argv[1], &code)) return ASY_ERR;
    AsyWebResponse *r = wresp_of(argv[0]);
    r->status = (int)code;
    r->reason = argc > 2 ? argv[2] : ASY_IS_UNDEF(reason) ? ASY_NONE : reason;
    return ASY_NONE;
}

static AsyValue wrespm_set_cookie(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    AsyValue path = asy_kwarg(vm, kw, "path");
    const char *ignored[] = {"expires",  "domain",  "max_age",  "secure",
                             "httponly", "version", "samesite", NULL};
    for (int i = 0; ignored[i]; i++)
        asy_kwarg(vm, kw, ignored[i]);
    if (!asy_check_kw_done(vm, "set_cookie", kw) ||
        !asy_check_args(vm, "set_cookie", argc - 1, 2, 2))
        return ASY_ERR;
    AsyStr *k = asy_http_to_str(vm, argv[1]);
    AsyStr *v = k ? asy_http_to_str(vm, argv[2]) : NULL;
    AsyStr *p = v && !ASY_IS_UNDEF(path) && !ASY_IS_NONE(path) ? asy_http_to_str(vm, path) : NULL;
    if (!v) return ASY_ERR;
    AsyStr *cookie = asy_str_printf(vm, "%s=%s; Path=%s", k->data, v->data, p ? p->data : "/");
    AsyValue hv = wresp_headers(vm, wresp_of(argv[0]));
    if (ASY_IS_ERR(hv)) return hv;
    AsyHttpMultiDict *md = (AsyHttpMultiDict *)ASY_AS_OBJ(hv);
    if (!asy_http_multidict_add_value(vm, md, ASY_OBJ(asy_str_from_cstr(vm, "Set-Cookie")),
                                      ASY_OBJ(cookie)))
        return ASY_ERR;
    return ASY_NONE;
}

/* ==================================================================================== */
/* The server and its requests                                                          */
/* ==================================================================================== */

typedef struct SReq SReq;
typedef struct SSrv SSrv;

/* The C half of a server: what libevent's callbacks see. Reference counted (the server
 * object, and each unanswered request), so that finalizers, which run in any order, only
 * ever touch C memory. */
struct SSrv {
    AsyVM *vm;
    struct evhttp *http;   /* NULL once closed                                        */
    struct AsyServer *obj; /* the server object, NULL once it is collected            */
    SReq *pending;         /* requests not answered yet                               */
    int refs;
    AsyHttpRegistry *reg; /* where it is listed, NULL once the closer ran           */
    SSrv *rnext, *rprev;
    time_t date_time; /* the Date header of answers, made once a second (evhttp */
    char date[40];    /* would format it for every answer)                       */
};

/* The C half of a request. */
struct SReq {
    struct evhttp_request *req; /* NULL once answered, or freed by a closing server     */
    SSrv *ss;
    SReq *next, *prev; /* the server's pending list                               */
};

typedef struct AsyServer {
    AsyObj hdr;
    SSrv *ss;
    AsyHttpState *st;
    AsyValue app, router, middlewares;
    AsyValue address; /* (host, port) actually bound                             */
    bool closed;
} AsyServer;

typedef struct {
    AsyObj hdr;
    AsyServer *srv;
    SReq *sr; /* NULL once answered                                      */
    AsyValue handler, match_info, method, path, headers, query, body, url;
    AsyDict *state; /* request["key"]                                          */
    AsyDict *dict;  /* attributes scripts set                                  */
    bool streaming; /* a StreamResponse was prepared for it                    */
} AsyWebRequest;

static AsyServer *srv_of(AsyValue v) { return (AsyServer *)ASY_AS_OBJ(v); }
static AsyWebRequest *wreq_of(AsyValue v) { return (AsyWebRequest *)ASY_AS_OBJ(v); }

static void ssrv_unref(SSrv *ss) {
    if (--ss->refs > 0) return;
    if (ss->reg) {
        if (ss->rprev)
            ss->rprev->rnext = ss->rnext;
        else
            ss->reg->servers = ss->rnext;
        if (ss->rnext) ss->rnext->rprev = ss->rprev;
    }
    free(ss);
}

static void ssrv_close(SSrv *ss) {
    /* evhttp_free frees the requests still waiting for an answer */
    for (SReq *sr = ss->pending; sr; sr = sr->next)
        sr->req = NULL;
    if (ss->http) evhttp_free(ss->http);
    ss->http = NULL;
}

static void sreq_link(SSrv *ss, SReq *sr) {
    sr->ss = ss;
    ss->refs++;
    sr->prev = NULL;
    sr->next = ss->pending;
    if (ss->pending) ss->pending->prev = sr;
    ss->pending = sr;
}

/* Out of the pending list, and freed. */
static void sreq_free(SReq *sr) {
    SSrv *ss = sr->ss;
    if (sr->prev)
        sr->prev->next = sr->next;
    else if (ss->pending == sr)
        ss->pending = sr->next;
    if (sr->next) sr->next->prev = sr->prev;
    free(sr);
    ssrv_unref(ss);
}

static void srv_traverse(AsyVM *vm, AsyObj *o) {
    AsyServer *s = (AsyServer *)o;
    asy_gc_mark_obj(vm, &s->st->hdr);
    asy_gc_mark_value(vm, s->app);
    asy_gc_mark_value(vm, s->router);
    asy_gc_mark_value(vm, s->middlewares);
    asy_gc_mark_value(vm, s->address);
}

static void srv_close(AsyServer *s) {
    if (s->closed) return;
    s->closed = true;
    ssrv_close(s->ss);
}

static void srv_finalize(AsyVM *vm, AsyObj *o) {
    ASY_UNUSED(vm);
    AsyServer *s = (AsyServer *)o;
    if (!s->ss) return;
    srv_close(s);
    s->ss->obj = NULL;
    ssrv_unref(s->ss);
    s->ss = NULL;
}

static void wreq_traverse(AsyVM *vm, AsyObj *o) {
    AsyWebRequest *r = (AsyWebRequest *)o;
    asy_gc_mark_obj(vm, &r->srv->hdr);
    AsyValue vals[] = {r->handler, r->match_info, r->method, r->path,
                       r->headers, r->query,      r->body,   r->url};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
        asy_gc_mark_value(vm, vals[i]);
    asy_gc_mark_obj(vm, (AsyObj *)r->state);
    asy_gc_mark_obj(vm, (AsyObj *)r->dict);
}

/* A request object collected unanswered (its task vanished): answer it. */
static void wreq_finalize(AsyVM *vm, AsyObj *o) {
    ASY_UNUSED(vm);
    AsyWebRequest *r = (AsyWebRequest *)o;
    SReq *sr = r->sr;
    if (!sr) return;
    r->sr = NULL;
    if (sr->req) evhttp_send_error(sr->req, 500, NULL);
    sreq_free(sr);
}

static struct evkeyvalq *wreq_in_headers(AsyWebRequest *r) {
    return r->sr && r->sr->req ? evhttp_request_get_input_headers(r->sr->req) : NULL;
}

/* ---- answering ---- */

static void add_out_header(struct evkeyvalq *out, const char *k, const char *v) {
    evhttp_add_header(out, k, v);
}

/* The answer's headers: the response's own, Content-Type, Server and Date. */
static void srv_out_headers(SSrv *ss, struct evhttp_request *req, const char *ctype,
                            AsyHttpMultiDict *headers) {
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    bool has_ct = false, has_server = false;
    for (int64_t i = 0; headers && i < headers->len; i++) {
        AsyStr *k = (AsyStr *)ASY_AS_OBJ(headers->items[i * 2]);
        AsyStr *v = (AsyStr *)ASY_AS_OBJ(headers->items[i * 2 + 1]);
        if (strcasecmp(k->data, "Content-Length") == 0) continue; /* evhttp counts */
        if (strcasecmp(k->data, "Content-Type") == 0) has_ct = true;
        if (strcasecmp(k->data, "Server") == 0) has_server = true;
        add_out_header(out, k->data, v->data);
    }
    if (!has_ct && ctype) add_out_header(out, "Content-Type", ctype);
    if (!has_server) add_out_header(out, "Server", SRV_SERVER_HEADER);
    time_t now = time(NULL);
    if (now != ss->date_time) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(ss->date, sizeof ss->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        ss->date_time = now;
    }
    add_out_header(out, "Date", ss->date);
}

/* Send status/headers/body for r; the request is answered afterwards. */
static void srv_reply(AsyWebRequest *r, int status, const char *reason, const char *ctype,
                      AsyHttpMultiDict *headers, const uint8_t *body, size_t len) {
    SReq *sr = r->sr;
    if (!sr) return;
    r->sr = NULL;
    struct evhttp_request *req = sr->req;
    SSrv *ss = sr->ss;
    ss->refs++; /* sreq_free may drop the last other reference */
    sreq_free(sr);
    if (!req) { /* the server closed meanwhile */
        ssrv_unref(ss);
        return;
    }
    srv_out_headers(ss, req, ctype, headers);
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
        /* evhttp would leave Content-Length out of a HEAD answer (aiohttp sends it), and
         * send the body anyway */
        char clen[32];
        snprintf(clen, sizeof clen, "%zu", len);
        add_out_header(out, "Content-Length", clen);
    } else if (len) {
        evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
    }
    evhttp_send_reply(req, status, reason && *reason ? reason : asy_http_reason(status), NULL);
    ssrv_unref(ss);
}

/* ---- StreamResponse: headers first (chunked), then write() pieces, then the end ---- */

/* A stream that cannot be finished: drop the connection, so that the client sees a body
 * cut short rather than a complete one (aiohttp does the same). */
static void stream_abort(AsyWebRequest *r) {
    SReq *sr = r->sr;
    if (!sr) return;
    r->sr = NULL;
    struct evhttp_request *req = sr->req;
    sreq_free(sr);
    struct evhttp_connection *evcon = req ? evhttp_request_get_connection(req) : NULL;
    if (evcon)
        evhttp_connection_free(evcon); /* frees req too */
    else if (req)
        evhttp_send_reply_end(req);
}

static void stream_end(AsyWebRequest *r) {
    SReq *sr = r->sr;
    if (!sr) return;
    r->sr = NULL;
    struct evhttp_request *req = sr->req;
    sreq_free(sr);
    if (req) evhttp_send_reply_end(req);
}

static void srv_reply_text(AsyWebRequest *r, int status, const char *text, const char *allow) {
    SReq *sr = r->sr;
    if (!sr || !sr->req) {
        srv_reply(r, status, NULL, NULL, NULL, NULL, 0);
        return;
    }
    if (allow) evhttp_add_header(evhttp_request_get_output_headers(sr->req), "Allow", allow);
    srv_reply(r, status, NULL, "text/plain; charset=utf-8", NULL, (const uint8_t *)text,
              strlen(text));
}

/* Content-Type of a response: content_type; charset=..., into buf. */
static const char *wresp_ctype(AsyVM *vm, AsyWebResponse *wr, char *ctype, size_t n) {
    if (!is_str(vm, wr->content_type) && !is_bytes(vm, wr->body)) return "application/octet-stream";
    const char *base = is_str(vm, wr->content_type) ? ((AsyStr *)ASY_AS_OBJ(wr->content_type))->data
                                                    : "application/octet-stream";
    if (is_str(vm, wr->charset))
        snprintf(ctype, n, "%s; charset=%s", base, ((AsyStr *)ASY_AS_OBJ(wr->charset))->data);
    else
        snprintf(ctype, n, "%s", base);
    return ctype;
}

/* The handler's result (a web.Response) on the wire. */
static bool srv_reply_response(AsyVM *vm, AsyWebRequest *r, AsyValue resp) {
    AsyHttpState *st = r->srv->st;
    if (!ASY_IS_OBJ(resp) || !asy_is_subtype(ASY_AS_OBJ(resp)->type, st->webstream)) return false;
    AsyWebResponse *wr = wresp_of(resp);
    if (wr->stream_state != STREAM_NONE) { /* prepared: finish what the handler wrote */
        stream_end(r);
        return true;
    }
    char ctype[256];
    const char *ct = NULL;
    ct = wresp_ctype(vm, wr, ctype, sizeof ctype);
    AsyStr *reason = is_str(vm, wr->reason) ? (AsyStr *)ASY_AS_OBJ(wr->reason) : NULL;
    AsyBytes *b = is_bytes(vm, wr->body) ? (AsyBytes *)ASY_AS_OBJ(wr->body) : NULL;
    srv_reply(r, wr->status, reason ? reason->data : NULL, ct,
              ASY_IS_OBJ(wr->headers) ? (AsyHttpMultiDict *)ASY_AS_OBJ(wr->headers) : NULL,
              b ? b->data : NULL, b ? b->len : 0);
    return true;
}

static void srv_reply_500(AsyWebRequest *r) {
    srv_reply_text(r, 500, "500 Internal Server Error\n\nServer got itself in trouble", NULL);
}

/* aiohttp logs handler errors with logging's last-resort handler: message, traceback. */
static void srv_log_error(AsyVM *vm, AsyException *e) {
    fflush(vm->out);
    fputs("Error handling request\n", vm->err);
    asy_traceback_print(vm, e, vm->err);
    fflush(vm->err);
}

/* An exception out of a handler: an HTTPException is an answer, anything else a 500. */
static void srv_reply_exception(AsyVM *vm, AsyWebRequest *r, AsyValue exc) {
    AsyHttpState *st = r->srv->st;
    if (r->streaming) { /* the status went out already: log, and end what was sent */
        if (asy_isinstance(vm, exc, vm->exc_types[ASY_EXC_BaseException]))
            srv_log_error(vm, (AsyException *)ASY_AS_OBJ(exc));
        stream_abort(r);
        return;
    }
    if (st->e_http_exception && asy_isinstance(vm, exc, st->e_http_exception)) {
        AsyValue resp = asy_call_method(vm, exc, asy_str_intern_cstr(vm, "_response"), 0, NULL);
        if (!ASY_IS_ERR(resp) && srv_reply_response(vm, r, resp)) return;
        if (ASY_IS_ERR(resp)) exc = ASY_OBJ(vm->exc);
        asy_exc_clear(vm);
    }
    if (asy_isinstance(vm, exc, vm->exc_types[ASY_EXC_BaseException]))
        srv_log_error(vm, (AsyException *)ASY_AS_OBJ(exc));
    srv_reply_500(r);
}

/* The handler's task finished: answer with what it returned or raised. */
static void srv_task_done(AsyVM *vm, AsyValue a, AsyValue b) {
    AsyWebRequest *r = wreq_of(a);
    AsyFuture *f = (AsyFuture *)ASY_AS_OBJ(b);
    if (!r->sr) return;
    if (f->state == ASY_FUT_CANCELLED) {
        srv_reply_500(r);
        return;
    }
    if (f->has_exc) {
        f->log_tb = 0;
        srv_reply_exception(vm, r, f->result);
        return;
    }
    if (srv_reply_response(vm, r, f->result)) return;
    asy_raise(vm, ASY_EXC_RuntimeError, "Web-handler should return a response instance, got %R",
              f->result);
    AsyValue e = ASY_OBJ(vm->exc);
    asy_exc_clear(vm);
    srv_reply_exception(vm, r, e);
}

/* Loop context: call the handler and run its coroutine as a task. */
static void srv_start_h(AsyVM *vm, AsyValue a, AsyValue b) {
    ASY_UNUSED(b);
    AsyWebRequest *r = wreq_of(a);
    AsyServer *srv = r->srv;
    AsyValue coro;
    bool mws = ASY_IS_OBJ(srv->middlewares) && asy_len(vm, srv->middlewares) > 0;
    if (vm->exc) asy_exc_clear(vm);
    if (mws) {
        AsyValue run = web_name(vm, srv->st, "_run_middlewares");
        AsyValue args[3] = {srv->middlewares, a, r->handler};
        coro = ASY_IS_ERR(run) ? run : asy_call(vm, run, 3, args, NULL);
    } else {
        coro = asy_call(vm, r->handler, 1, &a, NULL);
    }
    if (ASY_IS_ERR(coro)) {
        AsyValue e = ASY_OBJ(vm->exc);
        asy_exc_clear(vm);
        srv_reply_exception(vm, r, e);
        return;
    }
    if (!asy_aio_is_coroutine(vm, coro)) { /* a plain function that returned a response */
        if (srv_reply_response(vm, r, coro)) return;
        asy_raise(vm, ASY_EXC_RuntimeError, "Web-handler should return a response instance, got %R",
                  coro);
        AsyValue e = ASY_OBJ(vm->exc);
        asy_exc_clear(vm);
        srv_reply_exception(vm, r, e);
        return;
    }
    asy_root_push(vm, coro);
    AsyTask *t = asy_task_new(vm, coro, ASY_UNDEF);
    asy_root_pop(vm, 1);
    if (!t || !asy_future_add_cb(vm, &t->fut, srv_task_done, a)) {
        AsyValue e = vm->exc ? ASY_OBJ(vm->exc) : ASY_NONE;
        asy_exc_clear(vm);
        srv_reply_exception(vm, r, e);
    }
}

static const char *method_name(enum evhttp_cmd_type t) {
    switch (t) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    case EVHTTP_REQ_TRACE: return "TRACE";
    case EVHTTP_REQ_CONNECT: return "CONNECT";
    case EVHTTP_REQ_PATCH: return "PATCH";
    }
    return "GET";
}

/* The route for method and (decoded) path: its index, -1 none, -2 path known but not for
 * this method (allow gets the methods that are). */
static int srv_route(AsyRouter *rt, const char *method, const char *path, size_t *vals, char *allow,
                     size_t allow_n) {
    size_t len = strlen(path);
    int found_path = 0;
    allow[0] = '\0';
    const char *seen[32];
    int nseen = 0;
    for (int i = 0; i < rt->nroutes; i++) {
        Route *r = &rt->routes[i];
        if (r->nparts > 16) continue;
        size_t tmp[34];
        if (!route_match_from(r, 0, path, 0, len, tmp)) continue;
        if (method_matches(r, method)) {
            memcpy(vals, tmp, sizeof tmp);
            return i;
        }
        found_path = 1;
        bool dup = false;
        for (int j = 0; j < nseen; j++)
            dup |= strcmp(seen[j], r->method) == 0;
        if (!dup && nseen < 32) seen[nseen++] = r->method;
    }
    if (!found_path) return -1;
    /* sorted, comma-joined, as aiohttp's Allow header */
    for (int i = 0; i < nseen; i++)
        for (int j = i + 1; j < nseen; j++)
            if (strcmp(seen[j], seen[i]) < 0) {
                const char *t = seen[i];
                seen[i] = seen[j];
                seen[j] = t;
            }
    for (int i = 0; i < nseen; i++) {
        size_t l = strlen(allow);
        snprintf(allow + l, allow_n - l, "%s%s", i ? "," : "", seen[i]);
    }
    return -2;
}

/* A plain-text answer straight from the callback (404, 405, 500): no objects needed. */
static void send_text(struct evhttp_request *req, int status, const char *text, const char *allow) {
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    if (allow) evhttp_add_header(out, "Allow", allow);
    evhttp_add_header(out, "Content-Type", "text/plain; charset=utf-8");
    evhttp_add_header(out, "Server", SRV_SERVER_HEADER);
    char clen[32];
    snprintf(clen, sizeof clen, "%zu", strlen(text));
    evhttp_add_header(out, "Content-Length", clen);
    if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD)
        evbuffer_add(evhttp_request_get_output_buffer(req), text, strlen(text));
    evhttp_send_reply(req, status, asy_http_reason(status), NULL);
}

/* Text from the wire: UTF-8, or latin-1 when it is not valid UTF-8. */
static AsyValue wire_str(AsyVM *vm, const char *s, size_t n) {
    AsyValue v = asy_bytes_decode(vm, (const uint8_t *)s, n, "utf-8", NULL);
    if (!ASY_IS_ERR(v)) return v;
    asy_exc_clear(vm);
    return asy_bytes_decode(vm, (const uint8_t *)s, n, "latin-1", NULL);
}

static AsyValue wire_str_fast(AsyVM *vm, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80) return wire_str(vm, s, n);
    return ASY_OBJ(asy_str_new(vm, s, n));
}

static AsyWebRequest *wreq_make(AsyVM *vm, AsyServer *srv, struct evhttp_request *req,
                                const char *method, const char *path, size_t plen, Route *rt,
                                const size_t *vals) {
    AsyWebRequest *r = asy_gc_alloc(vm, srv->st->request, sizeof(AsyWebRequest));
    r->srv = srv;
    r->handler = rt ? rt->handler : ASY_NONE;
    r->headers = r->query = r->url = r->match_info = ASY_UNDEF;
    r->method = ASY_OBJ(asy_str_intern_cstr(vm, method));
    r->path = wire_str_fast(vm, path, plen);
    if (ASY_IS_ERR(r->path)) return NULL;
    for (int i = 0; rt && i < rt->nparts; i++) {
        if (rt->parts[i].kind == PART_LIT) continue;
        if (ASY_IS_UNDEF(r->match_info)) r->match_info = ASY_OBJ(asy_dict_new(vm));
        AsyValue v = wire_str_fast(vm, path + vals[i * 2], vals[i * 2 + 1]);
        if (ASY_IS_ERR(v)) return NULL;
        asy_dict_set_cstr(vm, (AsyDict *)ASY_AS_OBJ(r->match_info), rt->parts[i].text, v);
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    if (n == 0) {
        r->body = srv->st->empty_bytes;
        return r;
    }
    AsyBytes *b = asy_bytes_new(vm, evbuffer_pullup(in, -1), n);
    if (!b) return NULL;
    r->body = ASY_OBJ(b);
    return r;
}

/* libevent callback: a request has been read. No bytecode here: the handler starts in
 * srv_start_h, one pass later. */
static void srv_request_cb(struct evhttp_request *req, void *arg) {
    SSrv *ss = arg;
    AsyServer *srv = ss->obj;
    AsyVM *vm = ss->vm;
    if (!srv) {
        send_text(req, 503, "503: Service Unavailable", NULL);
        return;
    }
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *raw = uri ? evhttp_uri_get_path(uri) : NULL;
    if (!raw || !*raw) raw = "/";
    size_t plen = strlen(raw);
    /* most paths have nothing to decode: no copy then */
    char *path = strchr(raw, '%') ? evhttp_uridecode(raw, 0, &plen) : (char *)raw;
    if (!path) {
        send_text(req, 500, "500 Internal Server Error\n\nServer got itself in trouble", NULL);
        return;
    }
    const char *method = method_name(evhttp_request_get_command(req));
    AsyRouter *rt = router_of(srv->router);
    size_t vals[34];
    char allow[256];
    int idx = srv_route(rt, method, path, vals, allow, sizeof allow);
    /* with middlewares, a request no route takes goes through them too, to a handler that
     * raises HTTPNotFound / HTTPMethodNotAllowed (as aiohttp) */
    bool mws = ASY_IS_OBJ(srv->middlewares) &&
               ASY_AS_OBJ(srv->middlewares)->type == ASY_TYPE(vm, list) &&
               ((AsyList *)ASY_AS_OBJ(srv->middlewares))->len > 0;
    if (idx < 0 && !mws) {
        if (path != raw) asy_evmem_free(path);
        if (idx == -1)
            send_text(req, 404, "404: Not Found", NULL);
        else
            send_text(req, 405, "405: Method Not Allowed", allow);
        return;
    }
    SReq *sr = calloc(1, sizeof *sr);
    AsyWebRequest *r =
        sr ? wreq_make(vm, srv, req, method, path, plen, idx >= 0 ? &rt->routes[idx] : NULL, vals)
           : NULL;
    if (path != raw) asy_evmem_free(path);
    if (r && idx < 0) {
        /* aiohttp.web's asy-written part is made: servers start through its AppRunner */
        AsyDict *web = srv->st->web->dict;
        r->handler = asy_dict_get_cstr(vm, web, idx == -1 ? "_not_found" : "_not_allowed");
        if (idx == -2) {
            r->dict = asy_dict_new(vm);
            asy_dict_set_cstr(vm, r->dict, "_allow", ASY_OBJ(asy_str_from_cstr(vm, allow)));
        }
    }
    if (!r || !asy_loop_call_soon(vm, srv_start_h, ASY_OBJ(r), ASY_UNDEF)) {
        if (vm->exc) asy_exc_clear(vm);
        free(sr);
        send_text(req, 500, "500 Internal Server Error\n\nServer got itself in trouble", NULL);
        return;
    }
    sr->req = req;
    sreq_link(ss, sr);
    r->sr = sr;
}

/* ---- web.Request ---- */

static AsyValue wreq_header(AsyVM *vm, AsyWebRequest *r, const char *name) {
    struct evkeyvalq *h = wreq_in_headers(r);
    const char *v = h ? evhttp_find_header(h, name) : NULL;
    return v ? wire_str(vm, v, strlen(v)) : ASY_NONE;
}

static const char *wreq_raw_uri(AsyWebRequest *r) {
    return r->sr && r->sr->req ? evhttp_request_get_uri(r->sr->req) : "/";
}

/* request.url (http://, the Host header or "localhost", the target) and request.rel_url
 * (the target alone) as URLs; bytes that are not UTF-8 read as latin-1, as wire_str. */
static AsyValue wreq_url(AsyVM *vm, AsyWebRequest *r, bool absolute) {
    const char *raw = wreq_raw_uri(r);
    struct evkeyvalq *h = wreq_in_headers(r);
    const char *host = h ? evhttp_find_header(h, "Host") : NULL;
    if (!absolute)
        host = NULL;
    else if (!host)
        host = "localhost";
    size_t n = (host ? strlen("http://") + strlen(host) : 0) + strlen(raw);
    char *buf = malloc(n + 1);
    if (!buf) return asy_raise_memory(vm);
    snprintf(buf, n + 1, "%s%s%s", host ? "http://" : "", host ? host : "", raw);
    AsyValue s = wire_str(vm, buf, n);
    free(buf);
    return ASY_IS_ERR(s) ? s : asy_http_url_new(vm, (AsyStr *)ASY_AS_OBJ(s));
}

static AsyValue wreq_content_type(AsyVM *vm, AsyWebRequest *r, bool charset) {
    struct evkeyvalq *h = wreq_in_headers(r);
    const char *ct = h ? evhttp_find_header(h, "Content-Type") : NULL;
    if (charset) {
        const char *cs = ct ? strcasestr(ct, "charset=") : NULL;
        if (!cs) return ASY_NONE;
        cs += 8;
        return wire_str(vm, cs, strcspn(cs, "; \t\""));
    }
    if (!ct) return ASY_OBJ(asy_str_from_cstr(vm, "application/octet-stream"));
    size_t n = strcspn(ct, ";");
    while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    AsyValue v = wire_str(vm, ct, n);
    if (ASY_IS_ERR(v)) return v;
    return asy_call_method(vm, v, asy_str_intern_cstr(vm, "lower"), 0, NULL);
}

static AsyValue wreq_getattr(AsyVM *vm, AsyValue self, AsyStr *name) {
    AsyWebRequest *r = wreq_of(self);
    const char *n = name->data;
    switch (n[0]) {
    case 'a':
        if (strcmp(n, "app") == 0) return r->srv->app;
        break;
    case 'b':
        if (strcmp(n, "body_exists") == 0)
            return ASY_BOOL(((AsyBytes *)ASY_AS_OBJ(r->body))->len > 0);
        break;
    case 'c':
        if (strcmp(n, "can_read_body") == 0)
            return ASY_BOOL(((AsyBytes *)ASY_AS_OBJ(r->body))->len > 0);
        if (strcmp(n, "content_type") == 0) return wreq_content_type(vm, r, false);
        if (strcmp(n, "charset") == 0) return wreq_content_type(vm, r, true);
        if (strcmp(n, "content_length") == 0) {
            AsyValue v = wreq_header(vm, r, "Content-Length");
            return ASY_IS_OBJ(v) ? asy_number_int(vm, v) : v;
        }
        if (strcmp(n, "cookies") == 0) {
            AsyDict *d = asy_dict_new(vm);
            struct evkeyvalq *h = wreq_in_headers(r);
            const char *c = h ? evhttp_find_header(h, "Cookie") : NULL;
            while (c && *c) {
                while (*c == ' ' || *c == ';')
                    c++;
                const char *eq = strchr(c, '='), *end = strchr(c, ';');
                if (!end) end = c + strlen(c);
                if (eq && eq < end) {
                    AsyValue k = wire_str(vm, c, (size_t)(eq - c));
                    AsyValue v = wire_str(vm, eq + 1, (size_t)(end - eq - 1));
                    if (ASY_IS_ERR(k) || ASY_IS_ERR(v) || asy_dict_set(vm, d, k, v) < 0)
                        return ASY_ERR;
                }
                c = end;
            }
            return ASY_OBJ(d);
        }
        break;
    case 'h':
        if (strcmp(n, "headers") == 0) {
            if (ASY_IS_UNDEF(r->headers)) {
                struct evkeyvalq *h = wreq_in_headers(r);
                AsyHttpMultiDict *md = h ? asy_http_headers_from_evkeyvalq(vm, h)
                                         : asy_http_multidict_new(vm, r->srv->st->cimultidict);
                if (!md) return ASY_ERR;
                r->headers = ASY_OBJ(md);
            }
            return r->headers;
        }
        if (strcmp(n, "host") == 0) return wreq_header(vm, r, "Host");
        if (strcmp(n, "has_body") == 0) return ASY_BOOL(((AsyBytes *)ASY_AS_OBJ(r->body))->len > 0);
        break;
    case 'm':
        if (strcmp(n, "method") == 0) return r->method;
        if (strcmp(n, "match_info") == 0) {
            if (ASY_IS_UNDEF(r->match_info)) r->match_info = ASY_OBJ(asy_dict_new(vm));
            return r->match_info;
        }
        break;
    case 'p':
        if (strcmp(n, "path") == 0) return r->path;
        if (strcmp(n, "path_qs") == 0)
            return wire_str(vm, wreq_raw_uri(r), strlen(wreq_raw_uri(r)));
        break;
    case 'q':
        if (strcmp(n, "query") == 0) {
            if (ASY_IS_UNDEF(r->query)) {
                const struct evhttp_uri *u =
                    r->sr && r->sr->req ? evhttp_request_get_evhttp_uri(r->sr->req) : NULL;
                AsyHttpMultiDict *md = asy_http_parse_query(vm, u ? evhttp_uri_get_query(u) : NULL);
                if (!md) return ASY_ERR;
                r->query = ASY_OBJ(md);
            }
            return r->query;
        }
        if (strcmp(n, "query_string") == 0) {
            const struct evhttp_uri *u =
                r->sr && r->sr->req ? evhttp_request_get_evhttp_uri(r->sr->req) : NULL;
            const char *q = u ? evhttp_uri_get_query(u) : NULL;
            char *dec = q ? evhttp_uridecode(q, 1, NULL) : NULL;
            AsyValue v = wire_str(vm, dec ? dec : "", dec ? strlen(dec) : 0);
            asy_evmem_free(dec);
            return v;
        }
        break;
    case 'r':
        if (strcmp(n, "raw_path") == 0)
            return wire_str(vm, wreq_raw_uri(r), strlen(wreq_raw_uri(r)));
        if (strcmp(n, "remote") == 0) {
            struct evhttp_connection *c =
                r->sr && r->sr->req ? evhttp_request_get_connection(r->sr->req) : NULL;
            char *addr = NULL;
            ev_uint16_t port = 0;
            if (c) evhttp_connection_get_peer(c, &addr, &port);
            return addr ? ASY_OBJ(asy_str_from_cstr(vm, addr)) : ASY_NONE;
        }
        if (strcmp(n, "rel_url") == 0) return wreq_url(vm, r, false);
        break;
    case 's':
        if (strcmp(n, "scheme") == 0) return ASY_OBJ(asy_str_from_cstr(vm, "http"));
        if (strcmp(n, "secure") == 0) return ASY_FALSE;
        break;
    case 'k':
        if (strcmp(n, "keep_alive") == 0) return ASY_TRUE;
        break;
    case 'u':
        if (strcmp(n, "url") == 0) return wreq_url(vm, r, true);
        break;
    case 'v':
        if (strcmp(n, "version") == 0)
            return ASY_OBJ(asy_str_from_cstr(vm, "HttpVersion(major=1, minor=1)"));
        break;
    }
    if (r->dict) {
        AsyValue v = asy_dict_get_str(vm, r->dict, name);
        if (!ASY_IS_UNDEF(v)) return v;
    }
    return ASY_TYPE(vm, object)->getattr(vm, self, name);
}

static int wreq_setattr(AsyVM *vm, AsyValue self, AsyStr *name, AsyValue v) {
    AsyWebRequest *r = wreq_of(self);
    if (ASY_IS_UNDEF(v)) {
        if (r->dict && asy_dict_del(vm, r->dict, ASY_OBJ(name)) > 0) return 0;
        return ASY_TYPE(vm, object)->setattr(vm, self, name, v);
    }
    if (!r->dict) r->dict = asy_dict_new(vm);
    return asy_dict_set_str(vm, r->dict, name, v);
}

static AsyValue wreq_getitem(AsyVM *vm, AsyValue self, AsyValue key) {
    AsyWebRequest *r = wreq_of(self);
    AsyValue v = r->state ? asy_dict_get(vm, r->state, key) : ASY_UNDEF;
    if (ASY_IS_ERR(v)) return v;
    if (ASY_IS_UNDEF(v)) {
        AsyValue e = asy_exc_new(vm, vm->exc_types[ASY_EXC_KeyError], 1, &key);
        return ASY_IS_ERR(e) ? e : asy_raise_value(vm, e);
    }
    return v;
}

static int wreq_setitem(AsyVM *vm, AsyValue self, AsyValue key, AsyValue v) {
    AsyWebRequest *r = wreq_of(self);
    if (!r->state) r->state = asy_dict_new(vm);
    if (ASY_IS_UNDEF(v)) {
        int d = asy_dict_del(vm, r->state, key);
        if (d == 0) {
            AsyValue e = asy_exc_new(vm, vm->exc_types[ASY_EXC_KeyError], 1, &key);
            if (!ASY_IS_ERR(e)) asy_raise_value(vm, e);
            return -1;
        }
        return d < 0 ? -1 : 0;
    }
    return asy_dict_set(vm, r->state, key, v);
}

static int wreq_contains(AsyVM *vm, AsyValue self, AsyValue key) {
    AsyWebRequest *r = wreq_of(self);
    if (!r->state) return 0;
    AsyValue v = asy_dict_get(vm, r->state, key);
    if (ASY_IS_ERR(v)) return -1;
    return !ASY_IS_UNDEF(v);
}

static AsyValue wreq_repr(AsyVM *vm, AsyValue self) {
    AsyWebRequest *r = wreq_of(self);
    return ASY_OBJ(asy_str_printf(vm, "<Request %s %s >", ((AsyStr *)ASY_AS_OBJ(r->method))->data,
                                  ((AsyStr *)ASY_AS_OBJ(r->path))->data));
}

static AsyValue wreq_text_value(AsyVM *vm, AsyWebRequest *r) {
    AsyBytes *b = (AsyBytes *)ASY_AS_OBJ(r->body);
    AsyValue cs = wreq_content_type(vm, r, true);
    if (ASY_IS_ERR(cs)) return cs;
    const char *enc = ASY_IS_OBJ(cs) ? ((AsyStr *)ASY_AS_OBJ(cs))->data : "utf-8";
    if (asy_codec_lookup(enc) < 0) enc = "utf-8";
    return asy_bytes_decode(vm, b->data, b->len, enc, NULL);
}

static AsyValue done_or_err(AsyVM *vm, AsyValue v) {
    return ASY_IS_ERR(v) ? v : asy_op_value(vm, v);
}

static AsyValue wreqm_read(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "read", argc - 1, 0, 0)) return ASY_ERR;
    return asy_op_value(vm, wreq_of(argv[0])->body);
}

static AsyValue wreqm_text(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "text", argc - 1, 0, 0)) return ASY_ERR;
    return done_or_err(vm, wreq_text_value(vm, wreq_of(argv[0])));
}

static AsyValue wreqm_json(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    asy_kwarg(vm, kw, "loads");
    if (!asy_check_kw_done(vm, "json", kw) || !asy_check_args(vm, "json", argc - 1, 0, 0))
        return ASY_ERR;
    AsyValue t = wreq_text_value(vm, wreq_of(argv[0]));
    if (ASY_IS_ERR(t)) return t;
    asy_root_push(vm, t);
    AsyValue v = asy_http_json_loads(vm, t);
    asy_root_pop(vm, 1);
    return done_or_err(vm, v);
}

static AsyValue wreqm_post(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "post", argc - 1, 0, 0)) return ASY_ERR;
    AsyWebRequest *r = wreq_of(argv[0]);
    AsyValue ct = wreq_content_type(vm, r, false);
    if (ASY_IS_ERR(ct)) return ct;
    AsyHttpMultiDict *md;
    if (strcmp(((AsyStr *)ASY_AS_OBJ(ct))->data, "application/x-www-form-urlencoded") == 0) {
        AsyBytes *b = (AsyBytes *)ASY_AS_OBJ(r->body);
        md = asy_http_parse_query(vm, (const char *)b->data);
    } else {
        md = asy_http_multidict_new(vm, r->srv->st->multidict);
    }
    return md ? asy_op_value(vm, ASY_OBJ(md)) : ASY_ERR;
}

static AsyValue wreqm_get(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "get", argc - 1, 1, 2)) return ASY_ERR;
    AsyWebRequest *r = wreq_of(argv[0]);
    AsyValue v = r->state ? asy_dict_get(vm, r->state, argv[1]) : ASY_UNDEF;
    if (ASY_IS_ERR(v)) return v;
    return ASY_IS_UNDEF(v) ? (argc > 2 ? argv[2] : ASY_NONE) : v;
}

static AsyValue wreqm_release(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    ASY_UNUSED(argv);
    if (!asy_check_args(vm, "release", argc - 1, 0, 0)) return ASY_ERR;
    return asy_op_value(vm, ASY_NONE);
}

static const AsyMethodDef wreq_methods[] = {
    {"read", wreqm_read, ASY_METH_NOKW, "The body as bytes."},
    {"text", wreqm_text, ASY_METH_NOKW, "The body as text."},
    {"json", wreqm_json, 0, "The body decoded as JSON."},
    {"post", wreqm_post, ASY_METH_NOKW, "The form fields of a urlencoded body."},
    {"get", wreqm_get, ASY_METH_NOKW, "request.get(key, default): the request's own storage."},
    {"release", wreqm_release, ASY_METH_NOKW, "Release the body."},
    {NULL, NULL, 0, NULL},
};

/* ---- StreamResponse.prepare/write/write_eof (they need the request) ---- */

static AsyValue wrespm_prepare(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "prepare", argc - 1, 1, 1)) return ASY_ERR;
    AsyHttpState *st = asy_http_state(vm);
    AsyWebResponse *wr = wresp_of(argv[0]);
    if (!ASY_IS_OBJ(argv[1]) || ASY_AS_OBJ(argv[1])->type != st->request)
        return asy_raise(vm, ASY_EXC_TypeError, "prepare() needs the web.Request to answer");
    if (wr->stream_state != STREAM_NONE) return asy_op_value(vm, ASY_NONE);
    AsyWebRequest *r = wreq_of(argv[1]);
    if (!r->sr) return asy_raise(vm, ASY_EXC_RuntimeError, "the request was answered already");
    wr->stream_state = STREAM_PREPARED;
    wr->stream_req = argv[1];
    r->streaming = true;
    struct evhttp_request *req = r->sr->req;
    if (!req) return asy_op_value(vm, ASY_NONE); /* the server closed: writes go nowhere */
    char ctype[256];
    srv_out_headers(r->sr->ss, req, wresp_ctype(vm, wr, ctype, sizeof ctype),
                    ASY_IS_OBJ(wr->headers) ? (AsyHttpMultiDict *)ASY_AS_OBJ(wr->headers) : NULL);
    const char *reason = is_str(vm, wr->reason) ? ((AsyStr *)ASY_AS_OBJ(wr->reason))->data
                                                : asy_http_reason(wr->status);
    evhttp_send_reply_start(req, wr->status, reason);
    return asy_op_value(vm, ASY_NONE);
}

static AsyValue wresp_write_data(AsyVM *vm, AsyWebResponse *wr, AsyValue data) {
    if (wr->stream_state != STREAM_PREPARED)
        return asy_raise(vm, ASY_EXC_RuntimeError,
                         wr->stream_state == STREAM_NONE ? "Cannot call write() before prepare()"
                                                         : "Cannot call write() after write_eof()");
    AsyValue b = data;
    if (!is_bytes(vm, b)) {
        if (!ASY_IS_OBJ(b) || is_str(vm, b))
            return asy_raise(vm, ASY_EXC_AssertionError, "data argument must be byte-ish (%R)",
                             ASY_OBJ(asy_type_of(vm, data)));
        b = asy_call(vm, ASY_OBJ(ASY_TYPE(vm, bytes)), 1, &data, NULL);
        if (ASY_IS_ERR(b)) return b;
    }
    AsyWebRequest *r = wreq_of(wr->stream_req);
    AsyBytes *bytes = (AsyBytes *)ASY_AS_OBJ(b);
    struct evhttp_request *req = r->sr ? r->sr->req : NULL;
    if (req && bytes->len && evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
        struct evbuffer *buf = evbuffer_new();
        if (!buf) return asy_raise_memory(vm);
        evbuffer_add(buf, bytes->data, bytes->len);
        evhttp_send_reply_chunk(req, buf);
        evbuffer_free(buf);
    }
    return ASY_NONE;
}

static AsyValue wrespm_write(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "write", argc - 1, 1, 1)) return ASY_ERR;
    AsyValue r = wresp_write_data(vm, wresp_of(argv[0]), argv[1]);
    return ASY_IS_ERR(r) ? r : asy_op_value(vm, ASY_NONE);
}

static AsyValue wrespm_write_eof(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "write_eof", argc - 1, 0, 1)) return ASY_ERR;
    AsyWebResponse *wr = wresp_of(argv[0]);
    if (wr->stream_state == STREAM_ENDED) return asy_op_value(vm, ASY_NONE);
    if (argc > 1 && ASY_IS_ERR(wresp_write_data(vm, wr, argv[1]))) return ASY_ERR;
    if (wr->stream_state != STREAM_PREPARED)
        return asy_raise(vm, ASY_EXC_RuntimeError, "Response has not been started");
    wr->stream_state = STREAM_ENDED;
    stream_end(wreq_of(wr->stream_req));
    return asy_op_value(vm, ASY_NONE);
}

static AsyValue wresp_repr(AsyVM *vm, AsyValue self) {
    AsyWebResponse *r = wresp_of(self);
    AsyValue reason = wresp_getattr(vm, self, asy_str_intern_cstr(vm, "reason"));
    AsyStr *rs = ASY_IS_ERR(reason) ? NULL : asy_http_to_str(vm, reason);
    if (!rs) return ASY_ERR;
    const char *how = r->stream_state == STREAM_NONE    ? "not prepared"
                      : r->stream_state == STREAM_ENDED ? "eof"
                                                        : "prepared";
    if (r->stream_state != STREAM_NONE) {
        AsyWebRequest *q = wreq_of(r->stream_req);
        return ASY_OBJ(asy_str_printf(vm, "<%s %s %s %s >", r->hdr.type->name, rs->data,
                                      ((AsyStr *)ASY_AS_OBJ(q->method))->data,
                                      ((AsyStr *)ASY_AS_OBJ(q->path))->data));
    }
    return ASY_OBJ(asy_str_printf(vm, "<%s %s %s>", r->hdr.type->name, rs->data, how));
}

static const AsyMethodDef wresp_methods[] = {
    {"set_status", wrespm_set_status, 0, "Change the status (and reason)."},
    {"set_cookie", wrespm_set_cookie, 0, "Add a Set-Cookie header."},
    {"prepare", wrespm_prepare, ASY_METH_NOKW, "Send the status and headers (StreamResponse)."},
    {"write", wrespm_write, ASY_METH_NOKW, "Send a piece of the body (after prepare)."},
    {"write_eof", wrespm_write_eof, ASY_METH_NOKW, "End the body."},
    {NULL, NULL, 0, NULL},
};

/* ---- the server object and _serve ---- */

static AsyValue srvm_close(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "close", argc - 1, 0, 0)) return ASY_ERR;
    srv_close(srv_of(argv[0]));
    return ASY_NONE;
}

static const AsyMethodDef srv_methods[] = {
    {"close", srvm_close, ASY_METH_NOKW, "Stop listening and close every connection."},
    {NULL, NULL, 0, NULL},
};

static AsyValue srv_getattr(AsyVM *vm, AsyValue self, AsyStr *name) {
    if (strcmp(name->data, "address") == 0) return srv_of(self)->address;
    if (strcmp(name->data, "closed") == 0) return ASY_BOOL(srv_of(self)->closed);
    return ASY_TYPE(vm, object)->getattr(vm, self, name);
}

static AsyValue bind_error(AsyVM *vm, const char *host, int port, int err) {
    char low[128];
    snprintf(low, sizeof low, "%s", strerror(err));
    for (char *p = low; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    AsyValue a[2] = {ASY_INT(err), ASY_OBJ(asy_str_printf(vm,
                                                          "error while attempting to bind "
                                                          "on address ('%s', %d): %s",
                                                          host, port, low))};
    AsyValue e = asy_exc_new(vm, vm->exc_types[ASY_EXC_OSError], 2, a);
    return ASY_IS_ERR(e) ? e : asy_raise_value(vm, e);
}

/* _serve(app, host, port, backlog): listen for app, as TCPSite.start() does. */
static AsyValue web_serve(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "_serve", argc, 3, 4)) return ASY_ERR;
    AsyHttpState *st = asy_http_state(vm);
    if (!st) return ASY_ERR;
    /* the server's requests use aiohttp.web's asy-written part (the 404 handler...) */
    if (asy_module_make_all(vm, st->web) < 0) return ASY_ERR;
    AsyValue app = argv[0];
    AsyValue router = asy_getattr(vm, app, asy_str_intern_cstr(vm, "router"));
    if (ASY_IS_ERR(router)) return router;
    if (!ASY_IS_OBJ(router) || ASY_AS_OBJ(router)->type != st->router)
        return asy_raise(vm, ASY_EXC_TypeError, "app.router must be a web.UrlDispatcher");
    AsyValue mws = asy_getattr_opt(vm, app, asy_str_intern_cstr(vm, "middlewares"));
    AsyValue maxsz = asy_getattr_opt(vm, app, asy_str_intern_cstr(vm, "_client_max_size"));
    if (ASY_IS_ERR(mws) || ASY_IS_ERR(maxsz)) return ASY_ERR;
    const char *host = "0.0.0.0";
    if (!ASY_IS_NONE(argv[1])) {
        AsyStr *h = asy_http_to_str(vm, argv[1]);
        if (!h) return ASY_ERR;
        host = h->data;
    }
    int64_t port, max = 1024 * 1024;
    if (!asy_index(vm, argv[2], &port)) return ASY_ERR;
    if (ASY_IS_INTLIKE(maxsz)) max = ASY_AS_INT(maxsz);
    if (port < 0 || port > 65535)
        return asy_raise(vm, ASY_EXC_OverflowError, "bind(): port must be 0-65535.");
    struct event_base *base = asy_loop_get(vm)->base;
    struct evhttp *http = evhttp_new(base);
    if (!http) return asy_raise_memory(vm);
    errno = 0;
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(http, host, (ev_uint16_t)port);
    if (!bs) {
        int err = errno ? errno : EADDRNOTAVAIL;
        evhttp_free(http);
        return bind_error(vm, host, (int)port, err);
    }
    /* No Nagle, as aiohttp's server (tcp_nodelay): a StreamResponse sends its pieces as
     * separate small writes, and each would wait for the client's delayed ACK (40 ms).
     * Linux gives accepted sockets the listener's TCP_NODELAY. */
    int one = 1;
    setsockopt(evhttp_bound_socket_get_fd(bs), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_storage sa;
    socklen_t sl = sizeof sa;
    char ip[INET6_ADDRSTRLEN] = "";
    int bound = (int)port;
    if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sa, &sl) == 0) {
        if (sa.ss_family == AF_INET) {
            struct sockaddr_in *sin = (struct sockaddr_in *)&sa;
            inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof ip);
            bound = ntohs(sin->sin_port);
        } else if (sa.ss_family == AF_INET6) {
            struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&sa;
            inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof ip);
            bound = ntohs(sin6->sin6_port);
        }
    }
    evhttp_set_max_body_size(http, (ev_ssize_t)max);
    evhttp_set_max_headers_size(http, SRV_MAX_HEADERS_SIZE);
    /* read the rest of a body that is too large before answering 413, so that the client
     * gets the answer instead of a reset */
    evhttp_set_flags(http, EVHTTP_SERVER_LINGERING_CLOSE);
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                         EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                                         EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    SSrv *ss = calloc(1, sizeof *ss);
    if (!ss) {
        evhttp_free(http);
        return asy_raise_memory(vm);
    }
    AsyServer *s = asy_gc_alloc(vm, st->server, sizeof(AsyServer));
    ss->vm = vm;
    ss->http = http;
    ss->obj = s;
    ss->refs = 1;
    ss->reg = st->reg;
    if (ss->reg) {
        ss->rnext = ss->reg->servers;
        if (ss->rnext) ss->rnext->rprev = ss;
        ss->reg->servers = ss;
    }
    s->ss = ss;
    s->st = st;
    s->app = app;
    s->router = router;
    s->middlewares = ASY_IS_UNDEF(mws) ? ASY_NONE : mws;
    AsyValue addr[2] = {ASY_OBJ(asy_str_from_cstr(vm, ip[0] ? ip : host)), ASY_INT(bound)};
    s->address = ASY_OBJ(asy_tuple_from_array(vm, addr, 2));
    evhttp_set_gencb(http, srv_request_cb, ss);
    return ASY_OBJ(s);
}

static const AsyMethodDef web_functions[] = {
    {"_serve", web_serve, ASY_METH_NOKW, "Listen on host:port for app (TCPSite.start)."},
    {NULL, NULL, 0, NULL},
};

void asy_http_server_shutdown(AsyHttpRegistry *reg) {
    for (SSrv *ss = reg->servers; ss; ss = ss->rnext) {
        ssrv_close(ss);
        ss->reg = NULL;
    }
    reg->servers = NULL;
}

/* Middlewares: each is `async def mw(request, handler)`, the first one outermost. */
static const char web_mw_src[] =
    "def _mw_wrap(mw, handler):\n"
    "    async def h(request):\n"
    "        return await mw(request, handler)\n"
    "    return h\n"
    "\n"
    "async def _run_middlewares(middlewares, request, handler):\n"
    "    for mw in reversed(middlewares):\n"
    "        handler = _mw_wrap(mw, handler)\n"
    "    return await handler(request)\n"
    "\n"
    "async def _not_found(request):\n"
    "    raise HTTPNotFound()\n"
    "\n"
    "async def _not_allowed(request):\n"
    "    raise HTTPMethodNotAllowed(headers={'Allow': request._allow})\n";

void asy_http_server_init(AsyVM *vm, AsyHttpState *st) {
    AsyType *t = asy_type_new_builtin(vm, "UrlDispatcher", ASY_TYPE(vm, object), sizeof(AsyRouter));
    t->module = asy_str_intern_cstr(vm, "aiohttp.web_urldispatcher");
    t->new_ = router_new;
    t->traverse = router_traverse;
    t->finalize = router_finalize;
    asy_type_add_methods(vm, t, router_methods);
    asy_type_ready(vm, t);
    st->router = t;

    t = asy_type_new_builtin(vm, "StreamResponse", ASY_TYPE(vm, object), sizeof(AsyWebResponse));
    t->module = asy_str_intern_cstr(vm, "aiohttp.web_response");
    t->tflags |= ASY_TYPE_BASETYPE;
    t->new_ = wstream_new;
    t->traverse = wresp_traverse;
    t->getattr = wresp_getattr;
    t->setattr = wresp_setattr;
    t->repr = wresp_repr;
    asy_type_add_methods(vm, t, wresp_methods);
    asy_type_ready(vm, t);
    st->webstream = t;

    t = asy_type_new_builtin(vm, "Response", st->webstream, sizeof(AsyWebResponse));
    t->module = asy_str_intern_cstr(vm, "aiohttp.web_response");
    t->tflags |= ASY_TYPE_BASETYPE;
    t->new_ = wresp_new;
    asy_type_ready(vm, t);
    st->webresponse = t;

    t = asy_type_new_builtin(vm, "Request", ASY_TYPE(vm, object), sizeof(AsyWebRequest));
    t->module = asy_str_intern_cstr(vm, "aiohttp.web_request");
    t->traverse = wreq_traverse;
    t->finalize = wreq_finalize;
    t->getattr = wreq_getattr;
    t->setattr = wreq_setattr;
    t->getitem = wreq_getitem;
    t->setitem = wreq_setitem;
    t->contains = wreq_contains;
    t->repr = wreq_repr;
    asy_type_add_methods(vm, t, wreq_methods);
    asy_type_ready(vm, t);
    st->request = t;

    t = asy_type_new_builtin(vm, "_Server", ASY_TYPE(vm, object), sizeof(AsyServer));
    t->module = asy_str_intern_cstr(vm, "aiohttp.web");
    t->traverse = srv_traverse;
    t->finalize = srv_finalize;
    t->getattr = srv_getattr;
    asy_type_add_methods(vm, t, srv_methods);
    asy_type_ready(vm, t);
    st->server = t;

    asy_module_add_functions(vm, st->web, web_functions);
    asy_dict_set_str(vm, st->web->dict, ASY_S(vm, __builtins__), ASY_OBJ(vm->builtins));
}

void asy_http_server_run_helpers(AsyVM *vm, AsyHttpState *st) {
    AsyCode *code =
        asy_compile(vm, web_mw_src, sizeof web_mw_src - 1, "<aiohttp.web>", ASY_PARSE_MODULE);
    if (!code) return;
    asy_root_push(vm, ASY_OBJ(code));
    asy_vm_run_code(vm, code, st->web->dict);
    asy_root_pop(vm, 1);
}
