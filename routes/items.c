/* routes/items.c - FastAPI's first tutorials: a typed path parameter and an optional
 * query parameter (GET /items/5?q=somequery -> {"item_id":5,"q":"somequery"}), then a
 * declared request body (POST /items) and a body together with parameters
 * (PUT /items/{item_id}?q=...). */
#include "routes.h"

/* class Item(BaseModel): name: str; description: str | None = None; price: float;
 * tax: float | None = None */
static const tern_field item_fields[] = {
    TERN_FIELD_STR("name", TERN_MAX_LENGTH(100)),
    TERN_FIELD_STR("description", TERN_NULLABLE, TERN_DEFAULT_JSON("null")),
    TERN_FIELD_FLOAT("price", TERN_GT(0)),
    TERN_FIELD_FLOAT("tax", TERN_GE(0), TERN_NULLABLE, TERN_DEFAULT_JSON("null")),
    {0},
};
static const tern_model item = {"Item", item_fields, "An item for sale.", false};

static json_t *read_item(tern_req *req)
{
    int64_t id = tern_path_int(req, "item_id"); /* validated before we run */
    const char *q = tern_param_str(req, "q");    /* NULL when absent */
    return json_pack("{s:I,s:s?}", "item_id", (json_int_t)id, "q", q);
}

/* The item as sent (defaults filled), plus price_with_tax when a tax was given. */
static json_t *create_item(tern_req *req)
{
    json_t *it = json_deep_copy(tern_body_json(req)); /* the request owns the original */
    json_t *tax = json_object_get(it, "tax");
    if (json_is_number(tax))
        json_object_set_new(it, "price_with_tax",
                            json_real(json_number_value(json_object_get(it, "price")) +
                                      json_number_value(tax)));
    return it;
}

/* {"item_id": ..., the item's fields..., "q": ... when given} */
static json_t *update_item(tern_req *req)
{
    json_t *res = json_pack("{s:I}", "item_id", (json_int_t)tern_path_int(req, "item_id"));
    json_object_update(res, tern_body_json(req));
    const char *q = tern_param_str(req, "q");
    if (q)
        json_object_set_new(res, "q", json_string(q));
    return res;
}

static const tern_param read_item_params[] = {
    TERN_PATH_INT("item_id", TERN_DESCRIPTION("the item's id"), .example = "5"),
    TERN_QUERY_STR("q", TERN_DESCRIPTION("echoed back when given"), .example = "somequery"),
    {0},
};

static const tern_param update_item_params[] = {
    TERN_PATH_INT("item_id", TERN_GE(1)),
    TERN_QUERY_STR("q", TERN_MAX_LENGTH(50)),
    {0},
};
static const tern_field item_read_fields[] = {
    TERN_FIELD_INT("item_id"),
    TERN_FIELD_STR("q", TERN_NULLABLE),
    {0},
};
static const tern_model item_read = {.name = "ItemRead", .fields = item_read_fields};
static const char *const item_tags[] = {"items", NULL};

void routes_items(tern_app *app)
{
    tern_get(app, "/items/{item_id}", read_item, .params = read_item_params,
             .summary = "Read one item", .tags = item_tags, .response_model = &item_read);
    tern_post(app, "/items", create_item, .body = &item, .summary = "Create an item",
              .tags = item_tags, .response_model = &item);
    tern_put(app, "/items/{item_id}", update_item, .params = update_item_params, .body = &item,
             .summary = "Replace an item", .tags = item_tags);
}
