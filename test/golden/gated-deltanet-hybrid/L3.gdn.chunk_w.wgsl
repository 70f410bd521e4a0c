// L3.gdn.chunk_w: W = A diag(beta exp(G)) K~, A = (I + L)^-1 by forward substitution in chunks of C = 16
//   @binding(0) k: in  f32[1024]
//   @binding(1) beta: in  f32[32]
//   @binding(2) g: in  f32[32]
//   @binding(3) kk: in  f32[512]
//   @binding(4) w: out f32[1024]
// dispatch: ceil(B*H*NC*KG/64) = (1, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> k: array<f32>;
@group(0) @binding(1) var<storage, read> beta: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read> kk: array<f32>;
@group(0) @binding(4) var<storage, read_write> w: array<f32>;

const B: u32 = 1u;
const T: u32 = 16u;
const H: u32 = 2u;
const K: u32 = 32u;
const V: u32 = 32u;
const KW: u32 = 4u;
const KG: u32 = 8u;
const C: u32 = 16u;
const NC: u32 = 1u;
const N: u32 = 16u;

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
  var b_gc = 0.0;
  // X_r = beta_r exp(G_r) k~_r - sum_{s<r} L_rs X_s
  for (var i_r = o_t0; i_r < min(o_t0 + C, T); i_r++) {
    let o_tok = (i_b * T + i_r) * H + i_h;
    b_gc += g[o_tok];
    var b_x = beta[o_tok] * exp(b_gc) * vec4<f32>(k[o_tok * K + o_col], k[o_tok * K + o_col + 1u], k[o_tok * K + o_col + 2u], k[o_tok * K + o_col + 3u]);
    let o_row = (i_bh * T + i_r) * C;
    for (var i_s = o_t0; i_s < i_r; i_s++) {
      let o_x = ((i_b * T + i_s) * H + i_h) * K + o_col;
      b_x -= kk[o_row + i_s - o_t0] * vec4<f32>(w[o_x], w[o_x + 1u], w[o_x + 2u], w[o_x + 3u]);
    }
    w[o_tok * K + o_col] = b_x.x;
    w[o_tok * K + o_col + 1u] = b_x.y;
    w[o_tok * K + o_col + 2u] = b_x.z;
    w[o_tok * K + o_col + 3u] = b_x.w;
  }
}
