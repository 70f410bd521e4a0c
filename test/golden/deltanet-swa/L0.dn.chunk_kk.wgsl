// L0.dn.chunk_kk: L_ts = beta_t (k~_t . k~_s) for s < t in t's chunk of C = 16, phi = identity, decay none
//   @binding(0) k: in  f32[1024]
//   @binding(1) beta: in  f32[32]
//   @binding(2) kk: out f32[512]
// dispatch: ceil(B*H*T/64) = (1, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> k: array<f32>;
@group(0) @binding(1) var<storage, read> beta: array<f32>;
@group(0) @binding(2) var<storage, read_write> kk: array<f32>;

const B: u32 = 1u;
const T: u32 = 16u;
const H: u32 = 2u;
const K: u32 = 32u;
const V: u32 = 32u;
const C: u32 = 16u;
const N: u32 = 32u;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_thread = gid.x;
  if (i_thread >= N) { return; }
  let n_K = select(K, 0u, gid.z == 0xffffffffu);
  // invocation = (b, h, t): row t of L inside its chunk
  let i_t = i_thread % T;
  let i_bh = i_thread / T;
  let i_b = i_bh / H;
  let i_h = i_bh % H;
  let o_t0 = (i_t / C) * C;
  let o_tok = (i_b * T + i_t) * H + i_h;
  let o_row = (i_bh * T + i_t) * C;
  var b_k: array<f32, K>;
  for (var i_i = 0u; i_i < n_K; i_i++) {
    b_k[i_i] = k[o_tok * K + i_i];
  }
  let b_beta = beta[o_tok];
  // s over the chunk before t
  for (var i_j = i_t; i_j > o_t0; i_j--) {
    let i_s = i_j - 1u;
    let o_src = (i_b * T + i_s) * H + i_h;
    var b_dot = 0.0;
    for (var i_i = 0u; i_i < n_K; i_i++) {
      b_dot += b_k[i_i] * k[o_src * K + i_i];
    }
    kk[o_row + i_s - o_t0] = b_beta * b_dot;
  }
}
