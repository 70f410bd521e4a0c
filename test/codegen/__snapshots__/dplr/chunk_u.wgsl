// L0.x.chunk_u: U = (I - Aab)^-1 Aak V by forward substitution in chunks of C = 8
//   @binding(0) v: in  f32[640]
//   @binding(1) mats: in  f32[2560]
//   @binding(2) u: out f32[640]
// dispatch: ceil(B*H*NC*VG/64) = (1, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> v: array<f32>;
@group(0) @binding(1) var<storage, read> mats: array<f32>;
@group(0) @binding(2) var<storage, read_write> u: array<f32>;

const B: u32 = 2u;
const T: u32 = 20u;
const H: u32 = 2u;
const K: u32 = 4u;
const V: u32 = 8u;
const VW: u32 = 4u;
const VG: u32 = 2u;
const C: u32 = 8u;
const NC: u32 = 3u;
const N: u32 = 24u;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_thread = gid.x;
  if (i_thread >= N) { return; }
  let n_K = select(K, 0u, gid.z == 0xffffffffu);
  // invocation = (b, h, chunk n, column group)
  let i_g = i_thread % VG;
  let i_bhn = i_thread / VG;
  let i_n = i_bhn % NC;
  let i_bh = i_bhn / NC;
  let i_b = i_bh / H;
  let i_h = i_bh % H;
  let o_col = i_g * VW;
  let o_t0 = i_n * C;
  // U_r = sum_{s<r} Aak_rs v_s + Aab_rs U_s
  for (var i_r = o_t0; i_r < min(o_t0 + C, T); i_r++) {
    let o_tok = (i_b * T + i_r) * H + i_h;
    let o_row = (i_bh * T + i_r) * 4u;
    var b_x = vec4<f32>();
    for (var i_s = o_t0; i_s < i_r; i_s++) {
      let o_x = ((i_b * T + i_s) * H + i_h) * V + o_col;
      b_x += mats[(o_row + 2u) * C + i_s - o_t0] * vec4<f32>(v[o_x], v[o_x + 1u], v[o_x + 2u], v[o_x + 3u]) + mats[(o_row + 3u) * C + i_s - o_t0] * vec4<f32>(u[o_x], u[o_x + 1u], u[o_x + 2u], u[o_x + 3u]);
    }
    u[o_tok * V + o_col] = b_x.x;
    u[o_tok * V + o_col + 1u] = b_x.y;
    u[o_tok * V + o_col + 2u] = b_x.z;
    u[o_tok * V + o_col + 3u] = b_x.w;
  }
}
