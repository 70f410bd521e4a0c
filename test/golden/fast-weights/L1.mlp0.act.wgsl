// L1.mlp0.act: out[M, N] = epilogue(rmsnorm(x[M, K], g) · w[K, N] and rmsnorm(x[M, K], g) · w2[K, N]); one invocation per 4x4 output tile, vec4 register accumulators, no barriers; epilogue silu(x0) * x1 with x0 the product, x1 the second
//   @binding(0) x: in  f32[1536]
//   @binding(1) g: in  f32[96]
//   @binding(2) w: in  f32[24576] read as vec4<f32>
//   @binding(3) w2: in  f32[24576] read as vec4<f32>
//   @binding(4) out: out f32[4096]
// dispatch: ceil(ceil(M/4)*ceil(N/4)/64) = (4, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> w2: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

const M: u32 = 16u;
const K: u32 = 96u;
const N: u32 = 256u;
const TILES_N: u32 = 64u;
const TILES: u32 = 256u;
const EPS: f32 = 0.00001;

fn silu(x: f32) -> f32 {
  return x / (1.0 + exp(-x));
}

fn epilogue(i: u32, acc: f32, acc2: f32) -> f32 {
  let x0 = acc;
  let x1 = acc2;
  return silu(x0) * x1;
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_tile = gid.x;
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
  var b_sec0 = vec4<f32>();
  var b_sec1 = vec4<f32>();
  var b_sec2 = vec4<f32>();
  var b_sec3 = vec4<f32>();
  var b_ss = vec4<f32>();
  for (var i_k = 0u; i_k < K; i_k++) {
    let o_w = (i_k * N + i_n) / 4u;
    let b_w = w[o_w];
    let b_w2 = w2[o_w];
    let b_x = vec4<f32>(x[o_x0 + i_k], x[o_x1 + i_k], x[o_x2 + i_k], x[o_x3 + i_k]);
    b_ss += b_x * b_x;
    let b_xg = b_x * g[i_k];
    b_acc0 += b_xg.x * b_w;
    b_acc1 += b_xg.y * b_w;
    b_acc2 += b_xg.z * b_w;
    b_acc3 += b_xg.w * b_w;
    b_sec0 += b_xg.x * b_w2;
    b_sec1 += b_xg.y * b_w2;
    b_sec2 += b_xg.z * b_w2;
    b_sec3 += b_xg.w * b_w2;
  }
  let b_rs = inverseSqrt(b_ss / f32(K) + EPS);
  let o_out0 = i_m * N + i_n;
  out[o_out0] = epilogue(o_out0, b_acc0.x * b_rs.x, b_sec0.x * b_rs.x);
  out[o_out0 + 1u] = epilogue(o_out0 + 1u, b_acc0.y * b_rs.x, b_sec0.y * b_rs.x);
  out[o_out0 + 2u] = epilogue(o_out0 + 2u, b_acc0.z * b_rs.x, b_sec0.z * b_rs.x);
  out[o_out0 + 3u] = epilogue(o_out0 + 3u, b_acc0.w * b_rs.x, b_sec0.w * b_rs.x);
  let o_out1 = (i_m + 1u) * N + i_n;
  out[o_out1] = epilogue(o_out1, b_acc1.x * b_rs.y, b_sec1.x * b_rs.y);
  out[o_out1 + 1u] = epilogue(o_out1 + 1u, b_acc1.y * b_rs.y, b_sec1.y * b_rs.y);
  out[o_out1 + 2u] = epilogue(o_out1 + 2u, b_acc1.z * b_rs.y, b_sec1.z * b_rs.y);
  out[o_out1 + 3u] = epilogue(o_out1 + 3u, b_acc1.w * b_rs.y, b_sec1.w * b_rs.y);
  let o_out2 = (i_m + 2u) * N + i_n;
  out[o_out2] = epilogue(o_out2, b_acc2.x * b_rs.z, b_sec2.x * b_rs.z);
  out[o_out2 + 1u] = epilogue(o_out2 + 1u, b_acc2.y * b_rs.z, b_sec2.y * b_rs.z);
  out[o_out2 + 2u] = epilogue(o_out2 + 2u, b_acc2.z * b_rs.z, b_sec2.z * b_rs.z);
  out[o_out2 + 3u] = epilogue(o_out2 + 3u, b_acc2.w * b_rs.z, b_sec2.w * b_rs.z);
  let o_out3 = (i_m + 3u) * N + i_n;
  out[o_out3] = epilogue(o_out3, b_acc3.x * b_rs.w, b_sec3.x * b_rs.w);
  out[o_out3 + 1u] = epilogue(o_out3 + 1u, b_acc3.y * b_rs.w, b_sec3.y * b_rs.w);
  out[o_out3 + 2u] = epilogue(o_out3 + 2u, b_acc3.z * b_rs.w, b_sec3.z * b_rs.w);
  out[o_out3 + 3u] = epilogue(o_out3 + 3u, b_acc3.w * b_rs.w, b_sec3.w * b_rs.w);
}
