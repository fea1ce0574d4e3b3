/* asyncgen.h - the finalization of async generators, as CPython's event loop does it
 * (asyncgen.c).
 *
 * CPython's loop installs asyncgen hooks while it runs: an async generator's first
 * asend/athrow/aclose awaitable registers it in the loop's weak set (firstiter), and an
 * unfinished one that dies is aclose()d by a task the loop creates one pass later
 * (finalizer); asyncio.run ends with loop.shutdown_asyncgens(), which acloses every one
 * still alive, concurrently, reporting failures through the exception handler.
 *
 * asy has no reference counts, so "dies" is found two ways: a generator whose only
 * reference is a loop's iterator slot (AsyGenerator.owned) is finalized when the loop
 * drops it (vm.c), at the moment CPython's refcount would reach zero; any other one when
 * the collector finds it unreachable. The registry is weak: the collector drops the dead
 * and moves those that still need closing to a strong "dying" list, which the loop's next
 * pass finalizes (asy_agen_flush_dying), so abandoned generators never accumulate.
 */
#ifndef ASY_ASYNCGEN_H
#define ASY_ASYNCGEN_H

#include "generator.h"

/* CPython's async_gen_init_hooks: called when an asend/athrow/aclose awaitable is made.
 * The first time, a generator made while a loop runs is registered. false with
 * MemoryError pending. */
bool asy_agen_hooks_init(AsyVM *vm, AsyGenerator *g);
/* The finalizer hook: g is unreachable (or about to be). With the loop's finalizer and
 * not closed, its aclose() is scheduled as a task (call_soon(create_task, aclose())). */
void asy_agen_finalize(AsyVM *vm, AsyGenerator *g);
/* The collector's weak pass over the registry, after marking (gc.c calls it through
 * vm->gc_weak): unreachable ones are dropped, or kept alive on the dying list when they
 * need closing. Marks what it keeps (true then); the caller traces again. */
bool asy_agen_gc_weak(AsyVM *vm);
/* Finalize the generators the collector found dying (the loop calls it each pass). */
void asy_agen_flush_dying(AsyVM *vm);
/* asyncio.run's loop.shutdown_asyncgens(): aclose every registered generator, each in a
 * task, wait for them all, and report the errors. false with a fatal exception pending
 * (KeyboardInterrupt/SystemExit out of a task). */
bool asy_agen_shutdown(AsyVM *vm);
/* loop.shutdown_asyncgens(): a coroutine that acloses the generators registered so far,
 * as asy_agen_shutdown does, in the running loop. */
AsyValue asy_agen_shutdown_coro(AsyVM *vm);
/* A coroutine that awaits the asend/athrow awaitable op, for a task whose coroutine is
 * op (CPython accepts them as coroutines: create_task(agen.aclose())). Its frame is
 * hidden from tracebacks. */
AsyValue asy_agen_op_runner(AsyVM *vm, AsyValue op);

#endif
