// The SessionStore contract (api/session-store.ts), run against the metadata database of every
// dialect: what a session is bound to, that only a hash is stored, idle and hard expiry with a
// clock the tests move, the bounded writes of the sliding expiry, logout, a deleted user's
// sessions, a password change, the write gate, the purge, two replicas sharing the table, and
// hostile cookie values.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { DbSessionStore, type SessionOptions } from '../../src/api/session-store.js';
import { DatabaseUsers } from '../../src/auth/database-users.js';
import type { Db } from '../../src/metadata/db.js';
import type { MetadataStore } from '../../src/metadata/metadata-store.js';

export interface SessionBackend {
  db: Db;
  meta: MetadataStore;
  close(): Promise<void>;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export function sessionStoreConformance(impl: { name: string; open(): Promise<SessionBackend> }): void {
  describe(`SessionStore conformance: ${impl.name}`, () => {
    /** A backend with users alice and bob, a clock at `now`, and a store factory on it. */
    const setup = async () => {
      const backend = await impl.open();
      const users = new DatabaseUsers(backend.db);
      await users.setPassword('alice', 'pw-alice');
      await users.setPassword('bob', 'pw-bob');
      const clock = { now: Date.UTC(2026, 5, 1) };
      const store = (opts: Partial<SessionOptions> = {}) =>
        new DbSessionStore(backend.db, { idleMs: HOUR, maxAgeMs: 12 * HOUR, usersInDatabase: true, now: () => clock.now, ...opts });
      const id = async (name: string) => (await backend.meta.principal('user', name)).id;
      return { ...backend, users, clock, store, id };
    };

    test('a session is bound to its principal, hands out a CSRF token, and only the SHA-256 of its cookie value is stored', async () => {
      const s = await setup();
      try {
        const store = s.store();
        const alice = await s.id('alice');
        const created = await store.create(alice);
        assert.match(created.token, /^[A-Za-z0-9_-]{43}$/);
        assert.match(created.csrfToken, /^[A-Za-z0-9_-]{43}$/);
        assert.notEqual(created.token, created.csrfToken);
        assert.equal(created.expiresAt, s.clock.now + HOUR);
        const found = await store.find(created.token);
        assert.deepEqual({ ...found }, { principalId: alice, kind: 'user', name: 'alice', csrfToken: created.csrfToken, createdAt: s.clock.now, expiresAt: s.clock.now + HOUR });
        const rows = await s.db.selectFrom('sessions').select(['id', 'principal_id']).execute();
        assert.deepEqual(rows, [{ id: createHash('sha256').update(created.token).digest('hex'), principal_id: alice }]);
        assert.equal(await store.find(created.csrfToken), undefined, 'the CSRF token is no session key');
        const other = await store.create(alice);
        assert.notEqual(other.token, created.token, 'each login gets its own session');
      } finally {
        await s.close();
      }
    });

    test('malformed, unknown and hostile cookie values find nothing and throw nothing', async () => {
      const s = await setup();
      try {
        const store = s.store();
        await store.create(await s.id('alice'));
        for (const token of ['', 'x', "' or 1=1 --", 'A'.repeat(43), 'A'.repeat(44), '%00'.repeat(20), 'é'.repeat(43), 'a'.repeat(10_000)]) {
          assert.equal(await store.find(token), undefined, JSON.stringify(token.slice(0, 20)));
          assert.equal(await store.delete(token), false);
        }
      } finally {
        await s.close();
      }
    });

    test('idle expiry: used, a session lives on; unused for the idle time, it ends', async () => {
      const s = await setup();
      try {
        const store = s.store();
        const { token } = await store.create(await s.id('alice'));
        for (let i = 0; i < 5; i++) {
          s.clock.now += 50 * MINUTE;
          assert.ok(await store.find(token), `still live after ${(i + 1) * 50} minutes of use`);
        }
        s.clock.now += HOUR;
        assert.equal(await store.find(token), undefined, 'an hour without a request');
      } finally {
        await s.close();
      }
    });

    test('hard maximum: however active, a session ends maxAge after its login', async () => {
      const s = await setup();
      try {
        const store = s.store({ idleMs: HOUR, maxAgeMs: 3 * HOUR });
        const { token } = await store.create(await s.id('alice'));
        let last = 0;
        for (let t = 0; t < 4 * HOUR; t += 20 * MINUTE) {
          s.clock.now += 20 * MINUTE;
          if (await store.find(token)) last = t + 20 * MINUTE;
        }
        assert.equal(last, 3 * HOUR - 20 * MINUTE, 'live until just before three hours, not after');
      } finally {
        await s.close();
      }
    });

    test('the sliding expiry is written at most once per touch interval', async () => {
      const s = await setup();
      try {
        const store = s.store({ touchIntervalMs: MINUTE });
        const { token } = await store.create(await s.id('alice'));
        const stored = async () => Number((await s.db.selectFrom('sessions').select('expires_at').executeTakeFirstOrThrow()).expires_at);
        const first = await stored();
        s.clock.now += 30_000;
        await store.find(token);
        assert.equal(await stored(), first, 'half a minute later: no write');
        s.clock.now += 40_000;
        const found = await store.find(token);
        assert.equal(await stored(), s.clock.now + HOUR, 'after more than the interval: moved');
        assert.equal(found!.expiresAt, s.clock.now + HOUR);
      } finally {
        await s.close();
      }
    });

    test('logout ends one session; deleteFor ends all of a principal\'s; deleting the user ends them too', async () => {
      const s = await setup();
      try {
        const store = s.store();
        const a1 = await store.create(await s.id('alice'));
        const a2 = await store.create(await s.id('alice'));
        const b = await store.create(await s.id('bob'));
        assert.equal(await store.delete(a1.token), true);
        assert.equal(await store.delete(a1.token), false, 'idempotent');
        assert.equal(await store.find(a1.token), undefined);
        assert.ok(await store.find(a2.token));
        assert.equal(await store.deleteFor(await s.id('alice')), 1);
        assert.equal(await store.find(a2.token), undefined);
        assert.ok(await store.find(b.token));
        await s.users.deleteUser('bob');
        assert.equal(await store.find(b.token), undefined, 'a deleted user has no session');
        // Users not kept in the database (htpasswd): the session stands while the file names the user.
        const inFile = new Set(['carol']);
        const htpasswd = s.store({ usersInDatabase: false, userExists: (name) => inFile.has(name) });
        const c = await htpasswd.create((await s.meta.principal('user', 'carol')).id);
        assert.equal((await htpasswd.find(c.token))?.name, 'carol');
        inFile.delete('carol');
        assert.equal(await htpasswd.find(c.token), undefined, 'a user removed from the htpasswd file has no session');
      } finally {
        await s.close();
      }
    });

    test("a new password ends that user's sessions, not anyone else's", async () => {
      const s = await setup();
      try {
        const store = s.store();
        const a1 = await store.create(await s.id('alice'));
        const a2 = await store.create(await s.id('alice'));
        const b = await store.create(await s.id('bob'));
        await s.users.setPassword('alice', 'pw-alice-2');
        assert.equal(await store.find(a1.token), undefined, 'whoever signed in with the old password is out');
        assert.equal(await store.find(a2.token), undefined);
        assert.ok(await store.find(b.token), "bob's session stands");
        const again = await store.create(await s.id('alice'));
        assert.ok(await store.find(again.token), 'a sign-in after the change opens a session');
      } finally {
        await s.close();
      }
    });

    test("every write waits for the metadata store's writer (the write gate); a read without a touch does not", async () => {
      const s = await setup();
      try {
        let gated = 0;
        const store = s.store({ touchIntervalMs: MINUTE, writes: (fn) => (gated++, s.meta.outsideTransactions(fn)) });
        const { token } = await store.create(await s.id('alice'));
        assert.equal(gated, 1, 'create');
        await store.find(token);
        assert.equal(gated, 1, 'a find within the touch interval writes nothing');
        s.clock.now += 2 * MINUTE;
        await store.find(token);
        assert.equal(gated, 2, 'the touch');
        await store.delete(token);
        await store.deleteFor(await s.id('alice'));
        await store.purgeExpired();
        assert.equal(gated, 5, 'logout, deleteFor, purge');
        // While the store's own write transaction is open, a session write waits for it to end.
        let release!: () => void;
        const open = s.meta.transaction(() => new Promise<void>((r) => (release = r)));
        let created = false;
        const pending = store.create(await s.id('bob')).then(() => (created = true));
        await new Promise((r) => setTimeout(r, 50));
        if (impl.name === 'sqlite') assert.equal(created, false, 'SQLite: the write waits for the transaction');
        release();
        await Promise.all([open, pending]);
        assert.equal(created, true);
      } finally {
        await s.close();
      }
    });

    test('purgeExpired deletes the rows of expired sessions only', async () => {
      const s = await setup();
      try {
        const store = s.store();
        const old = await store.create(await s.id('alice'));
        s.clock.now += 30 * MINUTE;
        const fresh = await store.create(await s.id('bob'));
        s.clock.now += 45 * MINUTE;
        assert.equal(await store.purgeExpired(), 1);
        assert.equal(await store.find(old.token), undefined);
        assert.ok(await store.find(fresh.token));
        assert.equal(Number((await s.db.selectFrom('sessions').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n), 1);
      } finally {
        await s.close();
      }
    });

    test('two replicas on one database: a session made by one is accepted, and ended, by the other', async () => {
      const s = await setup();
      try {
        const one = s.store();
        const two = s.store();
        const { token, csrfToken } = await one.create(await s.id('alice'));
        assert.equal((await two.find(token))?.csrfToken, csrfToken);
        assert.equal(await two.delete(token), true);
        assert.equal(await one.find(token), undefined);
      } finally {
        await s.close();
      }
    });
  });
}
