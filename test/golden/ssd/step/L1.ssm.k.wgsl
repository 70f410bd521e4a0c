// L1.ssm.k: out[r, h, n] = a[r, h] * c[r, n]
//   @binding(0) a: in  f32[4]
//   @binding(1) c: in  f32[16]
//   @binding(2) out: out f32[64]
// dispatch: ceil(rows*H*W/64) = (1, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> c: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

const H: u32 = 4u;
const W: u32 = 16u;
const N: u32 = 64u;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_el = gid.x;
  let j = i_el % W;
  let h = (i_el / W) % H;
  let r = i_el / (W * H);
  out[i_el] = a[r * H + h] * c[r * W + j];
}
