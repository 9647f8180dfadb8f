import { describe, expect, it } from 'vitest';
import { InvalidContextError, toSwitchyardContext } from './openfeature-context.js';

describe('an OpenFeature context as a Switchyard context', () => {
  it('turns the targeting key into key, dates into ISO strings, and keeps scalar list elements', () => {
    expect(
      toSwitchyardContext({
        targetingKey: 'ann',
        country: 'NL',
        orders: 3,
        beta: false,
        signedUp: new Date('2024-06-01T10:00:00Z'),
        tags: ['a', 1, true, { nested: 1 }, new Date(0)],
        address: { city: 'Utrecht' },
        nothing: null,
      }),
    ).toEqual({
      key: 'ann',
      country: 'NL',
      orders: 3,
      beta: false,
      signedUp: '2024-06-01T10:00:00.000Z',
      tags: ['a', 1, true, '1970-01-01T00:00:00.000Z'],
      nothing: null,
    });
  });

  it('keeps an own __proto__ attribute as data, never as a prototype', () => {
    const ctx = toSwitchyardContext(JSON.parse('{"targetingKey": "x", "__proto__": "evil"}'));
    expect(Object.getPrototypeOf(ctx)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(ctx, '__proto__')?.value).toBe('evil');
  });

  it('refuses a targeting key that is not a string, and maps no context to an empty one', () => {
    expect(() => toSwitchyardContext({ targetingKey: 7 })).toThrow(InvalidContextError);
    expect(() => toSwitchyardContext({ targetingKey: null })).toThrow('not null');
    expect(toSwitchyardContext(undefined)).toEqual({});
  });
});
