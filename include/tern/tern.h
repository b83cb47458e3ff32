/* tern/tern.h - the whole public API of tern. */
#ifndef TERN_TERN_H
#define TERN_TERN_H

#include <jansson.h>

#include "error.h"
#include "config.h"
#include "params.h"
#include "schema.h"
#include "route.h"
#include "req.h"
#include "task.h"
#include "pool.h"
#include "redis.h"
#include "sql.h"
#include "http_client.h"
#include "app.h"
#include "openapi.h"
#include "template.h"
#include "middleware.h"
#include "stream.h"

/** tern's version as "major.minor.patch". */
const char *tern_version(void);

#endif
