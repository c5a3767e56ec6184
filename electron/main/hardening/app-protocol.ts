// vigil://app/ serves the built renderer and nothing else: GET only, our host only, the path
// normalised and kept inside the build folder (checklist #18). The resolver is pure so both the
// Electron protocol handler and the test bridge's static server use it.
import { extname, join, normalize, sep } from 'node:path';

export const APP_SCHEME = 'vigil';
export const APP_HOST = 'app';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;

const contentTypes: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

/**
 * True for URLs at vigil://app and nowhere else: parsed with URL and compared by scheme and host
 * (never a string prefix), with no port or credentials smuggled in.
 */
export function isAppUrl(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  // SECURITY: vigil: is not a special scheme, so URL.origin is 'null': compare the parts (checklist #13).
  return (
    parsed.protocol === `${APP_SCHEME}:` &&
    parsed.hostname === APP_HOST &&
    parsed.port === '' &&
    parsed.username === '' &&
    parsed.password === ''
  );
}

export type AppRequestResolution =
  { ok: true; filePath: string; contentType: string } | { ok: false; status: 404 | 405 };

/**
 * Maps a request to a file under `root`, or refuses it. `expectedOrigin` is the scheme and host
 * the renderer is served from (vigil://app in Electron, http://127.0.0.1:<port> in the bridge).
 */
export function resolveAppRequest(
  root: string,
  method: string,
  url: string,
  expectedOrigin: string = APP_ORIGIN,
): AppRequestResolution {
  if (method !== 'GET') return { ok: false, status: 405 };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, status: 404 };
  }
  if (`${parsed.protocol}//${parsed.host}` !== expectedOrigin) return { ok: false, status: 404 };
  let pathname: string;
  try {
    pathname = decodeURIComponent(parsed.pathname);
  } catch {
    return { ok: false, status: 404 };
  }
  // SECURITY: refuse anything that would leave the build folder, decoded or not (checklist #18).
  if (pathname.includes('\0') || pathname.split('/').includes('..'))
    return { ok: false, status: 404 };
  const relativePath = pathname === '/' ? 'index.html' : pathname.replace(/^\/+/, '');
  const rootNormal = normalize(root + sep);
  const filePath = normalize(join(rootNormal, relativePath));
  if (!filePath.startsWith(rootNormal)) return { ok: false, status: 404 };
  const contentType = contentTypes[extname(filePath)];
  if (!contentType) return { ok: false, status: 404 };
  return { ok: true, filePath, contentType };
}

/** The privileges vigil:// needs: a standard, secure origin for the renderer bundle only. */
export const APP_SCHEME_PRIVILEGES = {
  scheme: APP_SCHEME,
  privileges: {
    standard: true,
    secure: true,
    supportFetchAPI: false,
    corsEnabled: false,
    stream: false,
  },
} as const;

/** Builds the protocol.handle handler: the resolver above plus the CSP header on every response. */
export function appProtocolHandler(
  root: string,
  readFile: (path: string) => Promise<Uint8Array>,
  contentSecurityPolicy: string,
): (request: { method: string; url: string }) => Promise<Response> {
  return async (request) => {
    const resolution = resolveAppRequest(root, request.method, request.url);
    if (!resolution.ok) return new Response(null, { status: resolution.status });
    try {
      const body = await readFile(resolution.filePath);
      return new Response(body, {
        status: 200,
        headers: {
          'Content-Type': resolution.contentType,
          // SECURITY: the CSP travels as a header as well as in <meta> (checklist #7).
          'Content-Security-Policy': contentSecurityPolicy,
          'X-Content-Type-Options': 'nosniff',
        },
      });
    } catch {
      return new Response(null, { status: 404 });
    }
  };
}
