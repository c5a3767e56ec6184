// The NetHSM OpenAPI judge: checks one recorded HTTP exchange against the vendor's OpenAPI 3.0
// document (../shared/reference/data/nethsm-api.yaml, read in place, never copied), so fakes,
// clients and rehearsal servers are held to the documented wire format, not to our reading of it.
// JSON Schema work is ajv's; the OpenAPI 3.0 layer (paths, parameters, media types, nullable,
// component refs, multipart) is done here. js-yaml, not `yaml`: it reads this 3,600-line
// document in a fifth of the time, and every test file that judges pays for the load.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { load as loadYaml } from 'js-yaml';
import { referenceDataDir } from './shared-reference.ts';

// One request and its response as the rehearsal NetHSM saw them (path with '/api/v1' and query,
// header names lower-case).
import type { NetHsmExchange } from '../../electron/devices/nethsm/rehearsal-server.ts';
export type { NetHsmExchange };

export interface OpenApiJudge {
  /** Problems found; empty when the exchange matches the spec. */
  judge(exchange: NetHsmExchange): string[];
  /** The operation (e.g. 'POST /keys/{KeyID}/sign') an exchange matched, for coverage reports. */
  operationOf(exchange: NetHsmExchange): string | null;
  /** Every operation in the spec, 'METHOD /template'. */
  readonly operations: readonly string[];
}

/** The judge cannot make sense of the spec itself (a construct this helper does not handle). */
export class OpenApiSpecError extends Error {
  constructor(
    readonly reason: 'unreadable' | 'unsupported-ref' | 'no-server-prefix',
    detail: string,
  ) {
    super(`NetHSM OpenAPI document: ${reason}: ${detail}`);
    this.name = 'OpenApiSpecError';
  }
}

export class MultipartFormatError extends Error {
  constructor(
    readonly reason: 'no-boundary' | 'no-opening-delimiter' | 'unterminated' | 'bad-part-headers',
    detail: string,
  ) {
    super(`multipart/form-data: ${reason}: ${detail}`);
    this.name = 'MultipartFormatError';
  }
}

export interface MultipartPart {
  /** From Content-Disposition: form-data; name="…". */
  name: string;
  filename: string | null;
  /** The part's Content-Type media type (lower case, no parameters), or null when absent. */
  contentType: string | null;
  body: Uint8Array;
}

// ---------------------------------------------------------------------------------------------
// Small pure pieces (media types, multipart) — exported for byte-exact tests.

/** 'Application/JSON; charset=utf-8' → 'application/json'; null for a missing header. */
export function mediaTypeOf(contentType: string | undefined): string | null {
  if (contentType === undefined) return null;
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return type === '' ? null : type;
}

/** A parameter of a Content-Type header, unquoted ('boundary' of multipart/form-data). */
export function mediaTypeParameter(contentType: string, name: string): string | null {
  for (const piece of contentType.split(';').slice(1)) {
    const eq = piece.indexOf('=');
    if (eq < 0 || piece.slice(0, eq).trim().toLowerCase() !== name) continue;
    const value = piece.slice(eq + 1).trim();
    return value.startsWith('"') && value.endsWith('"') && value.length >= 2
      ? value.slice(1, -1)
      : value;
  }
  return null;
}

/** Whether one Accept range ('*∕*', 'application/*', 'application/json') admits a media type. */
export function acceptRangeAdmits(range: string, mediaType: string): boolean {
  const [rangeType = '', rangeSub = ''] = range.split('/');
  const [type = '', sub = ''] = mediaType.split('/');
  return (rangeType === '*' || rangeType === type) && (rangeSub === '*' || rangeSub === sub);
}

/** The media ranges of an Accept header, without those a client refused with q=0. */
export function acceptRanges(accept: string): string[] {
  const ranges: string[] = [];
  for (const item of accept.split(',')) {
    const range = mediaTypeOf(item);
    if (range === null) continue;
    const q = mediaTypeParameter(item, 'q');
    if (q !== null && Number(q) === 0) continue;
    ranges.push(range);
  }
  return ranges;
}

const latin1 = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');

/** Splits an RFC 7578 body into its parts; throws MultipartFormatError when it is malformed. */
export function parseMultipartFormData(body: Uint8Array, boundary: string): MultipartPart[] {
  if (boundary === '') throw new MultipartFormatError('no-boundary', 'empty boundary');
  // latin1 maps bytes 1:1 to code units, so string offsets are byte offsets.
  const text = latin1(body);
  const delimiter = `--${boundary}`;
  const first = text.startsWith(delimiter) ? 0 : text.indexOf(`\r\n${delimiter}`);
  if (first < 0) throw new MultipartFormatError('no-opening-delimiter', `no "${delimiter}" line`);
  let cursor = first + (first === 0 ? 0 : 2) + delimiter.length;
  const parts: MultipartPart[] = [];
  for (;;) {
    if (text.startsWith('--', cursor)) return parts;
    if (!text.startsWith('\r\n', cursor)) {
      throw new MultipartFormatError('unterminated', `no CRLF after delimiter at byte ${cursor}`);
    }
    const headersStart = cursor + 2;
    const headersEnd = text.indexOf('\r\n\r\n', headersStart);
    if (headersEnd < 0) throw new MultipartFormatError('bad-part-headers', 'no blank line');
    const next = text.indexOf(`\r\n${delimiter}`, headersEnd + 4);
    if (next < 0) throw new MultipartFormatError('unterminated', 'no closing delimiter');
    parts.push(partOf(text.slice(headersStart, headersEnd), body.slice(headersEnd + 4, next)));
    cursor = next + 2 + delimiter.length;
  }
}

function partOf(headerBlock: string, body: Uint8Array): MultipartPart {
  let name: string | null = null;
  let filename: string | null = null;
  let contentType: string | null = null;
  for (const line of headerBlock.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) throw new MultipartFormatError('bad-part-headers', `header line "${line}"`);
    const field = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (field === 'content-type') contentType = mediaTypeOf(value);
    if (field === 'content-disposition') {
      if (mediaTypeOf(value) !== 'form-data') {
        throw new MultipartFormatError('bad-part-headers', `disposition "${value}"`);
      }
      name = mediaTypeParameter(value, 'name');
      filename = mediaTypeParameter(value, 'filename');
    }
  }
  if (name === null) throw new MultipartFormatError('bad-part-headers', 'part without a name');
  return { name, filename, contentType, body };
}

// ---------------------------------------------------------------------------------------------
// The OpenAPI document, as far as this judge reads it.

interface SchemaNode {
  [keyword: string]: unknown;
}
interface ParameterSpec {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: SchemaNode;
}
interface MediaSpec {
  schema?: SchemaNode;
  encoding?: Record<string, { contentType?: string }>;
}
interface ResponseSpec {
  content?: Record<string, MediaSpec>;
  headers?: Record<string, { required?: boolean; schema?: SchemaNode }>;
}
interface OperationSpec {
  parameters?: ParameterSpec[];
  requestBody?: { required?: boolean; content?: Record<string, MediaSpec> };
  responses?: Record<string, ResponseSpec>;
  security?: Record<string, string[]>[];
}
type PathItem = Record<string, unknown> & { parameters?: ParameterSpec[] };
interface OpenApiDocument {
  servers?: { url: string; variables?: Record<string, { default: string }> }[];
  paths: Record<string, PathItem>;
  security?: Record<string, string[]>[];
  components?: { schemas?: Record<string, SchemaNode> };
}

const httpMethods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

interface Operation {
  /** 'POST /keys/{KeyID}/sign' */
  label: string;
  method: string;
  matcher: RegExp;
  pathNames: string[];
  /** Literal characters in the template: '/keys/generate' beats '/keys/{KeyID}'. */
  literalWeight: number;
  parameters: ParameterSpec[];
  spec: OperationSpec;
  /** Whether the spec lets the operation run without credentials. */
  anonymousAllowed: boolean;
}

// Request bodies are checked closed (no unknown properties) although no schema in the v4.0
// document says `additionalProperties: false`: the document's own info text says "All endpoints
// expect exactly the specified JSON. Additional properties will cause a Bad Request Error (400)".
// Responses stay open as JSON Schema defaults, so newer firmware adding fields is not an error.
type Side = 'request' | 'response';
const defsId = (side: Side) => `nethsm-${side}-schemas`;

/** OpenAPI 3.0 schema object → JSON Schema (draft-07) for ajv. */
function toJsonSchema(node: unknown, side: Side): unknown {
  if (Array.isArray(node)) return node.map((item) => toJsonSchema(item, side));
  if (typeof node !== 'object' || node === null) return node;
  const source = node as SchemaNode;
  const out: SchemaNode = {};
  for (const [keyword, value] of Object.entries(source)) {
    if (keyword === '$ref') {
      const prefix = '#/components/schemas/';
      if (typeof value !== 'string' || !value.startsWith(prefix)) {
        throw new OpenApiSpecError('unsupported-ref', String(value));
      }
      out.$ref = `${defsId(side)}#/definitions/${value.slice(prefix.length)}`;
    } else if (keyword === 'properties' && typeof value === 'object' && value !== null) {
      // Property names are names, not keywords: convert their schemas only.
      out.properties = Object.fromEntries(
        Object.entries(value).map(([name, schema]) => [name, toJsonSchema(schema, side)]),
      );
    } else if (keyword === 'format' && value === 'binary') {
      // Binary strings never reach JSON validation (they travel as octet-stream or a part).
    } else if (
      ['example', 'examples', 'nullable', 'discriminator', 'xml', 'externalDocs'].includes(
        keyword,
      ) ||
      ['deprecated', 'readOnly', 'writeOnly'].includes(keyword) ||
      keyword.startsWith('x-')
    ) {
      // Documentation and OpenAPI-only keywords; `nullable` is applied below.
    } else {
      out[keyword] = toJsonSchema(value, side);
    }
  }
  if (
    side === 'request' &&
    out.type === 'object' &&
    out.properties !== undefined &&
    out.additionalProperties === undefined
  ) {
    out.additionalProperties = false;
  }
  if (source.nullable === true) {
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    if (Array.isArray(out.enum)) out.enum = [...(out.enum as unknown[]), null];
    if (out.type === undefined) return { anyOf: [out, { type: 'null' }] };
  }
  return out;
}

function describeAjvError(error: ErrorObject, what: string): string {
  const where = error.instancePath === '' ? what : `${what} ${error.instancePath}`;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties':
      return `${where} has property "${String(params.additionalProperty)}", which the spec does not define`;
    case 'required':
      return `${where} lacks required property "${String(params.missingProperty)}"`;
    case 'enum':
      return `${where} is ${JSON.stringify(error.data)}, not one of ${(params.allowedValues as unknown[]).join(', ')}`;
    case 'pattern':
      return `${where} is ${JSON.stringify(error.data)}, which does not match ${String(params.pattern)}`;
    default:
      // No value quoted: a failing string may be a passphrase (minLength), never to be printed.
      return `${where} ${error.message ?? error.keyword}`;
  }
}

function templateMatcher(template: string): { matcher: RegExp; names: string[]; weight: number } {
  const names: string[] = [];
  let weight = 0;
  const source = template.replace(/\{([^}]+)\}|[^{]+/g, (piece, name: string | undefined) => {
    if (name !== undefined) {
      names.push(name);
      return '([^/]+)';
    }
    weight += piece.length;
    return piece.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
  });
  return { matcher: new RegExp(`^${source}$`), names, weight };
}

function serverPrefix(doc: OpenApiDocument): string {
  const server = doc.servers?.[0];
  if (server === undefined) throw new OpenApiSpecError('no-server-prefix', 'no servers entry');
  const url = server.url.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const variable = server.variables?.[name];
    if (variable === undefined) throw new OpenApiSpecError('no-server-prefix', server.url);
    return variable.default;
  });
  return new URL(url).pathname.replace(/\/$/, '');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

// V8's JSON.parse messages quote the input, which may hold a passphrase: only the kind is kept.
type Parsed = { ok: true; value: unknown } | { ok: false; why: 'not UTF-8' | 'not JSON' };
function parseJson(bytes: Uint8Array): Parsed {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { ok: false, why: 'not UTF-8' };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, why: 'not JSON' };
  }
}

const isJsonMediaType = (type: string) => type === 'application/json' || type.endsWith('+json');

class Judge implements OpenApiJudge {
  readonly operations: readonly string[];
  private readonly ops: Operation[];
  private readonly prefix: string;
  private readonly ajv: Ajv;
  private readonly validators = {
    request: new WeakMap<SchemaNode, ValidateFunction>(),
    response: new WeakMap<SchemaNode, ValidateFunction>(),
  };
  private readonly errorSchema: SchemaNode | undefined;
  private readonly schemas: Record<string, SchemaNode>;

  constructor(doc: OpenApiDocument) {
    this.prefix = serverPrefix(doc);
    // allErrors so one judgement lists every problem; verbose to quote a bad enum or pattern value.
    // Shared component validators (no inlining) and unoptimised code halve compile time, which is
    // most of a test file's cost; validation itself stays well under a millisecond.
    this.ajv = new Ajv({
      allErrors: true,
      verbose: true,
      strict: true,
      strictTypes: false,
      inlineRefs: false,
      code: { optimize: false },
    });
    addFormats(this.ajv);
    const schemas = doc.components?.schemas ?? {};
    this.schemas = schemas;
    for (const side of ['request', 'response'] as const) {
      const definitions = Object.fromEntries(
        Object.entries(schemas).map(([name, schema]) => [name, toJsonSchema(schema, side)]),
      );
      this.ajv.addSchema({ $id: defsId(side), definitions });
    }
    this.errorSchema = schemas.ErrorResponse;
    this.ops = [];
    for (const [template, item] of Object.entries(doc.paths)) {
      const { matcher, names, weight } = templateMatcher(template);
      for (const method of httpMethods) {
        const spec = item[method] as OperationSpec | undefined;
        if (spec === undefined) continue;
        // Operation-level parameters override path-level ones of the same name and place.
        const parameters = [...(spec.parameters ?? [])];
        for (const shared of item.parameters ?? []) {
          if (!parameters.some((p) => p.name === shared.name && p.in === shared.in)) {
            parameters.push(shared);
          }
        }
        const security = spec.security ?? doc.security ?? [];
        this.ops.push({
          label: `${method.toUpperCase()} ${template}`,
          method: method.toUpperCase(),
          matcher,
          pathNames: names,
          literalWeight: weight,
          parameters,
          spec,
          anonymousAllowed:
            security.length === 0 || security.some((s) => Object.keys(s).length === 0),
        });
      }
    }
    this.operations = this.ops.map((op) => op.label);
  }

  /** Validators are compiled on first use: loading stays cheap, judging reuses them. */
  private validator(schema: SchemaNode, side: Side): ValidateFunction {
    let validate = this.validators[side].get(schema);
    if (validate === undefined) {
      validate = this.ajv.compile(toJsonSchema(schema, side) as SchemaNode);
      this.validators[side].set(schema, validate);
    }
    return validate;
  }

  private validate(schema: SchemaNode, side: Side, value: unknown, what: string): string[] {
    const validate = this.validator(schema, side);
    if (validate(value)) return [];
    return (validate.errors ?? []).map((error) => describeAjvError(error, what));
  }

  private match(
    exchange: NetHsmExchange,
  ):
    | { kind: 'matched'; op: Operation; pathValues: string[]; query: string }
    | { kind: 'problem'; problem: string } {
    const where = `${exchange.method} ${exchange.path}`;
    const queryAt = exchange.path.indexOf('?');
    const rawPath = queryAt < 0 ? exchange.path : exchange.path.slice(0, queryAt);
    const query = queryAt < 0 ? '' : exchange.path.slice(queryAt + 1);
    if (!rawPath.startsWith(`${this.prefix}/`)) {
      return {
        kind: 'problem',
        problem: `${where}: the path lacks the server prefix ${this.prefix} the spec's servers entry gives`,
      };
    }
    const rest = rawPath.slice(this.prefix.length);
    const candidates = this.ops
      .map((op) => ({ op, found: op.matcher.exec(rest) }))
      .filter((c) => c.found !== null)
      .sort((a, b) => b.op.literalWeight - a.op.literalWeight);
    if (candidates.length === 0) {
      return { kind: 'problem', problem: `${where}: no path in the spec matches ${rest}` };
    }
    const method = exchange.method.toUpperCase();
    const chosen = candidates.find((c) => c.op.method === method);
    if (chosen?.found == null) {
      const allowed = [...new Set(candidates.map((c) => c.op.label))].join(', ');
      return {
        kind: 'problem',
        problem: `${where}: the spec documents no ${method} for this path (only ${allowed})`,
      };
    }
    return { kind: 'matched', op: chosen.op, pathValues: chosen.found.slice(1), query };
  }

  operationOf(exchange: NetHsmExchange): string | null {
    const found = this.match(exchange);
    return found.kind === 'matched' ? found.op.label : null;
  }

  judge(exchange: NetHsmExchange): string[] {
    const found = this.match(exchange);
    if (found.kind === 'problem') return [found.problem];
    const { op } = found;
    const problems = [
      ...this.judgePathParameters(op, found.pathValues),
      ...this.judgeQuery(op, found.query),
      ...this.judgeCredentials(op, exchange),
      ...this.judgeAccept(op, exchange),
      ...this.judgeRequestBody(op, exchange),
      ...this.judgeResponse(op, exchange),
    ];
    return problems.map((problem) => `${op.label}: ${problem}`);
  }

  private judgePathParameters(op: Operation, values: string[]): string[] {
    const problems: string[] = [];
    op.pathNames.forEach((name, i) => {
      const raw = values[i] ?? '';
      let value: string;
      try {
        value = decodeURIComponent(raw);
      } catch {
        problems.push(`path parameter ${name} "${raw}" is not valid percent-encoding`);
        return;
      }
      const spec = op.parameters.find((p) => p.in === 'path' && p.name === name);
      if (spec?.schema === undefined) return;
      problems.push(...this.validate(spec.schema, 'request', value, `path parameter ${name}`));
    });
    return problems;
  }

  private judgeQuery(op: Operation, query: string): string[] {
    const problems: string[] = [];
    const documented = op.parameters.filter((p) => p.in === 'query');
    const given = new URLSearchParams(query);
    for (const name of new Set(given.keys())) {
      const spec = documented.find((p) => p.name === name);
      if (spec === undefined) {
        problems.push(`query parameter "${name}" is not documented`);
        continue;
      }
      const values = given.getAll(name);
      if (values.length > 1) problems.push(`query parameter "${name}" is given more than once`);
      if (spec.schema !== undefined) {
        const value = coerceQueryValue(values[0] ?? '', spec.schema);
        problems.push(...this.validate(spec.schema, 'request', value, `query parameter ${name}`));
      }
    }
    for (const spec of documented) {
      if (spec.required === true && !given.has(spec.name)) {
        problems.push(`required query parameter "${spec.name}" is missing`);
      }
    }
    return problems;
  }

  // Credentials are only judged against success: a 401 is the documented answer to their absence.
  private judgeCredentials(op: Operation, exchange: NetHsmExchange): string[] {
    if (op.anonymousAllowed || exchange.status >= 300) return [];
    const authorization = exchange.requestHeaders.authorization ?? '';
    return /^basic\s+\S/i.test(authorization)
      ? []
      : [`succeeded (${exchange.status}) without the HTTP Basic credentials the spec requires`];
  }

  // Nearly every operation documents 406 "Content type in Accept header not supported": there an
  // Accept header must admit a media type the operation succeeds with, or the answer is 406.
  private judgeAccept(op: Operation, exchange: NetHsmExchange): string[] {
    const accept = exchange.requestHeaders.accept;
    if (accept === undefined || op.spec.responses?.['406'] === undefined) return [];
    const offered = new Set<string>();
    for (const [status, response] of Object.entries(op.spec.responses ?? {})) {
      if (!status.startsWith('2')) continue;
      for (const type of Object.keys(response.content ?? {})) offered.add(type.toLowerCase());
    }
    if (offered.size === 0) return [];
    const ranges = acceptRanges(accept);
    const admitted = [...offered].some((type) => ranges.some((r) => acceptRangeAdmits(r, type)));
    if (!admitted && exchange.status !== 406) {
      return [
        `Accept "${accept}" admits none of ${[...offered].join(', ')}, so the spec expects 406, not ${exchange.status}`,
      ];
    }
    if (admitted && exchange.status === 406) {
      return [`answered 406 although Accept "${accept}" admits ${[...offered].join(', ')}`];
    }
    return [];
  }

  private judgeRequestBody(op: Operation, exchange: NetHsmExchange): string[] {
    const documented = op.spec.requestBody;
    const size = exchange.requestBody.length;
    if (documented === undefined) {
      return size === 0 ? [] : [`sends a ${size}-byte request body, but the spec documents none`];
    }
    if (size === 0) {
      return documented.required === true
        ? ['sends no request body, but the spec requires one']
        : [];
    }
    const header = exchange.requestHeaders['content-type'];
    const type = mediaTypeOf(header);
    const media = Object.entries(documented.content ?? {});
    const names = media.map(([name]) => name).join(', ');
    if (type === null) return [`sends a request body without Content-Type (documented: ${names})`];
    const entry = media.find(([name]) => name.toLowerCase() === type);
    if (entry === undefined) {
      return [`request Content-Type ${type} is not documented (documented: ${names})`];
    }
    const [, spec] = entry;
    if (isJsonMediaType(type)) {
      return this.judgeJson(spec.schema, 'request', exchange.requestBody, 'request body');
    }
    if (type === 'multipart/form-data') {
      return this.judgeMultipart(spec, header ?? '', exchange.requestBody);
    }
    // application/octet-stream, application/x-pem-file, text/plain: opaque to the spec.
    return [];
  }

  private judgeJson(
    schema: SchemaNode | undefined,
    side: Side,
    bytes: Uint8Array,
    what: string,
  ): string[] {
    const parsed = parseJson(bytes);
    if (!parsed.ok) return [`${what} is ${parsed.why}`];
    return schema === undefined ? [] : this.validate(schema, side, parsed.value, what);
  }

  // The spec's multipart schemas (PrivateKeyPem, RestoreRequest) list no `required` parts, yet
  // neither operation means anything without all of them (a PEM import needs the key and its
  // mechanisms, a restore the backup file and its passphrase). The judge therefore requires every
  // documented part when a schema lists none: deliberately stricter than the schema.
  private judgeMultipart(spec: MediaSpec, header: string, body: Uint8Array): string[] {
    const boundary = mediaTypeParameter(header, 'boundary');
    if (boundary === null) return ['multipart/form-data request has no boundary parameter'];
    let parts: MultipartPart[];
    try {
      parts = parseMultipartFormData(body, boundary);
    } catch (e) {
      return [`multipart/form-data request body is malformed: ${(e as Error).message}`];
    }
    const schema = this.resolve(spec.schema);
    const properties = (schema?.properties ?? {}) as Record<string, SchemaNode>;
    const required = Array.isArray(schema?.required)
      ? (schema.required as string[])
      : Object.keys(properties);
    const problems: string[] = [];
    for (const name of required) {
      if (!parts.some((part) => part.name === name)) {
        problems.push(`multipart request lacks the part "${name}"`);
      }
    }
    for (const part of parts) {
      const partSchema = properties[part.name];
      if (partSchema === undefined) {
        problems.push(`multipart request has part "${part.name}", which the spec does not define`);
        continue;
      }
      if (parts.filter((p) => p.name === part.name).length > 1) {
        problems.push(`multipart request repeats the part "${part.name}"`);
      }
      const resolved = this.resolve(partSchema);
      // OpenAPI 3.0 part types: the encoding's, else JSON for objects and arrays. A part that
      // declares no type is not faulted (curl -F and browsers label files as they please).
      const isStructured = resolved?.type === 'object' || resolved?.type === 'array';
      const expected =
        spec.encoding?.[part.name]?.contentType ?? (isStructured ? 'application/json' : null);
      if (expected !== null && part.contentType !== null && part.contentType !== expected) {
        problems.push(
          `multipart part "${part.name}" has Content-Type ${part.contentType}, documented ${expected}`,
        );
      }
      if (isStructured) {
        problems.push(
          ...this.judgeJson(partSchema, 'request', part.body, `multipart part "${part.name}"`),
        );
      }
    }
    return problems;
  }

  private resolve(schema: SchemaNode | undefined): SchemaNode | undefined {
    const ref = schema?.$ref;
    if (typeof ref !== 'string') return schema;
    const name = ref.replace('#/components/schemas/', '');
    return this.resolve(this.schemas[name]);
  }

  private judgeResponse(op: Operation, exchange: NetHsmExchange): string[] {
    const { status } = exchange;
    const responses = op.spec.responses ?? {};
    const response =
      responses[String(status)] ?? responses[`${Math.floor(status / 100)}XX`] ?? responses.default;
    if (response === undefined) {
      return [
        `answered ${status}, which the spec does not document (documented: ${Object.keys(responses).join(', ')})`,
      ];
    }
    const problems: string[] = [];
    for (const [name, header] of Object.entries(response.headers ?? {})) {
      const value = exchange.responseHeaders[name.toLowerCase()];
      // OpenAPI headers are optional unless marked; the only ones here are the Location of a
      // created key, which the operation descriptions promise and clients rely on.
      if (value === undefined) {
        problems.push(`response ${status} lacks the documented ${name} header`);
      } else if (header.schema !== undefined) {
        problems.push(...this.validate(header.schema, 'response', value, `${name} header`));
      }
    }
    const body = exchange.responseBody;
    const media = Object.entries(response.content ?? {});
    const type = mediaTypeOf(exchange.responseHeaders['content-type']);
    if (media.length === 0) {
      if (body.length === 0) return problems;
      // Errors: most 4xx/5xx entries document no content, but the spec's info text says "All HTTP
      // errors contain a JSON structure with an explanation of type string" — so an error body is
      // allowed when it is ErrorResponse JSON ({"message": "..."}), and only then.
      if (status >= 400 && type !== null && isJsonMediaType(type)) {
        return [...problems, ...this.judgeJson(this.errorSchema, 'response', body, 'error body')];
      }
      if (status >= 400) {
        return [
          ...problems,
          `error ${status} has a ${type ?? 'untyped'} body; only ErrorResponse JSON is allowed`,
        ];
      }
      return [
        ...problems,
        `answered ${status} with a ${body.length}-byte body, but the spec documents no content`,
      ];
    }
    const names = media.map(([name]) => name).join(', ');
    if (body.length === 0) {
      return [...problems, `answered ${status} with an empty body (documented: ${names})`];
    }
    if (type === null)
      return [...problems, `answered ${status} without Content-Type (documented: ${names})`];
    const entry = media.find(([name]) => name.toLowerCase() === type);
    if (entry === undefined) {
      return [
        ...problems,
        `response ${status} Content-Type ${type} is not documented (documented: ${names})`,
      ];
    }
    if (isJsonMediaType(type)) {
      problems.push(
        ...this.judgeJson(entry[1].schema, 'response', body, `response ${status} body`),
      );
    }
    return problems;
  }
}

function coerceQueryValue(value: string, schema: SchemaNode): unknown {
  if (schema.type === 'integer' || schema.type === 'number')
    return value === '' ? value : Number(value);
  if (schema.type === 'boolean') return value === 'true' ? true : value === 'false' ? false : value;
  return value;
}

const judges = new Map<string, OpenApiJudge>();

/**
 * The judge for a spec in ../shared/reference/data (default: the v4.0 document), built once per
 * process.
 */
export function loadOpenApiJudge(specName = 'nethsm-api.yaml'): OpenApiJudge {
  let judge = judges.get(specName);
  if (judge === undefined) {
    let doc: OpenApiDocument;
    try {
      doc = loadYaml(readFileSync(join(referenceDataDir, specName), 'utf8')) as OpenApiDocument;
    } catch (e) {
      throw new OpenApiSpecError('unreadable', `${specName}: ${(e as Error).message}`);
    }
    judge = new Judge(doc);
    judges.set(specName, judge);
  }
  return judge;
}
