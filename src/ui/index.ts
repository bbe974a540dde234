/* The live view: an executor's queries on a page served from 127.0.0.1, offline. */
export { createLiveView } from './live-view.js';
export type { LiveView, LiveViewOptions } from './live-view.js';
export type { QueryView, FragmentState, LogLine } from './types.js';
