// A command-line mistake (bad option, missing argument): tools report it
// and exit with their usage-error status.
export class UsageError extends Error {}
