/* builtins.c - the builtins module: the built-in functions (print, len, isinstance, min,
 * sorted, ...) and the names of the built-in types. Exception classes are added by
 * exception.c; arithmetic helpers (divmod, pow, abs, round) live in number.c.
 *
 * Every function follows CPython 3.11's argument rules and error messages.
 */
#include "common.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "number.h"
#include "vm.h"

/* ---- helpers ---- */

static bool is_str(AsyVM *vm, AsyValue v) { return asy_isinstance(vm, v, ASY_TYPE(vm, str)); }

static bool is_type(AsyVM *vm, AsyValue v) {
    return ASY_IS_OBJ(v) && asy_is_subtype(ASY_AS_OBJ(v)->type, ASY_TYPE(vm, type));
}

static AsyStr *as_str(AsyValue v) { return (AsyStr *)ASY_AS_OBJ(v); }

static bool no_kw(AsyVM *vm, const char *name, AsyDict *kw) { return asy_check_nokw(vm, name, kw); }

/* The attribute-name argument of getattr & co. */
static AsyStr *attr_name(AsyVM *vm, AsyValue v) {
    if (is_str(vm, v)) return as_str(v);
    asy_raise(vm, ASY_EXC_TypeError, "attribute name must be string, not '%s'",
              asy_type_name(vm, v));
    return NULL;
}

/* Reserves n slots on the GC root stack for values held across calls into asy code;
 * returns the index of the first (the stack may move, so index it each time). */
static size_t roots_reserve(AsyVM *vm, size_t n) {
    size_t base = vm->nroots;
    for (size_t i = 0; i < n; i++)
        asy_root_push(vm, ASY_NONE);
    return base;
}

/* ---- output and input ---- */

/* s to the real stdout, whose error handler is surrogateescape as CPython's. */
static bool write_out(AsyVM *vm, AsyStr *s) {
    if (!asy_str_has_surrogates(s)) {
        fwrite(s->data, 1, s->len, vm->out);
        return true;
    }
    AsyValue b = asy_str_encode(vm, s, "utf-8", "surrogateescape");
    if (ASY_IS_ERR(b)) return false;
    fwrite(((AsyBytes *)ASY_AS_OBJ(b))->data, 1, ((AsyBytes *)ASY_AS_OBJ(b))->len, vm->out);
    return true;
}

static bool write_to(AsyVM *vm, AsyValue file, AsyStr *s) {
    if (ASY_IS_UNDEF(file)) return write_out(vm, s);
    int done = asy_file_write_str(vm, file, s); /* files from open(), sys.stdout... */
    if (done) return done > 0;
    AsyValue arg = ASY_OBJ(s);
    AsyStr *write = asy_str_intern_cstr(vm, "write");
    return !ASY_IS_ERR(asy_call_method(vm, file, write, 1, &arg));
}

/* print() of the values whose text needs no allocation, straight to vm->out: unboxed
 * numbers, None, bools and exact strs. False for anything else. */
static bool print_fast(AsyVM *vm, AsyValue v) {
    char buf[40];
    switch (v.tag) {
    case ASY_T_INT: fprintf(vm->out, "%" PRId64, v.as.i); return true;
    case ASY_T_FLOAT: fwrite(buf, 1, asy_num_float_repr_buf(v.as.f, buf), vm->out); return true;
    case ASY_T_BOOL: fputs(v.as.i ? "True" : "False", vm->out); return true;
    case ASY_T_NONE: fputs("None", vm->out); return true;
    case ASY_T_OBJ:
        if (ASY_AS_OBJ(v)->type != ASY_TYPE(vm, str) || asy_str_has_surrogates(as_str(v)))
            return false;
        fwrite(as_str(v)->data, 1, as_str(v)->len, vm->out);
        return true;
    default: return false;
    }
}

/* print() writes to the real stdout through stdio, unchecked; a write that failed (the
 * reader of a pipe gone: EPIPE, as SIGPIPE is ignored) left the stream's error flag,
 * raised here as CPython raises it (BrokenPipeError), so that the program stops. */
static bool out_check(AsyVM *vm) {
    if (ASY_LIKELY(!ferror(vm->out))) return true;
    int err = errno ? errno : EIO;
    clearerr(vm->out);
    asy_raise_oserror(vm, err, NULL);
    return false;
}

/* A print() keyword that must be None or a str; UNDEF for None/absent. */
static bool print_sep_arg(AsyVM *vm, AsyDict *kw, const char *name, AsyValue *out) {
    AsyValue v = asy_kwarg(vm, kw, name);
    if (ASY_IS_UNDEF(v) || ASY_IS_NONE(v)) {
        *out = ASY_UNDEF;
        return true;
    }
    if (!is_str(vm, v)) {
        asy_raise(vm, ASY_EXC_TypeError, "%s must be None or a string, not %s", name,
                  asy_type_name(vm, v));
        return false;
    }
    *out = v;
    return true;
}

/* print(*args, sep=' ', end='\n', file=None, flush=False) */
static AsyValue bi_print(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    AsyValue sep, end, file = ASY_UNDEF, flush = ASY_UNDEF;
    if (kw && kw->len > 0) {
        if (!print_sep_arg(vm, kw, "sep", &sep) || !print_sep_arg(vm, kw, "end", &end))
            return ASY_ERR;
        file = asy_kwarg(vm, kw, "file");
        if (ASY_IS_NONE(file)) file = ASY_UNDEF;
        flush = asy_kwarg(vm, kw, "flush");
        if (!asy_check_kw_done(vm, "print", kw)) return ASY_ERR;
    } else {
        sep = end = ASY_UNDEF;
    }
    if (ASY_IS_UNDEF(file)) {
        /* UNDEF while sys.stdout is the real stdout (vm->out, written directly). */
        file = asy_file_print_target(vm);
        if (ASY_IS_NONE(file)) return ASY_NONE; /* sys.stdout = None: nothing printed */
    }
    size_t base = roots_reserve(vm, 2);
    vm->roots[base + 1] = file; /* a write() may replace sys.stdout meanwhile */
    bool ok = true;
    for (int i = 0; ok && i < argc; i++) {
        if (i > 0) {
            if (ASY_IS_UNDEF(sep) && ASY_IS_UNDEF(file))
                fputc(' ', vm->out);
            else
                ok = write_to(vm, file,
                              ASY_IS_UNDEF(sep) ? asy_str_intern_cstr(vm, " ") : as_str(sep));
        }
        if (!ok) break;
        if (ASY_IS_UNDEF(file) && print_fast(vm, argv[i])) continue;
        AsyValue s = asy_str(vm, argv[i]);
        if (ASY_IS_ERR(s)) {
            ok = false;
            break;
        }
        vm->roots[base] = s;
        ok = write_to(vm, file, as_str(s));
    }
    if (ok) {
        if (ASY_IS_UNDEF(end) && ASY_IS_UNDEF(file))
            fputc('\n', vm->out);
        else
            ok =
                write_to(vm, file, ASY_IS_UNDEF(end) ? asy_str_intern_cstr(vm, "\n") : as_str(end));
    }
    asy_root_pop(vm, 2);
    if (!ok || (ASY_IS_UNDEF(file) && !out_check(vm))) return ASY_ERR;
    if (!ASY_IS_UNDEF(flush)) {
        int f = asy_truthy(vm, flush);
        if (f < 0) return ASY_ERR;
        if (f && ASY_IS_UNDEF(file)) {
            fflush(vm->out);
            if (!out_check(vm)) return ASY_ERR;
        } else if (f && ASY_IS_ERR(
                            asy_call_method(vm, file, asy_str_intern_cstr(vm, "flush"), 0, NULL))) {
            return ASY_ERR;
        }
    }
    return ASY_NONE;
}

/* input(prompt=''): one line of stdin without its newline. */
static AsyValue bi_input(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!no_kw(vm, "input", kw) || !asy_check_args(vm, "input", argc, 0, 1)) return ASY_ERR;
    if (argc == 1) {
        AsyValue p = asy_str(vm, argv[0]);
        if (ASY_IS_ERR(p)) return p;
        if (!write_out(vm, as_str(p))) return ASY_ERR;
    }
    fflush(vm->out);
    /* sys.stdin.readline(), so input() and sys.stdin share one read buffer. */
    double t0 = asy_diag_blocking_begin(vm);
    AsyValue line = asy_file_stdin_readline(vm);
    asy_diag_blocking_end(vm, "input()", t0);
    if (ASY_IS_ERR(line)) return line;
    if (!is_str(vm, line))
        return asy_raise(vm, ASY_EXC_TypeError, "object.readline() returned non-string");
    AsyStr *s = as_str(line);
    if (s->len == 0) return asy_raise(vm, ASY_EXC_EOFError, "EOF when reading a line");
    if (s->data[s->len - 1] != '\n') return line;
    AsyStr *r = asy_str_new(vm, s->data, s->len - 1);
    return r ? ASY_OBJ(r) : ASY_ERR;
}

/* ---- object protocols ---- */

static AsyValue bi_len(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!no_kw(vm, "len", kw) || !asy_check_args(vm, "len", argc, 1, 1)) return ASY_ERR;
    int64_t n = asy_len(vm, argv[0]);
    return n < 0 ? ASY_ERR : ASY_INT(n);
}

static AsyValue bi_repr(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!no_kw(vm, "repr", kw) || !asy_check_args(vm, "repr", argc, 1, 1)) return ASY_ERR;
    return asy_repr(vm, argv[0]);
}

/* Decodes one UTF-8 sequence (valid by the str invariant); returns its length. */
static int utf8_decode(const unsigned char *p, uint32_t *cp) {
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    if (p[0] < 0xE0) {
        *cp = ((uint32_t)(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
        return 2;
    }
    if (p[0] < 0xF0) {
        *cp = ((uint32_t)(p[0] & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
        return 3;
    }
    *cp = ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) |
          ((uint32_t)(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
    return 4;
}

/* ascii(x): repr(x) with non-ASCII characters as \x, \u or \U escapes. */
static AsyValue bi_ascii(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!no_kw(vm, "ascii", kw) || !asy_check_args(vm, "ascii", argc, 1, 1)) return ASY_ERR;
    AsyValue r = asy_repr(vm, argv[0]);
    if (ASY_IS_ERR(r) || as_str(r)->ascii) return r;
    AsyStr *s = as_str(r);
    AsyStrBuf b;
    asy_strbuf_init(&b);
    for (size_t i = 0; i < s->len;) {
        uint32_t cp;
        i += (size_t)utf8_decode((const unsigned char *)s->data + i, &cp);
        if (cp < 0x80) {
            char c = (char)cp;
            asy_strbuf_append(vm, &b, &c, 1);
        } else if (cp < 0x100) {
            asy_strbuf_printf(vm, &b, "\\x%02x", cp);
        } else if (cp < 0x10000) {
            asy_strbuf_printf(vm, &b, "\\u%04x", cp);
        } else {
            asy_strbuf_printf(vm, &b, "\\U%08x", cp);
        }
    }
    AsyStr *out = asy_strbuf_finish(vm, &b);
    return out ? ASY_OBJ(out) : ASY_ERR;
}

static AsyValue bi_hash(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!no_kw(vm, "hash", kw) || !asy_check_args(vm, "hash", argc, 1, 1)) return ASY_ERR;
    int64_t h;
    if (!asy_hash(vm, argv[0], &h)) return ASY_ERR;
    return ASY_INT(h);
}

/* id(x): the address for objects; unboxed values get a stable number of their own. */
static AsyValue bi_id(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!no_kw(vm, "id", kw) || !asy_check_args(vm, "id", argc, 1, 1)) return ASY_ERR;
    AsyValue v = argv[0];
    if (ASY_IS_OBJ(v)) return ASY_INT((int64_t)(uintptr_t)ASY_AS_OBJ(v));
    uint64_t x = (uint64_t)v.as.i * 0x9E3779B97F4A7C15u + (uint64_t)v.tag;
    return ASY_INT((int64_t)(x >> 1) | 1); /* odd: never an object's (aligned) address */
}

static AsyValue bi_callable(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!no_kw(vm, "callable", kw) || !asy_check_args(vm, "callable", argc, 1, 1)) return ASY_ERR;
    return ASY_BOOL(asy_callable(vm, argv[0]));
}

/* format(value, format_spec='') */
static AsyValue bi_format(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!no_kw(vm, "format", kw) || !asy_check_args(vm, "format", argc, 1, 2)) return ASY_ERR;
    AsyStr *spec = vm->empty_str;
    if (argc == 2) {
        if (!is_str(vm, argv[1]))
            return asy_raise(vm, ASY_EXC_TypeError, "format() argument 2 must be str, not %s",
                             asy_type_name(vm, argv[1]));
        spec = as_str(argv[1]);
    }
    return asy_format(vm, argv[0], spec);
}

/* ---- attributes ---- */

static AsyValue bi_getattr(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!no_kw(vm, "getattr", kw) || !asy_check_args(vm, "getattr", argc, 2, 3)) return ASY_ERR;
    AsyStr *name = attr_name(vm, argv[1]);
    if (!name) return ASY_ERR;
    if (argc == 2) {
        AsyValue v = asy_getattr(vm, argv[0], name);
        if (ASY_IS_ERR(v)) asy_attribute_error_context(vm, argv[0], name);
        return v;
    }
    AsyValue v = asy_getattr_opt(vm, argv[0], name);
    return ASY_IS_UNDEF(v) ? argv[2] : v;
}

static AsyValue bi_hasattr(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!no_kw(vm, "hasattr", kw) || !asy_check_args(vm, "hasattr", argc, 2, 2)) return ASY_ERR;
    AsyStr *name = attr_name(vm, argv[1]);
    if (!name) return ASY_ERR;
    AsyValue v = asy_getattr_opt(vm, argv[0], name);
    if (ASY_IS_ERR(v)) return v;
    return ASY_BOOL(!ASY_IS_UNDEF(v));
}

static AsyValue bi_setattr(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!no_kw(vm, "setattr", kw) || !asy_check_args(vm, "setattr", argc, 3, 3)) return ASY_ERR;
    AsyStr *name = attr_name(vm, argv[1]);
    if (!name || asy_setattr(vm, argv[0], name, argv[2]) < 0) return ASY_ERR;
    return ASY_NONE;
}

static AsyValue bi_delattr(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!no_kw(vm, "delattr", kw) || !asy_check_args(vm, "delattr", argc, 2, 2)) return ASY_ERR;
    AsyStr *name = attr_name(vm, argv[1]);
    if (!name || asy_delattr(vm, argv[0], name) < 0) return ASY_ERR;
    return ASY_NONE;
}

/* ---- types ---- */

/* isinstance/issubclass against a type or a (nested) tuple of types: 1, 0, or -1 when
 * cls is neither. */
static int matches_class(AsyVM *vm, AsyType *t, AsyValue cls, int depth) {
    if (is_type(vm, cls)) return asy_is_subtype(t, (AsyType *)ASY_AS_OBJ(cls));
    if (!ASY_IS_OBJ(cls) || !asy_isinstance(vm, cls, ASY_TYPE(vm, tuple)) ||
        depth > ASY_MAX_C_DEPTH)
        return -1;
    AsyTuple *tup = (AsyTuple *)ASY_AS_OBJ(cls);
    for (int64_t i = 0; i < tup->len; i++) {
        int r = matches_class(vm, t, tup->items[i], depth + 1);
        if (r != 0) return r;
    }
    return 0;
}

static AsyValue bi_isinstance(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!no_kw(vm, "isinstance", kw) || !asy_check_args(vm, "isinstance", argc, 2, 2))
        return ASY_ERR;
    int r = matches_class(vm, asy_type_of(vm, argv[0]), argv[1], 0);
    if (r < 0)
        return asy_raise(vm, ASY_EXC_TypeError,
                         "isinstance() arg 2 must be a type, a tuple of types, or a union");
    return ASY_BOOL(r);
}

static AsyValue bi_issubclass(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!no_kw(vm, "issubclass", kw) || !asy_check_args(vm, "issubclass", argc, 2, 2))
        return ASY_ERR;
    if (!is_type(vm, argv[0]))
        return asy_raise(vm, ASY_EXC_TypeError, "issubclass() arg 1 must be a class");
    int r = matches_class(vm, (AsyType *)ASY_AS_OBJ(argv[0]), argv[1], 0);
    if (r < 0)
        return asy_raise(vm, ASY_EXC_TypeError,
                         "issubclass() arg 2 must be a class, a tuple "
                         "of classes, or a union");
    return ASY_BOOL(r);
}

/* ---- iteration ---- */

static AsyValue bi_iter(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!no_kw(vm, "iter", kw) || !asy_check_args(vm, "iter", argc, 1, 2)) return ASY_ERR;
    if (argc == 1) return asy_iter(vm, argv[0]);
    if (!asy_callable(vm, argv[0]))
        return asy_raise(vm, ASY_EXC_TypeError, "iter(v, w): v must be callable");
    return asy_calliter_new(vm, argv[0], argv[1]);
}

/* next(it[, default]). Generators and user iterators go through __next__ itself, so
 * that the StopIteration they raise (with its value) is the one that propagates. */
static AsyValue bi_next(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!no_kw(vm, "next", kw) || !asy_check_args(vm, "next", argc, 1, 2)) return ASY_ERR;
    AsyType *t = asy_type_of(vm, argv[0]);
    /* their __next__ raises StopIteration(value): the iterator's return value */
    if ((t->tflags & ASY_TYPE_HEAP) || t == ASY_TYPE(vm, generator) ||
        t == ASY_TYPE(vm, coroutine_wrapper) || t == ASY_TYPE(vm, FutureIter)) {
        AsyValue f = asy_type_lookup(t, ASY_S(vm, __next__));
        if (!ASY_IS_UNDEF(f)) {
            AsyValue r = asy_call_unbound(vm, f, argv[0], t, 0, NULL, NULL);
            if (ASY_IS_ERR(r) && argc == 2 && asy_exc_matches(vm, ASY_EXC_StopIteration)) {
                asy_exc_clear(vm);
                return argv[1];
            }
            return r;
        }
    }
    AsyValue r = asy_next(vm, argv[0]);
    if (!ASY_IS_UNDEF(r)) return r;
    if (argc == 2) return argv[1];
    return asy_raise_value(vm, ASY_OBJ(vm->exc_types[ASY_EXC_StopIteration]));
}

/* aiter(obj): obj.__aiter__(), which must give an async iterator. */
static AsyValue bi_aiter(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!no_kw(vm, "aiter", kw)) return ASY_ERR;
    if (argc != 1)
        return asy_raise(vm, ASY_EXC_TypeError, "aiter() takes exactly one argument (%d given)",
                         argc);
    AsyType *t = asy_type_of(vm, argv[0]);
    AsyValue f = asy_type_lookup(t, ASY_S(vm, __aiter__));
    if (ASY_IS_UNDEF(f))
        return asy_raise(vm, ASY_EXC_TypeError, "'%s' object is not an async iterable", t->name);
    AsyValue it = asy_call_unbound(vm, f, argv[0], t, 0, NULL, NULL);
    if (ASY_IS_ERR(it)) return it;
    AsyType *it_type = asy_type_of(vm, it);
    if (ASY_IS_UNDEF(asy_type_lookup(it_type, ASY_S(vm, __anext__))))
        return asy_raise(vm, ASY_EXC_TypeError, "aiter() returned not an async iterator of type '%s'",
                         it_type->name);
    return it;
}

/* anext(it[, default]) with a default: a coroutine that awaits it.__anext__() and gives
 * the default for StopAsyncIteration (CPython's anext_awaitable does the same). Made by
 * compiling this each time: a default is rare, and nothing is kept. */
static const char anext_default_src[] = "async def anext(awaitable, default):\n"
                                        "    try:\n"
                                        "        return await awaitable\n"
                                        "    except StopAsyncIteration:\n"
                                        "        return default\n";

static AsyValue anext_with_default(AsyVM *vm, AsyValue awaitable, AsyValue dflt) {
    AsyValue f = asy_vm_define(vm, anext_default_src, sizeof anext_default_src - 1, "<anext>",
                               "anext");
    if (ASY_IS_ERR(f)) return f;
    asy_root_push(vm, f);
    AsyValue args[2] = {awaitable, dflt};
    AsyValue r = asy_call(vm, f, 2, args, NULL);
    asy_root_pop(vm, 1);
    return r;
}

/* anext(it[, default]): the awaitable it.__anext__() gives. */
static AsyValue bi_anext(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!no_kw(vm, "anext", kw) || !asy_check_args(vm, "anext", argc, 1, 2)) return ASY_ERR;
    AsyType *t = asy_type_of(vm, argv[0]);
    AsyValue f = asy_type_lookup(t, ASY_S(vm, __anext__));
    if (ASY_IS_UNDEF(f))
        return asy_raise(vm, ASY_EXC_TypeError, "'%s' object is not an async iterator", t->name);
    AsyValue aw = asy_call_unbound(vm, f, argv[0], t, 0, NULL, NULL);
    if (ASY_IS_ERR(aw) || argc == 1) return aw;
    asy_root_push(vm, aw);
    AsyValue r = anext_with_default(vm, aw, argv[1]);
    asy_root_pop(vm, 1);
    return r;
}

/* all() and any(): stop at the first item whose truth is `stop_on`. */
static AsyValue all_any(AsyVM *vm, AsyValue iterable, bool stop_on) {
    AsyValue it = asy_iter(vm, iterable);
    if (ASY_IS_ERR(it)) return it;
    asy_root_push(vm, it);
    AsyValue result = ASY_BOOL(!stop_on);
    for (;;) {
        AsyValue x = asy_next(vm, it);
        if (ASY_IS_UNDEF(x)) break;
        int t = ASY_IS_ERR(x) ? -1 : asy_truthy(vm, x);
        if (t < 0) {
            result = ASY_ERR;
            break;
        }
        if ((bool)t == stop_on) {
            result = ASY_BOOL(stop_on);
            break;
        }
    }
    asy_root_pop(vm, 1);
    return result;
}

static AsyValue bi_all(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!no_kw(vm, "all", kw) || !asy_check_args(vm, "all", argc, 1, 1)) return ASY_ERR;
    return all_any(vm, argv[0], false);
}

static AsyValue bi_any(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!no_kw(vm, "any", kw) || !asy_check_args(vm, "any", argc, 1, 1)) return ASY_ERR;
    return all_any(vm, argv[0], true);
}

/* min() and max(): op is the comparison that makes an item the new best. */
static AsyValue min_max(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw, AsyCmpOp op,
                        const char *name) {
    AsyValue key = asy_kwarg(vm, kw, "key"), dflt = asy_kwarg(vm, kw, "default");
    if (!asy_check_kw_done(vm, name, kw) || !asy_check_args(vm, name, argc, 1, -1)) return ASY_ERR;
    if (argc > 1 && !ASY_IS_UNDEF(dflt))
        return asy_raise(vm, ASY_EXC_TypeError,
                         "Cannot specify a default for %s() with "
                         "multiple positional arguments",
                         name);
    if (ASY_IS_NONE(key)) key = ASY_UNDEF;
    AsyValue seq = argc == 1 ? argv[0] : ASY_OBJ(asy_tuple_from_array(vm, argv, argc));
    size_t base = roots_reserve(vm, 4); /* seq, iterator, best, best's key */
    vm->roots[base] = seq;
    AsyValue it = asy_iter(vm, seq), best = ASY_UNDEF, best_key = ASY_UNDEF, result = ASY_ERR;
    if (ASY_IS_ERR(it)) goto done;
    vm->roots[base + 1] = it;
    for (;;) {
        AsyValue x = asy_next(vm, it);
        if (ASY_IS_ERR(x)) goto done;
        if (ASY_IS_UNDEF(x)) break;
        AsyValue k = x;
        if (!ASY_IS_UNDEF(key)) {
            asy_root_push(vm, x);
            k = asy_call(vm, key, 1, &x, NULL);
            asy_root_pop(vm, 1);
            if (ASY_IS_ERR(k)) goto done;
        }
        int better = 1;
        if (!ASY_IS_UNDEF(best)) {
            asy_root_push(vm, x);
            asy_root_push(vm, k);
            better = asy_compare_bool(vm, k, best_key, op);
            asy_root_pop(vm, 2);
            if (better < 0) goto done;
        }
        if (better) {
            best = vm->roots[base + 2] = x;
            best_key = vm->roots[base + 3] = k;
        }
    }
    if (!ASY_IS_UNDEF(best))
        result = best;
    else if (!ASY_IS_UNDEF(dflt))
        result = dflt;
    else
        asy_raise(vm, ASY_EXC_ValueError, "%s() arg is an empty sequence", name);
done:
    asy_root_pop(vm, 4);
    return result;
}

static AsyValue bi_min(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    return min_max(vm, argc, argv, kw, ASY_CMP_LT, "min");
}

static AsyValue bi_max(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    return min_max(vm, argc, argv, kw, ASY_CMP_GT, "max");
}

/* The running total of sum(): exact int64 and float fast paths, else the + operator. */
static AsyValue sum_add(AsyVM *vm, AsyValue acc, AsyValue x) {
    if (ASY_IS_INT(acc) && ASY_IS_INTLIKE(x)) {
        int64_t r;
        if (!__builtin_add_overflow(acc.as.i, x.as.i, &r)) return ASY_INT(r);
    } else if (ASY_IS_FLOAT(acc) && ASY_IS_FLOAT(x)) {
        return ASY_FLOAT(acc.as.f + x.as.f);
    } else if (ASY_IS_FLOAT(acc) && ASY_IS_INTLIKE(x) && x.as.i < (1LL << 53) &&
               x.as.i > -(1LL << 53)) {
        return ASY_FLOAT(acc.as.f + (double)x.as.i);
    }
    return asy_binop(vm, acc, x, ASY_BIN_ADD);
}

/* sum(iterable, /, start=0) */
static AsyValue bi_sum(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    AsyValue start = asy_kwarg(vm, kw, "start");
    if (!asy_check_kw_done(vm, "sum", kw)) return ASY_ERR;
    if (!asy_check_args(vm, "sum", argc + !ASY_IS_UNDEF(start), 1, 2)) return ASY_ERR;
    if (argc == 2) start = argv[1];
    if (ASY_IS_UNDEF(start)) start = ASY_INT(0);
    if (is_str(vm, start))
        return asy_raise(vm, ASY_EXC_TypeError,
                         "sum() can't sum strings [use ''.join(seq) instead]");
    if (asy_isinstance(vm, start, ASY_TYPE(vm, bytes)))
        return asy_raise(vm, ASY_EXC_TypeError,
                         "sum() can't sum bytes [use b''.join(seq) instead]");
    AsyValue it = asy_iter(vm, argv[0]);
    if (ASY_IS_ERR(it)) return it;
    size_t base = roots_reserve(vm, 2);
    vm->roots[base] = it;
    AsyValue acc = start;
    for (;;) {
        vm->roots[base + 1] = acc;
        AsyValue x = asy_next(vm, it);
        if (ASY_IS_UNDEF(x)) break;
        if (ASY_IS_ERR(x)) {
            acc = x;
            break;
        }
        acc = sum_add(vm, acc, x);
        if (ASY_IS_ERR(acc)) break;
    }
    asy_root_pop(vm, 2);
    return acc;
}

/* sorted(iterable, /, *, key=None, reverse=False) */
static AsyValue bi_sorted(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    AsyValue key = asy_kwarg(vm, kw, "key"), rev = asy_kwarg(vm, kw, "reverse");
    if (!asy_check_kw_done(vm, "sort", kw)) return ASY_ERR;
    if (argc != 1)
        return asy_raise(vm, ASY_EXC_TypeError, "sorted expected 1 argument, got %d", argc);
    int reverse = 0;
    if (!ASY_IS_UNDEF(rev) && (reverse = asy_truthy(vm, rev)) < 0) return ASY_ERR;
    if (ASY_IS_NONE(key)) key = ASY_UNDEF;
    AsyList *l = asy_list_from_iterable(vm, argv[0]);
    if (!l) return ASY_ERR;
    asy_root_push(vm, ASY_OBJ(l));
    int r = asy_list_sort(vm, l, key, reverse);
    asy_root_pop(vm, 1);
    return r < 0 ? ASY_ERR : ASY_OBJ(l);
}

/* ---- numbers and characters ---- */

static AsyValue bi_abs(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!no_kw(vm, "abs", kw) || !asy_check_args(vm, "abs", argc, 1, 1)) return ASY_ERR;
    AsyValue v = argv[0];
    if (ASY_IS_INT(v) && v.as.i != INT64_MIN) return ASY_INT(v.as.i < 0 ? -v.as.i : v.as.i);
    if (ASY_IS_FLOAT(v)) return ASY_FLOAT(v.as.f < 0 ? -v.as.f : v.as.f == 0 ? 0.0 : v.as.f);
    return asy_number_abs(vm, v);
}

static AsyValue bi_divmod(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!no_kw(vm, "divmod", kw) || !asy_check_args(vm, "divmod", argc, 2, 2)) return ASY_ERR;
    return asy_number_divmod(vm, argv[0], argv[1]);
}

/* pow(base, exp, mod=None) */
static AsyValue bi_pow(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    static const char *const names[] = {"base", "exp", "mod"};
    AsyValue a[3] = {ASY_UNDEF, ASY_UNDEF, ASY_NONE};
    if (!asy_check_args(vm, "pow", argc, 0, 3)) return ASY_ERR;
    for (int i = 0; i < argc; i++)
        a[i] = argv[i];
    for (int i = 0; i < 3; i++) {
        AsyValue v = asy_kwarg(vm, kw, names[i]);
        if (ASY_IS_UNDEF(v)) continue;
        if (i < argc)
            return asy_raise(vm, ASY_EXC_TypeError,
                             "argument for pow() given by name ('%s') and position (%d)", names[i],
                             i + 1);
        a[i] = v;
    }
    if (!asy_check_kw_done(vm, "pow", kw)) return ASY_ERR;
    for (int i = 0; i < 2; i++)
        if (ASY_IS_UNDEF(a[i]))
            return asy_raise(vm, ASY_EXC_TypeError, "pow() missing required argument '%s' (pos %d)",
                             names[i], i + 1);
    return asy_number_pow3(vm, a[0], a[1], a[2]);
}

/* round(number, ndigits=None) */
static AsyValue bi_round(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    AsyValue nd = asy_kwarg(vm, kw, "ndigits"), num = asy_kwarg(vm, kw, "number");
    if (!asy_check_kw_done(vm, "round", kw)) return ASY_ERR;
    if (!asy_check_args(vm, "round", argc, 0, 2)) return ASY_ERR;
    if (argc >= 1) num = argv[0];
    if (argc == 2) nd = argv[1];
    if (ASY_IS_UNDEF(num))
        return asy_raise(vm, ASY_EXC_TypeError,
                         "round() missing required argument 'number' (pos 1)");
    if (ASY_IS_NONE(nd)) nd = ASY_UNDEF;
    return asy_number_round(vm, num, nd);
}

static AsyValue bi_chr(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!no_kw(vm, "chr", kw) || !asy_check_args(vm, "chr", argc, 1, 1)) return ASY_ERR;
    int64_t c;
    if (ASY_IS_FLOAT(argv[0]))
        return asy_raise(vm, ASY_EXC_TypeError,
                         "'float' object cannot be interpreted as an "
                         "integer");
    if (!asy_index(vm, argv[0], &c)) {
        if (asy_exc_matches(vm, ASY_EXC_IndexError)) {
            asy_exc_clear(vm);
            return asy_raise(vm, ASY_EXC_OverflowError,
                             "Python int too large to convert to "
                             "C int");
        }
        return ASY_ERR;
    }
    if (c < 0 || c > 0x10FFFF)
        return asy_raise(vm, ASY_EXC_ValueError, "chr() arg not in range(0x110000)");
    char buf[4];
    size_t n;
    if (c < 0x80) {
        buf[0] = (char)c;
        n = 1;
    } else if (c < 0x800) {
        buf[0] = (char)(0xC0 | (c >> 6));
        buf[1] = (char)(0x80 | (c & 0x3F));
        n = 2;
    } else if (c < 0x10000) {
        buf[0] = (char)(0xE0 | (c >> 12));
        buf[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        buf[2] = (char)(0x80 | (c & 0x3F));
        n = 3;
    } else {
        buf[0] = (char)(0xF0 | (c >> 18));
        buf[1] = (char)(0x80 | ((c >> 12) & 0x3F));
        buf[2] = (char)(0x80 | ((c >> 6) & 0x3F));
        buf[3] = (char)(0x80 | (c & 0x3F));
        n = 4;
    }
    AsyStr *s = n == 1 ? asy_str_intern(vm, buf, 1) : asy_str_new(vm, buf, n);
    return s ? ASY_OBJ(s) : ASY_ERR;
}

static AsyValue bi_ord(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!no_kw(vm, "ord", kw) || !asy_check_args(vm, "ord", argc, 1, 1)) return ASY_ERR;
    AsyValue v = argv[0];
    if (is_str(vm, v)) {
        AsyStr *s = as_str(v);
        if (s->nchars != 1)
            return asy_raise(vm, ASY_EXC_TypeError,
                             "ord() expected a character, but string of length %zu found",
                             s->nchars);
        uint32_t cp;
        utf8_decode((const unsigned char *)s->data, &cp);
        return ASY_INT(cp);
    }
    if (asy_isinstance(vm, v, ASY_TYPE(vm, bytes))) {
        AsyBytes *b = (AsyBytes *)ASY_AS_OBJ(v);
        if (b->len != 1)
            return asy_raise(vm, ASY_EXC_TypeError,
                             "ord() expected a character, but string of length %zu found", b->len);
        return ASY_INT(b->data[0]);
    }
    return asy_raise(vm, ASY_EXC_TypeError, "ord() expected string of length 1, but %s found",
                     asy_type_name(vm, v));
}

/* hex(), oct(), bin(): "-0x1f" style, any size of int (or an __index__ object). */
static AsyValue int_to_prefixed(AsyVM *vm, AsyValue v, int base, const char *prefix,
                                const char *fname) {
    ASY_UNUSED(fname);
    if (!asy_is_int(vm, v)) {
        int64_t i;
        if (!asy_index(vm, v, &i)) return ASY_ERR;
        v = ASY_INT(i);
    }
    mpz_t z;
    mpz_init(z);
    asy_int_to_mpz(v, z);
    bool neg = mpz_sgn(z) < 0;
    mpz_abs(z, z);
    size_t n = mpz_sizeinbase(z, base) + 2;
    char *digits = asy_mem_alloc(vm, n);
    if (!digits) {
        mpz_clear(z);
        return ASY_ERR;
    }
    mpz_get_str(digits, base, z);
    mpz_clear(z);
    AsyStr *s = asy_str_printf(vm, "%s%s%s", neg ? "-" : "", prefix, digits);
    asy_mem_free(vm, digits, n);
    return s ? ASY_OBJ(s) : ASY_ERR;
}

static AsyValue bi_hex(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!no_kw(vm, "hex", kw) || !asy_check_args(vm, "hex", argc, 1, 1)) return ASY_ERR;
    return int_to_prefixed(vm, argv[0], 16, "0x", "hex");
}

static AsyValue bi_oct(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!no_kw(vm, "oct", kw) || !asy_check_args(vm, "oct", argc, 1, 1)) return ASY_ERR;
    return int_to_prefixed(vm, argv[0], 8, "0o", "oct");
}

static AsyValue bi_bin(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!no_kw(vm, "bin", kw) || !asy_check_args(vm, "bin", argc, 1, 1)) return ASY_ERR;
    return int_to_prefixed(vm, argv[0], 2, "0b", "bin");
}

/* ---- namespaces ---- */

static AsyValue current_globals(AsyVM *vm) {
    AsyDict *g = asy_vm_globals(vm);
    if (!g && vm->main_module) g = vm->main_module->dict;
    return g ? ASY_OBJ(g) : ASY_OBJ(asy_dict_new(vm));
}

static AsyValue bi_globals(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argv);
    if (!no_kw(vm, "globals", kw) || !asy_check_args(vm, "globals", argc, 0, 0)) return ASY_ERR;
    return current_globals(vm);
}

/* locals(): the module namespace at module level (function locals are not reified). */
static AsyValue bi_locals(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argv);
    if (!no_kw(vm, "locals", kw) || !asy_check_args(vm, "locals", argc, 0, 0)) return ASY_ERR;
    return current_globals(vm);
}

static AsyValue bi_vars(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!no_kw(vm, "vars", kw) || !asy_check_args(vm, "vars", argc, 0, 1)) return ASY_ERR;
    if (argc == 0) return current_globals(vm);
    AsyValue d = asy_getattr_opt(vm, argv[0], ASY_S(vm, __dict__));
    if (ASY_IS_UNDEF(d))
        return asy_raise(vm, ASY_EXC_TypeError, "vars() argument must have __dict__ attribute");
    return d;
}

/* dir(obj): the type's __dir__ (sorted); dir(): the names of the current namespace. */
static AsyValue bi_dir(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!no_kw(vm, "dir", kw) || !asy_check_args(vm, "dir", argc, 0, 1)) return ASY_ERR;
    AsyValue src;
    if (argc == 0) {
        src = current_globals(vm);
    } else {
        AsyType *t = asy_type_of(vm, argv[0]);
        AsyValue f = asy_type_lookup(t, asy_str_intern_cstr(vm, "__dir__"));
        AsyValue base = asy_type_lookup(ASY_TYPE(vm, object), asy_str_intern_cstr(vm, "__dir__"));
        if (ASY_IS_UNDEF(f) || asy_value_is(f, base) || asy_is_subtype(t, ASY_TYPE(vm, type)))
            return asy_object_dir(vm, argv[0]);
        src = asy_call_unbound(vm, f, argv[0], t, 0, NULL, NULL);
        if (ASY_IS_ERR(src)) return src;
    }
    asy_root_push(vm, src);
    AsyList *l = asy_list_from_iterable(vm, src);
    int r = l ? (asy_root_push(vm, ASY_OBJ(l)), asy_list_sort(vm, l, ASY_UNDEF, false)) : -1;
    asy_root_pop(vm, l ? 2 : 1);
    return r < 0 ? ASY_ERR : ASY_OBJ(l);
}

/* exit(code=None) / quit(code=None): raise SystemExit. */
static AsyValue bi_exit(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!no_kw(vm, "exit", kw) || !asy_check_args(vm, "exit", argc, 0, 1)) return ASY_ERR;
    AsyValue e = asy_exc_new(vm, vm->exc_types[ASY_EXC_SystemExit], argc, argv);
    if (ASY_IS_ERR(e)) return e;
    return asy_raise_value(vm, e);
}

static const AsyMethodDef builtin_functions[] = {
    {"abs", bi_abs, 0, "Return the absolute value of the argument."},
    {"all", bi_all, 0, "Return True if bool(x) is True for all values x in the iterable."},
    {"any", bi_any, 0, "Return True if bool(x) is True for any x in the iterable."},
    {"ascii", bi_ascii, 0, "Return an ASCII-only representation of an object."},
    {"bin", bi_bin, 0, "Return the binary representation of an integer."},
    {"callable", bi_callable, 0, "Return whether the object is callable."},
    {"chr", bi_chr, 0, "Return a Unicode string of one character with ordinal i."},
    {"delattr", bi_delattr, 0, "Deletes the named attribute from the given object."},
    {"dir", bi_dir, 0, "Show attributes of an object."},
    {"divmod", bi_divmod, 0, "Return the tuple (x//y, x%y)."},
    {"exit", bi_exit, 0, "Exit the interpreter by raising SystemExit(status)."},
    {"format", bi_format, 0, "Return value.__format__(format_spec)."},
    {"getattr", bi_getattr, 0, "Get a named attribute from an object."},
    {"globals", bi_globals, 0,
     "Return the dictionary containing the current scope's "
     "global variables."},
    {"hasattr", bi_hasattr, 0,
     "Return whether the object has an attribute with the given "
     "name."},
    {"hash", bi_hash, 0, "Return the hash value for the given object."},
    {"hex", bi_hex, 0, "Return the hexadecimal representation of an integer."},
    {"id", bi_id, 0, "Return the identity of an object."},
    {"input", bi_input, 0, "Read a string from standard input."},
    {"isinstance", bi_isinstance, 0, "Return whether an object is an instance of a class."},
    {"issubclass", bi_issubclass, 0, "Return whether 'cls' is derived from another class."},
    {"iter", bi_iter, 0, "Get an iterator from an object."},
    {"len", bi_len, 0, "Return the number of items in a container."},
    {"locals", bi_locals, 0,
     "Return a dictionary containing the current scope's local "
     "variables."},
    {"max", bi_max, 0,
     "Return the largest item in an iterable or the largest of two or "
     "more arguments."},
    {"min", bi_min, 0,
     "Return the smallest item in an iterable or the smallest of two or "
     "more arguments."},
    {"next", bi_next, 0, "Return the next item from the iterator."},
    {"aiter", bi_aiter, 0, "Return an AsyncIterator for an AsyncIterable object."},
    {"anext", bi_anext, 0, "Return the next item from the async iterator."},
    {"oct", bi_oct, 0, "Return the octal representation of an integer."},
    {"open", asy_file_open, 0, "Open file and return a stream (fileobject.c)."},
    {"ord", bi_ord, 0, "Return the Unicode code point for a one-character string."},
    {"pow", bi_pow, 0, "Equivalent to base**exp with 2 arguments or base**exp % mod with 3."},
    {"print", bi_print, 0, "Prints the values to a stream, or to sys.stdout by default."},
    {"quit", bi_exit, 0, "Exit the interpreter by raising SystemExit(status)."},
    {"repr", bi_repr, 0, "Return the canonical string representation of the object."},
    {"round", bi_round, 0, "Round a number to a given precision in decimal digits."},
    {"setattr", bi_setattr, 0,
     "Sets the named attribute on the given object to the "
     "specified value."},
    {"sorted", bi_sorted, 0,
     "Return a new list containing all items from the iterable in "
     "ascending order."},
    {"sum", bi_sum, 0,
     "Return the sum of a 'start' value (default: 0) plus an iterable of "
     "numbers."},
    {"vars", bi_vars, 0, "Show vars."},
    {NULL, NULL, 0, NULL},
};

/* The built-in types by the names scripts use. */
static void register_types(AsyVM *vm, AsyDict *d) {
    static const struct {
        const char *name;
        AsyTypeId id;
    } types[] = {
        {"object", ASY_TYPE_object},
        {"type", ASY_TYPE_type},
        {"int", ASY_TYPE_int},
        {"float", ASY_TYPE_float},
        {"bool", ASY_TYPE_bool},
        {"str", ASY_TYPE_str},
        {"bytes", ASY_TYPE_bytes},
        {"list", ASY_TYPE_list},
        {"tuple", ASY_TYPE_tuple},
        {"dict", ASY_TYPE_dict},
        {"set", ASY_TYPE_set},
        {"frozenset", ASY_TYPE_frozenset},
        {"range", ASY_TYPE_range},
        {"slice", ASY_TYPE_slice},
        {"property", ASY_TYPE_property},
        {"classmethod", ASY_TYPE_classmethod},
        {"staticmethod", ASY_TYPE_staticmethod},
        {"super", ASY_TYPE_super},
        {"enumerate", ASY_TYPE_enumerate},
        {"zip", ASY_TYPE_zip},
        {"map", ASY_TYPE_map},
        {"filter", ASY_TYPE_filter},
        {"reversed", ASY_TYPE_reversed},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (vm->types[types[i].id])
            asy_dict_set_cstr(vm, d, types[i].name, ASY_OBJ(vm->types[types[i].id]));
}

/* Built-in types CPython lets classes derive from; every other one ("type 'bool' is not
 * an acceptable base type") loses ASY_TYPE_BASETYPE here, so their makers need not care. */
static void mark_final_types(AsyVM *vm) {
    static const AsyTypeId bases[] = {
        ASY_TYPE_object,    ASY_TYPE_type,   ASY_TYPE_int,         ASY_TYPE_float,
        ASY_TYPE_str,       ASY_TYPE_bytes,  ASY_TYPE_list,        ASY_TYPE_tuple,
        ASY_TYPE_dict,      ASY_TYPE_set,    ASY_TYPE_frozenset,   ASY_TYPE_property,
        ASY_TYPE_super,     ASY_TYPE_module, ASY_TYPE_classmethod, ASY_TYPE_staticmethod,
        ASY_TYPE_enumerate, ASY_TYPE_zip,    ASY_TYPE_map,         ASY_TYPE_filter,
        ASY_TYPE_reversed,
    };
    for (int i = 0; i < ASY_TYPE_COUNT; i++) {
        if (!vm->types[i]) continue;
        bool base = false;
        for (size_t j = 0; j < sizeof bases / sizeof bases[0]; j++)
            base |= (int)bases[j] == i;
        if (!base) vm->types[i]->tflags &= ~ASY_TYPE_BASETYPE;
    }
}

/* `list.__hash__ is None`, as CPython says of every unhashable built-in type. */
static void mark_unhashable_types(AsyVM *vm) {
    for (int i = 0; i < ASY_TYPE_COUNT; i++) {
        AsyType *t = vm->types[i];
        if (!t || t->hash || !t->dict) continue;
        if (ASY_IS_UNDEF(asy_dict_get_str(vm, t->dict, ASY_S(vm, __hash__))))
            asy_dict_set_str(vm, t->dict, ASY_S(vm, __hash__), ASY_NONE);
    }
}

void asy_builtins_init(AsyVM *vm) {
    mark_final_types(vm);
    mark_unhashable_types(vm);
    ASY_TYPE(vm, GenericAlias)->module = asy_str_intern_cstr(vm, "types");
    AsyModule *m = asy_module_new(vm, "builtins");
    vm->builtins = m;
    asy_module_add_functions(vm, m, builtin_functions);
    register_types(vm, m->dict);
    asy_dict_set_cstr(vm, m->dict, "NotImplemented", ASY_OBJ(vm->not_implemented));
    asy_dict_set_cstr(vm, m->dict, "Ellipsis", ASY_OBJ(vm->ellipsis));
    asy_dict_set_cstr(vm, m->dict, "None", ASY_NONE);
    asy_dict_set_cstr(vm, m->dict, "True", ASY_TRUE);
    asy_dict_set_cstr(vm, m->dict, "False", ASY_FALSE);
    asy_module_register(vm, m);
    asy_type_modified(vm, ASY_TYPE(vm, object)); /* initialisers may have filled type dicts */
}
