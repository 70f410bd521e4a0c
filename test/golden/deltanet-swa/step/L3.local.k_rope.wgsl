// L3.local.k_rope: RoPE (half-split pairs i, i + D/2) rotated by p * theta^(-2i/D), p = pos[b] + t, theta = 10000
//   @binding(0) x: in  f32[64]
//   @binding(1) pos: in  f32[1]
//   @binding(2) out: out f32[64]
// dispatch: ceil(B*T*G*D/2/64) = (1, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> pos: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

const T: u32 = 1u;
const G: u32 = 2u;
const D: u32 = 32u;
const HALF: u32 = 16u;
const N: u32 = 32u;
const TWO_PI: f32 = 6.2831855;

const F_HI = array<f32, HALF>(0.15917969, 0.08950806, 0.050323486, 0.028305054, 0.015914917, 0.00894928, 0.005033493, 0.0028305054, 0.0015916824, 0.00089502335, 0.0005033016, 0.00028300285, 0.0001591444, 0.000089496374, 0.000050336123, 0.000028304756);

const F_LO = array<f32, HALF>(-0.000024744408, -0.000008655032, 0.000005725776, -0.0000028578804, 5.77317e-7, 6.6037575e-7, -5.7183155e-7, -2.8578802e-7, -1.3300317e-7, -2.9329858e-8, -9.499439e-9, 1.9104913e-8, 1.0541542e-8, 3.0274787e-9, -6.9104082e-9, -2.559857e-9);

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_thread = gid.x;
  if (i_thread >= N) { return; }
  let i_i = i_thread % HALF;
  let i_row = i_thread / HALF;
  let i_t = (i_row / G) % T;
  let i_p = u32(pos[i_row / (G * T)]) + i_t;
  let b_f = F_HI[i_i];
  let b_turns = fract(f32(i_p >> 12u) * 4096.0 * b_f) + fract(f32(i_p & 4095u) * b_f) + fract(f32(i_p) * F_LO[i_i]);
  let b_a = TWO_PI * fract(b_turns);
  let b_c = cos(b_a);
  let b_s = sin(b_a);
  let o_x = i_row * D + i_i;
  let b_x1 = x[o_x];
  let b_x2 = x[o_x + HALF];
  out[o_x] = b_x1 * b_c - b_x2 * b_s;
  out[o_x + HALF] = b_x2 * b_c + b_x1 * b_s;
}
