// L0.attn.rope_scan: angles[b,t,g,i] = fract(s0[b,g,i] + sum_{s<=t} x[b,s,g] * theta^(-2i/D) / 2pi), in turns (Selective RoPE)
//   @binding(0) x: in  f32[68]
//   @binding(1) s0: in  f32[32]
//   @binding(2) out: out f32[544]
// dispatch: ceil(B*G*D/2/64) = (1, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> s0: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

const T: u32 = 17u;
const G: u32 = 2u;
const HALF: u32 = 8u;
const N: u32 = 32u;

const FREQ = array<f32, HALF>(0.15915494, 0.050329212, 0.015915494, 0.005032921, 0.0015915495, 0.00050329213, 0.00015915494, 0.00005032921);

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_el = gid.x;
  if (i_el >= N) { return; }
  let i_i = i_el % HALF;
  let g = (i_el / HALF) % G;
  let bb = i_el / (HALF * G);
  var acc = s0[i_el];
  for (var t = 0u; t < T; t++) {
    acc = fract(acc + x[(bb * T + t) * G + g] * FREQ[i_i]);
    out[((bb * T + t) * G + g) * HALF + i_i] = acc;
  }
}
