/* routes/routes.h - the example service's resources; each file registers its own. */
#ifndef TERN_ROUTES_H
#define TERN_ROUTES_H

#include <tern/tern.h>

/** GET /, /json, /plaintext: hello world and the TechEmpower basics. */
void routes_hello(tern_app *app);

/** GET /items/{item_id}: FastAPI's first tutorial. */
void routes_items(tern_app *app);

/** GET /sleep?ms=N: awaits N ms on the handler's coroutine. */
void routes_sleep(tern_app *app);

/** GET /healthz, /readyz: liveness and readiness. */
void routes_health(tern_app *app);

/** GET /red: the tutorial's Redis demo. */
void routes_redis_demo(tern_app *app);

/** GET /mysql, /db: the tutorial's MySQL demo and TechEmpower's single query. */
void routes_mysql_demo(tern_app *app);

/** Heroes CRUD (FastAPI's SQL tutorial) with a Redis cache. */
void routes_heroes(tern_app *app);

/** GET /crawl: fetch the configured URLs concurrently. */
void routes_crawl(tern_app *app);

/** GET /queries, /updates, /fortunes, /cached-queries: the other TechEmpower tests. */
void routes_tfb(tern_app *app);

/** GET /secure/key, /secure/me, /secure/admin/stats: dependencies guarding routes. */
void routes_secure(tern_app *app);

/** GET /stream, /sse: a streamed answer and Server-Sent Events. */
void routes_events(tern_app *app);

#endif
