// L0.attn.k_hedgehog: feature map hedgehog per head: x [N, H, K] -> phi(x) [N, H, KP]; one invocation per (token, head)
//   @binding(0) x: in  f32[1024]
//   @binding(1) w: in  f32[1024]
//   @binding(2) bias: in  f32[64]
//   @binding(3) out: out f32[2048]
// dispatch: ceil(N*H/32) = (2, 1, 1) workgroups of 32x1x1

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const ROWS: u32 = 64u;
const H: u32 = 4u;
const K: u32 = 16u;
const KP: u32 = 32u;
const F: u32 = 16u;

@compute @workgroup_size(32, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_row = gid.x;
  let i_h = i_row % H;
  let o_out = i_row * KP;
  let n_K = select(K, 0u, gid.z == 0xffffffffu);
  var b_x: array<f32, K>;
  for (var i_i = 0u; i_i < n_K; i_i++) {
    b_x[i_i] = x[i_row * K + i_i];
  }
  // y = x W_h + b_h; phi = softmax([y, -y]) over 2K, shifted by max |y|
  var b_ys: array<f32, K>;
  var b_m = 0.0;
  for (var i_f = 0u; i_f < n_K; i_f++) {
    var b_y = bias[i_h * F + i_f];
    for (var i_i = 0u; i_i < n_K; i_i++) {
      b_y += b_x[i_i] * w[(i_h * K + i_i) * F + i_f];
    }
    b_ys[i_f] = b_y;
    b_m = max(b_m, abs(b_y));
  }
  var b_sum = 0.0;
  for (var i_f = 0u; i_f < n_K; i_f++) {
    b_sum += exp(b_ys[i_f] - b_m) + exp(-b_ys[i_f] - b_m);
  }
  let b_inv = 1.0 / b_sum;
  for (var i_f = 0u; i_f < n_K; i_f++) {
    out[o_out + i_f] = exp(b_ys[i_f] - b_m) * b_inv;
    out[o_out + K + i_f] = exp(-b_ys[i_f] - b_m) * b_inv;
  }
}
