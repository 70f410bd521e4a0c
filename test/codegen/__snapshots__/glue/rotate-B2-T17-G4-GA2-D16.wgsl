// L0.attn.q_rope: pairs (i, i + D/2) of each group rotated by 2pi * angles (turns), groups sharing angles G/GA at a time
//   @binding(0) x: in  f32[2176]
//   @binding(1) angles: in  f32[544]
//   @binding(2) out: out f32[2176]
// dispatch: ceil(B*T*G*D/2/64) = (17, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> angles: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

const G: u32 = 4u;
const GA: u32 = 2u;
const SHARE: u32 = 2u;
const D: u32 = 16u;
const HALF: u32 = 8u;
const N: u32 = 1088u;
const TWO_PI: f32 = 6.2831855;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_el = gid.x;
  let i_i = i_el % HALF;
  let g = (i_el / HALF) % G;
  let r = i_el / (HALF * G);
  let turn = angles[(r * GA + g / SHARE) * HALF + i_i];
  // the angle in [-pi, pi), where sin and cos are most accurate
  let a = TWO_PI * (turn - select(0.0, 1.0, turn >= 0.5));
  let c = cos(a);
  let s = sin(a);
  let o_x = (r * G + g) * D + i_i;
  let x1 = x[o_x];
  let x2 = x[o_x + HALF];
  out[o_x] = x1 * c - x2 * s;
  out[o_x + HALF] = x2 * c + x1 * s;
}
