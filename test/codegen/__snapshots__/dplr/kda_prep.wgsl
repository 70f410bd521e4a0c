// op.kda_prep: KDA as DPLR: a = exp(g) * k, b = -beta * k, vb = beta * v
//   @binding(0) k: in  f32[320]
//   @binding(1) g: in  f32[320]
//   @binding(2) v: in  f32[640]
//   @binding(3) beta: in  f32[80]
//   @binding(4) a: out f32[320]
//   @binding(5) b: out f32[320]
//   @binding(6) vb: out f32[640]
// dispatch: ceil(B*T*H/64) = (2, 1, 1) workgroups of 64x1x1

@group(0) @binding(0) var<storage, read> k: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> a: array<f32>;
@group(0) @binding(5) var<storage, read_write> b: array<f32>;
@group(0) @binding(6) var<storage, read_write> vb: array<f32>;

const K: u32 = 4u;
const V: u32 = 8u;
const N: u32 = 80u;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i_thread = gid.x;
  if (i_thread >= N) { return; }
  let n_K = select(K, 0u, gid.z == 0xffffffffu);
  let b_beta = beta[i_thread];
  for (var i_i = 0u; i_i < n_K; i_i++) {
    let o_k = i_thread * K + i_i;
    a[o_k] = exp(g[o_k]) * k[o_k];
    b[o_k] = -b_beta * k[o_k];
  }
  for (var i_j = 0u; i_j < V; i_j++) {
    vb[i_thread * V + i_j] = b_beta * v[i_thread * V + i_j];
  }
}
