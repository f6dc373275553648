import { strict as assert } from 'node:assert';
import { CancelSource, throwIfCancelled } from '../../../src/core/cancel';
import { CancelledError } from '../../../src/core/errors';

describe('CancelSource', () => {
  it('keeps separate sources independent and notifies listeners once', () => {
    const a = new CancelSource();
    const b = new CancelSource();
    let calls = 0;
    a.token.onCancellationRequested?.(() => calls++);
    a.cancel();
    a.cancel();
    assert.equal(a.token.isCancellationRequested, true);
    assert.equal(b.token.isCancellationRequested, false);
    assert.equal(calls, 1);
    assert.throws(() => throwIfCancelled(a.token), CancelledError);
    assert.doesNotThrow(() => throwIfCancelled(b.token));
  });
});
