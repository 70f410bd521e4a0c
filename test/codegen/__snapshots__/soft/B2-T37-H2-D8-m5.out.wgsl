// L0.soft.out: o[b,t,h,c] = sum_r G(q_t, L_r) Y[b,h,r,c]
//   @binding(0) q: in  f32[1184]
//   @binding(1) lmk: in  f32[160]
//   @binding(2) y: in  f32[160]
//   @binding(3) o: out f32[1184]
// dispatch: ceil(B*T*H*D/64) = (19, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> lmk: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> o: array<f32>;

const T: u32 = 37u;
const H: u32 = 2u;
const D: u32 = 8u;
const M: u32 = 5u;
const THREADS: u32 = 1184u;
const SCALE: f32 = 0.59460354;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_thread = gid.x;
  if (i_thread >= THREADS) { return; }
  let n_D = select(D, 0u, gid.z == 0xffffffffu);
  let n_M = select(M, 0u, gid.z == 0xffffffffu);
  let i_c = i_thread % D;
  let i_h = (i_thread / D) % H;
  let i_b = i_thread / (D * H * T);
  let o_q = i_thread - i_c;
  var b_o = 0.0;
  for (var r = 0u; r < n_M; r++) {
    let o_l = ((i_b * H + i_h) * M + r) * D;
    var b_g = 0.0;
    for (var d = 0u; d < n_D; d++) {
      let b_diff = q[o_q + d] - lmk[o_l + d];
      b_g += b_diff * b_diff;
    }
    b_g = exp(-0.5 * SCALE * SCALE * b_g);
    b_o += b_g * y[o_l + i_c];
  }
  o[i_thread] = b_o;
}
