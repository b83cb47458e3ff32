/* routes/items.c - FastAPI's first tutorial: a typed path parameter and an optional
 * query parameter. GET /items/5?q=somequery -> {"item_id":5,"q":"somequery"}. */
#include "routes.h"

static json_t *read_item(tern_req *req)
{
    int64_t id = tern_path_int(req, "item_id"); /* validated before we run */
    const char *q = tern_param_str(req, "q");    /* NULL when absent */
    return json_pack("{s:I,s:s?}", "item_id", (json_int_t)id, "q", q);
}

static const tern_param read_item_params[] = {
    TERN_PATH_INT("item_id", TERN_DESCRIPTION("the item's id"), .example = "5"),
    TERN_QUERY_STR("q", TERN_DESCRIPTION("echoed back when given"), .example = "somequery"),
    {0},
};

static const tern_field item_fields[] = {
    TERN_FIELD_INT("item_id"),
    TERN_FIELD_STR("q", TERN_NULLABLE),
    {0},
};
static const tern_model item_read = {.name = "ItemRead", .fields = item_fields};
static const char *const item_tags[] = {"items", NULL};

void routes_items(tern_app *app)
{
    tern_get(app, "/items/{item_id}", read_item, .params = read_item_params,
             .summary = "Read one item", .tags = item_tags, .response_model = &item_read);
}
