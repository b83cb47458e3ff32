/* tern/task.h - the asyncio toolbox on coroutines: tasks, wait, gather, futures,
 * sleep, blocking calls on the thread pool, and a loop runner (asyncio.run).
 *
 * Every call that waits yields the current coroutine: the worker's loop runs other
 * coroutines meanwhile, as `await` does in Python. Waits end early with
 * TERN_ETIMEDOUT when the request deadline passes and TERN_ECANCELED when the
 * client goes away or the task is cancelled. Call them only from a coroutine (a
 * handler, a spawned task, or the function given to tern_loop_run). */
#ifndef TERN_TASK_H
#define TERN_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** A function run as a task; its return value is the task's result. */
typedef void *(*tern_task_fn)(void *arg);

/** A handle to a spawned task (asyncio.Task). */
typedef struct tern_task tern_task;

/** A one-shot value that one side sets and others await (asyncio.Future). */
typedef struct tern_future tern_future;

/** Starts fn(arg) on a new coroutine of this worker; it first runs when the caller
 *  next yields. The task shares the caller's scope: its deadline, its cancellation
 *  and its memory. When the scope (request) ends, unfinished tasks are cancelled and
 *  the scope waits for them. NULL (and tern_errmsg) when no coroutine is free. */
tern_task *tern_spawn(tern_task_fn fn, void *arg);

/** Waits for one task to finish (await task); stores its result. 0, or an error. */
int tern_task_join(tern_task *t, void **result);

/** Waits until every task is done or timeout_ms passes (< 0: only the deadline
 *  bounds it), like asyncio.wait(tasks, timeout). Sets done[i] for finished ones
 *  (done may be NULL). Returns how many are done, or an error. Pending tasks go on. */
int tern_wait(tern_task *const *tasks, size_t n, int64_t timeout_ms, bool *done);

/** Waits for all tasks and stores their results in order (asyncio.gather). 0 or an error. */
int tern_gather(tern_task *const *tasks, size_t n, void **results);

/** True once the task's function has returned. */
bool tern_task_done(const tern_task *t);

/** The task's result once done (NULL before). */
void *tern_task_result(const tern_task *t);

/** Cancels the task: its current or next wait fails with TERN_ECANCELED. */
void tern_task_cancel(tern_task *t);

/** Creates a future owned by the current scope (freed when the scope ends). */
tern_future *tern_future_new(void);

/** Sets the result and wakes every waiter. Call from a coroutine or a loop callback
 *  of the same worker. -EALREADY if it was set before. */
int tern_future_set(tern_future *f, void *value);

/** Waits for the future's result (timeout_ms < 0: only the deadline bounds it).
 *  0 and *value, or TERN_ETIMEDOUT / TERN_ECANCELED. */
int tern_await(tern_future *f, int64_t timeout_ms, void **value);

/** True once a result was set. */
bool tern_future_done(const tern_future *f);

/** Sleeps ms milliseconds without blocking the loop (asyncio.sleep). 0 or an error. */
int tern_sleep(uint64_t ms);

/** Runs fn(arg) on libuv's thread pool and waits for its result
 *  (loop.run_in_executor). If the wait ends early (deadline, cancel) the call
 *  returns the error at once, and the scope's end still waits for fn to return,
 *  so memory that fn uses stays valid. */
int tern_run_blocking(void *(*fn)(void *arg), void *arg, void **result);

/** Runs main_fn(arg) as a coroutine on a fresh event loop on this thread until it and
 *  every task it spawned finish (asyncio.run). Stores its result. Tasks left waiting on
 *  something that can never happen (the loop has nothing left to run) are cancelled;
 *  if main itself was one of them, returns -EDEADLK. 0 or an error. */
int tern_loop_run(tern_task_fn main_fn, void *arg, void **result);

/** Milliseconds on the worker's loop clock (uv_now): cheap, monotonic. */
uint64_t tern_now_ms(void);

#endif
