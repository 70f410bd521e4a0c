/**
 * The memory plan of a program: activation buffers whose lifetimes do not overlap share one GPU
 * allocation ("slot"). Lifetimes come from the program's step order (a buffer lives from the first
 * step that binds it to the last); weights, inputs, outputs and states keep buffers of their own,
 * since they outlive a run. Pure: a function of the ProgramSpec.
 */
import { elemBytes, type ElemType } from './kernel.ts';
import type { BufferDecl, ProgramSpec } from './program.ts';

export interface MemoryPlan {
  /** Byte size of each shared allocation. */
  slots: number[];
  /** Slot index of every activation buffer that shares one. */
  slotOf: ReadonlyMap<string, number>;
  /** Bytes of the activation buffers if each had its own allocation, and with the plan. */
  bytesUnshared: number;
  bytesShared: number;
}

/** Storage buffers are non-empty and 16-byte aligned (runtime/program.ts allocates the same). */
export function bufferBytes(b: Pick<BufferDecl, 'elements'> & { elem?: ElemType }): number {
  return Math.max(16, Math.ceil((b.elements * elemBytes(b.elem ?? 'f32')) / 16) * 16);
}

/** Step index of the first and last binding of each buffer. */
export function lifetimes(spec: ProgramSpec): Map<string, [number, number]> {
  const life = new Map<string, [number, number]>();
  spec.steps.forEach((step, i) => {
    for (const name of step.args) {
      const l = life.get(name);
      if (l) l[1] = i;
      else life.set(name, [i, i]);
    }
  });
  return life;
}

/**
 * Greedy interval allocation in order of first use: a buffer takes the smallest free slot that
 * fits, else the largest free slot (grown), else a new slot. A slot is free again after the last
 * step that binds its occupant, so two buffers bound by one step never share.
 */
export function planMemory(spec: ProgramSpec): MemoryPlan {
  const life = lifetimes(spec);
  const acts = spec.buffers.filter((b) => b.role === 'activation' && life.has(b.name));
  acts.sort((a, b) => life.get(a.name)![0] - life.get(b.name)![0] || a.name.localeCompare(b.name));
  const slots: number[] = [];
  const busyUntil: number[] = [];
  const slotOf = new Map<string, number>();
  for (const b of acts) {
    const [first, last] = life.get(b.name)!;
    const need = bufferBytes(b);
    const free = slots.map((_, i) => i).filter((i) => busyUntil[i] < first);
    const fits = free.filter((i) => slots[i] >= need).sort((x, y) => slots[x] - slots[y] || x - y);
    let slot = fits[0];
    if (slot === undefined && free.length) {
      slot = free.sort((x, y) => slots[y] - slots[x] || x - y)[0];
      slots[slot] = need;
    }
    if (slot === undefined) {
      slot = slots.length;
      slots.push(need);
      busyUntil.push(-1);
    }
    busyUntil[slot] = last;
    slotOf.set(b.name, slot);
  }
  const bytesUnshared = acts.reduce((s, b) => s + bufferBytes(b), 0);
  return { slots, slotOf, bytesUnshared, bytesShared: slots.reduce((s, x) => s + x, 0) };
}
