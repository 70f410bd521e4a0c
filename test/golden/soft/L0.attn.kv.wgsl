// L0.attn.kv: Z[b,h,r,c] = sum_t G(L_r, k_t) v[t, c]
//   @binding(0) lmk: in  f32[512]
//   @binding(1) k: in  f32[1024]
//   @binding(2) v: in  f32[1024]
//   @binding(3) z: out f32[512]
// dispatch: ceil(B*H*M*D/64) = (8, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> lmk: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read_write> z: array<f32>;

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
  let i_c = i_thread % D;
  let i_r = (i_thread / D) % M;
  let i_h = (i_thread / (D * M)) % H;
  let i_b = i_thread / (D * M * H);
  let o_l = ((i_b * H + i_h) * M + i_r) * D;
  let n_T = select(T, 0u, gid.z == 0xffffffffu);
  var b_z = 0.0;
  for (var t = 0u; t < n_T; t++) {
    let o_t = ((i_b * T + t) * H + i_h) * D;
    var b_g = 0.0;
    for (var d = 0u; d < n_D; d++) {
      let b_diff = lmk[o_l + d] - k[o_t + d];
      b_g += b_diff * b_diff;
    }
    b_g = exp(-0.5 * SCALE * SCALE * b_g);
    b_z += b_g * v[o_t + i_c];
  }
  z[i_thread] = b_z;
}
