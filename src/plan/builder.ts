import type { Fragment, MergeNode, Plan } from './schema.js';

type FragmentOptions = Omit<Fragment, 'id' | 'source' | 'query'>;
type PlanOptions = Omit<Plan, 'fragments' | 'merge' | 'id'>;

/**
 * A small fluent builder for plans. `build()` returns the same plain object a JSON plan
 * would be, so a built plan can be saved, diffed and passed to the command line.
 *
 * @example
 * const p = plan('top-customers')
 *   .fragment('customers', 'crm', { sql: 'SELECT id, name FROM customers' })
 *   .fragment('orders', 'shop', { sql: 'SELECT customer_id, total FROM orders WHERE customer_id = ANY($1)',
 *     params: [from('customers', 'id')] }, { dependsOn: ['customers'] })
 *   .merge({ op: 'join', type: 'inner', left: 'customers', right: 'orders', on: [['id', 'customer_id']] })
 *   .build();
 */
export class PlanBuilder {
  readonly #id: string | undefined;
  readonly #fragments: Fragment[] = [];
  #merge: MergeNode | undefined;
  #options: PlanOptions = {};

  constructor(id?: string) {
    this.#id = id;
  }

  /** Adds a fragment: one native query against one source. */
  fragment(id: string, source: string, query: unknown, options: FragmentOptions = {}): this {
    this.#fragments.push({ id, source, query, ...options });
    return this;
  }

  /**
   * Adds an optional fragment (`optional: true`): when the query's deadline, or its share of
   * it, runs out before it finishes, it is dropped and the query answers `partial` without it.
   */
  optional(id: string, source: string, query: unknown, options: Omit<FragmentOptions, 'optional'> = {}): this {
    return this.fragment(id, source, query, { ...options, optional: true });
  }

  /** Sets the merge tree over the fragments' results. */
  merge(node: MergeNode): this {
    this.#merge = node;
    return this;
  }

  /** Sets plan-wide options: `errorPolicy`, `schedule`, `timeoutMs`, `deadlineMs` (the query's), `fragmentDeadlineMs`, `retry`, `cache`, `limits`, `hedge`. */
  options(options: PlanOptions): this {
    this.#options = { ...this.#options, ...options };
    return this;
  }

  /** The plan as a plain object (a deep copy: later builder calls do not change it). */
  build(): Plan {
    const out: Plan = {
      ...(this.#id === undefined ? {} : { id: this.#id }),
      fragments: this.#fragments,
      ...(this.#merge === undefined ? {} : { merge: this.#merge }),
      ...this.#options,
    };
    return structuredClone(out);
  }
}

/** Starts a plan. */
export function plan(id?: string): PlanBuilder {
  return new PlanBuilder(id);
}

/** `{ $from: fragment, column }`: bind the distinct values of an upstream column. */
export function from(fragment: string, column: string): { $from: string; column: string } {
  return { $from: fragment, column };
}

/** `{ $param: name }`: a value passed at run time with `run(plan, { params })`. */
export function param(name: string): { $param: string } {
  return { $param: name };
}
