// L0.cos.length_norm: out[b,t,h,:] = x[b,t,h,:] / (pos[b] + t + 1)^sigmoid(m[h]), a length normalisation per head
//   @binding(0) x: in  f32[1024]
//   @binding(1) pos: in  f32[1]
//   @binding(2) m: in  f32[2]
//   @binding(3) out: out f32[1024]
// dispatch: ceil(B*T*H*G/64) = (16, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> pos: array<f32>;
@group(0) @binding(2) var<storage, read> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const T: u32 = 16u;
const H: u32 = 2u;
const G: u32 = 32u;
const N: u32 = 1024u;

fn sigmoid(x: f32) -> f32 {
  return 1.0 / (1.0 + exp(-x));
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_el = gid.x;
  let h = (i_el / G) % H;
  let t = (i_el / (G * H)) % T;
  let bb = i_el / (G * H * T);
  // exp2(-s * log2(n)) = n^-s; n >= 1, so log2 is finite
  let len = pos[bb] + f32(t) + 1.0;
  out[i_el] = x[i_el] * exp2(-sigmoid(m[h]) * log2(len));
}
