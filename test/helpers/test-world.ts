// A test file's own world: a private mount and network namespace (loopback only, its own /run, so
// its own /run/pcscd) and a tmpfs holding TMPDIR, HOME, GNUPGHOME and the data folder. The runner
// (test/run-tests.ts) starts every test file in one; the pcscd isolation test nests one inside.
import { join } from 'node:path';

/** As root of the namespaces: loopback up, a private /run (nothing made in the host's), the tmpfs. */
const SETUP = [
  'set -e',
  'ip link set lo up',
  'mount -t tmpfs -o mode=0755 tmpfs /run',
  'ln -s /dev/shm /run/shm',
  'mkdir -m 1777 /run/lock',
  'mkdir -m 0755 /run/pcscd /run/user',
  // gpg-agent's sockets go here rather than under a long GNUPGHOME (sun_path has 108 bytes).
  'mkdir -m 0700 "$XDG_RUNTIME_DIR"',
  'mount -t tmpfs -o mode=0700 tmpfs "$VIGIL_TEST_WORLD"',
  'mkdir -m 0700 "$HOME" "$GNUPGHOME" "$TMPDIR" "$VIGIL_DATA_DIR"',
  'exec "$@"',
].join('\n');

/** The environment of a world whose tmpfs is mounted on `dir` (an empty folder; keep it short). */
export function worldEnv(dir: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return {
    ...base,
    VIGIL_TEST_WORLD: dir,
    VIGIL_TEST_NAMESPACE: '1',
    TMPDIR: join(dir, 'tmp'),
    HOME: join(dir, 'home'),
    GNUPGHOME: join(dir, 'gnupg'),
    VIGIL_DATA_DIR: join(dir, 'data'),
    SOFTHSM2_CONF: join(dir, 'data', 'no-softhsm2.conf'),
    XDG_RUNTIME_DIR: '/run/user/0', // uid 0 inside the namespace, root or not outside
    XDG_CONFIG_HOME: join(dir, 'home', '.config'),
    XDG_CACHE_HOME: join(dir, 'home', '.cache'),
    XDG_DATA_HOME: join(dir, 'home', '.local', 'share'),
  };
}

/** argv that runs `command` inside a new world (give it worldEnv's environment). */
export function inWorld(command: readonly string[]): string[] {
  const isRoot = process.getuid?.() === 0;
  return [
    'unshare',
    ...(isRoot ? [] : ['--map-root-user']),
    '--mount',
    '--net',
    '--propagation',
    'private',
    '--kill-child',
    '--',
    'sh',
    '-c',
    SETUP,
    'vigil-test-world',
    ...command,
  ];
}
