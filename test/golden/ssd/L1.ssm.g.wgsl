// L1.ssm.g: out[i] = x0 * (exp(x1) * (-1.0)) where xk = in{k}[i]
//   @binding(0) in0: in  f32[64]
//   @binding(1) in1: in  f32[4]
//   @binding(2) out: out f32[64]
// dispatch: ceil(n/64) = (1, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> in0: array<f32>;
@group(0) @binding(1) var<storage, read> in1: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

const N: u32 = 64u;
const N1: u32 = 4u;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_el = gid.x;
  let x0 = in0[i_el];
  let x1 = in1[i_el % N1];
  out[i_el] = x0 * (exp(x1) * (-1.0));
}
