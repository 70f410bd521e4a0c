// L1.attn.q_rebased: feature map rebased per head: x [N, H, K] -> phi(x) [N, H, KP]; one invocation per (token, head)
//   @binding(0) x: in  f32[64]
//   @binding(1) gamma: in  f32[16]
//   @binding(2) beta: in  f32[16]
//   @binding(3) out: out f32[544]
// dispatch: ceil(N*H/32) = (1, 1, 1) workgroups of 32x1x1

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> gamma: array<f32>;
@group(0) @binding(2) var<storage, read> beta: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const ROWS: u32 = 4u;
const H: u32 = 4u;
const K: u32 = 16u;
const KP: u32 = 136u;
const DIAG: f32 = 0.25;
const OFF: f32 = 0.35355338;
const EPS: f32 = 0.00001;

@compute @workgroup_size(32, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_row = gid.x;
  if (i_row >= ROWS) { return; }
  let o_out = i_row * KP;
  let n_K = select(K, 0u, gid.z == 0xffffffffu);
  var b_x: array<f32, K>;
  for (var i_i = 0u; i_i < n_K; i_i++) {
    b_x[i_i] = x[i_row * K + i_i];
  }
  var b_mean = 0.0;
  for (var i_i = 0u; i_i < n_K; i_i++) {
    b_mean += b_x[i_i];
  }
  b_mean = b_mean / f32(K);
  var b_var = 0.0;
  for (var i_i = 0u; i_i < n_K; i_i++) {
    let b_c = b_x[i_i] - b_mean;
    b_var += b_c * b_c;
  }
  let b_inv = inverseSqrt(b_var / f32(K) + EPS);
  for (var i_i = 0u; i_i < n_K; i_i++) {
    b_x[i_i] = (b_x[i_i] - b_mean) * b_inv * gamma[i_i] + beta[i_i];
  }
  // [c x_i^2, sqrt2 c x_i x_j (i < j)]
  var o_p = o_out;
  for (var i_i = 0u; i_i < n_K; i_i++) {
    out[o_p] = DIAG * b_x[i_i] * b_x[i_i];
    o_p++;
    for (var i_j = i_i + 1u; i_j < n_K; i_j++) {
      out[o_p] = OFF * b_x[i_i] * b_x[i_j];
      o_p++;
    }
  }
}
