// L0.attn.gram: A[b,h,r,c] = G(L_r, L_c)
//   @binding(0) lmk: in  f32[512]
//   @binding(1) gram: out f32[128]
// dispatch: ceil(B*H*M*M/64) = (2, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> lmk: array<f32>;
@group(0) @binding(1) var<storage, read_write> gram: array<f32>;

const T: u32 = 16u;
const H: u32 = 2u;
const D: u32 = 32u;
const M: u32 = 8u;
const THREADS: u32 = 128u;
const SCALE: f32 = 0.4204482;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_thread = gid.x;
  let n_D = select(D, 0u, gid.z == 0xffffffffu);
  let i_c = i_thread % M;
  let i_r = (i_thread / M) % M;
  let o_bh = (i_thread / (M * M)) * M * D;
  var b_g = 0.0;
  for (var d = 0u; d < n_D; d++) {
    let b_diff = lmk[o_bh + i_r * D + d] - lmk[o_bh + i_c * D + d];
    b_g += b_diff * b_diff;
  }
  b_g = exp(-0.5 * SCALE * SCALE * b_g);
  gram[i_thread] = b_g;
}
