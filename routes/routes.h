/* routes/routes.h - the example service's resources; each file registers its own. */
#ifndef TERN_ROUTES_H
#define TERN_ROUTES_H

#include <tern/tern.h>

/** GET /, /json, /plaintext: hello world and the TechEmpower basics. */
void routes_hello(tern_app *app);

/** GET /items/{item_id}: FastAPI's first tutorial. */
void routes_items(tern_app *app);

/** GET /sleep?ms=N: awaits N ms on the handler's coroutine. */
void routes_sleep(tern_app *app);

#endif
