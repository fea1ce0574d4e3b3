/* http_client.c - aiohttp's client: ClientSession, the request context manager that
 * session.get() returns, and ClientResponse, on libevent's evhttp connections (plain
 * sockets, or bufferevent_openssl for HTTPS), with evdns for host names.
 *
 * Two layers, because libevent callbacks must never touch asy objects that may be dead:
 * - C: a client (HClient) per session owns its connections (HConn, kept alive between
 *   requests and reused per scheme, host and port, at most `limit` at once) and an
 *   exchange (HEx) per request/response. Exchanges are reference counted: one reference
 *   while libevent works on them, one per asy object that reads them. Callbacks fill the
 *   exchange (status, headers, body, or an error) and wake the task waiting on it.
 * - asy: ClientSession, _RequestContextManager and ClientResponse read exchanges from
 *   native awaitables (AsyOp, task.h) run in the waiting task, where exceptions are made.
 */
#include "common.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dynlib.h"
#include "http.h"

/* aiohttp's DEFAULT_TIMEOUT (total=5*60) and TCPConnector's default limit. */
#define HTTP_DEFAULT_TOTAL 300.0
#define HTTP_DEFAULT_LIMIT 100
#define HTTP_MAX_REDIRECTS 10
#define HTTP_USER_AGENT "Python/3.11 aiohttp/3.8.4"
/* A response's status line and headers together may not be longer (aiohttp limits each
 * line to 8190 bytes); without a limit a peer streaming one endless header grows us. */
#define HTTP_MAX_HEADERS_SIZE (64 * 1024)

typedef struct HClient HClient;
typedef struct HConn HConn;
typedef struct HEx HEx;

/* Where a request goes, parsed once: shared by the exchanges of the same URL (the client
 * remembers the last one, so a script fetching one URL over and over parses it once). */
typedef struct {
    int refs;
    bool https, verify;
    int port;
    char *url, *host, *path, *key; /* path with query; key: HConn.key                  */
    char **hdrs;                   /* the whole header list of a request without headers or  */
    size_t nhdrs;                  /* a body of its own, made by the first such request       */
} HTarget;

enum { EX_NEW, EX_RESOLVING, EX_QUEUED, EX_SENT, EX_HEADERS, EX_DONE, EX_FAILED };
enum {
    ERR_NONE,
    ERR_CONNECT,      /* connect() failed: errno in err_errno                          */
    ERR_DNS,          /* the name did not resolve: EAI code in err_errno               */
    ERR_DISCONNECTED, /* the server closed the connection before answering             */
    ERR_PAYLOAD,      /* the connection broke in the middle of the body                */
    ERR_TIMEOUT,      /* ClientTimeout expired                                         */
    ERR_CERT,         /* TLS certificate verification failed: err_msg says why         */
    ERR_SSL,          /* another TLS failure                                           */
    ERR_CLOSED,       /* the session was closed while the request was in flight       */
    ERR_CANCELLED,    /* the waiting task was cancelled                                */
    ERR_BAD_RESPONSE, /* a status line or header evhttp could not parse, or too long: err_msg */
    ERR_OS,           /* the connection broke before an answer: errno in err_errno     */
};

struct HConn {
    HClient *cl;
    struct evhttp_connection *evcon;
    char *key;                    /* "scheme://host:port verify": which requests may reuse it    */
    HEx *ex;                      /* the exchange using it, NULL while idle                     */
    HConn *next;                  /* the client's list                                          */
    HConn *idle_next, *idle_prev; /* the client's idle list, while idle                */
    bool idle;
    bool dead;      /* must not carry another request (a TLS connection closed)   */
    int nodelay_fd; /* the socket TCP_NODELAY was set on (evhttp makes a new one per connect) */
};

struct HClient {
    AsyVM *vm;
    struct event_base *base;
    struct evdns_base *dns; /* made on the first host name to resolve                */
    const AsyOpenSSL *ossl; /* OpenSSL, opened on the first HTTPS request (dynlib.c)  */
    SSL_CTX *ssl_ctx;       /* made on the first HTTPS request                       */
    HConn *conns;
    HConn *idle; /* idle connections, the most recently used first          */
    int nconns, limit;
    HEx *wait_head, *wait_tail; /* exchanges waiting for a free connection slot        */
    HConn *graveyard;           /* connections to free outside libevent's callbacks      */
    struct event *reaper;       /* frees the graveyard                                   */
    HTarget *last;              /* the target of the last request                         */
    AsyHttpRegistry *reg;       /* where it is listed, NULL once the closer ran           */
    HClient *rnext, *rprev;
    bool base_gone; /* the event_base was freed: no libevent calls any more   */
    int refs;       /* 1 for the session, 1 per live exchange                */
    bool closed;
};

struct HEx {
    HClient *cl;
    int refs;
    int state, err, err_errno;
    char *err_msg;
    int evreq_err;   /* what evhttp's error callback said, -1 for nothing     */
    bool got_status; /* the status line was parsed when that error came      */
    /* the request */
    enum evhttp_cmd_type method;
    HTarget *tgt;            /* the fields below point into it                         */
    const char *url;         /* the full URL, for the response                        */
    const char *host, *path; /* path with query                                       */
    int port;
    bool https, verify, hdrs_shared;
    const char *key; /* the connection key (HConn.key)                        */
    char **hdrs;     /* name, value, name, value...: sent as given (owned by  */
    size_t nhdrs;    /* tgt when hdrs_shared)                                  */
    char *body;
    size_t body_len;
    /* where it is */
    struct evutil_addrinfo *addrs, *addr; /* resolved addresses, the one being tried   */
    struct evdns_getaddrinfo_request *dnsreq;
    HConn *conn;
    struct evhttp_request *req;
    HEx *wnext;          /* in the client's wait queue                            */
    struct event *timer; /* the total timeout                                     */
    /* the response */
    int status;
    char *reason;
    char **rhdrs; /* name, value, ...: one malloc'd block, strings inside  */
    size_t nrhdrs;
    struct evbuffer *in; /* the body, once complete                               */
    /* the task waiting for the next state */
    AsyTask *task;
    uint32_t gen;
};

/* ==================================================================================== */
/* Small C helpers                                                                      */
/* ==================================================================================== */

static char *dupn(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static char *dup0(const char *s) { return s ? dupn(s, strlen(s)) : NULL; }

static void free_strs(char **v, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static bool is_numeric_host(const char *h) {
    struct evutil_addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_flags = EVUTIL_AI_NUMERICHOST;
    hints.ai_socktype = SOCK_STREAM;
    if (evutil_getaddrinfo(h, NULL, &hints, &res) != 0) return false;
    evutil_freeaddrinfo(res);
    return true;
}

/* ==================================================================================== */
/* The client: connections and their reuse                                              */
/* ==================================================================================== */

static void ex_unref(HEx *ex);
static void ex_dispatch(HEx *ex);
static void ex_fail(HEx *ex, int err, int errnum, const char *msg);

static void target_unref(HTarget *t) {
    if (--t->refs > 0) return;
    free(t->url);
    free(t->host);
    free(t->path);
    free(t->key);
    free_strs(t->hdrs, t->nhdrs);
    free(t);
}

static void client_unref(HClient *cl) {
    if (--cl->refs > 0) return;
    if (cl->last) target_unref(cl->last);
    if (cl->reg) {
        if (cl->rprev)
            cl->rprev->rnext = cl->rnext;
        else
            cl->reg->clients = cl->rnext;
        if (cl->rnext) cl->rnext->rprev = cl->rprev;
    }
    if (cl->reaper && !cl->base_gone) event_free(cl->reaper);
    if (cl->ssl_ctx) cl->ossl->SSL_CTX_free(cl->ssl_ctx);
    free(cl);
}

static void conn_free(HConn *c) {
    if (c->evcon) {
        evhttp_connection_set_closecb(c->evcon, NULL, NULL);
        evhttp_connection_free(c->evcon);
    }
    free(c->key);
    free(c);
}

static void client_reap(evutil_socket_t fd, short what, void *arg) {
    ASY_UNUSED(fd);
    ASY_UNUSED(what);
    HClient *cl = arg;
    while (cl->graveyard) {
        HConn *c = cl->graveyard;
        cl->graveyard = c->next;
        conn_free(c);
    }
}

static void conn_set_idle(HConn *c, bool idle) {
    HClient *cl = c->cl;
    if (c->idle == idle) return;
    c->idle = idle;
    if (idle) {
        c->idle_prev = NULL;
        c->idle_next = cl->idle;
        if (cl->idle) cl->idle->idle_prev = c;
        cl->idle = c;
        return;
    }
    if (c->idle_prev)
        c->idle_prev->idle_next = c->idle_next;
    else
        cl->idle = c->idle_next;
    if (c->idle_next) c->idle_next->idle_prev = c->idle_prev;
    c->idle_next = c->idle_prev = NULL;
}

/* Take c out of the client's list and free it soon (never inside its own callbacks). */
static void conn_bury(HConn *c) {
    HClient *cl = c->cl;
    conn_set_idle(c, false);
    for (HConn **p = &cl->conns; *p; p = &(*p)->next) {
        if (*p != c) continue;
        *p = c->next;
        cl->nconns--;
        break;
    }
    c->next = cl->graveyard;
    cl->graveyard = c;
    if (!cl->reaper) cl->reaper = evtimer_new(cl->base, client_reap, cl);
    struct timeval tv = {0, 0};
    if (cl->reaper) evtimer_add(cl->reaper, &tv);
}

static void conn_closed_cb(struct evhttp_connection *evcon, void *arg) {
    ASY_UNUSED(evcon);
    HConn *c = arg;
    /* evhttp reconnects a plain connection by itself; a TLS one would reuse a finished
     * SSL object, so it is retired instead. */
    if (strncmp(c->key, "https:", 6) == 0) c->dead = true;
}

/* The client's TLS context, and OpenSSL itself on the first HTTPS request (NULL when it
 * cannot be opened: ex fails with asy_dynlib_error's message). */
static SSL_CTX *client_ssl_ctx(HClient *cl, HEx *ex) {
    if (cl->ssl_ctx) return cl->ssl_ctx;
    const AsyOpenSSL *o = cl->ossl ? cl->ossl : asy_openssl(cl->vm);
    if (!o) {
        char msg[300];
        snprintf(msg, sizeof msg, "[SSL] %s", asy_dynlib_error(cl->vm));
        ex_fail(ex, ERR_SSL, 1, msg);
        return NULL;
    }
    cl->ossl = o;
    SSL_CTX *ctx = o->SSL_CTX_new(o->TLS_client_method());
    if (!ctx) return NULL;
    o->SSL_CTX_set_default_verify_paths(ctx);
    /* SSL_CTX_set_min_proto_version and SSL_set_tlsext_host_name are macros over the
     * ctrl functions */
    o->SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, NULL);
    cl->ssl_ctx = ctx;
    return ctx;
}

/* No Nagle on c's socket, as aiohttp (tcp_nodelay): TLS sends a request's headers and
 * body as separate records, and the second would wait for the server's delayed ACK. The
 * socket exists once evhttp_make_request has started connecting. */
static void conn_nodelay(HConn *c) {
    evutil_socket_t fd = bufferevent_getfd(evhttp_connection_get_bufferevent(c->evcon));
    if (fd < 0 || fd == c->nodelay_fd) return;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->nodelay_fd = fd;
}

/* A new connection for ex to ex->addr (HTTPS: a TLS bufferevent verifying the peer). */
static HConn *conn_new(HClient *cl, HEx *ex) {
    char ip[INET6_ADDRSTRLEN + 1] = "";
    struct evutil_addrinfo *a = ex->addr;
    if (a && a->ai_family == AF_INET)
        evutil_inet_ntop(AF_INET, &((struct sockaddr_in *)a->ai_addr)->sin_addr, ip, sizeof ip);
    else if (a && a->ai_family == AF_INET6)
        evutil_inet_ntop(AF_INET6, &((struct sockaddr_in6 *)a->ai_addr)->sin6_addr, ip, sizeof ip);
    else
        snprintf(ip, sizeof ip, "%s", ex->host);
    struct bufferevent *bev = NULL;
    if (ex->https) {
        SSL_CTX *ctx = client_ssl_ctx(cl, ex);
        const AsyOpenSSL *o = cl->ossl;
        SSL *ssl = ctx ? o->SSL_new(ctx) : NULL;
        if (!ssl) return NULL;
        if (!is_numeric_host(ex->host))
            o->SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                        (void *)ex->host);
        if (ex->verify) {
            o->SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
            X509_VERIFY_PARAM *param = o->SSL_get0_param(ssl);
            if (is_numeric_host(ex->host))
                o->X509_VERIFY_PARAM_set1_ip_asc(param, ex->host);
            else
                o->X509_VERIFY_PARAM_set1_host(param, ex->host, 0);
        } else {
            o->SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
        }
        bev = o->bufferevent_openssl_socket_new(cl->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                                BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
        if (!bev) {
            o->SSL_free(ssl);
            return NULL;
        }
        o->bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    }
    HConn *c = calloc(1, sizeof *c);
    if (!c) {
        if (bev) bufferevent_free(bev);
        return NULL;
    }
    c->cl = cl;
    c->nodelay_fd = -1;
    c->key = dup0(ex->key);
    c->evcon =
        evhttp_connection_base_bufferevent_new(cl->base, NULL, bev, ip, (unsigned short)ex->port);
    if (!c->evcon || !c->key) {
        if (!c->evcon && bev) bufferevent_free(bev);
        conn_free(c);
        return NULL;
    }
    evhttp_connection_set_retries(c->evcon, 0);
    evhttp_connection_set_max_headers_size(c->evcon, HTTP_MAX_HEADERS_SIZE);
    evhttp_connection_set_closecb(c->evcon, conn_closed_cb, c);
    c->next = cl->conns;
    cl->conns = c;
    cl->nconns++;
    return c;
}

static HConn *client_idle(HClient *cl, const char *key) {
    for (HConn *c = cl->idle; c; c = c->idle_next)
        if (!c->dead && (!key || strcmp(c->key, key) == 0)) return c;
    return NULL;
}

static void client_enqueue(HClient *cl, HEx *ex) {
    ex->state = EX_QUEUED;
    ex->wnext = NULL;
    if (cl->wait_tail)
        cl->wait_tail->wnext = ex;
    else
        cl->wait_head = ex;
    cl->wait_tail = ex;
}

static void client_dequeue(HClient *cl, HEx *ex) {
    HEx *prev = NULL;
    for (HEx *e = cl->wait_head; e; prev = e, e = e->wnext) {
        if (e != ex) continue;
        if (prev)
            prev->wnext = e->wnext;
        else
            cl->wait_head = e->wnext;
        if (cl->wait_tail == e) cl->wait_tail = prev;
        e->wnext = NULL;
        return;
    }
}

/* A connection slot became free: the first waiting exchange may go. */
static void client_pump(HClient *cl) {
    while (cl->wait_head && !cl->closed) {
        HEx *ex = cl->wait_head;
        bool room = cl->nconns < cl->limit || client_idle(cl, ex->key) || client_idle(cl, NULL);
        if (!room) {
            /* dead idle connections still count: retire them */
            HConn *d = NULL;
            for (HConn *c = cl->idle; c && !d; c = c->idle_next)
                if (c->dead) d = c;
            if (!d) return;
            conn_bury(d);
            continue;
        }
        client_dequeue(cl, ex);
        ex->state = EX_NEW;
        ex_dispatch(ex);
        ex_unref(ex); /* the queue's reference (ex_dispatch took its own) */
    }
}

/* Wake the task waiting on ex, if it still waits on it. */
static void ex_wake(HEx *ex) {
    AsyTask *t = ex->task;
    if (!t) return;
    ex->task = NULL;
    if (t->wait_gen == ex->gen) asy_task_wait_resolve(ex->cl->vm, t, ASY_NONE);
}

/* ==================================================================================== */
/* Exchanges                                                                            */
/* ==================================================================================== */

static void ex_free(HEx *ex) {
    if (ex->timer && !ex->cl->base_gone) event_free(ex->timer);
    if (ex->addrs) evutil_freeaddrinfo(ex->addrs);
    if (ex->in) evbuffer_free(ex->in);
    free(ex->err_msg);
    if (ex->tgt) target_unref(ex->tgt);
    free(ex->body);
    free(ex->reason);
    if (!ex->hdrs_shared) free_strs(ex->hdrs, ex->nhdrs);
    free(ex->rhdrs);
    HClient *cl = ex->cl;
    free(ex);
    client_unref(cl);
}

static void ex_unref(HEx *ex) {
    if (--ex->refs == 0) ex_free(ex);
}

/* The connection is done with ex: give it back (or retire it), let waiters go. */
static void ex_release_conn(HEx *ex, bool broken) {
    HConn *c = ex->conn;
    ex->conn = NULL;
    ex->req = NULL;
    if (!c) return;
    c->ex = NULL;
    if (broken && strncmp(c->key, "https:", 6) == 0) c->dead = true;
    if (c->dead)
        conn_bury(c);
    else
        conn_set_idle(c, true);
    client_pump(ex->cl);
}

/* Freed, not just stopped: an exchange outlives its work (the response holds it), and the
 * closer must not leave timers behind for after the event_base is gone. */
static void ex_timer_stop(HEx *ex) {
    if (ex->timer && !ex->cl->base_gone) event_free(ex->timer);
    ex->timer = NULL;
}

static void ex_fail(HEx *ex, int err, int errnum, const char *msg) {
    if (ex->state == EX_DONE || ex->state == EX_FAILED) return;
    ex->err = err;
    ex->err_errno = errnum;
    if (msg && !ex->err_msg) ex->err_msg = dup0(msg);
    ex->state = EX_FAILED;
    ex_timer_stop(ex);
    ex_wake(ex);
}

/* Copy the response headers out of evhttp's request (it frees them with it). */
static bool ex_take_headers(HEx *ex, struct evhttp_request *req) {
    ex->status = evhttp_request_get_response_code(req);
    const char *line = evhttp_request_get_response_code_line(req);
    ex->reason = dup0(line ? line : "");
    struct evkeyvalq *q = evhttp_request_get_input_headers(req);
    size_t n = 0, bytes = 0;
    struct evkeyval *h;
    TAILQ_FOREACH(h, q, next) {
        n++;
        bytes += strlen(h->key) + strlen(h->value) + 2;
    }
    /* the pointers, then the strings they point at: one allocation */
    ex->rhdrs = malloc((n * 2 + 1) * sizeof(char *) + bytes);
    if (!ex->rhdrs || !ex->reason) return false;
    char *p = (char *)(ex->rhdrs + n * 2 + 1);
    TAILQ_FOREACH(h, q, next) {
        const char *kv[2] = {h->key, h->value};
        for (int i = 0; i < 2; i++) {
            size_t len = strlen(kv[i]) + 1;
            memcpy(p, kv[i], len);
            ex->rhdrs[ex->nrhdrs++] = p;
            p += len;
        }
    }
    ex->rhdrs[ex->nrhdrs] = NULL;
    return true;
}

static int ex_header_cb(struct evhttp_request *req, void *arg) {
    HEx *ex = arg;
    if (ex->state != EX_SENT) return 0;
    if (!ex_take_headers(ex, req)) return -1;
    ex->state = EX_HEADERS;
    ex_wake(ex);
    return 0;
}

static void ex_error_cb(enum evhttp_request_error err, void *arg) {
    HEx *ex = arg;
    if (err != EVREQ_HTTP_REQUEST_CANCEL) ex->evreq_err = (int)err;
    if (ex->req) ex->got_status = evhttp_request_get_response_code(ex->req) != 0;
}

/* A response evhttp refused to parse: aiohttp's ClientResponseError(400, message) words. */
static void ex_fail_bad_response(HEx *ex) {
    char msg[96];
    if (ex->evreq_err == EVREQ_HTTP_DATA_TOO_LONG)
        snprintf(msg, sizeof msg, "Got more than %d bytes when reading headers",
                 HTTP_MAX_HEADERS_SIZE);
    else
        snprintf(msg, sizeof msg, "%s",
                 ex->got_status ? "Invalid header token" : "Bad status line");
    ex_fail(ex, ERR_BAD_RESPONSE, 0, msg);
}

/* Why a TLS connection failed: the verification result, or OpenSSL's error queue.
 * false when neither says anything (not a TLS failure). */
static bool ex_tls_failure(HEx *ex, struct evhttp_connection *evcon) {
    const AsyOpenSSL *o = ex->cl->ossl;
    if (!o) return false;
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    SSL *ssl = bev ? o->bufferevent_openssl_get_ssl(bev) : NULL;
    long vr = ssl ? o->SSL_get_verify_result(ssl) : X509_V_OK;
    char msg[512];
    if (ssl && vr != X509_V_OK) {
        snprintf(msg, sizeof msg,
                 "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: %s (_ssl.c:992)",
                 o->X509_verify_cert_error_string(vr));
        ex_fail(ex, ERR_CERT, 1, msg);
        return true;
    }
    unsigned long e = bev ? o->bufferevent_get_openssl_error(bev) : 0;
    /* SSL_ERROR_SYSCALL is libevent's note that the socket failed (a refused connect): not
     * OpenSSL's to explain */
    if (!e || e == SSL_ERROR_SYSCALL) return false;
    char buf[256];
    o->ERR_error_string_n(e, buf, sizeof buf);
    snprintf(msg, sizeof msg, "[SSL] %s", buf);
    ex_fail(ex, ERR_SSL, 1, msg);
    return true;
}

static void ex_done_cb(struct evhttp_request *req, void *arg) {
    HEx *ex = arg;
    int saved_errno = errno;
    HConn *conn = ex->conn;
    bool was_fresh = ex->state == EX_SENT && ex->status == 0;
    if (ex->state == EX_DONE || ex->state == EX_FAILED) { /* timed out, cancelled */
        ex_release_conn(ex, true);
        ex_unref(ex);
        return;
    }
    if (req && evhttp_request_get_response_code(req) != 0) {
        if (ex->state == EX_SENT && !ex_take_headers(ex, req)) {
            ex_fail(ex, ERR_PAYLOAD, 0, "out of memory");
        } else {
            ex->in = evbuffer_new();
            if (ex->in) evbuffer_add_buffer(ex->in, evhttp_request_get_input_buffer(req));
            ex->state = EX_DONE;
            ex_timer_stop(ex);
            ex_wake(ex);
        }
        ex_release_conn(ex, false);
        ex_unref(ex);
        return;
    }
    /* no response: a connection that never worked, or one that broke */
    bool connect_failed = req && ex->evreq_err < 0 && was_fresh;
    if (ex->https && conn && ex->state == EX_SENT && ex_tls_failure(ex, conn->evcon)) {
        /* the TLS handshake failed (evhttp sees that as an early EOF) */
    } else if (connect_failed) {
        /* evhttp's cleanup shuts the unconnected socket down (ENOTCONN) after connect()
         * failed, so errno rarely survives: a refused connection is by far the usual cause */
        int e = saved_errno && saved_errno != ENOTCONN ? saved_errno : ECONNREFUSED;
        if (ex->addr && ex->addr->ai_next) { /* try the host's next address */
            ex->addr = ex->addr->ai_next;
            if (conn) conn->dead = true;
            ex_release_conn(ex, true);
            ex->state = EX_NEW;
            ex_dispatch(ex);
            ex_unref(ex);
            return;
        }
        ex_fail(ex, ERR_CONNECT, e, NULL);
    } else if (ex->evreq_err == EVREQ_HTTP_TIMEOUT) {
        ex_fail(ex, ERR_TIMEOUT, 0, NULL);
    } else if (ex->state == EX_SENT && (ex->evreq_err == EVREQ_HTTP_INVALID_HEADER ||
                                        ex->evreq_err == EVREQ_HTTP_DATA_TOO_LONG)) {
        ex_fail_bad_response(ex);
    } else if (ex->state == EX_SENT && saved_errno == ECONNRESET) {
        ex_fail(ex, ERR_OS, ECONNRESET, NULL);
    } else if (ex->state == EX_HEADERS) {
        ex_fail(ex, ERR_PAYLOAD, 0, NULL);
    } else {
        ex_fail(ex, ERR_DISCONNECTED, 0, NULL);
    }
    ex_release_conn(ex, true);
    ex_unref(ex);
}

static void ex_send(HEx *ex, HConn *c) {
    ex->conn = c;
    c->ex = ex;
    conn_set_idle(c, false);
    ex->evreq_err = -1;
    struct evhttp_request *req = evhttp_request_new(ex_done_cb, ex);
    if (!req) {
        ex_release_conn(ex, false);
        ex_fail(ex, ERR_CONNECT, ENOMEM, NULL);
        ex_unref(ex);
        return;
    }
    evhttp_request_set_header_cb(req, ex_header_cb);
    evhttp_request_set_error_cb(req, ex_error_cb);
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    for (size_t i = 0; i + 1 < ex->nhdrs; i += 2)
        evhttp_add_header(out, ex->hdrs[i], ex->hdrs[i + 1]);
    if (ex->body_len) evbuffer_add(evhttp_request_get_output_buffer(req), ex->body, ex->body_len);
    ex->state = EX_SENT;
    ex->req = req;
    if (evhttp_make_request(c->evcon, req, ex->method, ex->path) != 0) {
        /* evhttp freed req and called nothing */
        ex->req = NULL;
        ex_release_conn(ex, true);
        ex_fail(ex, ERR_CONNECT, errno ? errno : ECONNREFUSED, NULL);
        ex_unref(ex);
        return;
    }
    conn_nodelay(c);
}

static void ex_dns_cb(int result, struct evutil_addrinfo *res, void *arg) {
    HEx *ex = arg;
    ex->dnsreq = NULL;
    if (ex->state != EX_RESOLVING) { /* cancelled or timed out meanwhile */
        if (res) evutil_freeaddrinfo(res);
        ex_unref(ex);
        return;
    }
    if (result != 0 || !res) {
        if (res) evutil_freeaddrinfo(res);
        ex_fail(ex, ERR_DNS, result, NULL);
        ex_unref(ex);
        return;
    }
    ex->addrs = ex->addr = res;
    ex->state = EX_NEW;
    ex_dispatch(ex);
    ex_unref(ex);
}

/* Resolve ex->host. true: ex->addr is set now (a numeric address); false: the resolver
 * took the in-flight reference and carries on in ex_dns_cb (which may already have run),
 * or ex failed. */
static bool ex_resolve(HEx *ex) {
    HClient *cl = ex->cl;
    struct evutil_addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    if (is_numeric_host(ex->host)) {
        hints.ai_flags = EVUTIL_AI_NUMERICHOST;
        if (evutil_getaddrinfo(ex->host, NULL, &hints, &ex->addrs) == 0) {
            ex->addr = ex->addrs;
            return true;
        }
    }
    if (!cl->dns)
        cl->dns = evdns_base_new(cl->base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
                                               EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (!cl->dns) {
        ex_fail(ex, ERR_DNS, EVUTIL_EAI_FAIL, NULL);
        ex_unref(ex);
        return false;
    }
    hints.ai_family = AF_UNSPEC;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = EVUTIL_AI_ADDRCONFIG;
    ex->state = EX_RESOLVING;
    ex->dnsreq = evdns_getaddrinfo(cl->dns, ex->host, NULL, &hints, ex_dns_cb, ex);
    return false;
}

/* Find ex a connection: an idle one to the same place, a new one, or a place in line.
 * Takes the in-flight reference, which whoever ends up working on ex carries. */
static void ex_dispatch(HEx *ex) {
    HClient *cl = ex->cl;
    ex->refs++;
    if (cl->closed) {
        ex_fail(ex, ERR_CLOSED, 0, NULL);
        ex_unref(ex);
        return;
    }
    HConn *c = client_idle(cl, ex->key);
    if (c) {
        ex_send(ex, c);
        return;
    }
    if (cl->nconns >= cl->limit) {
        HConn *other = client_idle(cl, NULL);
        for (HConn *d = cl->idle; d && !other; d = d->idle_next)
            if (d->dead) other = d;
        if (!other) {
            client_enqueue(cl, ex); /* the queue carries the reference */
            return;
        }
        conn_bury(other);
    }
    if (!ex->addr && !ex_resolve(ex)) return;
    c = conn_new(cl, ex);
    if (!c) {
        ex_fail(ex, ERR_CONNECT, ENOMEM, NULL);
        ex_unref(ex);
        return;
    }
    ex_send(ex, c);
}

/* Stop working on ex (timeout, cancellation): its connection is reset, never reused
 * half-read. Drops the in-flight reference. */
static void ex_abort(HEx *ex, int err) {
    ex->task = NULL;
    if (ex->state == EX_DONE || ex->state == EX_FAILED) return;
    HClient *cl = ex->cl;
    int state = ex->state;
    ex_fail(ex, err, 0, NULL);
    if (state == EX_QUEUED) {
        client_dequeue(cl, ex);
        ex_unref(ex);
    } else if (state == EX_RESOLVING && ex->dnsreq) {
        struct evdns_getaddrinfo_request *r = ex->dnsreq;
        ex->dnsreq = NULL;
        evdns_getaddrinfo_cancel(r); /* its callback drops the resolver's reference */
    } else if ((state == EX_SENT || state == EX_HEADERS) && ex->req) {
        /* evhttp calls neither callback of a cancelled request (at most the error one) */
        evhttp_cancel_request(ex->req);
        ex_release_conn(ex, true);
        ex_unref(ex);
    }
}

static void ex_timeout_cb(evutil_socket_t fd, short what, void *arg) {
    ASY_UNUSED(fd);
    ASY_UNUSED(what);
    HEx *ex = arg;
    ex->refs++;
    AsyTask *t = ex->task;
    uint32_t gen = ex->gen;
    ex_abort(ex, ERR_TIMEOUT);
    ex->err = ERR_TIMEOUT;
    if (t && t->wait_gen == gen) asy_task_wait_resolve(ex->cl->vm, t, ASY_NONE);
    ex_unref(ex);
}

static void ex_start_timer(HEx *ex, double total) {
    if (!(total > 0)) return;
    ex->timer = evtimer_new(ex->cl->base, ex_timeout_cb, ex);
    if (!ex->timer) return;
    struct timeval tv;
    tv.tv_sec = (time_t)total;
    tv.tv_usec = (suseconds_t)((total - (double)tv.tv_sec) * 1e6);
    evtimer_add(ex->timer, &tv);
}

/* Close every connection: requests in flight fail with ERR_CLOSED. */
static void client_close(HClient *cl) {
    if (cl->closed) return;
    cl->closed = true;
    while (cl->wait_head) {
        HEx *ex = cl->wait_head;
        client_dequeue(cl, ex);
        ex_fail(ex, ERR_CLOSED, 0, NULL);
        ex_unref(ex);
    }
    cl->idle = NULL;
    while (cl->conns) {
        HConn *c = cl->conns;
        cl->conns = c->next;
        cl->nconns--;
        HEx *ex = c->ex;
        c->ex = NULL;
        conn_free(c); /* frees its evhttp request without calling back */
        if (ex) {
            ex->conn = NULL;
            ex->req = NULL;
            ex_fail(ex, ERR_CLOSED, 0, NULL);
            ex_unref(ex);
        }
    }
    client_reap(-1, 0, cl);
    if (cl->dns) {
        evdns_base_free(cl->dns, 1);
        cl->dns = NULL;
    }
}

/* ==================================================================================== */
/* The asy objects                                                                      */
/* ==================================================================================== */

typedef struct {
    AsyObj hdr;
    AsyHttpState *st;
    HClient *cl;
    AsyValue headers; /* default headers (a dict or multidict), or None          */
    AsyValue timeout; /* ClientTimeout                                           */
    AsyValue connector;
    AsyValue base_url; /* None, or a str prefix                                   */
    AsyValue auth;     /* None, or a BasicAuth for every request                  */
    bool raise_for_status;
    bool verify; /* False when the connector says ssl=False                */
    bool closed;
} AsySession;

typedef struct {
    AsyObj hdr;
    AsySession *session;
    HEx *ex;
    AsyValue method, url; /* str                                                      */
    AsyValue url_obj, headers, history, body, req_headers, content;
    bool released;
} AsyResponse;

typedef struct {
    AsyObj hdr;
    AsySession *session;
    AsyValue method, url;
    AsyDict *kw;
    AsyOp *op;
    HEx *ex; /* the hop in flight                                       */
    AsyList *history;
    AsyValue response;
    int redirects;
    int max_redirects;
    bool allow_redirects, raise_for_status;
    double total;
} AsyReqCM;

static AsySession *sess_of(AsyValue v) { return (AsySession *)ASY_AS_OBJ(v); }
static AsyResponse *resp_of(AsyValue v) { return (AsyResponse *)ASY_AS_OBJ(v); }

/* ---- ClientSession ---- */

static void sess_traverse(AsyVM *vm, AsyObj *o) {
    AsySession *s = (AsySession *)o;
    asy_gc_mark_obj(vm, &s->st->hdr);
    asy_gc_mark_value(vm, s->headers);
    asy_gc_mark_value(vm, s->timeout);
    asy_gc_mark_value(vm, s->connector);
    asy_gc_mark_value(vm, s->base_url);
    asy_gc_mark_value(vm, s->auth);
}

static void sess_finalize(AsyVM *vm, AsyObj *o) {
    ASY_UNUSED(vm);
    AsySession *s = (AsySession *)o;
    if (!s->cl) return;
    client_close(s->cl);
    client_unref(s->cl);
    s->cl = NULL;
}

static AsyValue sess_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    AsyHttpState *st = asy_http_state(vm);
    if (!st) return ASY_ERR;
    AsyValue base_url = asy_kwarg(vm, kw, "base_url");
    if (argc >= 1 && ASY_IS_UNDEF(base_url)) base_url = argv[0];
    if (!asy_check_args(vm, "ClientSession", argc, 0, 1)) return ASY_ERR;
    AsyValue connector = asy_kwarg(vm, kw, "connector");
    AsyValue headers = asy_kwarg(vm, kw, "headers");
    AsyValue timeout = asy_kwarg(vm, kw, "timeout");
    AsyValue rfs = asy_kwarg(vm, kw, "raise_for_status");
    AsyValue auth = asy_kwarg(vm, kw, "auth");
    const char *ignored[] = {"loop",
                             "cookies",
                             "skip_auto_headers",
                             "json_serialize",
                             "request_class",
                             "response_class",
                             "ws_response_class",
                             "version",
                             "cookie_jar",
                             "connector_owner",
                             "read_timeout",
                             "conn_timeout",
                             "auto_decompress",
                             "trust_env",
                             "requote_redirect_url",
                             "trace_configs",
                             "read_bufsize",
                             NULL};
    for (int i = 0; ignored[i]; i++)
        asy_kwarg(vm, kw, ignored[i]);
    if (!asy_check_kw_done(vm, "ClientSession", kw)) return ASY_ERR;
    AsySession *s = asy_gc_alloc(vm, type, type->basicsize);
    s->st = st;
    s->headers = ASY_IS_UNDEF(headers) ? ASY_NONE : headers;
    s->timeout = ASY_IS_UNDEF(timeout) ? ASY_NONE : timeout;
    s->connector = ASY_IS_UNDEF(connector) ? ASY_NONE : connector;
    s->base_url = ASY_IS_UNDEF(base_url) ? ASY_NONE : base_url;
    s->auth = ASY_IS_UNDEF(auth) ? ASY_NONE : auth;
    s->verify = true;
    AsyValue self = ASY_OBJ(s);
    asy_root_push(vm, self);
    int limit = HTTP_DEFAULT_LIMIT;
    if (!ASY_IS_NONE(s->connector)) {
        AsyValue l = asy_getattr_opt(vm, s->connector, asy_str_intern_cstr(vm, "limit"));
        int64_t n;
        if (ASY_IS_INTLIKE(l) && asy_index(vm, l, &n)) limit = n <= 0 ? 1 << 30 : (int)n;
        AsyValue v = asy_getattr_opt(vm, s->connector, asy_str_intern_cstr(vm, "_ssl"));
        if (ASY_IS_BOOL(v) && !ASY_AS_BOOL(v)) s->verify = false;
        if (vm->exc) asy_exc_clear(vm);
    }
    if (!ASY_IS_UNDEF(rfs)) {
        int t = asy_truthy(vm, rfs);
        if (t < 0) {
            asy_root_pop(vm, 1);
            return ASY_ERR;
        }
        s->raise_for_status = t;
    }
    asy_root_pop(vm, 1);
    HClient *cl = calloc(1, sizeof *cl);
    if (!cl) return asy_raise_memory(vm);
    cl->vm = vm;
    cl->base = ((AsyLoop *)vm->loop)->base;
    cl->limit = limit;
    cl->refs = 1;
    cl->reg = st->reg;
    if (cl->reg) {
        cl->rnext = cl->reg->clients;
        if (cl->rnext) cl->rnext->rprev = cl;
        cl->reg->clients = cl;
    }
    s->cl = cl;
    return self;
}

static AsyValue sess_close_now(AsyVM *vm, AsySession *s) {
    s->closed = true;
    if (s->cl) client_close(s->cl);
    return asy_op_value(vm, ASY_NONE);
}

static AsyValue sessm_close(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "close", argc - 1, 0, 0)) return ASY_ERR;
    return sess_close_now(vm, sess_of(argv[0]));
}

static AsyValue sessm_aenter(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__aenter__", argc - 1, 0, 0)) return ASY_ERR;
    return asy_op_value(vm, argv[0]);
}

static AsyValue sessm_aexit(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__aexit__", argc - 1, 0, 3)) return ASY_ERR;
    return sess_close_now(vm, sess_of(argv[0]));
}

static AsyValue sess_getattr(AsyVM *vm, AsyValue self, AsyStr *name) {
    AsySession *s = sess_of(self);
    if (strcmp(name->data, "closed") == 0) return ASY_BOOL(s->closed);
    if (strcmp(name->data, "timeout") == 0) {
        if (!ASY_IS_NONE(s->timeout)) return s->timeout;
        AsyValue total = ASY_INT(300);
        AsyDict *kw = asy_dict_new(vm);
        asy_dict_set_cstr(vm, kw, "total", total);
        return asy_call(vm, s->st->timeout_cls, 0, NULL, kw);
    }
    if (strcmp(name->data, "headers") == 0) return s->headers;
    if (strcmp(name->data, "connector") == 0) return s->connector;
    return ASY_TYPE(vm, object)->getattr(vm, self, name);
}

/* ---- building a request ---- */

static bool hdr_push(char ***v, size_t *n, size_t *cap, const char *k, size_t kl, const char *val,
                     size_t vl) {
    if (*n + 2 > *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        char **nv = realloc(*v, c * sizeof *nv);
        if (!nv) return false;
        *v = nv;
        *cap = c;
    }
    char *a = dupn(k, kl), *b = dupn(val, vl);
    if (!a || !b) {
        free(a);
        free(b);
        return false;
    }
    (*v)[(*n)++] = a;
    (*v)[(*n)++] = b;
    return true;
}

static bool hdr_has(char **v, size_t n, const char *k) {
    for (size_t i = 0; i + 1 < n; i += 2)
        if (strcasecmp(v[i], k) == 0) return true;
    return false;
}

/* Add the headers of a mapping (dict, multidict, or pairs) to the list. */
static bool add_headers(AsyVM *vm, char ***v, size_t *n, size_t *cap, AsyValue hdrs) {
    if (ASY_IS_NONE(hdrs) || ASY_IS_UNDEF(hdrs)) return true;
    AsyValue items = hdrs;
    AsyValue m = asy_getattr_opt(vm, hdrs, asy_str_intern_cstr(vm, "items"));
    if (ASY_IS_ERR(m)) return false;
    if (!ASY_IS_UNDEF(m)) {
        asy_root_push(vm, m);
        items = asy_call(vm, m, 0, NULL, NULL);
        asy_root_pop(vm, 1);
        if (ASY_IS_ERR(items)) return false;
    }
    asy_root_push(vm, items);
    AsyList *l = asy_list_from_iterable(vm, items);
    asy_root_pop(vm, 1);
    if (!l) return false;
    asy_root_push(vm, ASY_OBJ(l));
    bool ok = true;
    for (int64_t i = 0; ok && i < l->len; i++) {
        AsyTuple *t = asy_tuple_from_iterable(vm, l->items[i]);
        if (t && t->len != 2) {
            asy_raise(vm, ASY_EXC_ValueError, "headers must be (name, value) pairs");
            t = NULL;
        }
        AsyStr *k = t ? asy_http_to_str(vm, t->items[0]) : NULL;
        AsyStr *val = k ? asy_http_to_str(vm, t->items[1]) : NULL;
        ok = val != NULL;
        if (ok && (memchr(val->data, '\n', val->len) || memchr(val->data, '\r', val->len) ||
                   memchr(k->data, '\n', k->len) || memchr(k->data, '\r', k->len))) {
            asy_raise(vm, ASY_EXC_ValueError,
                      "Newline or carriage return character detected "
                      "in HTTP status message or header. This is a "
                      "potential security issue.");
            ok = false;
        }
        if (ok && !hdr_push(v, n, cap, k->data, k->len, val->data, val->len)) {
            asy_raise_memory(vm);
            ok = false;
        }
    }
    asy_root_pop(vm, 1);
    return ok;
}

static int method_of(const char *m) {
    static const struct {
        const char *name;
        enum evhttp_cmd_type type;
    } methods[] = {
        {"GET", EVHTTP_REQ_GET},       {"POST", EVHTTP_REQ_POST},
        {"HEAD", EVHTTP_REQ_HEAD},     {"PUT", EVHTTP_REQ_PUT},
        {"DELETE", EVHTTP_REQ_DELETE}, {"OPTIONS", EVHTTP_REQ_OPTIONS},
        {"TRACE", EVHTTP_REQ_TRACE},   {"CONNECT", EVHTTP_REQ_CONNECT},
        {"PATCH", EVHTTP_REQ_PATCH},
    };
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strcasecmp(m, methods[i].name) == 0) return (int)methods[i].type;
    return -1;
}

static HTarget *target_new(const char *url, bool verify) {
    struct evhttp_uri *u = evhttp_uri_parse_with_flags(url, EVHTTP_URI_NONCONFORMANT);
    if (!u) return NULL;
    const char *scheme = evhttp_uri_get_scheme(u), *host = evhttp_uri_get_host(u);
    HTarget *t = NULL;
    if (scheme && host && *host &&
        (strcasecmp(scheme, "http") == 0 || strcasecmp(scheme, "https") == 0))
        t = calloc(1, sizeof *t);
    if (t) {
        t->refs = 1;
        t->verify = verify;
        t->https = strcasecmp(scheme, "https") == 0;
        t->port = evhttp_uri_get_port(u);
        if (t->port < 0) t->port = t->https ? 443 : 80;
        const char *path = evhttp_uri_get_path(u), *q = evhttp_uri_get_query(u);
        if (!path || !*path) path = "/";
        size_t n = strlen(path) + (q ? strlen(q) + 1 : 0) + 1;
        t->path = malloc(n);
        if (t->path) snprintf(t->path, n, "%s%s%s", path, q ? "?" : "", q ? q : "");
        size_t hl = strlen(host);
        if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') /* an IPv6 literal */
            t->host = dupn(host + 1, hl - 2);
        else
            t->host = dup0(host);
        t->url = dup0(url);
        size_t kn = strlen(host) + 32;
        t->key = malloc(kn);
        if (t->key)
            snprintf(t->key, kn, "%s://%s:%d %d", t->https ? "https" : "http", host, t->port,
                     verify);
        if (!t->path || !t->host || !t->url || !t->key) {
            target_unref(t);
            t = NULL;
        }
    }
    evhttp_uri_free(u);
    return t;
}

/* Point ex at the target of a URL string; false (nothing raised) when it is not a usable
 * http(s) URL. */
static bool ex_set_url(HEx *ex, const char *url) {
    HClient *cl = ex->cl;
    HTarget *t = cl->last;
    if (!t || t->verify != ex->verify || strcmp(t->url, url) != 0) {
        t = target_new(url, ex->verify);
        if (!t) return false;
        if (cl->last) target_unref(cl->last);
        cl->last = t; /* the cache's reference */
    }
    t->refs++;
    if (ex->tgt) target_unref(ex->tgt);
    ex->tgt = t;
    ex->url = t->url;
    ex->host = t->host;
    ex->path = t->path;
    ex->key = t->key;
    ex->port = t->port;
    ex->https = t->https;
    if (ex->addrs) evutil_freeaddrinfo(ex->addrs);
    ex->addrs = ex->addr = NULL;
    return true;
}

/* Host header value: the host, with the port when it is not the scheme's default. */
static void ex_host_header(HEx *ex, char *buf, size_t n) {
    bool v6 = strchr(ex->host, ':') != NULL;
    bool dflt = ex->port == (ex->https ? 443 : 80);
    if (dflt)
        snprintf(buf, n, v6 ? "[%s]" : "%s", ex->host);
    else
        snprintf(buf, n, v6 ? "[%s]:%d" : "%s:%d", ex->host, ex->port);
}

/* The full header list of a hop: user headers, then what aiohttp adds by itself. */
static bool ex_finish_headers(HEx *ex, char **user, size_t nuser, const char *ctype) {
    char **v = NULL;
    size_t n = 0, cap = 0;
    char host[300];
    ex_host_header(ex, host, sizeof host);
    bool ok = true;
    if (!hdr_has(user, nuser, "Host")) ok = hdr_push(&v, &n, &cap, "Host", 4, host, strlen(host));
    for (size_t i = 0; ok && i + 1 < nuser; i += 2)
        ok = hdr_push(&v, &n, &cap, user[i], strlen(user[i]), user[i + 1], strlen(user[i + 1]));
    if (ok && !hdr_has(user, nuser, "Accept")) ok = hdr_push(&v, &n, &cap, "Accept", 6, "*/*", 3);
    if (ok && !hdr_has(user, nuser, "User-Agent"))
        ok = hdr_push(&v, &n, &cap, "User-Agent", 10, HTTP_USER_AGENT, strlen(HTTP_USER_AGENT));
    if (ok && ctype && !hdr_has(user, nuser, "Content-Type"))
        ok = hdr_push(&v, &n, &cap, "Content-Type", 12, ctype, strlen(ctype));
    bool has_body = ex->body_len > 0 || ex->method == EVHTTP_REQ_POST ||
                    ex->method == EVHTTP_REQ_PUT || ex->method == EVHTTP_REQ_PATCH;
    if (ok && has_body && !hdr_has(user, nuser, "Content-Length")) {
        char len[32];
        snprintf(len, sizeof len, "%zu", ex->body_len);
        ok = hdr_push(&v, &n, &cap, "Content-Length", 14, len, strlen(len));
    }
    if (!ex->hdrs_shared) free_strs(ex->hdrs, ex->nhdrs);
    ex->hdrs_shared = false;
    ex->hdrs = v;
    ex->nhdrs = n;
    return ok;
}

static HEx *ex_new(HClient *cl) {
    HEx *ex = calloc(1, sizeof *ex);
    if (!ex) return NULL;
    ex->cl = cl;
    ex->refs = 1;
    ex->evreq_err = -1;
    cl->refs++;
    return ex;
}

static double opt_seconds(AsyVM *vm, AsyValue obj, const char *name, double dflt) {
    AsyValue v = asy_getattr_opt(vm, obj, asy_str_intern_cstr(vm, name));
    double d;
    if (ASY_IS_ERR(v)) asy_exc_clear(vm);
    if (ASY_IS_UNDEF(v) || ASY_IS_ERR(v)) return dflt;
    if (ASY_IS_NONE(v)) return 0;
    if (!asy_to_double(vm, v, &d)) {
        asy_exc_clear(vm);
        return dflt;
    }
    return d;
}

/* The body: data= (str, bytes, dict -> form) or json=. Sets *ctype. */
static bool req_body(AsyVM *vm, HEx *ex, AsyValue data, AsyValue json, const char **ctype) {
    AsyValue raw = ASY_UNDEF;
    *ctype = NULL;
    if (!ASY_IS_UNDEF(json) && !ASY_IS_NONE(json)) {
        if (!ASY_IS_UNDEF(data) && !ASY_IS_NONE(data)) {
            asy_raise(vm, ASY_EXC_ValueError,
                      "data and json parameters can not be used at the "
                      "same time");
            return false;
        }
        raw = asy_http_json_dumps(vm, json);
        *ctype = "application/json";
    } else if (!ASY_IS_UNDEF(data) && !ASY_IS_NONE(data)) {
        if (ASY_IS_OBJ(data) && asy_isinstance(vm, data, ASY_TYPE(vm, bytes))) {
            raw = data;
            *ctype = "application/octet-stream";
        } else if (ASY_IS_OBJ(data) && asy_isinstance(vm, data, ASY_TYPE(vm, str))) {
            raw = data;
            *ctype = "text/plain; charset=utf-8";
        } else {
            AsyStrBuf b;
            asy_strbuf_init(&b);
            if (!asy_http_urlencode_mapping(vm, &b, data)) {
                asy_strbuf_free(&b);
                return false;
            }
            AsyStr *s = asy_strbuf_finish(vm, &b);
            if (!s) return false;
            raw = ASY_OBJ(s);
            *ctype = "application/x-www-form-urlencoded";
        }
    }
    if (ASY_IS_ERR(raw)) return false;
    if (ASY_IS_UNDEF(raw)) return true;
    const char *p;
    size_t n;
    if (asy_isinstance(vm, raw, ASY_TYPE(vm, bytes))) {
        p = (const char *)((AsyBytes *)ASY_AS_OBJ(raw))->data;
        n = ((AsyBytes *)ASY_AS_OBJ(raw))->len;
    } else {
        p = ((AsyStr *)ASY_AS_OBJ(raw))->data;
        n = ((AsyStr *)ASY_AS_OBJ(raw))->len;
    }
    ex->body = dupn(p, n);
    ex->body_len = n;
    if (!ex->body) asy_raise_memory(vm);
    return ex->body != NULL;
}

/* The URL to request: str(url), joined to base_url, with params appended. */
static AsyStr *req_url(AsyVM *vm, AsySession *s, AsyValue url, AsyValue params) {
    AsyStr *u = asy_http_to_str(vm, url);
    if (!u) return NULL;
    AsyStrBuf b;
    asy_strbuf_init(&b);
    if (!ASY_IS_NONE(s->base_url) && u->data[0] == '/') {
        AsyStr *base = asy_http_to_str(vm, s->base_url);
        if (!base) return NULL;
        size_t bl = base->len;
        while (bl > 0 && base->data[bl - 1] == '/')
            bl--;
        asy_strbuf_append(vm, &b, base->data, bl);
    }
    asy_strbuf_append_str(vm, &b, u);
    if (!ASY_IS_UNDEF(params) && !ASY_IS_NONE(params)) {
        asy_strbuf_append_cstr(vm, &b, strchr(u->data, '?') ? "&" : "?");
        size_t before = b.len;
        if (!asy_http_urlencode_mapping(vm, &b, params)) {
            asy_strbuf_free(&b);
            return NULL;
        }
        if (b.len == before) b.len--; /* no params after all: drop the '?' */
    }
    return asy_strbuf_finish(vm, &b);
}

/* session.request(...)'s keyword arguments, turned into the first hop's exchange. */
static HEx *reqcm_build(AsyVM *vm, AsyReqCM *cm) {
    AsySession *s = cm->session;
    AsyHttpState *st = s->st;
    static const char *const names[] = {
        "params",        "data", "json",       "headers",          "timeout", "allow_redirects",
        "max_redirects", "ssl",  "verify_ssl", "raise_for_status", "auth",    NULL};
    static const char *const ignored[] = {
        "cookies",           "skip_auto_headers", "compress",        "chunked",
        "expect100",         "read_until_eof",    "proxy",           "proxy_auth",
        "ssl_context",       "fingerprint",       "server_hostname", "proxy_headers",
        "trace_request_ctx", "read_bufsize",      "auto_decompress", NULL};
    AsyValue a[11];
    if (!asy_http_kwargs(vm, "ClientSession._request", cm->kw, names, a, ignored)) return NULL;
    AsyValue auth = ASY_IS_UNDEF(a[10]) || ASY_IS_NONE(a[10]) ? s->auth : a[10];
    AsyValue params = a[0], data = a[1], json = a[2], headers = a[3], timeout = a[4];
    AsyValue allow = a[5], maxr = a[6], ssl = a[7], verify_ssl = a[8], rfs = a[9];
    if (s->closed) {
        asy_raise(vm, ASY_EXC_RuntimeError, "Session is closed");
        return NULL;
    }
    AsyStr *method = asy_http_to_str(vm, cm->method);
    if (!method) return NULL;
    int m = method_of(method->data);
    if (m < 0) {
        asy_raise(vm, ASY_EXC_ValueError, "method %R is not supported", cm->method);
        return NULL;
    }
    cm->allow_redirects = true;
    if (!ASY_IS_UNDEF(allow)) {
        int t = asy_truthy(vm, allow);
        if (t < 0) return NULL;
        cm->allow_redirects = t;
    }
    cm->max_redirects = HTTP_MAX_REDIRECTS;
    int64_t mr;
    if (!ASY_IS_UNDEF(maxr)) {
        if (!asy_index(vm, maxr, &mr)) return NULL;
        cm->max_redirects = (int)mr;
    }
    cm->raise_for_status = s->raise_for_status;
    if (!ASY_IS_UNDEF(rfs) && !ASY_IS_NONE(rfs)) {
        int t = asy_truthy(vm, rfs);
        if (t < 0) return NULL;
        cm->raise_for_status = t;
    }
    AsyValue to = !ASY_IS_UNDEF(timeout) && !ASY_IS_NONE(timeout) ? timeout : s->timeout;
    cm->total = HTTP_DEFAULT_TOTAL;
    if (!ASY_IS_NONE(to)) {
        if (ASY_IS_INTLIKE(to) || ASY_IS_FLOAT(to)) {
            if (!asy_to_double(vm, to, &cm->total)) return NULL;
        } else {
            cm->total = opt_seconds(vm, to, "total", 0);
            double c = opt_seconds(vm, to, "connect", 0);
            double sc = opt_seconds(vm, to, "sock_connect", 0);
            double sr = opt_seconds(vm, to, "sock_read", 0);
            double lim = 0;
            double cands[] = {c, sc, sr};
            for (int i = 0; i < 3; i++)
                if (cands[i] > 0 && (lim == 0 || cands[i] < lim)) lim = cands[i];
            if (lim > 0 && (cm->total == 0 || lim < cm->total)) cm->total = lim;
        }
    }
    AsyStr *url = req_url(vm, s, cm->url, params);
    if (!url) return NULL;
    cm->url = ASY_OBJ(url);
    HEx *ex = ex_new(s->cl);
    if (!ex) {
        asy_raise_memory(vm);
        return NULL;
    }
    ex->method = (enum evhttp_cmd_type)m;
    ex->verify = s->verify;
    if ((ASY_IS_BOOL(ssl) && !ASY_AS_BOOL(ssl)) ||
        (ASY_IS_BOOL(verify_ssl) && !ASY_AS_BOOL(verify_ssl)))
        ex->verify = false;
    if (!ex_set_url(ex, url->data)) {
        ex_unref(ex);
        AsyValue u = asy_http_url_new(vm, url);
        asy_http_raise(vm, st->e_invalidurl, 1, &u);
        return NULL;
    }
    const char *ctype = NULL;
    char **user = NULL;
    size_t nuser = 0, cap = 0;
    bool ok = req_body(vm, ex, data, json, &ctype) &&
              add_headers(vm, &user, &nuser, &cap, s->headers) &&
              add_headers(vm, &user, &nuser, &cap, headers);
    if (ok && !ASY_IS_NONE(auth) && !ASY_IS_UNDEF(auth)) { /* BasicAuth */
        AsyValue h = asy_call_method(vm, auth, asy_str_intern_cstr(vm, "encode"), 0, NULL);
        AsyStr *hs = ASY_IS_ERR(h) ? NULL : asy_http_to_str(vm, h);
        ok = hs && hdr_push(&user, &nuser, &cap, "Authorization", 13, hs->data, hs->len);
    }
    /* request headers override the session's of the same name: keep the last */
    for (size_t i = 0; ok && i + 1 < nuser; i += 2)
        for (size_t j = i + 2; j + 1 < nuser; j += 2)
            if (strcasecmp(user[i], user[j]) == 0) {
                free(user[i + 1]);
                user[i + 1] = dup0(user[j + 1]);
                free(user[j]);
                free(user[j + 1]);
                memmove(&user[j], &user[j + 2], (nuser - j - 2) * sizeof(char *));
                nuser -= 2;
                j -= 2;
            }
    bool plain = ok && nuser == 0 && !ctype && ex->body_len == 0 && ex->method != EVHTTP_REQ_POST &&
                 ex->method != EVHTTP_REQ_PUT && ex->method != EVHTTP_REQ_PATCH;
    if (plain && ex->tgt->hdrs) { /* the same headers as the last such request */
        ex->hdrs = ex->tgt->hdrs;
        ex->nhdrs = ex->tgt->nhdrs;
        ex->hdrs_shared = true;
    } else if (ok && !ex_finish_headers(ex, user, nuser, ctype)) {
        asy_raise_memory(vm);
        ok = false;
    } else if (plain) {
        ex->tgt->hdrs = ex->hdrs;
        ex->tgt->nhdrs = ex->nhdrs;
        ex->hdrs_shared = true;
    }
    free_strs(user, nuser);
    if (!ok) {
        ex_unref(ex);
        return NULL;
    }
    return ex;
}

/* The next hop of a redirect: same headers (minus the body's when it becomes a GET). */
static HEx *ex_redirect(HEx *prev, const char *location, char **out_url) {
    char buf[4096];
    const char *url = location;
    if (strncasecmp(location, "http://", 7) != 0 && strncasecmp(location, "https://", 8) != 0) {
        const char *scheme = prev->https ? "https" : "http";
        char host[300];
        ex_host_header(prev, host, sizeof host);
        if (strncmp(location, "//", 2) == 0) {
            snprintf(buf, sizeof buf, "%s:%s", scheme, location);
        } else if (location[0] == '/') {
            snprintf(buf, sizeof buf, "%s://%s%s", scheme, host, location);
        } else {
            const char *q = strchr(prev->path, '?');
            size_t plen = q ? (size_t)(q - prev->path) : strlen(prev->path);
            const char *slash = memrchr(prev->path, '/', plen);
            int dir = slash ? (int)(slash - prev->path + 1) : 1;
            snprintf(buf, sizeof buf, "%s://%s%.*s%s", scheme, host, dir, prev->path, location);
        }
        url = buf;
    }
    HEx *ex = ex_new(prev->cl);
    if (!ex) return NULL;
    ex->verify = prev->verify;
    ex->method = prev->method;
    bool to_get = prev->status == 303 ? prev->method != EVHTTP_REQ_HEAD
                                      : (prev->status == 301 || prev->status == 302) &&
                                            prev->method == EVHTTP_REQ_POST;
    if (to_get) ex->method = EVHTTP_REQ_GET;
    if (!to_get && prev->body_len) {
        ex->body = dupn(prev->body, prev->body_len);
        ex->body_len = prev->body_len;
    }
    if (!ex_set_url(ex, url)) {
        ex_unref(ex);
        *out_url = dup0(url);
        return NULL;
    }
    char **user = NULL;
    size_t n = 0, cap = 0;
    bool ok = true;
    for (size_t i = 0; ok && i + 1 < prev->nhdrs; i += 2) {
        const char *k = prev->hdrs[i];
        if (strcasecmp(k, "Host") == 0 || strcasecmp(k, "Content-Length") == 0) continue;
        if (to_get && strcasecmp(k, "Content-Type") == 0) continue;
        ok = hdr_push(&user, &n, &cap, k, strlen(k), prev->hdrs[i + 1], strlen(prev->hdrs[i + 1]));
    }
    ok = ok && ex_finish_headers(ex, user, n, NULL);
    free_strs(user, n);
    if (!ok) {
        ex_unref(ex);
        return NULL;
    }
    return ex;
}

/* ---- ClientResponse ---- */

static void resp_traverse(AsyVM *vm, AsyObj *o) {
    AsyResponse *r = (AsyResponse *)o;
    asy_gc_mark_obj(vm, &r->session->hdr);
    asy_gc_mark_value(vm, r->method);
    asy_gc_mark_value(vm, r->url);
    asy_gc_mark_value(vm, r->url_obj);
    asy_gc_mark_value(vm, r->headers);
    asy_gc_mark_value(vm, r->history);
    asy_gc_mark_value(vm, r->body);
    asy_gc_mark_value(vm, r->req_headers);
    asy_gc_mark_value(vm, r->content);
}

static void resp_finalize(AsyVM *vm, AsyObj *o) {
    ASY_UNUSED(vm);
    AsyResponse *r = (AsyResponse *)o;
    if (r->ex) {
        if (r->ex->state != EX_DONE) ex_abort(r->ex, ERR_CANCELLED);
        ex_unref(r->ex);
        r->ex = NULL;
    }
}

static AsyResponse *resp_new(AsyVM *vm, AsyReqCM *cm, HEx *ex) {
    AsyResponse *r = asy_gc_alloc(vm, cm->session->st->response, sizeof(AsyResponse));
    r->session = cm->session;
    r->ex = ex;
    ex->refs++;
    r->method = cm->method;
    /* the first hop's URL is the string reqcm_build made: no copy */
    r->url = cm->history ? ASY_OBJ(asy_str_from_cstr(vm, ex->url)) : cm->url;
    r->url_obj = r->headers = r->body = r->req_headers = r->content = ASY_UNDEF;
    r->history = ASY_OBJ(vm->empty_tuple);
    return r;
}

/* Stop reading: the connection goes back to the pool (or is reset if unread). */
static void resp_release(AsyResponse *r) {
    r->released = true;
    HEx *ex = r->ex;
    if (!ex) return;
    if (ex->state != EX_DONE && ex->state != EX_FAILED) ex_abort(ex, ERR_CANCELLED);
}

static AsyValue resp_headers(AsyVM *vm, AsyResponse *r) {
    if (!ASY_IS_UNDEF(r->headers)) return r->headers;
    AsyHttpMultiDict *md = asy_http_multidict_new(vm, r->session->st->cimultidict);
    HEx *ex = r->ex;
    for (size_t i = 0; ex && i + 1 < ex->nrhdrs; i += 2)
        if (!asy_http_multidict_add(vm, md, ex->rhdrs[i], strlen(ex->rhdrs[i]), ex->rhdrs[i + 1],
                                    strlen(ex->rhdrs[i + 1])))
            return ASY_ERR;
    r->headers = ASY_OBJ(md);
    return r->headers;
}

static const char *resp_header(AsyResponse *r, const char *name) {
    HEx *ex = r->ex;
    for (size_t i = 0; ex && i + 1 < ex->nrhdrs; i += 2)
        if (strcasecmp(ex->rhdrs[i], name) == 0) return ex->rhdrs[i + 1];
    return NULL;
}

/* Content-Type without parameters, lowercased ("application/octet-stream" if none). */
static AsyValue resp_content_type(AsyVM *vm, AsyResponse *r) {
    const char *ct = resp_header(r, "Content-Type");
    if (!ct) return ASY_OBJ(asy_str_from_cstr(vm, "application/octet-stream"));
    size_t n = strcspn(ct, ";");
    while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    char *low = dupn(ct, n);
    if (!low) return asy_raise_memory(vm);
    for (size_t i = 0; i < n; i++)
        low[i] = (char)tolower((unsigned char)low[i]);
    AsyValue v = ASY_OBJ(asy_str_new(vm, low, n));
    free(low);
    return v;
}

/* The charset parameter of Content-Type, or NULL. Writes into buf. */
static const char *resp_charset(AsyResponse *r, char *buf, size_t n) {
    const char *ct = resp_header(r, "Content-Type");
    const char *cs = ct ? strcasestr(ct, "charset=") : NULL;
    if (!cs) return NULL;
    cs += 8;
    if (*cs == '"') cs++;
    size_t len = strcspn(cs, "\"; \t");
    if (len == 0 || len >= n) return NULL;
    memcpy(buf, cs, len);
    buf[len] = '\0';
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)tolower((unsigned char)buf[i]);
    return buf;
}

static AsyValue resp_request_info(AsyVM *vm, AsyResponse *r) {
    AsyValue info_cls = asy_dict_get_cstr(vm, r->session->st->mod->dict, "RequestInfo");
    AsyValue url = r->url_obj;
    if (ASY_IS_UNDEF(url)) url = r->url_obj = asy_http_url_new(vm, (AsyStr *)ASY_AS_OBJ(r->url));
    AsyHttpMultiDict *h = asy_http_multidict_new(vm, r->session->st->cimultidict);
    HEx *ex = r->ex;
    for (size_t i = 0; ex && i + 1 < ex->nhdrs; i += 2)
        if (!asy_http_multidict_add(vm, h, ex->hdrs[i], strlen(ex->hdrs[i]), ex->hdrs[i + 1],
                                    strlen(ex->hdrs[i + 1])))
            return ASY_ERR;
    AsyValue args[3] = {url, r->method, ASY_OBJ(h)};
    return asy_call(vm, info_cls, 3, args, NULL);
}

static AsyValue resp_raise_for_status(AsyVM *vm, AsyResponse *r) {
    HEx *ex = r->ex;
    if (!ex || ex->status < 400) return ASY_NONE;
    AsyValue info = resp_request_info(vm, r);
    if (ASY_IS_ERR(info)) return info;
    asy_root_push(vm, info);
    AsyValue hdrs = resp_headers(vm, r);
    AsyDict *kw = asy_dict_new(vm);
    asy_dict_set_cstr(vm, kw, "status", ASY_INT(ex->status));
    asy_dict_set_cstr(vm, kw, "message",
                      ASY_OBJ(asy_str_from_cstr(vm, ex->reason ? ex->reason : "")));
    asy_dict_set_cstr(vm, kw, "headers", hdrs);
    AsyValue args[2] = {info, r->history};
    AsyValue e =
        ASY_IS_ERR(hdrs) ? hdrs : asy_call(vm, ASY_OBJ(r->session->st->e_response), 2, args, kw);
    asy_root_pop(vm, 1);
    if (ASY_IS_ERR(e)) return e;
    resp_release(r);
    return asy_raise_value(vm, e);
}

static AsyValue resp_getattr(AsyVM *vm, AsyValue self, AsyStr *name) {
    AsyResponse *r = resp_of(self);
    HEx *ex = r->ex;
    const char *n = name->data;
    if (strcmp(n, "status") == 0) return ASY_INT(ex ? ex->status : 0);
    if (strcmp(n, "reason") == 0)
        return ASY_OBJ(asy_str_from_cstr(vm, ex && ex->reason ? ex->reason : ""));
    if (strcmp(n, "headers") == 0) return resp_headers(vm, r);
    if (strcmp(n, "method") == 0) return r->method;
    if (strcmp(n, "url") == 0 || strcmp(n, "real_url") == 0) {
        if (ASY_IS_UNDEF(r->url_obj))
            r->url_obj = asy_http_url_new(vm, (AsyStr *)ASY_AS_OBJ(r->url));
        return r->url_obj;
    }
    if (strcmp(n, "host") == 0) return ASY_OBJ(asy_str_from_cstr(vm, ex ? ex->host : ""));
    if (strcmp(n, "ok") == 0) return ASY_BOOL(ex && ex->status < 400);
    if (strcmp(n, "content_type") == 0) return resp_content_type(vm, r);
    if (strcmp(n, "charset") == 0) {
        char buf[64];
        const char *cs = resp_charset(r, buf, sizeof buf);
        return cs ? ASY_OBJ(asy_str_from_cstr(vm, cs)) : ASY_NONE;
    }
    if (strcmp(n, "content_length") == 0) {
        const char *cl = resp_header(r, "Content-Length");
        return cl ? ASY_INT(strtoll(cl, NULL, 10)) : ASY_NONE;
    }
    if (strcmp(n, "history") == 0) return r->history;
    if (strcmp(n, "closed") == 0) return ASY_BOOL(r->released);
    if (strcmp(n, "version") == 0)
        return ASY_OBJ(asy_str_from_cstr(vm, "HttpVersion(major=1, minor=1)"));
    if (strcmp(n, "request_info") == 0) return resp_request_info(vm, r);
    if (strcmp(n, "content") == 0) {
        if (ASY_IS_UNDEF(r->content)) {
            AsyValue cls = asy_dict_get_cstr(vm, r->session->st->mod->dict, "StreamReader");
            AsyValue c = asy_call(vm, cls, 1, &self, NULL);
            if (ASY_IS_ERR(c)) return c;
            r->content = c;
        }
        return r->content;
    }
    return ASY_TYPE(vm, object)->getattr(vm, self, name);
}

static AsyValue resp_repr(AsyVM *vm, AsyValue self) {
    AsyResponse *r = resp_of(self);
    HEx *ex = r->ex;
    AsyValue hdrs = resp_headers(vm, r);
    if (ASY_IS_ERR(hdrs)) return hdrs;
    AsyValue h = asy_repr(vm, hdrs);
    if (ASY_IS_ERR(h)) return h;
    AsyValue u = asy_repr(vm, r->url);
    if (ASY_IS_ERR(u)) return u;
    return ASY_OBJ(asy_str_printf(
        vm, "<ClientResponse(%s) [%d %s]>\n%s\n", ((AsyStr *)ASY_AS_OBJ(r->url))->data,
        ex ? ex->status : 0, ex && ex->reason ? ex->reason : "", ((AsyStr *)ASY_AS_OBJ(h))->data));
}

/* The body as bytes, once complete (cached: text() after read() works). */
static AsyValue resp_body_bytes(AsyVM *vm, AsyResponse *r) {
    if (!ASY_IS_UNDEF(r->body)) return r->body;
    HEx *ex = r->ex;
    size_t n = ex && ex->in ? evbuffer_get_length(ex->in) : 0;
    const uint8_t *p = n ? evbuffer_pullup(ex->in, -1) : (const uint8_t *)"";
    AsyBytes *b = asy_bytes_new(vm, p, n);
    if (!b) return ASY_ERR;
    if (ex && ex->in) evbuffer_drain(ex->in, n);
    r->body = ASY_OBJ(b);
    return r->body;
}

/* An exchange's failure as the exception aiohttp raises. */
static AsyValue ex_raise(AsyVM *vm, AsySession *s, HEx *ex, bool body) {
    AsyHttpState *st = s->st;
    switch (ex->err) {
    case ERR_TIMEOUT: {
        AsyValue e = asy_exc_new(vm, vm->exc_types[ASY_EXC_TimeoutError], 0, NULL);
        return ASY_IS_ERR(e) ? e : asy_raise_value(vm, e);
    }
    case ERR_PAYLOAD: return asy_raise_type(vm, st->e_payload, "Response payload is not completed");
    case ERR_DISCONNECTED:
        if (body) return asy_raise_type(vm, st->e_payload, "Response payload is not completed");
        return asy_http_raise(vm, st->e_disconnected, 0, NULL);
    case ERR_CLOSED: return asy_raise_type(vm, st->e_connection, "Connection closed");
    case ERR_OS: {
        AsyValue a[2] = {ASY_INT(ex->err_errno),
                         ASY_OBJ(asy_str_from_cstr(vm, strerror(ex->err_errno)))};
        return asy_http_raise(
            vm, (AsyType *)ASY_AS_OBJ(asy_dict_get_cstr(vm, st->mod->dict, "ClientOSError")), 2, a);
    }
    case ERR_CANCELLED: return asy_raise_type(vm, st->e_connection, "Connection closed");
    default: break;
    }
    /* connector errors: ClientConnectorError(ConnectionKey, os_error) */
    AsyValue key_cls = asy_dict_get_cstr(vm, st->mod->dict, "ConnectionKey");
    AsyValue kargs[4] = {ASY_OBJ(asy_str_from_cstr(vm, ex->host)), ASY_INT(ex->port),
                         ASY_BOOL(ex->https), ex->verify ? ASY_TRUE : ASY_FALSE};
    if (!ex->https) kargs[3] = ASY_TRUE;
    AsyValue key = asy_call(vm, key_cls, 4, kargs, NULL);
    if (ASY_IS_ERR(key)) return key;
    asy_root_push(vm, key);
    AsyValue os_err;
    if (ex->err == ERR_CERT) {
        AsyValue cls = asy_dict_get_cstr(vm, st->mod->dict, "SSLCertVerificationError");
        AsyValue a[2] = {ASY_INT(1),
                         ASY_OBJ(asy_str_from_cstr(vm, ex->err_msg ? ex->err_msg : ""))};
        os_err = asy_call(vm, cls, 2, a, NULL);
        AsyValue args[2] = {key, os_err};
        AsyValue r = ASY_IS_ERR(os_err) ? os_err : asy_http_raise(vm, st->e_cert, 2, args);
        asy_root_pop(vm, 1);
        return r;
    }
    AsyExcId id = ASY_EXC_OSError;
    char msg[512];
    int errnum = ex->err_errno;
    if (ex->err == ERR_DNS) {
        int eai = ex->err_errno;
        const char *why = eai == EVUTIL_EAI_NONAME  ? "Name or service not known"
                          : eai == EVUTIL_EAI_AGAIN ? "Temporary failure in name resolution"
                                                    : evutil_gai_strerror(eai);
        snprintf(msg, sizeof msg, "%s", why);
        errnum = eai == EVUTIL_EAI_NONAME ? -2 : eai == EVUTIL_EAI_AGAIN ? -3 : -5;
    } else if (ex->err == ERR_SSL) {
        snprintf(msg, sizeof msg, "%s", ex->err_msg ? ex->err_msg : "SSL error");
        errnum = 1;
    } else {
        if (errnum == ECONNREFUSED)
            id = ASY_EXC_ConnectionRefusedError;
        else if (errnum == ECONNRESET)
            id = ASY_EXC_ConnectionResetError;
        else if (errnum == ETIMEDOUT)
            id = ASY_EXC_TimeoutError;
        if (errnum == ECONNREFUSED)
            snprintf(msg, sizeof msg, "Connect call failed ('%s', %d)", ex->host, ex->port);
        else
            snprintf(msg, sizeof msg, "%s", strerror(errnum));
    }
    AsyValue a[2] = {ASY_INT(errnum), ASY_OBJ(asy_str_from_cstr(vm, msg))};
    os_err = asy_exc_new(vm, vm->exc_types[id], 2, a);
    AsyValue args[2] = {key, os_err};
    AsyValue r = ASY_IS_ERR(os_err) ? os_err : asy_http_raise(vm, st->e_connector, 2, args);
    asy_root_pop(vm, 1);
    return r;
}

/* Suspend t until ex moves on (or the task is cancelled). */
static int ex_wait(AsyVM *vm, HEx *ex, AsyTask *t) {
    asy_task_wait_begin(vm, t, ASY_WAIT_LIST, NULL);
    ex->task = t;
    ex->gen = t->wait_gen;
    return ASY_AWAIT_SUSPEND;
}

enum { READ_BYTES, READ_TEXT, READ_JSON, READ_RELEASE };

static int resp_read_fn(AsyVM *vm, AsyOp *op, AsyTask *t, bool resumed, AsyValue *result) {
    AsyResponse *r = resp_of(op->obj);
    HEx *ex = r->ex;
    if (resumed && asy_task_take_exc(vm, t)) {
        if (ex) ex_abort(ex, ERR_CANCELLED);
        return ASY_AWAIT_ERROR;
    }
    int mode = (int)ASY_AS_INT(op->arg);
    if (mode == READ_RELEASE) {
        resp_release(r);
        *result = ASY_NONE;
        return ASY_AWAIT_DONE;
    }
    if (ASY_IS_UNDEF(r->body) && ex) {
        if (ex->state != EX_DONE && ex->state != EX_FAILED) {
            if (r->released) {
                asy_raise_type(vm, r->session->st->e_connection, "Connection closed");
                return ASY_AWAIT_ERROR;
            }
            return ex_wait(vm, ex, t);
        }
        ex->task = NULL;
        if (ex->state == EX_FAILED) {
            ex_raise(vm, r->session, ex, true);
            return ASY_AWAIT_ERROR;
        }
    }
    AsyValue body = resp_body_bytes(vm, r);
    if (ASY_IS_ERR(body)) return ASY_AWAIT_ERROR;
    if (mode == READ_BYTES) {
        *result = body;
        return ASY_AWAIT_DONE;
    }
    AsyBytes *b = (AsyBytes *)ASY_AS_OBJ(body);
    char csbuf[64];
    const char *cs = resp_charset(r, csbuf, sizeof csbuf);
    const char *enc = op->num == 2 ? "latin-1" : cs; /* text(encoding=...) sets num */
    const char *errors = NULL;
    AsyValue text;
    if (mode == READ_JSON) {
        AsyValue ctv = resp_content_type(vm, r);
        if (ASY_IS_ERR(ctv)) return ASY_AWAIT_ERROR;
        AsyStr *ct = (AsyStr *)ASY_AS_OBJ(ctv);
        bool check = op->state & 2u; /* content_type= given as None: no check */
        if (!check && !strstr(ct->data, "json")) {
            AsyValue info = resp_request_info(vm, r);
            if (ASY_IS_ERR(info)) return ASY_AWAIT_ERROR;
            asy_root_push(vm, info);
            AsyDict *kw = asy_dict_new(vm);
            asy_dict_set_cstr(vm, kw, "status", ASY_INT(ex ? ex->status : 0));
            asy_dict_set_cstr(vm, kw, "message",
                              ASY_OBJ(asy_str_printf(vm,
                                                     "Attempt to decode JSON with unexpected "
                                                     "mimetype: %s",
                                                     ct->data)));
            AsyValue hdrs = resp_headers(vm, r);
            asy_dict_set_cstr(vm, kw, "headers", hdrs);
            AsyValue args[2] = {info, r->history};
            AsyValue e = asy_call(vm, ASY_OBJ(r->session->st->e_contenttype), 2, args, kw);
            asy_root_pop(vm, 1);
            if (!ASY_IS_ERR(e)) asy_raise_value(vm, e);
            return ASY_AWAIT_ERROR;
        }
        size_t i = 0;
        while (i < b->len && (b->data[i] == ' ' || b->data[i] == '\n' || b->data[i] == '\r' ||
                              b->data[i] == '\t'))
            i++;
        if (i == b->len) { /* aiohttp: an empty body is None */
            *result = ASY_NONE;
            return ASY_AWAIT_DONE;
        }
    }
    if (asy_codec_lookup(enc ? enc : "utf-8") < 0)
        enc = "utf-8"; /* unknown: as chardet would guess */
    text = asy_bytes_decode(vm, b->data, b->len, enc, errors);
    if (ASY_IS_ERR(text)) return ASY_AWAIT_ERROR;
    if (mode == READ_TEXT) {
        *result = text;
        return ASY_AWAIT_DONE;
    }
    asy_root_push(vm, text);
    *result = asy_http_json_loads(vm, text);
    asy_root_pop(vm, 1);
    return ASY_IS_ERR(*result) ? ASY_AWAIT_ERROR : ASY_AWAIT_DONE;
}

static AsyValue resp_op(AsyVM *vm, AsyValue self, int mode, const char *name) {
    return ASY_OBJ(asy_op_new(vm, resp_read_fn, name, self, ASY_INT(mode)));
}

static AsyValue respm_read(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "read", argc - 1, 0, 0)) return ASY_ERR;
    return resp_op(vm, argv[0], READ_BYTES, "read");
}

static AsyValue respm_text(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    AsyValue enc = asy_kwarg(vm, kw, "encoding");
    asy_kwarg(vm, kw, "errors");
    if (!asy_check_kw_done(vm, "text", kw)) return ASY_ERR;
    if (!asy_check_args(vm, "text", argc - 1, 0, 2)) return ASY_ERR;
    if (argc > 1) enc = argv[1];
    AsyValue op = resp_op(vm, argv[0], READ_TEXT, "text");
    if (!ASY_IS_UNDEF(enc) && !ASY_IS_NONE(enc)) {
        /* an explicit encoding: utf-8/latin-1/ascii (what asy's codecs know) */
        AsyStr *e = asy_http_to_str(vm, enc);
        if (!e) return ASY_ERR;
        if (asy_codec_lookup(e->data) < 0)
            return asy_raise(vm, ASY_EXC_LookupError, "unknown encoding: %s", e->data);
        if (asy_codec_lookup(e->data) == ASY_CODEC_LATIN1) ((AsyOp *)ASY_AS_OBJ(op))->num = 2;
    }
    return op;
}

static AsyValue respm_json(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    AsyValue ct = asy_kwarg(vm, kw, "content_type");
    asy_kwarg(vm, kw, "encoding");
    asy_kwarg(vm, kw, "loads");
    if (!asy_check_kw_done(vm, "json", kw)) return ASY_ERR;
    if (!asy_check_args(vm, "json", argc - 1, 0, 0)) return ASY_ERR;
    AsyValue op = resp_op(vm, argv[0], READ_JSON, "json");
    if (!ASY_IS_UNDEF(ct) && ASY_IS_NONE(ct)) ((AsyOp *)ASY_AS_OBJ(op))->state |= 2u;
    return op;
}

static AsyValue respm_release(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "release", argc - 1, 0, 0)) return ASY_ERR;
    resp_release(resp_of(argv[0]));
    return asy_op_value(vm, ASY_NONE);
}

static AsyValue respm_close(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "close", argc - 1, 0, 0)) return ASY_ERR;
    resp_release(resp_of(argv[0]));
    return ASY_NONE;
}

static AsyValue respm_raise_for_status(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "raise_for_status", argc - 1, 0, 0)) return ASY_ERR;
    return resp_raise_for_status(vm, resp_of(argv[0]));
}

static AsyValue respm_aenter(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__aenter__", argc - 1, 0, 0)) return ASY_ERR;
    return asy_op_value(vm, argv[0]);
}

static AsyValue respm_aexit(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__aexit__", argc - 1, 0, 3)) return ASY_ERR;
    return resp_op(vm, argv[0], READ_RELEASE, "__aexit__");
}

static const AsyMethodDef resp_methods[] = {
    {"read", respm_read, ASY_METH_NOKW, "Read the whole body as bytes."},
    {"text", respm_text, 0, "Read the whole body as text (the charset of Content-Type)."},
    {"json", respm_json, 0, "Read the whole body and decode it as JSON."},
    {"release", respm_release, ASY_METH_NOKW, "Give the connection back."},
    {"close", respm_close, ASY_METH_NOKW, "Close the connection."},
    {"raise_for_status", respm_raise_for_status, ASY_METH_NOKW,
     "Raise ClientResponseError when the status is 400 or more."},
    {"__aenter__", respm_aenter, ASY_METH_NOKW, NULL},
    {"__aexit__", respm_aexit, ASY_METH_NOKW, NULL},
    {NULL, NULL, 0, NULL},
};

/* ---- _RequestContextManager: what session.get() returns ---- */

static void reqcm_traverse(AsyVM *vm, AsyObj *o) {
    AsyReqCM *cm = (AsyReqCM *)o;
    asy_gc_mark_obj(vm, &cm->session->hdr);
    asy_gc_mark_value(vm, cm->method);
    asy_gc_mark_value(vm, cm->url);
    asy_gc_mark_obj(vm, (AsyObj *)cm->kw);
    asy_gc_mark_obj(vm, (AsyObj *)cm->op);
    asy_gc_mark_obj(vm, (AsyObj *)cm->history);
    asy_gc_mark_value(vm, cm->response);
}

static void reqcm_finalize(AsyVM *vm, AsyObj *o) {
    ASY_UNUSED(vm);
    AsyReqCM *cm = (AsyReqCM *)o;
    if (cm->ex) {
        ex_abort(cm->ex, ERR_CANCELLED);
        ex_unref(cm->ex);
        cm->ex = NULL;
    }
}

/* A response evhttp could not parse raises ClientResponseError(400, message), as aiohttp's
 * parser errors do; made through a response object, as raise_for_status makes it. */
static void reqcm_raise_bad_response(AsyVM *vm, AsyReqCM *cm, HEx *ex) {
    free(ex->reason);
    ex->reason = dup0(ex->err_msg ? ex->err_msg : "Bad response");
    ex->status = 400;
    AsyResponse *r = resp_new(vm, cm, ex);
    asy_root_push(vm, ASY_OBJ(r));
    resp_raise_for_status(vm, r);
    asy_root_pop(vm, 1);
}

static void reqcm_drop_ex(AsyReqCM *cm) {
    if (!cm->ex) return;
    cm->ex->task = NULL;
    ex_unref(cm->ex);
    cm->ex = NULL;
}

/* A hop's response arrived: follow a redirect, or finish. 1 done, 0 new hop, -1 error. */
static int reqcm_on_headers(AsyVM *vm, AsyReqCM *cm) {
    HEx *ex = cm->ex;
    AsyResponse *r = resp_new(vm, cm, ex);
    if (cm->history)
        r->history = ASY_OBJ(asy_tuple_from_array(vm, cm->history->items, cm->history->len));
    cm->response = ASY_OBJ(r);
    bool redirect = ex->status == 301 || ex->status == 302 || ex->status == 303 ||
                    ex->status == 307 || ex->status == 308;
    const char *loc = redirect && cm->allow_redirects ? resp_header(r, "Location") : NULL;
    if (!loc) loc = redirect && cm->allow_redirects ? resp_header(r, "URI") : NULL;
    if (!loc) {
        reqcm_drop_ex(cm);
        if (cm->raise_for_status && ex->status >= 400) {
            resp_raise_for_status(vm, r);
            return -1;
        }
        return 1;
    }
    if (!cm->history) cm->history = asy_list_new(vm, 4);
    if (asy_list_append(vm, cm->history, cm->response) < 0) return -1;
    if (++cm->redirects >= cm->max_redirects) {
        reqcm_drop_ex(cm);
        resp_release(r);
        AsyValue info = resp_request_info(vm, r);
        if (ASY_IS_ERR(info)) return -1;
        asy_root_push(vm, info);
        AsyDict *kw = asy_dict_new(vm);
        asy_dict_set_cstr(vm, kw, "status", ASY_INT(ex->status));
        asy_dict_set_cstr(vm, kw, "message",
                          ASY_OBJ(asy_str_from_cstr(vm, ex->reason ? ex->reason : "")));
        AsyValue args[2] = {
            info, ASY_OBJ(asy_tuple_from_array(vm, cm->history->items, cm->history->len))};
        AsyValue e = asy_call(vm, ASY_OBJ(cm->session->st->e_redirects), 2, args, kw);
        asy_root_pop(vm, 1);
        if (!ASY_IS_ERR(e)) asy_raise_value(vm, e);
        return -1;
    }
    char *bad = NULL;
    HEx *next = ex_redirect(ex, loc, &bad);
    resp_release(r); /* the redirect's own body is not wanted */
    reqcm_drop_ex(cm);
    if (!next) {
        if (!bad) {
            asy_raise_memory(vm);
            return -1;
        }
        AsyValue u = asy_http_url_new(vm, asy_str_from_cstr(vm, bad));
        free(bad);
        asy_http_raise(vm, cm->session->st->e_invalidurl, 1, &u);
        return -1;
    }
    cm->ex = next;
    if (next->method == EVHTTP_REQ_GET) cm->method = ASY_OBJ(asy_str_from_cstr(vm, "GET"));
    ex_start_timer(next, cm->total);
    ex_dispatch(next);
    return 0;
}

static int reqcm_fn(AsyVM *vm, AsyOp *op, AsyTask *t, bool resumed, AsyValue *result) {
    AsyReqCM *cm = (AsyReqCM *)ASY_AS_OBJ(op->obj);
    if (resumed) {
        if (asy_task_take_exc(vm, t)) {
            if (cm->ex) ex_abort(cm->ex, ERR_CANCELLED);
            reqcm_drop_ex(cm);
            return ASY_AWAIT_ERROR;
        }
    } else {
        HEx *ex = reqcm_build(vm, cm);
        if (!ex) return ASY_AWAIT_ERROR;
        cm->ex = ex;
        ex_start_timer(ex, cm->total);
        ex_dispatch(ex);
    }
    for (;;) {
        HEx *ex = cm->ex;
        if (ex->state == EX_FAILED && ex->err == ERR_BAD_RESPONSE) {
            ex->task = NULL;
            reqcm_raise_bad_response(vm, cm, ex);
            reqcm_drop_ex(cm);
            return ASY_AWAIT_ERROR;
        }
        if (ex->state == EX_FAILED) {
            ex->task = NULL;
            ex_raise(vm, cm->session, ex, false);
            reqcm_drop_ex(cm);
            return ASY_AWAIT_ERROR;
        }
        if (ex->state != EX_HEADERS && ex->state != EX_DONE) return ex_wait(vm, ex, t);
        ex->task = NULL;
        int r = reqcm_on_headers(vm, cm);
        if (r < 0) return ASY_AWAIT_ERROR;
        if (r > 0) {
            *result = cm->response;
            return ASY_AWAIT_DONE;
        }
    }
}

/* session.get() returns the op itself, so that gather(), create_task() and wait_for()
 * take it as the coroutine it is in aiohttp. `async with` needs __aenter__/__aexit__ on
 * it: they are added to asyncio's op type, and answer as a coroutine does for any other
 * op (CPython's words for an object without them). */
static AsyReqCM *reqcm_of_op(AsyVM *vm, AsyValue self, const char *meth) {
    AsyOp *op = (AsyOp *)ASY_AS_OBJ(self);
    if (op->fn == reqcm_fn) return (AsyReqCM *)ASY_AS_OBJ(op->obj);
    asy_raise(vm, ASY_EXC_AttributeError, "'%s' object has no attribute '%s'",
              asy_type_name(vm, self), meth);
    return NULL;
}

static AsyValue reqcmm_aenter(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__aenter__", argc - 1, 0, 0)) return ASY_ERR;
    if (!reqcm_of_op(vm, argv[0], "__aenter__")) return ASY_ERR;
    return argv[0];
}

static AsyValue reqcmm_aexit(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__aexit__", argc - 1, 0, 3)) return ASY_ERR;
    AsyReqCM *cm = reqcm_of_op(vm, argv[0], "__aexit__");
    if (!cm) return ASY_ERR;
    if (ASY_IS_OBJ(cm->response)) return resp_op(vm, cm->response, READ_RELEASE, "__aexit__");
    return asy_op_value(vm, ASY_NONE);
}

static const AsyMethodDef reqcm_methods[] = {
    {"__aenter__", reqcmm_aenter, ASY_METH_NOKW, NULL},
    {"__aexit__", reqcmm_aexit, ASY_METH_NOKW, NULL},
    {NULL, NULL, 0, NULL},
};

/* session.request(method, url, **kw) and the per-method shortcuts. */
static AsyValue sess_request(AsyVM *vm, AsyValue self, AsyValue method, AsyValue url, AsyDict *kw) {
    AsySession *s = sess_of(self);
    AsyReqCM *cm = asy_gc_alloc(vm, s->st->reqcm, sizeof(AsyReqCM));
    cm->session = s;
    cm->method = method;
    cm->url = url;
    cm->kw = kw && kw->len ? asy_dict_copy(vm, kw) : NULL;
    cm->response = ASY_UNDEF;
    cm->op = asy_op_new(vm, reqcm_fn, "_request", ASY_OBJ(cm), ASY_UNDEF);
    return ASY_OBJ(cm->op);
}

static AsyValue sessm_request(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_args(vm, "request", argc - 1, 2, 2)) return ASY_ERR;
    return sess_request(vm, argv[0], argv[1], argv[2], kw);
}

#define SESSION_METHOD(fname, NAME)                                                                \
    static AsyValue sessm_##fname(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {              \
        if (!asy_check_args(vm, #fname, argc - 1, 1, 1)) return ASY_ERR;                           \
        return sess_request(vm, argv[0], ASY_OBJ(asy_str_intern_cstr(vm, NAME)), argv[1], kw);     \
    }
SESSION_METHOD(get, "GET")
SESSION_METHOD(post, "POST")
SESSION_METHOD(put, "PUT")
SESSION_METHOD(delete, "DELETE")
SESSION_METHOD(head, "HEAD")
SESSION_METHOD(patch, "PATCH")
SESSION_METHOD(options, "OPTIONS")

static const AsyMethodDef sess_methods[] = {
    {"request", sessm_request, 0, "Make a request: an awaitable async context manager."},
    {"get", sessm_get, 0, "GET url."},
    {"post", sessm_post, 0, "POST url."},
    {"put", sessm_put, 0, "PUT url."},
    {"delete", sessm_delete, 0, "DELETE url."},
    {"head", sessm_head, 0, "HEAD url."},
    {"patch", sessm_patch, 0, "PATCH url."},
    {"options", sessm_options, 0, "OPTIONS url."},
    {"close", sessm_close, ASY_METH_NOKW, "Close every connection (a coroutine)."},
    {"__aenter__", sessm_aenter, ASY_METH_NOKW, NULL},
    {"__aexit__", sessm_aexit, ASY_METH_NOKW, NULL},
    {NULL, NULL, 0, NULL},
};

void asy_http_client_shutdown(AsyHttpRegistry *reg) {
    for (HClient *cl = reg->clients; cl; cl = cl->rnext) {
        client_close(cl);
        if (cl->reaper) event_free(cl->reaper);
        cl->reaper = NULL;
        /* exchanges still referenced keep their timer events: freeing them later would
         * touch the freed base, so they are left to the process's end */
        cl->base_gone = true;
        cl->reg = NULL;
    }
    reg->clients = NULL;
}

/* ==================================================================================== */
/* Types                                                                                */
/* ==================================================================================== */

static AsyType *client_type(AsyVM *vm, const char *name, size_t size, bool base) {
    AsyType *t = asy_type_new_builtin(vm, name, ASY_TYPE(vm, object), size);
    t->module = asy_str_intern_cstr(vm, "aiohttp.client");
    if (base) t->tflags |= ASY_TYPE_BASETYPE;
    return t;
}

void asy_http_client_init(AsyVM *vm, AsyHttpState *st) {
    AsyType *t = client_type(vm, "ClientSession", sizeof(AsySession), true);
    t->new_ = sess_new;
    t->traverse = sess_traverse;
    t->finalize = sess_finalize;
    t->getattr = sess_getattr;
    asy_type_add_methods(vm, t, sess_methods);
    asy_type_ready(vm, t);
    st->session = t;

    t = client_type(vm, "_RequestContextManager", sizeof(AsyReqCM), false);
    t->traverse = reqcm_traverse;
    t->finalize = reqcm_finalize;
    asy_type_ready(vm, t);
    st->reqcm = t;
    asy_type_add_methods(vm, ASY_AIO_TYPE(vm, Op), reqcm_methods);

    t = client_type(vm, "ClientResponse", sizeof(AsyResponse), false);
    t->module = asy_str_intern_cstr(vm, "aiohttp.client_reqrep");
    t->traverse = resp_traverse;
    t->finalize = resp_finalize;
    t->getattr = resp_getattr;
    t->repr = resp_repr;
    asy_type_add_methods(vm, t, resp_methods);
    asy_type_ready(vm, t);
    st->response = t;
}
