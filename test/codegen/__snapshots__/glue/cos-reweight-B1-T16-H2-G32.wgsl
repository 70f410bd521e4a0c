// L0.cos.q_cos: per head [x cos(a), x sin(a)], a = pi/2 * (pos[b] + t) / MAX_LEN (cosFormer re-weighting)
//   @binding(0) x: in  f32[1024]
//   @binding(1) pos: in  f32[1]
//   @binding(2) out: out f32[2048]
// dispatch: ceil(B*T*H*2G/64) = (32, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> pos: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

const T: u32 = 16u;
const H: u32 = 2u;
const G: u32 = 32u;
const MAX_LEN: u32 = 2048u;
const N: u32 = 2048u;
const RATE: f32 = 0.0007669904;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_el = gid.x;
  let j = i_el % (2u * G);
  let row = i_el / (2u * G);
  let t = (row / H) % T;
  let bb = row / (H * T);
  let a = (pos[bb] + f32(t)) * RATE;
  let xv = x[row * G + j % G];
  out[i_el] = select(xv * sin(a), xv * cos(a), j < G);
}
