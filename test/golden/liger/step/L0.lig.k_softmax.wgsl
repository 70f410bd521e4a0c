// L0.lig.k_softmax: out[m, :] = softmax(x[m, :]) over groups of D; one invocation per group
//   @binding(0) x: in  f32[64]
//   @binding(1) out: out f32[64]
// dispatch: ceil(M/32) = (1, 1, 1) workgroups of 32x1x1

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

const M: u32 = 2u;
const D: u32 = 32u;

@compute @workgroup_size(32, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_row = gid.x;
  if (i_row >= M) { return; }
  let o_row = i_row * D;
  var b_m = -3.0e38;
  for (var i_d = 0u; i_d < D; i_d++) {
    b_m = max(b_m, x[o_row + i_d]);
  }
  var b_sum = 0.0;
  for (var i_d = 0u; i_d < D; i_d++) {
    b_sum += exp(x[o_row + i_d] - b_m);
  }
  let b_inv = 1.0 / b_sum;
  for (var i_d = 0u; i_d < D; i_d++) {
    out[o_row + i_d] = exp(x[o_row + i_d] - b_m) * b_inv;
  }
}
