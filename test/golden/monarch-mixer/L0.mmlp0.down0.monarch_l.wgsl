// L0.mmlp0.down0.monarch_l: y[k NB + i] = sum_m L[i, k, m] u[m NB + i] per channel, rows < T
//   @binding(0) u: in  f32[1024]
//   @binding(1) l: in  f32[512]
//   @binding(2) y: out f32[1024]
// dispatch: ceil(B*T*C/64) = (16, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> u: array<f32>;
@group(0) @binding(1) var<storage, read> l: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

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
  let i_t = (i_thread / C) % T;
  let i_b = i_thread / (C * T);
  let i_k = i_t / NB;
  let i_i = i_t % NB;
  var b_y = 0.0;
  for (var m = 0u; m < n_NB; m++) {
    b_y += l[(i_i * NB + i_k) * NB + m] * u[(i_b * N + m * NB + i_i) * C + i_c];
  }
  y[i_thread] = b_y;
}
