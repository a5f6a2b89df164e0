import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CsvError, readCsvColumns } from '../../src/data/csv.js';
import type { CsvColumns } from '../../src/data/csv.js';

const dir = mkdtempSync(join(tmpdir(), 'vigia-csv-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let serial = 0;
/** Writes a temp CSV file and returns its path. */
function csv(content: string | Buffer): string {
  const file = join(dir, `t${++serial}.csv`);
  writeFileSync(file, content);
  return file;
}

function numbers(result: CsvColumns, name: string): number[] {
  const column = result.columns.get(name);
  assert.ok(column !== undefined, `column ${name} is missing`);
  assert.equal(column.kind, 'numeric', `column ${name} is ${column.kind}`);
  return Array.from(column.values as Float64Array);
}

function texts(result: CsvColumns, name: string): (string | null)[] {
  const column = result.columns.get(name);
  assert.ok(column !== undefined, `column ${name} is missing`);
  assert.equal(column.kind, 'text', `column ${name} is ${column.kind}`);
  return column.values as (string | null)[];
}

/** Asserts that reading rejects with a CsvError with exactly this message, line and column. */
async function rejects(
  promise: Promise<unknown>,
  expected: { message: string; line: number; column?: string | undefined },
): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof CsvError, `not a CsvError: ${String(err)}`);
    assert.equal(err.name, 'CsvError');
    assert.equal(err.message, expected.message);
    assert.equal(err.line, expected.line);
    assert.equal(err.column, expected.column);
    return true;
  });
}

const CREDIT_HEADER =
  '"ID","LIMIT_BAL","SEX","EDUCATION","MARRIAGE","AGE","PAY_0","PAY_2","PAY_3","PAY_4","PAY_5","PAY_6",' +
  '"BILL_AMT1","BILL_AMT2","BILL_AMT3","BILL_AMT4","BILL_AMT5","BILL_AMT6",' +
  '"PAY_AMT1","PAY_AMT2","PAY_AMT3","PAY_AMT4","PAY_AMT5","PAY_AMT6","default.payment.next.month"';
const CREDIT_NAMES = CREDIT_HEADER.split(',').map((n) => n.slice(1, -1));

describe('readCsvColumns on the credit data layout', () => {
  it('reads quoted header names, R-style exponents, negative amounts and undocumented codes', async () => {
    // The traps of datasets/uci_credit_default.csv (written by R's write.csv), in small.
    const file = csv(
      [
        CREDIT_HEADER,
        '1,20000,2,2,1,24,2,2,-1,-1,-2,-2,3913,3102,689,0,0,0,0,689,0,0,0,0,1',
        '7,5e+05,1,1,2,29,0,0,0,0,0,0,367965,412023,445007,542653,483003,473944,55000,40000,38000,20239,13750,13770,0',
        '8,1e+05,2,2,2,23,0,-1,-1,0,0,-1,11876,380,601,221,-159,567,380,601,0,581,1687,1542,0',
        '11,2e+05,2,3,2,34,0,0,2,0,0,-1,11073,9787,5535,2513,1828,3731,2306,12,50,300,3738,66,0',
        '90,1E+05,1,0,0,35,-2,-2,-2,-2,-2,-2,-339603,0,0,0,0,0,0,0,0,0,0,0,0',
        '91,30000,2,5,3,79,8,7,6,5,4,3,1,1,1,1,1,1,1684259,0,0,0,0,0,1',
        '92,30000,2,6,3,21,-2,0,0,0,0,0,1,1,1,1,1,1,0,0,0,0,0,0,1',
        '',
      ].join('\n'),
    );
    const result = await readCsvColumns(file, { numeric: CREDIT_NAMES, required: CREDIT_NAMES });
    assert.deepEqual(result.header, CREDIT_NAMES);
    assert.equal(result.rows, 7);
    assert.equal(result.columns.size, 25);
    assert.deepEqual(numbers(result, 'LIMIT_BAL'), [20000, 500000, 100000, 200000, 100000, 30000, 30000]);
    assert.deepEqual(numbers(result, 'EDUCATION'), [2, 1, 2, 3, 0, 5, 6]);
    assert.deepEqual(numbers(result, 'MARRIAGE'), [1, 2, 2, 2, 0, 3, 3]);
    assert.deepEqual(numbers(result, 'PAY_0'), [2, 0, 0, 0, -2, 8, -2]);
    assert.deepEqual(numbers(result, 'BILL_AMT1'), [3913, 367965, 11876, 11073, -339603, 1, 1]);
    assert.deepEqual(numbers(result, 'BILL_AMT5'), [0, 483003, -159, 1828, 0, 1, 1]);
    assert.deepEqual(numbers(result, 'PAY_AMT1'), [0, 55000, 380, 2306, 0, 1684259, 0]);
    assert.deepEqual(numbers(result, 'default.payment.next.month'), [1, 0, 0, 0, 0, 1, 1]);
    for (const [name, column] of result.columns) {
      assert.equal(column.values.length, 7, name);
    }
  });

  it('reads the bundled reference sample: 5000 rows of 24 numeric columns', async () => {
    const file = join(import.meta.dirname, '..', '..', 'models', 'credit-default', 'reference.csv');
    const names = readFileSync(file, 'utf8').split('\n', 1)[0]!.split(',');
    assert.equal(names.length, 24);
    const result = await readCsvColumns(file, { numeric: names, required: names });
    assert.equal(result.rows, 5000);
    assert.equal(result.columns.size, 24);
    // Its first data line: 700000,1,2,1,50,0,0,0,0,0,0,280809,273492,224238,174189,121717,124040,10000,8500,7093,4500,4100,4100,0
    const first = (name: string) => numbers(result, name)[0];
    assert.equal(first('LIMIT_BAL'), 700000);
    assert.equal(first('AGE'), 50);
    assert.equal(first('BILL_AMT1'), 280809);
    assert.equal(first('PAY_AMT3'), 7093);
    assert.equal(first('default.payment.next.month'), 0);
    for (const name of names) {
      const values = numbers(result, name);
      assert.equal(values.length, 5000, name);
      assert.ok(values.every(Number.isFinite), `${name} has a non-finite value`);
    }
  });
});

describe('readCsvColumns numbers', () => {
  it('accepts integers, decimals, signs and exponent forms, and reads missing tokens as NaN', async () => {
    const cells = ['12', '-3.5', '+7', '.5', '5.', '5e+05', '1E+05', '7.5e-3', '-0', '"42"', '', 'NA', 'na', 'NaN', 'null', 'NULL', '"NA"'];
    const file = csv(`i,x\n${cells.map((c, i) => `${i},${c}`).join('\n')}\n`);
    const result = await readCsvColumns(file, { numeric: ['x'] });
    const values = numbers(result, 'x');
    assert.deepEqual(values.slice(0, 10), [12, -3.5, 7, 0.5, 5, 500000, 100000, 0.0075, -0, 42]);
    assert.ok(Object.is(values[8], -0));
    assert.ok(values.slice(10).every(Number.isNaN), `missing tokens: ${values.slice(10).join(' ')}`);
  });

  it('gives exactly the double that Number() gives, on the fast path and off it', async () => {
    let seed = 7;
    const next = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 4294967296;
    };
    const cells: string[] = [];
    for (let k = 0; k < 3000; k++) {
      const digits = String(Math.floor(next() * 1e18)).slice(0, 1 + Math.floor(next() * 19));
      const point = Math.floor(next() * (digits.length + 1));
      const mantissa = `${digits.slice(0, point)}.${digits.slice(point)}`.replace(/^\.$/, '0');
      const exponent = next() < 0.5 ? '' : `e${next() < 0.5 ? '-' : '+'}${Math.floor(next() * 40)}`;
      cells.push(`${next() < 0.3 ? '-' : ''}${mantissa}${exponent}`);
    }
    cells.push('9007199254740993', '123456789012345678901234567890', '1e-400', '0.1', '0.30000000000000004', '1.7976931348623157e308');
    const file = csv(`x\n${cells.join('\n')}\n`);
    const values = numbers(await readCsvColumns(file, { numeric: ['x'] }), 'x');
    cells.forEach((cell, i) => assert.ok(Object.is(values[i], Number(cell)), `${cell}: ${values[i]} vs ${Number(cell)}`));
  });

  for (const [value, cell] of [
    ['12a', '12a'],
    ['1,5', '"1,5"'],
    ['abc', 'abc'],
    ['Infinity', 'Infinity'],
    ['-Infinity', '-Infinity'],
    ['0x10', '0x10'],
    [' 12', ' 12'],
    ['1e999', '1e999'],
    ['1e', '1e'],
    ['-', '-'],
    ['.', '.'],
  ] as const) {
    it(`refuses ${JSON.stringify(value)} naming the file, the line, the column and the value`, async () => {
      const file = csv(`id,AGE\n1,30\n2,${cell}\n3,40\n`);
      await rejects(readCsvColumns(file, { numeric: ['id', 'AGE'] }), {
        message: `${file}:3: column "AGE": cannot parse ${JSON.stringify(value)} as a number`,
        line: 3,
        column: 'AGE',
      });
    });
  }

  it('shortens a very long bad value in the message', async () => {
    const file = csv(`x\n${'9'.repeat(50)}z${'9'.repeat(50)}\n`);
    await assert.rejects(readCsvColumns(file, { numeric: ['x'] }), (err: unknown) => {
      assert.ok(err instanceof CsvError);
      assert.equal(err.message, `${file}:2: column "x": cannot parse "${'9'.repeat(50)}z${'9'.repeat(29)}…" as a number`);
      return true;
    });
  });
});

describe('readCsvColumns text', () => {
  it('unquotes fields with embedded commas and doubled quotes, and reads empty and bare NA as null', async () => {
    const file = csv(
      [
        'id,name,note',
        '1,"Smith, John","said ""hi"", twice"',
        '2,plain,',
        '3,"",NA',
        '4,"NA",n/a',
        '5,"",""""',
        '6,São Paulo,"a ""b"""',
        '7,x"y,"multi, comma, field"',
      ].join('\n'),
    );
    const result = await readCsvColumns(file, { numeric: ['id'], text: ['name', 'note'] });
    assert.equal(result.rows, 7);
    assert.deepEqual(numbers(result, 'id'), [1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(texts(result, 'name'), ['Smith, John', 'plain', null, 'NA', null, 'São Paulo', 'x"y']);
    assert.deepEqual(texts(result, 'note'), ['said "hi", twice', null, null, 'n/a', '"', 'a "b"', 'multi, comma, field']);
  });

  it('refuses a quoted field that does not close on its line', async () => {
    const file = csv('id,note\n1,ok\n2,"starts here\ncontinues",\n');
    await rejects(readCsvColumns(file, { text: ['note'] }), {
      message: `${file}:3: column "note": unterminated quoted field (a quoted field must close on its own line; multi-line fields are not supported)`,
      line: 3,
      column: 'note',
    });
  });

  it('refuses text after a closing quote', async () => {
    const file = csv('id,note\n1,"ab"c\n');
    await rejects(readCsvColumns(file, { text: ['note'] }), {
      message: `${file}:2: column "note": unexpected character "c" after a closing quote`,
      line: 2,
      column: 'note',
    });
  });
});

describe('readCsvColumns structure', () => {
  it('reads CRLF line endings, a BOM and a final line without a newline', async () => {
    const file = csv(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('"a","b"\r\n1,x\r\n2,"y, z"\r\n3,NA')]));
    const result = await readCsvColumns(file, { numeric: ['a'], text: ['b'] });
    assert.deepEqual(result.header, ['a', 'b']);
    assert.deepEqual(numbers(result, 'a'), [1, 2, 3]);
    assert.deepEqual(texts(result, 'b'), ['x', 'y, z', null]);
  });

  it('accepts trailing blank lines but refuses a blank line between rows', async () => {
    const ok = await readCsvColumns(csv('a\n1\n2\n\n\r\n\n'), { numeric: ['a'] });
    assert.deepEqual(numbers(ok, 'a'), [1, 2]);
    const file = csv('a,b\n1,2\n\n3,4\n');
    await rejects(readCsvColumns(file, { numeric: ['a', 'b'] }), {
      message: `${file}:3: blank line (blank lines are allowed only at the end of the file)`,
      line: 3,
    });
  });

  it('refuses a row with too few fields, saying how many it has', async () => {
    const file = csv('a,b,c\n1,2,3\n4,5\n');
    await rejects(readCsvColumns(file, { numeric: ['a'] }), {
      message: `${file}:3: the row has 2 fields but the header has 3`,
      line: 3,
    });
  });

  it('refuses a row with too many fields, a trailing comma included', async () => {
    const file = csv('a,b,c\n1,2,3\n4,5,6,"7,8",9\n');
    await rejects(readCsvColumns(file, { numeric: ['a'] }), {
      message: `${file}:3: the row has 5 fields but the header has 3`,
      line: 3,
    });
    const trailing = csv('a,b\r\n1,2\r\n3,4,\r\n');
    await rejects(readCsvColumns(trailing, {}), { message: `${trailing}:3: the row has 3 fields but the header has 2`, line: 3 });
  });

  it('refuses an empty file', async () => {
    for (const content of ['', '\n\n', '\ufeff']) {
      const file = csv(content);
      await rejects(readCsvColumns(file, {}), { message: `${file}:1: the file is empty`, line: 1 });
    }
  });

  it('refuses a header with no data rows', async () => {
    for (const content of ['a,b', 'a,b\n', '"a","b"\r\n\r\n']) {
      const file = csv(content);
      await rejects(readCsvColumns(file, { numeric: ['a'] }), {
        message: `${file}:2: the file has no data rows (only a header)`,
        line: 2,
      });
    }
  });

  it('refuses a blank header line', async () => {
    const file = csv('\na,b\n1,2\n');
    await rejects(readCsvColumns(file, {}), { message: `${file}:1: the header line is blank`, line: 1 });
  });

  it('refuses a duplicate column name, naming both positions', async () => {
    const file = csv('"ID","AGE","SEX","AGE"\n1,2,3,4\n');
    await rejects(readCsvColumns(file, { numeric: ['AGE'] }), {
      message: `${file}:1: column "AGE": duplicate column name at positions 2 and 4`,
      line: 1,
      column: 'AGE',
    });
  });

  it('refuses CR-only line endings', async () => {
    const file = csv('a,b\r1,2\r3,4\r');
    await rejects(readCsvColumns(file, {}), {
      message: `${file}:1: the header contains a bare carriage return (CR-only line endings are not supported)`,
      line: 1,
    });
  });

  it('refuses missing required columns, listing them and the columns found', async () => {
    const file = csv('"ID","LIMIT_BAL","AGE"\n1,2,3\n');
    await rejects(readCsvColumns(file, { required: ['ID', 'SEX', 'AGE', 'PAY_0'] }), {
      message: `${file}:1: missing required columns "SEX", "PAY_0"; the header has "ID", "LIMIT_BAL", "AGE"`,
      line: 1,
    });
    await rejects(readCsvColumns(file, { required: ['SEX'] }), {
      message: `${file}:1: missing required column "SEX"; the header has "ID", "LIMIT_BAL", "AGE"`,
      line: 1,
    });
  });

  it('keeps only the listed columns without inference, still checking every field count', async () => {
    const file = csv('a,b,c,d\n1,x,3,?\n4,y,6,!\n');
    const result = await readCsvColumns(file, { numeric: ['a', 'zz'], text: ['b'] });
    assert.deepEqual(result.header, ['a', 'b', 'c', 'd']);
    assert.deepEqual([...result.columns.keys()], ['a', 'b']);
    assert.deepEqual(numbers(result, 'a'), [1, 4]);
    assert.deepEqual(texts(result, 'b'), ['x', 'y']);
  });

  it('refuses a column listed as both numeric and text before reading anything', async () => {
    await assert.rejects(readCsvColumns(join(dir, 'absent.csv'), { numeric: ['a'], text: ['a'] }), {
      name: 'TypeError',
      message: 'readCsvColumns: column "a" is listed as both numeric and text',
    });
  });

  it('lets a missing file fail with the file system error', async () => {
    await assert.rejects(readCsvColumns(join(dir, 'absent.csv'), {}), { code: 'ENOENT' });
  });

  it('reads lines and quoted fields that straddle the 4 MiB read chunks', async () => {
    const rows: string[] = ['id,"label",amount'];
    const expected: string[] = [];
    for (let i = 0; i < 100_000; i++) {
      const label = `item ${i}, "size" ${'x'.repeat(i % 97)}`;
      expected.push(label);
      rows.push(`${i},"${label.replaceAll('"', '""')}",${(i * 1.25).toFixed(2)}`);
    }
    const content = rows.join('\r\n') + '\r\n';
    assert.ok(content.length > 8 * 1024 * 1024, 'the file spans at least three chunks');
    const result = await readCsvColumns(csv(content), { numeric: ['id', 'amount'], text: ['label'], required: ['id', 'label'] });
    assert.equal(result.rows, 100_000);
    assert.deepEqual(texts(result, 'label'), expected);
    const amount = numbers(result, 'amount');
    const id = numbers(result, 'id');
    for (let i = 0; i < 100_000; i++) {
      assert.equal(id[i], i);
      assert.equal(amount[i], Number((i * 1.25).toFixed(2)));
    }
  });
});

describe('readCsvColumns inference', () => {
  it('types each unlisted column numeric when every non-missing cell is a number, else text', async () => {
    const file = csv(
      [
        'id,amount,city,empty,zip,flag,code',
        '1,5e+05,Lisboa,,007,NA,x',
        '2,-1.5,"Porto, PT",NA,1200,yes,1',
        '3,,NA,,A-100,,2',
      ].join('\n'),
    );
    const result = await readCsvColumns(file, { infer: true, text: ['code'] });
    assert.deepEqual(numbers(result, 'id'), [1, 2, 3]);
    const amount = numbers(result, 'amount');
    assert.deepEqual(amount.slice(0, 2), [500000, -1.5]);
    assert.ok(Number.isNaN(amount[2]));
    assert.deepEqual(texts(result, 'city'), ['Lisboa', 'Porto, PT', null]);
    assert.ok(numbers(result, 'empty').every(Number.isNaN), 'an all-missing column is numeric NaN');
    // zip looked numeric for two rows: its text is re-read from the file, so 007 stays 007.
    assert.deepEqual(texts(result, 'zip'), ['007', '1200', 'A-100']);
    assert.deepEqual(texts(result, 'flag'), [null, 'yes', null]);
    // Listed columns keep their declared type: code is text although 1 and 2 are numbers.
    assert.deepEqual(texts(result, 'code'), ['x', '1', '2']);
  });

  it('re-reads the exact text of a column that turns to text late, across chunks', async () => {
    const rows = ['n,v'];
    for (let i = 0; i < 300_000; i++) rows.push(`${i},${i % 3 === 0 ? `0${i}` : i % 3 === 1 ? 'NaN' : String(i)}`);
    rows.push('300000,text');
    const result = await readCsvColumns(csv(rows.join('\n')), { infer: true });
    assert.equal(result.rows, 300_001);
    assert.equal(numbers(result, 'n')[300_000], 300_000);
    const v = texts(result, 'v');
    assert.deepEqual(v.slice(0, 4), ['00', 'NaN', '2', '03']);
    assert.equal(v[299_997], '0299997');
    assert.equal(v[299_999], '299999');
    assert.equal(v[300_000], 'text');
  });
});
