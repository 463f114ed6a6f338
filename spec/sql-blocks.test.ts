/**
 * Compound statements as users paste them from docs and dumps, through dist/execd against real
 * servers: each cell must reach the server as the statements it holds, a body's inner
 * semicolons inside its statement. Before, the splitter cut them at every top-level `;` but a
 * SQLite trigger's, so MariaDB answered a syntax error for `BEGIN NOT ATOMIC … END`, every
 * stored program and every `DELIMITER` line of a dump.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { existsSync, readFileSync } from 'node:fs'
import { daemonAlone } from './kit/daemon-dir'
import { startMariadb } from './kit/mariadb'
import { startPostgres } from './kit/postgres'
import { createContext, ofType, resultText, runCode, type WireEvent } from './runtime-kit'
import type { Daemon } from './harness'

const postgres = await startPostgres()
const mariadb = await startMariadb()
afterAll(async () => {
  await postgres?.stop()
  await mariadb?.stop()
})

/** Runs each cell in one context, none failing; the last cell's results as text. */
async function cells(d: Daemon, ...texts: string[]): Promise<string[]> {
  const id = await createContext(d, 'sql')
  let events: WireEvent[] = []
  for (const text of texts) {
    events = await runCode(d, text, { id, language: 'sql' })
    expect(ofType(events, 'error').map(e => e.error.evalue)).toEqual([])
  }
  return resultText(events)
}

/**
 * The kit's MariaDB starts on an empty data dir, without the system tables stored programs
 * live in: they are made from the server's own script (a server named by DSN has them).
 */
async function storedProgramTables(d: Daemon): Promise<void> {
  const script = '/usr/share/mysql/mysql_system_tables.sql'
  if (process.env.EXECD_TEST_MYSQL_DSN || !existsSync(script)) return
  const tables = readFileSync(script, 'utf8')
    .split('\n')
    .filter(line => /^CREATE TABLE IF NOT EXISTS (?:proc|func|event) /.test(line))
    .map(line => line.replace('EXISTS ', 'EXISTS mysql.'))
  await cells(d, `CREATE DATABASE IF NOT EXISTS mysql; ${tables.join('\n')}`)
}

describe('SQLite', () => {
  const fx = daemonAlone()
  test('a trigger whose body names columns begin and end, with CASE and END; in a string', async () => {
    const last = await cells(
      fx.d,
      `CREATE TABLE t (x); CREATE TABLE log ("begin", "end");
       CREATE TRIGGER tr AFTER INSERT ON t BEGIN
         INSERT INTO log (begin, end) VALUES (new.x, 'END;');
         UPDATE log SET end = CASE WHEN end = 'END;' THEN 'done' ELSE end END; -- END;
       END;
       INSERT INTO t VALUES (7);
       SELECT begin, end FROM log`,
    )
    expect(last.at(-1)).toBe('{"columns":["begin","end"],"rows":[[7,"done"]]}')
  })

  test('-- is a comment wherever it stands', async () => {
    expect(await cells(fx.d, 'SELECT 1--1 AS x;\n AS y')).toEqual(['{"columns":["y"],"rows":[[1]]}'])
  })
})

describe.skipIf(!postgres)(`PostgreSQL${postgres ? '' : ' (skipped: no postgresql installed)'}`, () => {
  const fx = daemonAlone(() => ({ env: { EXECD_SQL_DSN: postgres?.dsn ?? '' } }))
  test('DO blocks in $$ and $tag$, and SQL-standard BEGIN ATOMIC bodies', async () => {
    const last = await cells(
      fx.d,
      `CREATE TEMPORARY TABLE bt (x int);
       DO $$ BEGIN INSERT INTO bt VALUES (1); END $$;
       DO $body$ DECLARE s text := '$$;'; BEGIN INSERT INTO bt VALUES (length(s)); END $body$;
       CREATE FUNCTION pg_temp.add1(a int) RETURNS int LANGUAGE sql
         BEGIN ATOMIC SELECT a + 1; END;
       CREATE PROCEDURE pg_temp.ins(v int) LANGUAGE sql BEGIN ATOMIC
         INSERT INTO bt VALUES (v);
         INSERT INTO bt VALUES (CASE WHEN v > 0 THEN v + 100 ELSE 0 END);
       END;
       CALL pg_temp.ins(pg_temp.add1(2));
       SELECT string_agg(x::text, ',' ORDER BY x) AS xs FROM bt`,
    )
    expect(last.at(-1)).toBe('{"columns":["xs"],"rows":[["1,3,3,103"]]}')
  })

  test('-- is a comment wherever it stands', async () => {
    expect(await cells(fx.d, 'SELECT 1--1 AS x;\n AS y')).toEqual(['{"columns":["y"],"rows":[[1]]}'])
  })

  test('a query behind 128 KiB of comments is still a query: its error is a DBQueryError', async () => {
    // Its first keyword is read where the splitter found its first token, not 64 KiB into it.
    const comments = `/* ${'c'.repeat(64 * 1024)} */\n-- ${'d'.repeat(64 * 1024)}\n`
    const id = await createContext(fx.d, 'sql')
    const events = await runCode(fx.d, `${comments}SELECT nowhere_col`, { id, language: 'sql' })
    expect(ofType(events, 'error').map(e => e.error.ename)).toEqual(['DBQueryError'])
  })
})

describe.skipIf(!mariadb)(`MariaDB${mariadb ? '' : ' (skipped: no mariadb-server installed)'}`, () => {
  const fx = daemonAlone(() => ({ env: { EXECD_SQL_DSN: mariadb?.dsn ?? '' } }))

  test('BEGIN NOT ATOMIC … END with IF … END IF, and a column named end', async () => {
    const last = await cells(
      fx.d,
      `CREATE TEMPORARY TABLE na (x int, end text);
       BEGIN NOT ATOMIC
         DECLARE v INT DEFAULT 3;
         IF v > 2 THEN INSERT INTO na (x, end) VALUES (v, 'a;b END'); END IF;
         INSERT INTO na (x, end) VALUES (IF(v > 2, 4, 0), 'if()');
       END;
       SELECT x, end FROM na ORDER BY x`,
    )
    expect(last.at(-1)).toBe('{"columns":["x","end"],"rows":[[3,"a;b END"],[4,"if()"]]}')
  })

  test('a procedure and a function with nested BEGIN, LOOP, CASE, WHILE and REPEAT; a CREATE EVENT', async () => {
    await storedProgramTables(fx.d)
    const last = await cells(
      fx.d,
      `CREATE TABLE pr (x int, kind text);
       CREATE PROCEDURE fill(n INT)
       BEGIN
         DECLARE i INT DEFAULT 0;
         DECLARE CONTINUE HANDLER FOR SQLSTATE '23000' BEGIN SET i = i + 0; SET i = i + 0; END;
         lbl: LOOP
           SET i = i + 1;
           IF i > n THEN LEAVE lbl; END IF;
           CASE WHEN i % 2 = 0 THEN INSERT INTO pr VALUES (i, 'even');
           ELSE INSERT INTO pr VALUES (i, CASE WHEN i = 1 THEN 'one' ELSE 'odd' END);
           END CASE;
         END LOOP lbl;
         WHILE i > 100 DO SET i = i - 1; END WHILE;
         REPEAT SET i = i - 1; UNTIL i <= 0 END REPEAT;
         BEGIN
           DECLARE \`end\` INT DEFAULT 0; /* END; */
           SELECT 1 INTO \`end\`;
         END;
       END;
       CREATE FUNCTION twice(a INT) RETURNS INT DETERMINISTIC
       BEGIN
         DECLARE r INT;
         SET r = a * 2;
         RETURN r;
       END;
       CALL fill(twice(2));`,
      `SELECT group_concat(x, kind ORDER BY x) AS xs FROM pr;
       DROP FUNCTION twice; DROP PROCEDURE fill; DROP TABLE pr`,
    )
    expect(last[0]).toBe('{"columns":["xs"],"rows":[["1one,2even,3odd,4even"]]}')
    // The kit's server has its event scheduler off: it says so only of a statement it parsed
    // whole (cut at the body's first `;` it was a syntax error).
    const id = await createContext(fx.d, 'sql')
    const event = await runCode(
      fx.d,
      `CREATE EVENT ev ON SCHEDULE AT CURRENT_TIMESTAMP + INTERVAL 1 DAY
       DO BEGIN DELETE FROM t WHERE x < 0; DELETE FROM t WHERE x > 1000; END; DROP EVENT IF EXISTS ev`,
      { id, language: 'sql' },
    )
    for (const e of ofType(event, 'error')) expect(e.error.evalue).toContain('event scheduler is disabled')
  })

  test('a dump with DELIMITER // and mysqldump’s DELIMITER ;; and versioned comments', async () => {
    const last = await cells(
      fx.d,
      `CREATE TABLE dt (x int, note text);
DELIMITER //
CREATE TRIGGER abs_x BEFORE INSERT ON dt FOR EACH ROW
BEGIN
  IF NEW.x < 0 THEN SET NEW.x = -NEW.x; END IF; -- DELIMITER ; here is a comment
END//
DELIMITER ;
/*!50003 SET @saved_sql_mode = @@sql_mode */ ;
DELIMITER ;;
/*!50003 CREATE*/ /*!50017 DEFINER=CURRENT_USER*/ /*!50003 TRIGGER note_x BEFORE INSERT ON dt FOR EACH ROW
  BEGIN SET NEW.note = concat('n;', NEW.x); END */;;
DELIMITER ;
INSERT INTO dt (x) VALUES (-5);
SELECT x, note, @saved_sql_mode IS NOT NULL AS kept FROM dt;
DROP TABLE dt`,
    )
    expect(last.at(-2)).toBe('{"columns":["x","note","kept"],"rows":[[5,"n;5",1]]}')
  })

  test("--1 is minus minus one, -- then a space a comment; a routine whose body is no BEGIN; Oracle mode's package", async () => {
    await storedProgramTables(fx.d)
    const last = await cells(
      fx.d,
      `SELECT 1--1 AS x; SELECT 3 AS y -- ; SELECT 4
       ;
       CREATE TEMPORARY TABLE nbt (z int);
       CREATE PROCEDURE nb(n INT) IF n > 0 THEN INSERT INTO nbt VALUES (n * 10); ELSE INSERT INTO nbt VALUES (0); END IF;
       CALL nb(2); DROP PROCEDURE nb; SELECT z FROM nbt;
       SET sql_mode = ORACLE;
       CREATE PACKAGE pk AS FUNCTION one RETURN INT; END;
       CREATE PACKAGE BODY pk AS
         FUNCTION one RETURN INT AS v INT := 1; BEGIN RETURN v; END;
       END pk;
       SELECT pk.one() AS o; DROP PACKAGE pk; SET sql_mode = DEFAULT`,
    )
    expect(last.filter(r => !r.includes('affected_rows'))).toEqual([
      '{"columns":["x"],"rows":[[2]]}',
      '{"columns":["y"],"rows":[[3]]}',
      '{"columns":["z"],"rows":[[20]]}',
      '{"columns":["o"],"rows":[[1]]}',
    ])
  })

  test("a trigger's FOLLOWS before an IF body, a function returning DOUBLE PRECISION with a CASE body", async () => {
    await storedProgramTables(fx.d)
    const last = await cells(
      fx.d,
      `CREATE TABLE fo (x int, note text);
       CREATE TRIGGER fo1 BEFORE INSERT ON fo FOR EACH ROW SET NEW.note = 'a';
       CREATE TRIGGER fo2 BEFORE INSERT ON fo FOR EACH ROW FOLLOWS fo1
         IF NEW.x < 0 THEN SET NEW.x = -NEW.x; SET NEW.note = concat(NEW.note, ';neg'); END IF;
       CREATE FUNCTION half(a INT) RETURNS DOUBLE PRECISION NO SQL
         CASE WHEN a IS NULL THEN RETURN 0; ELSE RETURN a / 2; END CASE;
       INSERT INTO fo (x) VALUES (-3);
       SELECT x, note, half(x) AS h FROM fo;
       DROP FUNCTION half; DROP TABLE fo`,
    )
    expect(last.at(-3)).toBe('{"columns":["x","note","h"],"rows":[[3,"a;neg",1.5]]}')
  })

  test('a query in an executable comment is a query: its error is a DBQueryError', async () => {
    const id = await createContext(fx.d, 'sql')
    const events = await runCode(fx.d, '/*!40101 SELECT nowhere_col */', { id, language: 'sql' })
    expect(ofType(events, 'error').map(e => e.error.ename)).toEqual(['DBQueryError'])
  })

  test("an executable comment past the server's version is a comment, as the server reads it", async () => {
    // MariaDB 10.11 ignores /*!999999 (past it) and /*!50700 (MySQL 5.7's); it runs /*M!100000.
    const id = await createContext(fx.d, 'sql')
    const ran = await runCode(fx.d, '/*!999999 SELECT 1 */;\n/*!50700 SELECT 2 */;\n/*M!100000 SELECT 3 AS c */', {
      id,
      language: 'sql',
    })
    expect(resultText(ran)).toEqual(['{"columns":["c"],"rows":[[3]]}'])
    const failed = await runCode(fx.d, '/*!999999 SELECT 1 FROM */ DELETE FROM no_such_table', { id, language: 'sql' })
    expect(ofType(failed, 'error').map(e => e.error.ename)).toEqual(['DBExecError'])
  })
})
