/* exception.c - exception objects and raising them: the built-in hierarchy (vm.h's
 * ASY_EXCEPTIONS list), BaseException's behaviour (args, str, repr, attributes), the
 * asy_raise* family with its %R/%S/%T/%U message formatter, and the argument-checking
 * helpers natives use. Formatting a traceback for the user is traceback.c's job.
 *
 * Invariant: vm->exc is non-NULL exactly while an error return (ASY_ERR, -1, NULL) is
 * propagating; whoever handles the error clears it.
 */
#include "common.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "unicode.h"
#include "vm.h"

static AsyException *exc_of(AsyValue v) { return (AsyException *)ASY_AS_OBJ(v); }

static bool exc_type_is(AsyVM *vm, AsyType *t, AsyExcId id) {
    return asy_is_subtype(t, vm->exc_types[id]);
}

/* ---- construction ---- */

static void exc_set_args(AsyVM *vm, AsyException *e, int argc, AsyValue *argv) {
    AsyType *t = e->hdr.type;
    e->args = asy_tuple_from_array(vm, argv, argc);
    if (exc_type_is(vm, t, ASY_EXC_StopIteration) ||
        exc_type_is(vm, t, ASY_EXC_StopAsyncIteration)) {
        e->value = argc > 0 ? argv[0] : ASY_NONE;
    } else if (exc_type_is(vm, t, ASY_EXC_SystemExit)) {
        e->value = argc == 0 ? ASY_NONE : argc == 1 ? argv[0] : ASY_OBJ(e->args);
    }
}

static AsyExcId oserror_subclass(int err);

/* Whether t's constructor is OSError's: CPython takes __new__ and __init__ from the first
 * built-in class of t's MRO, so class W(ValueError, OSError) gets ValueError's (errno None,
 * args as given) while class W(OSError, ValueError) parses errno and strerror. */
static bool oserror_ctor(AsyVM *vm, AsyType *t) {
    for (AsyMroIter it = asy_mro_begin(t); it.t; asy_mro_next(&it))
        if (!(it.t->tflags & ASY_TYPE_HEAP)) return exc_type_is(vm, it.t, ASY_EXC_OSError);
    return false;
}

/* CPython's oserror_use_init: a subclass with an __init__ of its own has its arguments
 * read by OSError.__init__ (when it calls it); every other OSError by OSError.__new__. */
static bool oserror_use_init(AsyVM *vm, AsyType *t) {
    if (!(t->tflags & ASY_TYPE_HEAP)) return false;
    AsyStr *init = ASY_S(vm, __init__);
    return !asy_value_is(asy_type_lookup(t, init),
                         asy_type_lookup(vm->exc_types[ASY_EXC_OSError], init));
}

/* OSError(errno, strerror[, filename[, winerror[, filename2]]]): errno and strerror go to
 * e->extra, the file names to __dict__, and a file name cuts args to (errno, strerror),
 * as CPython's oserror_parse_args and oserror_init. */
static void oserror_parse(AsyVM *vm, AsyException *e, int argc, AsyValue *argv) {
    if (argc < 2 || argc > 5) return;
    e->extra = ASY_OBJ(asy_tuple_from_array(vm, argv, 2));
    if (argc < 3 || ASY_IS_NONE(argv[2])) return;
    if (!e->dict) e->dict = asy_dict_new(vm);
    if (e->hdr.type == vm->exc_types[ASY_EXC_BlockingIOError] && ASY_IS_INTLIKE(argv[2])) {
        asy_dict_set_cstr(vm, e->dict, "characters_written", argv[2]);
        return;
    }
    asy_dict_set_cstr(vm, e->dict, "filename", argv[2]);
    if (argc == 5 && !ASY_IS_NONE(argv[4])) asy_dict_set_cstr(vm, e->dict, "filename2", argv[4]);
    e->args = asy_tuple_from_array(vm, argv, 2);
}

/* OSError(errno, ...) itself makes the subclass for errno (PEP 3151). */
static AsyType *oserror_type_for(AsyVM *vm, AsyType *type, int argc, AsyValue *argv) {
    if (type != vm->exc_types[ASY_EXC_OSError] || argc < 2 || argc > 5 ||
        !ASY_IS_INTLIKE(argv[0]) || argv[0].as.i < 0 || argv[0].as.i > INT32_MAX)
        return type;
    return vm->exc_types[oserror_subclass((int)argv[0].as.i)];
}

/* SyntaxError(msg, (filename, lineno, offset, text[, end_lineno, end_offset])): the
 * attributes a raise of one's own needs for its traceback, as CPython's SyntaxError_init
 * reads them. false with TypeError pending when the details are not 4 to 6 items. */
static bool syntaxerror_parse(AsyVM *vm, AsyException *e, int argc, AsyValue *argv) {
    static const char *const names[] = {"filename", "lineno", "offset", "text", "end_lineno",
                                        "end_offset"};
    if (argc < 1) return true;
    if (!e->dict) e->dict = asy_dict_new(vm);
    asy_dict_set_cstr(vm, e->dict, "msg", argv[0]);
    if (argc != 2) return true;
    const AsyValue *items;
    int64_t n;
    if (asy_isinstance(vm, argv[1], ASY_TYPE(vm, tuple))) {
        items = ((AsyTuple *)ASY_AS_OBJ(argv[1]))->items;
        n = ((AsyTuple *)ASY_AS_OBJ(argv[1]))->len;
    } else if (asy_isinstance(vm, argv[1], ASY_TYPE(vm, list))) {
        items = ((AsyList *)ASY_AS_OBJ(argv[1]))->items;
        n = ((AsyList *)ASY_AS_OBJ(argv[1]))->len;
    } else {
        asy_raise(vm, ASY_EXC_TypeError, "'%s' object is not iterable", asy_type_name(vm, argv[1]));
        return false;
    }
    if (n < 4 || n > 6) {
        asy_raise(vm, ASY_EXC_TypeError, "function takes %s %d arguments (%lld given)",
                  n < 4 ? "at least" : "at most", n < 4 ? 4 : 6, (long long)n);
        return false;
    }
    for (int64_t i = 0; i < n; i++) asy_dict_set_cstr(vm, e->dict, names[i], items[i]);
    return true;
}

/* A new exception of `type` with its args set (and an OSError's details). */
static AsyException *exc_alloc(AsyVM *vm, AsyType *type, int argc, AsyValue *argv) {
    type = oserror_type_for(vm, type, argc, argv);
    AsyException *e = asy_gc_alloc(vm, type, type->basicsize);
    e->cause = ASY_NONE;
    e->context = ASY_NONE;
    e->value = ASY_NONE;
    e->extra = ASY_NONE;
    e->exceptions = ASY_NONE;
    e->message = ASY_NONE;
    if (!oserror_ctor(vm, type)) {
        exc_set_args(vm, e, argc, argv);
    } else if (oserror_use_init(vm, type)) {
        exc_set_args(vm, e, 0, NULL); /* until the class's __init__ calls OSError's */
    } else {
        exc_set_args(vm, e, argc, argv);
        oserror_parse(vm, e, argc, argv);
    }
    return e;
}

/* A SyntaxError's details are read by __init__, as in CPython; calling a built-in type runs
 * no __init__ (type_call), so for those new_ reads them, once either way. */
static AsyValue exc_new_slot(AsyVM *vm, AsyType *type, int argc, AsyValue *argv,
                             AsyDict *kw) {
    ASY_UNUSED(kw);
    AsyException *e = exc_alloc(vm, type, argc, argv);
    if (!(type->tflags & ASY_TYPE_HEAP) && exc_type_is(vm, type, ASY_EXC_SyntaxError) &&
        !syntaxerror_parse(vm, e, argc, argv))
        return ASY_ERR;
    return ASY_OBJ(e);
}

AsyValue asy_exc_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv) {
    if (type->tflags & ASY_TYPE_HEAP) return asy_call(vm, ASY_OBJ(type), argc, argv, NULL);
    return exc_new_slot(vm, type, argc, argv, NULL);
}

/* ---- the message formatter: printf plus %R %S %T %U ---- */

static void fmt_value(AsyVM *vm, AsyStrBuf *b, AsyValue v, char conv) {
    AsyValue s;
    if (conv == 'T') {
        asy_strbuf_append_cstr(vm, b, asy_type_name(vm, v));
        return;
    }
    s = conv == 'R' ? asy_repr(vm, v) : asy_str(vm, v);
    if (ASY_IS_ERR(s)) {
        asy_exc_clear(vm);
        asy_strbuf_append_cstr(vm, b, "<unprintable object>");
        return;
    }
    asy_strbuf_append_str(vm, b, (AsyStr *)ASY_AS_OBJ(s));
}

/* Reads one length-modified integer conversion (%d %ld %lld %zd %zu %u %x). */
static const char *fmt_int(AsyVM *vm, AsyStrBuf *b, const char *p, va_list *ap) {
    char buf[64];
    if (p[0] == 'z') {
        if (p[1] == 'u') snprintf(buf, sizeof buf, "%zu", va_arg(*ap, size_t));
        else snprintf(buf, sizeof buf, "%zd", va_arg(*ap, ptrdiff_t));
        p += 2;
    } else if (p[0] == 'l' && p[1] == 'l') {
        snprintf(buf, sizeof buf, "%lld", va_arg(*ap, long long));
        p += 3;
    } else if (p[0] == 'l') {
        snprintf(buf, sizeof buf, "%ld", va_arg(*ap, long));
        p += 2;
    } else if (p[0] == 'u') {
        snprintf(buf, sizeof buf, "%u", va_arg(*ap, unsigned));
        p += 1;
    } else if (p[0] == 'x') {
        snprintf(buf, sizeof buf, "%x", va_arg(*ap, unsigned));
        p += 1;
    } else {
        snprintf(buf, sizeof buf, "%d", va_arg(*ap, int));
        p += 1;
    }
    asy_strbuf_append_cstr(vm, b, buf);
    return p;
}

static AsyStr *exc_vformat(AsyVM *vm, const char *fmt, va_list ap) {
    AsyStrBuf b;
    asy_strbuf_init(&b);
    va_list aq;
    va_copy(aq, ap);
    for (const char *p = fmt; *p;) {
        const char *pct = strchr(p, '%');
        if (!pct) {
            asy_strbuf_append_cstr(vm, &b, p);
            break;
        }
        asy_strbuf_append(vm, &b, p, (size_t)(pct - p));
        p = pct + 1;
        switch (*p) {
        case 's': asy_strbuf_append_cstr(vm, &b, va_arg(aq, const char *)); p++; break;
        case 'c': { char c = (char)va_arg(aq, int); asy_strbuf_append(vm, &b, &c, 1); p++; break; }
        case '%': asy_strbuf_append(vm, &b, "%", 1); p++; break;
        case 'R': case 'S': case 'T': fmt_value(vm, &b, va_arg(aq, AsyValue), *p); p++; break;
        case 'U': asy_strbuf_append_str(vm, &b, va_arg(aq, AsyStr *)); p++; break;
        default: p = fmt_int(vm, &b, p, &aq); break;
        }
    }
    va_end(aq);
    return asy_strbuf_finish(vm, &b);
}

static AsyStr *exc_format(AsyVM *vm, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    AsyStr *s = exc_vformat(vm, fmt, ap);
    va_end(ap);
    return s;
}

static AsyValue raise_with_message(AsyVM *vm, AsyType *type, AsyStr *msg) {
    if (!msg) return ASY_ERR; /* MemoryError already pending */
    AsyValue arg = ASY_OBJ(msg);
    AsyValue e = asy_exc_new(vm, type, 1, &arg);
    if (ASY_IS_ERR(e)) return ASY_ERR;
    vm->exc = exc_of(e);
    return ASY_ERR;
}

AsyValue asy_raise(AsyVM *vm, AsyExcId type, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    AsyStr *msg = exc_vformat(vm, fmt, ap);
    va_end(ap);
    return raise_with_message(vm, vm->exc_types[type], msg);
}

AsyValue asy_raise_type(AsyVM *vm, AsyType *type, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    AsyStr *msg = exc_vformat(vm, fmt, ap);
    va_end(ap);
    return raise_with_message(vm, type, msg);
}

AsyValue asy_raise_value(AsyVM *vm, AsyValue v) {
    AsyType *base = vm->exc_types[ASY_EXC_BaseException];
    if (ASY_IS_OBJ(v) && asy_is_subtype(ASY_AS_OBJ(v)->type, ASY_TYPE(vm, type)) &&
        asy_is_subtype((AsyType *)ASY_AS_OBJ(v), base)) {
        v = asy_exc_new(vm, (AsyType *)ASY_AS_OBJ(v), 0, NULL);
        if (ASY_IS_ERR(v)) return ASY_ERR;
        if (!asy_isinstance(vm, v, base)) {
            return asy_raise(vm, ASY_EXC_TypeError,
                             "calling %R should have returned an instance of "
                             "BaseException, not %T", v, v);
        }
    } else if (ASY_IS_OBJ(v) && asy_is_subtype(ASY_AS_OBJ(v)->type, ASY_TYPE(vm, type))) {
        return asy_raise(vm, ASY_EXC_TypeError, "exceptions must derive from BaseException");
    }
    if (!asy_isinstance(vm, v, base))
        return asy_raise(vm, ASY_EXC_TypeError, "exceptions must derive from BaseException");
    vm->exc = exc_of(v);
    return ASY_ERR;
}

bool asy_exc_is(AsyVM *vm, AsyValue exc, AsyType *type) {
    return asy_isinstance(vm, exc, type);
}

bool asy_exc_matches(AsyVM *vm, AsyExcId type) {
    return vm->exc && asy_is_subtype(vm->exc->hdr.type, vm->exc_types[type]);
}

void asy_exc_clear(AsyVM *vm) { vm->exc = NULL; }

AsyValue asy_raise_memory(AsyVM *vm) {
    AsyValue e = exc_new_slot(vm, vm->exc_types[ASY_EXC_MemoryError], 0, NULL, NULL);
    vm->exc = exc_of(e);
    return ASY_ERR;
}

AsyValue asy_raise_unhashable(AsyVM *vm, AsyValue v) {
    return asy_raise(vm, ASY_EXC_TypeError, "unhashable type: '%s'", asy_type_name(vm, v));
}

AsyValue asy_raise_syntax_error(AsyVM *vm, const char *type, const char *msg,
                                const char *filename, int lineno, int offset,
                                int end_offset, const char *text) {
    AsyExcId id = ASY_EXC_SyntaxError;
    if (strcmp(type, "IndentationError") == 0) id = ASY_EXC_IndentationError;
    else if (strcmp(type, "TabError") == 0) id = ASY_EXC_TabError;
    AsyValue m = ASY_OBJ(asy_str_from_cstr(vm, msg));
    AsyException *x = exc_alloc(vm, vm->exc_types[id], 1, &m);
    x->dict = asy_dict_new(vm);
    asy_dict_set_cstr(vm, x->dict, "msg", m);
    asy_dict_set_cstr(vm, x->dict, "filename",
                      ASY_OBJ(asy_str_from_cstr(vm, filename ? filename : "<unknown>")));
    asy_dict_set_cstr(vm, x->dict, "lineno", ASY_INT(lineno));
    asy_dict_set_cstr(vm, x->dict, "offset", ASY_INT(offset));
    asy_dict_set_cstr(vm, x->dict, "end_offset", end_offset ? ASY_INT(end_offset) : ASY_NONE);
    asy_dict_set_cstr(vm, x->dict, "text",
                      text ? ASY_OBJ(asy_str_from_cstr(vm, text)) : ASY_NONE);
    vm->exc = x;
    return ASY_ERR;
}

AsyTraceback *asy_traceback_push(AsyVM *vm, AsyException *exc, AsyCode *code, int32_t ip) {
    AsyTraceback *tb = asy_gc_alloc(vm, ASY_TYPE(vm, traceback), sizeof(AsyTraceback));
    tb->code = code;
    tb->ip = ip;
    tb->next = exc->traceback;
    exc->traceback = tb;
    return tb;
}

/* ---- argument checking ---- */

bool asy_check_args_fail(AsyVM *vm, const char *fname, int argc, int min, int max) {
    if (argc >= min && (max < 0 || argc <= max)) return true;
    if (min == 0 && max == 0) {
        asy_raise(vm, ASY_EXC_TypeError, "%s() takes no arguments (%d given)", fname, argc);
    } else if (min == 1 && max == 1) {
        asy_raise(vm, ASY_EXC_TypeError, "%s() takes exactly one argument (%d given)", fname,
                  argc);
    } else {
        int n = argc < min ? min : max;
        const char *how = min == max ? "" : argc < min ? "at least " : "at most ";
        asy_raise(vm, ASY_EXC_TypeError, "%s expected %s%d argument%s, got %d", fname, how, n,
                  n == 1 ? "" : "s", argc);
    }
    return false;
}

bool asy_check_nokw(AsyVM *vm, const char *fname, AsyDict *kw) {
    if (!kw || kw->len == 0) return true;
    asy_raise(vm, ASY_EXC_TypeError, "%s() takes no keyword arguments", fname);
    return false;
}

AsyValue asy_kwarg(AsyVM *vm, AsyDict *kw, const char *name) {
    if (!kw || kw->len == 0) return ASY_UNDEF;
    AsyStr *key = asy_str_intern_cstr(vm, name);
    AsyValue v = asy_dict_get_str(vm, kw, key);
    if (!ASY_IS_UNDEF(v)) asy_dict_del(vm, kw, ASY_OBJ(key));
    return v;
}

bool asy_check_kw_done(AsyVM *vm, const char *fname, AsyDict *kw) {
    if (!kw || kw->len == 0) return true;
    int64_t pos = 0;
    AsyValue k, v;
    asy_dict_next(kw, &pos, &k, &v);
    asy_raise(vm, ASY_EXC_TypeError, "'%S' is an invalid keyword argument for %s()", k, fname);
    return false;
}

/* ---- BaseException's behaviour ---- */

static AsyValue exc_args_str(AsyVM *vm, AsyException *e) {
    int64_t n = e->args ? e->args->len : 0;
    if (n == 0) return ASY_OBJ(vm->empty_str);
    if (n == 1) return asy_str(vm, e->args->items[0]);
    return asy_str(vm, ASY_OBJ(e->args));
}

static AsyValue dict_attr(AsyVM *vm, AsyException *e, const char *name) {
    if (!e->dict) return ASY_UNDEF;
    return asy_dict_get_cstr(vm, e->dict, name);
}

/* An OSError's errno (i 0) or strerror (i 1): set by the constructor or assigned. */
static AsyValue oserror_field(AsyVM *vm, AsyException *e, int i) {
    AsyValue v = dict_attr(vm, e, i == 0 ? "errno" : "strerror");
    if (!ASY_IS_UNDEF(v)) return v;
    if (ASY_IS_OBJ(e->extra)) return ((AsyTuple *)ASY_AS_OBJ(e->extra))->items[i];
    return ASY_NONE;
}

/* CPython's OSError_str; UNDEF when errno and strerror were not given. */
static AsyValue exc_str_oserror(AsyVM *vm, AsyException *e) {
    AsyValue fname = dict_attr(vm, e, "filename"), fname2 = dict_attr(vm, e, "filename2");
    AsyValue no = oserror_field(vm, e, 0), msg = oserror_field(vm, e, 1);
    if (!ASY_IS_UNDEF(fname) && !ASY_IS_UNDEF(fname2))
        return ASY_OBJ(exc_format(vm, "[Errno %S] %S: %R -> %R", no, msg, fname, fname2));
    if (!ASY_IS_UNDEF(fname)) return ASY_OBJ(exc_format(vm, "[Errno %S] %S: %R", no, msg, fname));
    if (!ASY_IS_NONE(no) && !ASY_IS_NONE(msg))
        return ASY_OBJ(exc_format(vm, "[Errno %S] %S", no, msg));
    return ASY_UNDEF;
}

/* UnicodeEncodeError/UnicodeDecodeError from (encoding, object, start, end, reason). */
static AsyValue exc_str_unicode(AsyVM *vm, AsyException *e, bool encode) {
    AsyValue *a = e->args->items;
    int64_t start, end;
    if (!ASY_IS_INT(a[2]) || !ASY_IS_INT(a[3]) || !ASY_IS_OBJ(a[1])) return exc_args_str(vm, e);
    start = ASY_AS_INT(a[2]);
    end = ASY_AS_INT(a[3]);
    const char *what = encode ? "encode" : "decode";
    if (end != start + 1 || start < 0)
        return ASY_OBJ(exc_format(vm, "'%S' codec can't %s %s in position %lld-%lld: %S", a[0],
                                  what, encode ? "characters" : "bytes", (long long)start,
                                  (long long)end - 1, a[4]));
    char unit[16];
    if (encode) {
        AsyStr *s = (AsyStr *)ASY_AS_OBJ(a[1]);
        if (ASY_AS_OBJ(a[1])->type != ASY_TYPE(vm, str) || (size_t)start >= s->nchars)
            return exc_args_str(vm, e);
        size_t pos = s->ascii ? (size_t)start : asy_utf8_offset(s->data, s->len, (size_t)start);
        uint32_t cp = asy_utf8_next(s->data, &pos);
        snprintf(unit, sizeof unit,
                 cp <= 0xFF ? "'\\x%02x'" : cp <= 0xFFFF ? "'\\u%04x'" : "'\\U%08x'", cp);
        return ASY_OBJ(exc_format(vm, "'%S' codec can't encode character %s in position %lld: %S",
                                  a[0], unit, (long long)start, a[4]));
    }
    AsyBytes *b = (AsyBytes *)ASY_AS_OBJ(a[1]);
    if (ASY_AS_OBJ(a[1])->type != ASY_TYPE(vm, bytes) || (size_t)start >= b->len)
        return exc_args_str(vm, e);
    snprintf(unit, sizeof unit, "0x%02x", b->data[start]);
    return ASY_OBJ(exc_format(vm, "'%S' codec can't decode byte %s in position %lld: %S", a[0],
                              unit, (long long)start, a[4]));
}

/* CPython's SyntaxError_str: the msg, then the file's base name and the line when they are
 * a str and an int. */
static AsyValue exc_str_syntax(AsyVM *vm, AsyException *e) {
    AsyValue msg = dict_attr(vm, e, "msg"), file = dict_attr(vm, e, "filename");
    AsyValue line = dict_attr(vm, e, "lineno");
    if (ASY_IS_UNDEF(msg)) msg = ASY_NONE;
    const char *base = NULL;
    if (!ASY_IS_UNDEF(file) && asy_isinstance(vm, file, ASY_TYPE(vm, str))) {
        base = ((AsyStr *)ASY_AS_OBJ(file))->data;
        const char *slash = strrchr(base, '/');
        if (slash) base = slash + 1;
    }
    bool has_line = !ASY_IS_UNDEF(line) && ASY_IS_INT(line);
    if (base && has_line)
        return ASY_OBJ(exc_format(vm, "%S (%s, line %lld)", msg, base,
                                  (long long)ASY_AS_INT(line)));
    if (base) return ASY_OBJ(exc_format(vm, "%S (%s)", msg, base));
    if (has_line) return ASY_OBJ(exc_format(vm, "%S (line %lld)", msg, (long long)ASY_AS_INT(line)));
    return asy_str(vm, msg);
}

static AsyValue exc_str_slot(AsyVM *vm, AsyValue self) {
    AsyException *e = exc_of(self);
    AsyType *t = e->hdr.type;
    int64_t n = e->args ? e->args->len : 0;
    if (exc_type_is(vm, t, ASY_EXC_KeyError) && n == 1) return asy_repr(vm, e->args->items[0]);
    if (exc_type_is(vm, t, ASY_EXC_OSError)) {
        AsyValue r = exc_str_oserror(vm, e);
        if (!ASY_IS_UNDEF(r)) return r;
    }
    if (n == 5 && exc_type_is(vm, t, ASY_EXC_UnicodeEncodeError))
        return exc_str_unicode(vm, e, true);
    if (n == 5 && exc_type_is(vm, t, ASY_EXC_UnicodeDecodeError))
        return exc_str_unicode(vm, e, false);
    if (exc_type_is(vm, t, ASY_EXC_SyntaxError)) return exc_str_syntax(vm, e);
    if (exc_type_is(vm, t, ASY_EXC_BaseExceptionGroup) && ASY_IS_OBJ(e->exceptions)) {
        int64_t k = ((AsyTuple *)ASY_AS_OBJ(e->exceptions))->len;
        return ASY_OBJ(exc_format(vm, "%S (%lld sub-exception%s)", e->message, (long long)k,
                                  k == 1 ? "" : "s"));
    }
    return exc_args_str(vm, e);
}

static AsyValue exc_repr_slot(AsyVM *vm, AsyValue self) {
    AsyException *e = exc_of(self);
    const char *name = e->hdr.type->name;
    if (!e->args || e->args->len == 0) return ASY_OBJ(asy_str_printf(vm, "%s()", name));
    if (e->args->len == 1) {
        AsyValue r = asy_repr(vm, e->args->items[0]);
        if (ASY_IS_ERR(r)) return r;
        return ASY_OBJ(exc_format(vm, "%s(%U)", name, (AsyStr *)ASY_AS_OBJ(r)));
    }
    AsyValue r = asy_repr(vm, ASY_OBJ(e->args));
    if (ASY_IS_ERR(r)) return r;
    return ASY_OBJ(exc_format(vm, "%s%U", name, (AsyStr *)ASY_AS_OBJ(r)));
}

/* Attributes stored in struct fields rather than in __dict__. */
static AsyValue exc_getattr_slot(AsyVM *vm, AsyValue self, AsyStr *name) {
    AsyException *e = exc_of(self);
    AsyType *t = e->hdr.type;
    const char *n = name->data;
    if (strcmp(n, "args") == 0) return ASY_OBJ(e->args ? e->args : vm->empty_tuple);
    if (strcmp(n, "__traceback__") == 0) return e->traceback ? ASY_OBJ(e->traceback) : ASY_NONE;
    if (strcmp(n, "__cause__") == 0) return e->cause;
    if (strcmp(n, "__context__") == 0) return e->context;
    if (strcmp(n, "__suppress_context__") == 0) return ASY_BOOL(e->suppress_context);
    if (strcmp(n, "value") == 0 && (exc_type_is(vm, t, ASY_EXC_StopIteration) ||
                                    exc_type_is(vm, t, ASY_EXC_StopAsyncIteration)))
        return e->value;
    if (strcmp(n, "code") == 0 && exc_type_is(vm, t, ASY_EXC_SystemExit)) return e->value;
    if (exc_type_is(vm, t, ASY_EXC_BaseExceptionGroup)) {
        if (strcmp(n, "exceptions") == 0) return e->exceptions;
        if (strcmp(n, "message") == 0) return e->message;
    }
    if (exc_type_is(vm, t, ASY_EXC_OSError) && ASY_IS_OBJ(e->extra) &&
        (strcmp(n, "errno") == 0 || strcmp(n, "strerror") == 0))
        return oserror_field(vm, e, n[0] == 'e' ? 0 : 1);
    if (e->args && e->args->len == 5 && (exc_type_is(vm, t, ASY_EXC_UnicodeEncodeError) ||
                                         exc_type_is(vm, t, ASY_EXC_UnicodeDecodeError))) {
        static const char *const names[] = {"encoding", "object", "start", "end", "reason"};
        for (int i = 0; i < 5; i++)
            if (strcmp(n, names[i]) == 0) return e->args->items[i];
    }
    AsyValue v = vm->types[ASY_TYPE_object]->getattr(vm, self, name);
    if (!ASY_IS_ERR(v) || !asy_exc_matches(vm, ASY_EXC_AttributeError)) return v;
    /* Attributes CPython always has, defaulting to None. */
    static const char *const none_attrs[] = {"errno", "strerror", "filename", "filename2",
                                             "lineno", "offset", "text", "end_offset",
                                             "end_lineno", "msg", "name", "obj", NULL};
    for (int i = 0; none_attrs[i]; i++) {
        if (strcmp(n, none_attrs[i]) == 0 && (exc_type_is(vm, t, ASY_EXC_OSError) ||
                                              exc_type_is(vm, t, ASY_EXC_SyntaxError) ||
                                              exc_type_is(vm, t, ASY_EXC_NameError) ||
                                              exc_type_is(vm, t, ASY_EXC_AttributeError) ||
                                              exc_type_is(vm, t, ASY_EXC_ImportError))) {
            asy_exc_clear(vm);
            return ASY_NONE;
        }
    }
    return v;
}

static int exc_setattr_slot(AsyVM *vm, AsyValue self, AsyStr *name, AsyValue v) {
    AsyException *e = exc_of(self);
    const char *n = name->data;
    if (strcmp(n, "__cause__") == 0) {
        e->cause = ASY_IS_UNDEF(v) ? ASY_NONE : v;
        e->suppress_context = true;
        return 0;
    }
    if (strcmp(n, "__context__") == 0) {
        e->context = ASY_IS_UNDEF(v) ? ASY_NONE : v;
        return 0;
    }
    if (strcmp(n, "__suppress_context__") == 0) {
        int t = asy_truthy(vm, v);
        if (t < 0) return -1;
        e->suppress_context = t;
        return 0;
    }
    if (strcmp(n, "__traceback__") == 0) {
        e->traceback = ASY_IS_OBJ(v) ? (AsyTraceback *)ASY_AS_OBJ(v) : NULL;
        return 0;
    }
    if (strcmp(n, "args") == 0) {
        AsyList *l = asy_list_from_iterable(vm, v);
        if (!l) return -1;
        e->args = asy_tuple_from_array(vm, l->items, l->len);
        return 0;
    }
    return vm->types[ASY_TYPE_object]->setattr(vm, self, name, v);
}

static void exc_traverse(AsyVM *vm, AsyObj *o) {
    AsyException *e = (AsyException *)o;
    asy_gc_mark_obj(vm, (AsyObj *)e->dict);
    asy_gc_mark_obj(vm, (AsyObj *)e->args);
    asy_gc_mark_obj(vm, (AsyObj *)e->traceback);
    asy_gc_mark_value(vm, e->cause);
    asy_gc_mark_value(vm, e->context);
    asy_gc_mark_value(vm, e->value);
    asy_gc_mark_value(vm, e->extra);
    asy_gc_mark_value(vm, e->exceptions);
    asy_gc_mark_value(vm, e->message);
}

static bool exc_check_self(AsyVM *vm, int argc, AsyValue *argv, const char *meth) {
    if (argc >= 1 && asy_isinstance(vm, argv[0], vm->exc_types[ASY_EXC_BaseException]))
        return true;
    asy_raise(vm, ASY_EXC_TypeError,
              "descriptor '%s' requires a 'BaseException' object but received a '%s'", meth,
              argc >= 1 ? asy_type_name(vm, argv[0]) : "nothing");
    return false;
}

static AsyValue exc_m_init(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!exc_check_self(vm, argc, argv, "__init__")) return ASY_ERR;
    AsyException *e = exc_of(argv[0]);
    if (!oserror_ctor(vm, e->hdr.type)) {
        exc_set_args(vm, e, argc - 1, argv + 1);
    } else if (oserror_use_init(vm, e->hdr.type)) { /* else __new__ read them already */
        exc_set_args(vm, e, argc - 1, argv + 1);
        oserror_parse(vm, e, argc - 1, argv + 1);
    }
    if (exc_type_is(vm, e->hdr.type, ASY_EXC_SyntaxError) &&
        !syntaxerror_parse(vm, e, argc - 1, argv + 1))
        return ASY_ERR;
    return ASY_NONE;
}

static AsyValue exc_m_str(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!exc_check_self(vm, argc, argv, "__str__")) return ASY_ERR;
    return exc_str_slot(vm, argv[0]);
}

static AsyValue exc_m_repr(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!exc_check_self(vm, argc, argv, "__repr__")) return ASY_ERR;
    return exc_repr_slot(vm, argv[0]);
}

static AsyValue exc_m_with_traceback(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "with_traceback", argc - 1, 1, 1)) return ASY_ERR;
    AsyException *e = exc_of(argv[0]);
    e->traceback = ASY_IS_OBJ(argv[1]) ? (AsyTraceback *)ASY_AS_OBJ(argv[1]) : NULL;
    return argv[0];
}

static AsyValue exc_m_add_note(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "add_note", argc - 1, 1, 1)) return ASY_ERR;
    if (!asy_isinstance(vm, argv[1], ASY_TYPE(vm, str)))
        return asy_raise(vm, ASY_EXC_TypeError, "note must be a str, not '%s'",
                         asy_type_name(vm, argv[1]));
    AsyException *e = exc_of(argv[0]);
    if (!e->dict) e->dict = asy_dict_new(vm);
    AsyValue notes = asy_dict_get_cstr(vm, e->dict, "__notes__");
    if (ASY_IS_UNDEF(notes)) {
        notes = ASY_OBJ(asy_list_new(vm, 1));
        asy_dict_set_cstr(vm, e->dict, "__notes__", notes);
    }
    if (asy_list_append(vm, (AsyList *)ASY_AS_OBJ(notes), argv[1]) < 0) return ASY_ERR;
    return ASY_NONE;
}

/* The attributes asy keeps in an exception's dict that CPython keeps in fields of its own
 * (OSError's, SyntaxError's): not part of the __dict__ state __reduce__ gives. */
static bool exc_field_name(AsyValue k) {
    static const char *const fields[] = {"errno", "strerror", "filename", "filename2",
                                         "characters_written", "msg", "lineno", "offset", "text",
                                         "end_lineno", "end_offset", NULL};
    if (!ASY_IS_OBJ(k)) return false;
    for (int i = 0; fields[i]; i++)
        if (strcmp(((AsyStr *)ASY_AS_OBJ(k))->data, fields[i]) == 0) return true;
    return false;
}

/* The args __reduce__ gives: an OSError's with its file names, as CPython's OSError_reduce. */
static AsyTuple *exc_reduce_args(AsyVM *vm, AsyException *e) {
    AsyTuple *args = e->args ? e->args : asy_tuple_new(vm, 0);
    AsyValue f1 = dict_attr(vm, e, "filename"), f2 = dict_attr(vm, e, "filename2");
    if (!exc_type_is(vm, e->hdr.type, ASY_EXC_OSError) || args->len != 2 || ASY_IS_UNDEF(f1))
        return args;
    AsyValue items[5] = {args->items[0], args->items[1], f1, ASY_NONE, f2};
    return asy_tuple_from_array(vm, items, ASY_IS_UNDEF(f2) ? 3 : 5);
}

/* BaseException.__reduce__(): (type, args), with the instance's __dict__ when it has one. */
static AsyValue exc_m_reduce(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!exc_check_self(vm, argc, argv, "__reduce__")) return ASY_ERR;
    if (argc != 1)
        return asy_raise(vm, ASY_EXC_TypeError,
                         "BaseException.__reduce__() takes no arguments (%d given)", argc - 1);
    AsyException *e = exc_of(argv[0]);
    AsyValue r[3] = {ASY_OBJ(e->hdr.type), ASY_OBJ(exc_reduce_args(vm, e)), ASY_UNDEF};
    asy_root_push(vm, r[1]);
    AsyDict *state = asy_dict_new(vm);
    asy_root_push(vm, ASY_OBJ(state));
    int64_t pos = 0;
    AsyValue k, v;
    bool ok = true;
    while (ok && e->dict && asy_dict_next(e->dict, &pos, &k, &v))
        ok = exc_field_name(k) || asy_dict_set(vm, state, k, v) >= 0;
    r[2] = ASY_OBJ(state);
    AsyValue t = ok ? ASY_OBJ(asy_tuple_from_array(vm, r, state->len ? 3 : 2)) : ASY_ERR;
    asy_root_pop(vm, 2);
    return t;
}

static const AsyMethodDef exc_methods[] = {
    {"__reduce__", exc_m_reduce, 0, "Helper for pickle."},
    {"__init__", exc_m_init, 0, "Initialize self; sets args."},
    {"__str__", exc_m_str, 0, "Return str(self)."},
    {"__repr__", exc_m_repr, 0, "Return repr(self)."},
    {"with_traceback", exc_m_with_traceback, 0, "Set self.__traceback__ to tb; return self."},
    {"add_note", exc_m_add_note, 0, "Add a note to the exception."},
    {NULL, NULL, 0, NULL},
};

/* PySequence_Check: what has __getitem__ and is not a mapping. */
static bool excgroup_is_sequence(AsyVM *vm, AsyValue v) {
    if (!ASY_IS_OBJ(v) || asy_isinstance(vm, v, ASY_TYPE(vm, dict))) return false;
    return !ASY_IS_UNDEF(asy_type_lookup(ASY_AS_OBJ(v)->type, ASY_S(vm, __getitem__)));
}

/* ExceptionGroup(message, exceptions) */
static AsyValue excgroup_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv,
                             AsyDict *kw) {
    if (argc != 2)
        return asy_raise(vm, ASY_EXC_TypeError, "BaseExceptionGroup.__new__() takes exactly 2 "
                                                "arguments (%d given)", argc);
    if (!asy_isinstance(vm, argv[0], ASY_TYPE(vm, str)))
        return asy_raise(vm, ASY_EXC_TypeError,
                         "BaseExceptionGroup.__new__() argument 1 must be str, not %T", argv[0]);
    if (!excgroup_is_sequence(vm, argv[1]))
        return asy_raise(vm, ASY_EXC_TypeError,
                         "second argument (exceptions) must be a sequence");
    AsyList *items = asy_list_from_iterable(vm, argv[1]);
    if (!items) return ASY_ERR;
    if (items->len == 0)
        return asy_raise(vm, ASY_EXC_ValueError,
                         "second argument (exceptions) must be a non-empty sequence");
    bool all_exceptions = true;
    for (int64_t i = 0; i < items->len; i++) {
        if (!asy_isinstance(vm, items->items[i], vm->exc_types[ASY_EXC_BaseException]))
            return asy_raise(vm, ASY_EXC_ValueError, "Item %lld of second argument "
                             "(exceptions) is not an exception", (long long)i);
        if (!asy_isinstance(vm, items->items[i], vm->exc_types[ASY_EXC_Exception]))
            all_exceptions = false;
    }
    if (!all_exceptions && asy_is_subtype(type, vm->exc_types[ASY_EXC_Exception])) {
        if (type == vm->exc_types[ASY_EXC_ExceptionGroup])
            return asy_raise(vm, ASY_EXC_TypeError,
                             "Cannot nest BaseExceptions in an ExceptionGroup");
        return asy_raise(vm, ASY_EXC_TypeError, "Cannot nest BaseExceptions in '%s'", type->name);
    }
    /* BaseExceptionGroup of plain Exceptions is an ExceptionGroup, as in CPython. */
    if (type == vm->exc_types[ASY_EXC_BaseExceptionGroup] && all_exceptions)
        type = vm->exc_types[ASY_EXC_ExceptionGroup];
    AsyValue e = exc_new_slot(vm, type, argc, argv, kw);
    exc_of(e)->message = argv[0];
    exc_of(e)->exceptions = ASY_OBJ(asy_tuple_from_array(vm, items->items, items->len));
    return e;
}

static AsyValue excgroup_m_init(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(vm), ASY_UNUSED(argc), ASY_UNUSED(argv), ASY_UNUSED(kw);
    return ASY_NONE; /* __new__ did the work; args stay (message, exceptions) */
}

static const AsyMethodDef excgroup_methods[] = {
    {"__init__", excgroup_m_init, 0, "Initialize self."},
    {NULL, NULL, 0, NULL},
};

static AsyType *exc_make_type(AsyVM *vm, const char *name, AsyType *base) {
    AsyType *t = asy_type_new_builtin(vm, name, base, sizeof(AsyException));
    t->tflags |= ASY_TYPE_EXCEPTION | ASY_TYPE_BASETYPE;
    t->dict_offset = offsetof(AsyException, dict);
    t->new_ = exc_new_slot;
    t->str = exc_str_slot;
    t->repr = exc_repr_slot;
    t->getattr = exc_getattr_slot;
    t->setattr = exc_setattr_slot;
    t->traverse = exc_traverse;
    return t;
}

static const char *const exc_names[] = {
#define ASY_X_NAME(n, b) #n,
    ASY_EXCEPTIONS(ASY_X_NAME)
#undef ASY_X_NAME
};

/* The exceptions with their own instance struct in CPython: what decides __base__ and
 * lay-out conflicts among exception bases (OSError wins over ValueError; OSError and
 * AttributeError cannot be combined). */
static void mark_solid(AsyVM *vm) {
    static const AsyExcId solid[] = {
        ASY_EXC_SystemExit,         ASY_EXC_BaseExceptionGroup, ASY_EXC_StopIteration,
        ASY_EXC_AttributeError,     ASY_EXC_ImportError,        ASY_EXC_NameError,
        ASY_EXC_OSError,            ASY_EXC_SyntaxError,        ASY_EXC_UnicodeDecodeError,
        ASY_EXC_UnicodeEncodeError,
    };
    for (size_t i = 0; i < sizeof solid / sizeof solid[0]; i++)
        vm->exc_types[solid[i]]->tflags |= ASY_TYPE_SOLID;
}

void asy_exception_init(AsyVM *vm) {
    const AsyExcId bases[] = {
#define ASY_X_BASE(n, b) ASY_EXC_##b,
        ASY_EXCEPTIONS(ASY_X_BASE)
#undef ASY_X_BASE
    };
    for (int i = 0; i < ASY_EXC_COUNT; i++) {
        AsyType *base = i == ASY_EXC_BaseException ? ASY_TYPE(vm, object)
                                                   : vm->exc_types[bases[i]];
        vm->exc_types[i] = exc_make_type(vm, exc_names[i], base);
        if (i == ASY_EXC_BaseException) asy_type_add_methods(vm, vm->exc_types[i], exc_methods);
        /* exc_make_type gave every type exc_new_slot: both groups need their own. */
        if (i == ASY_EXC_BaseExceptionGroup || i == ASY_EXC_ExceptionGroup)
            vm->exc_types[i]->new_ = excgroup_new;
        if (i == ASY_EXC_BaseExceptionGroup) {
            asy_type_add_methods(vm, vm->exc_types[i], excgroup_methods);
            asy_excgroup_add_methods(vm, vm->exc_types[i]);
        }
        asy_type_ready(vm, vm->exc_types[i]);
    }
    mark_solid(vm);
    /* class ExceptionGroup(BaseExceptionGroup, Exception) */
    AsyType *eg_bases[] = {vm->exc_types[ASY_EXC_BaseExceptionGroup],
                           vm->exc_types[ASY_EXC_Exception]};
    asy_mro_set_bases(vm, vm->exc_types[ASY_EXC_ExceptionGroup], eg_bases, 2);
    /* CPython's home of these two, as tracebacks print it. */
    AsyStr *mod = asy_str_intern_cstr(vm, "asyncio.exceptions");
    vm->exc_types[ASY_EXC_CancelledError]->module = mod;
    vm->exc_types[ASY_EXC_InvalidStateError]->module = mod;
}

/* Exceptions that live in the builtins module (CancelledError and InvalidStateError
 * belong to asyncio). */
void asy_exception_register_builtins(AsyVM *vm, AsyDict *builtins) {
    for (int i = 0; i < ASY_EXC_COUNT; i++) {
        if (i == ASY_EXC_CancelledError || i == ASY_EXC_InvalidStateError) continue;
        asy_dict_set_cstr(vm, builtins, exc_names[i], ASY_OBJ(vm->exc_types[i]));
    }
    /* Aliases CPython keeps. */
    asy_dict_set_cstr(vm, builtins, "EnvironmentError", ASY_OBJ(vm->exc_types[ASY_EXC_OSError]));
    asy_dict_set_cstr(vm, builtins, "IOError", ASY_OBJ(vm->exc_types[ASY_EXC_OSError]));
}

/* ---- OSError from errno ---- */

/* CPython picks the OSError subclass from errno (PEP 3151). */
static AsyExcId oserror_subclass(int err) {
    switch (err) {
    case ENOENT: return ASY_EXC_FileNotFoundError;
    case EEXIST: return ASY_EXC_FileExistsError;
    case EACCES: case EPERM: return ASY_EXC_PermissionError;
    case EISDIR: return ASY_EXC_IsADirectoryError;
    case ENOTDIR: return ASY_EXC_NotADirectoryError;
    case ECHILD: return ASY_EXC_ChildProcessError;
    case EINTR: return ASY_EXC_InterruptedError;
    case ESRCH: return ASY_EXC_ProcessLookupError;
    case ETIMEDOUT: return ASY_EXC_TimeoutError;
    case EPIPE: case ESHUTDOWN: return ASY_EXC_BrokenPipeError;
    case ECONNABORTED: return ASY_EXC_ConnectionAbortedError;
    case ECONNREFUSED: return ASY_EXC_ConnectionRefusedError;
    case ECONNRESET: return ASY_EXC_ConnectionResetError;
    case EAGAIN: case EALREADY: case EINPROGRESS: return ASY_EXC_BlockingIOError;
    default: return ASY_EXC_OSError;
    }
}

AsyValue asy_raise_unicode_error(AsyVM *vm, AsyExcId type, const char *encoding,
                                 AsyValue object, size_t start, size_t end, const char *reason) {
    asy_root_push(vm, object);
    AsyValue args[5] = {ASY_OBJ(asy_str_from_cstr(vm, encoding)), object,
                        ASY_INT((int64_t)start), ASY_INT((int64_t)end), ASY_UNDEF};
    asy_root_push(vm, args[0]);
    args[4] = ASY_OBJ(asy_str_from_cstr(vm, reason));
    asy_root_push(vm, args[4]);
    AsyValue e = exc_new_slot(vm, vm->exc_types[type], 5, args, NULL);
    asy_root_pop(vm, 3);
    if (ASY_IS_ERR(e)) return ASY_ERR;
    vm->exc = exc_of(e);
    return ASY_ERR;
}

AsyValue asy_raise_oserror_value(AsyVM *vm, int err, AsyValue filename) {
    AsyValue args[2] = {ASY_INT(err), ASY_OBJ(asy_str_from_cstr(vm, strerror(err)))};
    AsyValue e = exc_new_slot(vm, vm->exc_types[oserror_subclass(err)], 2, args, NULL);
    if (!ASY_IS_UNDEF(filename)) {
        AsyException *x = exc_of(e);
        x->dict = asy_dict_new(vm);
        asy_dict_set_cstr(vm, x->dict, "filename", filename);
    }
    vm->exc = exc_of(e);
    return ASY_ERR;
}

AsyValue asy_raise_oserror(AsyVM *vm, int err, const char *filename) {
    return asy_raise_oserror_value(
        vm, err, filename ? ASY_OBJ(asy_str_from_cstr(vm, filename)) : ASY_UNDEF);
}
