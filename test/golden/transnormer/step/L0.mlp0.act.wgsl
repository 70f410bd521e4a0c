// L0.mlp0.act: out[M, N] = epilogue(rmsnorm(x[M, K], g) · w[K, N] and rmsnorm(x[M, K], g) · w2[K, N]); one invocation per 4x4 output tile, vec4 register accumulators, no barriers; epilogue silu(x0) * x1 with x0 the product, x1 the second
//   @binding(0) x: in  f32[64]
//   @binding(1) g: in  f32[64]
//   @binding(2) w: in  f32[8192] read as vec4<f32>
//   @binding(3) w2: in  f32[8192] read as vec4<f32>
//   @binding(4) out: out f32[128]
// dispatch: ceil(ceil(M/4)*ceil(N/4)/64) = (1, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> w2: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

const M: u32 = 1u;
const K: u32 = 64u;
const N: u32 = 128u;
const TILES_N: u32 = 32u;
const TILES: u32 = 32u;
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
  if (i_tile >= TILES) { return; }
  let i_m = (i_tile / TILES_N) * 4u;
  let i_n = (i_tile % TILES_N) * 4u;
  let o_x0 = i_m * K;
  var b_acc0 = vec4<f32>();
  var b_sec0 = vec4<f32>();
  var b_ss = vec4<f32>();
  for (var i_k = 0u; i_k < K; i_k++) {
    let o_w = (i_k * N + i_n) / 4u;
    let b_w = w[o_w];
    let b_w2 = w2[o_w];
    let b_x = vec4<f32>(x[o_x0 + i_k], 0.0, 0.0, 0.0);
    b_ss += b_x * b_x;
    let b_xg = b_x * g[i_k];
    b_acc0 += b_xg.x * b_w;
    b_sec0 += b_xg.x * b_w2;
  }
  let b_rs = inverseSqrt(b_ss / f32(K) + EPS);
  let o_out0 = i_m * N + i_n;
  out[o_out0] = epilogue(o_out0, b_acc0.x * b_rs.x, b_sec0.x * b_rs.x);
  out[o_out0 + 1u] = epilogue(o_out0 + 1u, b_acc0.y * b_rs.x, b_sec0.y * b_rs.x);
  out[o_out0 + 2u] = epilogue(o_out0 + 2u, b_acc0.z * b_rs.x, b_sec0.z * b_rs.x);
  out[o_out0 + 3u] = epilogue(o_out0 + 3u, b_acc0.w * b_rs.x, b_sec0.w * b_rs.x);
}
