import { describe, expect, it } from 'vitest';
import { emitter } from './emitter.js';

describe('the emitter', () => {
  it('calls listeners in order, goes on past one that throws, and stops calling a removed one', () => {
    const failures: unknown[] = [];
    const bus = emitter<{ tick: (n: number) => void }>((err, event) => failures.push([event, (err as Error).message]));
    const seen: string[] = [];
    const off = bus.on('tick', (n) => seen.push(`a${n}`));
    bus.on('tick', () => {
      throw new Error('boom');
    });
    const c = (n: number) => seen.push(`c${n}`);
    bus.on('tick', c);
    bus.emit('tick', 1);
    off();
    bus.off('tick', c);
    bus.emit('tick', 2);
    expect(seen).toEqual(['a1', 'c1']);
    expect(failures).toEqual([
      ['tick', 'boom'],
      ['tick', 'boom'],
    ]);
  });
});
