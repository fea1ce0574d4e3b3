/* trace.h - every task's life for --trace (Chrome trace-event JSON) and --timeline (an
 * SVG Gantt chart), trace.c. The scheduler calls the hooks only while vm->trace is set. */
#ifndef ASY_TRACE_H
#define ASY_TRACE_H

#include "vm.h"

typedef struct AsyTask AsyTask;
typedef struct AsyTrace AsyTrace;

/* A recorder writing JSON to json_path and/or SVG to svg_path (either NULL) when the
 * program ends; `program` names it in titles. NULL when out of memory. */
AsyTrace *asy_trace_new(const char *json_path, const char *svg_path, const char *program);

/* The hooks (task.c): a task was made; one of its steps begins; the step is over (the
 * task waits on something now, or has ended). */
void asy_trace_task_created(AsyVM *vm, AsyTask *t);
void asy_trace_step_begin(AsyVM *vm, AsyTask *t);
void asy_trace_step_end(AsyVM *vm, AsyTask *t);

/* The program is over: close every open slice, write the files, free the recorder and
 * clear vm->trace. false (with "asy: cannot write FILE: why" on stderr) when a file could
 * not be written; true without a recorder. */
bool asy_trace_finish(AsyVM *vm);

#endif
