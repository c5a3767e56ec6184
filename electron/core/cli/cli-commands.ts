/** The first argument that makes the packaged app's binary a command instead of the window. */
export const CLI_COMMANDS = [
  'devices',
  'verify',
  'run',
  'attest',
  'rehearsal',
  'help',
  '--help',
  '-h',
] as const;
