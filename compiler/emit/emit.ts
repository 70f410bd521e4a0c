/**
 * emit(compiled) -> files: one `.wgsl` per kernel and `manifest.json` (kernels, entry points,
 * bindings, buffer sizes, chosen schedules). Pure and deterministic: the same spec and options
 * give byte-identical files.
 */
import type { Compiled } from '../pipeline.ts';

export const MANIFEST = 'manifest.json';
export const MANIFEST_FORMAT = 'loom-manifest/1';

/** A kernel name as a file name: `L0.attn.chunk_h` -> `L0.attn.chunk_h.wgsl`. */
export function kernelFile(name: string): string {
  return `${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.wgsl`;
}

export function emitArtifacts(c: Compiled): Map<string, string> {
  const files = new Map<string, string>();
  const { program, plan, spec, fused } = c;
  const kernels = program.steps.map((s) => {
    const file = kernelFile(s.kernel.name);
    files.set(file, s.kernel.wgsl);
    return {
      name: s.kernel.name,
      file,
      entryPoint: s.kernel.entryPoint,
      workgroupSize: s.kernel.workgroupSize,
      dispatch: s.kernel.dispatch,
      dispatchFormula: s.kernel.dispatchFormula,
      bindings: s.kernel.bindings.map((b, i) => ({ binding: i, name: b.name, access: b.access, elem: b.elem, elements: b.elements, buffer: s.args[i] })),
    };
  });
  const manifest = {
    format: MANIFEST_FORMAT,
    model: spec.name,
    source: spec.file,
    dims: fused.dims,
    mode: plan.mode,
    device: { name: plan.device.name, isCpu: plan.device.isCpu },
    schedules: plan.mixers.map((m) => ({ layer: m.layer, mixer: m.label, schedule: m.schedule, chunk: m.chunk || undefined, source: m.source, why: m.why })),
    weights: fused.weights.map((w) => ({ name: w.name, shape: w.shape })),
    buffers: program.buffers.map((b) => ({ name: b.name, role: b.role, elem: b.elem, elements: b.elements, bytes: b.elements * 4 })),
    kernels,
  };
  files.set(MANIFEST, JSON.stringify(manifest, null, 2) + '\n');
  return files;
}
