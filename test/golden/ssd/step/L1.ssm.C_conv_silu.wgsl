// L1.ssm.C_conv_silu: out[i] = silu(x0 + x1) where xk = in{k}[i]
//   @binding(0) in0: in  f32[16]
//   @binding(1) in1: in  f32[16]
//   @binding(2) out: out f32[16]
// dispatch: ceil(n/64) = (1, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> in0: array<f32>;
@group(0) @binding(1) var<storage, read> in1: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

const N: u32 = 16u;

fn silu(x: f32) -> f32 {
  return x / (1.0 + exp(-x));
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_el = gid.x;
  if (i_el >= N) { return; }
  let x0 = in0[i_el];
  let x1 = in1[i_el];
  out[i_el] = silu(x0 + x1);
}
