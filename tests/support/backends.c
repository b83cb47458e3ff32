/* tests/support/backends.c - see backends.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backends.h"
#include "service.h"

typedef enum { KIND_REDIS, KIND_MARIADB } kind;

static const char *source_root(void)
{
    const char *r = getenv("TERN_SOURCE_ROOT");
    return r && *r ? r : ".";
}

static int run(const char *cmd)
{
    int rc = system(cmd);
    return rc == 0 ? 0 : -1;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static pid_t spawn(const char *log, char *const argv[])
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        /* a test that dies (crash, Criterion's timeout) takes its servers with it,
         * instead of leaving them running on the machine */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        setpgid(0, 0); /* a SIGINT to the test must not reach the server first */
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* Polls cmd until it succeeds, the server dies, or 30 s pass. */
static int wait_ready(backend *b, const char *cmd)
{
    for (int i = 0; i < 600; i++) {
        int st;
        if (waitpid(b->pid, &st, WNOHANG) == b->pid) {
            b->pid = 0;
            fprintf(stderr, "backend exited during start-up; see %s\n", b->log);
            return -1;
        }
        if (run(cmd) == 0)
            return 0;
        sleep_ms(50);
    }
    fprintf(stderr, "backend not ready after 30 s; see %s\n", b->log);
    return -1;
}

static int start_redis(backend *b)
{
    char port[16], dir[300];
    snprintf(port, sizeof port, "%d", b->port);
    snprintf(dir, sizeof dir, "%s", b->dir);
    char *argv[] = {"redis-server", "--bind", "127.0.0.1", "--port", port, "--dir", dir,
                    "--save", "", "--appendonly", "no", "--protected-mode", "no", NULL};
    b->pid = spawn(b->log, argv);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "redis-cli -p %d ping >/dev/null 2>&1", b->port);
    return wait_ready(b, cmd);
}

static int start_mariadb(backend *b)
{
    char datadir[300], sock[300], port[32], pidf[300];
    snprintf(datadir, sizeof datadir, "--datadir=%s/data", b->dir);
    snprintf(sock, sizeof sock, "--socket=%s/mysql.sock", b->dir);
    snprintf(pidf, sizeof pidf, "--pid-file=%s/mysqld.pid", b->dir);
    snprintf(port, sizeof port, "--port=%d", b->port);
    char *argv[] = {"/usr/sbin/mariadbd", "--no-defaults", datadir, sock, pidf, port,
                    "--bind-address=127.0.0.1", "--skip-name-resolve",
                    "--innodb-buffer-pool-size=64M", "--max-connections=500",
                    getuid() == 0 ? "--user=root" : NULL, NULL};
    b->pid = spawn(b->log, argv);
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "mariadb --no-defaults -h127.0.0.1 -P%d -ubenchmarkdbuser -pbenchmarkdbpass "
             "hello_world -e 'SELECT 1' >/dev/null 2>&1",
             b->port);
    return wait_ready(b, cmd);
}

static int make_dir(backend *b, const char *what)
{
    snprintf(b->dir, sizeof b->dir, "/tmp/tern-%s-XXXXXX", what);
    if (!mkdtemp(b->dir))
        return -1;
    snprintf(b->log, sizeof b->log, "%s/server.log", b->dir);
    b->port = svc_free_port();
    return b->port > 0 ? 0 : -1;
}

int backend_redis_start(backend *b)
{
    memset(b, 0, sizeof(*b));
    if (make_dir(b, "redis") < 0)
        return -1;
    snprintf(b->url, sizeof b->url, "redis://127.0.0.1:%d/0", b->port);
    return start_redis(b);
}

/* The template data directory: mariadb-install-db and the schema load take seconds,
 * so they run once per machine (per uid) and each test copies the result. */
/* FNV-1a over the schema files: a changed schema gets a fresh template. */
static unsigned long schema_hash(void)
{
    const char *files[] = {"db/tfb_create.sql", "db/tern_schema.sql"};
    unsigned long h = 1469598103934665603UL;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", source_root(), files[i]);
        FILE *f = fopen(path, "r");
        int c;
        while (f && (c = fgetc(f)) != EOF)
            h = (h ^ (unsigned char)c) * 1099511628211UL;
        if (f)
            fclose(f);
    }
    return h;
}

static int mariadb_template(char *out, size_t n)
{
    snprintf(out, n, "/tmp/tern-mariadb-template-%d-%lx", (int)getuid(), schema_hash());
    char marker[400];
    snprintf(marker, sizeof marker, "%s/.ready", out);
    if (access(marker, F_OK) == 0)
        return 0;
    char cmd[2048];
    int port = svc_free_port();
    /* build in a private folder, then rename: concurrent tests never see half a template;
     * whatever step fails, the trap stops the server and removes the folder */
    snprintf(cmd, sizeof cmd,
             "set -e; sp=; t=$(mktemp -d %s.build-XXXXXX); "
             "trap 'set +e; if [ -n \"$sp\" ]; then kill $sp; wait $sp; fi 2>/dev/null; "
             "if [ -d $t ] && [ ! -f $t/.ready ]; then rm -rf $t; fi' EXIT; "
             "mariadb-install-db --no-defaults --datadir=$t/data %s "
             "--auth-root-authentication-method=normal --skip-test-db >$t/install.log 2>&1; "
             "/usr/sbin/mariadbd --no-defaults --datadir=$t/data --socket=$t/s.sock "
             "--pid-file=$t/p.pid --port=%d --bind-address=127.0.0.1 --skip-name-resolve %s "
             ">$t/server.log 2>&1 & sp=$!; "
             "for i in $(seq 300); do mariadb --no-defaults -uroot --socket=$t/s.sock -e 'SELECT 1' "
             ">/dev/null 2>&1 && break; sleep 0.1; done; "
             "mariadb --no-defaults -uroot --socket=$t/s.sock < %s/db/tfb_create.sql; "
             "mariadb --no-defaults -uroot --socket=$t/s.sock < %s/db/tern_schema.sql; "
             "kill $sp; wait $sp || true; sp=; "
             "touch $t/.ready; mv -T $t %s 2>/dev/null || rm -rf $t",
             out, getuid() == 0 ? "--user=root" : "", port, getuid() == 0 ? "--user=root" : "",
             source_root(), source_root(), out);
    if (run(cmd) < 0 || access(marker, F_OK) != 0) {
        fprintf(stderr, "could not build the MariaDB template in %s\n", out);
        return -1;
    }
    return 0;
}

int backend_mariadb_start(backend *b)
{
    memset(b, 0, sizeof(*b));
    char tmpl[300];
    if (mariadb_template(tmpl, sizeof tmpl) < 0 || make_dir(b, "mariadb") < 0)
        return -1;
    snprintf(b->url, sizeof b->url,
             "mysql://benchmarkdbuser:benchmarkdbpass@127.0.0.1:%d/hello_world", b->port);
    char cmd[800];
    snprintf(cmd, sizeof cmd, "cp -a %s/data %s/data", tmpl, b->dir);
    if (run(cmd) < 0)
        return -1;
    return start_mariadb(b);
}

int backend_restart(backend *b)
{
    if (b->pid)
        return 0;
    return strstr(b->url, "redis://") ? start_redis(b) : start_mariadb(b);
}

/* The state letter of /proc/PID/stat ('T' when stopped). */
static char proc_state(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return '?';
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
    return p && p[1] == ' ' ? p[2] : '?';
}

int backend_signal(backend *b, int sig)
{
    if (!b->pid || kill(b->pid, sig) < 0)
        return -1;
    /* a signal is delivered asynchronously: wait until the server really is (not) stopped */
    for (int i = 0; (sig == SIGSTOP || sig == SIGCONT) && i < 200; i++) {
        char st = proc_state(b->pid);
        if ((sig == SIGSTOP) == (st == 'T' || st == 't'))
            break;
        sleep_ms(5);
    }
    return 0;
}

static void reap(backend *b, int first_sig, int wait_s)
{
    if (!b->pid)
        return;
    kill(b->pid, SIGCONT); /* a frozen server cannot exit */
    kill(b->pid, first_sig);
    for (int i = 0; i < wait_s * 20; i++) {
        if (waitpid(b->pid, NULL, WNOHANG) == b->pid) {
            b->pid = 0;
            return;
        }
        sleep_ms(50);
    }
    kill(b->pid, SIGKILL);
    waitpid(b->pid, NULL, 0);
    b->pid = 0;
}

void backend_kill(backend *b)
{
    reap(b, SIGKILL, 5);
}

void backend_stop(backend *b)
{
    reap(b, SIGTERM, 10);
    if (b->dir[0]) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf %s", b->dir);
        run(cmd);
        b->dir[0] = '\0';
    }
}

int svc_start_with_backends(svc *s, backend *redis, backend *maria, const char *const *env)
{
    if (backend_redis_start(redis) < 0 || backend_mariadb_start(maria) < 0)
        return -1;
    /* putenv keeps the pointers: they must outlive the fork, so they are static */
    static char r_env[300], m_env[300];
    snprintf(r_env, sizeof r_env, "TERN_REDIS_URL=%s", redis->url);
    snprintf(m_env, sizeof m_env, "TERN_MYSQL_URL=%s", maria->url);
    const char *all[32] = {r_env, m_env};
    size_t n = 2;
    for (size_t i = 0; env && env[i] && n < 31; i++)
        all[n++] = env[i];
    all[n] = NULL;
    return svc_start(s, NULL, NULL, all, "/healthz") < 0 ? -1 : 0;
}

void *backend_kill_blocking(void *b)
{
    backend_kill(b);
    return NULL;
}

void *backend_restart_blocking(void *b)
{
    return (void *)(intptr_t)(backend_restart(b) == 0);
}
