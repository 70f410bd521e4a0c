// L0.attn.project: y[b,j,c] = sum_{t<T} E[j,t] x[b,t,c] (the learned projection along T, its first T columns)
//   @binding(0) x: in  f32[1024]
//   @binding(1) e: in  f32[2048]
//   @binding(2) y: out f32[1024]
// dispatch: ceil(B*P*C/64) = (16, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> e: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

const T: u32 = 16u;
const P: u32 = 16u;
const C: u32 = 64u;
const MAX_LEN: u32 = 128u;
const THREADS: u32 = 1024u;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_thread = gid.x;
  let n_T = select(T, 0u, gid.z == 0xffffffffu);
  let i_c = i_thread % C;
  let i_j = (i_thread / C) % P;
  let i_b = i_thread / (C * P);
  var b_y = 0.0;
  for (var t = 0u; t < n_T; t++) {
    b_y += e[i_j * MAX_LEN + t] * x[(i_b * T + t) * C + i_c];
  }
  y[i_thread] = b_y;
}
