'use strict';
// HTTP plumbing of the example server: JSON bodies in (bounded, checked), JSON replies and
// errors out, server-sent events. No framework: node:http only.

/** An error with the HTTP status it answers with; `headers` go on the reply. */
class HttpError extends Error {
  constructor(status, message, headers = {}) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}

/**
 * The request's JSON body as a plain object. 415 unless the content type is JSON, 413 beyond
 * maxBytes (the reading stops there), 400 for malformed JSON or a body that is not an object.
 */
function readJson(req, maxBytes) {
  const type = String(req.headers['content-type'] || '');
  if (!/^application\/json\b/i.test(type))
    return Promise.reject(new HttpError(415, `the body must be JSON: send Content-Type: application/json (received ${type ? `"${type}"` : 'none'})`));
  const declared = Number(req.headers['content-length']);
  if (declared > maxBytes) return Promise.reject(new HttpError(413, `the body is ${declared} bytes; the limit is ${maxBytes}`));
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk) => {
      if (failed) return;
      size += chunk.length;
      if (size > maxBytes) {
        failed = true;
        reject(new HttpError(413, `the body is over the limit of ${maxBytes} bytes`));
        req.resume(); // drain the rest without keeping it
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', (err) => {
      if (!failed) reject(new HttpError(400, `the body could not be read: ${err.message}`));
      failed = true;
    });
    req.on('end', () => {
      if (failed) return;
      let body;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch (err) {
        reject(new HttpError(400, `the body is not valid JSON: ${err.message}`));
        return;
      }
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        reject(new HttpError(400, `the body must be a JSON object, received ${Array.isArray(body) ? 'an array' : JSON.stringify(body)}`));
        return;
      }
      resolve(body);
    });
  });
}

function sendJson(res, status, value, headers = {}) {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

function sendError(res, err) {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const status = err instanceof HttpError ? err.status : 500;
  const message = err instanceof HttpError ? err.message : 'internal error';
  sendJson(res, status, { error: message, status }, err instanceof HttpError ? err.headers : {});
}

/** Starts a server-sent event stream; returns send(event, data). */
function startEvents(res) {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.flushHeaders();
  return (event, data) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

module.exports = { HttpError, readJson, sendJson, sendError, startEvents };
