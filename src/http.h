/* http.h - what the http module's files share: mod_http.c (the module, its state, the
 * multidict and URL types, the parts written in asy), http_client.c (ClientSession and
 * responses on evhttp connections) and http_server.c (aiohttp.web on an evhttp server).
 *
 * Invariants:
 * - libevent callbacks never run bytecode and never touch asy objects that may be dead:
 *   they fill plain C structs (http_client.c's exchanges, http_server.c's requests) and
 *   wake the task that waits on them with asy_task_wait_resolve.
 * - One state object per VM (AsyHttpState) holds every type and exception class of the
 *   module. It lives in the dict of the loop's HttpState type (loop.h), which the
 *   scheduler marks, so C code may keep the raw pointers below.
 */
#ifndef ASY_HTTP_H
#define ASY_HTTP_H

#include "task.h"

struct evkeyvalq;
struct HClient;
struct SSrv;

/* Every live client and server, in C memory: asy_loop_free runs the module's closer
 * before the event_base goes, which closes them all (finalizers run later, in any order,
 * and must then leave libevent alone). */
typedef struct {
    struct HClient *clients;
    struct SSrv *servers;
} AsyHttpRegistry;

typedef struct {
    AsyObj hdr;
    AsyModule *mod; /* http (also registered as aiohttp)                      */
    AsyModule *web; /* http.web / aiohttp.web                                 */
    /* client (http_client.c) */
    AsyType *session, *reqcm, *response, *reqop;
    /* shared (mod_http.c) */
    AsyType *multidict, *cimultidict, *cimultidict_mut, *url;
    /* server (http_server.c) */
    AsyType *router, *request, *webresponse, *webstream, *server;
    /* exception classes, written in asy (mod_http.c) */
    AsyType *e_client, *e_connection, *e_connector, *e_cert, *e_disconnected, *e_response,
        *e_contenttype, *e_redirects, *e_payload, *e_invalidurl, *e_http_exception;
    AsyValue timeout_cls; /* ClientTimeout                                          */
    AsyValue empty_bytes; /* b'': the body of most requests                          */
    AsyStr *s_text_plain, *s_utf8, *s_json, *s_get; /* interned, so immortal            */
    AsyValue json_loads, json_dumps; /* the json module's, UNDEF until first needed     */
    AsyHttpRegistry *reg;            /* NULL once the closer ran                                */
} AsyHttpState;

/* The state of this VM's http module (NULL with ImportError pending when the module
 * cannot be set up). Made by asy_mod_http_init. */
AsyHttpState *asy_http_state(AsyVM *vm);

/* ---- multidicts (mod_http.c): CIMultiDictProxy, MultiDictProxy, CIMultiDict ---- */
typedef struct {
    AsyObj hdr;
    AsyValue *items;  /* key0, value0, key1, value1, ...: strs                   */
    int64_t len, cap; /* len counts pairs                                       */
} AsyHttpMultiDict;

AsyHttpMultiDict *asy_http_multidict_new(AsyVM *vm, AsyType *type);
bool asy_http_multidict_add(AsyVM *vm, AsyHttpMultiDict *md, const char *key, size_t klen,
                            const char *value, size_t vlen);
bool asy_http_multidict_add_value(AsyVM *vm, AsyHttpMultiDict *md, AsyValue k, AsyValue v);
/* The first value under key (case-insensitive for the CI types), or UNDEF. */
AsyValue asy_http_multidict_get(AsyHttpMultiDict *md, const char *key);
/* Headers of an evhttp request as a CIMultiDictProxy. */
AsyHttpMultiDict *asy_http_headers_from_evkeyvalq(AsyVM *vm, struct evkeyvalq *q);
/* Parse a query string (a=1&b=x%20y) into a MultiDictProxy. */
AsyHttpMultiDict *asy_http_parse_query(AsyVM *vm, const char *q);

/* ---- URLs (mod_http.c): yarl.URL's useful subset ---- */
typedef struct {
    AsyObj hdr;
    AsyStr *s; /* the whole URL                                           */
} AsyHttpURL;

AsyValue asy_http_url_new(AsyVM *vm, AsyStr *s);

/* ---- helpers (mod_http.c) ---- */
/* str(v) as a C string (v a str, or anything str() accepts); NULL on error. */
AsyStr *asy_http_to_str(AsyVM *vm, AsyValue v);
/* json.dumps(v) / json.loads(text): through the json module. */
AsyValue asy_http_json_dumps(AsyVM *vm, AsyValue v);
AsyValue asy_http_json_loads(AsyVM *vm, AsyValue text);
/* Percent-encode for a query string or a form body (application/x-www-form-urlencoded,
 * as urllib.parse.urlencode: spaces become '+'). */
void asy_http_urlencode(AsyVM *vm, AsyStrBuf *b, const char *s, size_t n);
/* Append urlencode(mapping) (a dict or a list of pairs) to b; false on error. */
bool asy_http_urlencode_mapping(AsyVM *vm, AsyStrBuf *b, AsyValue mapping);
/* Take a call's keyword arguments in one pass: out[i] is the value given for names[i]
 * (NULL-terminated), or UNDEF. Names in `ignored` are accepted and dropped; any other is
 * CPython's TypeError "fname() got an unexpected keyword argument 'x'". */
bool asy_http_kwargs(AsyVM *vm, const char *fname, AsyDict *kw, const char *const *names,
                     AsyValue *out, const char *const *ignored);
/* Raise an instance of an asy exception class made with args. */
AsyValue asy_http_raise(AsyVM *vm, AsyType *cls, int argc, AsyValue *argv);
/* The reason phrase of an HTTP status ("Not Found"), "" when unknown. */
const char *asy_http_reason(int status);
/* The running task, or NULL with RuntimeError("no running event loop") pending. */
AsyTask *asy_http_task(AsyVM *vm);

/* ---- per-file initialisers (called by asy_mod_http_init) ---- */
void asy_http_client_init(AsyVM *vm, AsyHttpState *st);
void asy_http_server_init(AsyVM *vm, AsyHttpState *st);
/* The server's helpers written in asy (middlewares, the 404 and 405 handlers), run in
 * aiohttp.web's namespace when mod_http.c makes its asy-written part. */
void asy_http_server_run_helpers(AsyVM *vm, AsyHttpState *st);
/* The closer's work: close every client / server of reg and forget reg. */
void asy_http_client_shutdown(AsyHttpRegistry *reg);
void asy_http_server_shutdown(AsyHttpRegistry *reg);

#endif
