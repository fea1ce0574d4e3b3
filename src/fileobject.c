/* fileobject.c - file objects as CPython's io module layers them: a binary file
 * (BufferedReader, BufferedWriter, BufferedRandom) over one file descriptor, and a text file
 * (TextIOWrapper) over a binary one that decodes UTF-8 (or ascii, latin-1) with universal
 * newlines. Also open(), the io module (UnsupportedOperation, DEFAULT_BUFFER_SIZE, SEEK_*)
 * and sys.stdin / sys.stdout / sys.stderr.
 *
 * Reads go through our own read-ahead buffer filled with read(2), so reading a pipe or a
 * terminal returns what is there instead of waiting for a full buffer; writes through our
 * own write buffer and write(2). Pending writes are flushed before a read or a seek, and
 * unread read-ahead is given back (by seeking) before a write, so an r+ file has one
 * position, as in CPython. sys.stdout and sys.stderr write into a stdio FILE instead:
 * vm->out and vm->err, the very FILEs print() and tracebacks use, so all interleave.
 *
 * Messages are CPython 3.11's: "I/O operation on closed file.", io.UnsupportedOperation
 * ("not readable", "not writable", "read", "write"), and OSError subclasses from errno.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "diag.h"
#include "unicode.h"
#include "vm.h"

#define FILE_BUFSIZE 8192        /* read-ahead chunk, io.DEFAULT_BUFFER_SIZE          */
#define FILE_WRITE_BUFSIZE 65536 /* write buffer of files open() makes                */

/* The binary layer: one file descriptor. */
typedef struct {
    AsyObj hdr;
    int fd;           /* -1 once closed (when closefd)                       */
    FILE *fp;         /* sys.stdout/stderr: writes go to this stdio FILE      */
    AsyValue name;    /* the str given to open(), or the int fd              */
    const char *mode; /* FileIO's mode: "rb", "wb", "ab", "rb+", "xb", ...   */
    uint8_t *rbuf;    /* read-ahead: rbuf[rpos .. rlen) is not consumed yet   */
    size_t rpos, rlen, rcap;
    uint8_t *wbuf;     /* writes not yet given to write(2) (no fp)             */
    size_t wlen, wcap; /* wcap 0: unbuffered                                   */
    bool readable, writable, closed;
    bool closefd; /* close() closes the descriptor (not for sys.std*)     */
    bool dirty;   /* written since the last flush: flush before reading   */
    bool raw;     /* FileIO (buffering=0): read(n) makes one read(2) call  */
} AsyBinFile;

/* Newline modes of a text file (the newline= argument). */
enum { NL_UNIVERSAL, NL_ANY, NL_LF, NL_CR, NL_CRLF };

/* The text layer over a binary file. */
typedef struct {
    AsyObj hdr;
    AsyBinFile *buf;
    AsyStr *mode, *encoding, *errors;
    AsyValue newline; /* None or the str given                               */
    int codec;        /* ASY_CODEC_*                                          */
    uint8_t nl;       /* NL_*                                                 */
    bool line_buffering;
    bool strict_utf8; /* utf-8: valid text takes the fast path of text_decode  */
    bool pending_cr;  /* a '\r' ended the last read: a '\n' after it is skipped */
} AsyTextFile;

/* A growable byte buffer for reads (malloc'd, short-lived). */
typedef struct {
    uint8_t *data;
    size_t len, cap;
} ByteBuf;

static bool bb_reserve(AsyVM *vm, ByteBuf *b, size_t extra) {
    if (b->len + extra <= b->cap) return true;
    if (extra >= ASY_MAX_ALLOC || b->len + extra >= ASY_MAX_ALLOC) {
        asy_raise_memory(vm);
        return false;
    }
    size_t ncap = b->cap ? b->cap * 2 : 256;
    while (ncap < b->len + extra)
        ncap *= 2;
    uint8_t *d = realloc(b->data, ncap);
    if (!d) {
        asy_raise_memory(vm);
        return false;
    }
    b->data = d;
    b->cap = ncap;
    return true;
}

static bool bb_append(AsyVM *vm, ByteBuf *b, const void *p, size_t n) {
    if (n == 0) return true;
    if (!bb_reserve(vm, b, n)) return false;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return true;
}

static void bb_free(ByteBuf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* ------------------------------------------------------------------------------------ */
/* Types, the io module and its UnsupportedOperation                                      */
/* ------------------------------------------------------------------------------------ */

static bool is_text(AsyVM *vm, AsyValue v) {
    return ASY_IS_OBJ(v) && ASY_TYPE(vm, TextIOWrapper) &&
           asy_is_subtype(ASY_AS_OBJ(v)->type, ASY_TYPE(vm, TextIOWrapper));
}

#define TEXT(v) ((AsyTextFile *)ASY_AS_OBJ(v))
#define BIN(v) ((AsyBinFile *)ASY_AS_OBJ(v))

/* io.UnsupportedOperation (an OSError and a ValueError). */
static AsyValue raise_unsupported(AsyVM *vm, const char *msg) {
    AsyValue io = asy_import(vm, asy_str_intern_cstr(vm, "io"));
    if (ASY_IS_ERR(io)) return io;
    AsyValue t = asy_getattr(vm, io, asy_str_intern_cstr(vm, "UnsupportedOperation"));
    if (ASY_IS_ERR(t)) return t;
    AsyValue arg = ASY_OBJ(asy_str_from_cstr(vm, msg));
    AsyValue e = asy_call(vm, t, 1, &arg, NULL);
    if (ASY_IS_ERR(e)) return e;
    return asy_raise_value(vm, e);
}

static AsyValue raise_closed(AsyVM *vm) {
    return asy_raise(vm, ASY_EXC_ValueError, "I/O operation on closed file.");
}

/* The same words without the period: what CPython's raw-file checks say (fileno, isatty,
 * readable, writable, seekable, and tell on a binary file). */
static bool check_open_raw(AsyVM *vm, AsyBinFile *f) {
    if (!f->closed) return true;
    asy_raise(vm, ASY_EXC_ValueError, "I/O operation on closed file");
    return false;
}

/* OSError from errno for an operation on an open file (no filename, as CPython). */
static AsyValue raise_errno(AsyVM *vm, int err) { return asy_raise_oserror(vm, err, NULL); }

/* ------------------------------------------------------------------------------------ */
/* The binary layer                                                                       */
/* ------------------------------------------------------------------------------------ */

static size_t bin_avail(const AsyBinFile *f) { return f->rlen - f->rpos; }

static bool bin_check_open(AsyVM *vm, AsyBinFile *f) {
    if (!f->closed) return true;
    raise_closed(vm);
    return false;
}

/* write(2) of all of data; 0 or an errno. */
static int write_all(int fd, const uint8_t *data, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Pushes buffered writes to the descriptor. */
static bool bin_flush(AsyVM *vm, AsyBinFile *f) {
    f->dirty = false;
    int err = 0;
    if (f->fp) {
        if (fflush(f->fp) != 0) err = errno;
    } else if (f->wlen > 0) {
        err = write_all(f->fd, f->wbuf, f->wlen);
        f->wlen = 0;
    }
    if (err) raise_errno(vm, err);
    return !err;
}

/* Reads more bytes after the unconsumed ones: the count, 0 at end of file, -1 on error. */
static ssize_t bin_fill(AsyVM *vm, AsyBinFile *f) {
    if (f->dirty && !bin_flush(vm, f)) return -1;
    if (f->rpos > 0) {
        memmove(f->rbuf, f->rbuf + f->rpos, bin_avail(f));
        f->rlen -= f->rpos;
        f->rpos = 0;
    }
    if (f->rlen == f->rcap) {
        size_t ncap = f->rcap ? f->rcap * 2 : FILE_BUFSIZE;
        uint8_t *nb = asy_mem_realloc(vm, f->rbuf, f->rcap, ncap);
        if (!nb) return -1;
        f->rbuf = nb;
        f->rcap = ncap;
    }
    ssize_t n;
    double t0 = asy_diag_blocking_begin(vm);
    for (;;) {
        n = read(f->fd, f->rbuf + f->rlen, f->rcap - f->rlen);
        if (n >= 0 || errno != EINTR) break;
        if (vm->dump_pending) asy_diag_signal_dump(vm); /* SIGQUIT: show where it blocks */
    }
    asy_diag_blocking_end(vm, "a file read", t0);
    if (n < 0) {
        raise_errno(vm, errno);
        return -1;
    }
    f->rlen += (size_t)n;
    return n;
}

/* Gives unread read-ahead back to the descriptor by seeking, before a write or a seek.
 * Streams that cannot seek (pipes, terminals) just drop it, as there is nothing to do. */
static bool bin_unread(AsyVM *vm, AsyBinFile *f) {
    size_t n = bin_avail(f);
    f->rpos = f->rlen = 0;
    if (n == 0) return true;
    off_t pos = lseek(f->fd, 0, SEEK_CUR);
    if (pos < 0) return true;
    pos -= (off_t)n;
    if (lseek(f->fd, pos, SEEK_SET) < 0) {
        raise_errno(vm, errno);
        return false;
    }
    return true;
}

static bool bin_write(AsyVM *vm, AsyBinFile *f, const void *data, size_t len) {
    if (bin_avail(f) > 0 && !bin_unread(vm, f)) return false;
    if (len == 0) return true;
    f->dirty = true;
    if (f->fp) {
        if (fwrite(data, 1, len, f->fp) == len) return true;
        int err = errno ? errno : EIO;
        clearerr(f->fp);
        raise_errno(vm, err);
        return false;
    }
    if (f->wlen + len > f->wcap) {
        if (!bin_flush(vm, f)) return false;
        f->dirty = true;
        if (len >= f->wcap) { /* larger than the buffer: straight through */
            int err = write_all(f->fd, data, len);
            if (err) raise_errno(vm, err);
            return !err;
        }
    }
    if (!f->wbuf) {
        f->wbuf = asy_mem_alloc(vm, f->wcap);
        if (!f->wbuf) return false;
    }
    memcpy(f->wbuf + f->wlen, data, len);
    f->wlen += len;
    return true;
}

/* The logical position: the descriptor's, less what is read ahead. */
static bool bin_tell(AsyVM *vm, AsyBinFile *f, int64_t *out) {
    if (f->dirty && !bin_flush(vm, f)) return false;
    off_t pos = lseek(f->fd, 0, SEEK_CUR);
    if (pos < 0) {
        raise_errno(vm, errno);
        return false;
    }
    *out = (int64_t)pos - (int64_t)bin_avail(f);
    return true;
}

static bool bin_seek(AsyVM *vm, AsyBinFile *f, int64_t off, int whence, int64_t *out) {
    if (!bin_flush(vm, f)) return false;
    if (whence == SEEK_CUR) off -= (int64_t)bin_avail(f);
    f->rpos = f->rlen = 0;
    off_t pos = lseek(f->fd, (off_t)off, whence);
    if (pos < 0) {
        raise_errno(vm, errno);
        return false;
    }
    *out = (int64_t)pos;
    return true;
}

/* Reads n bytes (all of them when n < 0), fewer only at end of file, appended to out.
 * FileIO's read(n) makes one read(2) call and returns what it gave. */
static bool bin_read_into(AsyVM *vm, AsyBinFile *f, int64_t n, ByteBuf *out) {
    size_t want = n < 0 ? SIZE_MAX : (size_t)n;
    if (f->raw && n > 0 && bin_avail(f) == 0 && bin_fill(vm, f) < 0) return false;
    if (f->raw && n >= 0) {
        size_t take = bin_avail(f) < want ? bin_avail(f) : want;
        f->rpos += take;
        return bb_append(vm, out, f->rbuf + f->rpos - take, take);
    }
    for (;;) {
        size_t take = bin_avail(f) < want ? bin_avail(f) : want;
        if (!bb_append(vm, out, f->rbuf + f->rpos, take)) return false;
        f->rpos += take;
        want -= take;
        if (want == 0) return true;
        /* A whole regular file: read the rest straight into out, sized by fstat. */
        struct stat st;
        if (f->dirty && !bin_flush(vm, f)) return false;
        if (n < 0 && fstat(f->fd, &st) == 0 && S_ISREG(st.st_mode)) {
            off_t pos = lseek(f->fd, 0, SEEK_CUR);
            if (pos >= 0 && st.st_size > pos &&
                !bb_reserve(vm, out, (size_t)(st.st_size - pos) + 1))
                return false;
            while (out->cap > out->len) {
                ssize_t r = read(f->fd, out->data + out->len, out->cap - out->len);
                if (r < 0 && errno == EINTR) continue;
                if (r < 0) {
                    raise_errno(vm, errno);
                    return false;
                }
                if (r == 0) return true;
                out->len += (size_t)r;
            }
        }
        ssize_t got = bin_fill(vm, f);
        if (got < 0) return false;
        if (got == 0) return true;
    }
}

/* One line (through b'\n'), at most limit bytes when limit >= 0, appended to out. */
static bool bin_readline_into(AsyVM *vm, AsyBinFile *f, int64_t limit, ByteBuf *out) {
    size_t want = limit < 0 ? SIZE_MAX : (size_t)limit;
    while (want > 0) {
        if (bin_avail(f) == 0) {
            ssize_t got = bin_fill(vm, f);
            if (got < 0) return false;
            if (got == 0) return true;
        }
        size_t take = bin_avail(f) < want ? bin_avail(f) : want;
        const uint8_t *p = f->rbuf + f->rpos;
        const uint8_t *nl = memchr(p, '\n', take);
        if (nl) take = (size_t)(nl - p) + 1;
        if (!bb_append(vm, out, p, take)) return false;
        f->rpos += take;
        want -= take;
        if (nl) return true;
    }
    return true;
}

/* Closes the file; flush errors are raised after it is closed, as CPython does. */
static bool bin_close(AsyVM *vm, AsyBinFile *f) {
    if (f->closed) return true;
    f->closed = true;
    int err = 0;
    if (f->fp) {
        if (fflush(f->fp) != 0) err = errno;
    } else if (f->wlen > 0) {
        err = write_all(f->fd, f->wbuf, f->wlen);
    }
    if (f->closefd && f->fd >= 0) {
        if (close(f->fd) != 0 && !err) err = errno;
        f->fd = -1;
    }
    asy_mem_free(vm, f->rbuf, f->rcap);
    asy_mem_free(vm, f->wbuf, f->wcap);
    f->rbuf = f->wbuf = NULL;
    f->rpos = f->rlen = f->rcap = f->wlen = 0;
    if (err) {
        raise_errno(vm, err);
        return false;
    }
    return true;
}

static void bin_traverse(AsyVM *vm, AsyObj *o) { asy_gc_mark_value(vm, ((AsyBinFile *)o)->name); }

/* A file nobody closed is closed when collected (its writes flushed), as in CPython. */
static void bin_finalize(AsyVM *vm, AsyObj *o) {
    AsyBinFile *f = (AsyBinFile *)o;
    if (!f->closed) {
        if (f->fp)
            fflush(f->fp);
        else if (f->wlen > 0)
            write_all(f->fd, f->wbuf, f->wlen);
        if (f->closefd && f->fd >= 0) close(f->fd);
    }
    asy_mem_free(vm, f->rbuf, f->rcap);
    asy_mem_free(vm, f->wbuf, f->wcap);
    f->rbuf = f->wbuf = NULL;
}

static AsyBinFile *bin_new(AsyVM *vm, int fd, FILE *fp, AsyValue name, const char *mode,
                           bool readable, bool writable, bool closefd, bool raw) {
    AsyType *t = raw                    ? ASY_TYPE(vm, FileIO)
                 : readable && writable ? ASY_TYPE(vm, BufferedRandom)
                 : readable             ? ASY_TYPE(vm, BufferedReader)
                                        : ASY_TYPE(vm, BufferedWriter);
    AsyBinFile *f = asy_gc_alloc(vm, t, sizeof(AsyBinFile));
    f->raw = raw;
    f->fd = fd;
    f->fp = fp;
    f->name = name;
    f->mode = mode;
    f->readable = readable;
    f->writable = writable;
    f->closefd = closefd;
    return f;
}

/* ------------------------------------------------------------------------------------ */
/* Argument helpers                                                                       */
/* ------------------------------------------------------------------------------------ */

/* read(size=-1) / readline(size=-1): an int or None; -1 for "all". */
static bool size_arg(AsyVM *vm, int argc, AsyValue *argv, int64_t *out) {
    *out = -1;
    if (argc < 2 || ASY_IS_NONE(argv[1])) return true;
    if (!asy_is_int(vm, argv[1])) {
        asy_raise(vm, ASY_EXC_TypeError, "argument should be integer or None, not '%s'",
                  asy_type_name(vm, argv[1]));
        return false;
    }
    return asy_index(vm, argv[1], out);
}

/* The bytes of a bytes-like argument (only bytes exists in asy). */
static AsyBytes *bytes_arg(AsyVM *vm, AsyValue v) {
    if (ASY_IS_OBJ(v) && asy_is_subtype(ASY_AS_OBJ(v)->type, ASY_TYPE(vm, bytes)))
        return (AsyBytes *)ASY_AS_OBJ(v);
    asy_raise(vm, ASY_EXC_TypeError, "a bytes-like object is required, not '%s'",
              asy_type_name(vm, v));
    return NULL;
}

static AsyValue bytes_value(AsyVM *vm, ByteBuf *b) {
    AsyBytes *r = asy_bytes_new(vm, b->data ? b->data : (const uint8_t *)"", b->len);
    bb_free(b);
    return r ? ASY_OBJ(r) : ASY_ERR;
}

/* ------------------------------------------------------------------------------------ */
/* Binary file methods                                                                    */
/* ------------------------------------------------------------------------------------ */

/* The open binary file of a method call, or NULL: a method the file's type lacks (read
 * of a writer...) is io.UnsupportedOperation, then a closed file is ValueError, with the
 * words of the method ("read of closed file") when `what` is given. */
static AsyBinFile *bin_self(AsyVM *vm, AsyValue self, int need, const char *what) {
    AsyBinFile *f = BIN(self);
    if (need == 'r' && !f->readable) {
        raise_unsupported(vm, "read");
        return NULL;
    }
    if (need == 'w' && !f->writable) {
        raise_unsupported(vm, "write");
        return NULL;
    }
    if (!f->closed) return f;
    if (what)
        asy_raise(vm, ASY_EXC_ValueError, "%s closed file", what);
    else
        raise_closed(vm);
    return NULL;
}

static AsyValue bin_m_read(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    int64_t n;
    if (!asy_check_args(vm, "read", argc - 1, 0, 1) || !size_arg(vm, argc, argv, &n))
        return ASY_ERR;
    AsyBinFile *f = bin_self(vm, argv[0], 'r', "read of");
    if (!f) return ASY_ERR;
    if (n < -1) return asy_raise(vm, ASY_EXC_ValueError, "read length must be non-negative or -1");
    ByteBuf b = {0};
    if (!bin_read_into(vm, f, n, &b)) {
        bb_free(&b);
        return ASY_ERR;
    }
    return bytes_value(vm, &b);
}

static AsyValue bin_m_readline(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    int64_t n;
    if (!asy_check_args(vm, "readline", argc - 1, 0, 1) || !size_arg(vm, argc, argv, &n))
        return ASY_ERR;
    AsyBinFile *f = bin_self(vm, argv[0], 'r', "readline of");
    if (!f) return ASY_ERR;
    ByteBuf b = {0};
    if (!bin_readline_into(vm, f, n, &b)) {
        bb_free(&b);
        return ASY_ERR;
    }
    return bytes_value(vm, &b);
}

static AsyValue bin_next(AsyVM *vm, AsyValue self) {
    AsyBinFile *f = bin_self(vm, self, 'r', "readline of");
    if (!f) return ASY_ERR;
    ByteBuf b = {0};
    if (!bin_readline_into(vm, f, -1, &b)) {
        bb_free(&b);
        return ASY_ERR;
    }
    if (b.len == 0) return ASY_UNDEF;
    return bytes_value(vm, &b);
}

static AsyValue bin_m_write(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "write", argc - 1, 1, 1)) return ASY_ERR;
    AsyBinFile *f = bin_self(vm, argv[0], 'w', "write to");
    if (!f) return ASY_ERR;
    AsyBytes *b = bytes_arg(vm, argv[1]);
    if (!b || !bin_write(vm, f, b->data, b->len)) return ASY_ERR;
    return ASY_INT((int64_t)b->len);
}

/* ------------------------------------------------------------------------------------ */
/* The text layer                                                                         */
/* ------------------------------------------------------------------------------------ */

/* The open text file of a method call, or NULL: closed first, then "not readable" or
 * "not writable", as CPython's TextIOWrapper checks. */
static AsyTextFile *text_self(AsyVM *vm, AsyValue self, int need) {
    AsyTextFile *t = TEXT(self);
    if (!bin_check_open(vm, t->buf)) return NULL;
    if (need == 'r' && !t->buf->readable) {
        raise_unsupported(vm, "not readable");
        return NULL;
    }
    if (need == 'w' && !t->buf->writable) {
        raise_unsupported(vm, "not writable");
        return NULL;
    }
    return t;
}

/* Decodes bytes read from a text file. */
static AsyValue text_decode(AsyVM *vm, AsyTextFile *t, const uint8_t *data, size_t len) {
    if (t->strict_utf8) {
        size_t bs, be, i = 0;
        const char *reason;
        while (i < len && data[i] < 0x80)
            i++; /* most text is ASCII: nothing to check */
        if (i == len || asy_utf8_check(data + i, len - i, &bs, &be, &reason)) {
            AsyStr *s = asy_str_new(vm, (const char *)data, len);
            return s ? ASY_OBJ(s) : ASY_ERR;
        }
    }
    return asy_bytes_decode(vm, data ? data : (const uint8_t *)"", len, t->encoding->data,
                            t->errors->data);
}

/* Does byte c end a line in this newline mode? ('\r\n' is handled by the callers.) */
static inline bool text_line_end(const AsyTextFile *t, uint8_t c) {
    switch (t->nl) {
    case NL_UNIVERSAL:
    case NL_ANY: return c == '\n' || c == '\r';
    case NL_LF: return c == '\n';
    case NL_CR: return c == '\r';
    default: return c == '\n'; /* NL_CRLF: a '\n' after a '\r' */
    }
}

/* Skips the '\n' of a "\r\n" whose '\r' ended the previous read (universal newlines). */
static bool text_skip_pending_lf(AsyVM *vm, AsyTextFile *t) {
    if (!t->pending_cr) return true;
    AsyBinFile *f = t->buf;
    if (bin_avail(f) == 0) {
        ssize_t n = bin_fill(vm, f);
        if (n < 0) return false;
        if (n == 0) {
            t->pending_cr = false;
            return true;
        }
    }
    t->pending_cr = false;
    if (f->rbuf[f->rpos] == '\n') f->rpos++;
    return true;
}

/* One text read in progress: the characters taken so far, and the continuation bytes the
 * last character still owes (UTF-8; the single-byte codecs have none). */
typedef struct {
    int64_t limit, chars;
    int need;
    bool line, utf8;
    bool prev_cr; /* the byte taken before this chunk was '\r' (newline='\r\n') */
} TextScan;

/* How a scan of the read-ahead ended. */
enum {
    SCAN_MORE,   /* everything was taken: read more                                   */
    SCAN_DONE,   /* the read is complete                                              */
    SCAN_CR,     /* stopped before a '\r' that universal newlines translate           */
    SCAN_ANY_CR, /* newline='': a line ended at '\r'; a '\n' after it belongs to it   */
};

/* Scans p..e for the end of what this read takes; *end is set to it. Lines find their
 * end with memchr when no character count is needed; otherwise byte by byte, counting
 * characters so that one is taken whole and the read stops as soon as the limit is met
 * (a terminal is never asked for more than needed). */
static int scan_chunk(const AsyTextFile *t, TextScan *st, const uint8_t *p, const uint8_t *e,
                      const uint8_t **end) {
    if (st->limit < 0 && st->line && (t->nl == NL_UNIVERSAL || t->nl == NL_LF)) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(e - p));
        const uint8_t *cr =
            t->nl == NL_UNIVERSAL ? memchr(p, '\r', (size_t)((nl ? nl : e) - p)) : NULL;
        *end = cr ? cr : nl ? nl + 1 : e;
        return cr ? SCAN_CR : nl ? SCAN_DONE : SCAN_MORE;
    }
    for (const uint8_t *q = p; q < e;) {
        uint8_t c = *q;
        if (st->limit >= 0) {
            if (st->need > 0 && (c & 0xC0) == 0x80) {
                st->need--;
                *end = ++q;
                if (st->need == 0 && st->chars == st->limit) return SCAN_DONE;
                continue;
            }
            st->need = st->utf8 && c >= 0xC0 ? (int)asy_utf8_seqlen(c) - 1 : 0;
            st->chars++;
        }
        if (c == '\r' && t->nl == NL_UNIVERSAL) {
            *end = q;
            return SCAN_CR;
        }
        *end = ++q;
        if (st->line && text_line_end(t, c)) {
            if (c == '\r' && t->nl == NL_ANY) return SCAN_ANY_CR;
            /* newline='\r\n': only a '\n' after a '\r' ends the line */
            bool after_cr = q - p >= 2 ? q[-2] == '\r' : st->prev_cr;
            if (!(c == '\n' && t->nl == NL_CRLF && !after_cr)) return SCAN_DONE;
        }
        if (st->limit >= 0 && st->need == 0 && st->chars == st->limit) return SCAN_DONE;
    }
    *end = e;
    return SCAN_MORE;
}

/* Text as bytes (newlines translated) into out: at most `limit` characters (all when
 * < 0), ending after the first line end when `line`. */
static bool text_read_into(AsyVM *vm, AsyTextFile *t, int64_t limit, bool line, ByteBuf *out) {
    AsyBinFile *f = t->buf;
    TextScan st = {limit, 0, 0, line, t->codec == ASY_CODEC_UTF8, false};
    if (limit == 0) return true;
    for (;;) {
        if (t->pending_cr && !text_skip_pending_lf(vm, t)) return false;
        if (bin_avail(f) == 0) {
            ssize_t n = bin_fill(vm, f);
            if (n < 0) return false;
            if (n == 0) return true;
        }
        const uint8_t *p = f->rbuf + f->rpos, *q;
        st.prev_cr = out->len > 0 && out->data[out->len - 1] == '\r';
        int how = scan_chunk(t, &st, p, f->rbuf + f->rlen, &q);
        if (!bb_append(vm, out, p, (size_t)(q - p))) return false;
        f->rpos += (size_t)(q - p);
        if (how == SCAN_DONE) return true;
        if (how == SCAN_ANY_CR) {
            /* Look at the next byte (reading it if need be): '\r\n' is one line end. */
            if (bin_avail(f) == 0 && bin_fill(vm, f) < 0) return false;
            if (bin_avail(f) > 0 && f->rbuf[f->rpos] == '\n' && (limit < 0 || st.chars < limit)) {
                f->rpos++;
                return bb_append(vm, out, "\n", 1);
            }
            return true;
        }
        if (how == SCAN_CR) {
            /* '\r' or '\r\n' becomes '\n'; a '\n' not read yet is skipped later. */
            if (!bb_append(vm, out, "\n", 1)) return false;
            f->rpos++;
            if (f->rpos == f->rlen)
                t->pending_cr = true;
            else if (f->rbuf[f->rpos] == '\n')
                f->rpos++;
            if (line || (limit >= 0 && st.chars == limit)) return true;
        }
    }
}

static AsyValue text_read_value(AsyVM *vm, AsyTextFile *t, int64_t limit, bool line) {
    AsyBinFile *f = t->buf;
    if (limit < 0 && line && !t->pending_cr && (t->nl == NL_UNIVERSAL || t->nl == NL_LF) &&
        bin_avail(f) > 0) {
        /* The common case, a whole line in the read-ahead: decode it in place. */
        const uint8_t *p = f->rbuf + f->rpos;
        const uint8_t *nl = memchr(p, '\n', bin_avail(f));
        if (nl && (t->nl == NL_LF || !memchr(p, '\r', (size_t)(nl - p)))) {
            size_t n = (size_t)(nl - p) + 1;
            AsyValue s = text_decode(vm, t, p, n);
            if (!ASY_IS_ERR(s)) f->rpos += n;
            return s;
        }
    }
    ByteBuf b = {0};
    if (!text_read_into(vm, t, limit, line, &b)) {
        bb_free(&b);
        return ASY_ERR;
    }
    AsyValue s = text_decode(vm, t, b.data, b.len);
    bb_free(&b);
    return s;
}

/* read() of everything: one read, then the newline translation in place. */
static AsyValue text_read_all(AsyVM *vm, AsyTextFile *t) {
    ByteBuf b = {0};
    if (!text_skip_pending_lf(vm, t) || !bin_read_into(vm, t->buf, -1, &b)) {
        bb_free(&b);
        return ASY_ERR;
    }
    if (t->nl == NL_UNIVERSAL && b.len > 0 && memchr(b.data, '\r', b.len)) {
        size_t j = 0;
        for (size_t i = 0; i < b.len; i++) {
            uint8_t c = b.data[i];
            if (c == '\r') {
                c = '\n';
                if (i + 1 < b.len && b.data[i + 1] == '\n') i++;
            }
            b.data[j++] = c;
        }
        b.len = j;
    }
    AsyValue s = text_decode(vm, t, b.data, b.len);
    bb_free(&b);
    return s;
}

/* Writes a str: newline translation, encoding, and the flush of line buffering. */
static bool text_write(AsyVM *vm, AsyTextFile *t, AsyStr *s) {
    const uint8_t *data = (const uint8_t *)s->data;
    size_t len = s->len;
    AsyValue enc = ASY_UNDEF;
    if (!s->ascii && (t->codec != ASY_CODEC_UTF8 || asy_str_has_surrogates(s))) {
        enc = asy_str_encode(vm, s, t->encoding->data, t->errors->data);
        if (ASY_IS_ERR(enc)) return false;
        data = ((AsyBytes *)ASY_AS_OBJ(enc))->data;
        len = ((AsyBytes *)ASY_AS_OBJ(enc))->len;
    }
    t->pending_cr = false;
    /* CPython's text layer has consumed its whole read-ahead chunk from the buffer, so a
     * write after a read lands where the read-ahead ended, not at the logical position. */
    t->buf->rpos = t->buf->rlen = 0;
    bool has_nl = t->line_buffering && memchr(data, '\n', len);
    if ((t->nl == NL_CR || t->nl == NL_CRLF) && memchr(data, '\n', len)) {
        const char *nl = t->nl == NL_CR ? "\r" : "\r\n";
        ByteBuf b = {0};
        size_t start = 0;
        for (size_t i = 0; i < len; i++) {
            if (data[i] != '\n') continue;
            if (!bb_append(vm, &b, data + start, i - start) || !bb_append(vm, &b, nl, strlen(nl))) {
                bb_free(&b);
                return false;
            }
            start = i + 1;
        }
        bool ok =
            bb_append(vm, &b, data + start, len - start) && bin_write(vm, t->buf, b.data, b.len);
        bb_free(&b);
        if (!ok) return false;
    } else if (!bin_write(vm, t->buf, data, len)) {
        return false;
    }
    if (has_nl || (t->line_buffering && memchr(data, '\r', len))) return bin_flush(vm, t->buf);
    return true;
}

static void text_traverse(AsyVM *vm, AsyObj *o) {
    AsyTextFile *t = (AsyTextFile *)o;
    asy_gc_mark_obj(vm, (AsyObj *)t->buf);
    asy_gc_mark_obj(vm, (AsyObj *)t->mode);
    asy_gc_mark_obj(vm, (AsyObj *)t->encoding);
    asy_gc_mark_obj(vm, (AsyObj *)t->errors);
    asy_gc_mark_value(vm, t->newline);
}

/* ------------------------------------------------------------------------------------ */
/* Text file methods                                                                      */
/* ------------------------------------------------------------------------------------ */

AsyValue asy_file_print_target(AsyVM *vm) {
    AsyValue sys = asy_dict_get_str(vm, vm->modules, ASY_S(vm, sys));
    if (!ASY_IS_OBJ(sys) || !asy_is_subtype(ASY_AS_OBJ(sys)->type, ASY_TYPE(vm, module)))
        return ASY_UNDEF;
    AsyValue out = asy_dict_get_str(vm, ((AsyModule *)ASY_AS_OBJ(sys))->dict, ASY_S(vm, stdout));
    if (ASY_IS_UNDEF(out)) return ASY_NONE;
    if (is_text(vm, out) && TEXT(out)->buf->fp == vm->out && !TEXT(out)->buf->closed)
        return ASY_UNDEF;
    return out;
}

int asy_file_write_str(AsyVM *vm, AsyValue file, AsyStr *s) {
    if (!ASY_IS_OBJ(file) || ASY_AS_OBJ(file)->type != ASY_TYPE(vm, TextIOWrapper) ||
        !ASY_TYPE(vm, TextIOWrapper))
        return 0;
    AsyTextFile *t = text_self(vm, file, 'w');
    return t && text_write(vm, t, s) ? 1 : -1;
}

static AsyValue text_m_read(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    int64_t n;
    if (!asy_check_args(vm, "read", argc - 1, 0, 1) || !size_arg(vm, argc, argv, &n))
        return ASY_ERR;
    AsyTextFile *t = text_self(vm, argv[0], 'r');
    if (!t) return ASY_ERR;
    if (n < 0) return text_read_all(vm, t);
    return text_read_value(vm, t, n, false);
}

static AsyValue text_m_readline(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    int64_t n = -1;
    if (!asy_check_args(vm, "readline", argc - 1, 0, 1) ||
        (argc > 1 && !asy_index(vm, argv[1], &n))) /* TextIOWrapper takes no None here */
        return ASY_ERR;
    AsyTextFile *t = text_self(vm, argv[0], 'r');
    if (!t) return ASY_ERR;
    return text_read_value(vm, t, n, true);
}

static AsyValue text_next(AsyVM *vm, AsyValue self) {
    AsyTextFile *t = text_self(vm, self, 'r');
    if (!t) return ASY_ERR;
    AsyValue s = text_read_value(vm, t, -1, true);
    if (ASY_IS_OBJ(s) && ((AsyStr *)ASY_AS_OBJ(s))->len == 0) return ASY_UNDEF;
    return s;
}

static AsyValue text_m_write(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "write", argc - 1, 1, 1)) return ASY_ERR;
    AsyTextFile *t = text_self(vm, argv[0], 'w');
    if (!t) return ASY_ERR;
    if (!ASY_IS_OBJ(argv[1]) || !asy_is_subtype(ASY_AS_OBJ(argv[1])->type, ASY_TYPE(vm, str)))
        return asy_raise(vm, ASY_EXC_TypeError, "write() argument must be str, not %s",
                         asy_type_name(vm, argv[1]));
    AsyStr *s = (AsyStr *)ASY_AS_OBJ(argv[1]);
    if (!text_write(vm, t, s)) return ASY_ERR;
    return ASY_INT((int64_t)s->nchars);
}

/* ------------------------------------------------------------------------------------ */
/* Methods both layers share (self is either; `b` is the binary file underneath)          */
/* ------------------------------------------------------------------------------------ */

static AsyBinFile *under(AsyVM *vm, AsyValue self) {
    return is_text(vm, self) ? TEXT(self)->buf : BIN(self);
}

static AsyValue m_readlines(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    int64_t hint;
    if (!asy_check_args(vm, "readlines", argc - 1, 0, 1) || !size_arg(vm, argc, argv, &hint))
        return ASY_ERR;
    AsyValue self = argv[0];
    bool text = is_text(vm, self);
    AsyType *type = ASY_AS_OBJ(self)->type;
    if (!(text ? (void *)text_self(vm, self, 'r') : (void *)bin_self(vm, self, 'r', NULL)))
        return ASY_ERR;
    AsyList *l = asy_list_new(vm, 0);
    if (!l) return ASY_ERR;
    int64_t total = 0;
    for (;;) {
        AsyValue line = type->next(vm, self);
        if (ASY_IS_ERR(line)) return line;
        if (ASY_IS_UNDEF(line)) break;
        if (asy_list_append(vm, l, line) < 0) return ASY_ERR;
        total += text ? (int64_t)((AsyStr *)ASY_AS_OBJ(line))->nchars
                      : (int64_t)((AsyBytes *)ASY_AS_OBJ(line))->len;
        if (hint > 0 && total >= hint) break;
    }
    return ASY_OBJ(l);
}

static AsyValue m_writelines(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "writelines", argc - 1, 1, 1)) return ASY_ERR;
    AsyValue self = argv[0];
    bool text = is_text(vm, self);
    if (!(text ? (void *)text_self(vm, self, 'w') : (void *)bin_self(vm, self, 'w', NULL)))
        return ASY_ERR;
    AsyValue it = asy_iter(vm, argv[1]);
    if (ASY_IS_ERR(it)) return it;
    asy_root_push(vm, it);
    AsyValue r = ASY_NONE;
    for (;;) {
        AsyValue line = asy_next(vm, it);
        if (ASY_IS_UNDEF(line)) break;
        AsyValue w = ASY_IS_ERR(line) ? line
                                      : (text ? text_m_write
                                              : bin_m_write)(vm, 2, (AsyValue[]){self, line}, NULL);
        if (ASY_IS_ERR(w)) {
            r = ASY_ERR;
            break;
        }
    }
    asy_root_pop(vm, 1);
    return r;
}

static AsyValue m_flush(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "flush", argc - 1, 0, 0)) return ASY_ERR;
    AsyBinFile *f = under(vm, argv[0]);
    if (!bin_check_open(vm, f) || !bin_flush(vm, f)) return ASY_ERR;
    return ASY_NONE;
}

static AsyValue m_close(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "close", argc - 1, 0, 0)) return ASY_ERR;
    return bin_close(vm, under(vm, argv[0])) ? ASY_NONE : ASY_ERR;
}

static AsyValue m_tell(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "tell", argc - 1, 0, 0)) return ASY_ERR;
    AsyBinFile *f = under(vm, argv[0]);
    int64_t pos;
    bool open = is_text(vm, argv[0]) ? bin_check_open(vm, f) : check_open_raw(vm, f);
    if (!open || !bin_tell(vm, f, &pos)) return ASY_ERR;
    return ASY_INT(pos);
}

static AsyValue m_seek(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "seek", argc - 1, 1, 2)) return ASY_ERR;
    AsyValue self = argv[0];
    bool text = is_text(vm, self);
    AsyBinFile *f = under(vm, self);
    int64_t off, whence = 0;
    if (!asy_index(vm, argv[1], &off) || (argc > 2 && !asy_index(vm, argv[2], &whence)))
        return ASY_ERR;
    if (f->closed) {
        if (text) return raise_closed(vm);
        return asy_raise(vm, ASY_EXC_ValueError, "seek of closed file");
    }
    /* Binary files also take SEEK_DATA (3) and SEEK_HOLE (4), as CPython does on Linux. */
    if (!text && (whence < 0 || whence > 4))
        return asy_raise(vm, ASY_EXC_ValueError, "whence value %lld unsupported",
                         (long long)whence);
    if (text && (whence < 0 || whence > 2))
        return asy_raise(vm, ASY_EXC_ValueError, "invalid whence (%lld, should be 0, 1 or 2)",
                         (long long)whence);
    if (text) {
        if (whence == 1 && off != 0)
            return raise_unsupported(vm, "can't do nonzero cur-relative seeks");
        if (whence == 2 && off != 0)
            return raise_unsupported(vm, "can't do nonzero end-relative seeks");
        if (off < 0)
            return asy_raise(vm, ASY_EXC_ValueError, "negative seek position %lld", (long long)off);
        TEXT(self)->pending_cr = false;
        if (whence == 1 && !bin_tell(vm, f, &off)) return ASY_ERR;
        if (whence == 1) whence = 0;
    }
    int64_t pos;
    if (!bin_seek(vm, f, off, (int)whence, &pos)) return ASY_ERR;
    return ASY_INT(pos);
}

static AsyValue m_truncate(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "truncate", argc - 1, 0, 1)) return ASY_ERR;
    AsyBinFile *f = under(vm, argv[0]);
    if (f->closed) {
        if (is_text(vm, argv[0])) return raise_closed(vm);
        return asy_raise(vm, ASY_EXC_ValueError, "truncate of closed file");
    }
    if (!f->writable) return raise_unsupported(vm, "truncate");
    int64_t size;
    if (argc > 1 && !ASY_IS_NONE(argv[1])) {
        if (!asy_index(vm, argv[1], &size)) return ASY_ERR;
    } else if (!bin_tell(vm, f, &size)) {
        return ASY_ERR;
    }
    if (!bin_flush(vm, f) || !bin_unread(vm, f)) return ASY_ERR;
    if (ftruncate(f->fd, (off_t)size) != 0) return raise_errno(vm, errno);
    return ASY_INT(size);
}

static AsyValue m_fileno(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "fileno", argc - 1, 0, 0)) return ASY_ERR;
    AsyBinFile *f = under(vm, argv[0]);
    if (!check_open_raw(vm, f)) return ASY_ERR;
    return ASY_INT(f->fd);
}

static AsyValue m_isatty(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "isatty", argc - 1, 0, 0)) return ASY_ERR;
    AsyBinFile *f = under(vm, argv[0]);
    if (!check_open_raw(vm, f)) return ASY_ERR;
    return ASY_BOOL(isatty(f->fd));
}

static AsyValue m_readable(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "readable", argc - 1, 0, 0)) return ASY_ERR;
    AsyBinFile *f = under(vm, argv[0]);
    if (f->readable && !check_open_raw(vm, f)) return ASY_ERR;
    return ASY_BOOL(f->readable);
}

static AsyValue m_writable(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "writable", argc - 1, 0, 0)) return ASY_ERR;
    AsyBinFile *f = under(vm, argv[0]);
    if (f->writable && !check_open_raw(vm, f)) return ASY_ERR;
    return ASY_BOOL(f->writable);
}

static AsyValue m_seekable(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "seekable", argc - 1, 0, 0)) return ASY_ERR;
    AsyBinFile *f = under(vm, argv[0]);
    if (!check_open_raw(vm, f)) return ASY_ERR;
    return ASY_BOOL(lseek(f->fd, 0, SEEK_CUR) >= 0);
}

static AsyValue file_iter(AsyVM *vm, AsyValue self) {
    if (!bin_check_open(vm, under(vm, self))) return ASY_ERR;
    return self;
}

static AsyValue m_iter(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__iter__", argc - 1, 0, 0)) return ASY_ERR;
    return file_iter(vm, argv[0]);
}

static AsyValue m_next(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__next__", argc - 1, 0, 0)) return ASY_ERR;
    AsyValue r = ASY_AS_OBJ(argv[0])->type->next(vm, argv[0]);
    if (ASY_IS_UNDEF(r)) return asy_raise_value(vm, ASY_OBJ(vm->exc_types[ASY_EXC_StopIteration]));
    return r;
}

static AsyValue m_enter(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__enter__", argc - 1, 0, 0)) return ASY_ERR;
    return file_iter(vm, argv[0]);
}

static AsyValue m_exit(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    ASY_UNUSED(argc);
    return bin_close(vm, under(vm, argv[0])) ? ASY_NONE : ASY_ERR;
}

/* ------------------------------------------------------------------------------------ */
/* Attributes and repr                                                                    */
/* ------------------------------------------------------------------------------------ */

static AsyValue cstr_value(AsyVM *vm, const char *s) {
    AsyStr *r = asy_str_from_cstr(vm, s);
    return r ? ASY_OBJ(r) : ASY_ERR;
}

/* The attributes are read-only properties in the type's dict, so attribute lookups go
 * through the generic (cached) path that methods take. */
#define GETTER(fname, type_, expr)                                                                 \
    static AsyValue fname(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {                      \
        ASY_UNUSED(vm);                                                                            \
        ASY_UNUSED(argc);                                                                          \
        ASY_UNUSED(kw);                                                                            \
        type_ *f = (type_ *)ASY_AS_OBJ(argv[0]);                                                   \
        ASY_UNUSED(f);                                                                             \
        return (expr);                                                                             \
    }
GETTER(bin_g_closed, AsyBinFile, ASY_BOOL(f->closed))
GETTER(bin_g_name, AsyBinFile, f->name)
GETTER(bin_g_mode, AsyBinFile, cstr_value(vm, f->mode))
GETTER(text_g_closed, AsyTextFile, ASY_BOOL(f->buf->closed))
GETTER(text_g_name, AsyTextFile, f->buf->name)
GETTER(text_g_mode, AsyTextFile, ASY_OBJ(f->mode))
GETTER(text_g_encoding, AsyTextFile, ASY_OBJ(f->encoding))
GETTER(text_g_errors, AsyTextFile, ASY_OBJ(f->errors))
GETTER(text_g_buffer, AsyTextFile, ASY_OBJ(f->buf))
GETTER(text_g_line_buffering, AsyTextFile, ASY_BOOL(f->line_buffering))
GETTER(text_g_newlines, AsyTextFile, ASY_NONE)
#undef GETTER

static const AsyMethodDef bin_getters[] = {
    {"closed", bin_g_closed, 0, "True if the file is closed."},
    {"name", bin_g_name, 0, "The file name or descriptor given to open()."},
    {"mode", bin_g_mode, 0, "The mode of the underlying file."},
    {NULL, NULL, 0, NULL},
};

static const AsyMethodDef text_getters[] = {
    {"closed", text_g_closed, 0, "True if the file is closed."},
    {"name", text_g_name, 0, "The file name or descriptor given to open()."},
    {"mode", text_g_mode, 0, "The mode given to open()."},
    {"encoding", text_g_encoding, 0, "The encoding of the text."},
    {"errors", text_g_errors, 0, "The error handler of the encoding."},
    {"buffer", text_g_buffer, 0, "The binary file underneath."},
    {"line_buffering", text_g_line_buffering, 0, "Whether each line is flushed."},
    {"newlines", text_g_newlines, 0, "The newlines seen so far (not tracked: None)."},
    {NULL, NULL, 0, NULL},
};

static void add_getters(AsyVM *vm, AsyType *type, const AsyMethodDef *defs) {
    for (const AsyMethodDef *d = defs; d->name; d++) {
        AsyProperty *p = asy_gc_alloc(vm, ASY_TYPE(vm, property), sizeof(AsyProperty));
        p->fget = asy_native_new(vm, d, ASY_UNDEF, type);
        p->fset = p->fdel = p->name = ASY_UNDEF;
        p->doc = ASY_OBJ(asy_str_from_cstr(vm, d->doc));
        asy_dict_set_cstr(vm, type->dict, d->name, ASY_OBJ(p));
    }
    asy_type_modified(vm, type);
}

/* "name='x.txt'" or "name=3": the name part of both reprs. */
static bool repr_name(AsyVM *vm, AsyStrBuf *b, AsyValue name) {
    AsyValue r = asy_repr(vm, name);
    if (ASY_IS_ERR(r)) return false;
    asy_strbuf_append_cstr(vm, b, "name=");
    asy_strbuf_append_str(vm, b, (AsyStr *)ASY_AS_OBJ(r));
    return true;
}

static AsyValue bin_repr(AsyVM *vm, AsyValue self) {
    AsyBinFile *f = BIN(self);
    AsyStrBuf b;
    asy_strbuf_init(&b);
    asy_strbuf_printf(vm, &b, "<%s ", ASY_AS_OBJ(self)->type->name);
    if (!repr_name(vm, &b, f->name)) {
        asy_strbuf_free(&b);
        return ASY_ERR;
    }
    if (f->raw)
        asy_strbuf_printf(vm, &b, " mode='%s' closefd=%s", f->mode, f->closefd ? "True" : "False");
    asy_strbuf_append_cstr(vm, &b, ">");
    AsyStr *s = asy_strbuf_finish(vm, &b);
    return s ? ASY_OBJ(s) : ASY_ERR;
}

static AsyValue text_repr(AsyVM *vm, AsyValue self) {
    AsyTextFile *t = TEXT(self);
    AsyStrBuf b;
    asy_strbuf_init(&b);
    asy_strbuf_append_cstr(vm, &b, "<_io.TextIOWrapper ");
    AsyValue mode = asy_repr(vm, ASY_OBJ(t->mode));
    AsyValue enc = ASY_IS_ERR(mode) ? mode : asy_repr(vm, ASY_OBJ(t->encoding));
    if (ASY_IS_ERR(enc) || !repr_name(vm, &b, t->buf->name)) {
        asy_strbuf_free(&b);
        return ASY_ERR;
    }
    asy_strbuf_printf(vm, &b, " mode=%s encoding=%s>", ((AsyStr *)ASY_AS_OBJ(mode))->data,
                      ((AsyStr *)ASY_AS_OBJ(enc))->data);
    AsyStr *s = asy_strbuf_finish(vm, &b);
    return s ? ASY_OBJ(s) : ASY_ERR;
}

static const AsyMethodDef common_methods[] = {
    {"readlines", m_readlines, ASY_METH_NOKW, "Return a list of lines from the stream."},
    {"writelines", m_writelines, ASY_METH_NOKW, "Write a list of lines to the stream."},
    {"flush", m_flush, ASY_METH_NOKW, "Flush the write buffers of the stream."},
    {"close", m_close, ASY_METH_NOKW, "Flush and close the file."},
    {"tell", m_tell, ASY_METH_NOKW, "Return the current stream position."},
    {"seek", m_seek, ASY_METH_NOKW, "Change the stream position."},
    {"truncate", m_truncate, ASY_METH_NOKW, "Truncate the file to at most size bytes."},
    {"fileno", m_fileno, ASY_METH_NOKW, "Return the underlying file descriptor."},
    {"isatty", m_isatty, ASY_METH_NOKW, "Whether this is an interactive stream."},
    {"readable", m_readable, ASY_METH_NOKW, "Whether the file was opened for reading."},
    {"writable", m_writable, ASY_METH_NOKW, "Whether the file was opened for writing."},
    {"seekable", m_seekable, ASY_METH_NOKW, "Whether the stream supports random access."},
    {"__iter__", m_iter, ASY_METH_NOKW, "Implement iter(self)."},
    {"__next__", m_next, ASY_METH_NOKW, "Implement next(self)."},
    {"__enter__", m_enter, ASY_METH_NOKW, "Return self (the file must be open)."},
    {"__exit__", m_exit, ASY_METH_NOKW, "Close the file."},
    {NULL, NULL, 0, NULL},
};

static const AsyMethodDef text_methods[] = {
    {"read", text_m_read, ASY_METH_NOKW, "Read at most size characters (all when -1)."},
    {"readline", text_m_readline, ASY_METH_NOKW, "Read until newline or end of file."},
    {"write", text_m_write, ASY_METH_NOKW, "Write a string; return its length."},
    {NULL, NULL, 0, NULL},
};

static const AsyMethodDef bin_methods[] = {
    {"read", bin_m_read, ASY_METH_NOKW, "Read at most size bytes (all when -1)."},
    {"readline", bin_m_readline, ASY_METH_NOKW, "Read until b'\\n' or end of file."},
    {"write", bin_m_write, ASY_METH_NOKW, "Write bytes; return how many."},
    {NULL, NULL, 0, NULL},
};

/* dotted: "_io.<name>", CPython's tp_name */
static AsyType *file_type(AsyVM *vm, const char *dotted, size_t size, bool text) {
    AsyType *t = asy_type_new_builtin(vm, strchr(dotted, '.') + 1, ASY_TYPE(vm, object), size);
    t->module = asy_str_intern_cstr(vm, "_io");
    t->tflags |= ASY_TYPE_BASETYPE;
    t->iter = file_iter;
    if (text) {
        t->traverse = text_traverse;
        t->repr = text_repr;
        t->next = text_next;
        asy_type_add_methods(vm, t, text_methods);
        add_getters(vm, t, text_getters);
    } else {
        t->traverse = bin_traverse;
        t->finalize = bin_finalize;
        t->tflags |= ASY_TYPE_FINALIZE_AT_EXIT; /* unwritten buffered output */
        t->repr = bin_repr;
        t->next = bin_next;
        asy_type_add_methods(vm, t, bin_methods);
        add_getters(vm, t, bin_getters);
    }
    asy_type_add_methods(vm, t, common_methods);
    asy_type_ready(vm, t);
    asy_type_set_tp_name(vm, t, dotted);
    return t;
}

/* The file types are made on first use, so scripts that never open a file pay nothing. */
static void file_types_init(AsyVM *vm) {
    if (ASY_TYPE(vm, TextIOWrapper)) return;
    ASY_TYPE(vm, BufferedReader) = file_type(vm, "_io.BufferedReader", sizeof(AsyBinFile), false);
    ASY_TYPE(vm, BufferedWriter) = file_type(vm, "_io.BufferedWriter", sizeof(AsyBinFile), false);
    ASY_TYPE(vm, BufferedRandom) = file_type(vm, "_io.BufferedRandom", sizeof(AsyBinFile), false);
    ASY_TYPE(vm, FileIO) = file_type(vm, "_io.FileIO", sizeof(AsyBinFile), false);
    ASY_TYPE(vm, TextIOWrapper) = file_type(vm, "_io.TextIOWrapper", sizeof(AsyTextFile), true);
}

/* ------------------------------------------------------------------------------------ */
/* open()                                                                                 */
/* ------------------------------------------------------------------------------------ */

enum {
    OA_FILE,
    OA_MODE,
    OA_BUFFERING,
    OA_ENCODING,
    OA_ERRORS,
    OA_NEWLINE,
    OA_CLOSEFD,
    OA_OPENER,
    OA_COUNT
};
static const char *const open_params[OA_COUNT] = {"file",   "mode",    "buffering", "encoding",
                                                  "errors", "newline", "closefd",   "opener"};

/* open()'s arguments by position or keyword, CPython's messages; UNDEF when absent. */
static bool open_args(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw, AsyValue *a) {
    if (argc > OA_COUNT) {
        asy_raise(vm, ASY_EXC_TypeError, "open() takes at most 8 arguments (%d given)",
                  argc + (kw ? (int)kw->len : 0));
        return false;
    }
    for (int i = 0; i < OA_COUNT; i++)
        a[i] = i < argc ? argv[i] : ASY_UNDEF;
    if (kw) {
        for (int i = 0; i < OA_COUNT; i++) {
            AsyValue v = asy_kwarg(vm, kw, open_params[i]);
            if (ASY_IS_UNDEF(v)) continue;
            if (i < argc) {
                asy_raise(vm, ASY_EXC_TypeError,
                          "argument for open() given by name ('%s') and position (%d)",
                          open_params[i], i + 1);
                return false;
            }
            a[i] = v;
        }
        if (kw->len > 0) {
            int64_t pos = 0;
            AsyValue k, v;
            asy_dict_next(kw, &pos, &k, &v);
            asy_raise(vm, ASY_EXC_TypeError, "'%S' is an invalid keyword argument for open()", k);
            return false;
        }
    }
    if (ASY_IS_UNDEF(a[OA_FILE])) {
        asy_raise(vm, ASY_EXC_TypeError, "open() missing required argument 'file' (pos 1)");
        return false;
    }
    return true;
}

/* An optional str argument of open(): NULL for None/absent. */
static bool open_str_arg(AsyVM *vm, AsyValue v, const char *what, AsyStr **out) {
    *out = NULL;
    if (ASY_IS_UNDEF(v) || ASY_IS_NONE(v)) return true;
    if (ASY_IS_OBJ(v) && asy_is_subtype(ASY_AS_OBJ(v)->type, ASY_TYPE(vm, str))) {
        *out = (AsyStr *)ASY_AS_OBJ(v);
        return true;
    }
    asy_raise(vm, ASY_EXC_TypeError, "open() argument '%s' must be str or None, not %s", what,
              asy_type_name(vm, v));
    return false;
}

typedef struct {
    bool creating, reading, writing, appending, updating, text, binary;
} OpenMode;

static bool parse_mode(AsyVM *vm, AsyStr *mode, OpenMode *m) {
    memset(m, 0, sizeof *m);
    const char *s = mode->data;
    for (size_t i = 0; i < mode->len; i++) {
        bool *flag;
        switch (s[i]) {
        case 'x': flag = &m->creating; break;
        case 'r': flag = &m->reading; break;
        case 'w': flag = &m->writing; break;
        case 'a': flag = &m->appending; break;
        case '+': flag = &m->updating; break;
        case 't': flag = &m->text; break;
        case 'b': flag = &m->binary; break;
        default: flag = NULL;
        }
        if (!flag || *flag) {
            asy_raise(vm, ASY_EXC_ValueError, "invalid mode: '%s'", s);
            return false;
        }
        *flag = true;
    }
    int kinds = m->creating + m->reading + m->writing + m->appending;
    if (m->text && m->binary) {
        asy_raise(vm, ASY_EXC_ValueError, "can't have text and binary mode at once");
        return false;
    }
    if (kinds > 1) {
        asy_raise(vm, ASY_EXC_ValueError, "must have exactly one of create/read/write/append mode");
        return false;
    }
    if (kinds == 0) {
        asy_raise(vm, ASY_EXC_ValueError,
                  "Must have exactly one of create/read/write/append "
                  "mode and at most one plus");
        return false;
    }
    return true;
}

/* FileIO's mode string, as the binary file's .mode shows it. */
static const char *raw_mode(const OpenMode *m) {
    if (m->creating) return m->updating ? "xb+" : "xb";
    if (m->appending) return m->updating ? "ab+" : "ab";
    if (m->reading) return m->updating ? "rb+" : "rb";
    return m->updating ? "rb+" : "wb";
}

/* The file argument: a path (str or bytes, no NUL) or a descriptor. */
static bool open_path(AsyVM *vm, AsyValue file, const char **path, int64_t *fd) {
    *path = NULL;
    if (ASY_IS_OBJ(file) && asy_is_subtype(ASY_AS_OBJ(file)->type, ASY_TYPE(vm, str))) {
        AsyStr *s = (AsyStr *)ASY_AS_OBJ(file);
        *path = s->data;
        if (strlen(s->data) != s->len) goto nul;
        return true;
    }
    if (ASY_IS_OBJ(file) && asy_is_subtype(ASY_AS_OBJ(file)->type, ASY_TYPE(vm, bytes))) {
        AsyBytes *b = (AsyBytes *)ASY_AS_OBJ(file);
        *path = (const char *)b->data;
        if (strlen(*path) != b->len) goto nul;
        return true;
    }
    if (ASY_IS_INTLIKE(file)) {
        *fd = ASY_AS_INT(file);
        if (*fd < 0) {
            asy_raise(vm, ASY_EXC_ValueError, "negative file descriptor");
            return false;
        }
        return true;
    }
    asy_raise(vm, ASY_EXC_TypeError, "expected str, bytes or os.PathLike object, not %s",
              asy_type_name(vm, file));
    return false;
nul:
    asy_raise(vm, ASY_EXC_ValueError, "embedded null byte");
    return false;
}

/* The descriptor of path, opened as FileIO opens it (directories refused). */
static int open_fd(AsyVM *vm, const OpenMode *m, const char *path, AsyValue file, AsyValue opener) {
    int flags = O_CLOEXEC;
    if (m->creating) flags |= O_CREAT | O_EXCL;
    if (m->writing) flags |= O_CREAT | O_TRUNC;
    if (m->appending) flags |= O_CREAT | O_APPEND;
    bool r = m->reading || m->updating, w = !m->reading || m->updating;
    flags |= r && w ? O_RDWR : r ? O_RDONLY : O_WRONLY;
    int fd;
    if (!ASY_IS_UNDEF(opener) && !ASY_IS_NONE(opener)) {
        AsyValue args[2] = {file, ASY_INT(flags)};
        AsyValue res = asy_call(vm, opener, 2, args, NULL);
        if (ASY_IS_ERR(res)) return -1;
        if (!ASY_IS_INTLIKE(res)) {
            asy_raise(vm, ASY_EXC_TypeError, "expected integer from opener");
            return -1;
        }
        if (ASY_AS_INT(res) < 0) {
            asy_raise(vm, ASY_EXC_ValueError, "opener returned %lld", (long long)ASY_AS_INT(res));
            return -1;
        }
        fd = (int)ASY_AS_INT(res);
    } else {
        do
            fd = open(path, flags, 0666);
        while (fd < 0 && errno == EINTR);
        if (fd < 0) {
            asy_raise_oserror(vm, errno, path);
            return -1;
        }
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        asy_raise_oserror(vm, EISDIR, path);
        return -1;
    }
    if (m->appending) lseek(fd, 0, SEEK_END);
    return fd;
}

/* The text layer's newline mode; false with ValueError for anything else. */
static bool parse_newline(AsyVM *vm, AsyStr *nl, uint8_t *out) {
    if (!nl)
        *out = NL_UNIVERSAL;
    else if (nl->len == 0)
        *out = NL_ANY;
    else if (strcmp(nl->data, "\n") == 0)
        *out = NL_LF;
    else if (strcmp(nl->data, "\r") == 0)
        *out = NL_CR;
    else if (strcmp(nl->data, "\r\n") == 0)
        *out = NL_CRLF;
    else {
        asy_raise(vm, ASY_EXC_ValueError, "illegal newline value: %s", nl->data);
        return false;
    }
    return true;
}

/* The text file over buf, or NULL with an error (buf is closed then, as CPython does). */
static AsyTextFile *text_new(AsyVM *vm, AsyBinFile *buf, AsyStr *mode, AsyStr *encoding,
                             AsyStr *errors, AsyStr *newline, bool line_buffering) {
    int codec = encoding ? asy_codec_lookup(encoding->data) : ASY_CODEC_UTF8;
    uint8_t nl = NL_UNIVERSAL;
    if (codec < 0 || !parse_newline(vm, newline, &nl)) {
        if (codec < 0) asy_raise(vm, ASY_EXC_LookupError, "unknown encoding: %s", encoding->data);
        AsyException *pending = vm->exc;
        vm->exc = NULL;
        bin_close(vm, buf);
        vm->exc = pending;
        return NULL;
    }
    AsyTextFile *t = asy_gc_alloc(vm, ASY_TYPE(vm, TextIOWrapper), sizeof(AsyTextFile));
    t->buf = buf;
    t->mode = mode;
    t->encoding = encoding ? encoding : asy_str_intern_cstr(vm, "UTF-8");
    t->errors = errors ? errors : asy_str_intern_cstr(vm, "strict");
    t->strict_utf8 = codec == ASY_CODEC_UTF8;
    t->newline = newline ? ASY_OBJ(newline) : ASY_NONE;
    t->codec = codec;
    t->nl = nl;
    t->line_buffering = line_buffering;
    return t;
}

AsyValue asy_file_open(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    AsyValue a[OA_COUNT];
    if (!open_args(vm, argc, argv, kw, a)) return ASY_ERR;
    file_types_init(vm);
    AsyStr *mode = asy_str_intern_cstr(vm, "r"), *encoding, *errors, *newline;
    if (!ASY_IS_UNDEF(a[OA_MODE])) {
        if (!ASY_IS_OBJ(a[OA_MODE]) ||
            !asy_is_subtype(ASY_AS_OBJ(a[OA_MODE])->type, ASY_TYPE(vm, str)))
            return asy_raise(vm, ASY_EXC_TypeError, "open() argument 'mode' must be str, not %s",
                             asy_type_name(vm, a[OA_MODE]));
        mode = (AsyStr *)ASY_AS_OBJ(a[OA_MODE]);
    }
    int64_t buffering = -1;
    if (!ASY_IS_UNDEF(a[OA_BUFFERING]) && !asy_index(vm, a[OA_BUFFERING], &buffering))
        return ASY_ERR;
    if (!open_str_arg(vm, a[OA_ENCODING], "encoding", &encoding) ||
        !open_str_arg(vm, a[OA_ERRORS], "errors", &errors) ||
        !open_str_arg(vm, a[OA_NEWLINE], "newline", &newline))
        return ASY_ERR;
    bool closefd = true;
    if (!ASY_IS_UNDEF(a[OA_CLOSEFD])) {
        int c = asy_truthy(vm, a[OA_CLOSEFD]);
        if (c < 0) return ASY_ERR;
        closefd = c;
    }
    OpenMode m;
    if (!parse_mode(vm, mode, &m)) return ASY_ERR;
    if (m.binary && encoding)
        return asy_raise(vm, ASY_EXC_ValueError, "binary mode doesn't take an encoding argument");
    if (m.binary && errors)
        return asy_raise(vm, ASY_EXC_ValueError, "binary mode doesn't take an errors argument");
    if (m.binary && newline)
        return asy_raise(vm, ASY_EXC_ValueError, "binary mode doesn't take a newline argument");
    const char *path;
    int64_t fdarg = -1;
    if (!open_path(vm, a[OA_FILE], &path, &fdarg)) return ASY_ERR;
    if (!path && !closefd) {
        /* fine: a descriptor the caller keeps */
    } else if (path && !closefd) {
        return asy_raise(vm, ASY_EXC_ValueError, "Cannot use closefd=False with file name");
    }
    int fd = path ? open_fd(vm, &m, path, a[OA_FILE], a[OA_OPENER]) : (int)fdarg;
    if (fd < 0) return ASY_ERR;
    bool readable = m.reading || m.updating, writable = !m.reading || m.updating;
    AsyBinFile *buf = bin_new(vm, fd, NULL, a[OA_FILE], raw_mode(&m), readable, writable, closefd,
                              m.binary && buffering == 0);
    buf->wcap = buffering == 0 ? 0 : buffering > 1 ? (size_t)buffering : FILE_WRITE_BUFSIZE;
    if (m.binary) return ASY_OBJ(buf);
    if (buffering == 0) {
        bin_close(vm, buf);
        return asy_raise(vm, ASY_EXC_ValueError, "can't have unbuffered text I/O");
    }
    bool line_buffering = buffering == 1 || (buffering < 0 && isatty(fd));
    AsyTextFile *t = text_new(vm, buf, mode, encoding, errors, newline, line_buffering);
    return t ? ASY_OBJ(t) : ASY_ERR;
}

/* ------------------------------------------------------------------------------------ */
/* sys.stdin, sys.stdout, sys.stderr and input()                                          */
/* ------------------------------------------------------------------------------------ */

static AsyValue std_stream(AsyVM *vm, int fd, FILE *fp, const char *name, const char *errors) {
    bool reading = fp == NULL;
    AsyBinFile *b = bin_new(vm, fd, fp, ASY_OBJ(asy_str_intern_cstr(vm, name)),
                            reading ? "rb" : "wb", reading, !reading, false, false);
    AsyTextFile *t = text_new(vm, b, asy_str_intern_cstr(vm, reading ? "r" : "w"),
                              asy_str_intern_cstr(vm, "utf-8"), asy_str_intern_cstr(vm, errors),
                              asy_str_intern_cstr(vm, "\n"), !reading && isatty(fd));
    return ASY_OBJ(t);
}

void asy_file_add_std_streams(AsyVM *vm, AsyDict *sys_dict) {
    file_types_init(vm);
    FILE *out = vm->out ? vm->out : stdout, *err = vm->err ? vm->err : stderr;
    AsyValue in = std_stream(vm, 0, NULL, "<stdin>", "surrogateescape");
    AsyValue o = std_stream(vm, fileno(out), out, "<stdout>", "surrogateescape");
    AsyValue e = std_stream(vm, fileno(err), err, "<stderr>", "backslashreplace");
    asy_dict_set_cstr(vm, sys_dict, "stdin", in);
    asy_dict_set_cstr(vm, sys_dict, "stdout", o);
    asy_dict_set_cstr(vm, sys_dict, "stderr", e);
    asy_dict_set_cstr(vm, sys_dict, "__stdin__", in);
    asy_dict_set_cstr(vm, sys_dict, "__stdout__", o);
    asy_dict_set_cstr(vm, sys_dict, "__stderr__", e);
}

/* sys.<name>, or an error (RuntimeError "lost sys.stdin", as CPython). */
static AsyValue sys_stream(AsyVM *vm, const char *name) {
    AsyValue sys = asy_import(vm, asy_str_intern_cstr(vm, "sys"));
    if (ASY_IS_ERR(sys)) return sys;
    AsyValue s = asy_getattr_opt(vm, sys, asy_str_intern_cstr(vm, name));
    if (ASY_IS_ERR(s)) return s;
    if (ASY_IS_UNDEF(s) || ASY_IS_NONE(s))
        return asy_raise(vm, ASY_EXC_RuntimeError, "input(): lost sys.%s", name);
    return s;
}

AsyValue asy_file_stdin_readline(AsyVM *vm) {
    AsyValue in = sys_stream(vm, "stdin");
    if (ASY_IS_ERR(in)) return in;
    if (is_text(vm, in)) {
        AsyTextFile *t = text_self(vm, in, 'r');
        if (!t) return ASY_ERR;
        return text_read_value(vm, t, -1, true);
    }
    return asy_call_method(vm, in, asy_str_intern_cstr(vm, "readline"), 0, NULL);
}

/* ------------------------------------------------------------------------------------ */
/* The io module                                                                          */
/* ------------------------------------------------------------------------------------ */

void asy_mod_io_init(AsyVM *vm) {
    file_types_init(vm);
    AsyModule *m = asy_module_new(vm, "io");
    asy_root_push(vm, ASY_OBJ(m));
    AsyDict *d = m->dict;
    /* io.open is builtins.open, the same object. */
    asy_dict_set_cstr(vm, d, "open", asy_dict_get_cstr(vm, vm->builtins->dict, "open"));
    asy_dict_set_cstr(vm, d, "TextIOWrapper", ASY_OBJ(ASY_TYPE(vm, TextIOWrapper)));
    asy_dict_set_cstr(vm, d, "BufferedReader", ASY_OBJ(ASY_TYPE(vm, BufferedReader)));
    asy_dict_set_cstr(vm, d, "BufferedWriter", ASY_OBJ(ASY_TYPE(vm, BufferedWriter)));
    asy_dict_set_cstr(vm, d, "BufferedRandom", ASY_OBJ(ASY_TYPE(vm, BufferedRandom)));
    asy_dict_set_cstr(vm, d, "FileIO", ASY_OBJ(ASY_TYPE(vm, FileIO)));
    asy_dict_set_cstr(vm, d, "DEFAULT_BUFFER_SIZE", ASY_INT(FILE_BUFSIZE));
    asy_dict_set_cstr(vm, d, "SEEK_SET", ASY_INT(0));
    asy_dict_set_cstr(vm, d, "SEEK_CUR", ASY_INT(1));
    asy_dict_set_cstr(vm, d, "SEEK_END", ASY_INT(2));
    AsyDict *ns = asy_dict_new(vm);
    asy_root_push(vm, ASY_OBJ(ns));
    asy_dict_set_str(vm, ns, ASY_S(vm, __module__), ASY_OBJ(asy_str_intern_cstr(vm, "io")));
    AsyValue bases[] = {ASY_OBJ(vm->exc_types[ASY_EXC_OSError]),
                        ASY_OBJ(vm->exc_types[ASY_EXC_ValueError])};
    AsyValue cls = asy_class_new(vm, asy_str_intern_cstr(vm, "UnsupportedOperation"), bases, 2, ns);
    asy_root_pop(vm, 1);
    if (!ASY_IS_ERR(cls)) {
        asy_dict_set_cstr(vm, d, "UnsupportedOperation", cls);
        asy_module_register(vm, m);
    }
    asy_root_pop(vm, 1);
}
