import { describe, expect, it } from 'vitest';
import { InMemoryDirectory } from '../../shared/customers/memory.js';
import type { CustomerProfile } from '../../shared/customers/profile.js';

const ADA: CustomerProfile = { userId: 'usr_ada', email: 'Ada@Example.com', plan: 'pro', sessionIds: ['sess_1', 'sess_2'] };
const GRACE: CustomerProfile = { userId: 'usr_grace', email: 'grace@example.com' };

describe('InMemoryDirectory', () => {
  const directory = new InMemoryDirectory([ADA, GRACE]);

  it('finds by user id, by any of the profile\'s sessions, and by email case-insensitively', async () => {
    await expect(directory.findByUserId('usr_ada')).resolves.toBe(ADA);
    await expect(directory.findBySessionId('sess_2')).resolves.toBe(ADA);
    await expect(directory.findByEmail(' ADA@example.com ')).resolves.toBe(ADA);
    await expect(directory.findByEmail('grace@EXAMPLE.com')).resolves.toBe(GRACE);
  });

  it('unknown keys are undefined', async () => {
    await expect(directory.findByUserId('usr_nobody')).resolves.toBeUndefined();
    await expect(directory.findBySessionId('sess_nobody')).resolves.toBeUndefined();
    await expect(directory.findByEmail('')).resolves.toBeUndefined();
  });

  it('an aborted signal rejects, like the real adapters', async () => {
    const signal = AbortSignal.abort(new Error('deadline passed'));
    await expect(directory.findByUserId('usr_ada', { signal })).rejects.toThrow('deadline passed');
    await expect(directory.findBySessionId('sess_1', { signal })).rejects.toThrow('deadline passed');
    await expect(directory.findByEmail('ada@example.com', { signal })).rejects.toThrow('deadline passed');
  });

  it('a later profile with the same user id replaces the earlier one', async () => {
    const replaced = new InMemoryDirectory([ADA, { userId: 'usr_ada', plan: 'enterprise' }]);
    await expect(replaced.findByUserId('usr_ada')).resolves.toEqual({ userId: 'usr_ada', plan: 'enterprise' });
    await expect(replaced.findBySessionId('sess_1')).resolves.toEqual({ userId: 'usr_ada', plan: 'enterprise' });
  });
});
