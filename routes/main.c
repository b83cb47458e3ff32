/* routes/main.c - tern-service: the example service and the template to copy. */
#include "routes.h"

int main(int argc, char **argv)
{
    tern_app *app = tern_app_new(argc, argv); /* config/tern.yaml + TERN_* env + flags */
    routes_hello(app);
    routes_items(app);
    routes_sleep(app);
    routes_health(app);
    routes_redis_demo(app);
    routes_mysql_demo(app);
    routes_heroes(app);
    routes_crawl(app);
    routes_tfb(app);
    routes_secure(app);
    routes_events(app);
    return tern_run(app);
}
