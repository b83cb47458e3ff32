/* server/static_files.h - static file mounts on h2o's file handler (internal). */
#ifndef TERN_STATIC_FILES_H
#define TERN_STATIC_FILES_H

#include "app_impl.h"

/** Registers every tern_static mount on the app's h2o host; call before the catch-all
 *  "/" path (h2o picks the first matching prefix). */
void tern__static_register(tern_app *app);

#endif
