/* tests/install/hello_app.c - a tiny app outside the tree, built only from the
 * installed headers, library and tern.pc: proves `pkg-config --cflags --libs tern`. */
#include <tern/tern.h>

static json_t *hello(tern_req *req)
{
    (void)req;
    return json_pack("{s:s}", "hello", "installed tern");
}

int main(int argc, char **argv)
{
    tern_app *app = tern_app_new(argc, argv);
    tern_get(app, "/", hello, .summary = "Hello from an installed tern");
    return tern_run(app);
}
