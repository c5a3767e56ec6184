// One CSP string, sent as a response header by the app protocol and mirrored in index.html's
// <meta>; a test asserts both are identical. No 'unsafe-eval', no 'unsafe-inline'.
// SECURITY: default-src 'none' and connect-src 'none' leave the renderer no network (checklist #7).
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-src 'none'",
  "worker-src 'none'",
].join('; ');
