/* tests/support/test_app_body.h - the test app's declared-body routes. */
#ifndef TERN_TEST_APP_BODY_H
#define TERN_TEST_APP_BODY_H

#include <tern/tern.h>

/** Registers /body/... routes (and the custom 422 handler when TERN_TEST_CUSTOM_422=1). */
void test_app_body_routes(tern_app *app);

#endif
