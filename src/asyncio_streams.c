/* asyncio_streams.c - asyncio's streams on libevent bufferevents: StreamReader,
 * StreamWriter, the socket and pipe transports under them, open_connection, start_server
 * and Server, the TransportSocket objects of server.sockets, and the per-VM state that
 * this file and asyncio_subprocess.c hang their objects on (asyncio_streams.h says how
 * libevent's callbacks and the GC stay out of each other's way).
 *
 * CPython's layering (transport -> StreamReaderProtocol -> StreamReader) is folded: a
 * transport feeds its reader directly and carries its protocol's flow-control state
 * (drain waiters, the "closed" future). What scripts can observe follows CPython 3.11's
 * streams.py, selector_events.py and base_events.py: the messages, when EOF and errors
 * reach the reader, close() deferring connection_lost by one pass, the flow-control water
 * marks, and the 3.11 quirk that Server.wait_closed() returns at once after close().
 */
#include "common.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "asyncio_streams.h"
#include "compiler.h"

/* recv() size per read, as CPython's selector transport (max_size). */
#define TR_MAX_READ (256 * 1024)
/* CPython's constants.LOG_THRESHOLD_FOR_CONNLOST_WRITES. */
#define TR_CONNLOST_LOG 5
/* CPython's create_server(backlog=100). */
#define SRV_BACKLOG 100

/* op->state bits of ours (bit 0 belongs to task.c). */
#define OPS_YIELDED 4u   /* the one-pass yield (sleep(0)) is done                    */
#define OPS_READLINE 8u  /* readuntil() run as readline()                            */
#define OPS_ANEXT 16u    /* ... as __anext__                                         */

/* ==================================================================================== */
/* Small helpers                                                                        */
/* ==================================================================================== */

static AsyStreams *st_of_obj(AsyObj *o);

/* An OSError of the subclass CPython picks for err (PEP 3151), with a message of ours:
 * OSError(err, msg). Returned, not raised; ASY_ERR on failure. */
static AsyValue oserror_new(AsyVM *vm, int err, AsyStr *msg) {
    asy_raise_oserror(vm, err, NULL); /* only to learn the subclass */
    AsyType *type = vm->exc->hdr.type;
    asy_exc_clear(vm);
    AsyValue args[2] = {ASY_INT(err), ASY_OBJ(msg)};
    return asy_exc_new(vm, type, 2, args);
}

/* OSError(err, strerror(err)) as an object (CPython's from a failed system call). */
static AsyValue oserror_errno(AsyVM *vm, int err) {
    asy_raise_oserror(vm, err, NULL);
    AsyValue e = ASY_OBJ(vm->exc);
    asy_exc_clear(vm);
    return e;
}

/* A socket address as Python's socket module shows it: (host, port) or
 * (host, port, flowinfo, scope_id); None for anything else. */
static AsyValue sockaddr_tuple(AsyVM *vm, const struct sockaddr *sa) {
    char host[INET6_ADDRSTRLEN];
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        AsyValue items[2] = {ASY_OBJ(asy_str_from_cstr(vm, host)), ASY_INT(ntohs(in->sin_port))};
        return ASY_OBJ(asy_tuple_from_array(vm, items, 2));
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        AsyValue items[4] = {ASY_OBJ(asy_str_from_cstr(vm, host)), ASY_INT(ntohs(in6->sin6_port)),
                             ASY_INT(ntohl(in6->sin6_flowinfo)), ASY_INT(in6->sin6_scope_id)};
        return ASY_OBJ(asy_tuple_from_array(vm, items, 4));
    }
    return ASY_NONE;
}

/* getsockname/getpeername of fd as a tuple; ASY_ERR with OSError pending on failure. */
static AsyValue fd_name(AsyVM *vm, int fd, bool peer) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    memset(&ss, 0, sizeof ss);
    int r = peer ? getpeername(fd, (struct sockaddr *)&ss, &len)
                 : getsockname(fd, (struct sockaddr *)&ss, &len);
    if (r != 0) return asy_raise_oserror(vm, errno, NULL);
    return sockaddr_tuple(vm, (struct sockaddr *)&ss);
}

static bool is_bytes(AsyVM *vm, AsyValue v) { return asy_isinstance(vm, v, ASY_TYPE(vm, bytes)); }

static AsyBytes *bytes_of(AsyValue v) { return (AsyBytes *)ASY_AS_OBJ(v); }

/* Wake every task of a wait list with value v (each leaves the list when it resumes). */
static void wake_all(AsyVM *vm, AsyWaitList *l, AsyValue v) {
    for (AsyTask *t = l->head; t; t = t->wnext) asy_task_wait_resolve(vm, t, v);
}

/* Resume one pass later, as `await sleep(0)` does. */
static int yield_once(AsyVM *vm, AsyOp *op, AsyTask *t) {
    op->state |= OPS_YIELDED;
    asy_task_wait_begin(vm, t, ASY_WAIT_LIST, NULL);
    asy_task_wait_resolve(vm, t, ASY_NONE);
    return ASY_AWAIT_SUSPEND;
}

/* Call one of the exception classes written in asy and raise the result. */
static int raise_asy_exc(AsyVM *vm, AsyValue cls, int argc, AsyValue *argv) {
    AsyValue e = asy_call(vm, cls, argc, argv, NULL);
    if (!ASY_IS_ERR(e)) asy_raise_value(vm, e);
    return ASY_AWAIT_ERROR;
}

/* The n of read(n)/readexactly(n) as a C integer. */
static bool size_arg(AsyVM *vm, AsyValue v, int64_t *out) {
    if (ASY_IS_NONE(v)) {
        *out = -1;
        return true;
    }
    return asy_index(vm, v, out);
}

/* ==================================================================================== */
/* Live objects                                                                         */
/* ==================================================================================== */

void asy_live_link(AsyStreams *st, AsyLive *o, void (*release)(AsyLive *o)) {
    o->st = st;
    o->release = release;
    if (o->linked) return;
    o->linked = true;
    o->lprev = NULL;
    o->lnext = st->live;
    if (st->live) st->live->lprev = o;
    st->live = o;
}

void asy_live_unlink(AsyLive *o) {
    if (!o->linked) return;
    o->linked = false;
    if (o->lprev) o->lprev->lnext = o->lnext;
    else o->st->live = o->lnext;
    if (o->lnext) o->lnext->lprev = o->lprev;
    o->lnext = o->lprev = NULL;
}

/* ==================================================================================== */
/* StreamReader: the buffer                                                             */
/* ==================================================================================== */

static AsyStreamReader *rd_of(AsyValue v) { return (AsyStreamReader *)ASY_AS_OBJ(v); }
static void tr_set_reading(AsyTransport *t, bool on);

static size_t rd_len(AsyStreamReader *r) { return evbuffer_get_length(r->buf); }

static void rd_wakeup(AsyVM *vm, AsyStreamReader *r, AsyValue v) {
    if (r->waiter.head) asy_task_wait_resolve(vm, r->waiter.head, v);
}

/* feed_data's tail: wake the reader, pause the transport past twice the limit. */
static void rd_after_feed(AsyVM *vm, AsyStreamReader *r) {
    rd_wakeup(vm, r, ASY_NONE);
    if (r->transport && !r->paused && rd_len(r) > (size_t)(2 * r->limit)) {
        r->paused = true;
        tr_set_reading(r->transport, false);
    }
}

static void rd_feed_eof(AsyVM *vm, AsyStreamReader *r) {
    r->eof = true;
    rd_wakeup(vm, r, ASY_NONE);
}

static void rd_set_exception(AsyVM *vm, AsyStreamReader *r, AsyValue exc) {
    r->exc = exc;
    rd_wakeup(vm, r, exc); /* the waiter raises it */
}

static void rd_maybe_resume(AsyStreamReader *r) {
    if (r->paused && rd_len(r) <= (size_t)r->limit) {
        r->paused = false;
        if (r->transport) tr_set_reading(r->transport, true);
    }
}

/* The first n buffered bytes as a bytes object, removed from the buffer. */
static AsyValue rd_take(AsyVM *vm, AsyStreamReader *r, size_t n) {
    size_t have = rd_len(r);
    if (n > have) n = have;
    unsigned char *p = n ? evbuffer_pullup(r->buf, (ev_ssize_t)n) : NULL;
    if (n && !p) return asy_raise_memory(vm);
    AsyBytes *b = asy_bytes_new(vm, p, n);
    if (!b) return ASY_ERR;
    evbuffer_drain(r->buf, n);
    return ASY_OBJ(b);
}

/* _wait_for_data(): suspend t until data, EOF or an exception arrives. */
static int rd_wait(AsyVM *vm, AsyStreamReader *r, AsyTask *t, const char *fname) {
    if (r->waiter.len > 0) {
        asy_raise(vm, ASY_EXC_RuntimeError, "%s() called while another coroutine is already "
                  "waiting for incoming data", fname);
        return ASY_AWAIT_ERROR;
    }
    if (r->paused) { /* waiting while paused would deadlock (readexactly(n > limit)) */
        r->paused = false;
        if (r->transport) tr_set_reading(r->transport, true);
    }
    asy_task_wait_begin(vm, t, ASY_WAIT_LIST, &r->waiter);
    return ASY_AWAIT_SUSPEND;
}

/* Back from rd_wait: false with the exception to raise pending (a cancellation, or the
 * one set_exception() woke us with). */
static bool rd_resumed(AsyVM *vm, AsyStreamReader *r, AsyTask *t) {
    asy_waitlist_remove(&r->waiter, t);
    if (asy_task_take_exc(vm, t)) return false;
    if (ASY_IS_OBJ(asy_task_wait_value(t))) {
        asy_raise_value(vm, asy_task_wait_value(t));
        return false;
    }
    return true;
}

static bool rd_check_exc(AsyVM *vm, AsyStreamReader *r) {
    if (ASY_IS_UNDEF(r->exc) || ASY_IS_NONE(r->exc)) return true;
    asy_raise_value(vm, r->exc);
    return false;
}

/* ==================================================================================== */
/* StreamReader: the coroutines                                                         */
/* ==================================================================================== */

/* read(n): op->arg is n. */
static int rd_read_fn(AsyVM *vm, AsyOp *op, AsyTask *t, bool resumed, AsyValue *result) {
    AsyStreamReader *r = rd_of(op->obj);
    int64_t n;
    if (!size_arg(vm, op->arg, &n)) return ASY_AWAIT_ERROR;
    if (resumed) {
        if (!rd_resumed(vm, r, t)) return ASY_AWAIT_ERROR;
    } else {
        if (!rd_check_exc(vm, r)) return ASY_AWAIT_ERROR;
        if (n == 0) {
            *result = ASY_OBJ(asy_bytes_new(vm, NULL, 0));
            return ASY_AWAIT_DONE;
        }
    }
    if (n < 0) { /* everything until EOF (CPython reads it limit bytes at a time) */
        if (resumed && !rd_check_exc(vm, r)) return ASY_AWAIT_ERROR;
        if (!r->eof) return rd_wait(vm, r, t, "read");
        *result = rd_take(vm, r, rd_len(r));
    } else {
        if (rd_len(r) == 0 && !r->eof) return rd_wait(vm, r, t, "read");
        *result = rd_take(vm, r, (size_t)n);
    }
    rd_maybe_resume(r);
    return ASY_IS_ERR(*result) ? ASY_AWAIT_ERROR : ASY_AWAIT_DONE;
}

/* readexactly(n): op->arg is n. */
static int rd_exactly_fn(AsyVM *vm, AsyOp *op, AsyTask *t, bool resumed, AsyValue *result) {
    AsyStreamReader *r = rd_of(op->obj);
    int64_t n;
    if (!asy_index(vm, op->arg, &n)) return ASY_AWAIT_ERROR;
    if (resumed) {
        if (!rd_resumed(vm, r, t)) return ASY_AWAIT_ERROR;
    } else {
        if (n < 0) {
            asy_raise(vm, ASY_EXC_ValueError, "readexactly size can not be less than zero");
            return ASY_AWAIT_ERROR;
        }
        if (!rd_check_exc(vm, r)) return ASY_AWAIT_ERROR;
    }
    if (rd_len(r) < (size_t)n) {
        if (!r->eof) return rd_wait(vm, r, t, "readexactly");
        AsyValue partial = rd_take(vm, r, rd_len(r));
        if (ASY_IS_ERR(partial)) return ASY_AWAIT_ERROR;
        AsyValue args[2] = {partial, op->arg};
        return raise_asy_exc(vm, r->st->e_incomplete, 2, args);
    }
    *result = rd_take(vm, r, (size_t)n);
    rd_maybe_resume(r);
    return ASY_IS_ERR(*result) ? ASY_AWAIT_ERROR : ASY_AWAIT_DONE;
}

/* Where sep starts at or after offset, -1 when absent. */
static int64_t rd_find(AsyStreamReader *r, const uint8_t *sep, size_t seplen, size_t offset) {
    struct evbuffer_ptr start;
    if (evbuffer_ptr_set(r->buf, &start, offset, EVBUFFER_PTR_SET) != 0) return -1;
    struct evbuffer_ptr p = evbuffer_search(r->buf, (const char *)sep, seplen, &start);
    return p.pos;
}

/* readline()'s handling of LimitOverrunError: drop the line (or the buffer), ValueError. */
static int rd_line_overrun(AsyVM *vm, AsyStreamReader *r, const uint8_t *sep, size_t seplen,
                           size_t consumed, const char *msg) {
    if (rd_find(r, sep, seplen, consumed) == (int64_t)consumed)
        evbuffer_drain(r->buf, consumed + seplen);
    else
        evbuffer_drain(r->buf, rd_len(r));
    rd_maybe_resume(r);
    asy_raise(vm, ASY_EXC_ValueError, "%s", msg);
    return ASY_AWAIT_ERROR;
}

static int rd_overrun(AsyVM *vm, AsyOp *op, AsyStreamReader *r, AsyBytes *sep, size_t consumed,
                      const char *msg) {
    if (op->state & (OPS_READLINE | OPS_ANEXT))
        return rd_line_overrun(vm, r, sep->data, sep->len, consumed, msg);
    AsyValue args[2] = {ASY_OBJ(asy_str_from_cstr(vm, msg)), ASY_INT((int64_t)consumed)};
    return raise_asy_exc(vm, r->st->e_limit, 2, args);
}

/* EOF before the separator: IncompleteReadError, or the partial line for readline(). */
static int rd_until_eof(AsyVM *vm, AsyOp *op, AsyStreamReader *r, AsyValue *result) {
    AsyValue chunk = rd_take(vm, r, rd_len(r));
    if (ASY_IS_ERR(chunk)) return ASY_AWAIT_ERROR;
    if (op->state & OPS_ANEXT && bytes_of(chunk)->len == 0) {
        asy_raise_value(vm, ASY_OBJ(vm->exc_types[ASY_EXC_StopAsyncIteration]));
        return ASY_AWAIT_ERROR;
    }
    if (op->state & (OPS_READLINE | OPS_ANEXT)) {
        *result = chunk;
        return ASY_AWAIT_DONE;
    }
    AsyValue args[2] = {chunk, ASY_NONE};
    return raise_asy_exc(vm, r->st->e_incomplete, 2, args);
}

/* readuntil(separator), and readline() / __anext__ on top of it: op->arg is the
 * separator, op->num the offset searched so far (kept across suspensions). */
static int rd_until_fn(AsyVM *vm, AsyOp *op, AsyTask *t, bool resumed, AsyValue *result) {
    AsyStreamReader *r = rd_of(op->obj);
    AsyBytes *sep = bytes_of(op->arg);
    if (resumed) {
        if (!rd_resumed(vm, r, t)) return ASY_AWAIT_ERROR;
    } else {
        if (sep->len == 0) {
            asy_raise(vm, ASY_EXC_ValueError, "Separator should be at least one-byte string");
            return ASY_AWAIT_ERROR;
        }
        if (!rd_check_exc(vm, r)) return ASY_AWAIT_ERROR;
        op->num = 0;
    }
    size_t offset = (size_t)op->num, seplen = sep->len;
    int64_t isep = -1;
    for (;;) {
        size_t buflen = rd_len(r);
        if (buflen >= offset + seplen) {
            isep = rd_find(r, sep->data, seplen, offset);
            if (isep >= 0) break;
            offset = buflen + 1 - seplen;
            if (offset > (size_t)r->limit)
                return rd_overrun(vm, op, r, sep, offset,
                                  "Separator is not found, and chunk exceed the limit");
        }
        if (r->eof) return rd_until_eof(vm, op, r, result);
        op->num = (double)offset;
        return rd_wait(vm, r, t, "readuntil");
    }
    if (isep > r->limit)
        return rd_overrun(vm, op, r, sep, (size_t)isep,
                          "Separator is found, but chunk is longer than limit");
    *result = rd_take(vm, r, (size_t)isep + seplen);
    rd_maybe_resume(r);
    return ASY_IS_ERR(*result) ? ASY_AWAIT_ERROR : ASY_AWAIT_DONE;
}

/* ==================================================================================== */
/* StreamReader: the type                                                               */
/* ==================================================================================== */

static void rd_traverse(AsyVM *vm, AsyObj *o) {
    AsyStreamReader *r = (AsyStreamReader *)o;
    asy_gc_mark_obj(vm, &r->st->hdr);
    asy_gc_mark_obj(vm, (AsyObj *)r->transport);
    asy_waitlist_mark(vm, &r->waiter);
    asy_gc_mark_value(vm, r->exc);
}

static void rd_finalize(AsyVM *vm, AsyObj *o) {
    ASY_UNUSED(vm);
    AsyStreamReader *r = (AsyStreamReader *)o;
    if (r->buf) evbuffer_free(r->buf);
    r->buf = NULL;
}

static AsyStreamReader *rd_alloc(AsyVM *vm, AsyType *type, AsyStreams *st, int64_t limit) {
    if (limit <= 0) {
        asy_raise(vm, ASY_EXC_ValueError, "Limit cannot be <= 0");
        return NULL;
    }
    AsyStreamReader *r = (AsyStreamReader *)ASY_AS_OBJ(asy_object_alloc(vm, type));
    r->st = st;
    r->exc = ASY_UNDEF;
    r->limit = limit;
    r->buf = evbuffer_new();
    if (!r->buf) {
        asy_raise_memory(vm);
        return NULL;
    }
    return r;
}

AsyStreamReader *asy_stream_reader_new(AsyVM *vm, AsyStreams *st, int64_t limit) {
    return rd_alloc(vm, st->t_reader, st, limit);
}

/* StreamReader(limit=65536, loop=None) */
static AsyValue rd_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    AsyStreams *st = asy_streams_state(vm);
    if (!st) return ASY_ERR;
    AsyValue limit = asy_kwarg(vm, kw, "limit");
    asy_kwarg(vm, kw, "loop");
    if (!asy_check_kw_done(vm, "StreamReader", kw)) return ASY_ERR;
    if (!asy_check_args(vm, "StreamReader", argc, 0, 2)) return ASY_ERR;
    if (argc >= 1) limit = argv[0];
    int64_t n = ASY_STREAM_LIMIT;
    if (!ASY_IS_UNDEF(limit) && !asy_index(vm, limit, &n)) return ASY_ERR;
    AsyStreamReader *r = rd_alloc(vm, type, st, n);
    return r ? ASY_OBJ(r) : ASY_ERR;
}

static AsyValue tr_repr(AsyVM *vm, AsyValue self);

static AsyValue rd_repr(AsyVM *vm, AsyValue self) {
    AsyStreamReader *r = rd_of(self);
    AsyStrBuf b;
    asy_strbuf_init(&b);
    asy_strbuf_append_cstr(vm, &b, "<StreamReader");
    if (rd_len(r)) asy_strbuf_printf(vm, &b, " %zu bytes", rd_len(r));
    if (r->eof) asy_strbuf_append_cstr(vm, &b, " eof");
    if (r->limit != ASY_STREAM_LIMIT) asy_strbuf_printf(vm, &b, " limit=%lld", (long long)r->limit);
    if (r->waiter.head) asy_strbuf_append_cstr(vm, &b, " waiter=<Future pending>");
    if (!ASY_IS_UNDEF(r->exc) && !ASY_IS_NONE(r->exc)) {
        AsyValue e = asy_repr(vm, r->exc);
        if (ASY_IS_ERR(e)) return e;
        asy_strbuf_printf(vm, &b, " exception=%s", ((AsyStr *)ASY_AS_OBJ(e))->data);
    }
    if (r->transport) {
        AsyValue tr = tr_repr(vm, ASY_OBJ(r->transport));
        if (ASY_IS_ERR(tr)) return tr;
        asy_strbuf_printf(vm, &b, " transport=%s", ((AsyStr *)ASY_AS_OBJ(tr))->data);
    }
    if (r->paused) asy_strbuf_append_cstr(vm, &b, " paused");
    asy_strbuf_append_cstr(vm, &b, ">");
    AsyStr *s = asy_strbuf_finish(vm, &b);
    return s ? ASY_OBJ(s) : ASY_ERR;
}

static AsyValue rdm_feed_data(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "feed_data", argc - 1, 1, 1)) return ASY_ERR;
    AsyStreamReader *r = rd_of(argv[0]);
    if (r->eof) return asy_raise(vm, ASY_EXC_AssertionError, "feed_data after feed_eof");
    if (!is_bytes(vm, argv[1]))
        return asy_raise(vm, ASY_EXC_TypeError, "can't concat %s to bytearray",
                         asy_type_name(vm, argv[1]));
    AsyBytes *d = bytes_of(argv[1]);
    if (d->len == 0) return ASY_NONE;
    if (evbuffer_add(r->buf, d->data, d->len) != 0) return asy_raise_memory(vm);
    rd_after_feed(vm, r);
    return ASY_NONE;
}

static AsyValue rdm_feed_eof(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "feed_eof", argc - 1, 0, 0)) return ASY_ERR;
    rd_feed_eof(vm, rd_of(argv[0]));
    return ASY_NONE;
}

static AsyValue rdm_at_eof(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "at_eof", argc - 1, 0, 0)) return ASY_ERR;
    AsyStreamReader *r = rd_of(argv[0]);
    return ASY_BOOL(r->eof && rd_len(r) == 0);
}

static AsyValue rdm_exception(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "exception", argc - 1, 0, 0)) return ASY_ERR;
    AsyValue e = rd_of(argv[0])->exc;
    return ASY_IS_UNDEF(e) ? ASY_NONE : e;
}

static AsyValue rdm_set_exception(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "set_exception", argc - 1, 1, 1)) return ASY_ERR;
    rd_set_exception(vm, rd_of(argv[0]), argv[1]);
    return ASY_NONE;
}

static AsyValue rdm_set_transport(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "set_transport", argc - 1, 1, 1)) return ASY_ERR;
    AsyStreamReader *r = rd_of(argv[0]);
    if (r->transport) return asy_raise(vm, ASY_EXC_AssertionError, "Transport already set");
    AsyStreams *st = r->st;
    AsyType *tt = asy_type_of(vm, argv[1]);
    if (tt != st->t_socket && tt != st->t_rpipe && tt != st->t_wpipe)
        return asy_raise(vm, ASY_EXC_TypeError, "set_transport() needs one of asyncio's "
                         "transports, not '%s'", asy_type_name(vm, argv[1]));
    asy_transport_set_reader((AsyTransport *)ASY_AS_OBJ(argv[1]), r);
    return ASY_NONE;
}

static AsyValue rd_op(AsyVM *vm, AsyOpFn fn, const char *name, AsyValue self, AsyValue arg,
                      uint8_t flags) {
    AsyOp *op = asy_op_new(vm, fn, name, self, arg);
    op->state |= flags;
    return ASY_OBJ(op);
}

static AsyValue rdm_read(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    AsyValue n = asy_kwarg(vm, kw, "n");
    if (!asy_check_kw_done(vm, "read", kw)) return ASY_ERR;
    if (!asy_check_args(vm, "read", argc - 1, 0, 1)) return ASY_ERR;
    if (argc > 1) n = argv[1];
    if (ASY_IS_UNDEF(n)) n = ASY_INT(-1);
    return rd_op(vm, rd_read_fn, "StreamReader.read", argv[0], n, 0);
}

static AsyValue rdm_readexactly(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    AsyValue n = asy_kwarg(vm, kw, "n");
    if (!asy_check_kw_done(vm, "readexactly", kw)) return ASY_ERR;
    if (argc > 1) n = argv[1];
    if (!asy_check_args(vm, "readexactly", argc - 1, ASY_IS_UNDEF(n) ? 1 : 0, 1)) return ASY_ERR;
    return rd_op(vm, rd_exactly_fn, "StreamReader.readexactly", argv[0], n, 0);
}

static AsyValue newline_bytes(AsyVM *vm) {
    return ASY_OBJ(asy_bytes_new(vm, (const uint8_t *)"\n", 1));
}

static AsyValue rdm_readuntil(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    AsyValue sep = asy_kwarg(vm, kw, "separator");
    if (!asy_check_kw_done(vm, "readuntil", kw)) return ASY_ERR;
    if (!asy_check_args(vm, "readuntil", argc - 1, 0, 1)) return ASY_ERR;
    if (argc > 1) sep = argv[1];
    if (ASY_IS_UNDEF(sep)) sep = newline_bytes(vm);
    if (!is_bytes(vm, sep))
        return asy_raise(vm, ASY_EXC_TypeError, "object of type '%s' has no len()",
                         asy_type_name(vm, sep));
    return rd_op(vm, rd_until_fn, "StreamReader.readuntil", argv[0], sep, 0);
}

static AsyValue rdm_readline(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "readline", argc - 1, 0, 0)) return ASY_ERR;
    return rd_op(vm, rd_until_fn, "StreamReader.readline", argv[0], newline_bytes(vm),
                 OPS_READLINE);
}

static AsyValue rdm_aiter(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__aiter__", argc - 1, 0, 0)) return ASY_ERR;
    return argv[0];
}

static AsyValue rdm_anext(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__anext__", argc - 1, 0, 0)) return ASY_ERR;
    return rd_op(vm, rd_until_fn, "StreamReader.__anext__", argv[0], newline_bytes(vm),
                 OPS_ANEXT);
}

static const AsyMethodDef reader_methods[] = {
    {"read", rdm_read, 0, "Read up to n bytes; all of them until EOF when n is -1."},
    {"readline", rdm_readline, 0, "Read one line, ending with b'\\n' (or at EOF)."},
    {"readuntil", rdm_readuntil, 0, "Read until the separator, which ends the result."},
    {"readexactly", rdm_readexactly, 0, "Read exactly n bytes (IncompleteReadError at EOF)."},
    {"at_eof", rdm_at_eof, 0, "True when the buffer is empty and EOF was fed."},
    {"exception", rdm_exception, 0, "The exception set on the stream, or None."},
    {"set_exception", rdm_set_exception, 0, "Make reads raise exc."},
    {"set_transport", rdm_set_transport, 0, "Attach the transport to pause and resume."},
    {"feed_data", rdm_feed_data, 0, "Append bytes to the buffer."},
    {"feed_eof", rdm_feed_eof, 0, "Mark the end of the stream."},
    {"__aiter__", rdm_aiter, 0, "Iterate over the lines of the stream."},
    {"__anext__", rdm_anext, 0, "The next line (StopAsyncIteration at EOF)."},
    {NULL, NULL, 0, NULL},
};

/* ==================================================================================== */
/* Transports: libevent's side                                                          */
/* ==================================================================================== */

static AsyTransport *tr_of(AsyValue v) { return (AsyTransport *)ASY_AS_OBJ(v); }
static void tr_lost_soon(AsyTransport *t, int err);
static void srv_detach(AsyVM *vm, AsyObj *server);

static AsyVM *tr_vm(AsyTransport *t) { return t->live.st->vm; }

static size_t tr_out_len(AsyTransport *t) {
    return t->bev ? evbuffer_get_length(bufferevent_get_output(t->bev)) : 0;
}

/* Read when a reader wants data and the stream can still give some. */
static void tr_update_reading(AsyTransport *t) {
    if (!t->bev || t->kind == ASY_TR_WPIPE) return;
    bool want = t->reading && t->reader && !t->read_eof && !t->closing;
    if (want) bufferevent_enable(t->bev, EV_READ);
    else bufferevent_disable(t->bev, EV_READ);
}

static void tr_set_reading(AsyTransport *t, bool on) {
    t->reading = on;
    tr_update_reading(t);
}

/* The connection is done for: stop reading, forget unsent data, lose it next pass
 * (CPython's _force_close). */
static void tr_force_close(AsyTransport *t, int err) {
    if (t->lost || t->lost_queued) return;
    t->closing = true;
    if (t->bev) {
        struct evbuffer *out = bufferevent_get_output(t->bev);
        evbuffer_drain(out, evbuffer_get_length(out));
        bufferevent_disable(t->bev, EV_READ | EV_WRITE);
    }
    t->conn_lost++;
    tr_lost_soon(t, err);
}

static void tr_read_cb(struct bufferevent *bev, void *arg) {
    AsyTransport *t = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    AsyStreamReader *r = t->reader;
    if (t->live.st->shutdown || !r || r->eof) {
        evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    evbuffer_add_buffer(r->buf, in); /* moves the chains: no copy */
    rd_after_feed(tr_vm(t), r);
}

static void tr_write_cb(struct bufferevent *bev, void *arg) {
    AsyTransport *t = arg;
    if (t->live.st->shutdown) return;
    size_t left = evbuffer_get_length(bufferevent_get_output(bev));
    if (t->paused_writing && left <= ASY_STREAM_LOW_WATER) {
        t->paused_writing = false;
        wake_all(tr_vm(t), &t->drainers, ASY_NONE);
    }
    if (left) return;
    if (t->closing) {
        t->conn_lost++;
        tr_lost_soon(t, 0);
    } else if (t->eof_written && t->kind == ASY_TR_SOCKET) {
        shutdown(t->fd, SHUT_WR);
    }
}

/* EOF from the peer: a socket stays open for writing (StreamReaderProtocol.eof_received
 * answers True); a read pipe is done. */
static void tr_on_eof(AsyTransport *t) {
    AsyVM *vm = tr_vm(t);
    t->read_eof = true;
    tr_update_reading(t);
    if (t->kind == ASY_TR_RPIPE) {
        t->closing = true;
        t->conn_lost++;
        tr_lost_soon(t, 0); /* connection_lost feeds the EOF */
        return;
    }
    if (t->reader) rd_feed_eof(vm, t->reader);
}

static void tr_conn_wake(AsyTransport *t) {
    AsyTask *task = t->conn_task;
    t->conn_task = NULL;
    if (task && task->wait_gen == t->conn_gen) asy_task_wait_resolve(tr_vm(t), task, ASY_NONE);
}

enum { CS_NONE, CS_RESOLVING, CS_RESOLVED, CS_CONNECTING, CS_CONNECTED, CS_OPEN };

static void tr_event_cb(struct bufferevent *bev, short what, void *arg) {
    ASY_UNUSED(bev);
    AsyTransport *t = arg;
    int err = EVUTIL_SOCKET_ERROR();
    if (t->live.st->shutdown) return;
    if (t->conn_state == CS_CONNECTING) {
        t->conn_err = (what & BEV_EVENT_CONNECTED) ? 0 : (err ? err : ECONNREFUSED);
        t->conn_state = CS_CONNECTED;
        tr_conn_wake(t);
        return;
    }
    if (what & BEV_EVENT_EOF) tr_on_eof(t);
    else if (what & BEV_EVENT_ERROR) tr_force_close(t, err ? err : EIO);
}

/* A write pipe's reading end closed (CPython watches the fd for reading: epoll reports
 * the error). With data still buffered, that is a BrokenPipeError. */
static void tr_hup_cb(evutil_socket_t fd, short what, void *arg) {
    ASY_UNUSED(fd);
    ASY_UNUSED(what);
    AsyTransport *t = arg;
    if (t->live.st->shutdown || t->lost || t->lost_queued) return;
    bool pending = tr_out_len(t) > 0;
    tr_force_close(t, pending ? -EPIPE : 0);
}

/* Free the libevent objects (closing the fd); unlink when nothing is in flight. */
static void tr_free_io(AsyTransport *t) {
    if (t->hup_ev) event_free(t->hup_ev);
    t->hup_ev = NULL;
    if (t->bev) bufferevent_free(t->bev); /* closes the fd; t->fd stays, for reprs */
    t->bev = NULL;
    if (t->addrs) evutil_freeaddrinfo(t->addrs);
    t->addrs = t->next_addr = t->cur_addr = NULL;
    if (!t->dnsreq) asy_live_unlink(&t->live);
}

static void tr_release(AsyLive *o) { tr_free_io((AsyTransport *)o); }

static bool tr_attach_fd(AsyTransport *t, int fd) {
    t->fd = fd;
    t->bev = bufferevent_socket_new(t->live.st->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!t->bev) return false;
    bufferevent_setcb(t->bev, tr_read_cb, tr_write_cb, tr_event_cb, t);
    bufferevent_setwatermark(t->bev, EV_WRITE, ASY_STREAM_LOW_WATER, 0);
    bufferevent_set_max_single_read(t->bev, TR_MAX_READ);
    if (t->kind == ASY_TR_WPIPE) {
        t->hup_ev = event_new(t->live.st->base, fd, EV_READ, tr_hup_cb, t);
        if (!t->hup_ev) return false;
        event_add(t->hup_ev, NULL);
    }
    tr_update_reading(t);
    return true;
}

static AsyTransport *tr_alloc(AsyVM *vm, AsyStreams *st, int kind) {
    AsyType *type = kind == ASY_TR_SOCKET ? st->t_socket
                    : kind == ASY_TR_RPIPE ? st->t_rpipe : st->t_wpipe;
    AsyTransport *t = asy_gc_alloc(vm, type, sizeof(AsyTransport));
    t->kind = (uint8_t)kind;
    t->fd = -1;
    t->fdno = -1;
    t->exc = ASY_UNDEF;
    t->extra = ASY_UNDEF;
    t->reading = true;
    asy_live_link(st, &t->live, tr_release);
    return t;
}

AsyTransport *asy_transport_new(AsyVM *vm, AsyStreams *st, int kind, int fd) {
    AsyTransport *t = tr_alloc(vm, st, kind);
    if (!tr_attach_fd(t, fd)) {
        if (!t->bev) close(fd);
        tr_free_io(t);
        asy_raise_memory(vm);
        return NULL;
    }
    return t;
}

void asy_transport_set_reader(AsyTransport *t, AsyStreamReader *r) {
    t->reader = r;
    r->transport = t;
    tr_update_reading(t);
}

/* ==================================================================================== */
/* Transports: connection_lost                                                          */
/* ==================================================================================== */

static void tr_lost_h(AsyVM *vm, AsyValue a, AsyValue b);

/* Queue connection_lost (CPython's call_soon(_call_connection_lost, exc)); err 0 for a
 * clean close, an errno, or -EPIPE for a bare BrokenPipeError(). */
static void tr_lost_soon(AsyTransport *t, int err) {
    if (t->lost || t->lost_queued) return;
    t->closing = true;
    t->lost_queued = true;
    tr_update_reading(t);
    asy_loop_call_soon(tr_vm(t), tr_lost_h, ASY_OBJ(t), ASY_INT(err));
}

static AsyValue lost_exception(AsyVM *vm, int err) {
    if (err == 0) return ASY_NONE;
    AsyValue e = err == -EPIPE
                     ? asy_exc_new(vm, vm->exc_types[ASY_EXC_BrokenPipeError], 0, NULL)
                     : oserror_errno(vm, err);
    if (ASY_IS_ERR(e)) {
        asy_exc_clear(vm);
        return ASY_NONE;
    }
    return e;
}

/* connection_lost: the reader gets EOF or the error, wait_closed() and paused drain()
 * calls return (or raise it), the fd is closed, the server and process are told. */
static void tr_lost_h(AsyVM *vm, AsyValue a, AsyValue b) {
    AsyTransport *t = tr_of(a);
    if (t->lost) return;
    t->lost = true;
    t->closing = true;
    tr_free_io(t);
    AsyValue exc = lost_exception(vm, (int)ASY_AS_INT(b));
    t->exc = exc;
    if (t->reader) {
        if (ASY_IS_NONE(exc)) rd_feed_eof(vm, t->reader);
        else rd_set_exception(vm, t->reader, exc);
    }
    wake_all(vm, &t->closers, ASY_NONE);
    if (t->paused_writing) wake_all(vm, &t->drainers, ASY_NONE);
    if (t->server) srv_detach(vm, t->server);
    t->server = NULL;
    if (t->proc) asy_proc_pipe_lost(vm, t->proc, t->fdno, exc);
}

void asy_transport_close(AsyVM *vm, AsyTransport *t) {
    ASY_UNUSED(vm);
    if (t->closing) return;
    t->closing = true;
    tr_update_reading(t);
    if (tr_out_len(t) == 0) {
        t->conn_lost++;
        tr_lost_soon(t, 0);
    } /* else tr_write_cb loses it once the buffer is flushed */
}

/* ==================================================================================== */
/* Transports: the type                                                                 */
/* ==================================================================================== */

static void tr_traverse(AsyVM *vm, AsyObj *o) {
    AsyTransport *t = (AsyTransport *)o;
    asy_gc_mark_obj(vm, &t->live.st->hdr);
    asy_gc_mark_obj(vm, (AsyObj *)t->reader);
    asy_gc_mark_obj(vm, t->server);
    asy_gc_mark_obj(vm, (AsyObj *)t->proc);
    asy_waitlist_mark(vm, &t->drainers);
    asy_waitlist_mark(vm, &t->closers);
    asy_gc_mark_value(vm, t->exc);
    asy_gc_mark_value(vm, t->extra);
    asy_gc_mark_obj(vm, (AsyObj *)t->conn_errors);
}

/* Collected while still live can only mean the scheduler's closer already ran or never
 * will: whatever is left is plain memory. */
static void tr_finalize(AsyVM *vm, AsyObj *o) {
    AsyTransport *t = (AsyTransport *)o;
    if (t->addrs) evutil_freeaddrinfo(t->addrs);
    t->addrs = NULL;
    if (vm->loop && (t->bev || t->hup_ev)) tr_free_io(t);
}

static AsyValue tr_repr(AsyVM *vm, AsyValue self) {
    AsyTransport *t = tr_of(self);
    AsyStrBuf b;
    asy_strbuf_init(&b);
    asy_strbuf_printf(vm, &b, "<%s", asy_type_name(vm, self));
    if (t->lost) asy_strbuf_append_cstr(vm, &b, " closed");
    else if (t->closing) asy_strbuf_append_cstr(vm, &b, " closing");
    asy_strbuf_printf(vm, &b, " fd=%d", t->fd);
    if (t->bev && t->kind != ASY_TR_WPIPE) {
        bool reading = bufferevent_get_enabled(t->bev) & EV_READ;
        asy_strbuf_printf(vm, &b, " read=%s", reading ? "polling" : "idle");
    }
    if (t->bev && t->kind != ASY_TR_RPIPE) {
        size_t n = tr_out_len(t);
        if (t->kind == ASY_TR_SOCKET)
            asy_strbuf_printf(vm, &b, " write=<%s, bufsize=%zu>", n ? "polling" : "idle", n);
        else
            asy_strbuf_printf(vm, &b, " %s bufsize=%zu", n ? "polling" : "idle", n);
    }
    asy_strbuf_append_cstr(vm, &b, ">");
    AsyStr *s = asy_strbuf_finish(vm, &b);
    return s ? ASY_OBJ(s) : ASY_ERR;
}

static bool tr_write_value(AsyVM *vm, AsyTransport *t, AsyValue data) {
    if (!is_bytes(vm, data)) {
        asy_raise(vm, ASY_EXC_TypeError, "data argument must be a bytes-like object, not '%s'",
                  asy_type_name(vm, data));
        return false;
    }
    if (t->eof_written && t->kind == ASY_TR_SOCKET) {
        asy_raise(vm, ASY_EXC_RuntimeError, "Cannot call write() after write_eof()");
        return false;
    }
    AsyBytes *d = bytes_of(data);
    if (d->len == 0) return true;
    if (t->conn_lost || !t->bev || (t->kind == ASY_TR_WPIPE && t->closing)) {
        if (t->conn_lost >= TR_CONNLOST_LOG) {
            fflush(vm->out ? vm->out : stdout);
            fprintf(vm->err ? vm->err : stderr, "%s\n", t->kind == ASY_TR_SOCKET
                    ? "socket.send() raised exception."
                    : "pipe closed by peer or os.write(pipe, data) raised exception.");
        }
        t->conn_lost++;
        return true;
    }
    if (bufferevent_write(t->bev, d->data, d->len) != 0) {
        asy_raise_memory(vm);
        return false;
    }
    if (!t->paused_writing && tr_out_len(t) > ASY_STREAM_HIGH_WATER) t->paused_writing = true;
    return true;
}

/* writelines(): b''.join(data) first, so nothing is written when an item is wrong. */
static bool tr_writelines(AsyVM *vm, AsyTransport *t, AsyValue seq) {
    AsyList *items = asy_list_from_iterable(vm, seq);
    if (!items) return false;
    for (int64_t i = 0; i < items->len; i++) {
        if (!is_bytes(vm, items->items[i])) {
            asy_raise(vm, ASY_EXC_TypeError, "sequence item %lld: expected a bytes-like object, "
                      "%s found", (long long)i, asy_type_name(vm, items->items[i]));
            return false;
        }
    }
    for (int64_t i = 0; i < items->len; i++)
        if (!tr_write_value(vm, t, items->items[i])) return false;
    return true;
}

static void tr_write_eof(AsyVM *vm, AsyTransport *t) {
    if (t->closing || t->eof_written) return;
    t->eof_written = true;
    if (t->kind == ASY_TR_WPIPE) { /* a pipe has no half-close: EOF is closing it */
        asy_transport_close(vm, t);
        return;
    }
    if (tr_out_len(t) == 0 && t->bev) shutdown(t->fd, SHUT_WR);
}

static void tr_abort(AsyVM *vm, AsyTransport *t) {
    ASY_UNUSED(vm);
    tr_force_close(t, 0);
}

static AsyValue trsock_new(AsyVM *vm, AsyStreams *st, int fd);

/* get_extra_info(name, default=None) */
static AsyValue tr_extra(AsyVM *vm, AsyTransport *t, AsyValue name, AsyValue dflt) {
    if (ASY_IS_UNDEF(dflt)) dflt = ASY_NONE;
    if (t->kind != ASY_TR_SOCKET || !ASY_IS_OBJ(name) ||
        asy_type_of(vm, name) != ASY_TYPE(vm, str))
        return dflt;
    const char *n = ((AsyStr *)ASY_AS_OBJ(name))->data;
    bool peer = strcmp(n, "peername") == 0;
    if (!peer && strcmp(n, "sockname") != 0) {
        if (strcmp(n, "socket") == 0) return trsock_new(vm, t->live.st, t->bev ? t->fd : -1);
        return dflt;
    }
    if (ASY_IS_UNDEF(t->extra) && t->bev) { /* both, once: they outlive the socket */
        AsyValue pn = fd_name(vm, t->fd, true);
        if (ASY_IS_ERR(pn)) {
            asy_exc_clear(vm);
            pn = ASY_NONE;
        }
        asy_root_push(vm, pn);
        AsyValue sn = fd_name(vm, t->fd, false);
        if (ASY_IS_ERR(sn)) {
            asy_exc_clear(vm);
            sn = ASY_NONE;
        }
        AsyValue pair[2] = {pn, sn};
        t->extra = ASY_OBJ(asy_tuple_from_array(vm, pair, 2));
        asy_root_pop(vm, 1);
    }
    if (ASY_IS_UNDEF(t->extra)) return dflt;
    AsyValue v = ((AsyTuple *)ASY_AS_OBJ(t->extra))->items[peer ? 0 : 1];
    return ASY_IS_NONE(v) ? dflt : v;
}

static AsyValue trm_write(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "write", argc - 1, 1, 1)) return ASY_ERR;
    return tr_write_value(vm, tr_of(argv[0]), argv[1]) ? ASY_NONE : ASY_ERR;
}

static AsyValue trm_writelines(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "writelines", argc - 1, 1, 1)) return ASY_ERR;
    return tr_writelines(vm, tr_of(argv[0]), argv[1]) ? ASY_NONE : ASY_ERR;
}

static AsyValue trm_close(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "close", argc - 1, 0, 0)) return ASY_ERR;
    asy_transport_close(vm, tr_of(argv[0]));
    return ASY_NONE;
}

static AsyValue trm_abort(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "abort", argc - 1, 0, 0)) return ASY_ERR;
    tr_abort(vm, tr_of(argv[0]));
    return ASY_NONE;
}

static AsyValue trm_is_closing(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "is_closing", argc - 1, 0, 0)) return ASY_ERR;
    return ASY_BOOL(tr_of(argv[0])->closing);
}

static AsyValue trm_write_eof(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "write_eof", argc - 1, 0, 0)) return ASY_ERR;
    tr_write_eof(vm, tr_of(argv[0]));
    return ASY_NONE;
}

static AsyValue trm_can_write_eof(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "can_write_eof", argc - 1, 0, 0)) return ASY_ERR;
    return ASY_BOOL(tr_of(argv[0])->kind != ASY_TR_RPIPE);
}

static AsyValue trm_get_extra_info(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    AsyValue dflt = asy_kwarg(vm, kw, "default");
    if (!asy_check_kw_done(vm, "get_extra_info", kw)) return ASY_ERR;
    if (!asy_check_args(vm, "get_extra_info", argc - 1, 1, 2)) return ASY_ERR;
    if (argc > 2) dflt = argv[2];
    return tr_extra(vm, tr_of(argv[0]), argv[1], dflt);
}

static AsyValue trm_get_write_buffer_size(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "get_write_buffer_size", argc - 1, 0, 0)) return ASY_ERR;
    return ASY_INT((int64_t)tr_out_len(tr_of(argv[0])));
}

static AsyValue trm_pause_reading(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "pause_reading", argc - 1, 0, 0)) return ASY_ERR;
    tr_set_reading(tr_of(argv[0]), false);
    return ASY_NONE;
}

static AsyValue trm_resume_reading(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "resume_reading", argc - 1, 0, 0)) return ASY_ERR;
    tr_set_reading(tr_of(argv[0]), true);
    return ASY_NONE;
}

static AsyValue trm_is_reading(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "is_reading", argc - 1, 0, 0)) return ASY_ERR;
    AsyTransport *t = tr_of(argv[0]);
    return ASY_BOOL(t->bev && t->reading && !t->closing);
}

static const AsyMethodDef transport_methods[] = {
    {"write", trm_write, 0, "Write bytes (buffered; never blocks)."},
    {"writelines", trm_writelines, 0, "Write a sequence of bytes objects."},
    {"write_eof", trm_write_eof, 0, "Close the write end after flushing the buffer."},
    {"can_write_eof", trm_can_write_eof, 0, "Whether write_eof() is supported."},
    {"close", trm_close, 0, "Close after flushing the buffer."},
    {"abort", trm_abort, 0, "Close at once, dropping buffered data."},
    {"is_closing", trm_is_closing, 0, "Whether the transport is closing or closed."},
    {"get_extra_info", trm_get_extra_info, 0, "peername, sockname or socket."},
    {"get_write_buffer_size", trm_get_write_buffer_size, 0, "Bytes waiting to be sent."},
    {"pause_reading", trm_pause_reading, 0, "Stop receiving data."},
    {"resume_reading", trm_resume_reading, 0, "Receive data again."},
    {"is_reading", trm_is_reading, 0, "Whether data is being received."},
    {NULL, NULL, 0, NULL},
};

/* ==================================================================================== */
/* StreamWriter                                                                         */
/* ==================================================================================== */

static AsyStreamWriter *wr_of(AsyValue v) { return (AsyStreamWriter *)ASY_AS_OBJ(v); }

static void wr_traverse(AsyVM *vm, AsyObj *o) {
    AsyStreamWriter *w = (AsyStreamWriter *)o;
    asy_gc_mark_obj(vm, (AsyObj *)w->transport);
    asy_gc_mark_obj(vm, (AsyObj *)w->reader);
}

AsyStreamWriter *asy_stream_writer_new(AsyVM *vm, AsyStreams *st, AsyTransport *t,
                                       AsyStreamReader *r) {
    AsyStreamWriter *w = asy_gc_alloc(vm, st->t_writer, sizeof(AsyStreamWriter));
    w->transport = t;
    w->reader = r;
    return w;
}

/* StreamWriter(transport, protocol, reader, loop): the protocol is folded into the
 * transport, so it is accepted and ignored. */
static AsyValue wr_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    AsyStreams *st = asy_streams_state(vm);
    if (!st) return ASY_ERR;
    if (!asy_check_nokw(vm, "StreamWriter", kw)) return ASY_ERR;
    if (!asy_check_args(vm, "StreamWriter", argc, 4, 4)) return ASY_ERR;
    AsyType *tt = asy_type_of(vm, argv[0]);
    if (tt != st->t_socket && tt != st->t_rpipe && tt != st->t_wpipe)
        return asy_raise(vm, ASY_EXC_TypeError, "StreamWriter() needs one of asyncio's "
                         "transports, not '%s'", asy_type_name(vm, argv[0]));
    if (!ASY_IS_NONE(argv[2]) && !asy_isinstance(vm, argv[2], st->t_reader))
        return asy_raise(vm, ASY_EXC_AssertionError, "");
    AsyStreamWriter *w = (AsyStreamWriter *)ASY_AS_OBJ(asy_object_alloc(vm, type));
    w->transport = tr_of(argv[0]);
    w->reader = ASY_IS_NONE(argv[2]) ? NULL : rd_of(argv[2]);
    return ASY_OBJ(w);
}

static AsyValue wr_repr(AsyVM *vm, AsyValue self) {
    AsyStreamWriter *w = wr_of(self);
    AsyValue tr = tr_repr(vm, ASY_OBJ(w->transport));
    if (ASY_IS_ERR(tr)) return tr;
    asy_root_push(vm, tr);
    AsyValue rr = w->reader ? rd_repr(vm, ASY_OBJ(w->reader)) : ASY_NONE;
    asy_root_pop(vm, 1);
    if (ASY_IS_ERR(rr)) return rr;
    const char *ts = ((AsyStr *)ASY_AS_OBJ(tr))->data;
    if (!w->reader) return ASY_OBJ(asy_str_printf(vm, "<StreamWriter transport=%s>", ts));
    return ASY_OBJ(asy_str_printf(vm, "<StreamWriter transport=%s reader=%s>", ts,
                                  ((AsyStr *)ASY_AS_OBJ(rr))->data));
}

static AsyValue wr_getattr(AsyVM *vm, AsyValue self, AsyStr *name) {
    if (strcmp(name->data, "transport") == 0) return ASY_OBJ(wr_of(self)->transport);
    return ASY_TYPE(vm, object)->getattr(vm, self, name);
}

/* The writer's methods that are the transport's: call them with the transport as self. */
#define WR_FORWARD(fname, trfn)                                                           \
    static AsyValue wrm_##fname(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {       \
        AsyValue args[4];                                                                 \
        int n = argc < 4 ? argc : 4; /* enough for the transport's arity error */         \
        for (int i = 0; i < n; i++) args[i] = argv[i];                                    \
        args[0] = ASY_OBJ(wr_of(argv[0])->transport);                                     \
        return trfn(vm, n, args, kw);                                                     \
    }
WR_FORWARD(write, trm_write)
WR_FORWARD(writelines, trm_writelines)
WR_FORWARD(write_eof, trm_write_eof)
WR_FORWARD(can_write_eof, trm_can_write_eof)
WR_FORWARD(close, trm_close)
WR_FORWARD(is_closing, trm_is_closing)
WR_FORWARD(get_extra_info, trm_get_extra_info)

/* drain(): the reader's exception first; a closing transport gets one pass for
 * connection_lost to run; then wait while writing is paused. */
static int wr_drain_fn(AsyVM *vm, AsyOp *op, AsyTask *t, bool resumed, AsyValue *result) {
    AsyStreamWriter *w = wr_of(op->obj);
    AsyTransport *tr = w->transport;
    *result = ASY_NONE;
    if (resumed) {
        bool draining = asy_waitlist_has(&tr->drainers, t);
        asy_waitlist_remove(&tr->drainers, t);
        if (asy_task_take_exc(vm, t)) return ASY_AWAIT_ERROR;
        if (draining) {
            if (tr->lost && !ASY_IS_UNDEF(tr->exc) && !ASY_IS_NONE(tr->exc)) {
                asy_raise_value(vm, tr->exc);
                return ASY_AWAIT_ERROR;
            }
            return ASY_AWAIT_DONE;
        }
    } else {
        if (w->reader && !rd_check_exc(vm, w->reader)) return ASY_AWAIT_ERROR;
        if (tr->closing) return yield_once(vm, op, t);
    }
    if (tr->lost) {
        asy_raise(vm, ASY_EXC_ConnectionResetError, "Connection lost");
        return ASY_AWAIT_ERROR;
    }
    if (!tr->paused_writing) return ASY_AWAIT_DONE;
    asy_task_wait_begin(vm, t, ASY_WAIT_LIST, &tr->drainers);
    return ASY_AWAIT_SUSPEND;
}

static AsyValue wrm_drain(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "drain", argc - 1, 0, 0)) return ASY_ERR;
    return ASY_OBJ(asy_op_new(vm, wr_drain_fn, "StreamWriter.drain", argv[0], ASY_UNDEF));
}

/* wait_closed(): until connection_lost, raising its exception if it had one. */
static int wr_wait_closed_fn(AsyVM *vm, AsyOp *op, AsyTask *t, bool resumed, AsyValue *result) {
    AsyTransport *tr = wr_of(op->obj)->transport;
    if (resumed) {
        asy_waitlist_remove(&tr->closers, t);
        if (asy_task_take_exc(vm, t)) return ASY_AWAIT_ERROR;
    }
    if (!tr->lost) {
        asy_task_wait_begin(vm, t, ASY_WAIT_LIST, &tr->closers);
        return ASY_AWAIT_SUSPEND;
    }
    if (!ASY_IS_UNDEF(tr->exc) && !ASY_IS_NONE(tr->exc)) {
        asy_raise_value(vm, tr->exc);
        return ASY_AWAIT_ERROR;
    }
    *result = ASY_NONE;
    return ASY_AWAIT_DONE;
}

static AsyValue wrm_wait_closed(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "wait_closed", argc - 1, 0, 0)) return ASY_ERR;
    return ASY_OBJ(asy_op_new(vm, wr_wait_closed_fn, "StreamWriter.wait_closed", argv[0],
                              ASY_UNDEF));
}

static const AsyMethodDef writer_methods[] = {
    {"write", wrm_write, 0, "Write bytes to the stream (buffered)."},
    {"writelines", wrm_writelines, 0, "Write a sequence of bytes objects."},
    {"write_eof", wrm_write_eof, 0, "Close the write end after flushing the buffer."},
    {"can_write_eof", wrm_can_write_eof, 0, "Whether write_eof() is supported."},
    {"close", wrm_close, 0, "Close the stream after flushing the buffer."},
    {"is_closing", wrm_is_closing, 0, "Whether the stream is closing or closed."},
    {"wait_closed", wrm_wait_closed, 0, "Wait until the stream is closed."},
    {"drain", wrm_drain, 0, "Wait until the write buffer is low enough."},
    {"get_extra_info", wrm_get_extra_info, 0, "peername, sockname or socket."},
    {NULL, NULL, 0, NULL},
};

/* ==================================================================================== */
/* TransportSocket (server.sockets, get_extra_info('socket'))                           */
/* ==================================================================================== */

typedef struct {
    AsyObj hdr;
    int fd, family, type, proto;
} AsyTrSock;

static AsyTrSock *ts_of(AsyValue v) { return (AsyTrSock *)ASY_AS_OBJ(v); }

static AsyValue trsock_new(AsyVM *vm, AsyStreams *st, int fd) {
    AsyTrSock *s = asy_gc_alloc(vm, st->t_trsock, sizeof(AsyTrSock));
    s->fd = fd;
    if (fd < 0) return ASY_OBJ(s);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) s->family = ss.ss_family;
    len = sizeof s->type;
    getsockopt(fd, SOL_SOCKET, SO_TYPE, &s->type, &len);
#ifdef SO_PROTOCOL
    len = sizeof s->proto;
    getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &s->proto, &len);
#endif
    return ASY_OBJ(s);
}

static AsyValue ts_name(AsyVM *vm, AsyValue self, bool peer) {
    AsyTrSock *s = ts_of(self);
    if (s->fd < 0) return asy_raise_oserror(vm, EBADF, NULL);
    return fd_name(vm, s->fd, peer);
}

static AsyValue ts_repr(AsyVM *vm, AsyValue self) {
    AsyTrSock *s = ts_of(self);
    AsyStrBuf b;
    asy_strbuf_init(&b);
    asy_strbuf_printf(vm, &b, "<asyncio.TransportSocket fd=%d, family=%d, type=%d, proto=%d",
                      s->fd, s->family, s->type, s->proto);
    for (int peer = 0; peer < 2 && s->fd >= 0; peer++) {
        AsyValue a = fd_name(vm, s->fd, peer);
        if (ASY_IS_ERR(a)) {
            asy_exc_clear(vm);
            continue;
        }
        AsyValue r = asy_repr(vm, a);
        if (ASY_IS_ERR(r)) return r;
        asy_strbuf_printf(vm, &b, ", %s=%s", peer ? "raddr" : "laddr", ((AsyStr *)ASY_AS_OBJ(r))->data);
    }
    asy_strbuf_append_cstr(vm, &b, ">");
    AsyStr *str = asy_strbuf_finish(vm, &b);
    return str ? ASY_OBJ(str) : ASY_ERR;
}

static AsyValue ts_getattr(AsyVM *vm, AsyValue self, AsyStr *name) {
    AsyTrSock *s = ts_of(self);
    if (strcmp(name->data, "family") == 0) return ASY_INT(s->family);
    if (strcmp(name->data, "type") == 0) return ASY_INT(s->type);
    if (strcmp(name->data, "proto") == 0) return ASY_INT(s->proto);
    return ASY_TYPE(vm, object)->getattr(vm, self, name);
}

static AsyValue tsm_fileno(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "fileno", argc - 1, 0, 0)) return ASY_ERR;
    return ASY_INT(ts_of(argv[0])->fd);
}

static AsyValue tsm_getsockname(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "getsockname", argc - 1, 0, 0)) return ASY_ERR;
    return ts_name(vm, argv[0], false);
}

static AsyValue tsm_getpeername(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "getpeername", argc - 1, 0, 0)) return ASY_ERR;
    return ts_name(vm, argv[0], true);
}

static const AsyMethodDef trsock_methods[] = {
    {"fileno", tsm_fileno, 0, "The file descriptor of the socket."},
    {"getsockname", tsm_getsockname, 0, "The local address."},
    {"getpeername", tsm_getpeername, 0, "The remote address."},
    {NULL, NULL, 0, NULL},
};

/* ==================================================================================== */
/* Resolving host names                                                                 */
/* ==================================================================================== */

/* Numbers and localhost resolve at once (getaddrinfo reads /etc/hosts, no network);
 * other names go to evdns. */
static bool resolves_locally(const char *host) {
    if (!host || strcmp(host, "localhost") == 0) return true;
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* socket.gaierror(code, message) as asy's socket module would raise it. */
static AsyValue raise_gaierror(AsyVM *vm, AsyStreams *st, int code) {
    AsyValue args[2] = {ASY_INT(code), ASY_OBJ(asy_str_from_cstr(vm, gai_strerror(code)))};
    AsyValue e = asy_call(vm, st->e_gaierror, 2, args, NULL);
    return ASY_IS_ERR(e) ? e : asy_raise_value(vm, e);
}

/* The host and port of a call as C strings (host NULL for None); false with TypeError. */
static bool host_port(AsyVM *vm, AsyValue host, AsyValue port, const char **h, char *pbuf,
                      size_t plen) {
    *h = NULL;
    if (!ASY_IS_NONE(host) && !ASY_IS_UNDEF(host)) {
        if (asy_type_of(vm, host) != ASY_TYPE(vm, str)) {
            asy_raise(vm, ASY_EXC_TypeError, "getaddrinfo() argument 1 must be string or None");
            return false;
        }
        *h = ((AsyStr *)ASY_AS_OBJ(host))->data;
    }
    if (ASY_IS_NONE(port) || ASY_IS_UNDEF(port)) {
        snprintf(pbuf, plen, "0");
    } else if (ASY_IS_INT(port)) {
        snprintf(pbuf, plen, "%lld", (long long)ASY_AS_INT(port));
    } else if (asy_type_of(vm, port) == ASY_TYPE(vm, str)) {
        snprintf(pbuf, plen, "%s", ((AsyStr *)ASY_AS_OBJ(port))->data);
    } else {
        asy_raise(vm, ASY_EXC_OSError, "Int or String expected");
        return false;
    }
    return true;
}

static struct evdns_base *st_dns(AsyStreams *st) {
    if (!st->dns)
        st->dns = evdns_base_new(st->base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
                                               EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    return st->dns;
}

/* ==================================================================================== */
/* open_connection                                                                      */
/* ==================================================================================== */

/* op->arg of open_connection: (host, port, limit, family). */
enum { OC_HOST, OC_PORT, OC_LIMIT, OC_FAMILY, OC_NARGS };

enum { CS_FAILED = CS_OPEN + 1, CS_TRY };

static void oc_dns_cb(int result, struct evutil_addrinfo *res, void *arg) {
    AsyTransport *t = arg;
    t->dnsreq = NULL;
    if (t->live.st->shutdown || t->conn_state != CS_RESOLVING) { /* abandoned */
        if (res) evutil_freeaddrinfo(res);
        if (!t->live.st->shutdown && !t->bev) asy_live_unlink(&t->live);
        return;
    }
    t->addrs = t->next_addr = res;
    t->conn_err = result;
    t->conn_state = result == 0 ? CS_TRY : CS_FAILED;
    tr_conn_wake(t);
}

/* Start resolving: the answer is there at once (CS_TRY/CS_FAILED) or evdns calls back. */
static bool oc_resolve(AsyVM *vm, AsyTransport *t, const char *host, const char *port,
                       int family) {
    struct evutil_addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    if (resolves_locally(host)) {
        int r = evutil_getaddrinfo(host, port, &hints, &t->addrs);
        t->next_addr = t->addrs;
        t->conn_err = r;
        t->conn_state = r == 0 ? CS_TRY : CS_FAILED;
        return true;
    }
    struct evdns_base *dns = st_dns(t->live.st);
    if (!dns) {
        t->conn_err = EVUTIL_EAI_FAIL;
        t->conn_state = CS_FAILED;
        return true;
    }
    t->conn_state = CS_RESOLVING;
    struct evdns_getaddrinfo_request *req =
        evdns_getaddrinfo(dns, host, port, &hints, oc_dns_cb, t);
    if (t->conn_state == CS_RESOLVING) t->dnsreq = req; /* else it answered already */
    ASY_UNUSED(vm);
    return true;
}

/* Forget the socket of a failed attempt; the transport stays live for the next one. */
static void oc_drop_bev(AsyTransport *t) {
    if (t->bev) bufferevent_free(t->bev);
    t->bev = NULL;
}

/* OSError(err, "Connect call failed ('127.0.0.1', 8888)") into t->conn_errors. */
static bool oc_record(AsyVM *vm, AsyTransport *t, int err, const struct sockaddr *sa) {
    AsyValue addr = sa ? sockaddr_tuple(vm, sa) : ASY_NONE;
    AsyValue r = asy_repr(vm, addr);
    if (ASY_IS_ERR(r)) return false;
    AsyStr *msg = asy_str_printf(vm, "Connect call failed %s", ((AsyStr *)ASY_AS_OBJ(r))->data);
    AsyValue e = sa ? oserror_new(vm, err, msg) : oserror_errno(vm, err);
    if (ASY_IS_ERR(e)) return false;
    if (!t->conn_errors) t->conn_errors = asy_list_new(vm, 2);
    return asy_list_append(vm, t->conn_errors, e) >= 0;
}

/* Connect to the next address: CS_OPEN (connected at once), CS_CONNECTING (wait), or
 * CS_FAILED when none is left. false on an error (MemoryError). */
static bool oc_try_next(AsyVM *vm, AsyTransport *t) {
    while (t->next_addr) {
        struct evutil_addrinfo *ai = t->next_addr;
        t->next_addr = ai->ai_next;
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            if (!oc_record(vm, t, errno, NULL)) return false;
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (!tr_attach_fd(t, fd)) {
            if (!t->bev) close(fd);
            oc_drop_bev(t);
            asy_raise_memory(vm);
            return false;
        }
        if (connect(fd, ai->ai_addr, (socklen_t)ai->ai_addrlen) == 0) {
            t->conn_state = CS_OPEN;
            return true;
        }
        int err = errno;
        if (err == EINPROGRESS && bufferevent_socket_connect(t->bev, NULL, 0) == 0) {
            t->conn_state = CS_CONNECTING;
            t->cur_addr = ai;
            return true;
        }
        oc_drop_bev(t);
        if (!oc_record(vm, t, err, ai->ai_addr)) return false;
    }
    t->conn_state = CS_FAILED;
    t->conn_err = 0;
    return true;
}

/* Every address failed: CPython's rule for which error to raise. */
static int oc_raise_failure(AsyVM *vm, AsyTransport *t) {
    AsyList *errs = t->conn_errors;
    if (!errs || errs->len == 0) {
        asy_raise(vm, ASY_EXC_OSError, "getaddrinfo() returned empty list");
        return ASY_AWAIT_ERROR;
    }
    AsyStrBuf b;
    asy_strbuf_init(&b);
    bool same = true;
    AsyValue model = asy_str(vm, errs->items[0]);
    if (ASY_IS_ERR(model)) return ASY_AWAIT_ERROR;
    asy_root_push(vm, model);
    for (int64_t i = 0; i < errs->len; i++) {
        AsyValue s = asy_str(vm, errs->items[i]);
        if (ASY_IS_ERR(s)) {
            asy_root_pop(vm, 1);
            asy_strbuf_free(&b);
            return ASY_AWAIT_ERROR;
        }
        same = same && asy_str_equal((AsyStr *)ASY_AS_OBJ(s), (AsyStr *)ASY_AS_OBJ(model));
        asy_strbuf_append_cstr(vm, &b, i ? ", " : "Multiple exceptions: ");
        asy_strbuf_append_str(vm, &b, (AsyStr *)ASY_AS_OBJ(s));
    }
    asy_root_pop(vm, 1);
    if (same) {
        asy_strbuf_free(&b);
        asy_raise_value(vm, errs->items[0]);
        return ASY_AWAIT_ERROR;
    }
    AsyStr *msg = asy_strbuf_finish(vm, &b);
    if (msg) asy_raise(vm, ASY_EXC_OSError, "%s", msg->data);
    return ASY_AWAIT_ERROR;
}

/* Connected: the reader starts reading, and the result is (reader, writer). */
static int oc_finish(AsyVM *vm, AsyOp *op, AsyTransport *t, AsyValue *result) {
    AsyStreams *st = t->live.st;
    if (t->addrs) evutil_freeaddrinfo(t->addrs);
    t->addrs = t->next_addr = t->cur_addr = NULL;
    t->conn_errors = NULL;
    AsyTuple *a = (AsyTuple *)ASY_AS_OBJ(op->arg);
    AsyStreamReader *r = asy_stream_reader_new(vm, st, ASY_AS_INT(a->items[OC_LIMIT]));
    if (!r) return ASY_AWAIT_ERROR;
    asy_transport_set_reader(t, r);
    AsyStreamWriter *w = asy_stream_writer_new(vm, st, t, r);
    AsyValue pair[2] = {ASY_OBJ(r), ASY_OBJ(w)};
    *result = ASY_OBJ(asy_tuple_from_array(vm, pair, 2));
    return ASY_AWAIT_DONE;
}

/* Stop the attempt (the task was cancelled): the socket goes, a DNS answer is dropped. */
static void oc_abort(AsyTransport *t) {
    t->conn_task = NULL;
    t->conn_state = CS_NONE;
    t->closing = t->lost = true;
    struct evdns_getaddrinfo_request *req = t->dnsreq;
    if (req) evdns_getaddrinfo_cancel(req); /* its callback unlinks t */
    tr_free_io(t);
}

static int oc_wait(AsyVM *vm, AsyTransport *t, AsyTask *task) {
    asy_task_wait_begin(vm, task, ASY_WAIT_LIST, NULL);
    t->conn_task = task;
    t->conn_gen = task->wait_gen;
    return ASY_AWAIT_SUSPEND;
}

/* The state machine of one open_connection: resolve, try each address, finish. */
static int oc_step(AsyVM *vm, AsyOp *op, AsyTransport *t, AsyTask *task, AsyValue *result) {
    for (;;) {
        switch (t->conn_state) {
        case CS_RESOLVING:
        case CS_CONNECTING:
            return oc_wait(vm, t, task);
        case CS_CONNECTED:
            if (t->conn_err == 0) {
                t->conn_state = CS_OPEN;
                break;
            }
            oc_drop_bev(t);
            if (!oc_record(vm, t, t->conn_err, t->cur_addr ? t->cur_addr->ai_addr : NULL))
                return ASY_AWAIT_ERROR;
            t->conn_state = CS_TRY;
            break;
        case CS_TRY:
            if (!oc_try_next(vm, t)) return ASY_AWAIT_ERROR;
            break;
        case CS_OPEN:
            return oc_finish(vm, op, t, result);
        default: { /* CS_FAILED */
            int err = t->conn_err;
            tr_free_io(t);
            t->closing = t->lost = true;
            if (err) {
                raise_gaierror(vm, t->live.st, err);
                return ASY_AWAIT_ERROR;
            }
            return oc_raise_failure(vm, t);
        }
        }
    }
}

static int oc_fn(AsyVM *vm, AsyOp *op, AsyTask *task, bool resumed, AsyValue *result) {
    if (resumed) {
        AsyTransport *t = tr_of(op->obj);
        if (asy_task_take_exc(vm, task)) {
            oc_abort(t);
            return ASY_AWAIT_ERROR;
        }
        return oc_step(vm, op, t, task, result);
    }
    AsyStreams *st = asy_streams_state(vm);
    if (!st) return ASY_AWAIT_ERROR;
    AsyTuple *a = (AsyTuple *)ASY_AS_OBJ(op->arg);
    if (ASY_IS_NONE(a->items[OC_HOST]) && ASY_IS_NONE(a->items[OC_PORT])) {
        asy_raise(vm, ASY_EXC_ValueError, "host and port was not specified and no sock specified");
        return ASY_AWAIT_ERROR;
    }
    const char *host;
    char port[64];
    if (!host_port(vm, a->items[OC_HOST], a->items[OC_PORT], &host, port, sizeof port))
        return ASY_AWAIT_ERROR;
    AsyTransport *t = tr_alloc(vm, st, ASY_TR_SOCKET);
    op->obj = ASY_OBJ(t);
    oc_resolve(vm, t, host, port, (int)ASY_AS_INT(a->items[OC_FAMILY]));
    return oc_step(vm, op, t, task, result);
}

/* Keywords of loop.create_connection that open_connection passes on: accepted, and those
 * asy's streams cannot honour refused. */
static bool oc_kwargs(AsyVM *vm, AsyDict *kw, int64_t *family) {
    static const char *const ignored[] = {"proto", "flags", "server_hostname",
                                          "ssl_handshake_timeout", "ssl_shutdown_timeout",
                                          "happy_eyeballs_delay", "interleave", "loop", NULL};
    for (int i = 0; ignored[i]; i++) asy_kwarg(vm, kw, ignored[i]);
    AsyValue fam = asy_kwarg(vm, kw, "family");
    if (!ASY_IS_UNDEF(fam) && !asy_index(vm, fam, family)) return false;
    static const char *const unsupported[] = {"ssl", "sock", "local_addr", NULL};
    for (int i = 0; unsupported[i]; i++) {
        AsyValue v = asy_kwarg(vm, kw, unsupported[i]);
        if (!ASY_IS_UNDEF(v) && !ASY_IS_NONE(v) && !(ASY_IS_BOOL(v) && !ASY_AS_BOOL(v))) {
            asy_raise(vm, ASY_EXC_NotImplementedError, "open_connection(%s=...) is not supported "
                      "by asy's streams", unsupported[i]);
            return false;
        }
    }
    if (kw && kw->len) {
        int64_t pos = 0;
        AsyValue k, v;
        asy_dict_next(kw, &pos, &k, &v);
        asy_raise(vm, ASY_EXC_TypeError, "BaseEventLoop.create_connection() got an unexpected "
                  "keyword argument '%S'", k);
        return false;
    }
    return true;
}

/* Check limit as StreamReader() would, before anything else happens. */
static bool limit_arg(AsyVM *vm, AsyValue v, int64_t *out) {
    *out = ASY_STREAM_LIMIT;
    if (ASY_IS_UNDEF(v)) return true;
    if (!asy_index(vm, v, out)) return false;
    if (*out <= 0) {
        asy_raise(vm, ASY_EXC_ValueError, "Limit cannot be <= 0");
        return false;
    }
    return true;
}

/* open_connection(host=None, port=None, *, limit=65536, **kwds) */
static AsyValue aio_open_connection(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    AsyValue host = asy_kwarg(vm, kw, "host"), port = asy_kwarg(vm, kw, "port");
    AsyValue limit = asy_kwarg(vm, kw, "limit");
    if (argc > 2)
        return asy_raise(vm, ASY_EXC_TypeError, "open_connection() takes from 0 to 2 positional "
                         "arguments but %d were given", argc);
    if (argc > 0) host = argv[0];
    if (argc > 1) port = argv[1];
    int64_t family = AF_UNSPEC, lim;
    if (!oc_kwargs(vm, kw, &family) || !limit_arg(vm, limit, &lim)) return ASY_ERR;
    AsyValue items[OC_NARGS] = {ASY_IS_UNDEF(host) ? ASY_NONE : host,
                                ASY_IS_UNDEF(port) ? ASY_NONE : port, ASY_INT(lim),
                                ASY_INT(family)};
    AsyValue args = ASY_OBJ(asy_tuple_from_array(vm, items, OC_NARGS));
    return ASY_OBJ(asy_op_new(vm, oc_fn, "open_connection", ASY_NONE, args));
}

/* ==================================================================================== */
/* Server                                                                               */
/* ==================================================================================== */

typedef struct {
    AsyLive live;
    int *fds;                         /* bound sockets (owned until listening starts) */
    struct evconnlistener **ls;       /* their listeners while serving                 */
    int nsocks;
    struct event *retry_ev;           /* accept() ran out of fds: retry in a second    */
    AsyValue cb;                      /* client_connected_cb                           */
    int64_t limit;
    int backlog;
    AsyWaitList waiters;              /* wait_closed()                                 */
    AsyWaitList forever;              /* serve_forever()                               */
    int64_t active;                   /* connections not yet lost                      */
    bool closed, serving, woken;      /* closed: CPython's _sockets is None; woken: its
                                         _waiters is None                              */
} AsyServer;

static AsyServer *srv_of(AsyValue v) { return (AsyServer *)ASY_AS_OBJ(v); }

static void srv_free_socks(AsyServer *s) {
    for (int i = 0; i < s->nsocks; i++) {
        if (s->ls && s->ls[i]) evconnlistener_free(s->ls[i]); /* closes the fd */
        else if (s->fds[i] >= 0) close(s->fds[i]);
    }
    free(s->fds);
    free(s->ls);
    s->fds = NULL;
    s->ls = NULL;
    s->nsocks = 0;
    if (s->retry_ev) event_free(s->retry_ev);
    s->retry_ev = NULL;
    asy_live_unlink(&s->live);
}

static void srv_release(AsyLive *o) { srv_free_socks((AsyServer *)o); }

static void srv_wakeup(AsyVM *vm, AsyServer *s) {
    s->woken = true;
    wake_all(vm, &s->waiters, ASY_NONE);
}

static void srv_detach(AsyVM *vm, AsyObj *server) {
    AsyServer *s = (AsyServer *)server;
    if (--s->active == 0 && s->closed) srv_wakeup(vm, s);
}

static void srv_close(AsyVM *vm, AsyServer *s) {
    if (s->closed) return;
    s->closed = true;
    srv_free_socks(s);
    s->serving = false;
    wake_all(vm, &s->forever, ASY_TRUE); /* CPython cancels _serving_forever_fut */
    if (s->active == 0) srv_wakeup(vm, s);
}

/* A client connected (a handle, run by the loop): its streams, then the callback; a
 * coroutine it returns becomes a task. */
static void srv_conn_done(AsyVM *vm, AsyValue tr, AsyValue task);

static void srv_accept_h(AsyVM *vm, AsyValue a, AsyValue b) {
    AsyServer *s = srv_of(a);
    AsyStreams *st = s->live.st;
    int fd = (int)ASY_AS_INT(b), one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    AsyTransport *t = asy_transport_new(vm, st, ASY_TR_SOCKET, fd);
    AsyStreamReader *r = t ? asy_stream_reader_new(vm, st, s->limit) : NULL;
    if (!r) {
        if (t) tr_free_io(t);
        asy_loop_log_error(vm, "Error on transport creation for incoming connection", NULL,
                           ASY_UNDEF, vm->exc);
        asy_exc_clear(vm);
        return;
    }
    t->server = &s->live.hdr;
    s->active++;
    asy_transport_set_reader(t, r);
    AsyStreamWriter *w = asy_stream_writer_new(vm, st, t, r);
    AsyValue args[2] = {ASY_OBJ(r), ASY_OBJ(w)};
    asy_root_push(vm, args[1]);
    AsyValue res = asy_call(vm, s->cb, 2, args, NULL);
    if (ASY_IS_ERR(res)) {
        AsyException *e = vm->exc;
        asy_exc_clear(vm);
        asy_loop_log_error(vm, "Exception in callback StreamReaderProtocol.connection_made()",
                           NULL, ASY_UNDEF, e);
    } else if (asy_aio_is_coroutine(vm, res)) {
        asy_root_push(vm, res);
        AsyTask *task = asy_task_new(vm, res, ASY_UNDEF);
        if (!task || !asy_future_add_cb(vm, &task->fut, srv_conn_done, ASY_OBJ(t)))
            asy_exc_clear(vm);
        asy_root_pop(vm, 1);
    }
    asy_root_pop(vm, 1);
}

/* The handler task ended: an exception is logged and closes the connection. */
static void srv_conn_done(AsyVM *vm, AsyValue tr, AsyValue task) {
    AsyFuture *f = (AsyFuture *)ASY_AS_OBJ(task);
    if (f->state != ASY_FUT_FINISHED || !f->has_exc) return;
    f->log_tb = 0;
    asy_loop_log_error(vm, "Unhandled exception in client_connected_cb", "transport", tr,
                       (AsyException *)ASY_AS_OBJ(f->result));
    asy_transport_close(vm, tr_of(tr));
}

static void srv_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                          int len, void *arg) {
    ASY_UNUSED(l);
    ASY_UNUSED(sa);
    ASY_UNUSED(len);
    AsyServer *s = arg;
    AsyVM *vm = s->live.st->vm;
    if (s->live.st->shutdown || !asy_loop_call_soon(vm, srv_accept_h, ASY_OBJ(s), ASY_INT(fd))) {
        asy_exc_clear(vm);
        close(fd);
    }
}

static void srv_retry_cb(evutil_socket_t fd, short what, void *arg) {
    ASY_UNUSED(fd);
    ASY_UNUSED(what);
    AsyServer *s = arg;
    for (int i = 0; i < s->nsocks && s->ls; i++)
        if (s->ls[i]) evconnlistener_enable(s->ls[i]);
}

/* Out of file descriptors (or memory): stop accepting for a second, as CPython does,
 * rather than spin on a listening socket that stays readable. */
static void srv_error_cb(struct evconnlistener *l, void *arg) {
    ASY_UNUSED(l);
    AsyServer *s = arg;
    int err = EVUTIL_SOCKET_ERROR();
    if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM) return;
    if (!s->retry_ev) s->retry_ev = evtimer_new(s->live.st->base, srv_retry_cb, s);
    if (!s->retry_ev) return;
    for (int i = 0; i < s->nsocks; i++)
        if (s->ls[i]) evconnlistener_disable(s->ls[i]);
    struct timeval tv = {1, 0};
    evtimer_add(s->retry_ev, &tv);
}

static bool srv_start(AsyVM *vm, AsyServer *s) {
    if (s->serving || s->closed) return true;
    s->serving = true;
    if (!s->ls) s->ls = calloc((size_t)s->nsocks, sizeof *s->ls);
    if (!s->ls && s->nsocks) {
        asy_raise_memory(vm);
        return false;
    }
    for (int i = 0; i < s->nsocks; i++) {
        s->ls[i] = evconnlistener_new(s->live.st->base, srv_accept_cb, s,
                                      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
                                      s->backlog, s->fds[i]);
        if (!s->ls[i]) {
            asy_raise_oserror(vm, errno ? errno : ENOMEM, NULL);
            return false;
        }
        evconnlistener_set_error_cb(s->ls[i], srv_error_cb);
    }
    return true;
}

static void srv_traverse(AsyVM *vm, AsyObj *o) {
    AsyServer *s = (AsyServer *)o;
    asy_gc_mark_obj(vm, &s->live.st->hdr);
    asy_gc_mark_value(vm, s->cb);
    asy_waitlist_mark(vm, &s->waiters);
    asy_waitlist_mark(vm, &s->forever);
}

static void srv_finalize(AsyVM *vm, AsyObj *o) {
    AsyServer *s = (AsyServer *)o;
    if (vm->loop) srv_free_socks(s);
    free(s->fds);
    free(s->ls);
    s->fds = NULL;
    s->ls = NULL;
}

static AsyValue srv_sockets(AsyVM *vm, AsyServer *s) {
    if (s->closed) return ASY_OBJ(vm->empty_tuple);
    AsyTuple *t = asy_tuple_new(vm, s->nsocks);
    for (int i = 0; i < s->nsocks; i++) {
        AsyValue so = trsock_new(vm, s->live.st, s->fds[i]);
        t->items[i] = so;
    }
    return ASY_OBJ(t);
}

static AsyValue srv_repr(AsyVM *vm, AsyValue self) {
    AsyValue socks = srv_sockets(vm, srv_of(self));
    AsyValue r = asy_repr(vm, socks);
    if (ASY_IS_ERR(r)) return r;
    return ASY_OBJ(asy_str_printf(vm, "<%s sockets=%s>", asy_type_name(vm, self),
                                  ((AsyStr *)ASY_AS_OBJ(r))->data));
}

static AsyValue srv_getattr(AsyVM *vm, AsyValue self, AsyStr *name) {
    if (strcmp(name->data, "sockets") == 0) return srv_sockets(vm, srv_of(self));
    return ASY_TYPE(vm, object)->getattr(vm, self, name);
}

static AsyValue srvm_close(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "close", argc - 1, 0, 0)) return ASY_ERR;
    srv_close(vm, srv_of(argv[0]));
    return ASY_NONE;
}

static AsyValue srvm_is_serving(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "is_serving", argc - 1, 0, 0)) return ASY_ERR;
    return ASY_BOOL(srv_of(argv[0])->serving);
}

static AsyValue srvm_get_loop(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    ASY_UNUSED(argv);
    if (!asy_check_args(vm, "get_loop", argc - 1, 0, 0)) return ASY_ERR;
    AsyLoop *L = vm->loop;
    return L->loop_obj ? ASY_OBJ(L->loop_obj) : ASY_NONE;
}

/* wait_closed(): 3.11 returns at once once close() was called (its _sockets is None). */
static int srv_wait_closed_fn(AsyVM *vm, AsyOp *op, AsyTask *t, bool resumed, AsyValue *result) {
    AsyServer *s = srv_of(op->obj);
    *result = ASY_NONE;
    if (resumed) {
        asy_waitlist_remove(&s->waiters, t);
        return asy_task_take_exc(vm, t) ? ASY_AWAIT_ERROR : ASY_AWAIT_DONE;
    }
    if (s->closed || s->woken) return ASY_AWAIT_DONE;
    asy_task_wait_begin(vm, t, ASY_WAIT_LIST, &s->waiters);
    return ASY_AWAIT_SUSPEND;
}

static AsyValue srvm_wait_closed(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "wait_closed", argc - 1, 0, 0)) return ASY_ERR;
    return ASY_OBJ(asy_op_new(vm, srv_wait_closed_fn, "Server.wait_closed", argv[0], ASY_UNDEF));
}

static int srv_start_serving_fn(AsyVM *vm, AsyOp *op, AsyTask *t, bool resumed,
                                AsyValue *result) {
    *result = ASY_NONE;
    if (resumed) return asy_task_take_exc(vm, t) ? ASY_AWAIT_ERROR : ASY_AWAIT_DONE;
    if (!srv_start(vm, srv_of(op->obj))) return ASY_AWAIT_ERROR;
    return yield_once(vm, op, t);
}

static AsyValue srvm_start_serving(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "start_serving", argc - 1, 0, 0)) return ASY_ERR;
    return ASY_OBJ(asy_op_new(vm, srv_start_serving_fn, "Server.start_serving", argv[0],
                              ASY_UNDEF));
}

/* serve_forever(): until cancelled (which closes the server) or closed by someone else
 * (which cancels it: CancelledError either way). */
static int srv_forever_fn(AsyVM *vm, AsyOp *op, AsyTask *t, bool resumed, AsyValue *result) {
    AsyServer *s = srv_of(op->obj);
    ASY_UNUSED(result);
    if (resumed) {
        asy_waitlist_remove(&s->forever, t);
        srv_close(vm, s);
        if (!asy_task_take_exc(vm, t))
            asy_raise_value(vm, ASY_OBJ(vm->exc_types[ASY_EXC_CancelledError]));
        return ASY_AWAIT_ERROR;
    }
    if (s->forever.len || s->closed) {
        AsyValue r = srv_repr(vm, op->obj);
        if (ASY_IS_ERR(r)) return ASY_AWAIT_ERROR;
        asy_raise(vm, ASY_EXC_RuntimeError, s->closed ? "server %U is closed"
                  : "server %U is already being awaited on serve_forever()",
                  (AsyStr *)ASY_AS_OBJ(r));
        return ASY_AWAIT_ERROR;
    }
    if (!srv_start(vm, s)) return ASY_AWAIT_ERROR;
    asy_task_wait_begin(vm, t, ASY_WAIT_LIST, &s->forever);
    return ASY_AWAIT_SUSPEND;
}

static AsyValue srvm_serve_forever(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "serve_forever", argc - 1, 0, 0)) return ASY_ERR;
    return ASY_OBJ(asy_op_new(vm, srv_forever_fn, "Server.serve_forever", argv[0], ASY_UNDEF));
}

static AsyValue srvm_aenter(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__aenter__", argc - 1, 0, 0)) return ASY_ERR;
    return asy_op_value(vm, argv[0]);
}

static AsyValue srvm_aexit(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    ASY_UNUSED(argc);
    srv_close(vm, srv_of(argv[0]));
    return srvm_wait_closed(vm, 1, argv, NULL);
}

static const AsyMethodDef server_methods[] = {
    {"close", srvm_close, 0, "Stop listening (open connections stay)."},
    {"wait_closed", srvm_wait_closed, 0, "Wait until the server is closed."},
    {"serve_forever", srvm_serve_forever, 0, "Accept connections until cancelled."},
    {"start_serving", srvm_start_serving, 0, "Start accepting connections."},
    {"is_serving", srvm_is_serving, 0, "Whether connections are being accepted."},
    {"get_loop", srvm_get_loop, 0, "The event loop of the server."},
    {"__aenter__", srvm_aenter, 0, "async with server: ..."},
    {"__aexit__", srvm_aexit, 0, "Close the server and wait for it."},
    {NULL, NULL, 0, NULL},
};

/* ==================================================================================== */
/* start_server                                                                         */
/* ==================================================================================== */

/* op->arg of start_server. */
enum { SS_CB, SS_HOST, SS_PORT, SS_LIMIT, SS_FAMILY, SS_FLAGS, SS_BACKLOG, SS_REUSE_ADDR,
       SS_REUSE_PORT, SS_START, SS_NARGS };

static bool srv_add_fd(AsyVM *vm, AsyServer *s, int fd) {
    int *fds = realloc(s->fds, (size_t)(s->nsocks + 1) * sizeof *fds);
    if (!fds) {
        close(fd);
        asy_raise_memory(vm);
        return false;
    }
    s->fds = fds;
    s->fds[s->nsocks++] = fd;
    return true;
}

/* "error while attempting to bind on address ('127.0.0.1', 80): permission denied" */
static bool srv_bind_error(AsyVM *vm, int err, const struct sockaddr *sa) {
    AsyValue r = asy_repr(vm, sockaddr_tuple(vm, sa));
    if (ASY_IS_ERR(r)) return false;
    char lower[256];
    snprintf(lower, sizeof lower, "%s", strerror(err));
    for (char *p = lower; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    AsyStr *msg = asy_str_printf(vm, "error while attempting to bind on address %s: %s",
                                 ((AsyStr *)ASY_AS_OBJ(r))->data, lower);
    AsyValue e = oserror_new(vm, err, msg);
    if (!ASY_IS_ERR(e)) asy_raise_value(vm, e);
    return false;
}

/* Whether an address was bound already (CPython binds the set of getaddrinfo answers). */
static bool srv_has_addr(AsyServer *s, const struct sockaddr *sa, socklen_t len) {
    in_port_t port = sa->sa_family == AF_INET ? ((const struct sockaddr_in *)sa)->sin_port
                     : sa->sa_family == AF_INET6 ? ((const struct sockaddr_in6 *)sa)->sin6_port : 0;
    if (port == 0) return false; /* port 0 binds a new port each time */
    for (int i = 0; i < s->nsocks; i++) {
        struct sockaddr_storage ss;
        socklen_t l = sizeof ss;
        if (getsockname(s->fds[i], (struct sockaddr *)&ss, &l) == 0 && l == len &&
            memcmp(&ss, sa, len) == 0)
            return true;
    }
    return false;
}

static bool srv_bind_one(AsyVM *vm, AsyServer *s, const struct evutil_addrinfo *ai,
                         AsyTuple *a) {
    if (srv_has_addr(s, ai->ai_addr, (socklen_t)ai->ai_addrlen)) return true;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) return true; /* CPython: a family this host lacks is skipped */
    int one = 1;
    if (asy_truthy(vm, a->items[SS_REUSE_ADDR]) == 1)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
#ifdef SO_REUSEPORT
    if (asy_truthy(vm, a->items[SS_REUSE_PORT]) == 1)
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
#endif
    if (ai->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (!srv_add_fd(vm, s, fd)) return false;
    if (bind(fd, ai->ai_addr, (socklen_t)ai->ai_addrlen) != 0)
        return srv_bind_error(vm, errno, ai->ai_addr);
    return true;
}

/* Bind every address of one host (None: every interface). */
static bool srv_bind_host(AsyVM *vm, AsyServer *s, AsyValue host, AsyTuple *a) {
    const char *h;
    char port[64];
    if (!host_port(vm, host, a->items[SS_PORT], &h, port, sizeof port)) return false;
    struct evutil_addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = (int)ASY_AS_INT(a->items[SS_FAMILY]);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = (int)ASY_AS_INT(a->items[SS_FLAGS]);
    int r = evutil_getaddrinfo(h, port, &hints, &res);
    if (r != 0) {
        raise_gaierror(vm, s->live.st, r);
        return false;
    }
    bool ok = true;
    for (struct evutil_addrinfo *ai = res; ai && ok; ai = ai->ai_next) ok = srv_bind_one(vm, s, ai, a);
    evutil_freeaddrinfo(res);
    return ok;
}

/* host: a str, None, '' (every interface) or an iterable of them. */
static bool srv_bind(AsyVM *vm, AsyServer *s, AsyTuple *a) {
    AsyValue host = a->items[SS_HOST];
    if (ASY_IS_NONE(host) || asy_type_of(vm, host) == ASY_TYPE(vm, str)) {
        bool empty = !ASY_IS_NONE(host) && ((AsyStr *)ASY_AS_OBJ(host))->len == 0;
        return srv_bind_host(vm, s, empty ? ASY_NONE : host, a);
    }
    AsyList *hosts = asy_list_from_iterable(vm, host);
    if (!hosts) {
        asy_exc_clear(vm);
        return srv_bind_host(vm, s, host, a); /* not iterable: getaddrinfo's TypeError */
    }
    asy_root_push(vm, ASY_OBJ(hosts));
    bool ok = true;
    for (int64_t i = 0; i < hosts->len && ok; i++) ok = srv_bind_host(vm, s, hosts->items[i], a);
    asy_root_pop(vm, 1);
    return ok;
}

static AsyServer *srv_create(AsyVM *vm, AsyStreams *st, AsyTuple *a) {
    AsyServer *s = asy_gc_alloc(vm, st->t_server, sizeof(AsyServer));
    s->cb = a->items[SS_CB];
    s->limit = ASY_AS_INT(a->items[SS_LIMIT]);
    s->backlog = (int)ASY_AS_INT(a->items[SS_BACKLOG]);
    asy_live_link(st, &s->live, srv_release);
    asy_root_push(vm, ASY_OBJ(s));
    bool ok = srv_bind(vm, s, a);
    asy_root_pop(vm, 1);
    if (!ok) {
        srv_free_socks(s);
        s->closed = true;
        return NULL;
    }
    return s;
}

static int ss_fn(AsyVM *vm, AsyOp *op, AsyTask *t, bool resumed, AsyValue *result) {
    if (resumed) {
        if (asy_task_take_exc(vm, t)) {
            srv_close(vm, srv_of(op->obj));
            return ASY_AWAIT_ERROR;
        }
        *result = op->obj;
        return ASY_AWAIT_DONE;
    }
    AsyStreams *st = asy_streams_state(vm);
    if (!st) return ASY_AWAIT_ERROR;
    AsyTuple *a = (AsyTuple *)ASY_AS_OBJ(op->arg);
    if (ASY_IS_NONE(a->items[SS_HOST]) && ASY_IS_NONE(a->items[SS_PORT])) {
        asy_raise(vm, ASY_EXC_ValueError, "Neither host/port nor sock were specified");
        return ASY_AWAIT_ERROR;
    }
    AsyServer *s = srv_create(vm, st, a);
    if (!s) return ASY_AWAIT_ERROR;
    op->obj = ASY_OBJ(s);
    if (asy_truthy(vm, a->items[SS_START]) != 1) {
        *result = op->obj;
        return ASY_AWAIT_DONE;
    }
    if (!srv_start(vm, s)) {
        srv_close(vm, s);
        return ASY_AWAIT_ERROR;
    }
    return yield_once(vm, op, t); /* "so that all add_reader calls go through" */
}

static bool ss_int_kw(AsyVM *vm, AsyDict *kw, const char *name, int64_t dflt, AsyValue *out) {
    AsyValue v = asy_kwarg(vm, kw, name);
    int64_t n = dflt;
    if (!ASY_IS_UNDEF(v) && !asy_index(vm, v, &n)) return false;
    *out = ASY_INT(n);
    return true;
}

/* start_server(client_connected_cb, host=None, port=None, *, limit=65536, **kwds) */
static AsyValue aio_start_server(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    AsyValue items[SS_NARGS];
    AsyValue named[3] = {asy_kwarg(vm, kw, "client_connected_cb"), asy_kwarg(vm, kw, "host"),
                         asy_kwarg(vm, kw, "port")};
    if (argc > 3)
        return asy_raise(vm, ASY_EXC_TypeError, "start_server() takes from 1 to 3 positional "
                         "arguments but %d were given", argc);
    for (int i = 0; i < argc; i++) named[i] = argv[i];
    if (ASY_IS_UNDEF(named[0]))
        return asy_raise(vm, ASY_EXC_TypeError, "start_server() missing 1 required positional "
                         "argument: 'client_connected_cb'");
    items[SS_CB] = named[0];
    items[SS_HOST] = ASY_IS_UNDEF(named[1]) ? ASY_NONE : named[1];
    items[SS_PORT] = ASY_IS_UNDEF(named[2]) ? ASY_NONE : named[2];
    int64_t lim;
    if (!limit_arg(vm, asy_kwarg(vm, kw, "limit"), &lim)) return ASY_ERR;
    items[SS_LIMIT] = ASY_INT(lim);
    if (!ss_int_kw(vm, kw, "family", AF_UNSPEC, &items[SS_FAMILY]) ||
        !ss_int_kw(vm, kw, "flags", AI_PASSIVE, &items[SS_FLAGS]) ||
        !ss_int_kw(vm, kw, "backlog", SRV_BACKLOG, &items[SS_BACKLOG]))
        return ASY_ERR;
    AsyValue v = asy_kwarg(vm, kw, "reuse_address");
    items[SS_REUSE_ADDR] = ASY_IS_UNDEF(v) || ASY_IS_NONE(v) ? ASY_TRUE : v;
    v = asy_kwarg(vm, kw, "reuse_port");
    items[SS_REUSE_PORT] = ASY_IS_UNDEF(v) ? ASY_NONE : v;
    v = asy_kwarg(vm, kw, "start_serving");
    items[SS_START] = ASY_IS_UNDEF(v) ? ASY_TRUE : v;
    static const char *const ignored[] = {"ssl_handshake_timeout", "ssl_shutdown_timeout",
                                          "loop", NULL};
    for (int i = 0; ignored[i]; i++) asy_kwarg(vm, kw, ignored[i]);
    static const char *const unsupported[] = {"ssl", "sock", NULL};
    for (int i = 0; unsupported[i]; i++) {
        v = asy_kwarg(vm, kw, unsupported[i]);
        if (!ASY_IS_UNDEF(v) && !ASY_IS_NONE(v))
            return asy_raise(vm, ASY_EXC_NotImplementedError, "start_server(%s=...) is not "
                             "supported by asy's streams", unsupported[i]);
    }
    if (kw && kw->len) {
        int64_t pos = 0;
        AsyValue k;
        asy_dict_next(kw, &pos, &k, &v);
        return asy_raise(vm, ASY_EXC_TypeError, "BaseEventLoop.create_server() got an "
                         "unexpected keyword argument '%S'", k);
    }
    AsyValue args = ASY_OBJ(asy_tuple_from_array(vm, items, SS_NARGS));
    return ASY_OBJ(asy_op_new(vm, ss_fn, "start_server", ASY_NONE, args));
}

/* ==================================================================================== */
/* The state, the closer, the module entries                                            */
/* ==================================================================================== */

static AsyStreams *st_of_obj(AsyObj *o) { return (AsyStreams *)o; }

static void st_traverse(AsyVM *vm, AsyObj *o) {
    AsyStreams *st = st_of_obj(o);
    for (AsyLive *l = st->live; l; l = l->lnext) asy_gc_mark_obj(vm, &l->hdr);
    AsyType *types[] = {st->t_socket, st->t_rpipe, st->t_wpipe, st->t_reader,
                        st->t_writer, st->t_trsock, st->t_server, st->t_proc};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        asy_gc_mark_obj(vm, (AsyObj *)types[i]);
    asy_gc_mark_value(vm, st->e_incomplete);
    asy_gc_mark_value(vm, st->e_limit);
    asy_gc_mark_value(vm, st->e_gaierror);
    asy_gc_mark_value(vm, st->process_cls);
}

AsyStreams *asy_streams_state(AsyVM *vm) {
    AsyType *t = vm->loop ? ASY_AIO_TYPE(vm, Streams) : NULL;
    AsyValue st = t ? asy_dict_get_cstr(vm, t->dict, "_state") : ASY_UNDEF;
    if (!ASY_IS_OBJ(st)) {
        asy_raise(vm, ASY_EXC_RuntimeError, "asyncio streams are not set up");
        return NULL;
    }
    return st_of_obj(ASY_AS_OBJ(st));
}

/* The scheduler is going: free every libevent object still live (see the top of
 * asyncio_streams.h); what their callbacks would have done no longer matters. */
static void streams_closer(AsyVM *vm) {
    AsyType *t = ASY_AIO_TYPE(vm, Streams);
    AsyValue v = t ? asy_dict_get_cstr(vm, t->dict, "_state") : ASY_UNDEF;
    if (!ASY_IS_OBJ(v)) return;
    AsyStreams *st = st_of_obj(ASY_AS_OBJ(v));
    st->shutdown = true;
    while (st->live) {
        AsyLive *o = st->live;
        o->release(o);
        asy_live_unlink(o);
    }
    if (st->sigchld) asy_streams_unwatch_children(st);
    if (st->dns) evdns_base_free(st->dns, 1);
    st->dns = NULL;
}

/* Classes CPython writes in Python: asyncio.exceptions' two, and socket.gaierror. */
static const char streams_src[] =
    "class IncompleteReadError(EOFError):\n"
    "    __module__ = 'asyncio.exceptions'\n"
    "    def __init__(self, partial, expected):\n"
    "        r_expected = 'undefined' if expected is None else repr(expected)\n"
    "        super().__init__(f'{len(partial)} bytes read on a total of '\n"
    "                         f'{r_expected} expected bytes')\n"
    "        self.partial = partial\n"
    "        self.expected = expected\n"
    "    def __reduce__(self):\n"
    "        return type(self), (self.partial, self.expected)\n"
    "\n"
    "class LimitOverrunError(Exception):\n"
    "    __module__ = 'asyncio.exceptions'\n"
    "    def __init__(self, message, consumed):\n"
    "        super().__init__(message)\n"
    "        self.consumed = consumed\n"
    "    def __reduce__(self):\n"
    "        return type(self), (self.args[0], self.consumed)\n"
    "\n"
    "class gaierror(OSError):\n"
    "    __module__ = 'socket'\n";

bool asy_streams_run_source(AsyVM *vm, const char *src, size_t len, const char *file,
                            AsyDict *ns) {
    asy_root_push(vm, ASY_OBJ(ns));
    asy_dict_set_str(vm, ns, ASY_S(vm, __builtins__), ASY_OBJ(vm->builtins));
    AsyCode *code = asy_compile(vm, src, len, file, ASY_PARSE_MODULE);
    bool ok = code != NULL;
    if (ok) {
        asy_root_push(vm, ASY_OBJ(code));
        ok = !ASY_IS_ERR(asy_vm_run_code(vm, code, ns));
        asy_root_pop(vm, 1);
    }
    asy_root_pop(vm, 1);
    return ok;
}

static AsyType *st_type(AsyVM *vm, const char *name, const char *module, size_t size,
                        void (*traverse)(AsyVM *, AsyObj *), AsyValue (*repr)(AsyVM *, AsyValue),
                        const AsyMethodDef *methods) {
    AsyType *t = asy_type_new_builtin(vm, name, ASY_TYPE(vm, object), size);
    t->module = asy_str_intern_cstr(vm, module);
    t->traverse = traverse;
    if (repr) t->repr = repr;
    if (methods) asy_type_add_methods(vm, t, methods);
    return t;
}

static void st_make_types(AsyVM *vm, AsyStreams *st) {
    AsyType *t = st_type(vm, "StreamReader", "asyncio.streams", sizeof(AsyStreamReader),
                         rd_traverse, rd_repr, reader_methods);
    t->tflags |= ASY_TYPE_BASETYPE;
    t->new_ = rd_new;
    t->finalize = rd_finalize;
    asy_type_ready(vm, t);
    st->t_reader = t;

    t = st_type(vm, "StreamWriter", "asyncio.streams", sizeof(AsyStreamWriter), wr_traverse,
                wr_repr, writer_methods);
    t->tflags |= ASY_TYPE_BASETYPE;
    t->new_ = wr_new;
    t->getattr = wr_getattr;
    asy_type_ready(vm, t);
    st->t_writer = t;

    static const char *const trnames[3][2] = {
        {"_SelectorSocketTransport", "asyncio.selector_events"},
        {"_UnixReadPipeTransport", "asyncio.unix_events"},
        {"_UnixWritePipeTransport", "asyncio.unix_events"}};
    AsyType **trtypes[3] = {&st->t_socket, &st->t_rpipe, &st->t_wpipe};
    for (int i = 0; i < 3; i++) {
        t = st_type(vm, trnames[i][0], trnames[i][1], sizeof(AsyTransport), tr_traverse,
                    tr_repr, transport_methods);
        t->finalize = tr_finalize;
        asy_type_ready(vm, t);
        *trtypes[i] = t;
    }

    t = st_type(vm, "TransportSocket", "asyncio.trsock", sizeof(AsyTrSock), NULL, ts_repr,
                trsock_methods);
    t->getattr = ts_getattr;
    asy_type_ready(vm, t);
    st->t_trsock = t;

    t = st_type(vm, "Server", "asyncio.base_events", sizeof(AsyServer), srv_traverse, srv_repr,
                server_methods);
    t->finalize = srv_finalize;
    t->getattr = srv_getattr;
    asy_type_ready(vm, t);
    st->t_server = t;
}

static const AsyMethodDef streams_functions[] = {
    {"open_connection", aio_open_connection, 0, "Connect; returns (reader, writer)."},
    {"start_server", aio_start_server, 0, "Listen; client_connected_cb(reader, writer) per client."},
    {NULL, NULL, 0, NULL},
};

static AsyStreams *st_new(AsyVM *vm) {
    AsyLoop *L = vm->loop;
    AsyType *stt = asy_type_new_builtin(vm, "_StreamsState", ASY_TYPE(vm, object),
                                        sizeof(AsyStreams));
    stt->traverse = st_traverse;
    asy_type_ready(vm, stt);
    L->types[ASY_AIO_Streams] = stt;
    AsyStreams *st = asy_gc_alloc(vm, stt, sizeof(AsyStreams));
    st->vm = vm;
    st->base = L->base;
    st->sigfd = -1;
    st->e_incomplete = st->e_limit = st->e_gaierror = st->process_cls = ASY_NONE;
    asy_dict_set_cstr(vm, stt->dict, "_state", ASY_OBJ(st));
    asy_type_modified(vm, stt);
    asy_loop_add_closer(vm, streams_closer);
    return st;
}

const char *const asy_asyncio_streams_names[] = {
    "StreamReader",      "StreamWriter",           "open_connection",
    "start_server",      "IncompleteReadError",    "LimitOverrunError",
    "subprocess",        "create_subprocess_exec", "create_subprocess_shell",
    NULL};

void asy_asyncio_streams_init(AsyVM *vm, AsyModule *m) {
    AsyStreams *st = st_new(vm);
    st_make_types(vm, st);
    asy_module_add_functions(vm, m, streams_functions);
    asy_dict_set_cstr(vm, m->dict, "StreamReader", ASY_OBJ(st->t_reader));
    asy_dict_set_cstr(vm, m->dict, "StreamWriter", ASY_OBJ(st->t_writer));
    AsyDict *ns = asy_dict_new(vm);
    asy_root_push(vm, ASY_OBJ(ns));
    asy_dict_set_str(vm, ns, ASY_S(vm, __name__), ASY_OBJ(asy_str_from_cstr(vm, "asyncio.streams")));
    bool ok = asy_streams_run_source(vm, streams_src, sizeof streams_src - 1, "<asyncio.streams>", ns);
    asy_root_pop(vm, 1);
    if (!ok) return;
    st->e_incomplete = asy_dict_get_cstr(vm, ns, "IncompleteReadError");
    st->e_limit = asy_dict_get_cstr(vm, ns, "LimitOverrunError");
    st->e_gaierror = asy_dict_get_cstr(vm, ns, "gaierror");
    asy_dict_set_cstr(vm, m->dict, "IncompleteReadError", st->e_incomplete);
    asy_dict_set_cstr(vm, m->dict, "LimitOverrunError", st->e_limit);
    asy_asyncio_subprocess_init(vm, st, m);
}
