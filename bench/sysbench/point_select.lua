-- bench/sysbench/point_select.lua - the database ceiling for /db and /queries: each
-- sysbench event is one execution of the statement tern prepares for them,
-- SELECT id, randomNumber FROM world WHERE id = ?, on a random id in 1..10000, through
-- a server-side prepared statement, its row read. Events/s = queries/s.
--
--   sysbench bench/sysbench/point_select.lua --mysql-host=127.0.0.1 --mysql-port=3306 \
--     --mysql-user=benchmarkdbuser --mysql-password=benchmarkdbpass \
--     --mysql-db=hello_world --threads=10 --time=10 run

function thread_init()
  drv = sysbench.sql.driver()
  con = drv:connect()
  stmt = con:prepare("SELECT id, randomNumber FROM world WHERE id = ?")
  id = stmt:bind_create(sysbench.sql.type.INT)
  stmt:bind_param(id)
end

function event()
  id:set(sysbench.rand.uniform(1, 10000))
  local rs = stmt:execute()
  rs:fetch_row()
  rs:free()
end

function thread_done()
  stmt:close()
  con:disconnect()
end
