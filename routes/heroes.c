/* routes/heroes.c - FastAPI's SQL tutorial on MySQL: create, list, read, update and
 * delete heroes. Reads of one hero go through a Redis cache that updates and deletes
 * invalidate; when Redis is away the routes still work from MySQL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routes.h"

#define CACHE_TTL_S 60

static const char *const hero_columns = "id, name, secret_name, age";

/* ---- models (FastAPI's SQL tutorial: HeroCreate, HeroUpdate, Hero) ------------- */

/* class HeroCreate: name: str; secret_name: str; age: int | None = None */
static const tern_field hero_create_fields[] = {
    TERN_FIELD_STR("name", TERN_MIN_LENGTH(1), TERN_MAX_LENGTH(255)),
    TERN_FIELD_STR("secret_name", TERN_MAX_LENGTH(255)),
    TERN_FIELD_INT("age", TERN_GE(0), TERN_NULLABLE, TERN_DEFAULT_JSON("null")),
    {0},
};
static const tern_model hero_create = {"HeroCreate", hero_create_fields,
                                       "A new hero: the id is given by the database.", false};

/* class HeroUpdate: every field may be left out, and only the fields sent are changed
 * (the tutorial's exclude_unset). Unlike the tutorial, name and secret_name cannot be
 * set to null: the columns are NOT NULL, and a 422 beats a database error. */
static const tern_field hero_update_fields[] = {
    TERN_FIELD_STR("name", TERN_MIN_LENGTH(1), TERN_MAX_LENGTH(255), TERN_OPTIONAL),
    TERN_FIELD_STR("secret_name", TERN_MAX_LENGTH(255), TERN_OPTIONAL),
    TERN_FIELD_INT("age", TERN_GE(0), TERN_NULLABLE, TERN_OPTIONAL),
    {0},
};
static const tern_model hero_update = {"HeroUpdate", hero_update_fields,
                                       "Fields to change; the others stay as they are.", false};

/* class Hero: what the routes answer */
static const tern_field hero_fields[] = {
    TERN_FIELD_INT("id"),
    TERN_FIELD_STR("name"),
    TERN_FIELD_STR("secret_name"),
    TERN_FIELD_INT("age", TERN_NULLABLE),
    {0},
};
static const tern_model hero = {"Hero", hero_fields, "A hero as stored.", false};

static const tern_response_decl hero_not_found[] = {
    {.status = 404, .description = "Hero not found"},
    {0},
};

/* ---- the cache ------------------------------------------------------------------- */

static json_t *cache_get(int64_t id)
{
    tern_redis_reply *r;
    if (tern_redis(&r, "GET hero:%lld", (long long)id) < 0 || r->type != TERN_REDIS_STRING)
        return NULL; /* a miss, or Redis away: MySQL answers */
    return json_loadb(r->str, r->len, 0, NULL);
}

static void cache_put(int64_t id, json_t *hero)
{
    char *text = json_dumps(hero, JSON_COMPACT);
    tern_redis_reply *r;
    if (text)
        tern_redis(&r, "SET hero:%lld %s EX %d", (long long)id, text, CACHE_TTL_S);
    free(text);
}

static void cache_drop(int64_t id)
{
    tern_redis_reply *r;
    tern_redis(&r, "DEL hero:%lld", (long long)id);
}

/* ---- handlers -------------------------------------------------------------------- */

static int read_hero(int64_t id, json_t **hero)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT %s FROM hero WHERE id = ?", hero_columns);
    return tern_sql_row(hero, sql, TERN_SQL_ARGS(TERN_I64(id)));
}

static tern_sql_arg age_arg(json_t *body)
{
    json_t *age = json_object_get(body, "age");
    if (!age || json_is_null(age))
        return TERN_SQLNULL;
    return TERN_I64(json_integer_value(age));
}

static json_t *create_hero(tern_req *req)
{
    json_t *body = tern_body_json(req); /* validated before we run */
    tern_sql_result res;
    int rc = tern_sql_run(&res, "INSERT INTO hero (name, secret_name, age) VALUES (?, ?, ?)",
                          TERN_SQL_ARGS(TERN_TEXT(json_string_value(json_object_get(body, "name"))),
                                        TERN_TEXT(json_string_value(json_object_get(body, "secret_name"))),
                                        age_arg(body)));
    if (rc < 0)
        return tern_error_from_code(req, rc);
    json_t *hero = NULL;
    rc = read_hero((int64_t)res.insert_id, &hero);
    if (rc < 0)
        return tern_error_from_code(req, rc);
    if (rc == 0) {
        /* A DELETE of the new id got in between the INSERT and the read (another
         * request, another connection): the hero was created, answer what was stored. */
        hero = json_pack("{s:I,s:O,s:O,s:O}", "id", (json_int_t)res.insert_id, "name",
                         json_object_get(body, "name"), "secret_name",
                         json_object_get(body, "secret_name"), "age", json_object_get(body, "age"));
    }
    return hero;
}

static json_t *list_heroes(tern_req *req)
{
    json_t *rows;
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT %s FROM hero ORDER BY id LIMIT ? OFFSET ?", hero_columns);
    int rc = tern_sql_rows(&rows, sql,
                           TERN_SQL_ARGS(TERN_I64(tern_param_int(req, "limit")),
                                         TERN_I64(tern_param_int(req, "offset"))));
    return rc < 0 ? tern_error_from_code(req, rc) : rows;
}

static json_t *get_hero(tern_req *req)
{
    int64_t id = tern_path_int(req, "hero_id");
    json_t *hero = cache_get(id);
    if (hero)
        return hero;
    int rc = read_hero(id, &hero);
    if (rc < 0)
        return tern_error_from_code(req, rc);
    if (rc == 0)
        return tern_error(req, 404, "Hero not found");
    cache_put(id, hero);
    return hero;
}

static json_t *update_hero(tern_req *req)
{
    int64_t id = tern_path_int(req, "hero_id");
    json_t *body = tern_body_json(req); /* holds only the fields the client sent */
    json_t *hero;
    int rc = read_hero(id, &hero);
    if (rc <= 0)
        return rc < 0 ? tern_error_from_code(req, rc) : tern_error(req, 404, "Hero not found");
    json_object_update_existing(hero, body);
    rc = tern_sql_run(NULL, "UPDATE hero SET name = ?, secret_name = ?, age = ? WHERE id = ?",
                      TERN_SQL_ARGS(TERN_TEXT(json_string_value(json_object_get(hero, "name"))),
                                    TERN_TEXT(json_string_value(json_object_get(hero, "secret_name"))),
                                    age_arg(hero), TERN_I64(id)));
    if (rc < 0) {
        json_decref(hero);
        return tern_error_from_code(req, rc);
    }
    cache_drop(id);
    return hero;
}

static json_t *delete_hero(tern_req *req)
{
    int64_t id = tern_path_int(req, "hero_id");
    tern_sql_result res;
    int rc = tern_sql_run(&res, "DELETE FROM hero WHERE id = ?", TERN_SQL_ARGS(TERN_I64(id)));
    if (rc < 0)
        return tern_error_from_code(req, rc);
    if (res.affected_rows == 0)
        return tern_error(req, 404, "Hero not found");
    cache_drop(id);
    return json_pack("{s:b}", "ok", 1);
}

/* Creates the table when the service may (the schema file also creates it). */
static void create_table(void)
{
    if (!tern_sql_default())
        return; /* no MySQL configured: the hero routes answer 503 */
    int rc = tern_sql_run(NULL,
                          "CREATE TABLE IF NOT EXISTS hero (id INT AUTO_INCREMENT PRIMARY KEY, "
                          "name VARCHAR(255) NOT NULL, secret_name VARCHAR(255) NOT NULL, "
                          "age INT NULL, INDEX (name), INDEX (age))",
                          NULL, 0);
    if (rc < 0)
        fprintf(stderr, "heroes: cannot create table hero (%s); expecting it to exist\n",
                tern_errmsg());
}

static const tern_param list_params[] = {
    TERN_QUERY_INT("offset", TERN_DEFAULT("0"), TERN_GE(0)),
    TERN_QUERY_INT("limit", TERN_DEFAULT("100"), TERN_GE(1), TERN_LE(100)),
    {0},
};

static const tern_param hero_id_params[] = {
    TERN_PATH_INT("hero_id"),
    {0},
};

void routes_heroes(tern_app *app)
{
    tern_on_worker_start(app, create_table);
    tern_post(app, "/heroes", create_hero, .summary = "Create a hero", .body = &hero_create,
              .response_model = &hero);
    tern_get(app, "/heroes", list_heroes, .params = list_params, .summary = "List heroes",
             .response_model = &hero, .response_is_list = true);
    tern_get(app, "/heroes/{hero_id}", get_hero, .params = hero_id_params, .summary = "Read a hero",
             .response_model = &hero, .responses = hero_not_found);
    tern_patch(app, "/heroes/{hero_id}", update_hero, .params = hero_id_params,
               .summary = "Update a hero", .body = &hero_update, .response_model = &hero,
               .responses = hero_not_found);
    tern_delete(app, "/heroes/{hero_id}", delete_hero, .params = hero_id_params,
                .summary = "Delete a hero", .responses = hero_not_found);
}
