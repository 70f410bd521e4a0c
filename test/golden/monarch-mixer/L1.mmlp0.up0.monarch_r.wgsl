// L1.mmlp0.up0.monarch_r: u[m NB + i] = sum_j R[m, i, j] x[j NB + m] per channel (x zero past T)
//   @binding(0) x: in  f32[1024]
//   @binding(1) r: in  f32[512]
//   @binding(2) u: out f32[1024]
// dispatch: ceil(B*N*C/64) = (16, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> r: array<f32>;
@group(0) @binding(2) var<storage, read_write> u: array<f32>;

const T: u32 = 64u;
const C: u32 = 1u;
const NB: u32 = 8u;
const N: u32 = 64u;
const THREADS: u32 = 1024u;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_thread = gid.x;
  let n_NB = select(NB, 0u, gid.z == 0xffffffffu);
  let i_c = i_thread % C;
  let i_row = (i_thread / C) % N;
  let i_b = i_thread / (C * N);
  let i_m = i_row / NB;
  let i_i = i_row % NB;
  var b_u = 0.0;
  for (var j = 0u; j < n_NB; j++) {
    let i_t = j * NB + i_m;
    if (i_t < T) { b_u += r[(i_m * NB + i_i) * NB + j] * x[(i_b * T + i_t) * C + i_c]; }
  }
  u[i_thread] = b_u;
}
