// L0.attn.py: Y[b,h,r,c] = sum_j P[b,h,r,j] Z[b,h,j,c]
//   @binding(0) pinv: in  f32[128]
//   @binding(1) z: in  f32[512]
//   @binding(2) y: out f32[512]
// dispatch: ceil(B*H*M*D/64) = (8, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> pinv: array<f32>;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

const T: u32 = 16u;
const H: u32 = 2u;
const D: u32 = 32u;
const M: u32 = 8u;
const THREADS: u32 = 512u;
const SCALE: f32 = 0.4204482;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_thread = gid.x;
  let n_D = select(D, 0u, gid.z == 0xffffffffu);
  let n_M = select(M, 0u, gid.z == 0xffffffffu);
  let i_c = i_thread % D;
  let i_r = (i_thread / D) % M;
  let i_bh = i_thread / (D * M);
  var b_y = 0.0;
  for (var j = 0u; j < n_M; j++) {
    b_y += pinv[(i_bh * M + i_r) * M + j] * z[(i_bh * M + j) * D + i_c];
  }
  y[i_thread] = b_y;
}
