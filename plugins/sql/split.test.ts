import { expect, test } from 'bun:test'
import { firstKeyword, splitStatements } from './split'

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
  expect(firstKeyword('-- hi\n/* x */ (select 1)')).toBe('SELECT')
  expect(firstKeyword('  with t as (select 1) select * from t')).toBe('WITH')
})

test("PostgreSQL's E'…' strings escape with a backslash; a plain string and a name ending in e do not", () => {
  expect(splitStatements("SELECT E'\\'' AS x; SELECT e'a\\\\'; SELECT 'b\\'; SELECT name'c\\'", 'postgres')).toEqual([
    "SELECT E'\\'' AS x",
    "SELECT e'a\\\\'",
    "SELECT 'b\\'",
    "SELECT name'c\\'",
  ])
})
