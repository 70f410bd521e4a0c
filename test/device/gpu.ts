/**
 * The adapter for device suites. There is no skip: when no adapter is found the suite fails with
 * the install instructions, in CI as anywhere.
 */
import { acquireGpu, type Gpu } from '../../runtime/gpu.ts';

export function gpu(): Promise<Gpu> {
  return acquireGpu();
}
