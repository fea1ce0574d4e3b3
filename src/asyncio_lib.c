/* asyncio_lib.c - the asyncio APIs that are rare enough to be written in asy itself:
 * wait_for, wait, as_completed, shield, timeout()/timeout_at(), TaskGroup, Condition;
 * and asyncio's lazy parts: each part of the source below, and the streams and
 * subprocesses (asyncio_streams.c), is made in the asyncio module's namespace on first
 * use of one of its names, so `import asyncio` compiles none of it (module.c shows the
 * namespace whole, for dir() and import *, by making every part first).
 * The source follows CPython 3.11.7's asyncio step for step (same callbacks, same
 * awaits), because the order of task steps is observable; only names differ.
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "task.h"

static const char asyncio_lib_src[] =
    "def _release_waiter(waiter, *args):\n"
    "    if not waiter.done():\n"
    "        waiter.set_result(None)\n"
    "\n"
    "def _partial_release(waiter):\n"
    "    def _release(*args):\n"
    "        _release_waiter(waiter)\n"
    "    return _release\n"
    "\n"
    "async def _cancel_and_wait(fut):\n"
    "    waiter = get_running_loop().create_future()\n"
    "    cb = _partial_release(waiter)\n"
    "    fut.add_done_callback(cb)\n"
    "    try:\n"
    "        fut.cancel()\n"
    "        await waiter\n"
    "    finally:\n"
    "        fut.remove_done_callback(cb)\n"
    "\n"
    "async def wait_for(fut, timeout):\n"
    "    loop = get_running_loop()\n"
    "    if timeout is None:\n"
    "        return await fut\n"
    "    if timeout <= 0:\n"
    "        fut = ensure_future(fut)\n"
    "        if fut.done():\n"
    "            return fut.result()\n"
    "        await _cancel_and_wait(fut)\n"
    "        try:\n"
    "            return fut.result()\n"
    "        except CancelledError as exc:\n"
    "            raise TimeoutError() from exc\n"
    "    waiter = loop.create_future()\n"
    "    timeout_handle = loop.call_later(timeout, _release_waiter, waiter)\n"
    "    cb = _partial_release(waiter)\n"
    "    fut = ensure_future(fut)\n"
    "    fut.add_done_callback(cb)\n"
    "    try:\n"
    "        try:\n"
    "            await waiter\n"
    "        except CancelledError:\n"
    "            if fut.done():\n"
    "                return fut.result()\n"
    "            else:\n"
    "                fut.remove_done_callback(cb)\n"
    "                await _cancel_and_wait(fut)\n"
    "                raise\n"
    "        if fut.done():\n"
    "            return fut.result()\n"
    "        else:\n"
    "            fut.remove_done_callback(cb)\n"
    "            await _cancel_and_wait(fut)\n"
    "            try:\n"
    "                return fut.result()\n"
    "            except CancelledError as exc:\n"
    "                raise TimeoutError() from exc\n"
    "    finally:\n"
    "        timeout_handle.cancel()\n"
    "\n"
    "async def wait(fs, *, timeout=None, return_when=ALL_COMPLETED):\n"
    "    if isfuture(fs) or iscoroutine(fs):\n"
    "        raise TypeError(f'expect a list of futures, not {type(fs).__name__}')\n"
    "    if not fs:\n"
    "        raise ValueError('Set of Tasks/Futures is empty.')\n"
    "    if return_when not in (FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED):\n"
    "        raise ValueError(f'Invalid return_when value: {return_when}')\n"
    "    fs = set(fs)\n"
    "    if any(iscoroutine(f) for f in fs):\n"
    "        raise TypeError('Passing coroutines is forbidden, use tasks explicitly.')\n"
    "    loop = get_running_loop()\n"
    "    waiter = loop.create_future()\n"
    "    timeout_handle = None\n"
    "    if timeout is not None:\n"
    "        timeout_handle = loop.call_later(timeout, _release_waiter, waiter)\n"
    "    counter = len(fs)\n"
    "    def _on_completion(f):\n"
    "        nonlocal counter\n"
    "        counter -= 1\n"
    "        if (counter <= 0 or return_when == FIRST_COMPLETED or\n"
    "                return_when == FIRST_EXCEPTION and (not f.cancelled() and\n"
    "                                                    f.exception() is not None)):\n"
    "            if timeout_handle is not None:\n"
    "                timeout_handle.cancel()\n"
    "            if not waiter.done():\n"
    "                waiter.set_result(None)\n"
    "    for f in fs:\n"
    "        f.add_done_callback(_on_completion)\n"
    "    try:\n"
    "        await waiter\n"
    "    finally:\n"
    "        if timeout_handle is not None:\n"
    "            timeout_handle.cancel()\n"
    "        for f in fs:\n"
    "            f.remove_done_callback(_on_completion)\n"
    "    done, pending = set(), set()\n"
    "    for f in fs:\n"
    "        if f.done():\n"
    "            done.add(f)\n"
    "        else:\n"
    "            pending.add(f)\n"
    "    return done, pending\n"
    "\n"
    "def as_completed(fs, *, timeout=None):\n"
    "    if isfuture(fs) or iscoroutine(fs):\n"
    "        raise TypeError(f'expect an iterable of futures, not {type(fs).__name__}')\n"
    "    done = Queue()\n"
    "    loop = get_event_loop()\n"
    "    todo = {ensure_future(f) for f in set(fs)}\n"
    "    timeout_handle = None\n"
    "    def _on_timeout():\n"
    "        for f in todo:\n"
    "            f.remove_done_callback(_on_completion)\n"
    "            done.put_nowait(None)\n"
    "        todo.clear()\n"
    "    def _on_completion(f):\n"
    "        if not todo:\n"
    "            return\n"
    "        todo.remove(f)\n"
    "        done.put_nowait(f)\n"
    "        if not todo and timeout_handle is not None:\n"
    "            timeout_handle.cancel()\n"
    "    async def _wait_for_one():\n"
    "        f = await done.get()\n"
    "        if f is None:\n"
    "            raise TimeoutError\n"
    "        return f.result()\n"
    "    for f in todo:\n"
    "        f.add_done_callback(_on_completion)\n"
    "    if todo and timeout is not None:\n"
    "        timeout_handle = loop.call_later(timeout, _on_timeout)\n"
    "    for _ in range(len(todo)):\n"
    "        yield _wait_for_one()\n"
    "\n"
    "def shield(arg):\n"
    "    inner = ensure_future(arg)\n"
    "    if inner.done():\n"
    "        return inner\n"
    "    outer = get_running_loop().create_future()\n"
    "    def _inner_done_callback(inner):\n"
    "        if outer.cancelled():\n"
    "            if not inner.cancelled():\n"
    "                inner.exception()\n"
    "            return\n"
    "        if inner.cancelled():\n"
    "            outer.cancel()\n"
    "        else:\n"
    "            exc = inner.exception()\n"
    "            if exc is not None:\n"
    "                outer.set_exception(exc)\n"
    "            else:\n"
    "                outer.set_result(inner.result())\n"
    "    def _outer_done_callback(outer):\n"
    "        if not inner.done():\n"
    "            inner.remove_done_callback(_inner_done_callback)\n"
    "    inner.add_done_callback(_inner_done_callback)\n"
    "    outer.add_done_callback(_outer_done_callback)\n"
    "    return outer\n"
    "\n"
    "class Timeout:\n"
    "    def __init__(self, when):\n"
    "        self._state = 'created'\n"
    "        self._timeout_handler = None\n"
    "        self._task = None\n"
    "        self._cancelling = 0\n"
    "        self._when = when\n"
    "    def when(self):\n"
    "        return self._when\n"
    "    def reschedule(self, when):\n"
    "        if self._state != 'active':\n"
    "            if self._state == 'created':\n"
    "                raise RuntimeError('Timeout has not been entered')\n"
    "            raise RuntimeError(f'Cannot change state of {self._state} Timeout')\n"
    "        self._when = when\n"
    "        if self._timeout_handler is not None:\n"
    "            self._timeout_handler.cancel()\n"
    "        if when is None:\n"
    "            self._timeout_handler = None\n"
    "        else:\n"
    "            loop = get_running_loop()\n"
    "            if when <= loop.time():\n"
    "                self._timeout_handler = loop.call_soon(self._on_timeout)\n"
    "            else:\n"
    "                self._timeout_handler = loop.call_at(when, self._on_timeout)\n"
    "    def expired(self):\n"
    "        return self._state in ('expiring', 'expired')\n"
    "    def __repr__(self):\n"
    "        info = ['']\n"
    "        if self._state == 'active':\n"
    "            when = round(self._when, 3) if self._when is not None else None\n"
    "            info.append(f'when={when}')\n"
    "        info_str = ' '.join(info)\n"
    "        return f'<Timeout [{self._state}]{info_str}>'\n"
    "    async def __aenter__(self):\n"
    "        if self._state != 'created':\n"
    "            raise RuntimeError('Timeout has already been entered')\n"
    "        task = current_task()\n"
    "        if task is None:\n"
    "            raise RuntimeError('Timeout should be used inside a task')\n"
    "        self._state = 'active'\n"
    "        self._task = task\n"
    "        self._cancelling = task.cancelling()\n"
    "        self.reschedule(self._when)\n"
    "        return self\n"
    "    async def __aexit__(self, exc_type, exc_val, exc_tb):\n"
    "        if self._timeout_handler is not None:\n"
    "            self._timeout_handler.cancel()\n"
    "            self._timeout_handler = None\n"
    "        if self._state == 'expiring':\n"
    "            self._state = 'expired'\n"
    "            if self._task.uncancel() <= self._cancelling and exc_type is CancelledError:\n"
    "                raise TimeoutError from exc_val\n"
    "        elif self._state == 'active':\n"
    "            self._state = 'finished'\n"
    "        return None\n"
    "    def _on_timeout(self):\n"
    "        self._task.cancel()\n"
    "        self._state = 'expiring'\n"
    "        self._timeout_handler = None\n"
    "\n"
    "def timeout(delay):\n"
    "    loop = get_running_loop()\n"
    "    return Timeout(loop.time() + delay if delay is not None else None)\n"
    "\n"
    "def timeout_at(when):\n"
    "    return Timeout(when)\n"
    "\n"
    "class TaskGroup:\n"
    "    def __init__(self):\n"
    "        self._entered = False\n"
    "        self._exiting = False\n"
    "        self._aborting = False\n"
    "        self._loop = None\n"
    "        self._parent_task = None\n"
    "        self._parent_cancel_requested = False\n"
    "        self._tasks = set()\n"
    "        self._errors = []\n"
    "        self._base_error = None\n"
    "        self._on_completed_fut = None\n"
    "    def __repr__(self):\n"
    "        info = ['']\n"
    "        if self._tasks:\n"
    "            info.append(f'tasks={len(self._tasks)}')\n"
    "        if self._errors:\n"
    "            info.append(f'errors={len(self._errors)}')\n"
    "        if self._aborting:\n"
    "            info.append('cancelling')\n"
    "        elif self._entered:\n"
    "            info.append('entered')\n"
    "        info_str = ' '.join(info)\n"
    "        return f'<TaskGroup{info_str}>'\n"
    "    async def __aenter__(self):\n"
    "        if self._entered:\n"
    "            raise RuntimeError(f'TaskGroup {self!r} has already been entered')\n"
    "        if self._loop is None:\n"
    "            self._loop = get_running_loop()\n"
    "        self._parent_task = current_task()\n"
    "        if self._parent_task is None:\n"
    "            raise RuntimeError(f'TaskGroup {self!r} cannot determine the parent task')\n"
    "        self._entered = True\n"
    "        return self\n"
    "    async def __aexit__(self, et, exc, tb):\n"
    "        self._exiting = True\n"
    "        if exc is not None and self._is_base_error(exc) and self._base_error is None:\n"
    "            self._base_error = exc\n"
    "        propagate_cancellation_error = exc if et is CancelledError else None\n"
    "        if self._parent_cancel_requested:\n"
    "            if self._parent_task.uncancel() == 0:\n"
    "                propagate_cancellation_error = None\n"
    "        if et is not None:\n"
    "            if not self._aborting:\n"
    "                self._abort()\n"
    "        while self._tasks:\n"
    "            if self._on_completed_fut is None:\n"
    "                self._on_completed_fut = self._loop.create_future()\n"
    "            try:\n"
    "                await self._on_completed_fut\n"
    "            except CancelledError as ex:\n"
    "                if not self._aborting:\n"
    "                    propagate_cancellation_error = ex\n"
    "                    self._abort()\n"
    "            self._on_completed_fut = None\n"
    "        if self._base_error is not None:\n"
    "            raise self._base_error\n"
    "        if propagate_cancellation_error and not self._errors:\n"
    "            raise propagate_cancellation_error\n"
    "        if et is not None and et is not CancelledError:\n"
    "            self._errors.append(exc)\n"
    "        if self._errors:\n"
    "            try:\n"
    "                me = BaseExceptionGroup('unhandled errors in a TaskGroup', self._errors)\n"
    "                raise me from None\n"
    "            finally:\n"
    "                self._errors = None\n"
    "    def create_task(self, coro, *, name=None, context=None):\n"
    "        if not self._entered:\n"
    "            raise RuntimeError(f'TaskGroup {self!r} has not been entered')\n"
    "        if self._exiting and not self._tasks:\n"
    "            raise RuntimeError(f'TaskGroup {self!r} is finished')\n"
    "        if self._aborting:\n"
    "            raise RuntimeError(f'TaskGroup {self!r} is shutting down')\n"
    "        task = create_task(coro, name=name)\n"
    "        task.add_done_callback(self._on_task_done)\n"
    "        self._tasks.add(task)\n"
    "        return task\n"
    "    def _is_base_error(self, exc):\n"
    "        return isinstance(exc, (SystemExit, KeyboardInterrupt))\n"
    "    def _abort(self):\n"
    "        self._aborting = True\n"
    "        for t in self._tasks:\n"
    "            if not t.done():\n"
    "                t.cancel()\n"
    "    def _on_task_done(self, task):\n"
    "        self._tasks.discard(task)\n"
    "        if self._on_completed_fut is not None and not self._tasks:\n"
    "            if not self._on_completed_fut.done():\n"
    "                self._on_completed_fut.set_result(True)\n"
    "        if task.cancelled():\n"
    "            return\n"
    "        exc = task.exception()\n"
    "        if exc is None:\n"
    "            return\n"
    "        self._errors.append(exc)\n"
    "        if self._is_base_error(exc) and self._base_error is None:\n"
    "            self._base_error = exc\n"
    "        if self._parent_task.done():\n"
    "            _log_error(f'Task {task!r} has errored out but its parent task '\n"
    "                       f'{self._parent_task} is already completed', exc, task)\n"
    "            return\n"
    "        if not self._aborting and not self._parent_cancel_requested:\n"
    "            self._abort()\n"
    "            self._parent_cancel_requested = True\n"
    "            self._parent_task.cancel()\n"
    "\n"
    "class Condition:\n"
    "    def __init__(self, lock=None):\n"
    "        if lock is None:\n"
    "            lock = Lock()\n"
    "        self._lock = lock\n"
    "        self.locked = lock.locked\n"
    "        self.acquire = lock.acquire\n"
    "        self.release = lock.release\n"
    "        self._waiters = []\n"
    "    def __repr__(self):\n"
    "        extra = 'locked' if self.locked() else 'unlocked'\n"
    "        if self._waiters:\n"
    "            extra = f'{extra}, waiters:{len(self._waiters)}'\n"
    "        return f'<asyncio.locks.Condition object at {hex(id(self))} [{extra}]>'\n"
    "    async def __aenter__(self):\n"
    "        await self.acquire()\n"
    "        return None\n"
    "    async def __aexit__(self, exc_type, exc, tb):\n"
    "        self.release()\n"
    "    async def wait(self):\n"
    "        if not self.locked():\n"
    "            raise RuntimeError('cannot wait on un-acquired lock')\n"
    "        self.release()\n"
    "        try:\n"
    "            fut = get_running_loop().create_future()\n"
    "            self._waiters.append(fut)\n"
    "            try:\n"
    "                await fut\n"
    "                return True\n"
    "            finally:\n"
    "                self._waiters.remove(fut)\n"
    "        finally:\n"
    "            cancelled = False\n"
    "            while True:\n"
    "                try:\n"
    "                    await self.acquire()\n"
    "                    break\n"
    "                except CancelledError:\n"
    "                    cancelled = True\n"
    "            if cancelled:\n"
    "                raise CancelledError\n"
    "    async def wait_for(self, predicate):\n"
    "        result = predicate()\n"
    "        while not result:\n"
    "            await self.wait()\n"
    "            result = predicate()\n"
    "        return result\n"
    "    def notify(self, n=1):\n"
    "        if not self.locked():\n"
    "            raise RuntimeError('cannot notify on un-acquired lock')\n"
    "        idx = 0\n"
    "        for fut in self._waiters:\n"
    "            if idx >= n:\n"
    "                break\n"
    "            if not fut.done():\n"
    "                idx += 1\n"
    "                fut.set_result(False)\n"
    "    def notify_all(self):\n"
    "        self.notify(len(self._waiters))\n";

/* Names the source above defines that are internal: they stay, but are not exported
 * by `from asyncio import *` (there is no __all__ machinery; the underscore does it). */

/* _log_error(message, exc, task): asyncio's default exception handler. */
static AsyValue lib_log_error(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "_log_error", argc, 3, 3)) return ASY_ERR;
    AsyValue msg = asy_str(vm, argv[0]);
    if (ASY_IS_ERR(msg)) return msg;
    AsyException *e = asy_isinstance(vm, argv[1], vm->exc_types[ASY_EXC_BaseException])
                          ? (AsyException *)ASY_AS_OBJ(argv[1])
                          : NULL;
    asy_loop_log_error(vm, ((AsyStr *)ASY_AS_OBJ(msg))->data, "task", argv[2], e);
    return ASY_NONE;
}

static const AsyMethodDef lib_functions[] = {
    {"_log_error", lib_log_error, 0, "Log an error as asyncio's default handler does."},
    {NULL, NULL, 0, NULL},
};

/* Compile and run the part of the source from the line starting with `first` to the one
 * starting with `next` (NULL: to the end) in the asyncio namespace. Blank lines stand in
 * for the lines before it, so tracebacks give the source's own line numbers. */
static void run_part(AsyVM *vm, AsyModule *m, const char *first, const char *next) {
    const char *src = asyncio_lib_src, *end = src + sizeof asyncio_lib_src - 1;
    const char *from = strstr(src, first);
    const char *to = !from ? NULL : next ? strstr(from, next) : end;
    if (!to) { /* the source was edited without the part table below */
        asy_raise(vm, ASY_EXC_SystemError, "asyncio: no part at '%s'", first);
        return;
    }
    size_t lines = 0;
    for (const char *c = src; c < from; c++) lines += *c == '\n';
    size_t len = lines + (size_t)(to - from);
    char *text = malloc(len);
    if (!text) {
        asy_raise_memory(vm);
        return;
    }
    memset(text, '\n', lines);
    memcpy(text + lines, from, (size_t)(to - from));
    AsyCode *code = asy_compile(vm, text, len, "<asyncio>", ASY_PARSE_MODULE);
    free(text);
    if (!code) return;
    asy_root_push(vm, ASY_OBJ(code));
    asy_vm_run_code(vm, code, m->dict);
    asy_root_pop(vm, 1);
}

static void make_wait(AsyVM *vm, AsyModule *m) {
    run_part(vm, m, "def _release_waiter(", "class Timeout:");
}

static void make_timeout(AsyVM *vm, AsyModule *m) {
    run_part(vm, m, "class Timeout:", "class TaskGroup:");
}

static void make_taskgroup(AsyVM *vm, AsyModule *m) {
    run_part(vm, m, "class TaskGroup:", "class Condition:");
}

static void make_condition(AsyVM *vm, AsyModule *m) { run_part(vm, m, "class Condition:", NULL); }

/* Every name each part defines: the first use of any of them makes the part. */
static const char *const wait_names[] = {
    "_release_waiter", "_partial_release", "_cancel_and_wait", "wait_for", "wait",
    "as_completed", "shield", NULL};
static const char *const timeout_names[] = {"Timeout", "timeout", "timeout_at", NULL};
static const char *const taskgroup_names[] = {"TaskGroup", NULL};
static const char *const condition_names[] = {"Condition", NULL};

/* In the order the module used to make them at import, which is the order import *
 * and dir() see when a script uses none before. */
static const AsyLazyPart asyncio_parts[] = {
    {wait_names, make_wait},
    {timeout_names, make_timeout},
    {taskgroup_names, make_taskgroup},
    {condition_names, make_condition},
    {asy_asyncio_streams_names, asy_asyncio_streams_init},
    {NULL, NULL},
};

void asy_asyncio_lib_init(AsyVM *vm, AsyModule *m) {
    asy_module_add_functions(vm, m, lib_functions);
    asy_dict_set_str(vm, m->dict, ASY_S(vm, __builtins__), ASY_OBJ(vm->builtins));
    asy_module_set_lazy(m, asyncio_parts);
    asy_asyncio_subprocess_module(vm);
}
