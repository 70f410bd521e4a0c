// L1.attn.q_taylor: feature map taylor per head: x [N, H, K] -> phi(x) [N, H, KP]; one invocation per (token, head)
//   @binding(0) x: in  f32[1024]
//   @binding(1) out: out f32[9792]
// dispatch: ceil(N*H/32) = (2, 1, 1) workgroups of 32x1x1

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

const ROWS: u32 = 64u;
const H: u32 = 4u;
const K: u32 = 16u;
const KP: u32 = 153u;
const SQRT_C: f32 = 0.5;
const DIAG: f32 = 0.17677669;
const OFF: f32 = 0.25;

@compute @workgroup_size(32, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_row = gid.x;
  let o_out = i_row * KP;
  let n_K = select(K, 0u, gid.z == 0xffffffffu);
  var b_x: array<f32, K>;
  for (var i_i = 0u; i_i < n_K; i_i++) {
    b_x[i_i] = x[i_row * K + i_i];
  }
  // [1, sqrt(c) x, c x_i^2 / sqrt2, c x_i x_j (i < j)]
  out[o_out] = 1.0;
  for (var i_i = 0u; i_i < n_K; i_i++) {
    out[o_out + 1u + i_i] = SQRT_C * b_x[i_i];
  }
  var o_p = o_out + 1u + K;
  for (var i_i = 0u; i_i < n_K; i_i++) {
    out[o_p] = DIAG * b_x[i_i] * b_x[i_i];
    o_p++;
    for (var i_j = i_i + 1u; i_j < n_K; i_j++) {
      out[o_p] = OFF * b_x[i_i] * b_x[i_j];
      o_p++;
    }
  }
}
