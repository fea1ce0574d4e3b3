/* trace.c - the life of every task, recorded for --trace (Chrome trace-event JSON, which
 * Perfetto and chrome://tracing open) and --timeline (an SVG Gantt chart).
 *
 * The scheduler reports four moments (task.c): a task was created, a step of it began,
 * the step ended (the task now waits on something, or is over), and the program ended.
 * They become, per task: its creation (with the line that made it), "running" slices,
 * "waiting on X" slices between them, and how it ended (finished, failed: Type,
 * cancelled). Everything is kept in plain C memory, never in asy objects, and written
 * once when the program ends.
 */
#include "common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "loop.h"
#include "task.h"
#include "trace.h"

typedef struct {
    int64_t num;          /* the task's number (Task-N)                                */
    char *name;           /* its name when last seen                                   */
    const void *name_obj; /* the name object it was copied from                        */
    char *created_at;     /* "file:line", or NULL                                      */
    double created, ended; /* seconds since the trace began; ended < 0: still running  */
    char *outcome;        /* "finished", "failed: ValueError", "cancelled"             */
    bool is_main;
    double since;         /* the open slice (running or waiting) began here            */
    char *waiting;        /* the open slice is a wait on this; NULL: running or none   */
    bool open;            /* a slice is open                                           */
} TraceTask;

typedef struct {
    size_t task;          /* index into tasks                                          */
    double t0, t1;
    char *waiting;        /* NULL: a running slice                                     */
} TraceSlice;

struct AsyTrace {
    char *json_path, *svg_path;
    char *program;        /* the script, for titles                                    */
    double start;         /* asy_loop_time() when the trace began                      */
    TraceTask *tasks;
    size_t ntasks, captasks;
    TraceSlice *slices;
    size_t nslices, capslices;
};

static double trace_now(const AsyTrace *tr) { return asy_loop_time() - tr->start; }

static void *grow(void *p, size_t *cap, size_t need, size_t size) {
    if (need <= *cap) return p;
    size_t ncap = *cap ? *cap * 2 : 64;
    while (ncap < need) ncap *= 2;
    void *np = realloc(p, ncap * size);
    if (!np) return NULL;
    *cap = ncap;
    return np;
}

AsyTrace *asy_trace_new(const char *json_path, const char *svg_path, const char *program) {
    AsyTrace *tr = calloc(1, sizeof *tr);
    if (!tr) return NULL;
    tr->json_path = json_path ? strdup(json_path) : NULL;
    tr->svg_path = svg_path ? strdup(svg_path) : NULL;
    tr->program = strdup(program ? program : "asy");
    tr->start = asy_loop_time();
    return tr;
}

/* The record of task t: tasks are created in increasing number, so a binary search. */
static TraceTask *trace_task(AsyTrace *tr, const AsyTask *t) {
    size_t lo = 0, hi = tr->ntasks;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (tr->tasks[mid].num < t->num) lo = mid + 1;
        else hi = mid;
    }
    return lo < tr->ntasks && tr->tasks[lo].num == t->num ? &tr->tasks[lo] : NULL;
}

/* The task's name now ("Task-N" until it is given one), copied when it changed. */
static void refresh_name(AsyVM *vm, TraceTask *r, const AsyTask *t) {
    const void *obj = asy_task_name(t);
    if (r->name && obj == r->name_obj) return;
    char buf[32];
    const char *name = buf;
    if (asy_task_name(t) && asy_task_name(t)->type == ASY_TYPE(vm, str)) name = ((AsyStr *)asy_task_name(t))->data;
    else
        snprintf(buf, sizeof buf, "Task-%lld", (long long)t->num);
    char *copy = strdup(name);
    if (!copy) return;
    free(r->name);
    r->name = copy;
    r->name_obj = obj;
}

void asy_trace_task_created(AsyVM *vm, AsyTask *t) {
    AsyTrace *tr = vm->trace;
    if (tr->ntasks == 0) tr->start = asy_loop_time(); /* time 0 is the first task's birth */
    TraceTask *tasks = grow(tr->tasks, &tr->captasks, tr->ntasks + 1, sizeof *tasks);
    if (!tasks) return;
    tr->tasks = tasks;
    TraceTask *r = &tasks[tr->ntasks++];
    memset(r, 0, sizeof *r);
    r->num = t->num;
    r->created = trace_now(tr);
    r->ended = -1;
    r->created_at = asy_task_created_at(t) ? strdup(asy_task_created_at(t)->data) : NULL;
    refresh_name(vm, r, t);
}

/* Close the task's open slice at `now`. */
static void close_slice(AsyTrace *tr, TraceTask *r, double now) {
    if (!r->open) return;
    r->open = false;
    TraceSlice *s = grow(tr->slices, &tr->capslices, tr->nslices + 1, sizeof *s);
    if (!s) {
        free(r->waiting);
        r->waiting = NULL;
        return;
    }
    tr->slices = s;
    TraceSlice *sl = &s[tr->nslices++];
    sl->task = (size_t)(r - tr->tasks);
    sl->t0 = r->since;
    sl->t1 = now;
    sl->waiting = r->waiting;
    r->waiting = NULL;
}

/* A step of t begins or ends: its record, with the slice before closed at *now. */
static TraceTask *step_boundary(AsyVM *vm, AsyTask *t, double *now) {
    AsyTrace *tr = vm->trace;
    TraceTask *r = trace_task(tr, t);
    if (!r) return NULL;
    *now = trace_now(tr);
    close_slice(tr, r, *now);
    refresh_name(vm, r, t);
    return r;
}

void asy_trace_step_begin(AsyVM *vm, AsyTask *t) {
    double now;
    TraceTask *r = step_boundary(vm, t, &now);
    if (!r) return;
    r->is_main = t == ((AsyLoop *)vm->loop)->main_task;
    r->open = true;
    r->since = now;
}

/* What a suspended task waits on, in a few words: "sleep()", "Event.wait()",
 * "Task 'fetch'", "_GatheringFuture". malloc'd. */
static char *wait_description(AsyVM *vm, const AsyTask *t) {
    char buf[160];
    if (asy_task_native_wait(t) && asy_task_native_wait(t)->type == ASY_AIO_TYPE(vm, Op)) {
        snprintf(buf, sizeof buf, "%s()", ((AsyOp *)asy_task_native_wait(t))->name);
    } else if (asy_task_fut_waiter(t) && asy_task_fut_waiter(t)->kind == ASY_FUTK_TASK) {
        const AsyTask *w = (const AsyTask *)asy_task_fut_waiter(t);
        if (asy_task_name(w) && asy_task_name(w)->type == ASY_TYPE(vm, str))
            snprintf(buf, sizeof buf, "Task '%s'", ((AsyStr *)asy_task_name(w))->data);
        else
            snprintf(buf, sizeof buf, "Task 'Task-%lld'", (long long)w->num);
    } else if (asy_task_fut_waiter(t)) {
        snprintf(buf, sizeof buf, "%s", asy_task_fut_waiter(t)->hdr.type->name);
    } else if (t->wait_kind == ASY_WAIT_SLEEP) {
        snprintf(buf, sizeof buf, "sleep()");
    } else {
        snprintf(buf, sizeof buf, "something");
    }
    return strdup(buf);
}

static char *outcome_of(AsyVM *vm, const AsyTask *t) {
    char buf[160];
    if (t->fut.state == ASY_FUT_CANCELLED) return strdup("cancelled");
    if (!t->fut.has_exc) return strdup("finished");
    const char *type = "exception";
    if (ASY_IS_OBJ(t->fut.result)) {
        AsyType *ty = ASY_AS_OBJ(t->fut.result)->type;
        if (ty && ty->name) type = ty->name;
    }
    ASY_UNUSED(vm);
    snprintf(buf, sizeof buf, "failed: %s", type);
    return strdup(buf);
}

void asy_trace_step_end(AsyVM *vm, AsyTask *t) {
    double now;
    TraceTask *r = step_boundary(vm, t, &now);
    if (!r) return;
    if (t->fut.state != ASY_FUT_PENDING) {
        r->ended = now;
        free(r->outcome);
        r->outcome = outcome_of(vm, t);
        return;
    }
    r->open = true;
    r->since = now;
    r->waiting = wait_description(vm, t);
}

/* ---- output ---- */

/* s as the inside of a JSON string, or of XML text (xml true). */
static void put_escaped(FILE *out, const char *s, bool xml) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (xml) {
            switch (*p) {
            case '<': fputs("&lt;", out); continue;
            case '>': fputs("&gt;", out); continue;
            case '&': fputs("&amp;", out); continue;
            case '"': fputs("&quot;", out); continue;
            default: break;
            }
            if (*p < 0x20 && *p != '\t' && *p != '\n') continue; /* not allowed in XML */
        } else if (*p == '"' || *p == '\\') {
            fputc('\\', out);
        } else if (*p < 0x20) {
            fprintf(out, "\\u%04x", *p);
            continue;
        }
        fputc(*p, out);
    }
}

static const char *display_name(const TraceTask *r) { return r->name ? r->name : "?"; }

/* One event of the JSON array, left open: the common fields, then extra JSON text; the
 * caller may add more and closes it with '}'. */
static void json_event(FILE *out, bool *first, const char *name, const char *ph, int64_t tid,
                       const char *fmt, ...) {
    fputs(*first ? "\n" : ",\n", out);
    *first = false;
    fputs("{\"name\":\"", out);
    put_escaped(out, name, false);
    fprintf(out, "\",\"ph\":\"%s\",\"pid\":1,\"tid\":%lld", ph, (long long)tid);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
}

static void write_json(AsyTrace *tr, FILE *out) {
    bool first = true;
    fputs("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[", out);
    json_event(out, &first, "process_name", "M", 0, ",\"args\":{\"name\":\"asy ");
    put_escaped(out, tr->program, false);
    fputs("\"}}", out);
    for (size_t i = 0; i < tr->ntasks; i++) {
        TraceTask *r = &tr->tasks[i];
        json_event(out, &first, "thread_name", "M", r->num, ",\"args\":{\"name\":\"");
        put_escaped(out, display_name(r), false);
        fputs(r->is_main ? " (main)\"}}" : "\"}}", out);
        json_event(out, &first, "thread_sort_index", "M", r->num,
                   ",\"args\":{\"sort_index\":%lld}}", (long long)r->num);
        json_event(out, &first, "created", "i", r->num, ",\"cat\":\"task\",\"s\":\"t\",\"ts\":%.3f",
                   r->created * 1e6);
        if (r->created_at) {
            fputs(",\"args\":{\"at\":\"", out);
            put_escaped(out, r->created_at, false);
            fputs("\"}", out);
        }
        fputc('}', out);
        if (r->ended >= 0)
            json_event(out, &first, r->outcome, "i", r->num,
                       ",\"cat\":\"task\",\"s\":\"t\",\"ts\":%.3f}", r->ended * 1e6);
    }
    for (size_t i = 0; i < tr->nslices; i++) {
        TraceSlice *s = &tr->slices[i];
        char name[200];
        if (s->waiting) snprintf(name, sizeof name, "waiting on %s", s->waiting);
        json_event(out, &first, s->waiting ? name : "running", "X", tr->tasks[s->task].num,
                   ",\"cat\":\"%s\",\"ts\":%.3f,\"dur\":%.3f}", s->waiting ? "wait" : "run",
                   s->t0 * 1e6, (s->t1 - s->t0) * 1e6);
    }
    fputs("\n]}\n", out);
}

/* SVG geometry: a label column, then the time axis; one lane per task. */
#define SVG_LABELS 190.0
#define SVG_CHART 900.0
#define SVG_TOP 56.0
#define SVG_LANE 26.0
#define SVG_BAR 18.0

/* A tick step of 1, 2 or 5 times a power of ten giving at most ~10 ticks over `total`. */
static double tick_step(double total) {
    double step = 1e-3;
    while (total / step > 10) {
        if (total / (step * 2) <= 10) return step * 2;
        if (total / (step * 5) <= 10) return step * 5;
        step *= 10;
    }
    return step;
}

static void write_svg(AsyTrace *tr, FILE *out, double end) {
    double total_ms = end * 1e3 > 1e-3 ? end * 1e3 : 1e-3;
    double scale = SVG_CHART / total_ms;
    double height = SVG_TOP + (double)tr->ntasks * SVG_LANE + 40;
    double width = SVG_LABELS + SVG_CHART + 110; /* room for the last outcome */
    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
            "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n"
            "<text x=\"10\" y=\"20\" font-size=\"14\" font-weight=\"bold\">asy timeline: ",
            width, height, width, height);
    put_escaped(out, tr->program, true);
    fprintf(out, " (%.1f ms, %zu tasks)</text>\n", total_ms, tr->ntasks);
    fprintf(out,
            "<rect x=\"%.0f\" y=\"8\" width=\"14\" height=\"12\" fill=\"#1f5fbf\"/>"
            "<text x=\"%.0f\" y=\"19\">running</text>\n"
            "<rect x=\"%.0f\" y=\"8\" width=\"14\" height=\"12\" fill=\"#b9d0f0\"/>"
            "<text x=\"%.0f\" y=\"19\">waiting</text>\n",
            width - 190, width - 172, width - 100, width - 82);
    /* the time axis: a grid line and a label per tick */
    double step = tick_step(total_ms);
    double axis_y = SVG_TOP + (double)tr->ntasks * SVG_LANE + 4;
    fputs("<g class=\"axis\" stroke=\"#dddddd\">\n", out);
    for (double ms = 0; ms <= total_ms + step * 1e-9; ms += step) {
        double x = SVG_LABELS + ms * scale;
        fprintf(out, "<line x1=\"%.2f\" y1=\"%.0f\" x2=\"%.2f\" y2=\"%.0f\"/>", x, SVG_TOP - 6, x,
                axis_y);
        fprintf(out, "<text x=\"%.2f\" y=\"%.0f\" stroke=\"none\" fill=\"#333333\" "
                     "text-anchor=\"middle\">%g ms</text>\n",
                x, axis_y + 16, ms);
    }
    fputs("</g>\n", out);
    for (size_t i = 0; i < tr->ntasks; i++) {
        TraceTask *r = &tr->tasks[i];
        double y = SVG_TOP + (double)i * SVG_LANE;
        fprintf(out, "<g class=\"lane\" data-task=\"%lld\">\n<text x=\"10\" y=\"%.1f\">",
                (long long)r->num, y + SVG_BAR - 5);
        put_escaped(out, display_name(r), true);
        fprintf(out, "%s</text>\n", r->is_main ? " (main)" : "");
        for (size_t k = 0; k < tr->nslices; k++) {
            TraceSlice *s = &tr->slices[k];
            if (s->task != i) continue;
            double x = SVG_LABELS + s->t0 * 1e3 * scale;
            double w = (s->t1 - s->t0) * 1e3 * scale;
            if (!s->waiting && w < 1) w = 1; /* a short step still shows */
            fprintf(out,
                    "<rect class=\"%s\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.0f\" "
                    "fill=\"%s\"><title>",
                    s->waiting ? "wait" : "run", x, y, w, SVG_BAR,
                    s->waiting ? "#b9d0f0" : "#1f5fbf");
            if (s->waiting) {
                fputs("waiting on ", out);
                put_escaped(out, s->waiting, true);
            } else {
                fputs("running", out);
            }
            fprintf(out, " %.3f ms</title></rect>\n", (s->t1 - s->t0) * 1e3);
        }
        if (r->ended >= 0) {
            fprintf(out, "<text class=\"outcome\" x=\"%.2f\" y=\"%.1f\" font-size=\"10\" "
                         "fill=\"#555555\">",
                    SVG_LABELS + r->ended * 1e3 * scale + 3, y + SVG_BAR - 5);
            put_escaped(out, r->outcome, true);
            fputs("</text>\n", out);
        }
        fputs("</g>\n", out);
    }
    fputs("</svg>\n", out);
}

static bool write_file(AsyTrace *tr, const char *path, bool svg, double end) {
    FILE *out = fopen(path, "w");
    if (out) {
        if (svg) write_svg(tr, out, end);
        else write_json(tr, out);
        if (fclose(out) == 0) return true;
    }
    fprintf(stderr, "asy: cannot write %s: %s\n", path, strerror(errno));
    return false;
}

bool asy_trace_finish(AsyVM *vm) {
    AsyTrace *tr = vm->trace;
    if (!tr) return true;
    vm->trace = NULL;
    double end = trace_now(tr);
    for (size_t i = 0; i < tr->ntasks; i++) close_slice(tr, &tr->tasks[i], end);
    bool ok = true;
    if (tr->json_path) ok = write_file(tr, tr->json_path, false, end);
    if (tr->svg_path) ok = write_file(tr, tr->svg_path, true, end) && ok;
    for (size_t i = 0; i < tr->ntasks; i++) {
        free(tr->tasks[i].name);
        free(tr->tasks[i].created_at);
        free(tr->tasks[i].outcome);
        free(tr->tasks[i].waiting);
    }
    for (size_t i = 0; i < tr->nslices; i++) free(tr->slices[i].waiting);
    free(tr->tasks);
    free(tr->slices);
    free(tr->json_path);
    free(tr->svg_path);
    free(tr->program);
    free(tr);
    return ok;
}
