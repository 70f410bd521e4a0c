// L2.attn.decode_merge: softmax attention decode: merges the NS partials (m, l, acc) of each (b, h) into o
//   @binding(0) part: in  f32[2376]
//   @binding(1) o: out f32[64]
// dispatch: ceil(B*H*DV/64) = (1, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> part: array<f32>;
@group(0) @binding(1) var<storage, read_write> o: array<f32>;

const DV: u32 = 16u;
const NS: u32 = 33u;
const N: u32 = 64u;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_thread = gid.x;
  if (i_thread >= N) { return; }
  // invocation = (b, h, value column i)
  let i_i = i_thread % DV;
  let o_bh = (i_thread / DV) * NS * (DV + 2u);
  var b_m = -3.0e38;
  for (var i_n = 0u; i_n < NS; i_n++) {
    b_m = max(b_m, part[o_bh + i_n * (DV + 2u)]);
  }
  var b_l = 0.0;
  var b_o = 0.0;
  for (var i_n = 0u; i_n < NS; i_n++) {
    let o_n = o_bh + i_n * (DV + 2u);
    let b_c = exp(part[o_n] - b_m);
    b_l += part[o_n + 1u] * b_c;
    b_o += part[o_n + 2u + i_i] * b_c;
  }
  o[i_thread] = b_o / b_l;
}
