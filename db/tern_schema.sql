-- db/tern_schema.sql - tables of tern's example service beyond the TechEmpower ones,
-- loaded after tfb_create.sql (as root). The benchmark user may not create tables,
-- so the hero table of FastAPI's SQL tutorial is made here and granted to it.
USE hello_world;

CREATE TABLE IF NOT EXISTS hero (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(255) NOT NULL,
  secret_name VARCHAR(255) NOT NULL,
  age INT NULL,
  INDEX (name),
  INDEX (age)
) ENGINE=INNODB;

GRANT SELECT, INSERT, UPDATE, DELETE ON hello_world.hero TO 'benchmarkdbuser'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON hello_world.hero TO 'benchmarkdbuser'@'localhost';
GRANT SELECT, INSERT, UPDATE, DELETE ON hello_world.hero TO 'benchmarkdbuser'@'127.0.0.1';
FLUSH PRIVILEGES;
