// L3.gdn.g: out[i] = exp(x1) * (-1.0) * softplus(x0 + x2) where xk = in{k}[i]
//   @binding(0) in0: in  f32[2]
//   @binding(1) in1: in  f32[2]
//   @binding(2) in2: in  f32[2]
//   @binding(3) out: out f32[2]
// dispatch: ceil(n/64) = (1, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> in0: array<f32>;
@group(0) @binding(1) var<storage, read> in1: array<f32>;
@group(0) @binding(2) var<storage, read> in2: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const N: u32 = 2u;

fn softplus(x: f32) -> f32 {
  return max(x, 0.0) + log(1.0 + exp(-abs(x)));
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_el = gid.x;
  if (i_el >= N) { return; }
  let x0 = in0[i_el];
  let x1 = in1[i_el];
  let x2 = in2[i_el];
  out[i_el] = exp(x1) * (-1.0) * softplus(x0 + x2);
}
