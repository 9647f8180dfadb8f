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
export function fieldError(error: unknown, field: string, exact = false): ApiError | undefined {
  if (!(error instanceof ApiError) || error.field === '') return undefined;
  const f = error.field;
  if (f === field) return error;
  return !exact && (f.startsWith(`${field}.`) || f.startsWith(`${field}[`)) ? error : undefined;
}

/** `exact`: only an error naming this very field, for a list whose items show their own. */
export function FieldError({ error, field, exact }: { error: unknown; field: string; exact?: boolean }) {
  const e = fieldError(error, field, exact);
  if (e === undefined) return null;
  return (
    <p class="error field-error" role="alert" data-field={field}>
      {e.message}
    </p>
  );
}
