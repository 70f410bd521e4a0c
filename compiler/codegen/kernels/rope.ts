/**
 * Rotary position embedding (RoPE), half-split pairing as in HF LLaMA (`rotate_half`): in each
 * group of D elements, element i < D/2 pairs with i + D/2 and both rotate by the angle
 * `p * theta^(-2i/D)` at absolute position p = pos[b] + t (or t without pos). One invocation per pair.
 *
 * Angles stay accurate at large positions: the turns per position f_i = theta^(-2i/D) / 2pi are
 * split on the host into F_HI (12 significant bits) + F_LO, and with p = 4096 a + c (a, c < 4096)
 * the kernel sums fract(4096 a F_HI) + fract(c F_HI) + fract(p F_LO), whose first two products are
 * exact in f32. A plain f32 `p * theta^(-2i/D)` would be off by ~p * 6e-8 radians.
 */
import { LoomInternalError } from '../../../grammar/diagnostics.ts';
import type { Kernel } from '../kernel.ts';
import { buildKernel, f32Lit } from '../wgsl.ts';
import { flatDispatch, flatIndex, needsGuard } from './elementwise.ts';

const WG = 64;

/** f = theta^(-2i/D) / 2pi split as [hi (12 significant bits), lo] for i < D/2. Pure. */
export function ropeTurns(D: number, theta: number): { hi: number[]; lo: number[] } {
  const hi: number[] = [];
  const lo: number[] = [];
  for (let i = 0; i < D / 2; i++) {
    const f = Math.pow(theta, (-2 * i) / D) / (2 * Math.PI);
    const e = Math.floor(Math.log2(f));
    const h = Math.round(f * 2 ** (11 - e)) / 2 ** (11 - e);
    hi.push(h);
    lo.push(Math.fround(f - h));
  }
  return { hi, lo };
}

export function ropeKernel(o: { name: string; B: number; T: number; width: number; D: number; theta: number; positions: boolean }): Kernel {
  const { B, T, width, D } = o;
  if (D % 2 !== 0 || width % D !== 0) throw new LoomInternalError('codegen', `${o.name}: D = ${D} must be even and divide ${width}`);
  if (!(o.theta > 0)) throw new LoomInternalError('codegen', `${o.name}: theta = ${o.theta} must be positive`);
  const n = (B * T * width) / 2;
  const { dispatch, formula } = flatDispatch(n, WG, 'B*T*G*D/2');
  const index = flatIndex(dispatch, 'gid', WG);
  const turns = ropeTurns(D, o.theta);
  const table = (name: string, xs: number[]) => `const ${name} = array<f32, HALF>(${xs.map(f32Lit).join(', ')});`;
  return buildKernel({
    name: o.name,
    summary: `RoPE (half-split pairs i, i + D/2) rotated by p * theta^(-2i/D), p = ${o.positions ? 'pos[b] + t' : 't'}, theta = ${o.theta}`,
    bindings: [
      { name: 'x', access: 'read', elem: 'f32', elements: B * T * width },
      ...(o.positions ? [{ name: 'pos', access: 'read' as const, elem: 'f32' as const, elements: B }] : []),
      { name: 'out', access: 'read_write', elem: 'f32', elements: B * T * width },
    ],
    consts: [['T', T], ['G', width / D], ['D', D], ['HALF', D / 2], ['N', n], ...index.consts],
    fconsts: [['TWO_PI', 2 * Math.PI]],
    helpers: [table('F_HI', turns.hi), table('F_LO', turns.lo)],
    workgroupSize: [WG, 1, 1],
    dispatch,
    dispatchFormula: formula,
    body: (b) => {
      b.line(`let i_thread = ${index.expr};`);
      if (needsGuard(dispatch, WG, n)) b.line('if (i_thread >= N) { return; }');
      b.line('let i_i = i_thread % HALF;');
      b.line('let i_row = i_thread / HALF;');
      b.line('let i_t = (i_row / G) % T;');
      b.line(o.positions ? 'let i_p = u32(pos[i_row / (G * T)]) + i_t;' : 'let i_p = i_t;');
      b.line('let b_f = F_HI[i_i];');
      b.line('let b_turns = fract(f32(i_p >> 12u) * 4096.0 * b_f) + fract(f32(i_p & 4095u) * b_f) + fract(f32(i_p) * F_LO[i_i]);');
      b.line('let b_a = TWO_PI * fract(b_turns);');
      b.line('let b_c = cos(b_a);');
      b.line('let b_s = sin(b_a);');
      b.line('let o_x = i_row * D + i_i;');
      b.line('let b_x1 = x[o_x];');
      b.line('let b_x2 = x[o_x + HALF];');
      b.line('out[o_x] = b_x1 * b_c - b_x2 * b_s;');
      b.line('out[o_x + HALF] = b_x2 * b_c + b_x1 * b_s;');
    },
  });
}
