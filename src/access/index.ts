/* Access control: the executor's authorize rule and its verdicts per fragment. */
export { authorizeRun, checkAccess, forbiddenError } from './authorize.js';
export type { Authorize, AuthorizeAnswer, AuthorizeRequest, FragmentAccess } from './authorize.js';
export { checkPrincipal } from './principal.js';
