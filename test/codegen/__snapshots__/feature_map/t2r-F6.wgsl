// L0.attn.q_t2r-F6: feature map t2r per head: x [N, H, K] -> phi(x) [N, H, KP]; one invocation per (token, head)
//   @binding(0) x: in  f32[56]
//   @binding(1) w: in  f32[48]
//   @binding(2) bias: in  f32[12]
//   @binding(3) out: out f32[84]
// dispatch: ceil(N*H/32) = (1, 1, 1) workgroups of 32x1x1

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const ROWS: u32 = 14u;
const H: u32 = 2u;
const K: u32 = 4u;
const KP: u32 = 6u;
const F: u32 = 6u;

@compute @workgroup_size(32, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_row = gid.x;
  if (i_row >= ROWS) { return; }
  let i_h = i_row % H;
  let o_out = i_row * KP;
  let n_K = select(K, 0u, gid.z == 0xffffffffu);
  var b_x: array<f32, K>;
  for (var i_i = 0u; i_i < n_K; i_i++) {
    b_x[i_i] = x[i_row * K + i_i];
  }
  // relu(x W_h + b_h)
  for (var i_f = 0u; i_f < F; i_f++) {
    var b_y = bias[i_h * F + i_f];
    for (var i_i = 0u; i_i < n_K; i_i++) {
      b_y += b_x[i_i] * w[(i_h * K + i_i) * F + i_f];
    }
    out[o_out + i_f] = max(b_y, 0.0);
  }
}
