/* tests/unit/test_openapi.c - the OpenAPI document generated from declarations,
 * compared operation by operation (and component by component) with what FastAPI
 * emits for the equivalent Python declarations. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <tern/tern.h>

static tern_app *app;

static void setup(void)
{
    tern_config cfg;
    tern_config_defaults(&cfg);
    app = tern_app_new_with_config(&cfg);
    tern_config_free(&cfg);
}

static void teardown(void)
{
    tern_app_free(app);
}

TestSuite(openapi, .init = setup, .fini = teardown);

static json_t *dummy(tern_req *req)
{
    (void)req;
    return json_object();
}

/* The handlers' names are what FastAPI names operations after. */
static json_t *read_item(tern_req *req) { return dummy(req); }
static json_t *create_hero(tern_req *req) { return dummy(req); }
static json_t *list_heroes(tern_req *req) { return dummy(req); }
static json_t *read_root(tern_req *req) { return dummy(req); }
static json_t *update_note(tern_req *req) { return dummy(req); }
static json_t *delete_note(tern_req *req) { return dummy(req); }
static json_t *search(tern_req *req) { return dummy(req); }
static json_t *read_file(tern_req *req) { return dummy(req); }

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    cr_assert_not_null(j, "expected JSON does not parse: %s at %d", e.text, e.position);
    return j;
}

static void assert_json(const json_t *got, const char *expected_text, const char *what)
{
    json_t *expected = parse(expected_text);
    char *g = json_dumps(got, JSON_SORT_KEYS | JSON_INDENT(1));
    char *x = json_dumps(expected, JSON_SORT_KEYS | JSON_INDENT(1));
    cr_assert(json_equal(got, expected), "%s differs\n--- got:\n%s\n--- expected:\n%s", what,
              g ? g : "(null)", x);
    free(g);
    free(x);
    json_decref(expected);
}

static json_t *document(void)
{
    json_t *doc = tern_openapi(app);
    cr_assert_not_null(doc, "%s", tern_errmsg());
    return doc;
}

/* paths[path][method] */
static const json_t *op_of(const json_t *doc, const char *path, const char *method)
{
    const json_t *op = json_object_get(json_object_get(json_object_get(doc, "paths"), path), method);
    cr_assert_not_null(op, "no %s %s in the document", method, path);
    return op;
}

#define OK_ANY "\"200\":{\"description\":\"Successful Response\",\"content\":{\"application/json\":{\"schema\":{}}}}"
#define VALIDATION_422                                                                             \
    "\"422\":{\"description\":\"Validation Error\",\"content\":{\"application/json\":{\"schema\":"  \
    "{\"$ref\":\"#/components/schemas/HTTPValidationError\"}}}}"

/* ---- parameters --------------------------------------------------------------------- */

static const tern_param read_item_params[] = {
    TERN_PATH_INT("item_id", TERN_GE(1)),
    TERN_QUERY_STR("q", TERN_MAX_LENGTH(50)),
    TERN_QUERY_INT("limit", TERN_LE(100), TERN_DEFAULT("10")),
    TERN_HEADER_STR("x_token", TERN_REQUIRED),
    TERN_COOKIE_STR("session_id"),
    {0},
};

Test(openapi, parameters_in_fastapi_order_and_shapes)
{
    /* async def read_item(item_id: int = Path(ge=1), q: str | None = Query(None, max_length=50),
     *     limit: int = Query(10, le=100), x_token: str = Header(),
     *     session_id: str | None = Cookie(None))  with tags and a description */
    static const char *const tags[] = {"items", NULL};
    cr_assert_eq(tern_get(app, "/items/{item_id}", read_item, .params = read_item_params,
                          .tags = tags, .description = "Reads one item."),
                 0);
    json_t *doc = document();
    assert_json(op_of(doc, "/items/{item_id}", "get"),
                "{\"tags\":[\"items\"],\"summary\":\"Read Item\",\"description\":\"Reads one item.\","
                "\"operationId\":\"read_item_items__item_id__get\",\"parameters\":["
                "{\"name\":\"item_id\",\"in\":\"path\",\"required\":true,"
                " \"schema\":{\"type\":\"integer\",\"minimum\":1,\"title\":\"Item Id\"}},"
                "{\"name\":\"q\",\"in\":\"query\",\"required\":false,\"schema\":{\"anyOf\":"
                " [{\"type\":\"string\",\"maxLength\":50},{\"type\":\"null\"}],\"title\":\"Q\"}},"
                "{\"name\":\"limit\",\"in\":\"query\",\"required\":false,"
                " \"schema\":{\"type\":\"integer\",\"maximum\":100,\"default\":10,\"title\":\"Limit\"}},"
                "{\"name\":\"x-token\",\"in\":\"header\",\"required\":true,"
                " \"schema\":{\"type\":\"string\",\"title\":\"X-Token\"}},"
                "{\"name\":\"session_id\",\"in\":\"cookie\",\"required\":false,\"schema\":{\"anyOf\":"
                " [{\"type\":\"string\"},{\"type\":\"null\"}],\"title\":\"Session Id\"}}],"
                "\"responses\":{" OK_ANY "," VALIDATION_422 "}}",
                "GET /items/{item_id}");
    /* the whole document around it: version, info, and the two error schemas */
    cr_assert_str_eq(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
    assert_json(json_object_get(doc, "info"), "{\"title\":\"tern\",\"version\":\"0.1.0\"}", "info");
    assert_json(json_object_get(doc, "components"),
                "{\"schemas\":{"
                "\"HTTPValidationError\":{\"properties\":{\"detail\":{\"items\":{\"$ref\":"
                " \"#/components/schemas/ValidationError\"},\"type\":\"array\",\"title\":\"Detail\"}},"
                " \"type\":\"object\",\"title\":\"HTTPValidationError\"},"
                "\"ValidationError\":{\"properties\":{"
                " \"loc\":{\"items\":{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]},"
                "  \"type\":\"array\",\"title\":\"Location\"},"
                " \"msg\":{\"type\":\"string\",\"title\":\"Message\"},"
                " \"type\":{\"type\":\"string\",\"title\":\"Error Type\"},"
                " \"input\":{\"title\":\"Input\"},\"ctx\":{\"type\":\"object\",\"title\":\"Context\"}},"
                " \"type\":\"object\",\"required\":[\"loc\",\"msg\",\"type\"],\"title\":\"ValidationError\"}}}",
                "components");
    json_decref(doc);
}

static const tern_param search_params[] = {
    TERN_QUERY_ENUM("sort", TERN_ENUM_VALUES("asc", "desc"), TERN_DEFAULT("asc")),
    TERN_QUERY_FLOAT("min_price", TERN_GT(0), TERN_LT(1000.5), .example = "9.5"),
    TERN_QUERY_BOOL("in_stock", TERN_DEFAULT("yes")),
    TERN_QUERY_STR("tag", .many = true, TERN_MIN_LENGTH(2)),
    TERN_QUERY_STR("code", TERN_REQUIRED, TERN_PATTERN("^[a-z]+$"),
                   TERN_DESCRIPTION("lower-case letters")),
    {0},
};

Test(openapi, parameter_types_bounds_examples_and_lists)
{
    cr_assert_eq(tern_get(app, "/search", search, .params = search_params), 0);
    json_t *doc = document();
    assert_json(json_object_get(op_of(doc, "/search", "get"), "parameters"),
                "[{\"name\":\"sort\",\"in\":\"query\",\"required\":false,\"schema\":"
                "  {\"type\":\"string\",\"enum\":[\"asc\",\"desc\"],\"default\":\"asc\",\"title\":\"Sort\"}},"
                " {\"name\":\"min_price\",\"in\":\"query\",\"required\":false,\"schema\":{\"anyOf\":"
                "  [{\"type\":\"number\",\"exclusiveMaximum\":1000.5,\"exclusiveMinimum\":0.0},"
                "   {\"type\":\"null\"}],\"title\":\"Min Price\",\"examples\":[9.5]}},"
                " {\"name\":\"in_stock\",\"in\":\"query\",\"required\":false,\"schema\":"
                "  {\"type\":\"boolean\",\"default\":true,\"title\":\"In Stock\"}},"
                " {\"name\":\"tag\",\"in\":\"query\",\"required\":false,\"schema\":{\"anyOf\":"
                "  [{\"type\":\"array\",\"items\":{\"type\":\"string\",\"minLength\":2}},{\"type\":\"null\"}],"
                "  \"title\":\"Tag\"}},"
                " {\"name\":\"code\",\"in\":\"query\",\"required\":true,\"description\":\"lower-case letters\","
                "  \"schema\":{\"type\":\"string\",\"pattern\":\"^[a-z]+$\",\"title\":\"Code\","
                "  \"description\":\"lower-case letters\"}}]",
                "GET /search parameters");
    json_decref(doc);
}

/* ---- bodies, response models, components ------------------------------------------- */

static const tern_field team_fields[] = {
    TERN_FIELD_INT("id"),
    TERN_FIELD_STR("name", TERN_DESCRIPTION("the team's name")),
    {0},
};
static const tern_model team = {.name = "Team", .fields = team_fields, .description = "A team of heroes"};

static const tern_field hero_create_fields[] = {
    TERN_FIELD_STR("name", TERN_MIN_LENGTH(1), TERN_MAX_LENGTH(100)),
    TERN_FIELD_STR("secret_name", TERN_EXAMPLE_JSON("\"Pedro\"")),
    TERN_FIELD_INT("age", TERN_GE(0), TERN_NULLABLE, TERN_DEFAULT_JSON("null")),
    TERN_FIELD_ARRAY("tags", TERN_ITEMS(TERN_FIELD_STR(NULL)), TERN_DEFAULT_JSON("[]"),
                     TERN_MAX_LENGTH(5)),
    TERN_FIELD_OBJECT("team", &team, TERN_NULLABLE, TERN_DEFAULT_JSON("null")),
    TERN_FIELD_FLOAT("power", TERN_LE(10)),
    TERN_FIELD_ENUM("side", TERN_ENUM_VALUES("good", "evil")),
    TERN_FIELD_BOOL("active", TERN_DEFAULT_JSON("true")),
    TERN_FIELD_ANY("extra", TERN_OPTIONAL),
    {0},
};
static const tern_model hero_create = {.name = "HeroCreate", .fields = hero_create_fields, .forbid_extra = true};

static const tern_field hero_public_fields[] = {
    TERN_FIELD_INT("id"),
    TERN_FIELD_STR("name"),
    TERN_FIELD_OBJECT("team", &team),
    {0},
};
static const tern_model hero_public = {.name = "HeroPublic", .fields = hero_public_fields};

static const tern_field message_fields[] = {
    TERN_FIELD_STR("detail"),
    {0},
};
static const tern_model message = {.name = "Message", .fields = message_fields};

static const tern_response_decl hero_responses[] = {
    {.status = 404, .description = "Hero not found", .model = &message},
    {.status = 409}, /* no model, no description: the status phrase, like FastAPI */
    {0},
};

Test(openapi, body_response_model_and_components)
{
    cr_assert_eq(tern_post(app, "/heroes", create_hero, .body = &hero_create, .status_code = 201,
                           .response_model = &hero_public, .responses = hero_responses),
                 0);
    json_t *doc = document();
    assert_json(op_of(doc, "/heroes", "post"),
                "{\"summary\":\"Create Hero\",\"operationId\":\"create_hero_heroes_post\","
                "\"requestBody\":{\"content\":{\"application/json\":{\"schema\":"
                " {\"$ref\":\"#/components/schemas/HeroCreate\"}}},\"required\":true},"
                "\"responses\":{"
                " \"201\":{\"description\":\"Successful Response\",\"content\":{\"application/json\":"
                "  {\"schema\":{\"$ref\":\"#/components/schemas/HeroPublic\"}}}},"
                " \"404\":{\"description\":\"Hero not found\",\"content\":{\"application/json\":"
                "  {\"schema\":{\"$ref\":\"#/components/schemas/Message\"}}}},"
                " \"409\":{\"description\":\"Conflict\"}," VALIDATION_422 "}}",
                "POST /heroes");
    const json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
    /* every schema name, sorted as FastAPI sorts them */
    const char *expected_names[] = {"HTTPValidationError", "HeroCreate", "HeroPublic", "Message",
                                    "Team", "ValidationError"};
    cr_assert_eq(json_object_size(schemas), 6);
    size_t i = 0;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)schemas, key, value) {
        cr_assert_str_eq(key, expected_names[i], "schema %zu is %s", i, key);
        i++;
    }
    assert_json(json_object_get(schemas, "HeroCreate"),
                "{\"properties\":{"
                " \"name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":100,\"title\":\"Name\"},"
                " \"secret_name\":{\"type\":\"string\",\"title\":\"Secret Name\",\"examples\":[\"Pedro\"]},"
                " \"age\":{\"anyOf\":[{\"type\":\"integer\",\"minimum\":0},{\"type\":\"null\"}],"
                "  \"title\":\"Age\"},"
                " \"tags\":{\"items\":{\"type\":\"string\"},\"type\":\"array\",\"maxItems\":5,"
                "  \"title\":\"Tags\",\"default\":[]},"
                " \"team\":{\"anyOf\":[{\"$ref\":\"#/components/schemas/Team\"},{\"type\":\"null\"}]},"
                " \"power\":{\"type\":\"number\",\"maximum\":10.0,\"title\":\"Power\"},"
                " \"side\":{\"type\":\"string\",\"enum\":[\"good\",\"evil\"],\"title\":\"Side\"},"
                " \"active\":{\"type\":\"boolean\",\"title\":\"Active\",\"default\":true},"
                " \"extra\":{\"title\":\"Extra\"}},"
                "\"type\":\"object\",\"required\":[\"name\",\"secret_name\",\"power\",\"side\"],"
                "\"additionalProperties\":false,\"title\":\"HeroCreate\"}",
                "HeroCreate");
    assert_json(json_object_get(schemas, "HeroPublic"),
                "{\"properties\":{\"id\":{\"type\":\"integer\",\"title\":\"Id\"},"
                " \"name\":{\"type\":\"string\",\"title\":\"Name\"},"
                " \"team\":{\"$ref\":\"#/components/schemas/Team\"}},"
                "\"type\":\"object\",\"required\":[\"id\",\"name\",\"team\"],\"title\":\"HeroPublic\"}",
                "HeroPublic");
    assert_json(json_object_get(schemas, "Team"),
                "{\"properties\":{\"id\":{\"type\":\"integer\",\"title\":\"Id\"},"
                " \"name\":{\"type\":\"string\",\"title\":\"Name\",\"description\":\"the team's name\"}},"
                "\"type\":\"object\",\"required\":[\"id\",\"name\"],\"title\":\"Team\","
                "\"description\":\"A team of heroes\"}",
                "Team");
    json_decref(doc);
}

static const tern_param list_params[] = {
    TERN_QUERY_INT("offset", TERN_DEFAULT("0"), TERN_GE(0)),
    {0},
};

Test(openapi, list_response_and_optional_body)
{
    cr_assert_eq(tern_get(app, "/heroes/", list_heroes, .params = list_params,
                          .response_model = &hero_public, .response_is_list = true),
                 0);
    cr_assert_eq(tern_put(app, "/notes/{note_id:int}", update_note, .body = &message,
                          .body_optional = true),
                 0);
    json_t *doc = document();
    /* FastAPI titles the list after its response field: "Response_" + the unique id */
    assert_json(json_object_get(op_of(doc, "/heroes/", "get"), "responses"),
                "{\"200\":{\"description\":\"Successful Response\",\"content\":{\"application/json\":"
                " {\"schema\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/HeroPublic\"},"
                " \"title\":\"Response List Heroes Heroes  Get\"}}}}," VALIDATION_422 "}",
                "GET /heroes/ responses");
    cr_assert_str_eq(json_string_value(json_object_get(op_of(doc, "/heroes/", "get"), "operationId")),
                     "list_heroes_heroes__get");
    /* `note: Message | None = None`; the inline int type is the parameter's schema */
    assert_json(op_of(doc, "/notes/{note_id}", "put"),
                "{\"summary\":\"Update Note\",\"operationId\":\"update_note_notes__note_id__put\","
                "\"parameters\":[{\"name\":\"note_id\",\"in\":\"path\",\"required\":true,"
                " \"schema\":{\"type\":\"integer\",\"title\":\"Note Id\"}}],"
                "\"requestBody\":{\"content\":{\"application/json\":{\"schema\":{\"anyOf\":"
                " [{\"$ref\":\"#/components/schemas/Message\"},{\"type\":\"null\"}]}}}},"
                "\"responses\":{" OK_ANY "," VALIDATION_422 "}}",
                "PUT /notes/{note_id}");
    json_decref(doc);
}

/* ---- operation metadata ------------------------------------------------------------ */

Test(openapi, no_inputs_no_422_and_no_components)
{
    cr_assert_eq(tern_get(app, "/", read_root), 0);
    cr_assert_eq(tern_delete(app, "/notes", delete_note, .status_code = 204, .deprecated = true,
                             .summary = "Drop every note", .operation_id = "dropNotes"),
                 0);
    cr_assert_eq(tern_get(app, "/hidden", read_root, .include_in_schema_off = true), 0);
    json_t *doc = document();
    assert_json(doc,
                "{\"openapi\":\"3.1.0\",\"info\":{\"title\":\"tern\",\"version\":\"0.1.0\"},\"paths\":{"
                " \"/\":{\"get\":{\"summary\":\"Read Root\",\"operationId\":\"read_root__get\","
                "  \"responses\":{" OK_ANY "}}},"
                " \"/notes\":{\"delete\":{\"summary\":\"Drop every note\",\"operationId\":\"dropNotes\","
                "  \"deprecated\":true,\"responses\":{\"204\":{\"description\":\"Successful Response\"}}}}}}",
                "whole document");
    json_decref(doc);
}

Test(openapi, methods_share_a_path_item_and_path_types_are_dropped)
{
    cr_assert_eq(tern_get(app, "/files/{file_path:path}", read_file), 0);
    cr_assert_eq(tern_delete(app, "/files/{file_path:path}", delete_note), 0);
    json_t *doc = document();
    const json_t *item = json_object_get(json_object_get(doc, "paths"), "/files/{file_path}");
    cr_assert_eq(json_object_size(item), 2);
    cr_assert_str_eq(json_string_value(json_object_get(op_of(doc, "/files/{file_path}", "get"),
                                                       "operationId")),
                     "read_file_files__file_path__get");
    cr_assert_str_eq(json_string_value(json_object_get(op_of(doc, "/files/{file_path}", "delete"),
                                                       "operationId")),
                     "delete_note_files__file_path__delete");
    assert_json(json_object_get(op_of(doc, "/files/{file_path}", "get"), "parameters"),
                "[{\"name\":\"file_path\",\"in\":\"path\",\"required\":true,"
                "\"schema\":{\"type\":\"string\",\"title\":\"File Path\"}}]",
                "catch-all parameter");
    json_decref(doc);
}

Test(openapi, info_comes_from_the_config)
{
    char err[256];
    tern_config cfg;
    tern_config_defaults(&cfg);
    cr_assert_eq(tern_config_set(&cfg, "docs.title", "Hero API", err, sizeof err), 0);
    cr_assert_eq(tern_config_set(&cfg, "docs.version", "2.1.0", err, sizeof err), 0);
    tern_app *other = tern_app_new_with_config(&cfg);
    tern_config_free(&cfg);
    json_t *doc = tern_openapi(other);
    assert_json(doc, "{\"openapi\":\"3.1.0\",\"info\":{\"title\":\"Hero API\",\"version\":\"2.1.0\"},"
                     "\"paths\":{}}",
                "empty document");
    json_decref(doc);
    tern_app_free(other);
}

Test(openapi, openapi_url_must_be_a_plain_path)
{
    char err[256];
    tern_config cfg;
    tern_config_defaults(&cfg);
    cr_assert_lt(tern_config_set(&cfg, "docs.openapi_url", "openapi.json", err, sizeof err), 0);
    cr_assert_not_null(strstr(err, "docs.openapi_url"), "%s", err);
    cr_assert_lt(tern_config_set(&cfg, "docs.openapi_url", "/a\"b", err, sizeof err), 0);
    cr_assert_eq(tern_config_set(&cfg, "docs.openapi_url", "/api/v1/openapi.json", err, sizeof err), 0);
    tern_config_free(&cfg);
}

/* ---- what cannot be documented -------------------------------------------------------- */

static const tern_model other_message = {.name = "Message", .fields = team_fields};

/* the same declaration written twice (a header included by two files) is one schema */
static const tern_field message_fields_again[] = {
    TERN_FIELD_STR("detail"),
    {0},
};
static const tern_model message_again = {.name = "Message", .fields = message_fields_again};

Test(openapi, one_declaration_written_twice_is_one_schema)
{
    cr_assert_eq(tern_post(app, "/a", create_hero, .body = &message), 0);
    cr_assert_eq(tern_post(app, "/b", create_hero, .body = &message_again), 0);
    json_t *doc = document();
    const json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
    assert_json(json_object_get(schemas, "Message"),
                "{\"properties\":{\"detail\":{\"type\":\"string\",\"title\":\"Detail\"}},"
                "\"type\":\"object\",\"required\":[\"detail\"],\"title\":\"Message\"}",
                "Message");
    json_decref(doc);
}

Test(openapi, two_models_with_one_name_are_refused)
{
    cr_assert_eq(tern_post(app, "/a", create_hero, .body = &message), 0);
    cr_assert_eq(tern_post(app, "/b", create_hero, .body = &other_message), 0);
    cr_assert_null(tern_openapi(app));
    cr_assert_not_null(strstr(tern_errmsg(), "route POST /b: two different models are named 'Message'"),
                       "%s", tern_errmsg());
}

Test(openapi, other_media_types_are_documented_as_text)
{
    /* FastAPI's response_class=PlainTextResponse */
    cr_assert_eq(tern_get(app, "/plaintext", read_root, .response_media_type = "text/plain"), 0);
    json_t *doc = document();
    assert_json(json_object_get(op_of(doc, "/plaintext", "get"), "responses"),
                "{\"200\":{\"description\":\"Successful Response\",\"content\":{\"text/plain\":"
                "{\"schema\":{\"type\":\"string\"}}}}}",
                "GET /plaintext responses");
    json_decref(doc);
}

/* ---- the docs routes ------------------------------------------------------------------ */

#include "app_impl.h"
#include "docs.h"

Test(openapi, docs_routes_join_the_router_but_not_the_document)
{
    char err[600] = "";
    cr_assert_eq(tern_get(app, "/items/{item_id}", read_item, .params = read_item_params), 0);
    cr_assert_eq(tern__docs_setup(app, err, sizeof err), 0, "%s", err);
    /* /openapi.json, /docs, /redoc (no assets folder: no oauth2 page, no assets route) */
    cr_assert_eq(tern_router_count(app->router), 4);
    json_t *doc = document();
    const json_t *paths = json_object_get(doc, "paths");
    cr_assert_eq(json_object_size(paths), 1);
    cr_assert_not_null(json_object_get(paths, "/items/{item_id}"));
    json_decref(doc);
}

Test(openapi, docs_off_adds_no_route)
{
    app->cfg.docs_enabled = false;
    char err[600] = "";
    cr_assert_eq(tern__docs_setup(app, err, sizeof err), 0, "%s", err);
    cr_assert_eq(tern_router_count(app->router), 0);
}

Test(openapi, an_app_route_at_docs_stops_start_up_with_one_line)
{
    char err[600] = "";
    cr_assert_eq(tern_get(app, "/docs", read_root), 0);
    cr_assert_lt(tern__docs_setup(app, err, sizeof err), 0);
    cr_assert_str_eq(err, "docs: GET /docs is both a route of the app and a docs route "
                          "(docs.openapi_url moves the document; docs.enabled: false drops the "
                          "docs routes)");
}
