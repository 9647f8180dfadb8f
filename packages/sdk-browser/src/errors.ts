import type { SwitchyardErrorCode } from '@switchyard/core';

/** What went wrong outside an evaluation (see `SwitchyardErrorCode`): `code` is stable, the message is not. */
export class SwitchyardError extends Error {
  declare readonly code: SwitchyardErrorCode;
  /** The HTTP status behind the error, when there was one. */
  declare readonly status: number | undefined;

  constructor(code: SwitchyardErrorCode, message: string, status?: number) {
    super(`switchyard: ${message}`);
    // Assigned rather than declared as fields: field initialisers cost a helper in the ES2020 bundle.
    this.name = 'SwitchyardError';
    this.code = code;
    this.status = status;
  }
}
