/* routes/secure.c - dependencies (FastAPI's Depends) guarding routes: an API key in a
 * header, a bearer token naming a user the handler then reads, and a route group whose
 * every route needs an admin. The keys are constants for the demo; a real service
 * would look the token up in Redis or SQL inside the dependency (it may wait). */
#include <string.h>
#include <strings.h>

#include "routes.h"

typedef struct user {
    const char *token, *name;
    bool admin;
} user;

static const user users[] = {
    {"alice-token", "alice", false},
    {"root-token", "root", true},
};

static const char demo_api_key[] = "demo-key";

/* 401 with the challenge a client needs to retry (RFC 9110 section 11.6.1). */
static json_t *unauthorized(tern_req *req, const char *detail, const char *challenge)
{
    tern_set_header(req, "WWW-Authenticate", challenge);
    return tern_error(req, 401, detail);
}

static json_t *api_key(tern_req *req)
{
    const char *key = tern_header(req, "X-API-Key");
    if (!key)
        return unauthorized(req, "Not authenticated", "APIKey");
    if (strcmp(key, demo_api_key) != 0)
        return tern_error(req, 403, "Invalid API key");
    return NULL;
}

static json_t *bearer_user(tern_req *req)
{
    const char *auth = tern_header(req, "Authorization");
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0 || !auth[7])
        return unauthorized(req, "Not authenticated", "Bearer");
    for (size_t i = 0; i < sizeof users / sizeof users[0]; i++)
        if (!strcmp(auth + 7, users[i].token)) {
            tern_dep_set(req, "user", (void *)&users[i]);
            return NULL;
        }
    return unauthorized(req, "Invalid token", "Bearer error=\"invalid_token\"");
}

/* Runs after bearer_user in the admin group's list, so the user is there. */
static json_t *admin_only(tern_req *req)
{
    const user *u = tern_dep_get(req, "user");
    return u->admin ? NULL : tern_error(req, 403, "Admins only");
}

static const tern_dependency need_key[] = {{"api_key", api_key}, {0}};
static const tern_dependency need_user[] = {{"bearer_user", bearer_user}, {0}};
static const tern_dependency need_admin[] = {
    {"bearer_user", bearer_user}, {"admin", admin_only}, {0}};

static json_t *key_handler(tern_req *req)
{
    (void)req;
    return json_pack("{s:s}", "message", "API key accepted");
}

static json_t *me_handler(tern_req *req)
{
    const user *u = tern_dep_get(req, "user");
    return json_pack("{s:s,s:b}", "user", u->name, "admin", u->admin);
}

static json_t *admin_handler(tern_req *req)
{
    const user *u = tern_dep_get(req, "user");
    return json_pack("{s:s,s:s}", "area", "admin", "user", u->name);
}

void routes_secure(tern_app *app)
{
    tern_get(app, "/secure/key", key_handler, .depends = need_key,
             .summary = "Needs the X-API-Key header");
    tern_get(app, "/secure/me", me_handler, .depends = need_user,
             .summary = "The user of the bearer token");
    tern_group(app, "/secure/admin", .depends = need_admin);
    tern_get(app, "/secure/admin/stats", admin_handler,
             .summary = "Admins only (group dependency)");
}
