/** The first argument that makes the packaged app's binary a command instead of the window. */
export const CLI_COMMANDS = ['devices', 'verify', 'run', 'attest', 'help', '--help', '-h'] as const;
