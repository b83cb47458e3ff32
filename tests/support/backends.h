/* tests/support/backends.h - private redis-server and mariadbd for a test: free
 * loopback port, scratch directory, started and stopped by pid (never by name). */
#ifndef TERN_TEST_BACKENDS_H
#define TERN_TEST_BACKENDS_H

#include <sys/types.h>

#include "service.h"

/** A server process started by a test. */
typedef struct backend {
    pid_t pid;
    int port;
    char dir[256];   /**< scratch directory (removed by backend_stop) */
    char url[256];   /**< redis://127.0.0.1:P/0 or mysql://benchmarkdbuser:benchmarkdbpass@127.0.0.1:P/hello_world */
    char log[320];   /**< the server's log file */
} backend;

/** Starts redis-server (no persistence) and waits until it answers PING. 0 or -1. */
int backend_redis_start(backend *b);

/** Starts mariadbd with the TechEmpower schema and data (db/tfb_create.sql, found via
 *  $TERN_SOURCE_ROOT) and waits until benchmarkdbuser can log in. The first call per
 *  machine builds a template data directory that later calls copy. 0 or -1. */
int backend_mariadb_start(backend *b);

/** Restarts a stopped backend on the same port and directory (after backend_kill). */
int backend_restart(backend *b);

/** Sends sig to the server (SIGSTOP/SIGCONT to freeze and thaw it). */
int backend_signal(backend *b, int sig);

/** Kills the server (SIGKILL) and reaps it, keeping its directory for a restart. */
void backend_kill(backend *b);

/** backend_kill and backend_restart as tern_run_blocking bodies (arg: the backend; the
 *  restart returns non-NULL when it worked). */
void *backend_kill_blocking(void *b);
/** See backend_kill_blocking. */
void *backend_restart_blocking(void *b);

/** Stops the server (SIGTERM, then SIGKILL after 10 s) and removes its directory. */
void backend_stop(backend *b);

/** Starts redis-server and mariadbd, then tern-service with TERN_REDIS_URL and
 *  TERN_MYSQL_URL naming them plus env ("K=V", NULL-terminated); waits for /healthz.
 *  0 or -1. */
int svc_start_with_backends(svc *s, backend *redis, backend *maria, const char *const *env);

#endif
