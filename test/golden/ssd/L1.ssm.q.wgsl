// L1.ssm.q: out[r, h, n] = 1 * c[r, n]
//   @binding(0) c: in  f32[256]
//   @binding(1) out: out f32[1024]
// dispatch: ceil(rows*H*W/64) = (16, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> c: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

const H: u32 = 4u;
const W: u32 = 16u;
const N: u32 = 1024u;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_el = gid.x;
  let j = i_el % W;
  let r = i_el / (W * H);
  out[i_el] = c[r * W + j];
}
