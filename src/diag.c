/* diag.c - the task dump: what every task of a running program is doing, and where.
 *
 * A task's whole await chain lives on its fiber (fiber.h): the coroutine it runs is the
 * bottom frame, each coroutine it awaits is the frame above, and the top frame is
 * suspended at the AWAIT of the thing the task waits on. So the dump walks the frames
 * and prints them like a traceback, most recent call last, the way a user reads one.
 *
 * Shown at a deadlock (asy_diag_deadlock, called by the loop when nothing can ever wake
 * it), where CPython would hang: the run stops with a RuntimeError that carries the dump.
 * Shown on SIGQUIT under --dump-tasks (asy_diag_signal_dump), and the program goes on.
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "fiber.h"
#include "opcodes.h"
#include "loop.h"
#include "task.h"

/* Line `lineno` of a file, without its indentation; malloc'd, or NULL. */
static char *source_line(const char *file, int lineno) {
    if (!file || file[0] == '<' || lineno < 1) return NULL;
    FILE *f = fopen(file, "rb");
    if (!f) return NULL;
    char buf[1024];
    char *out = NULL;
    for (int n = 1; fgets(buf, sizeof buf, f); n++) {
        if (n < lineno) continue;
        char *p = buf + strspn(buf, " \t\f");
        size_t len = strcspn(p, "\r\n");
        out = strndup(p, len);
        break;
    }
    fclose(f);
    return out;
}

/* The frames of the drivers of `asy test` and the REPL are not the user's. */
static bool hidden_file(const char *file) {
    return strcmp(file, "<asy test>") == 0 || strcmp(file, "<asy repl>") == 0;
}

/* The instruction a frame is at: a suspended frame re-executes its AWAIT (pc points at
 * it), any other frame has gone past the call or instruction it is in. */
static int32_t frame_pc(const AsyFrame *fr) {
    AsyCode *code = fr->code;
    int32_t pc = fr->pc < code->ncode ? fr->pc : code->ncode - 1;
    if (pc < 0) return pc;
    uint32_t op = ASY_OP(code->code[pc]);
    if (op != ASY_OP_AWAIT && op != ASY_OP_YIELD_FROM && pc > 0) pc--;
    return pc;
}

/* One frame as a traceback shows it, `indent` deep: File "...", line N, in name, and
 * the line's source below. */
static void print_frame(FILE *out, const AsyFrame *fr, int indent) {
    AsyCode *code = fr->code;
    const char *file = code->filename ? code->filename->data : "<unknown>";
    if (hidden_file(file)) return;
    int32_t pc = frame_pc(fr);
    int line = pc >= 0 ? code->locs[pc].line : code->firstline;
    fprintf(out, "%*sFile \"%s\", line %d, in %s\n", indent, "", file, line,
            code->name ? code->name->data : "?");
    char *src = source_line(file, line);
    if (src && *src) fprintf(out, "%*s%s\n", indent + 2, "", src);
    free(src);
}

static void dump_frame(FILE *out, const AsyFrame *fr) { print_frame(out, fr, 4); }

static const char *task_state(const AsyTask *t, const AsyLoop *L) {
    if (t == L->current) return "running";
    if (t->fut.state != ASY_FUT_PENDING) return "done";
    if (t->num_cancels > 0 || t->must_cancel) return "cancelling";
    AsyFiber view;
    const AsyFiber *f = asy_task_fiber_view(t, &view);
    if (!f || f->state == ASY_FIBER_NEW) return "not started";
    return "waiting";
}

/* What the task waits on: "Event.wait()", a future's repr, or NULL. */
static void print_wait(AsyVM *vm, FILE *out, AsyTask *t) {
    if (asy_task_native_wait(t) && asy_task_native_wait(t)->type == ASY_AIO_TYPE(vm, Op)) {
        fprintf(out, " on %s()", ((AsyOp *)asy_task_native_wait(t))->name);
        return;
    }
    AsyObj *f = asy_task_fut_waiter(t) ? &asy_task_fut_waiter(t)->hdr : asy_task_native_wait(t);
    if (!f) return;
    AsyValue r = asy_repr(vm, ASY_OBJ(f));
    if (ASY_IS_ERR(r)) {
        asy_exc_clear(vm);
        return;
    }
    fprintf(out, " on %s", ((AsyStr *)ASY_AS_OBJ(r))->data);
}

static void dump_task(AsyVM *vm, FILE *out, AsyTask *t) {
    AsyLoop *L = vm->loop;
    const char *name = "?";
    if (asy_task_name(t) && asy_task_name(t)->type == ASY_TYPE(vm, str)) name = ((AsyStr *)asy_task_name(t))->data;
    if (!asy_task_name(t)) fprintf(out, "Task-%lld", (long long)t->num);
    else fprintf(out, "%s", name);
    fprintf(out, "%s: %s", t == L->main_task ? " (main)" : "", task_state(t, L));
    print_wait(vm, out, t);
    fputc('\n', out);
    if (asy_task_created_at(t)) fprintf(out, "  created at %s\n", asy_task_created_at(t)->data);
    AsyFiber view;
    const AsyFiber *f = asy_task_fiber_view(t, &view);
    AsyCode *code = asy_task_code(t);
    if (!f || f->nframes == 0) {
        if (code)
            fprintf(out, "    %s(), defined at %s:%d\n", code->qualname->data,
                    code->filename ? code->filename->data : "?", code->firstline);
        return;
    }
    for (int32_t i = 0; i < f->nframes; i++) dump_frame(out, &f->frames[i]);
}

void asy_diag_dump_tasks(AsyVM *vm, FILE *out) {
    AsyLoop *L = vm->loop;
    if (!L) return;
    /* L->tasks is newest first: print in creation order, as a reader expects */
    asy_task_list_prune(L);
    int64_t n = 0;
    for (AsyTask *t = L->tasks; t; t = t->anext) n++;
    AsyTask **order = malloc((size_t)(n ? n : 1) * sizeof *order);
    if (!order) return;
    int64_t i = n;
    for (AsyTask *t = L->tasks; t; t = t->anext) order[--i] = t;
    for (i = 0; i < n; i++) asy_root_push(vm, ASY_OBJ(order[i]));
    for (i = 0; i < n; i++) dump_task(vm, out, order[i]);
    asy_root_pop(vm, (size_t)n);
    free(order);
    fflush(out);
}

void asy_diag_signal_dump(AsyVM *vm) {
    vm->dump_pending = 0;
    fflush(vm->out ? vm->out : stdout);
    FILE *err = vm->err ? vm->err : stderr;
    AsyLoop *L = vm->loop;
    if (L && L->running) {
        fprintf(err, "asy: task dump (SIGQUIT), %lld unfinished task%s:\n",
                (long long)L->ntasks, L->ntasks == 1 ? "" : "s");
        asy_diag_dump_tasks(vm, err);
    } else {
        /* No event loop runs: the program's own stack is what there is to see. */
        fputs("asy: task dump (SIGQUIT): no event loop is running; the program is at:\n", err);
        AsyFiber *f = vm->fiber;
        for (int32_t i = 0; f && i < f->nframes; i++) dump_frame(err, &f->frames[i]);
    }
    fputs("asy: end of task dump\n", err);
    fflush(err);
}

double asy_diag_blocking_begin(AsyVM *vm) {
    AsyLoop *L = vm->loop;
    return L && L->debug && L->running ? asy_loop_time() : -1;
}

void asy_diag_blocking_end(AsyVM *vm, const char *what, double t0) {
    AsyLoop *L = vm->loop;
    if (t0 < 0 || !L) return;
    double dt = asy_loop_time() - t0;
    if (dt <= L->block_dt) return;
    AsyFiber *f = vm->fiber;
    if (!f || f->nframes == 0) return;
    const AsyFrame *fr = &f->frames[f->nframes - 1];
    AsyCode *code = fr->code;
    int32_t pc = frame_pc(fr);
    L->block_dt = dt;
    L->block_what = what;
    snprintf(L->block_file, sizeof L->block_file, "%s",
             code->filename ? code->filename->data : "<unknown>");
    L->block_line = pc >= 0 ? code->locs[pc].line : code->firstline;
}

void asy_diag_report_blocking(AsyVM *vm) {
    AsyLoop *L = vm->loop;
    if (L->block_dt <= 0) return;
    FILE *err = vm->err ? vm->err : stderr;
    fprintf(err, "  blocking call: %s at %s:%d took %.3f seconds\n", L->block_what, L->block_file,
            L->block_line, L->block_dt);
    char *src = source_line(L->block_file, L->block_line);
    if (src && *src) fprintf(err, "    %s\n", src);
    free(src);
    fflush(err);
    L->block_dt = 0;
}

/* "Coroutine created at (most recent call last)" and the frames that made it, as
 * CPython's origin tracking shows them (the program's frames, then the running task's);
 * malloc'd, or NULL. */
static char *creation_traceback(AsyVM *vm) {
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out) return NULL;
    fputs("Coroutine created at (most recent call last)\n", out);
    AsyFiber *fibers[2] = {vm->main_fiber, vm->fiber};
    for (int k = vm->fiber == vm->main_fiber ? 1 : 0; k < 2; k++) {
        AsyFiber *f = fibers[k];
        for (int32_t i = 0; f && i < f->nframes; i++) print_frame(out, &f->frames[i], 2);
    }
    fclose(out);
    return text;
}

void asy_diag_running_line(AsyVM *vm, AsyStr **file, int32_t *line) {
    AsyFiber *f = vm->fiber;
    if (!f || f->nframes == 0) return;
    const AsyFrame *fr = &f->frames[f->nframes - 1];
    AsyCode *code = fr->code;
    if (!code->filename || code->ncode == 0) return;
    int32_t pc = fr->pc > 0 ? fr->pc - 1 : 0;
    if (pc >= code->ncode) pc = code->ncode - 1;
    *file = code->filename;
    *line = code->locs[pc].line;
}

void asy_diag_coroutine_created(AsyVM *vm, AsyGenerator *g) {
    AsyLoop *L = vm->loop;
    if (ASY_UNLIKELY(L && L->debug && L->running) && asy_gen_extra(vm, g))
        g->extra->origin = creation_traceback(vm);
}

void asy_diag_deadlock(AsyVM *vm) {
    AsyLoop *L = vm->loop;
    /* The dump goes into the message, so it is wherever the error is reported: the
     * traceback on stderr, or the failure report of `asy test`. */
    char *dump = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&dump, &len);
    if (f) {
        fputs("deadlock: every task is waiting and nothing can wake one (no timer is set, "
              "no I/O is watched). The tasks:\n", f);
        asy_diag_dump_tasks(vm, f);
        fclose(f);
    }
    if (len > 0 && dump[len - 1] == '\n') dump[--len] = '\0';
    AsyStr *s = asy_str_new(vm, dump ? dump : "deadlock", dump ? len : 8);
    free(dump);
    AsyValue msg = s ? ASY_OBJ(s) : ASY_NONE;
    AsyValue e = asy_exc_new(vm, vm->exc_types[ASY_EXC_RuntimeError], 1, &msg);
    if (ASY_IS_ERR(e)) {
        e = ASY_OBJ(vm->exc);
        asy_exc_clear(vm);
    }
    if (!L->fatal) L->fatal = (AsyException *)ASY_AS_OBJ(e);
}
