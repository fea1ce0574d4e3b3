/* unawaited.c - "RuntimeWarning: coroutine '...' was never awaited": where it is printed
 * and how often.
 *
 * CPython warns when the last reference to a coroutine that never started goes away,
 * naming the line running then: right after a bare `work()` statement, at `del c`, and as
 * "sys:1" for one still referenced at shutdown. Its default filter shows a warning once
 * per (text, place). asy's collector cannot see a last reference go, so it finds the
 * garbage later and names the line that made the coroutine; for the places users meet in
 * the lessons it does as CPython does: an expression statement or a `del` that drops a
 * coroutine never awaited runs a collection there (once per place: the filter would hide
 * a second warning anyway), and at exit a last collection reports the garbage before what
 * is still referenced is reported as "sys:1".
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "generator.h"
#include "task.h"

/* ---- the once-per-place filter ---- */

static uint64_t fnv1a(uint64_t h, const char *s) {
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

static uint64_t place_hash(const char *text, const char *file, int line) {
    char num[16];
    snprintf(num, sizeof num, ":%d", line);
    return fnv1a(fnv1a(fnv1a(14695981039346656037u, text), file), num);
}

static bool shown(AsyVM *vm, uint64_t h) {
    for (size_t i = 0; i < vm->nwarned; i++)
        if (vm->warned[i] == h) return true;
    return false;
}

static void record(AsyVM *vm, uint64_t h) {
    if (vm->nwarned == vm->capwarned) {
        size_t cap = vm->capwarned ? vm->capwarned * 2 : 16;
        uint64_t *w = realloc(vm->warned, cap * sizeof *w);
        if (!w) return;
        vm->warned = w;
        vm->capwarned = cap;
    }
    vm->warned[vm->nwarned++] = h;
}

/* CPython's default filter: true the first time for (text, file, line), and records it. */
static bool warn_first_time(AsyVM *vm, const char *text, const char *file, int line) {
    uint64_t h = place_hash(text, file, line);
    if (shown(vm, h)) return false;
    record(vm, h);
    return true;
}

void asy_unawaited_free(AsyVM *vm) {
    free(vm->warned);
    vm->warned = NULL;
    vm->nwarned = vm->capwarned = 0;
}

/* ---- the warning ---- */

/* Line `line` of `file` without its indentation and newline, into buf ("" if unreadable). */
static void source_line_of(const char *file, int line, char *buf, size_t size) {
    buf[0] = '\0';
    FILE *f = fopen(file, "r");
    if (!f) return;
    for (int n = 1; fgets(buf, (int)size, f); n++) {
        if (n < line) continue;
        size_t start = strspn(buf, " \t\f"), len = strlen(buf);
        while (len > start && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
            len--;
        memmove(buf, buf + start, len - start);
        buf[len - start] = '\0';
        fclose(f);
        return;
    }
    buf[0] = '\0';
    fclose(f);
}

void asy_warn_never_awaited_at(AsyVM *vm, AsyObj *coro, const char *qualname, const char *file,
                               int line, const char *origin) {
    if (coro && coro == vm->unawaited_drop) { /* dropped here (asy_unawaited_dropped) */
        file = vm->unawaited_drop_file->data;
        line = vm->unawaited_drop_line;
        vm->unawaited_drop = NULL;
    } else if (vm->exiting) { /* still referenced at exit: CPython frees it at shutdown */
        file = NULL;
    }
    FILE *err = vm->err ? vm->err : stderr;
    fflush(vm->out ? vm->out : stdout);
    if (!file) {
        if (warn_first_time(vm, qualname, "sys", 1))
            fprintf(err, "sys:1: RuntimeWarning: coroutine '%s' was never awaited\n", qualname);
        fflush(err);
        return;
    }
    /* CPython's filter keys on the whole text, the creation traceback included */
    if (!warn_first_time(vm, origin ? origin : qualname, file, line)) return;
    char src[512];
    source_line_of(file, line, src, sizeof src);
    fprintf(err, "%s:%d: RuntimeWarning: coroutine '%s' was never awaited\n", file, line, qualname);
    if (origin) fputs(origin, err);
    if (src[0]) fprintf(err, "  %s\n", src);
    fputs("RuntimeWarning: Enable tracemalloc to get the object allocation traceback\n", err);
    fflush(err);
}

/* ---- where CPython would warn ---- */

/* The name of a coroutine (of asy code, or asy's own such as sleep's) that would warn if
 * freed now, and its creation traceback (debug mode); NULL for anything else. */
static const char *unawaited_name(AsyVM *vm, AsyObj *o, const char **origin) {
    *origin = NULL;
    if (o->type == ASY_TYPE(vm, coroutine)) return asy_gen_unawaited_name(vm, (AsyGenerator *)o, origin);
    return asy_op_unawaited_name(vm, o);
}

void asy_unawaited_dropped(AsyVM *vm, AsyValue v) {
    if (!ASY_IS_OBJ(v) || vm->gc_disabled) return;
    AsyObj *o = ASY_AS_OBJ(v);
    const char *origin, *name = unawaited_name(vm, o, &origin);
    if (!name) return;
    AsyStr *file = NULL;
    int32_t line = 0;
    asy_diag_running_line(vm, &file, &line);
    if (!file || shown(vm, place_hash(origin ? origin : name, file->data, line))) return;
    /* A place where a collection found the coroutine still referenced (the statement
     * `cache.setdefault(k, work())` returns one the dict holds) is not tried again: a
     * loop over it would collect at every turn. */
    uint64_t tried = place_hash("\1tried", file->data, line);
    if (shown(vm, tried)) return;
    /* Nothing else refers to it in the usual case, and then this collection frees it and
     * its finalizer warns, naming this line (and clears unawaited_drop); else it warns
     * when it is found later. */
    vm->unawaited_drop = o;
    vm->unawaited_drop_file = file;
    vm->unawaited_drop_line = line;
    asy_gc_collect(vm);
    if (vm->unawaited_drop) record(vm, tried);
    vm->unawaited_drop = NULL;
    vm->unawaited_drop_file = NULL;
}

static bool is_unawaited(AsyVM *vm, AsyObj *o) {
    const char *origin;
    return unawaited_name(vm, o, &origin) != NULL;
}

void asy_unawaited_exit(AsyVM *vm) {
    if (vm->exiting) return;
    /* A last collection only when some coroutine was never awaited: it reports the
     * garbage with the places that made it (CPython reported those as they were dropped),
     * and what survives it is still referenced, which CPython frees at shutdown. */
    if (!vm->gc_disabled && asy_gc_any_finalized_at_exit(vm, is_unawaited)) asy_gc_collect(vm);
    vm->exiting = true;
}
