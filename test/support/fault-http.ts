import type { ServerResponse } from 'node:http';
import { reply, type RecordedRequest, type RouteHandler } from './http-server.js';

/**
 * HTTP faults on top of the loopback route-table server (http-server.ts): storms of 429 /
 * 503 with or without Retry-After, a route whose behaviour is switched while requests run,
 * slow first bytes, stalled and truncated bodies, and the request log the fault suite
 * asserts on (how many requests, when, and whether any is still open).
 */

/** A route handler whose behaviour can be swapped at any time (the fault is "switched"). */
export interface Switchable extends RouteHandler {
  set(handler: RouteHandler): void;
}

export function switchable(initial: RouteHandler): Switchable {
  let current = initial;
  const handler = ((req: RecordedRequest, res: ServerResponse) => current(req, res)) as Switchable;
  handler.set = (next) => {
    current = next;
  };
  return handler;
}

/** Answers with `faulty` for the first `times` requests, then with `healthy` for good. */
export function firstFails(times: number, faulty: RouteHandler, healthy: RouteHandler): RouteHandler {
  let seen = 0;
  return (req, res) => (seen++ < times ? faulty(req, res) : healthy(req, res));
}

/** A storm: `status` (429 / 503) with an optional `Retry-After` (seconds, as servers send it). */
export function storm(status: 429 | 503, retryAfterSeconds?: number): RouteHandler {
  return reply.status(status, retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) });
}

/** Headers at once, then a prefix of the body, then silence: the client waits for the rest. */
export const stalledBody = (prefix = '[{"id":1'): RouteHandler => reply.stall(prefix);

/** Declares more bytes than it sends, then closes the connection. */
export const truncatedBody = (rows: unknown[]): RouteHandler => {
  const text = JSON.stringify(rows);
  return reply.truncated(text.slice(0, Math.floor(text.length / 2)), Buffer.byteLength(text));
};

/** The whole answer, but only after `ms` of silence (slow first byte). */
export const slowFirstByte = (ms: number, handler: RouteHandler): RouteHandler => reply.delay(ms, handler);

/**
 * Wraps a route's handler to see each request's life: when it arrived and whether its
 * response is still open (neither finished nor closed by the client). `open()` after a
 * run is the HTTP analogue of "no statement left running".
 */
export interface RequestTracker {
  wrap(handler: RouteHandler): RouteHandler;
  /** Responses neither finished nor aborted yet. */
  open(): number;
  /** `performance.now()` of each request's arrival. */
  arrivals: number[];
}

export function trackRequests(): RequestTracker {
  let open = 0;
  const arrivals: number[] = [];
  return {
    arrivals,
    open: () => open,
    wrap: (handler) => (req, res) => {
      arrivals.push(performance.now());
      open++;
      // 'close' fires once: after the response is sent, or when the client goes away.
      res.once('close', () => open--);
      return handler(req, res);
    },
  };
}
