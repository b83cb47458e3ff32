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

void routes_hello(tern_app *app)
{
    tern_get(app, "/", root, .summary = "Hello world");
    tern_get(app, "/json", json_test, .summary = "TechEmpower JSON serialization");
    tern_get(app, "/plaintext", plaintext, .summary = "TechEmpower plaintext");
}
