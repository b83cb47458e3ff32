/* pool/mysql_url.h - parses mysql://user:password@IP:port/db into the pieces
 * mysql_real_connect wants. Internal to the MySQL pool. */
#ifndef TERN_POOL_MYSQL_URL_H
#define TERN_POOL_MYSQL_URL_H

/** A parsed URL; every string is owned (free with mysql_url_free). */
typedef struct mysql_url {
    char *user;     /**< never NULL ("" when absent) */
    char *password; /**< NULL when the URL has none */
    char *host;     /**< an IP literal (IPv6 without brackets) */
    unsigned port;  /**< 3306 when absent */
    char *db;       /**< NULL when the URL names no database */
} mysql_url;

/** Parses url into *out. 0, or -EINVAL (tern_errmsg says what is wrong; the password is
 *  never echoed) / -ENOMEM. Host names are refused: their lookup would block the loop;
 *  "localhost" is taken as 127.0.0.1. */
int mysql_url_parse(const char *url, mysql_url *out);

/** Frees the strings of u (the struct itself is the caller's). */
void mysql_url_free(mysql_url *u);

#endif
