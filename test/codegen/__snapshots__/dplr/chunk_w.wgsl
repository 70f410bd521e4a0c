// L0.x.chunk_w: W = (I - Aab)^-1 AG by forward substitution in chunks of C = 8
//   @binding(0) dec: in  f32[1280]
//   @binding(1) mats: in  f32[2560]
//   @binding(2) wk: out f32[320]
// dispatch: ceil(B*H*NC*KG/64) = (1, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> dec: array<f32>;
@group(0) @binding(1) var<storage, read> mats: array<f32>;
@group(0) @binding(2) var<storage, read_write> wk: array<f32>;

const B: u32 = 2u;
const T: u32 = 20u;
const H: u32 = 2u;
const K: u32 = 4u;
const V: u32 = 8u;
const KW: u32 = 4u;
const KG: u32 = 1u;
const C: u32 = 8u;
const NC: u32 = 3u;
const N: u32 = 12u;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_thread = gid.x;
  if (i_thread >= N) { return; }
  let n_K = select(K, 0u, gid.z == 0xffffffffu);
  // invocation = (b, h, chunk n, column group)
  let i_g = i_thread % KG;
  let i_bhn = i_thread / KG;
  let i_n = i_bhn % NC;
  let i_bh = i_bhn / NC;
  let i_b = i_bh / H;
  let i_h = i_bh % H;
  let o_col = i_g * KW;
  let o_t0 = i_n * C;
  // W_r = ag_r + sum_{s<r} Aab_rs W_s
  for (var i_r = o_t0; i_r < min(o_t0 + C, T); i_r++) {
    let o_tok = (i_b * T + i_r) * H + i_h;
    let o_row = (i_bh * T + i_r) * 4u;
    var b_x = vec4<f32>(dec[(o_tok * 4u + 1u) * K + o_col], dec[(o_tok * 4u + 1u) * K + o_col + 1u], dec[(o_tok * 4u + 1u) * K + o_col + 2u], dec[(o_tok * 4u + 1u) * K + o_col + 3u]);
    for (var i_s = o_t0; i_s < i_r; i_s++) {
      let o_x = ((i_b * T + i_s) * H + i_h) * K + o_col;
      b_x += mats[(o_row + 3u) * C + i_s - o_t0] * vec4<f32>(wk[o_x], wk[o_x + 1u], wk[o_x + 2u], wk[o_x + 3u]);
    }
    wk[o_tok * K + o_col] = b_x.x;
    wk[o_tok * K + o_col + 1u] = b_x.y;
    wk[o_tok * K + o_col + 2u] = b_x.z;
    wk[o_tok * K + o_col + 3u] = b_x.w;
  }
}
