/** Specs compiled in memory and opened as Models: runtime/open.ts, re-exported for the commands and tests. */
export { compileInMemory, type OpenOptions } from '../runtime/open.ts';
