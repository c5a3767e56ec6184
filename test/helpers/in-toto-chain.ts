// A small supply chain in the python-tuf shape, recorded with Debian's in-toto-run: a maintainer
// tags the sources, then the CD job and a maintainer each build the sdist and the wheel; the
// verifier's folder holds the final products. Shared by the in-toto tests, which judge layouts
// with in-toto-verify over it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A command's exit code and output, without throwing on failure. */
export async function exitOf(
  file: string,
  args: readonly string[],
  cwd: string,
): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd });
    return { code: 0, out: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

export interface SupplyChain {
  links: string;
  /** The verifier's folder: the final sdist and wheel, nothing else. */
  final: string;
}

/** A functionary's signer: an ed25519 key file's path, or an OpenPGP key in a GnuPG home. */
export type StepSigner = string | { gpg: string; home: string };

const signerArgs = (signer: StepSigner) =>
  typeof signer === 'string'
    ? ['-k', signer, '-t', 'ed25519']
    : ['--gpg', signer.gpg, '--gpg-home', signer.home];

/** Records the chain under `work`, each step signed by the maintainer's or the CD job's signer. */
export async function recordSupplyChain(
  work: string,
  keys: { maintainer: StepSigner; cd: StepSigner },
): Promise<SupplyChain> {
  const project = join(work, 'project');
  const links = join(work, 'links');
  const final = join(work, 'final');
  for (const dir of [project, links, final, join(project, 'pkg')])
    mkdirSync(dir, { recursive: true });
  writeFileSync(join(project, 'pyproject.toml'), '[project]\nname = "pkg"\n');
  writeFileSync(join(project, 'pkg', '__init__.py'), '__version__ = "1.0"\n');
  const step = async (name: string, key: StepSigner, command: string) => {
    await run('rm', ['-rf', join(project, 'dist')]);
    const result = await exitOf(
      'in-toto-run',
      ['-n', name, ...signerArgs(key), '-m', '.', '-d', links]
        .concat(name === 'tag' ? [] : ['-p', 'dist'])
        .concat(['--', 'sh', '-c', command]),
      project,
    );
    assert.equal(result.code, 0, result.out);
  };
  // in-toto-run gives gpg 3 s to sign; the first signature starts gpg-agent and unlocks the key,
  // which can take longer on a loaded machine. One signature first, as a functionary's agent is
  // already running on the day.
  for (const signer of [keys.maintainer, keys.cd])
    if (typeof signer !== 'string') {
      writeFileSync(join(work, 'warm-up.txt'), 'warm-up\n');
      await run(
        'gpg',
        ['--homedir', signer.home, '--batch', '--yes', '--local-user', signer.gpg].concat([
          '--detach-sign',
          join(work, 'warm-up.txt'),
        ]),
      );
    }
  await step('tag', keys.maintainer, 'true');
  for (const key of [keys.cd, keys.maintainer]) {
    await step('sdist', key, 'mkdir dist && printf "sdist 1.0" > dist/pkg-1.0.tar.gz');
    await step('wheel', key, 'mkdir dist && printf "wheel 1.0" > dist/pkg-1.0-py3-none-any.whl');
  }
  writeFileSync(join(final, 'pkg-1.0.tar.gz'), 'sdist 1.0');
  writeFileSync(join(final, 'pkg-1.0-py3-none-any.whl'), 'wheel 1.0');
  return { links, final };
}
