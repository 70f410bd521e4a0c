// L0.x.chunk_a: Aqk, Aqb, Aak, Aab of each chunk of C = 8 (per-channel decay ratios inside the chunk) and qg, ag, kd, bd
//   @binding(0) q: in  f32[320]
//   @binding(1) k: in  f32[320]
//   @binding(2) a: in  f32[320]
//   @binding(3) b: in  f32[320]
//   @binding(4) gk: in  f32[320]
//   @binding(5) mats: out f32[2560]
//   @binding(6) dec: out f32[1280]
// dispatch: ceil(B*H*T/64) = (2, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read> gk: array<f32>;
@group(0) @binding(5) var<storage, read_write> mats: array<f32>;
@group(0) @binding(6) var<storage, read_write> dec: array<f32>;

const B: u32 = 2u;
const T: u32 = 20u;
const H: u32 = 2u;
const K: u32 = 4u;
const V: u32 = 8u;
const C: u32 = 8u;
const NC: u32 = 3u;
const N: u32 = 80u;
const SCALE: f32 = 0.5;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_thread = gid.x;
  if (i_thread >= N) { return; }
  let n_K = select(K, 0u, gid.z == 0xffffffffu);
  // invocation = (b, h, t): row t of the chunk's matrices and t's decayed vectors
  let i_t = i_thread % T;
  let i_bh = i_thread / T;
  let i_b = i_bh / H;
  let i_h = i_bh % H;
  let o_t0 = (i_t / C) * C;
  let o_t1 = min(o_t0 + C, T);
  let o_tok = (i_b * T + i_t) * H + i_h;
  let o_k = o_tok * K;
  let o_row = (i_bh * T + i_t) * 4u;
  var b_a: array<f32, K>;
  var b_q: array<f32, K>;
  var b_lg: array<f32, K>;
  var b_qk = 0.0;
  var b_qb = 0.0;
  for (var i_i = 0u; i_i < n_K; i_i++) {
    let b_qs = SCALE * q[o_k + i_i];
    b_qk += b_qs * k[o_k + i_i];
    b_qb += b_qs * b[o_k + i_i];
    b_a[i_i] = a[o_k + i_i];
    b_q[i_i] = b_qs * exp(gk[o_k + i_i]);
    b_lg[i_i] = 0.0;
  }
  // s = t: no decay between a token and itself
  mats[(o_row) * C + i_t - o_t0] = b_qk;
  mats[(o_row + 1u) * C + i_t - o_t0] = b_qb;
  // s from t-1 down to the chunk start; b_lg = G_{t-1} - G_s = sum_{u=s+1..t-1} gk_u per channel;
  // b_x = (Aqk, Aqb, Aak, Aab)_ts
  for (var i_j = i_t; i_j > o_t0; i_j--) {
    let o_src = ((i_b * T + i_j - 1u) * H + i_h) * K;
    var b_x = vec4<f32>();
    for (var i_i = 0u; i_i < n_K; i_i++) {
      let b_kb = vec2<f32>(k[o_src + i_i], b[o_src + i_i]) * exp(b_lg[i_i]);
      b_x += vec4<f32>(b_q[i_i] * b_kb, b_a[i_i] * b_kb);
      b_lg[i_i] += gk[o_src + i_i];
    }
    let o_col = i_j - 1u - o_t0;
    mats[(o_row) * C + o_col] = b_x.x;
    mats[(o_row + 1u) * C + o_col] = b_x.y;
    mats[(o_row + 2u) * C + o_col] = b_x.z;
    mats[(o_row + 3u) * C + o_col] = b_x.w;
  }
  // b_lg = G_{t-1}: qg_t = scale q_t exp(G_t), ag_t = a_t exp(G_{t-1})
  for (var i_i = 0u; i_i < n_K; i_i++) {
    let b_e = exp(b_lg[i_i]);
    dec[(o_tok * 4u) * K + i_i] = b_q[i_i] * b_e;
    dec[(o_tok * 4u + 1u) * K + i_i] = b_a[i_i] * b_e;
    b_lg[i_i] = 0.0;
  }
  // b_lg = G_last - G_t = sum_{u=t+1..last} gk_u: kd_t, bd_t
  for (var i_u = i_t + 1u; i_u < o_t1; i_u++) {
    let o_src = ((i_b * T + i_u) * H + i_h) * K;
    for (var i_i = 0u; i_i < n_K; i_i++) {
      b_lg[i_i] += gk[o_src + i_i];
    }
  }
  for (var i_i = 0u; i_i < n_K; i_i++) {
    let b_e = exp(b_lg[i_i]);
    dec[(o_tok * 4u + 2u) * K + i_i] = k[o_k + i_i] * b_e;
    dec[(o_tok * 4u + 3u) * K + i_i] = b[o_k + i_i] * b_e;
  }
}
