import { ApiError } from '../api/client.js';

/** A refusal shown where the person is looking, read out by screen readers as it appears. */
export function ErrorText({ error, id }: { error: unknown; id?: string }) {
  if (error === undefined || error === null) return null;
  const message = error instanceof ApiError ? `${error.message} (${error.code})` : String(error);
  return (
    <p class="error" role="alert" id={id}>
      {message}
    </p>
  );
}

/**
 * The error for one field of a form: the API's `details.field` is a path such as
 * `rules[0].clauses[1].values`; a field shows it when the path is its own or lies inside it.
 */
export function fieldError(error: unknown, field: string): ApiError | undefined {
  if (!(error instanceof ApiError) || error.field === '') return undefined;
  const f = error.field;
  return f === field || f.startsWith(`${field}.`) || f.startsWith(`${field}[`) ? error : undefined;
}

export function FieldError({ error, field }: { error: unknown; field: string }) {
  const e = fieldError(error, field);
  if (e === undefined) return null;
  return (
    <p class="error field-error" role="alert" data-field={field}>
      {e.message}
    </p>
  );
}
