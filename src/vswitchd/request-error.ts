/** A request the switch refuses: the error name goes back to the sender, with the reason in the log. */
export class RequestError extends Error {
  constructor(
    readonly errorName: string,
    detail: string,
  ) {
    super(`${errorName}: ${detail}`);
  }
}
