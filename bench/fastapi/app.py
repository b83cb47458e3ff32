"""bench/fastapi/app.py - the FastAPI peer of tern's example service, for benchmarks.

The same endpoints, bodies and content types as tern's service, written the way
FastAPI's documentation and TechEmpower's own FastAPI entry write them, on Debian
12's packages (FastAPI 0.92 on pydantic 1, uvicorn + uvloop + httptools, aiomysql,
redis.asyncio, Jinja2). Run it with run.sh beside this file; README.md says what each
endpoint does and where it departs from the tutorials.

Configuration comes from the environment, with the variables tern reads:
  TERN_MYSQL_URL  mysql://user:pass@host:port/db
  TERN_REDIS_URL  redis://[:password@]host:port/db
  POOL_MAX        connections per pool and per worker process (default 10)
  POOL_MIN        MySQL connections opened at start-up (default POOL_MAX)
  HERO_CACHE_TTL  seconds a cached GET /heroes/{id} lives in Redis (default 300)
"""

import asyncio
import contextlib
import json
import logging
import os
import warnings
from collections import OrderedDict
from random import randint, sample
from typing import List, Optional
from urllib.parse import unquote, urlsplit

import aiomysql
import pymysql.err
import redis.asyncio as aioredis
import redis.exceptions
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, validator

log = logging.getLogger("tern.bench.fastapi")

MYSQL_URL = os.environ.get(
    "TERN_MYSQL_URL", "mysql://benchmarkdbuser:benchmarkdbpass@127.0.0.1:3306/hello_world"
)
REDIS_URL = os.environ.get("TERN_REDIS_URL", "redis://127.0.0.1:6379/0")
POOL_MAX = max(1, int(os.environ.get("POOL_MAX", "10")))
POOL_MIN = min(POOL_MAX, max(0, int(os.environ.get("POOL_MIN", str(POOL_MAX)))))
HERO_CACHE_TTL = max(1, int(os.environ.get("HERO_CACHE_TTL", "300")))

READ_ROW_SQL = "SELECT id, randomNumber FROM world WHERE id = %s"
WRITE_ROW_SQL = "UPDATE world SET randomNumber = %s WHERE id = %s"
FORTUNES_SQL = "SELECT id, message FROM fortune"
ADDITIONAL_FORTUNE = (0, "Additional fortune added at request time.")
HERO_TABLE_SQL = (
    "CREATE TABLE IF NOT EXISTS hero ("
    " id INT AUTO_INCREMENT PRIMARY KEY,"
    " name VARCHAR(255) NOT NULL,"
    " secret_name VARCHAR(255) NOT NULL,"
    " age INT NULL) DEFAULT CHARSET=utf8mb4"
)
HERO_COLUMNS = "id, name, secret_name, age"

templates = Jinja2Templates(
    directory=os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
)


def mysql_params(url: str) -> dict:
    """aiomysql.connect keywords from mysql://user:pass@host:port/db."""
    u = urlsplit(url)
    if u.scheme != "mysql" or not u.hostname:
        raise ValueError(f"TERN_MYSQL_URL: expected mysql://user:pass@host:port/db, got {url!r}")
    return {
        "host": u.hostname,
        "port": u.port or 3306,
        "user": unquote(u.username or ""),
        "password": unquote(u.password or ""),
        "db": unquote(u.path.lstrip("/")) or None,
    }


def dumps(obj) -> bytes:
    """Exactly what JSONResponse renders, so cached and fresh bodies are the same bytes."""
    return json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def clamp_queries(raw: Optional[str]) -> int:
    """TechEmpower's rule: missing, empty, not an integer or < 1 -> 1; > 500 -> 500."""
    try:
        n = int(raw)
    except (TypeError, ValueError):
        return 1
    return 1 if n < 1 else 500 if n > 500 else n


class WorldCache:
    """In-process LRU cache of world rows with read-through.

    Primed with every row at start-up; a hit moves the row to the young end, a miss
    reads the row from MySQL and stores it, and beyond `capacity` rows the least
    recently used one is evicted. Only /cached-queries uses it (TechEmpower forbids
    caching World rows anywhere else).
    """

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._rows: "OrderedDict[int, dict]" = OrderedDict()

    def put(self, row_id: int, number: int) -> None:
        rows = self._rows
        rows[row_id] = {"id": row_id, "randomNumber": number}
        rows.move_to_end(row_id)
        while len(rows) > self.capacity:
            rows.popitem(last=False)

    async def get_many(self, ids: List[int], pool) -> List[dict]:
        rows = self._rows
        out: List[Optional[dict]] = []
        missing = []
        for i, row_id in enumerate(ids):
            row = rows.get(row_id)
            if row is None:
                missing.append(i)
            else:
                rows.move_to_end(row_id)
            out.append(row)
        if missing:
            async with pool.acquire() as conn, conn.cursor() as cur:
                for i in missing:
                    await cur.execute(READ_ROW_SQL, (ids[i],))
                    found = await cur.fetchone()
                    if found is not None:
                        self.put(found[0], found[1])
                        out[i] = rows[found[0]]
        return [row for row in out if row is not None]


world_cache = WorldCache(capacity=10000)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.db = await aiomysql.create_pool(
        minsize=POOL_MIN,
        maxsize=POOL_MAX,
        autocommit=True,  # else every pooled connection sits in one long snapshot
        charset="utf8mb4",
        **mysql_params(MYSQL_URL),
    )
    app.state.redis_pool = aioredis.BlockingConnectionPool.from_url(
        REDIS_URL, max_connections=POOL_MAX, timeout=10, decode_responses=True
    )
    app.state.redis = aioredis.Redis(connection_pool=app.state.redis_pool)
    try:
        async with app.state.db.acquire() as conn, conn.cursor() as cur:
            try:
                with warnings.catch_warnings():  # "Table 'hero' already exists" is a note
                    warnings.simplefilter("ignore", pymysql.Warning)
                    await cur.execute(HERO_TABLE_SQL)
            except pymysql.err.MySQLError as e:
                log.warning("could not create table hero (%s); /heroes needs it", e.args)
            await cur.execute("SELECT id, randomNumber FROM world")
            for row_id, number in await cur.fetchall():
                world_cache.put(row_id, number)
        yield
    finally:
        await app.state.redis.close()
        await app.state.redis_pool.disconnect()
        app.state.db.close()
        await app.state.db.wait_closed()


app = FastAPI(title="tern peer (FastAPI)")
# FastAPI 0.92 has no lifespan= argument (0.93 added it); Starlette 0.26's router has.
app.router.lifespan_context = lifespan


@app.exception_handler(pymysql.err.MySQLError)
async def mysql_error(request: Request, exc: pymysql.err.MySQLError):
    return JSONResponse({"detail": f"MySQL: {exc.args[-1] if exc.args else exc}"}, 503)


@app.exception_handler(redis.exceptions.RedisError)
async def redis_error(request: Request, exc: redis.exceptions.RedisError):
    return JSONResponse({"detail": f"Redis: {exc}"}, 503)


# --- FastAPI's first steps ---------------------------------------------------------


@app.get("/")
async def root():
    return {"message": "Hello World"}


@app.get("/items/{item_id}")
async def read_item(item_id: int, q: Optional[str] = None):
    return {"item_id": item_id, "q": q}


@app.get("/sleep")
async def sleep(ms: int = Query(..., ge=0, le=3600000, description="milliseconds to sleep")):
    await asyncio.sleep(ms / 1000)
    return {"slept_ms": ms}


# --- TechEmpower test types (written like TechEmpower's FastAPI entry) --------------


@app.get("/json")
async def json_serialization():
    return JSONResponse({"message": "Hello, World!"})


@app.get("/plaintext")
async def plaintext():
    # Starlette would append "; charset=utf-8" to a text/* media_type; tern sends
    # plain "text/plain", so the header is given whole.
    return Response(b"Hello, World!", headers={"content-type": "text/plain"})


@app.get("/db")
async def single_database_query():
    async with app.state.db.acquire() as conn, conn.cursor() as cur:
        await cur.execute(READ_ROW_SQL, (randint(1, 10000),))
        row_id, number = await cur.fetchone()
    return JSONResponse({"id": row_id, "randomNumber": number})


@app.get("/queries")
async def multiple_database_queries(queries: Optional[str] = None):
    # As TechEmpower's FastAPI entry: one connection, one query after the other.
    ids = sample(range(1, 10001), clamp_queries(queries))
    worlds = []
    async with app.state.db.acquire() as conn, conn.cursor() as cur:
        for row_id in ids:
            await cur.execute(READ_ROW_SQL, (row_id,))
            found_id, number = await cur.fetchone()
            worlds.append({"id": found_id, "randomNumber": number})
    return JSONResponse(worlds)


@app.get("/fortunes")
async def fortunes(request: Request):
    async with app.state.db.acquire() as conn, conn.cursor() as cur:
        await cur.execute(FORTUNES_SQL)
        rows = list(await cur.fetchall())
    rows.append(ADDITIONAL_FORTUNE)
    rows.sort(key=lambda row: row[1])  # code-point order == UTF-8 byte order
    return templates.TemplateResponse("fortunes.html", {"request": request, "fortunes": rows})


@app.get("/updates")
async def database_updates(queries: Optional[str] = None):
    # Each row read by its own SELECT, then each written by its own UPDATE
    # (aiomysql's executemany runs one statement per row for anything but INSERT),
    # all on one connection, each statement committed on its own.
    ids = sample(range(1, 10001), clamp_queries(queries))
    worlds = []
    async with app.state.db.acquire() as conn, conn.cursor() as cur:
        for row_id in ids:
            await cur.execute(READ_ROW_SQL, (row_id,))
            found_id, _ = await cur.fetchone()
            worlds.append({"id": found_id, "randomNumber": randint(1, 10000)})
        await cur.executemany(WRITE_ROW_SQL, [(w["randomNumber"], w["id"]) for w in worlds])
    return JSONResponse(worlds)


@app.get("/cached-queries")
async def cached_queries(count: Optional[str] = None):
    ids = [randint(1, 10000) for _ in range(clamp_queries(count))]
    return JSONResponse(await world_cache.get_many(ids, app.state.db))


# --- Tutorial demos: Redis, MySQL, the heroes of FastAPI's SQL tutorial -------------


@app.get("/red")
async def red():
    r = app.state.redis
    await r.hset("car", mapping={"key1": 1, "key2": 2, "key3": 3})
    return await r.hgetall("car")


@app.get("/mysql")
async def mysql():
    async with app.state.db.acquire() as conn, conn.cursor() as cur:
        await cur.execute("SELECT id, randomNumber FROM world ORDER BY id LIMIT 5")
        rows = await cur.fetchall()
    return {"result": [{"id": i, "randomNumber": n} for i, n in rows]}


class HeroCreate(BaseModel):
    name: str
    secret_name: str
    age: Optional[int] = None


class Hero(BaseModel):
    id: int
    name: str
    secret_name: str
    age: Optional[int] = None


class HeroUpdate(BaseModel):
    name: Optional[str] = None
    secret_name: Optional[str] = None
    age: Optional[int] = None

    @validator("name", "secret_name", pre=True)
    def not_null(cls, v):  # the columns are NOT NULL: refuse an explicit null
        if v is None:
            raise ValueError("may not be null")
        return v


def hero_row(row) -> dict:
    return {"id": row[0], "name": row[1], "secret_name": row[2], "age": row[3]}


def hero_key(hero_id: int) -> str:
    return f"hero:{hero_id}"


async def forget_hero(hero_id: int) -> None:
    try:
        await app.state.redis.delete(hero_key(hero_id))
    except redis.exceptions.RedisError as e:  # the entry's TTL bounds how long it stays stale
        log.warning("could not invalidate %s: %s", hero_key(hero_id), e)


@app.post("/heroes", response_model=Hero)
async def create_hero(hero: HeroCreate):
    async with app.state.db.acquire() as conn, conn.cursor() as cur:
        await cur.execute(
            "INSERT INTO hero (name, secret_name, age) VALUES (%s, %s, %s)",
            (hero.name, hero.secret_name, hero.age),
        )
        hero_id = cur.lastrowid
    return Hero(id=hero_id, **hero.dict())


@app.get("/heroes", response_model=List[Hero])
async def read_heroes(offset: int = Query(0, ge=0), limit: int = Query(100, ge=0, le=100)):
    async with app.state.db.acquire() as conn, conn.cursor() as cur:
        await cur.execute(
            f"SELECT {HERO_COLUMNS} FROM hero ORDER BY id LIMIT %s OFFSET %s", (limit, offset)
        )
        rows = await cur.fetchall()
    return [hero_row(row) for row in rows]


@app.get("/heroes/{hero_id}", response_model=Hero)
async def read_hero(hero_id: int):
    key = hero_key(hero_id)
    try:
        cached = await app.state.redis.get(key)
    except redis.exceptions.RedisError as e:  # a cache that is down is a miss
        log.warning("redis GET %s: %s", key, e)
        cached = None
    if cached is not None:
        return Response(cached.encode(), media_type="application/json")
    async with app.state.db.acquire() as conn, conn.cursor() as cur:
        await cur.execute(f"SELECT {HERO_COLUMNS} FROM hero WHERE id = %s", (hero_id,))
        row = await cur.fetchone()
    if row is None:
        raise HTTPException(status_code=404, detail="Hero not found")
    body = dumps(hero_row(row))
    try:
        await app.state.redis.set(key, body, ex=HERO_CACHE_TTL)
    except redis.exceptions.RedisError as e:
        log.warning("redis SET %s: %s", key, e)
    return Response(body, media_type="application/json")


@app.patch("/heroes/{hero_id}", response_model=Hero)
async def update_hero(hero_id: int, hero: HeroUpdate):
    data = hero.dict(exclude_unset=True)
    async with app.state.db.acquire() as conn, conn.cursor() as cur:
        await cur.execute(f"SELECT {HERO_COLUMNS} FROM hero WHERE id = %s", (hero_id,))
        row = await cur.fetchone()
        if row is None:
            raise HTTPException(status_code=404, detail="Hero not found")
        if data:
            sets = ", ".join(f"{column} = %s" for column in data)  # names from the model
            await cur.execute(
                f"UPDATE hero SET {sets} WHERE id = %s", (*data.values(), hero_id)
            )
    await forget_hero(hero_id)
    return {**hero_row(row), **data}


@app.delete("/heroes/{hero_id}")
async def delete_hero(hero_id: int):
    async with app.state.db.acquire() as conn, conn.cursor() as cur:
        await cur.execute("DELETE FROM hero WHERE id = %s", (hero_id,))
        deleted = cur.rowcount
    if not deleted:
        raise HTTPException(status_code=404, detail="Hero not found")
    await forget_hero(hero_id)
    return {"ok": True}
