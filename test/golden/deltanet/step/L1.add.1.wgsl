// L1.add.1: out[M, N] = epilogue(x[M, K] · w[K, N]); one invocation per 4x4 output tile, vec4 register accumulators, no barriers; epilogue x1 + x0 with x0 the product
//   @binding(0) x: in  f32[128]
//   @binding(1) w: in  f32[8192] read as vec4<f32>
//   @binding(2) in1: in  f32[64]
//   @binding(3) out: out f32[64]
// dispatch: ceil(ceil(M/4)*ceil(N/4)/64) = (1, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> in1: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const M: u32 = 1u;
const K: u32 = 128u;
const N: u32 = 64u;
const TILES_N: u32 = 16u;
const TILES: u32 = 16u;

fn epilogue(i: u32, acc: f32) -> f32 {
  let x0 = acc;
  let x1 = in1[i];
  return x1 + x0;
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_tile = gid.x;
  if (i_tile >= TILES) { return; }
  let i_m = (i_tile / TILES_N) * 4u;
  let i_n = (i_tile % TILES_N) * 4u;
  let o_x0 = i_m * K;
  var b_acc0 = vec4<f32>();
  for (var i_k = 0u; i_k < K; i_k++) {
    let o_w = (i_k * N + i_n) / 4u;
    let b_w = w[o_w];
    b_acc0 += x[o_x0 + i_k] * b_w;
  }
  let o_out0 = i_m * N + i_n;
  out[o_out0] = epilogue(o_out0, b_acc0.x);
  out[o_out0 + 1u] = epilogue(o_out0 + 1u, b_acc0.y);
  out[o_out0 + 2u] = epilogue(o_out0 + 2u, b_acc0.z);
  out[o_out0 + 3u] = epilogue(o_out0 + 3u, b_acc0.w);
}
