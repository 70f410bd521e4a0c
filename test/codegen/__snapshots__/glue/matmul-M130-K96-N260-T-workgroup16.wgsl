// mm.M130-K96-N260-T: out[M, N] = x[M, K] · transpose(w[N, K]); 16x16 output tiles staged through workgroup memory
//   @binding(0) x: in  f32[12480]
//   @binding(1) w: in  f32[24960]
//   @binding(2) out: out f32[33800]
// dispatch: ceil(M/16)*ceil(N/16) = (153, 1, 1) workgroups of 16x16x1

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

const M: u32 = 130u;
const K: u32 = 96u;
const N: u32 = 260u;
const TS: u32 = 16u;
const TILES_N: u32 = 17u;
const TILES: u32 = 153u;

var<workgroup> s_x: array<array<f32, TS>, TS>;
var<workgroup> s_w: array<array<f32, TS>, TS>;

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let i_tile = wid.x;
  let i_m = (i_tile / TILES_N) * TS + lid.y;
  let i_n = (i_tile % TILES_N) * TS + lid.x;
  // Rows and columns past the edge load clamped (valid) data and are not stored.
  let o_x = min(i_m, M - 1u) * K;
  let i_nw = (i_tile % TILES_N) * TS + lid.y;
  let i_nwc = min(i_nw, N - 1u);
  var b_acc = 0.0;
  for (var i_k0 = 0u; i_k0 < K; i_k0 += TS) {
    let i_kx = i_k0 + lid.x;
    s_x[lid.y][lid.x] = x[o_x + i_kx];
    s_w[lid.x][lid.y] = w[i_nwc * K + i_kx];
    workgroupBarrier();
    for (var i_kk = 0u; i_kk < TS; i_kk++) {
      b_acc += s_x[lid.y][i_kk] * s_w[i_kk][lid.x];
    }
    workgroupBarrier();
  }
  if (i_m < M && i_n < N) { out[i_m * N + i_n] = b_acc; }
}
