/* server/future.c - one-shot futures: set once, awaited by any number of tasks. */
#include "tern/error.h"
#include "scheduler.h"

struct tern_future {
    bool done;
    void *value;
    tern_waitq waiters;
};

tern_future *tern_future_new(void)
{
    tern_task *cur = tern__current();
    if (!cur) {
        tern_set_errmsg("tern_future_new called outside a coroutine");
        return NULL;
    }
    /* Scope memory: a future lives exactly as long as the request that made it. */
    tern_future *f = tern_arena_alloc(cur->scope->arena, sizeof(*f));
    if (!f) {
        tern_set_errmsg("out of memory for a future");
        return NULL;
    }
    f->done = false;
    f->value = NULL;
    f->waiters.head = f->waiters.tail = NULL;
    return f;
}

int tern_future_set(tern_future *f, void *value)
{
    if (f->done)
        return -EALREADY;
    f->done = true;
    f->value = value;
    tern__waitq_wake_all(&f->waiters, 0);
    return 0;
}

bool tern_future_done(const tern_future *f)
{
    return f->done;
}

int tern_await(tern_future *f, int64_t timeout_ms, void **value)
{
    if (!f->done) {
        if (!tern__current()) {
            tern_set_errmsg("tern_await called outside a coroutine");
            return -EINVAL;
        }
        tern_waitnode node;
        tern__waitq_add(&f->waiters, &node, tern__waiter());
        int rc = tern__wait(timeout_ms);
        tern__waitq_remove(&f->waiters, &node);
        if (rc == TERN__EWAITTIME)
            return TERN_ETIMEDOUT; /* like asyncio.wait_for: the wait's own timeout */
        if (rc < 0)
            return rc;
    }
    if (value)
        *value = f->value;
    return 0;
}
