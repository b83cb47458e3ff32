/* tern/app.h - the application object: config, routes, workers. */
#ifndef TERN_APP_H
#define TERN_APP_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "route.h"

/** Creates an app from config/tern.yaml, TERN_* variables and the command line.
 *  Prints one line and exits 2 on a bad setting; prints help and exits 0 on --help. */
tern_app *tern_app_new(int argc, char **argv);

/** Creates an app from a ready config (copied); for tests and embedding. */
tern_app *tern_app_new_with_config(const tern_config *cfg);

/** The app's settings (read-only once tern_run starts). */
const tern_config *tern_app_config(const tern_app *app);

/** Runs fn once on every worker, on a coroutine, after the worker's pools open and
 *  while it starts serving (FastAPI's startup event, per worker): warm a cache, create
 *  a table. Its waits have no deadline; at shutdown they are cancelled. */
void tern_on_worker_start(tern_app *app, void (*fn)(void));

/** Runs fn once on every worker's thread after it stopped serving (no request or task
 *  left, pools closed; not on a coroutine): free what a start hook made per worker. */
void tern_on_worker_stop(tern_app *app, void (*fn)(void));

/** Answers validation failures (parameters and body) the app's own way, like FastAPI's
 *  exception_handler(RequestValidationError): fn gets the request and the error entries
 *  (borrowed) and returns the response body (sent with 422 unless fn calls
 *  tern_set_status; tern_set_header works too). It runs before any coroutine exists, on
 *  the loop: it must not wait. */
typedef json_t *(*tern_validation_handler)(tern_req *req, json_t *errors);

/** Installs fn as the app's validation-error handler (NULL: FastAPI's {"detail": errors}). */
void tern_on_validation_error(tern_app *app, tern_validation_handler fn);

/** Readiness of the running worker's pools: true when every configured pool (redis.url,
 *  mysql.url) can serve; false with a detail naming what is down. For /readyz. */
bool tern_ready(char *detail, size_t n);

/** Frees an app that will not run (tern_run frees the app it ran). */
void tern_app_free(tern_app *app);

/** Runs the workers until SIGTERM/SIGINT, drains in-flight requests, frees the app.
 *  Returns the process exit code (0 after a clean shutdown, 2 on bad routes or
 *  start-up failures such as a busy port). */
int tern_run(tern_app *app);

#endif
