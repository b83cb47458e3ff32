/* routes/heroes.c - FastAPI's SQL tutorial on MySQL: create, list, read, update and
 * delete heroes. Reads of one hero go through a Redis cache that updates and deletes
 * invalidate; when Redis is away the routes still work from MySQL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routes.h"

#define CACHE_TTL_S 60

static const char *const hero_columns = "id, name, secret_name, age";

/* ---- body validation (FastAPI's shapes; the declarative layer comes later) ------- */

static json_t *body_loc(const char *field)
{
    return field ? json_pack("[s,s]", "body", field) : json_pack("[s]", "body");
}

/* Checks one field of a hero body; appends an error entry when it is wrong. */
static void check_field(json_t *body, const char *name, bool required, bool is_int,
                        json_t *errors)
{
    json_t *v = json_object_get(body, name);
    if (!v || (json_is_null(v) && required)) {
        if (required || v)
            json_array_append_new(errors, tern_validation_entry("missing", body_loc(name),
                                                                json_incref(body), NULL));
        return;
    }
    if (json_is_null(v))
        return; /* optional and null */
    if (is_int) {
        if (json_is_integer(v))
            return;
        const char *type = json_is_real(v) ? "int_from_float"
                           : json_is_string(v) ? "int_parsing" : "int_type";
        if (json_is_real(v) && json_real_value(v) == (double)(json_int_t)json_real_value(v))
            return; /* 3.0 is a fine integer for pydantic */
        json_array_append_new(errors,
                              tern_validation_entry(type, body_loc(name), json_incref(v), NULL));
    } else if (!json_is_string(v)) {
        json_array_append_new(errors, tern_validation_entry("string_type", body_loc(name),
                                                            json_incref(v), NULL));
    }
}

/* Parses and validates a hero body. On failure returns NULL and *error holds the 422
 * answer. partial: every field optional (PATCH). */
static json_t *hero_body(tern_req *req, bool partial, json_t **error)
{
    size_t len;
    const char *text = tern_body(req, &len);
    json_error_t jerr;
    json_t *body = json_loadb(text, len, 0, &jerr);
    json_t *errors = json_array();
    if (!body) {
        json_t *loc = json_pack("[s,i]", "body", (json_int_t)jerr.position);
        json_array_append_new(errors, tern_validation_entry("json_invalid", loc, json_object(),
                                                            json_pack("{s:s}", "error", jerr.text)));
    } else if (!json_is_object(body)) {
        json_array_append_new(errors, tern_validation_entry("model_attributes_type", body_loc(NULL),
                                                            json_incref(body), NULL));
    } else {
        check_field(body, "name", !partial, false, errors);
        check_field(body, "secret_name", !partial, false, errors);
        check_field(body, "age", false, true, errors);
    }
    if (json_array_size(errors)) {
        json_decref(body);
        *error = tern_validation_error(req, errors);
        return NULL;
    }
    json_decref(errors);
    return body;
}

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
    return TERN_I64(json_is_integer(age) ? json_integer_value(age) : (int64_t)json_real_value(age));
}

static json_t *create_hero(tern_req *req)
{
    json_t *error = NULL, *body = hero_body(req, false, &error);
    if (!body)
        return error;
    tern_sql_result res;
    int rc = tern_sql_run(&res, "INSERT INTO hero (name, secret_name, age) VALUES (?, ?, ?)",
                          TERN_SQL_ARGS(TERN_TEXT(json_string_value(json_object_get(body, "name"))),
                                        TERN_TEXT(json_string_value(json_object_get(body, "secret_name"))),
                                        age_arg(body)));
    json_t *hero = NULL;
    if (rc >= 0)
        rc = read_hero((int64_t)res.insert_id, &hero);
    if (rc == 0) {
        /* A DELETE of the new id got in between the INSERT and the read (another
         * request, another connection): the hero was created, answer what was stored. */
        tern_sql_arg age = age_arg(body);
        hero = json_pack("{s:I,s:O,s:O,s:o}", "id", (json_int_t)res.insert_id, "name",
                         json_object_get(body, "name"), "secret_name",
                         json_object_get(body, "secret_name"), "age",
                         age.type == TERN_SQL_NULL ? json_null() : json_integer(age.i));
    }
    json_decref(body);
    return rc < 0 ? tern_error_from_code(req, rc) : hero;
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
    json_t *error = NULL, *body = hero_body(req, true, &error);
    if (!body)
        return error;
    json_t *hero;
    int rc = read_hero(id, &hero);
    if (rc <= 0) {
        json_decref(body);
        return rc < 0 ? tern_error_from_code(req, rc) : tern_error(req, 404, "Hero not found");
    }
    json_object_update_existing(hero, body); /* only the fields the client sent */
    json_decref(body);
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
    tern_post(app, "/heroes", create_hero, .summary = "Create a hero", .status_code = 200);
    tern_get(app, "/heroes", list_heroes, .params = list_params, .summary = "List heroes");
    tern_get(app, "/heroes/{hero_id}", get_hero, .params = hero_id_params, .summary = "Read a hero");
    tern_patch(app, "/heroes/{hero_id}", update_hero, .params = hero_id_params,
               .summary = "Update a hero");
    tern_delete(app, "/heroes/{hero_id}", delete_hero, .params = hero_id_params,
                .summary = "Delete a hero");
}
