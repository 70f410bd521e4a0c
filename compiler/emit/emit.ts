/** The artifact files (emit-files.ts) with `--emit ts`'s typed module written by emit-ts.ts (ts-morph). */
import { emitFiles, type CompiledPair, type EmitOptions } from './emit-files.ts';
import { emitModule } from './emit-ts.ts';

export * from './emit-files.ts';

export function emitArtifacts(pair: CompiledPair, o: EmitOptions): Map<string, string> {
  return emitFiles(pair, o, emitModule);
}
