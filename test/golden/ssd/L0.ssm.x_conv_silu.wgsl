// L0.ssm.x_conv_silu: out[i] = silu(x0 + x1) where xk = in{k}[i]
//   @binding(0) in0: in  f32[2048]
//   @binding(1) in1: in  f32[128]
//   @binding(2) out: out f32[2048]
// dispatch: ceil(n/64) = (32, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> in0: array<f32>;
@group(0) @binding(1) var<storage, read> in1: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

const N: u32 = 2048u;
const N1: u32 = 128u;

fn silu(x: f32) -> f32 {
  return x / (1.0 + exp(-x));
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_el = gid.x;
  let x0 = in0[i_el];
  let x1 = in1[i_el % N1];
  out[i_el] = silu(x0 + x1);
}
