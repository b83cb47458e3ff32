/* examples/02_generator.c - a generator-like coroutine that yields values (yield / yield from).
 *
 * Teaches: a generator is a coroutine that hands values to its consumer one at a time and
 * pauses in between. C has no `yield`, but a tern task can pause anywhere, so a generator is
 * a task plus two futures used as a one-slot channel: `item` carries a value to the consumer,
 * `resume` tells the generator to go on.
 *
 *     def func1():            def func2():
 *         yield 1                 yield 3
 *         yield from func2()      yield 4
 *         yield 2
 *     for item in func1(): print(item)
 *
 * Output: 1, 3, 4, 2. "yield from" is a plain function call here: the pause belongs to the
 * coroutine, not to the function, so a helper called by the generator can yield too. */
#include <stdint.h>
#include <stdio.h>
#include <tern/tern.h>

typedef struct gen gen;
typedef void (*gen_body)(gen *g);

struct gen {
    gen_body body;
    tern_task *task;      /* started lazily by the first gen_next, like a Python generator */
    tern_future *item;    /* the next value (or GEN_END) for the consumer */
    tern_future *resume;  /* set by the consumer when it wants another value */
};

static int gen_end_marker;
#define GEN_END ((void *)&gen_end_marker)

/* yield v: give v to the consumer and pause until it asks for the next one. */
static void gen_yield(gen *g, void *v)
{
    g->resume = tern_future_new(); /* before waking the consumer, which sets it later */
    tern_future_set(g->item, v);
    tern_await(g->resume, -1, NULL);
}

static void *gen_run(void *arg)
{
    gen *g = arg;
    g->body(g);
    tern_future_set(g->item, GEN_END); /* StopIteration */
    return NULL;
}

/* next(g): 1 and *v, or 0 when the generator has finished. */
static int gen_next(gen *g, void **v)
{
    g->item = tern_future_new();
    if (!g->task)
        g->task = tern_spawn(gen_run, g);
    else
        tern_future_set(g->resume, NULL);
    if (!g->task || tern_await(g->item, -1, v) < 0 || *v == GEN_END)
        return 0;
    return 1;
}

static void func2(gen *g)
{
    gen_yield(g, (void *)3);
    gen_yield(g, (void *)4);
}

static void func1(gen *g)
{
    gen_yield(g, (void *)1);
    func2(g); /* yield from func2() */
    gen_yield(g, (void *)2);
}

static void *main_task(void *arg)
{
    (void)arg;
    gen g = {.body = func1};
    void *v;
    while (gen_next(&g, &v)) /* for item in func1(): */
        printf("%d\n", (int)(intptr_t)v);
    return NULL;
}

int main(void)
{
    int rc = tern_loop_run(main_task, NULL, NULL);
    if (rc < 0) {
        fprintf(stderr, "failed: %d %s\n", rc, tern_errmsg());
        return 1;
    }
    return 0;
}
