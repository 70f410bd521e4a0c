// mm.M16-K64-N64-T-residual: out[M, N] = epilogue(x[M, K] · transpose(w[N, K])); 16x16 output tiles staged through workgroup memory; epilogue x1 + x0 with x0 the product
//   @binding(0) x: in  f32[1024]
//   @binding(1) w: in  f32[4096]
//   @binding(2) in1: in  f32[1024]
//   @binding(3) out: out f32[1024]
// dispatch: ceil(M/16)*ceil(N/16) = (4, 1, 1) workgroups of 16x16x1

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> in1: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const M: u32 = 16u;
const K: u32 = 64u;
const N: u32 = 64u;
const TS: u32 = 16u;
const TILES_N: u32 = 4u;
const TILES: u32 = 4u;

var<workgroup> s_x: array<array<f32, TS>, TS>;
var<workgroup> s_w: array<array<f32, TS>, TS>;

fn epilogue(i: u32, acc: f32) -> f32 {
  let x0 = acc;
  let x1 = in1[i];
  return x1 + x0;
}

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let i_tile = wid.x;
  let i_m = (i_tile / TILES_N) * TS + lid.y;
  let i_n = (i_tile % TILES_N) * TS + lid.x;
  let o_x = i_m * K;
  let i_nw = (i_tile % TILES_N) * TS + lid.y;
  var b_acc = 0.0;
  for (var i_k0 = 0u; i_k0 < K; i_k0 += TS) {
    let i_kx = i_k0 + lid.x;
    s_x[lid.y][lid.x] = x[o_x + i_kx];
    s_w[lid.x][lid.y] = w[i_nw * K + i_kx];
    workgroupBarrier();
    for (var i_kk = 0u; i_kk < TS; i_kk++) {
      b_acc += s_x[lid.y][i_kk] * s_w[i_kk][lid.x];
    }
    workgroupBarrier();
  }
  out[i_m * N + i_n] = epilogue(i_m * N + i_n, b_acc);
}
