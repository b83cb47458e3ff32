/* tests/support/test_app_body.c - routes of the test app for declared bodies: a model
 * with nested objects and lists, a body with parameters, an optional body, list query
 * parameters, and (with TERN_TEST_CUSTOM_422=1) an app-wide validation-error handler. */
#include <stdlib.h>
#include <tern/tern.h>

#include "test_app_body.h"

/* class Address(BaseModel): city: str; zip: str = Field(pattern="^[0-9]{5}$") */
static const tern_field address_fields[] = {
    TERN_FIELD_STR("city"),
    TERN_FIELD_STR("zip", TERN_PATTERN("^[0-9]{5}$")),
    {0},
};
static const tern_model address = {"Address", address_fields, NULL, false};

static const tern_field item_fields[] = {
    TERN_FIELD_STR("name", TERN_MIN_LENGTH(1), TERN_MAX_LENGTH(10)),
    TERN_FIELD_FLOAT("price", TERN_GT(0)),
    TERN_FIELD_INT("quantity", TERN_GE(0), TERN_DEFAULT_JSON("1")),
    TERN_FIELD_ARRAY("tags", TERN_ITEMS(TERN_FIELD_STR(NULL)), TERN_DEFAULT_JSON("[]")),
    TERN_FIELD_OBJECT("address", &address, TERN_OPTIONAL),
    {0},
};
static const tern_model item = {"TestItem", item_fields, NULL, false};

static json_t *echo_body(tern_req *req)
{
    return json_incref(tern_body_json(req));
}

static json_t *put_item(tern_req *req)
{
    return json_pack("{sIsO}", "item_id", (json_int_t)tern_path_int(req, "item_id"), "item",
                     tern_body_json(req));
}

static json_t *optional_body(tern_req *req)
{
    json_t *b = tern_body_json(req);
    return json_pack("{sO}", "body", b ? b : json_null());
}

static json_t *lists(tern_req *req)
{
    json_t *tag = tern_param_list(req, "tag"), *q = tern_param_list(req, "q");
    return json_pack("{sOsO}", "tag", tag ? tag : json_null(), "q", q ? q : json_null());
}

static const tern_param put_params[] = {
    TERN_PATH_INT("item_id", TERN_GE(1)),
    TERN_QUERY_INT("q"),
    {0},
};

static const tern_param list_params[] = {
    TERN_QUERY_INT_LIST("tag"),
    TERN_QUERY_STR_LIST("q", TERN_MAX_LENGTH(2)),
    {0},
};

/* An app's own 422: a count and the first type, status 400, and a header. */
static json_t *custom_422(tern_req *req, json_t *errors)
{
    tern_set_status(req, 400);
    tern_set_header(req, "X-Validation", "custom");
    json_t *first = json_array_get(errors, 0);
    return json_pack("{sIsO}", "errors", (json_int_t)json_array_size(errors), "first",
                     json_object_get(first, "type"));
}

void test_app_body_routes(tern_app *app)
{
    tern_post(app, "/body/items", echo_body, .body = &item);
    tern_put(app, "/body/items/{item_id}", put_item, .params = put_params, .body = &item);
    tern_post(app, "/body/optional", optional_body, .body = &item, .body_optional = true);
    tern_get(app, "/body/lists", lists, .params = list_params);
    const char *custom = getenv("TERN_TEST_CUSTOM_422");
    if (custom && custom[0] == '1')
        tern_on_validation_error(app, custom_422);
}
