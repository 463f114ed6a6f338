import { expect, test } from 'bun:test'
import { serverVersion } from './lex'
import { KEYWORD_WITHIN, firstKeyword, splitStatements, statementsOf } from './split'

test('statements split at top-level semicolons, blanks and comment-only parts dropped', () => {
  expect(splitStatements('CREATE TABLE t(x);\n\nINSERT INTO t VALUES (1) ;\n-- done\n;', 'sqlite')).toEqual([
    'CREATE TABLE t(x)',
    'INSERT INTO t VALUES (1)',
  ])
  expect(splitStatements('SELECT 1', 'sqlite')).toEqual(['SELECT 1'])
})

test('semicolons in quotes, identifiers and comments do not split', () => {
  const sql = `SELECT 'a;b', "c;d", \`e;f\`, [g;h] /* ; */ -- ;\nFROM t; SELECT 'it''s;'`
  expect(splitStatements(sql, 'sqlite')).toEqual([
    `SELECT 'a;b', "c;d", \`e;f\`, [g;h] /* ; */ -- ;\nFROM t`,
    `SELECT 'it''s;'`,
  ])
})

test('a trigger body keeps its inner statements, CASE … END included', () => {
  const trigger =
    'CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n  UPDATE t SET x = CASE WHEN 1 THEN 2 END;\n  DELETE FROM u;\nEND'
  expect(splitStatements(`${trigger};\nSELECT 1;`, 'sqlite')).toEqual([trigger, 'SELECT 1'])
})

test('a transaction BEGIN; … END; outside a trigger splits normally', () => {
  expect(splitStatements('BEGIN; INSERT INTO t VALUES (1); END;', 'sqlite')).toEqual([
    'BEGIN',
    'INSERT INTO t VALUES (1)',
    'END',
  ])
})

test('PostgreSQL dollar quotes and MySQL escapes and # comments', () => {
  const fn = 'CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END; $body$ LANGUAGE plpgsql'
  expect(splitStatements(`${fn}; SELECT $$a;b$$`, 'postgres')).toEqual([fn, 'SELECT $$a;b$$'])
  expect(splitStatements(`SELECT 'a\\';b'; # c;\nSELECT 2`, 'mysql')).toEqual([`SELECT 'a\\';b'`, '# c;\nSELECT 2'])
})

test('firstKeyword skips comments and parentheses', () => {
  expect(firstKeyword('-- hi\n/* x */ (select 1)', 'sqlite')).toBe('SELECT')
  expect(firstKeyword('  with t as (select 1) select * from t', 'postgres')).toBe('WITH')
})

test("PostgreSQL's E'…' strings escape with a backslash; a plain string and a name ending in e do not", () => {
  expect(splitStatements("SELECT E'\\'' AS x; SELECT e'a\\\\'; SELECT 'b\\'; SELECT name'c\\'", 'postgres')).toEqual([
    "SELECT E'\\'' AS x",
    "SELECT e'a\\\\'",
    "SELECT 'b\\'",
    "SELECT name'c\\'",
  ])
})

test('MariaDB BEGIN NOT ATOMIC and stored programs keep their bodies; BEGIN; alone is a transaction', () => {
  const block =
    "BEGIN NOT ATOMIC\n  DECLARE v INT;\n  IF v > 2 THEN SELECT 'END;'; END IF;\n  SET v = IF(v, 1, 2);\nEND"
  const proc =
    'CREATE DEFINER=`root`@`%` PROCEDURE p(begin INT)\nBEGIN\n' +
    "  DECLARE CONTINUE HANDLER FOR SQLSTATE '23000' BEGIN SET begin = 1; SET begin = 2; END;\n" +
    '  DECLARE EXIT HANDLER FOR NOT FOUND IF begin THEN SET begin = 0; END IF;\n' +
    '  DECLARE c CURSOR FOR SELECT 1;\n  lbl: LOOP\n    IF begin > 3 THEN LEAVE lbl; END IF;\n' +
    '    CASE begin WHEN 1 THEN SET begin = 2; ELSE SET begin = begin + 1; END CASE;\n  END LOOP lbl;\n' +
    '  REPEAT SET begin = begin - 1; UNTIL begin < 0 END REPEAT;\n  WHILE begin < 0 DO BEGIN SET begin = 0; END; END WHILE;\n' +
    '  UPDATE t SET end = CASE WHEN t.end > 0 THEN end ELSE 0 END;\nEND'
  expect(splitStatements(`${block};\n${proc};\nBEGIN; SELECT end FROM t; COMMIT`, 'mysql')).toEqual([
    block,
    proc,
    'BEGIN',
    'SELECT end FROM t',
    'COMMIT',
  ])
  const trigger = 'CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW IF NEW.x < 0 THEN SET NEW.x = 0; END IF'
  expect(splitStatements(`${trigger}; SELECT 1`, 'mysql')).toEqual([trigger, 'SELECT 1'])
  expect(splitStatements('IF @a THEN SELECT 1; ELSE SELECT 2; END IF; SELECT 3', 'mysql')).toEqual([
    'IF @a THEN SELECT 1; ELSE SELECT 2; END IF',
    'SELECT 3',
  ])
})

test('DELIMITER lines set what ends a statement, as the mysql client reads them', () => {
  const dump = [
    'DELIMITER //',
    'CREATE PROCEDURE p() BEGIN SELECT 1; END//',
    "SELECT '//'//",
    'DELIMITER ;;',
    '/*!50003 CREATE*/ /*!50003 TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.x = 1; */;;',
    '  delimiter ;',
    '/*!40101 SET NAMES utf8 */;',
    '/* a comment alone */;',
    "SELECT 'DELIMITER //'; -- DELIMITER //",
    'SELECT 2;',
  ].join('\n')
  expect(splitStatements(dump, 'mysql')).toEqual([
    'CREATE PROCEDURE p() BEGIN SELECT 1; END',
    "SELECT '//'",
    '/*!50003 CREATE*/ /*!50003 TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.x = 1; */',
    '/*!40101 SET NAMES utf8 */',
    "SELECT 'DELIMITER //'",
    '-- DELIMITER //\nSELECT 2',
  ])
  // Only where a statement starts, with an argument of at most 16 characters, and only MySQL's.
  expect(splitStatements('SELECT 1,\ndelimiter //\nFROM t; SELECT 2', 'mysql')).toEqual([
    'SELECT 1,\ndelimiter //\nFROM t',
    'SELECT 2',
  ])
  expect(splitStatements(`DELIMITER ${'x'.repeat(17)}\n; SELECT 1`, 'mysql')).toEqual([
    `DELIMITER ${'x'.repeat(17)}`,
    'SELECT 1',
  ])
  expect(splitStatements('DELIMITER //\nSELECT 1; SELECT 2', 'sqlite')).toEqual(['DELIMITER //\nSELECT 1', 'SELECT 2'])
  // A cell ends its last statement, delimiter or not; DELIMITER alone is no statement.
  expect(splitStatements('DELIMITER $$\nSELECT 1; SELECT 2\nDELIMITER', 'mysql')).toEqual([
    'SELECT 1; SELECT 2\nDELIMITER',
  ])
})

test('PostgreSQL BEGIN ATOMIC bodies; a BEGIN; transaction and dollar quotes in comments', () => {
  const fn =
    'CREATE OR REPLACE FUNCTION f(a int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT CASE WHEN a > 0 THEN a END;\nEND'
  expect(splitStatements(`${fn};\nBEGIN; SELECT 1 -- $$;\n; COMMIT; DO $x$ BEGIN END $x$`, 'postgres')).toEqual([
    fn,
    'BEGIN',
    'SELECT 1 -- $$;',
    'COMMIT',
    'DO $x$ BEGIN END $x$',
  ])
})

test('an unclosed body keeps the rest of the cell: the server names the error', () => {
  expect(splitStatements('CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; SELECT 2', 'sqlite')).toEqual([
    'CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; SELECT 2',
  ])
})

test('a large cell is walked in pieces, a turn given back between them, its statements in order', () => {
  const text = 'SELECT 1;\n'.repeat(100_000) + "SELECT '" + 'a'.repeat(1 << 20) + "'"
  const got = [...statementsOf(text, 'sqlite')]
  // ~2 MiB walked: a turn after each 256 Ki characters (a quoted string is walked whole, then one).
  expect(got.filter(stmt => stmt === undefined).length).toBeGreaterThanOrEqual(4)
  const statements = got.filter(stmt => stmt !== undefined)
  expect(statements).toHaveLength(100_001)
  expect(statements.slice(0, 100_000).every(stmt => stmt?.text === 'SELECT 1' && stmt.head === 0)).toBe(true)
  expect(statements[100_000]?.text).toHaveLength((1 << 20) + 9)
})

test("MySQL's -- is a comment only before white space or a control character; PostgreSQL's and SQLite's always", () => {
  expect(splitStatements('SELECT 1--1; SELECT 2 -- c; d\n; SELECT 3 --\tx\n; SELECT 4--', 'mysql')).toEqual([
    'SELECT 1--1',
    'SELECT 2 -- c; d',
    'SELECT 3 --\tx',
    'SELECT 4--',
  ])
  expect(splitStatements('SELECT 1--1; SELECT 2\n; SELECT 3', 'postgres')).toEqual([
    'SELECT 1--1; SELECT 2',
    'SELECT 3',
  ])
  expect(splitStatements('SELECT 1--1; SELECT 2\n; SELECT 3', 'sqlite')).toEqual(['SELECT 1--1; SELECT 2', 'SELECT 3'])
  // A head's comment is read the same way: `--1` is no comment before MySQL's CREATE TRIGGER.
  expect(firstKeyword('--1\nSELECT 1', 'mysql')).toBe('')
  expect(firstKeyword('--1\nSELECT 1', 'postgres')).toBe('SELECT')
})

test("firstKeyword reads into MySQL's executable comments, a dump's statements; elsewhere they are comments", () => {
  expect(firstKeyword('/*!40101 SET NAMES utf8 */', 'mysql')).toBe('SET')
  expect(firstKeyword('/*!50003 CREATE*/ /*!50017 DEFINER=CURRENT_USER*/ /*!50003 TRIGGER tr', 'mysql')).toBe('CREATE')
  expect(firstKeyword('/* a */ # b\n/*M!100100 (SELECT 1) */', 'mysql')).toBe('SELECT')
  expect(firstKeyword('/*!*/ /*! show tables */', 'mysql')).toBe('SHOW')
  expect(firstKeyword('/*! CREATE */ SELECT 1', 'postgres')).toBe('SELECT')
  expect(firstKeyword('/*!40101 SET', 'sqlite')).toBe('')
})

test('firstKeyword reads a keyword starting within KEYWORD_WITHIN characters, and none past them', () => {
  // Each lead is exactly `length` characters of what is skipped before a keyword.
  const leads: Record<string, (length: number) => string> = {
    spaces: length => ' '.repeat(length),
    parentheses: length => '('.repeat(length),
    lineComments: length => '#'.repeat(length - 1) + '\n',
    blockComment: length => `/*${'x'.repeat(length - 4)}*/`,
    executable: length => `/*!40101${' '.repeat(length - 8)}`,
  }
  for (const [shape, lead] of Object.entries(leads)) {
    const within = `${lead(KEYWORD_WITHIN - 1)}SELECT 1${')'.repeat(10)}`
    const past = `${lead(KEYWORD_WITHIN)}SELECT 1${')'.repeat(10)}`
    expect([shape, firstKeyword(within, 'mysql')]).toEqual([shape, 'SELECT'])
    expect([shape, firstKeyword(past, 'mysql')]).toEqual([shape, ''])
  }
  // A statement's length past its keyword changes nothing.
  expect(firstKeyword(`SELECT '${'x'.repeat(4 * KEYWORD_WITHIN)}'`, 'postgres')).toBe('SELECT')
  expect(firstKeyword(`/*${'x'.repeat(4 * KEYWORD_WITHIN)}`, 'postgres')).toBe('')
})

test('MariaDB stored routines whose body is no BEGIN, and Oracle-mode packages and routines, stay whole', () => {
  const programs = [
    'CREATE PROCEDURE p() IF 1 THEN SELECT 1; END IF',
    "CREATE DEFINER=CURRENT_USER() PROCEDURE IF NOT EXISTS w(a INT) COMMENT 'c;' NOT DETERMINISTIC\n  WHILE a > 0 DO SET a = a - 1; END WHILE",
    'CREATE FUNCTION f() RETURNS VARCHAR(10) CHARACTER SET utf8 DETERMINISTIC\n  CASE WHEN 1 THEN RETURN 1; ELSE RETURN 2; END CASE',
    'CREATE FUNCTION g() RETURNS INT RETURN CASE WHEN 1 THEN 2 ELSE 3 END',
    'CREATE PROCEDURE s() SELECT CASE WHEN 1 THEN 2 END AS x',
    'CREATE PACKAGE pkg AS FUNCTION f1 RETURN INT; PROCEDURE p1; END',
    'CREATE OR REPLACE PACKAGE BODY pkg IS\n  v INT := 1;\n  FUNCTION f1 RETURN INT AS x INT; BEGIN RETURN x; END;\n' +
      '  PROCEDURE p1 AS BEGIN NULL; END;\nEND pkg',
    'CREATE PROCEDURE o AS x INT; BEGIN x := 1; END',
  ]
  expect(splitStatements(programs.map(p => `${p};\nSELECT 2;\n`).join(''), 'mysql')).toEqual(
    programs.flatMap(p => [p, 'SELECT 2']),
  )
})

test("MariaDB heads the word list missed: a trigger's FOLLOWS/PRECEDES, two-word return types, an event's schedule", () => {
  const programs = [
    'CREATE TRIGGER t2 BEFORE INSERT ON t FOR EACH ROW FOLLOWS t1 IF NEW.x < 0 THEN SET NEW.x = 0; END IF',
    'CREATE OR REPLACE DEFINER=`root`@`%` TRIGGER t3 AFTER UPDATE ON t FOR EACH ROW PRECEDES `db`.`t1`\n' +
      '  CASE WHEN NEW.x > 1 THEN INSERT INTO l VALUES (1); ELSE INSERT INTO l VALUES (2); END CASE',
    'CREATE TRIGGER t4 BEFORE DELETE ON t FOR EACH ROW FOLLOWS d.t1 lbl: LOOP LEAVE lbl; END LOOP',
    'CREATE FUNCTION d() RETURNS DOUBLE PRECISION NO SQL IF 1 THEN RETURN 1; ELSE RETURN 2; END IF',
    'CREATE FUNCTION v() RETURNS CHAR VARYING(10) READS SQL DATA SQL SECURITY INVOKER\n' +
      '  IF 1 THEN RETURN 1; ELSE RETURN 2; END IF',
    'CREATE FUNCTION n() RETURNS NATIONAL CHAR(3) CONTAINS SQL CASE WHEN 1 THEN RETURN 1; ELSE RETURN 2; END CASE',
    "CREATE EVENT e ON SCHEDULE EVERY 1 HOUR STARTS '2026-01-01' ON COMPLETION NOT PRESERVE DISABLE\n" +
      "  COMMENT 'c;' DO IF 1 THEN DELETE FROM t; DELETE FROM l; END IF",
  ]
  expect(splitStatements(programs.map(p => `${p};\nSELECT 2;\n`).join(''), 'mysql')).toEqual(
    programs.flatMap(p => [p, 'SELECT 2']),
  )
})

test("an executable comment's version is compared with the server's, as the server's lexer does", () => {
  const maria = serverVersion('10.11.19-MariaDB-0+deb12u1')
  const mysql = serverVersion('8.0.36')
  expect([maria, mysql]).toEqual([
    { id: 101119, mariadb: true },
    { id: 80036, mariadb: false },
  ])
  const on = (comment: string, server = maria) => firstKeyword(`${comment} SELECT 1 */ DELETE FROM t`, 'mysql', server)
  // At most the server's version runs; past it, or MySQL 5.7's and later's on MariaDB, a comment.
  expect([on('/*!40101'), on('/*!101119'), on('/*!101120'), on('/*!50700'), on('/*!99999')]).toEqual([
    'SELECT',
    'SELECT',
    'DELETE',
    'DELETE',
    'DELETE',
  ])
  expect([on('/*M!50700'), on('/*M!100000'), on('/*M!999999'), on('/*!'), on('/*!9999999')]).toEqual([
    'SELECT',
    'SELECT',
    'DELETE',
    'SELECT',
    'DELETE',
  ])
  expect([on('/*!50700', mysql), on('/*!80037', mysql), on('/*M!50000', mysql)]).toEqual(['SELECT', 'DELETE', 'DELETE'])
  // Unknown server: every one runs, as before.
  expect(firstKeyword('/*!999999 SELECT 1 */ DELETE FROM t', 'mysql')).toBe('SELECT')
  // A part holding only a comment that does not run is no statement.
  expect(splitStatements('/*!999999 SELECT 1 */;\n/*!40101 SET @a = 1 */;\nSELECT 2', 'mysql', maria)).toEqual([
    '/*!40101 SET @a = 1 */',
    'SELECT 2',
  ])
})

test("a statement's first token is found by the walk that splits it: its keyword behind any length of comments", () => {
  const comments = `/* ${'c'.repeat(KEYWORD_WITHIN)} */\n-- ${'d'.repeat(KEYWORD_WITHIN)}\n`
  for (const dialect of ['mysql', 'postgres', 'sqlite'] as const) {
    const got = [...statementsOf(`SELECT 1;\n  ${comments}  ((select 2));\n${comments}`, dialect)]
    const [first, second, ...rest] = got.filter(stmt => stmt !== undefined)
    expect([first, rest]).toEqual([{ text: 'SELECT 1', head: 0 }, []])
    expect(second!.text.slice(second!.head)).toBe('((select 2))')
    expect(firstKeyword(second!.text, dialect)).toBe('')
    expect(firstKeyword(second!.text, dialect, undefined, second!.head)).toBe('SELECT')
  }
  // A stored program behind more than 512 characters of comments still keeps its body.
  const program = 'CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END'
  expect(splitStatements(`${comments}${program};\nSELECT 3`, 'mysql')).toEqual([
    `${comments}${program}`.trim(),
    'SELECT 3',
  ])
})
