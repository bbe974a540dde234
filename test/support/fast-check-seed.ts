import fc from 'fast-check';

/**
 * Property tests' seed. Under `CI=true` every run uses the same one, so CI is reproducible
 * and a property that fails there fails again on the same cases; elsewhere each run draws a
 * fresh seed and explores new cases (fast-check prints the seed and path of a failure, to
 * replay it). `TRIBUTARY_FC_SEED=<integer>` pins any run; `TRIBUTARY_FC_SEED=random` unpins CI.
 */
const CI_SEED = 20261206;
const given = process.env.TRIBUTARY_FC_SEED;
const seed = given === 'random' ? undefined : given !== undefined && given !== '' ? Number(given) : process.env.CI === 'true' ? CI_SEED : undefined;
if (seed !== undefined) {
  if (!Number.isSafeInteger(seed)) throw new Error(`TRIBUTARY_FC_SEED must be an integer or "random", got ${given}`);
  fc.configureGlobal({ ...fc.readConfigureGlobal(), seed });
}
