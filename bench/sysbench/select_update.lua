-- bench/sysbench/select_update.lua - the database ceiling for /updates: each sysbench
-- event reads a random world row with tern's SELECT, then writes it back with a new
-- random value with tern's UPDATE, both server-side prepared statements, each its own
-- autocommit transaction (what /updates does per row). Events/s = pairs/s.
--
--   sysbench bench/sysbench/select_update.lua --mysql-host=127.0.0.1 --mysql-port=3306 \
--     --mysql-user=benchmarkdbuser --mysql-password=benchmarkdbpass \
--     --mysql-db=hello_world --threads=10 --time=10 run

function thread_init()
  drv = sysbench.sql.driver()
  con = drv:connect()
  sel = con:prepare("SELECT id, randomNumber FROM world WHERE id = ?")
  sel_id = sel:bind_create(sysbench.sql.type.INT)
  sel:bind_param(sel_id)
  upd = con:prepare("UPDATE world SET randomNumber = ? WHERE id = ?")
  upd_rn = upd:bind_create(sysbench.sql.type.INT)
  upd_id = upd:bind_create(sysbench.sql.type.INT)
  upd:bind_param(upd_rn, upd_id)
end

function event()
  local id = sysbench.rand.uniform(1, 10000)
  sel_id:set(id)
  local rs = sel:execute()
  rs:fetch_row()
  rs:free()
  upd_rn:set(sysbench.rand.uniform(1, 10000))
  upd_id:set(id)
  upd:execute()
end

function thread_done()
  sel:close()
  upd:close()
  con:disconnect()
end
