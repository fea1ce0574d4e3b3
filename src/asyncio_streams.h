/* asyncio_streams.h - what asyncio_streams.c (socket transports, StreamReader/StreamWriter,
 * open_connection, start_server and Server) and asyncio_subprocess.c (processes and their
 * pipes) share: the per-VM state, the transport and the stream objects.
 *
 * Invariants:
 * - libevent callbacks never run bytecode and never allocate asy objects: they move bytes
 *   into a reader's evbuffer, wake waiting tasks (asy_task_wait_resolve), and queue a
 *   handle (asy_loop_call_soon) for whatever needs objects (an exception, a callback).
 * - An object libevent can call back into is "live" (AsyLive): linked into the state's
 *   list, which the state marks, while it owns a libevent object. So callbacks never see
 *   a collected object, and an open connection stays open when a script drops its
 *   writer (CPython's selector keeps registered transports alive the same way). When the
 *   scheduler goes (asy_loop_free), the state's closer frees what is still live, since
 *   GC finalizers run after the event_base is gone.
 */
#ifndef ASY_ASYNCIO_STREAMS_H
#define ASY_ASYNCIO_STREAMS_H

#include <sys/types.h>

#include "task.h"

struct event;
struct evbuffer;
struct bufferevent;
struct evdns_base;
struct evdns_getaddrinfo_request;
struct evutil_addrinfo;

typedef struct AsyStreams AsyStreams;
typedef struct AsyLive AsyLive;
typedef struct AsyTransport AsyTransport;
typedef struct AsyStreamReader AsyStreamReader;
typedef struct AsyProcTransport AsyProcTransport;

/* CPython's streams._DEFAULT_LIMIT and the transports' write-buffer water marks. */
#define ASY_STREAM_LIMIT (64 * 1024)
#define ASY_STREAM_HIGH_WATER (64 * 1024)
#define ASY_STREAM_LOW_WATER (16 * 1024)

struct AsyLive {
    AsyObj hdr;
    AsyStreams *st;
    AsyLive *lnext, *lprev;
    void (*release)(AsyLive *o); /* free the libevent objects (and fds) it owns          */
    bool linked;
};

struct AsyStreams {
    AsyObj hdr;
    AsyVM *vm;
    struct event_base *base;
    struct evdns_base *dns;       /* made on the first host name to resolve             */
    AsyLive *live;                /* every live object (see the top of this file)        */
    struct event *sigchld;        /* added while a process runs (asyncio_subprocess.c)  */
    int sigfd;                    /* the signalfd it watches, -1 before the first       */
    int nprocs;                   /* processes not yet reaped                           */
    AsyType *t_socket, *t_rpipe, *t_wpipe, *t_reader, *t_writer, *t_trsock, *t_server,
        *t_proc;
    AsyValue e_incomplete, e_limit, e_gaierror; /* classes written in asy               */
    AsyValue process_cls;         /* asyncio.subprocess.Process                         */
    bool shutdown;                /* the scheduler is going: callbacks only free        */
};

enum { ASY_TR_SOCKET, ASY_TR_RPIPE, ASY_TR_WPIPE };

/* A transport: CPython's _SelectorSocketTransport, _UnixReadPipeTransport or
 * _UnixWritePipeTransport, with the flow-control state of its protocol folded in. */
struct AsyTransport {
    AsyLive live;
    struct bufferevent *bev;      /* NULL before connecting and once the connection is lost */
    struct event *hup_ev;         /* write pipes: notices the reading end closing       */
    AsyStreamReader *reader;      /* what received data feeds, or NULL                  */
    AsyObj *server;               /* the Server that accepted it (detached when lost)    */
    AsyProcTransport *proc;       /* pipes: their process, fdno says which pipe          */
    AsyWaitList drainers;         /* tasks in drain() while writing is paused           */
    AsyWaitList closers;          /* tasks in wait_closed()                             */
    AsyValue exc;                 /* connection_lost's exception: UNDEF none           */
    AsyValue extra;               /* peername/sockname cache: a tuple, or UNDEF         */
    int fd, fdno;
    int64_t conn_lost;            /* write() calls after the connection was lost        */
    uint8_t kind;                 /* ASY_TR_*                                           */
    bool closing, lost, lost_queued, paused_writing, eof_written, read_eof, reading;
    /* open_connection's attempt (asyncio_streams.c) */
    struct evdns_getaddrinfo_request *dnsreq;
    struct evutil_addrinfo *addrs, *next_addr, *cur_addr; /* owned, to try, in progress */
    AsyTask *conn_task;           /* the task waiting for the next step, gen-checked    */
    uint32_t conn_gen;
    int conn_state, conn_err;
    AsyList *conn_errors;         /* the OSError of each address tried                  */
};

struct AsyStreamReader {
    AsyObj hdr;
    AsyStreams *st;
    struct evbuffer *buf;
    AsyTransport *transport;      /* what to pause and resume, or NULL                  */
    AsyWaitList waiter;           /* the task in _wait_for_data (at most one)           */
    AsyValue exc;                 /* set_exception's: UNDEF none                       */
    int64_t limit;
    bool eof, paused;
};

typedef struct {
    AsyObj hdr;
    AsyTransport *transport;
    AsyStreamReader *reader;      /* NULL for a subprocess's stdin                      */
} AsyStreamWriter;

/* The state of this VM (made with the asyncio module); NULL with an exception pending. */
AsyStreams *asy_streams_state(AsyVM *vm);
/* Link/unlink a live object (see the top of this file). */
void asy_live_link(AsyStreams *st, AsyLive *o, void (*release)(AsyLive *o));
void asy_live_unlink(AsyLive *o);

/* A transport on fd (already non-blocking and close-on-exec; the transport owns it from
 * now on, even when NULL is returned). Reading starts when a reader is attached. */
AsyTransport *asy_transport_new(AsyVM *vm, AsyStreams *st, int kind, int fd);
AsyStreamReader *asy_stream_reader_new(AsyVM *vm, AsyStreams *st, int64_t limit);
AsyStreamWriter *asy_stream_writer_new(AsyVM *vm, AsyStreams *st, AsyTransport *t,
                                       AsyStreamReader *r);
/* Attach r to t (set_transport) and start reading. */
void asy_transport_set_reader(AsyTransport *t, AsyStreamReader *r);
/* transport.close(): flushes what is buffered, then the connection is lost. */
void asy_transport_close(AsyVM *vm, AsyTransport *t);

/* Run asy source (the parts CPython writes in Python) in the namespace ns; false with
 * the exception pending. */
bool asy_streams_run_source(AsyVM *vm, const char *src, size_t len, const char *file,
                            AsyDict *ns);

/* asyncio_subprocess.c */
void asy_asyncio_subprocess_init(AsyVM *vm, AsyStreams *st, AsyModule *aio);
/* Stop watching SIGCHLD (no child left, or the scheduler is going). */
void asy_streams_unwatch_children(AsyStreams *st);
/* A pipe of the process is lost (its transport's connection_lost); exc None or an error. */
void asy_proc_pipe_lost(AsyVM *vm, AsyProcTransport *p, int fdno, AsyValue exc);

#endif
