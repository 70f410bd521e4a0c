// L0.bi.ones: out[r, h, n] = 1 * 1
//   @binding(0) out: out f32[32]
// dispatch: ceil(rows*H*W/64) = (1, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read_write> out: array<f32>;

const H: u32 = 2u;
const W: u32 = 1u;
const N: u32 = 32u;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_el = gid.x;
  if (i_el >= N) { return; }
  out[i_el] = 1.0;
}
