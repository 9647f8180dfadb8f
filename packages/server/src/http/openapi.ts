import type { SwaggerTransform, SwaggerTransformObject } from '@fastify/swagger';
import type { FastifySchema } from 'fastify';
import { createJsonSchemaTransform, createJsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PERMISSIONS } from '../auth/permissions.js';
import { ERROR_STATUS } from '../errors.js';
import { JsonValue } from './common-schemas.js';

/** Every refusal the server answers, whatever its status (`plugins/error-handler.ts`). */
export const ErrorBody = z.object({
  error: z.object({
    /** Stable: clients branch on it, e.g. `VALIDATION_FAILED`, `NOT_FOUND`, `UNAVAILABLE`. */
    code: z.string(),
    message: z.string(),
    /** `field` names the offending field of a 400 or 422 (`rules[0].serve.rollout.weights`). */
    details: z.record(z.string(), z.unknown()),
  }),
});

/** `/healthz` and `/readyz`: `{status: "ok"}`, `{status: "ready"}`. */
export const ProbeAnswer = z.object({ status: z.enum(['ok', 'ready']) });

export const PrometheusText = {
  description: 'The Prometheus text exposition format.',
  content: { 'text/plain': { schema: z.string() } },
};

/** A success answer: a JSON body's zod schema, `null` for an answer without a body (204, 304), or other media. */
export type Answer = z.ZodType | null | { description: string; content: Record<string, { schema: z.ZodType }> };

export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 412 | 413 | 415 | 422 | 429 | 503;

/** A refusal a route can give beyond the ones implied by what it is (see `impliedErrors`). */
export type RouteError = ErrorStatus | { status: ErrorStatus; description: string };

export interface DocumentedResponses {
  success: Readonly<Record<number, Answer>>;
  errors: readonly RouteError[];
}

declare module 'fastify' {
  interface FastifySchema {
    /** What the route answers, for the OpenAPI document only: see `responses`. */
    documentedResponses?: DocumentedResponses;
  }
}

/**
 * A route's answers in one line of its schema:
 * `schema: { params, body, ...responses({ 201: FlagView }, 409, 422) }`.
 *
 * Documentation only, deliberately. With fastify-type-provider-zod a `schema.response` is also
 * the serializer: the answer is encoded through the zod schema, so a schema that is wrong in one
 * nullable field turns a good answer into a 500 and one that forgets a field silently strips it
 * from every answer. These schemas were written after the handlers, over views built in many
 * places, and no test exercises every branch of every view; so they only feed the document
 * (the `transform` below) and cannot change what a route sends. `openapi.test.ts` holds them to
 * the truth by validating real answers against the document. A route that declares
 * `schema.response` as well keeps it: the document takes it over the documented one.
 *
 * Errors implied by the route (authentication, permission, validation, body limits, a path
 * parameter's 404, rate limiting, database outage) are added by the transform; list only the
 * ones that depend on what the handler does (409, 412, 422, a 404 without a path parameter…).
 */
export function responses(
  success: Readonly<Record<number, Answer>>,
  ...errors: RouteError[]
): { documentedResponses: DocumentedResponses } {
  return { documentedResponses: { success, errors } };
}

/** The codes a status is answered with (`ERROR_STATUS`), for its description. */
const codesOf = (status: number) =>
  Object.entries(ERROR_STATUS)
    .filter(([, s]) => s === status)
    .map(([code]) => code);

const ERROR_MEANINGS: Record<ErrorStatus, string> = {
  400: 'the request is malformed; `details.field` names the field',
  401: 'no credential, or one that is unknown, revoked or expired',
  403: 'the credential may not do this (its role or project), or a cookie-authenticated write without `X-CSRF-Token`',
  404: 'what the path names does not exist (or is not visible to the caller)',
  409: 'it conflicts with what exists (already exists, still in use, wrong state)',
  412: '`If-Match` names a version that is no longer current',
  413: 'the body is larger than the limit',
  415: 'the body is not `application/json`',
  422: 'well-formed but refused for what it means; `details.field` names the field',
  429: 'too many failed authentications from this address; wait `Retry-After` seconds',
  503: 'the database does not answer; try again after `Retry-After` seconds',
};

const errorAnswer = (description: string) => ({
  description,
  content: { 'application/json': { schema: ErrorBody } },
});

/** The generic description of a status: the codes it is answered with and what they mean. */
const meaningOf = (status: ErrorStatus) => `${codesOf(status).join(', ')}: ${ERROR_MEANINGS[status]}`;

const methodOf = (route: { method: string | string[] }) =>
  (Array.isArray(route.method) ? route.method[0] : route.method) ?? 'GET';

/** Refusals every route of its kind can give, whatever its handler does. */
export function impliedErrors(method: string, url: string, schema: FastifySchema): ErrorStatus[] {
  const errors = new Set<ErrorStatus>();
  const probe = url === '/healthz' || url === '/readyz';
  if (schema.params !== undefined || schema.querystring !== undefined || schema.body !== undefined) errors.add(400);
  if (schema.body !== undefined) {
    errors.add(413);
    errors.add(415);
  }
  if (url.includes('/:')) errors.add(404);
  if (url.startsWith('/api/v1/')) {
    const permission = PERMISSIONS[`${method} ${url}`];
    if (permission !== 'public') errors.add(401);
    // A signed-in read needs nothing more than a credential; everything else can be refused
    // for the caller's role, and every write for a session without its CSRF token.
    if (permission !== 'public' && (permission !== 'signed-in' || method !== 'GET')) errors.add(403);
  }
  if (url.startsWith('/sdk/v1/')) {
    errors.add(401);
    errors.add(403);
  }
  // `plugins/auth-failure-limit.ts` answers 429 on every route but the probes.
  if (!probe) errors.add(429);
  if (url.startsWith('/api/v1/') || url.startsWith('/sdk/v1/')) errors.add(503);
  return [...errors];
}

/** How a route authenticates, in the document's terms; `undefined`: the document's default (bearer). */
function securityOf(method: string, url: string): Array<Record<string, string[]>> | undefined {
  if (url === '/healthz' || url === '/readyz') return [];
  if (url === '/metrics') return [{ metricsToken: [] }];
  if (url.startsWith('/sdk/v1/')) return [{ sdkKey: [] }, { sdkKeyInQuery: [] }];
  if (PERMISSIONS[`${method} ${url}`] === 'public') return [];
  return undefined;
}

export const securitySchemes = {
  bearer: {
    type: 'http',
    scheme: 'bearer',
    description: 'An admin key (`sy_admin_…`) or a personal token; or sign in for a session cookie.',
  },
  sdkKey: { type: 'http', scheme: 'bearer', description: 'A server or client SDK key (`sy_server_…`, `sy_client_…`).' },
  sdkKeyInQuery: {
    type: 'apiKey',
    in: 'query',
    name: 'key',
    description: 'A client key in the URL, for `EventSource` and `sendBeacon`, which cannot set headers.',
  },
  metricsToken: { type: 'http', scheme: 'bearer', description: '`SWITCHYARD_METRICS_TOKEN`.' },
} as const;

const SUCCESS: Record<string, string> = {
  200: 'OK.',
  201: 'Created.',
  202: 'Accepted.',
  204: 'Done; no content.',
  304: 'Not modified: `If-None-Match` names the current version.',
};

/**
 * @fastify/swagger's `transform` and `transformObject`, built per server. Schemas named in the
 * registry appear once, under `components.schemas`, and are referenced: the `Error` every refusal
 * points at, and the JSON value, which refers to itself and so cannot be written inline. A
 * registry of our own rather than zod's global one: nothing else can add to the document.
 */
export function documentTransforms(): { transform: SwaggerTransform; transformObject: SwaggerTransformObject } {
  const components = z.registry<{ id: string; description?: string }>();
  components.add(ErrorBody, { id: 'Error', description: 'A refusal: `{error: {code, message, details}}`.' });
  components.add(JsonValue, { id: 'JsonValue', description: 'Any JSON value.' });
  const zodTransform = createJsonSchemaTransform({ schemaRegistry: components });
  const componentsOf = createJsonSchemaTransformObject({ schemaRegistry: components });
  return {
    transform: (document) => transformRoute(zodTransform, document),
    transformObject: (document) => withUsedComponents(componentsOf(document)),
  };
}

/**
 * One route's operation: its zod schemas as JSON schemas (fastify-type-provider-zod), with its
 * documented answers, the refusals implied by its kind and its own, all of them the one `Error`.
 */
function transformRoute(zodTransform: SwaggerTransform, document: Parameters<SwaggerTransform>[0]) {
  const { schema, url, route } = document;
  if (schema === undefined || schema === null || schema.hide === true) return zodTransform(document);
  const { documentedResponses, ...rest } = schema;
  const method = methodOf(route);
  const answers: Record<string, unknown> = {};
  const extra = documentedResponses?.errors ?? [];
  for (const status of impliedErrors(method, url, rest)) {
    answers[status] = errorAnswer(meaningOf(status));
  }
  for (const e of extra) {
    if (typeof e === 'number') answers[e] = errorAnswer(meaningOf(e));
    else answers[e.status] = errorAnswer(e.description);
  }
  const empty: string[] = [];
  for (const [status, answer] of Object.entries(documentedResponses?.success ?? {})) {
    if (answer === null) empty.push(status);
    else if (answer instanceof z.ZodType) {
      answers[status] = {
        description: SUCCESS[status] ?? 'Success.',
        content: { 'application/json': { schema: answer } },
      };
    } else answers[status] = answer;
  }
  Object.assign(answers, rest.response ?? {});
  const security = securityOf(method, url);
  const out = zodTransform({
    ...document,
    schema: { ...rest, response: answers, ...(security === undefined ? {} : { security }) },
  });
  // A JSON schema of type `null` is how @fastify/swagger writes an answer without content.
  const response = (out.schema.response ?? {}) as Record<string, unknown>;
  for (const status of empty) response[status] = { type: 'null', description: SUCCESS[status] ?? 'No content.' };
  return { ...out, schema: { ...out.schema, response } };
}

/**
 * Leaves out the input twin fastify-type-provider-zod makes of every component (`ErrorInput`)
 * when no request uses it.
 */
function withUsedComponents(document: ReturnType<SwaggerTransformObject>): ReturnType<SwaggerTransformObject> {
  const out = document as { paths?: unknown; components?: { schemas?: Record<string, unknown> } };
  const schemas = out.components?.schemas ?? {};
  const used = JSON.stringify(out.paths ?? {});
  for (const id of Object.keys(schemas)) {
    if (!used.includes(`"#/components/schemas/${id}"`)) delete schemas[id];
  }
  return document;
}
