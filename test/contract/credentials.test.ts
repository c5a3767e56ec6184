// One credential list (shared/model/credential-fields.ts) feeds the contract, the rehearsal answers and
// the window's form: every field it names is accepted where it should be, as a secret, within
// its bounds, and nothing else is.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runbook } from '../../shared/contract/runbook.ts';
import {
  credentialFieldBounds,
  credentialFieldKind,
  credentialFields,
  credentialFormats,
  credentialIds,
  type CredentialFormat,
  type CredentialId,
} from '../../shared/model/credential-fields.ts';
import { SecretBytes } from '../../shared/model/secret-bytes.ts';
import { RehearsalAnswers } from '../../electron/core/runbook/rehearsal-answers.ts';

const confirmer = { stepNumber: 1, role: 'ceremony-lead', person: 'Ada' } as const;

describe('the credential list', () => {
  it('types every new credential twice, and only those', () => {
    for (const id of credentialIds) {
      assert.equal(credentialFields.includes(`${id}Repeat` as never), id.startsWith('new'), id);
    }
    assert.equal(new Set(credentialFields).size, credentialFields.length);
  });

  it('is what runbook.perform takes: each field a secret within its bounds', () => {
    for (const field of credentialFields) {
      const { max } = credentialFieldBounds[credentialFieldKind(field)];
      const parsed = runbook.perform.request.parse({
        ...confirmer,
        credentials: { [field]: 'x'.repeat(max) },
      });
      const value = (parsed.credentials as Record<string, unknown>)[field];
      assert.ok(value instanceof SecretBytes, `${field} leaves the parser as SecretBytes`);
      assert.throws(() =>
        runbook.perform.request.parse({
          ...confirmer,
          credentials: { [field]: 'x'.repeat(max + 1) },
        }),
      );
    }
    assert.throws(() =>
      runbook.perform.request.parse({ ...confirmer, credentials: { soPin: '1234' } }),
    );
  });

  it('is what rehearsal answers may give, each credential once', () => {
    const credentials = Object.fromEntries(credentialIds.map((id) => [id, 'rehearsal-secret']));
    const answers = RehearsalAnswers.parse({
      v: 1,
      runbook: 'x',
      participants: [{ role: 'ceremony-lead', name: 'Ada' }],
      credentials,
    });
    assert.deepEqual(answers.credentials, credentials);
    assert.throws(() =>
      RehearsalAnswers.parse({
        v: 1,
        runbook: 'x',
        participants: [{ role: 'ceremony-lead', name: 'Ada' }],
        credentials: { newSoPinRepeat: '1234' },
      }),
    );
  });

  it('writes each family’s formats within what runbook.perform takes', () => {
    for (const [family, formats] of Object.entries(credentialFormats)) {
      for (const [id, format] of Object.entries(formats) as [CredentialId, CredentialFormat][]) {
        const { min, max } = credentialFieldBounds[credentialFieldKind(id)];
        assert.ok(format.minLength >= min, `${family}.${id}: min within the contract`);
        assert.ok(format.maxLength <= max, `${family}.${id}: max within the contract`);
        assert.ok(format.minLength <= format.maxLength, `${family}.${id}`);
        // The longest a format allows is what the contract lets through, as a secret.
        const parsed = runbook.perform.request.parse({
          ...confirmer,
          credentials: { [id]: 'A'.repeat(format.maxLength) },
        });
        assert.ok((parsed.credentials as Record<string, unknown>)[id] instanceof SecretBytes);
      }
    }
  });
});
