/* examples/08_async_iter.c - async iteration: a reader that yields 1..99, and a MySQL cursor.
 *
 * Teaches: `async for` is a loop whose "next" may wait. In C that is a next() function that
 * returns 1 with a value or 0 at the end, and may yield inside. A tern_sql_cursor is the
 * same shape: rows stream from the server as they arrive.
 *
 *     class Reader:
 *         async def readline(self):
 *             self.count += 1
 *             return None if self.count == 100 else self.count
 *         def __aiter__(self): return self
 *         async def __anext__(self):
 *             val = await self.readline()
 *             if val is None: raise StopAsyncIteration
 *             return val
 *     async for item in Reader(): print(item)
 *
 * Usage: 08_async_iter [MYSQL_URL]; with a URL it also streams world ids 1..10 via a cursor. */
#include <stdio.h>
#include <tern/tern.h>

typedef struct reader {
    int count;
} reader;

/* __anext__: 1 with *val, 0 at the end (StopAsyncIteration). */
static int reader_next(reader *r, int *val)
{
    tern_sleep(1); /* stands for awaiting I/O: the loop may run others here */
    if (++r->count == 100)
        return 0;
    *val = r->count;
    return 1;
}

static int cursor_demo(const char *url)
{
    tern_sql_opts o = {.url = url};
    tern_sql_pool *p;
    if (tern_sql_pool_new(&o, &p) < 0)
        return -1;
    tern_sql_conn *c = NULL;
    tern_sql_cursor *cur = NULL;
    int rc = tern_sql_acquire(p, &c);
    if (rc == 0)
        rc = tern_sql_cursor_open(c, &cur, "SELECT id FROM world WHERE id <= ? ORDER BY id",
                                  TERN_SQL_ARGS(TERN_I64(10)));
    if (rc == 0) {
        json_t *row;
        int n = 0;
        printf("cursor:");
        while ((rc = tern_sql_cursor_next(cur, &row)) == 1) { /* async for row in cursor */
            printf(" %lld", (long long)json_integer_value(json_object_get(row, "id")));
            json_decref(row); /* each row is a new reference */
            n++;
        }
        printf("\ncursor rows: %d\n", n);
        tern_sql_cursor_close(cur);
    }
    if (rc < 0)
        fprintf(stderr, "mysql: %d %s\n", rc, tern_errmsg());
    if (c)
        tern_sql_release(c);
    tern_sql_pool_free(p);
    return rc < 0 ? -1 : 0;
}

static void *main_task(void *arg)
{
    const char *url = arg;
    reader r = {0};
    int val, sum = 0;
    printf("reader:");
    while (reader_next(&r, &val)) { /* async for item in Reader() */
        printf(" %d", val);
        sum += val;
    }
    printf("\nreader sum: %d\n", sum);
    if (url && cursor_demo(url) < 0)
        return (void *)1;
    return NULL;
}

int main(int argc, char **argv)
{
    void *err = NULL;
    int rc = tern_loop_run(main_task, argc > 1 ? argv[1] : NULL, &err);
    if (rc < 0 || err) {
        fprintf(stderr, "failed: %d %s\n", rc, tern_errmsg());
        return 1;
    }
    return 0;
}
