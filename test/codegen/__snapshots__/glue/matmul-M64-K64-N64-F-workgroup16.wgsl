// mm.M64-K64-N64-F: out[M, N] = x[M, K] · w[K, N]; 16x16 output tiles staged through workgroup memory
//   @binding(0) x: in  f32[4096]
//   @binding(1) w: in  f32[4096]
//   @binding(2) out: out f32[4096]
// dispatch: ceil(M/16)*ceil(N/16) = (16, 1, 1) workgroups of 16x16x1

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

const M: u32 = 64u;
const K: u32 = 64u;
const N: u32 = 64u;
const TS: u32 = 16u;
const TILES_N: u32 = 4u;
const TILES: u32 = 16u;

var<workgroup> s_x: array<array<f32, TS>, TS>;
var<workgroup> s_w: array<array<f32, TS>, TS>;

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let i_tile = wid.x;
  let i_m = (i_tile / TILES_N) * TS + lid.y;
  let i_n = (i_tile % TILES_N) * TS + lid.x;
  let o_x = i_m * K;
  var b_acc = 0.0;
  for (var i_k0 = 0u; i_k0 < K; i_k0 += TS) {
    let i_kx = i_k0 + lid.x;
    let i_kw = i_k0 + lid.y;
    s_x[lid.y][lid.x] = x[o_x + i_kx];
    s_w[lid.y][lid.x] = w[i_kw * N + i_n];
    workgroupBarrier();
    for (var i_kk = 0u; i_kk < TS; i_kk++) {
      b_acc += s_x[lid.y][i_kk] * s_w[i_kk][lid.x];
    }
    workgroupBarrier();
  }
  out[i_m * N + i_n] = b_acc;
}
