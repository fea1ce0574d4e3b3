/* diag.h - what asy shows about the tasks of a running program (diag.c). */
#ifndef ASY_DIAG_H
#define ASY_DIAG_H

#include <stdio.h>

#include "generator.h"
#include "vm.h"

/* Every unfinished task: its name and state, what it waits on, and its await chain, from
 * the coroutine it runs down to the line where it waits. Writes nothing when asyncio has
 * never run. Calls no asy code except the reprs of futures it waits on. */
void asy_diag_dump_tasks(AsyVM *vm, FILE *out);

/* SIGQUIT under --dump-tasks (signals.c): clear vm->dump_pending and write the dump to
 * stderr between "asy: task dump (SIGQUIT), N unfinished tasks:" and "asy: end of task
 * dump"; outside an event loop, the program's stack. The program then goes on. */
void asy_diag_signal_dump(AsyVM *vm);

/* Around a call that blocks the whole program (time.sleep, input, a file read):
 * begin returns the loop time in asyncio debug mode (else -1, and end does nothing);
 * end remembers the call and the asy line that made it if it is the longest of the
 * running step. */
double asy_diag_blocking_begin(AsyVM *vm);
void asy_diag_blocking_end(AsyVM *vm, const char *what, double t0);
/* After a slow step's "Executing ... took N seconds" (loop.c): the line that names its
 * longest blocking call, if any, with that line's source. */
void asy_diag_report_blocking(AsyVM *vm);

/* A coroutine object was just made (generator.c): while an event loop runs in debug mode
 * (CPython's coroutine origin tracking), note its creation traceback, for the
 * never-awaited warning. */
void asy_diag_coroutine_created(AsyVM *vm, AsyGenerator *g);
/* The file (interned) and line of the asy line running now; both left alone when no
 * asy code runs. */
void asy_diag_running_line(AsyVM *vm, AsyStr **file, int32_t *line);

/* The loop found a deadlock: no task is ready, no timer is set and no I/O is watched, but
 * the run is not over. Stops the run with RuntimeError('deadlock: ... The tasks:\n' and
 * the task dump) as the loop's fatal exception, instead of hanging forever as CPython
 * would. */
void asy_diag_deadlock(AsyVM *vm);

#endif
