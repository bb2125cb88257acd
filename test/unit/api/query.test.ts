// Harbor's list conventions as the API parses them: q= (every form Harbor's builder takes, and
// what it should refuse), sort=, the paging links, the double-encoded repository names, and the
// session cookie reader. Hostile inputs get a 400 that says what is wrong, never a throw of
// another kind or a silently ignored filter.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readCookie, setCookie } from '../../../src/api/cookies.js';
import { ApiError } from '../../../src/api/errors.js';
import { pageLinks, pagingQuery } from '../../../src/api/paging.js';
import { projectRef, repositoryNameParam } from '../../../src/api/params.js';
import { parseQ, parseSort, Q_LIMITS } from '../../../src/api/query.js';
import { z } from 'zod';

const FIELDS = { name: 'string', project_id: 'int', creation_time: 'time', public: 'bool' } as const;

function refused(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ApiError, `an ApiError, not ${String(err)}`);
    assert.equal(err.code, 'BAD_REQUEST');
    assert.equal(err.status, 400);
    assert.match(err.message, message);
    return true;
  });
}

describe('q=', () => {
  test('each of Harbor\'s forms, typed by the field', () => {
    assert.deepEqual(parseQ('name=library', FIELDS), { name: { op: 'eq', value: 'library' } });
    assert.deepEqual(parseQ('name=~lib', FIELDS), { name: { op: 'fuzzy', value: 'lib' } });
    assert.deepEqual(parseQ('project_id=[1~10]', FIELDS), { project_id: { op: 'range', min: 1, max: 10 } });
    assert.deepEqual(parseQ('project_id=[~10]', FIELDS), { project_id: { op: 'range', min: undefined, max: 10 } });
    assert.deepEqual(parseQ('project_id=[ 5 ~ ]', FIELDS), { project_id: { op: 'range', min: 5, max: undefined } });
    assert.deepEqual(parseQ('name={a b  c}', FIELDS), { name: { op: 'any', values: ['a', 'b', 'c'] } });
    assert.deepEqual(parseQ('project_id=(1 2)', FIELDS), { project_id: { op: 'all', values: [1, 2] } });
    assert.deepEqual(parseQ('public=true', FIELDS), { public: { op: 'eq', value: true } });
    assert.deepEqual(parseQ('project_id=-3', FIELDS), { project_id: { op: 'eq', value: -3 } });
  });

  test('several terms, comma-joined; a backslash makes the rest literal; quotes are trimmed in lists', () => {
    assert.deepEqual(parseQ('name=~app,public=false,project_id={1 2}', FIELDS), {
      name: { op: 'fuzzy', value: 'app' },
      public: { op: 'eq', value: false },
      project_id: { op: 'any', values: [1, 2] },
    });
    assert.deepEqual(parseQ('name=\\~tilde', FIELDS), { name: { op: 'eq', value: '~tilde' } });
    assert.deepEqual(parseQ('name={"a" \'b\'}', FIELDS), { name: { op: 'any', values: ['a', 'b'] } });
  });

  test('times in Harbor\'s format are UTC; a zone may be given; ranges of times work', () => {
    const jan = Date.UTC(2026, 0, 31, 12, 0, 0);
    assert.deepEqual(parseQ('creation_time=2026-01-31T12:00:00', FIELDS), { creation_time: { op: 'eq', value: jan } });
    assert.deepEqual(parseQ('creation_time=2026-01-31T13:00:00+01:00', FIELDS), { creation_time: { op: 'eq', value: jan } });
    assert.deepEqual(parseQ('creation_time=[2026-01-31T12:00:00~2026-01-31T12:00:00.500Z]', FIELDS), { creation_time: { op: 'range', min: jan, max: jan + 500 } });
  });

  test('a q= encoded once more (clients that encode twice) is decoded, as Harbor does; a literal % is kept', () => {
    assert.deepEqual(parseQ('name%3D~lib', FIELDS), { name: { op: 'fuzzy', value: 'lib' } });
    assert.deepEqual(parseQ('name=~50%', FIELDS), { name: { op: 'fuzzy', value: '50%' } });
  });

  test('absent or empty: no filter', () => {
    assert.deepEqual(parseQ(undefined, FIELDS), {});
    assert.deepEqual(parseQ('', FIELDS), {});
  });

  test('unknown keys are refused, naming the keys there are; keys are case-sensitive', () => {
    refused(() => parseQ('owner=bob', FIELDS), /unknown key "owner"; this list filters by name, project_id, creation_time, public/);
    refused(() => parseQ('Name=x', FIELDS), /unknown key "Name"/);
    refused(() => parseQ('x=1', {}), /filters by nothing/);
  });

  test('prototype keys are unknown keys, not a way into the filter object', () => {
    for (const key of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      refused(() => parseQ(`${key}=1`, FIELDS), /unknown key/);
    }
    assert.equal(Object.getPrototypeOf(parseQ('name=a', FIELDS)), Object.prototype);
  });

  test('malformed terms are refused with what is wrong', () => {
    refused(() => parseQ('name', FIELDS), /key=value/);
    refused(() => parseQ('name=', FIELDS), /key=value/);
    refused(() => parseQ('=x', FIELDS), /key=value/);
    refused(() => parseQ(',', FIELDS), /key=value/);
    refused(() => parseQ('name=a,', FIELDS), /key=value/);
    refused(() => parseQ('name=~', FIELDS), /at least one character/);
    refused(() => parseQ('project_id=[1~2', FIELDS), /\[min~max\]/);
    refused(() => parseQ('project_id=[1~2~3]', FIELDS), /exactly one "~"/);
    refused(() => parseQ('project_id=[~]', FIELDS), /a minimum, a maximum or both/);
    refused(() => parseQ('project_id=[9~1]', FIELDS), /minimum above its maximum/);
    refused(() => parseQ('name={a b', FIELDS), /must end with "}"/);
    refused(() => parseQ('name=(a b}', FIELDS), /must end with "\)"/);
    refused(() => parseQ('name={   }', FIELDS), /is empty/);
    refused(() => parseQ('name=a,name=b', FIELDS), /given twice/);
  });

  test('values of the wrong type are refused, and so are operators the type has none of', () => {
    refused(() => parseQ('project_id=abc', FIELDS), /project_id takes an integer, not "abc"/);
    refused(() => parseQ('project_id=1.5', FIELDS), /integer/);
    refused(() => parseQ('project_id=99999999999999999', FIELDS), /integer/);
    refused(() => parseQ('project_id={1 x}', FIELDS), /integer, not "x"/);
    refused(() => parseQ('public=yes', FIELDS), /true or false/);
    refused(() => parseQ('creation_time=yesterday', FIELDS), /takes a time/);
    refused(() => parseQ('creation_time=2026-13-45T99:00:00', FIELDS), /takes a time/);
    refused(() => parseQ('project_id=~1', FIELDS), /no fuzzy match/);
    refused(() => parseQ('name=[a~b]', FIELDS), /no range/);
  });

  test('hostile sizes are bounded, and the message does not echo a huge value', () => {
    refused(() => parseQ(`name=${'a'.repeat(Q_LIMITS.length)}`, FIELDS), /characters long/);
    refused(() => parseQ(Array.from({ length: Q_LIMITS.terms + 1 }, (_, i) => `name=${i}`).join(','), FIELDS), /terms/);
    refused(() => parseQ(`name={${Array.from({ length: Q_LIMITS.listValues + 1 }, (_, i) => `v${i}`).join(' ')}}`, FIELDS), /at most 100/);
    refused(() => parseQ(`name=${'b'.repeat(Q_LIMITS.valueLength + 1)}`, FIELDS), /longer than/);
    try {
      parseQ(`${'k'.repeat(3000)}=1`, FIELDS);
      assert.fail('accepted');
    } catch (err) {
      assert.ok((err as Error).message.length < 300, (err as Error).message);
    }
  });
});

describe('sort=', () => {
  const SORTABLE = ['name', 'creation_time'] as const;
  test('fields in order, a leading "-" for descending', () => {
    assert.deepEqual(parseSort('name,-creation_time', SORTABLE), [
      { field: 'name', desc: false },
      { field: 'creation_time', desc: true },
    ]);
    assert.deepEqual(parseSort(undefined, SORTABLE), []);
    assert.deepEqual(parseSort('', SORTABLE), []);
  });
  test('only the fields a route sorts by; each once; bounded', () => {
    refused(() => parseSort('owner', SORTABLE), /cannot sort by "owner"; this list sorts by name, creation_time/);
    refused(() => parseSort('name,-name', SORTABLE), /given twice/);
    refused(() => parseSort('name,', SORTABLE), /cannot sort by ""/);
    refused(() => parseSort('--name', SORTABLE), /cannot sort by "-name"/);
    refused(() => parseSort(Array(9).fill('name').join(','), SORTABLE), /at most 8/);
  });
});

describe('paging', () => {
  const query = z.object(pagingQuery);
  test('page from 1 (default 1), page_size 1..100 (default 10), from query strings', () => {
    assert.deepEqual(query.parse({}), { page: 1, page_size: 10 });
    assert.deepEqual(query.parse({ page: '3', page_size: '100' }), { page: 3, page_size: 100 });
    const over = query.safeParse({ page_size: '101' });
    assert.equal(over.success, false);
    assert.match(over.error!.issues[0]!.message, /page_size must be at most 100/);
    for (const bad of [{ page: '0' }, { page: 'x' }, { page: '1.5' }, { page_size: '0' }, { page_size: ['1', '2'] }]) {
      assert.equal(query.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });

  test('Link: prev and next as Harbor computes them, keeping every other parameter encoded', () => {
    const url = '/api/v2.0/projects?q=name%3D~a%2Cpublic%3Dtrue&sort=-name&page=2&page_size=10';
    assert.equal(
      pageLinks(url, { page: 2, pageSize: 10 }, 35),
      '</api/v2.0/projects?q=name%3D%7Ea%2Cpublic%3Dtrue&sort=-name&page=1&page_size=10>; rel="prev" , </api/v2.0/projects?q=name%3D%7Ea%2Cpublic%3Dtrue&sort=-name&page=3&page_size=10>; rel="next"',
    );
    assert.equal(pageLinks('/api/v2.0/x', { page: 1, pageSize: 10 }, 10), undefined, 'one page: no links');
    assert.equal(pageLinks('/api/v2.0/x', { page: 1, pageSize: 10 }, 11), '</api/v2.0/x?page=2&page_size=10>; rel="next"');
    assert.equal(pageLinks('/api/v2.0/x?page=4', { page: 4, pageSize: 10 }, 31), '</api/v2.0/x?page=3&page_size=10>; rel="prev"');
    assert.equal(pageLinks('/api/v2.0/x?page=9', { page: 9, pageSize: 10 }, 31), undefined, 'beyond the end: the previous page holds nothing either');
  });
});

describe('path parameters', () => {
  test('a repository name encoded twice (a%252Fb arrives as a%2Fb) or once (a/b) is decoded and checked', () => {
    assert.equal(repositoryNameParam.parse('a%2Fb'), 'a/b');
    assert.equal(repositoryNameParam.parse('a/b/c'), 'a/b/c');
    assert.equal(repositoryNameParam.parse('app'), 'app');
    for (const bad of ['A', 'a%2F', '%zz', 'a%2F%2Fb', '../x', 'a%252Fb', '']) assert.equal(repositoryNameParam.safeParse(bad).success, false, bad);
  });
  test('project_name_or_id: digits are an id unless X-Is-Resource-Name says it is a name', () => {
    assert.deepEqual(projectRef('12', undefined), { id: 12 });
    assert.deepEqual(projectRef('12', 'true'), { name: '12' });
    assert.deepEqual(projectRef('library', undefined), { name: 'library' });
    assert.deepEqual(projectRef('99999999999', undefined), { name: '99999999999' });
  });
});

describe('cookies', () => {
  test('reads one cookie among others; absent, malformed or oversized headers give nothing', () => {
    assert.equal(readCookie('a=1; sid=abc; __csrf=x', 'sid'), 'abc');
    assert.equal(readCookie('sid="q"', 'sid'), 'q');
    assert.equal(readCookie('xsid=1', 'sid'), undefined);
    assert.equal(readCookie(undefined, 'sid'), undefined);
    assert.equal(readCookie('garbage', 'sid'), undefined);
    assert.equal(readCookie(`sid=1; ${'x'.repeat(9000)}`, 'sid'), undefined);
  });
  test('Set-Cookie lines are SameSite=Strict and Path=/, with HttpOnly, Secure and Max-Age as asked', () => {
    assert.equal(setCookie('sid', 'v', { httpOnly: true, secure: true }), 'sid=v; Path=/; SameSite=Strict; HttpOnly; Secure');
    assert.equal(setCookie('__csrf', '', { httpOnly: false, secure: false, maxAge: 0 }), '__csrf=; Path=/; SameSite=Strict; Max-Age=0');
  });
});
