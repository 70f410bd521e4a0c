// L0.norm0: out[m, :] = x[m, :] / sqrt(mean(x[m, :]^2) + EPS) * weight; one invocation per row
//   @binding(0) x: in  f32[1024]
//   @binding(1) weight: in  f32[64]
//   @binding(2) out: out f32[1024]
// dispatch: ceil(M/32) = (1, 1, 1) workgroups of 32x1x1

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

const M: u32 = 16u;
const D: u32 = 64u;
const EPS: f32 = 0.00001;

@compute @workgroup_size(32, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_row = gid.x;
  if (i_row >= M) { return; }
  let o_row = i_row * D;
  var b_sumsq = 0.0;
  for (var i_d = 0u; i_d < D; i_d++) {
    let b_x = x[o_row + i_d];
    b_sumsq += b_x * b_x;
  }
  let b_scale = inverseSqrt(b_sumsq / f32(D) + EPS);
  for (var i_d = 0u; i_d < D; i_d++) {
    out[o_row + i_d] = x[o_row + i_d] * b_scale * weight[i_d];
  }
}
