/* routes/hello.c - the smallest handlers: FastAPI's hello world and TechEmpower's
 * JSON and plaintext tests. */
#include "routes.h"

static json_t *root(tern_req *req)
{
    (void)req;
    return json_pack("{s:s}", "message", "Hello World");
}

/* Built per request, as TechEmpower asks; directly rather than with json_pack, whose
 * format parsing was a sixth of this endpoint's instructions. */
static json_t *json_test(tern_req *req)
{
    (void)req;
    json_t *o = json_object();
    json_object_set_new_nocheck(o, "message", json_string_nocheck("Hello, World!"));
    return o;
}

static json_t *plaintext(tern_req *req)
{
    return tern_respond(req, "text/plain", "Hello, World!", 13);
}

/* documents the answers of / and /json */
static const tern_field greeting_fields[] = {
    TERN_FIELD_STR("message", TERN_EXAMPLE_JSON("\"Hello World\"")),
    {0},
};
static const tern_model greeting = {.name = "Greeting", .fields = greeting_fields};
static const char *const hello_tags[] = {"hello", NULL};
static const char *const tfb_tags[] = {"techempower", NULL};

void routes_hello(tern_app *app)
{
    tern_get(app, "/", root, .summary = "Hello world", .tags = hello_tags,
             .response_model = &greeting);
    tern_get(app, "/json", json_test, .summary = "TechEmpower JSON serialization",
             .tags = tfb_tags, .response_model = &greeting);
    tern_get(app, "/plaintext", plaintext, .summary = "TechEmpower plaintext", .tags = tfb_tags,
             .response_media_type = "text/plain");
}
