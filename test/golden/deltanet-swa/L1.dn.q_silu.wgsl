// L1.dn.q_silu: out_0[M, N] = epilogue(rmsnorm(x[M, K], g) · w_0[K, N]), epilogue silu(x0) with x0 the product; out_1[M, N] = epilogue(rmsnorm(x[M, K], g) · w_1[K, N]), epilogue silu(x0) with x0 the product; out_2[M, N] = rmsnorm(x[M, K], g) · w_2[K, N]; one invocation per 4x4 output tile, vec4 register accumulators, no barriers
//   @binding(0) x: in  f32[1024]
//   @binding(1) g: in  f32[64]
//   @binding(2) w_0: in  f32[4096] read as vec4<f32>
//   @binding(3) out_0: out f32[1024]
//   @binding(4) w_1: in  f32[4096] read as vec4<f32>
//   @binding(5) out_1: out f32[1024]
//   @binding(6) w_2: in  f32[4096] read as vec4<f32>
//   @binding(7) out_2: out f32[1024]
// dispatch: ceil(sum over 3 products of ceil(M/4)*ceil(N/4)/64) = (3, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> w_0: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out_0: array<f32>;
@group(0) @binding(4) var<storage, read> w_1: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> out_1: array<f32>;
@group(0) @binding(6) var<storage, read> w_2: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> out_2: array<f32>;

const M: u32 = 16u;
const K: u32 = 64u;
const ITEMS: u32 = 192u;
const EPS: f32 = 0.00001;

fn silu(x: f32) -> f32 {
  return x / (1.0 + exp(-x));
}

fn epilogue_0(i: u32, acc: f32) -> f32 {
  let x0 = acc;
  return silu(x0);
}

fn product_0(i_tile: u32) {
  const N = 64u;
  const TILES_N = 16u;
  const TILES = 64u;
  let i_m = (i_tile / TILES_N) * 4u;
  let i_n = (i_tile % TILES_N) * 4u;
  let o_x0 = i_m * K;
  let o_x1 = (i_m + 1u) * K;
  let o_x2 = (i_m + 2u) * K;
  let o_x3 = (i_m + 3u) * K;
  var b_acc0 = vec4<f32>();
  var b_acc1 = vec4<f32>();
  var b_acc2 = vec4<f32>();
  var b_acc3 = vec4<f32>();
  var b_ss = vec4<f32>();
  for (var i_k = 0u; i_k < K; i_k++) {
    let o_w = (i_k * N + i_n) / 4u;
    let b_w = w_0[o_w];
    let b_x = vec4<f32>(x[o_x0 + i_k], x[o_x1 + i_k], x[o_x2 + i_k], x[o_x3 + i_k]);
    b_ss += b_x * b_x;
    let b_xg = b_x * g[i_k];
    b_acc0 += b_xg.x * b_w;
    b_acc1 += b_xg.y * b_w;
    b_acc2 += b_xg.z * b_w;
    b_acc3 += b_xg.w * b_w;
  }
  let b_rs = inverseSqrt(b_ss / f32(K) + EPS);
  let o_out0 = i_m * N + i_n;
  out_0[o_out0] = epilogue_0(o_out0, b_acc0.x * b_rs.x);
  out_0[o_out0 + 1u] = epilogue_0(o_out0 + 1u, b_acc0.y * b_rs.x);
  out_0[o_out0 + 2u] = epilogue_0(o_out0 + 2u, b_acc0.z * b_rs.x);
  out_0[o_out0 + 3u] = epilogue_0(o_out0 + 3u, b_acc0.w * b_rs.x);
  let o_out1 = (i_m + 1u) * N + i_n;
  out_0[o_out1] = epilogue_0(o_out1, b_acc1.x * b_rs.y);
  out_0[o_out1 + 1u] = epilogue_0(o_out1 + 1u, b_acc1.y * b_rs.y);
  out_0[o_out1 + 2u] = epilogue_0(o_out1 + 2u, b_acc1.z * b_rs.y);
  out_0[o_out1 + 3u] = epilogue_0(o_out1 + 3u, b_acc1.w * b_rs.y);
  let o_out2 = (i_m + 2u) * N + i_n;
  out_0[o_out2] = epilogue_0(o_out2, b_acc2.x * b_rs.z);
  out_0[o_out2 + 1u] = epilogue_0(o_out2 + 1u, b_acc2.y * b_rs.z);
  out_0[o_out2 + 2u] = epilogue_0(o_out2 + 2u, b_acc2.z * b_rs.z);
  out_0[o_out2 + 3u] = epilogue_0(o_out2 + 3u, b_acc2.w * b_rs.z);
  let o_out3 = (i_m + 3u) * N + i_n;
  out_0[o_out3] = epilogue_0(o_out3, b_acc3.x * b_rs.w);
  out_0[o_out3 + 1u] = epilogue_0(o_out3 + 1u, b_acc3.y * b_rs.w);
  out_0[o_out3 + 2u] = epilogue_0(o_out3 + 2u, b_acc3.z * b_rs.w);
  out_0[o_out3 + 3u] = epilogue_0(o_out3 + 3u, b_acc3.w * b_rs.w);
}

fn epilogue_1(i: u32, acc: f32) -> f32 {
  let x0 = acc;
  return silu(x0);
}

fn product_1(i_tile: u32) {
  const N = 64u;
  const TILES_N = 16u;
  const TILES = 64u;
  let i_m = (i_tile / TILES_N) * 4u;
  let i_n = (i_tile % TILES_N) * 4u;
  let o_x0 = i_m * K;
  let o_x1 = (i_m + 1u) * K;
  let o_x2 = (i_m + 2u) * K;
  let o_x3 = (i_m + 3u) * K;
  var b_acc0 = vec4<f32>();
  var b_acc1 = vec4<f32>();
  var b_acc2 = vec4<f32>();
  var b_acc3 = vec4<f32>();
  var b_ss = vec4<f32>();
  for (var i_k = 0u; i_k < K; i_k++) {
    let o_w = (i_k * N + i_n) / 4u;
    let b_w = w_1[o_w];
    let b_x = vec4<f32>(x[o_x0 + i_k], x[o_x1 + i_k], x[o_x2 + i_k], x[o_x3 + i_k]);
    b_ss += b_x * b_x;
    let b_xg = b_x * g[i_k];
    b_acc0 += b_xg.x * b_w;
    b_acc1 += b_xg.y * b_w;
    b_acc2 += b_xg.z * b_w;
    b_acc3 += b_xg.w * b_w;
  }
  let b_rs = inverseSqrt(b_ss / f32(K) + EPS);
  let o_out0 = i_m * N + i_n;
  out_1[o_out0] = epilogue_1(o_out0, b_acc0.x * b_rs.x);
  out_1[o_out0 + 1u] = epilogue_1(o_out0 + 1u, b_acc0.y * b_rs.x);
  out_1[o_out0 + 2u] = epilogue_1(o_out0 + 2u, b_acc0.z * b_rs.x);
  out_1[o_out0 + 3u] = epilogue_1(o_out0 + 3u, b_acc0.w * b_rs.x);
  let o_out1 = (i_m + 1u) * N + i_n;
  out_1[o_out1] = epilogue_1(o_out1, b_acc1.x * b_rs.y);
  out_1[o_out1 + 1u] = epilogue_1(o_out1 + 1u, b_acc1.y * b_rs.y);
  out_1[o_out1 + 2u] = epilogue_1(o_out1 + 2u, b_acc1.z * b_rs.y);
  out_1[o_out1 + 3u] = epilogue_1(o_out1 + 3u, b_acc1.w * b_rs.y);
  let o_out2 = (i_m + 2u) * N + i_n;
  out_1[o_out2] = epilogue_1(o_out2, b_acc2.x * b_rs.z);
  out_1[o_out2 + 1u] = epilogue_1(o_out2 + 1u, b_acc2.y * b_rs.z);
  out_1[o_out2 + 2u] = epilogue_1(o_out2 + 2u, b_acc2.z * b_rs.z);
  out_1[o_out2 + 3u] = epilogue_1(o_out2 + 3u, b_acc2.w * b_rs.z);
  let o_out3 = (i_m + 3u) * N + i_n;
  out_1[o_out3] = epilogue_1(o_out3, b_acc3.x * b_rs.w);
  out_1[o_out3 + 1u] = epilogue_1(o_out3 + 1u, b_acc3.y * b_rs.w);
  out_1[o_out3 + 2u] = epilogue_1(o_out3 + 2u, b_acc3.z * b_rs.w);
  out_1[o_out3 + 3u] = epilogue_1(o_out3 + 3u, b_acc3.w * b_rs.w);
}

fn product_2(i_tile: u32) {
  const N = 64u;
  const TILES_N = 16u;
  const TILES = 64u;
  let i_m = (i_tile / TILES_N) * 4u;
  let i_n = (i_tile % TILES_N) * 4u;
  let o_x0 = i_m * K;
  let o_x1 = (i_m + 1u) * K;
  let o_x2 = (i_m + 2u) * K;
  let o_x3 = (i_m + 3u) * K;
  var b_acc0 = vec4<f32>();
  var b_acc1 = vec4<f32>();
  var b_acc2 = vec4<f32>();
  var b_acc3 = vec4<f32>();
  var b_ss = vec4<f32>();
  for (var i_k = 0u; i_k < K; i_k++) {
    let o_w = (i_k * N + i_n) / 4u;
    let b_w = w_2[o_w];
    let b_x = vec4<f32>(x[o_x0 + i_k], x[o_x1 + i_k], x[o_x2 + i_k], x[o_x3 + i_k]);
    b_ss += b_x * b_x;
    let b_xg = b_x * g[i_k];
    b_acc0 += b_xg.x * b_w;
    b_acc1 += b_xg.y * b_w;
    b_acc2 += b_xg.z * b_w;
    b_acc3 += b_xg.w * b_w;
  }
  let b_rs = inverseSqrt(b_ss / f32(K) + EPS);
  let o_out0 = i_m * N + i_n;
  out_2[o_out0] = b_acc0.x * b_rs.x;
  out_2[o_out0 + 1u] = b_acc0.y * b_rs.x;
  out_2[o_out0 + 2u] = b_acc0.z * b_rs.x;
  out_2[o_out0 + 3u] = b_acc0.w * b_rs.x;
  let o_out1 = (i_m + 1u) * N + i_n;
  out_2[o_out1] = b_acc1.x * b_rs.y;
  out_2[o_out1 + 1u] = b_acc1.y * b_rs.y;
  out_2[o_out1 + 2u] = b_acc1.z * b_rs.y;
  out_2[o_out1 + 3u] = b_acc1.w * b_rs.y;
  let o_out2 = (i_m + 2u) * N + i_n;
  out_2[o_out2] = b_acc2.x * b_rs.z;
  out_2[o_out2 + 1u] = b_acc2.y * b_rs.z;
  out_2[o_out2 + 2u] = b_acc2.z * b_rs.z;
  out_2[o_out2 + 3u] = b_acc2.w * b_rs.z;
  let o_out3 = (i_m + 3u) * N + i_n;
  out_2[o_out3] = b_acc3.x * b_rs.w;
  out_2[o_out3 + 1u] = b_acc3.y * b_rs.w;
  out_2[o_out3 + 2u] = b_acc3.z * b_rs.w;
  out_2[o_out3 + 3u] = b_acc3.w * b_rs.w;
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_tile = gid.x;
  if (i_tile < 64u) { product_0(i_tile); }
  else if (i_tile < 128u) { product_1(i_tile - 64u); }
  else { product_2(i_tile - 128u); }
}
