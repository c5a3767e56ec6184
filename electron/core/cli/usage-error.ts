/** The command line (or the verify view's request) asks for something that does not apply. */
export class UsageError extends Error {}
