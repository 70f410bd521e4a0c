// lm_head: out[M, N] = rmsnorm(x[M, K], g) · transpose(w[N, K]); one invocation per 4x4 output tile, vec4 register accumulators, no barriers
//   @binding(0) x: in  f32[1024]
//   @binding(1) g: in  f32[64]
//   @binding(2) w: in  f32[16384] read as vec4<f32>
//   @binding(3) out: out f32[4096]
// dispatch: ceil(ceil(M/4)*ceil(N/4)/64) = (4, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const M: u32 = 16u;
const K: u32 = 64u;
const N: u32 = 256u;
const TILES_N: u32 = 64u;
const TILES: u32 = 256u;
const EPS: f32 = 0.00001;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_tile = gid.x;
  let i_m = (i_tile / TILES_N) * 4u;
  let i_n = (i_tile % TILES_N) * 4u;
  let o_x0 = i_m * K;
  let o_x1 = (i_m + 1u) * K;
  let o_x2 = (i_m + 2u) * K;
  let o_x3 = (i_m + 3u) * K;
  let o_w0 = i_n * (K / 4u);
  let o_w1 = (i_n + 1u) * (K / 4u);
  let o_w2 = (i_n + 2u) * (K / 4u);
  let o_w3 = (i_n + 3u) * (K / 4u);
  var b_acc0 = vec4<f32>();
  var b_acc1 = vec4<f32>();
  var b_acc2 = vec4<f32>();
  var b_acc3 = vec4<f32>();
  var b_ss = vec4<f32>();
  for (var i_k = 0u; i_k < K; i_k += 4u) {
    let b_x0 = vec4<f32>(x[o_x0 + i_k], x[o_x0 + i_k + 1u], x[o_x0 + i_k + 2u], x[o_x0 + i_k + 3u]);
    let b_x1 = vec4<f32>(x[o_x1 + i_k], x[o_x1 + i_k + 1u], x[o_x1 + i_k + 2u], x[o_x1 + i_k + 3u]);
    let b_x2 = vec4<f32>(x[o_x2 + i_k], x[o_x2 + i_k + 1u], x[o_x2 + i_k + 2u], x[o_x2 + i_k + 3u]);
    let b_x3 = vec4<f32>(x[o_x3 + i_k], x[o_x3 + i_k + 1u], x[o_x3 + i_k + 2u], x[o_x3 + i_k + 3u]);
    b_ss += vec4<f32>(dot(b_x0, b_x0), dot(b_x1, b_x1), dot(b_x2, b_x2), dot(b_x3, b_x3));
    let b_g = vec4<f32>(g[i_k], g[i_k + 1u], g[i_k + 2u], g[i_k + 3u]);
    let b_w0 = w[o_w0 + i_k / 4u] * b_g;
    let b_w1 = w[o_w1 + i_k / 4u] * b_g;
    let b_w2 = w[o_w2 + i_k / 4u] * b_g;
    let b_w3 = w[o_w3 + i_k / 4u] * b_g;
    b_acc0 += vec4<f32>(dot(b_x0, b_w0), dot(b_x0, b_w1), dot(b_x0, b_w2), dot(b_x0, b_w3));
    b_acc1 += vec4<f32>(dot(b_x1, b_w0), dot(b_x1, b_w1), dot(b_x1, b_w2), dot(b_x1, b_w3));
    b_acc2 += vec4<f32>(dot(b_x2, b_w0), dot(b_x2, b_w1), dot(b_x2, b_w2), dot(b_x2, b_w3));
    b_acc3 += vec4<f32>(dot(b_x3, b_w0), dot(b_x3, b_w1), dot(b_x3, b_w2), dot(b_x3, b_w3));
  }
  let b_rs = inverseSqrt(b_ss / f32(K) + EPS);
  let o_out0 = i_m * N + i_n;
  out[o_out0] = b_acc0.x * b_rs.x;
  out[o_out0 + 1u] = b_acc0.y * b_rs.x;
  out[o_out0 + 2u] = b_acc0.z * b_rs.x;
  out[o_out0 + 3u] = b_acc0.w * b_rs.x;
  let o_out1 = (i_m + 1u) * N + i_n;
  out[o_out1] = b_acc1.x * b_rs.y;
  out[o_out1 + 1u] = b_acc1.y * b_rs.y;
  out[o_out1 + 2u] = b_acc1.z * b_rs.y;
  out[o_out1 + 3u] = b_acc1.w * b_rs.y;
  let o_out2 = (i_m + 2u) * N + i_n;
  out[o_out2] = b_acc2.x * b_rs.z;
  out[o_out2 + 1u] = b_acc2.y * b_rs.z;
  out[o_out2 + 2u] = b_acc2.z * b_rs.z;
  out[o_out2 + 3u] = b_acc2.w * b_rs.z;
  let o_out3 = (i_m + 3u) * N + i_n;
  out[o_out3] = b_acc3.x * b_rs.w;
  out[o_out3 + 1u] = b_acc3.y * b_rs.w;
  out[o_out3 + 2u] = b_acc3.z * b_rs.w;
  out[o_out3 + 3u] = b_acc3.w * b_rs.w;
}
