import { fromCallback } from 'xstate';
import type { SettleEvent } from '../src/run/port.js';
import { portOf } from '../src/run/port-slot.js';

/** What the query actor sends a source actor: fragments ready to run. */
export interface FragmentsReadyEvent {
  type: 'fragments.ready';
  /** Fragment indices in the prepared plan. */
  fragments: readonly number[];
}

/** A source actor's input: the registered name of the source it runs. */
export interface SourceActorInput {
  source: string;
}

/**
 * The child actor that runs one source executor's fragments (actor id = the source's
 * registered name). It receives `fragments.ready` from its query actor, runs each fragment
 * through the source's pipeline (cache → lanes → execute → timeout → retry) and sends back
 * one `fragment.succeeded` or `fragment.failed` per fragment. Stopping it (the query ended,
 * failed or was cancelled) aborts every call it still has running.
 */
export const sourceActor = fromCallback<FragmentsReadyEvent, SourceActorInput, SettleEvent>(({ input, system, receive, sendBack }) => {
  const runner = portOf(system).sourceRunner(input.source, sendBack);
  receive((event) => runner.run(event.fragments));
  return () => runner.stop();
});
