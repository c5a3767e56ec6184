// A runbook text the loader must refuse: a RunbookError whose problem matches, at `line` when given,
// with its position in front of the message. Shared by the loader's v1 and v2 tests.
import assert from 'node:assert/strict';
import {
  RunbookError,
  loadRunbook,
  type ActionCatalog,
} from '../../electron/core/runbook/load-runbook.ts';

export function refusalWith(actions: ActionCatalog) {
  return (text: string, reason: RegExp, line?: number): void => {
    assert.throws(
      () => loadRunbook(text, actions),
      (e: unknown) => {
        assert.ok(e instanceof RunbookError, String(e));
        assert.match(e.problem, reason);
        if (line !== undefined) assert.equal(e.line, line, e.message);
        assert.match(e.message, /^line \d+, column \d+: /);
        return true;
      },
    );
  };
}
