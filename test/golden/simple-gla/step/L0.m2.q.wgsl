// L0.m2.q: out_0[M, N] = rmsnorm(x[M, K], g) · w_0[K, N]; out_1[M, N] = rmsnorm(x[M, K], g) · w_1[K, N]; out_2[M, N] = rmsnorm(x[M, K], g) · w_2[K, N]; one invocation per 4x4 output tile, vec4 register accumulators, no barriers
//   @binding(0) x: in  f32[64]
//   @binding(1) g: in  f32[64]
//   @binding(2) w_0: in  f32[4096] read as vec4<f32>
//   @binding(3) out_0: out f32[64]
//   @binding(4) w_1: in  f32[4096] read as vec4<f32>
//   @binding(5) out_1: out f32[64]
//   @binding(6) w_2: in  f32[4096] read as vec4<f32>
//   @binding(7) out_2: out f32[64]
// dispatch: ceil(sum over 3 products of ceil(M/4)*ceil(N/4)/64) = (1, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> w_0: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out_0: array<f32>;
@group(0) @binding(4) var<storage, read> w_1: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> out_1: array<f32>;
@group(0) @binding(6) var<storage, read> w_2: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> out_2: array<f32>;

const M: u32 = 1u;
const K: u32 = 64u;
const ITEMS: u32 = 48u;
const EPS: f32 = 0.00001;

fn product_0(i_tile: u32) {
  const N = 64u;
  const TILES_N = 16u;
  const TILES = 16u;
  let i_m = (i_tile / TILES_N) * 4u;
  let i_n = (i_tile % TILES_N) * 4u;
  let o_x0 = i_m * K;
  var b_acc0 = vec4<f32>();
  var b_ss = vec4<f32>();
  for (var i_k = 0u; i_k < K; i_k++) {
    let o_w = (i_k * N + i_n) / 4u;
    let b_w = w_0[o_w];
    let b_x = vec4<f32>(x[o_x0 + i_k], 0.0, 0.0, 0.0);
    b_ss += b_x * b_x;
    let b_xg = b_x * g[i_k];
    b_acc0 += b_xg.x * b_w;
  }
  let b_rs = inverseSqrt(b_ss / f32(K) + EPS);
  let o_out0 = i_m * N + i_n;
  out_0[o_out0] = b_acc0.x * b_rs.x;
  out_0[o_out0 + 1u] = b_acc0.y * b_rs.x;
  out_0[o_out0 + 2u] = b_acc0.z * b_rs.x;
  out_0[o_out0 + 3u] = b_acc0.w * b_rs.x;
}

fn product_1(i_tile: u32) {
  const N = 64u;
  const TILES_N = 16u;
  const TILES = 16u;
  let i_m = (i_tile / TILES_N) * 4u;
  let i_n = (i_tile % TILES_N) * 4u;
  let o_x0 = i_m * K;
  var b_acc0 = vec4<f32>();
  var b_ss = vec4<f32>();
  for (var i_k = 0u; i_k < K; i_k++) {
    let o_w = (i_k * N + i_n) / 4u;
    let b_w = w_1[o_w];
    let b_x = vec4<f32>(x[o_x0 + i_k], 0.0, 0.0, 0.0);
    b_ss += b_x * b_x;
    let b_xg = b_x * g[i_k];
    b_acc0 += b_xg.x * b_w;
  }
  let b_rs = inverseSqrt(b_ss / f32(K) + EPS);
  let o_out0 = i_m * N + i_n;
  out_1[o_out0] = b_acc0.x * b_rs.x;
  out_1[o_out0 + 1u] = b_acc0.y * b_rs.x;
  out_1[o_out0 + 2u] = b_acc0.z * b_rs.x;
  out_1[o_out0 + 3u] = b_acc0.w * b_rs.x;
}

fn product_2(i_tile: u32) {
  const N = 64u;
  const TILES_N = 16u;
  const TILES = 16u;
  let i_m = (i_tile / TILES_N) * 4u;
  let i_n = (i_tile % TILES_N) * 4u;
  let o_x0 = i_m * K;
  var b_acc0 = vec4<f32>();
  var b_ss = vec4<f32>();
  for (var i_k = 0u; i_k < K; i_k++) {
    let o_w = (i_k * N + i_n) / 4u;
    let b_w = w_2[o_w];
    let b_x = vec4<f32>(x[o_x0 + i_k], 0.0, 0.0, 0.0);
    b_ss += b_x * b_x;
    let b_xg = b_x * g[i_k];
    b_acc0 += b_xg.x * b_w;
  }
  let b_rs = inverseSqrt(b_ss / f32(K) + EPS);
  let o_out0 = i_m * N + i_n;
  out_2[o_out0] = b_acc0.x * b_rs.x;
  out_2[o_out0 + 1u] = b_acc0.y * b_rs.x;
  out_2[o_out0 + 2u] = b_acc0.z * b_rs.x;
  out_2[o_out0 + 3u] = b_acc0.w * b_rs.x;
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_tile = gid.x;
  if (i_tile >= ITEMS) { return; }
  if (i_tile < 16u) { product_0(i_tile); }
  else if (i_tile < 32u) { product_1(i_tile - 16u); }
  else { product_2(i_tile - 32u); }
}
