//! The layers a [`ModelSpec`] compiles to, and the forward pass over them.
//!
//! Every network, built-in or not, is a [`ModelSpec`] (the built-ins `cnn-s`, `resnet9` and
//! `mlp` are the TOML files in `host/models/`, embedded in the binary; see
//! [`super::def`]). [`build`] walks its [`plan`](ModelSpec::plan) and fuses, wherever the
//! layers read `conv` (stride 1, no bias) → `bn` → `relu` (→ `maxpool`), the four into one
//! [`ConvBnRelu`] block, which runs as the native fused CPU op of [`super::block`]; every
//! other layer runs on its own. Weights are initialised as PyTorch's defaults, in layer
//! order (see [`super::init`]).

use dfdx::prelude::*;
use rand::rngs::StdRng;

use super::batchnorm::{batchnorm_eval, batchnorm_generic, eval_affine, BatchStats};
use super::block::{conv_bn_relu_eval_generic, conv_bn_relu_generic};
use super::conv::{conv2d_generic_strided, ConvSpec};
use super::init::kaiming_uniform_a_sqrt5;
use super::linear::linear;
use super::param::Param;
use super::pool::{avgpool2_generic, global_avgpool, global_maxpool, maxpool2_generic};
use super::spec::{LayerSpec, ModelSpec, Planned, Shape};
use super::{Act2, Act4, NnDevice, NnError, Shape4};

/// A batch-norm layer's parameters and running statistics.
#[derive(Debug, Clone)]
pub struct Bn<D: NnDevice> {
    /// γ (`NAME.weight`).
    pub gamma: Param<D>,
    /// β (`NAME.bias`).
    pub beta: Param<D>,
    /// `NAME.running_mean`.
    pub running_mean: Vec<f32>,
    /// `NAME.running_var`.
    pub running_var: Vec<f32>,
    /// Tensor name prefix (e.g. `block1.bn`).
    pub name: String,
}

/// conv (stride 1, no bias) → BN → ReLU (→ 2×2 max-pool), fused.
#[derive(Debug, Clone)]
pub struct ConvBnRelu<D: NnDevice> {
    /// Convolution shape.
    pub spec: ConvSpec,
    /// Followed by a 2×2 max-pool.
    pub pool: bool,
    /// Conv weight `[out, in, k, k]`.
    pub w: Param<D>,
    /// The batch norm.
    pub bn: Bn<D>,
}

/// One layer of a network.
#[derive(Debug, Clone)]
pub enum Layer<D: NnDevice> {
    /// conv → BN → ReLU (→ max-pool).
    ConvBnRelu(Box<ConvBnRelu<D>>),
    /// A convolution that is not part of a fused block (strided, with a bias, or not
    /// followed by BN and ReLU).
    Conv {
        /// Shape.
        spec: ConvSpec,
        /// Stride.
        stride: usize,
        /// Weight `[out, in, k, k]`.
        w: Param<D>,
        /// Optional bias `[out]`.
        b: Option<Param<D>>,
    },
    /// Batch norm on its own (then ReLU when `relu`).
    Bn(Box<Bn<D>>, bool),
    /// 2×2 max-pool, stride 2, floor.
    MaxPool2,
    /// 2×2 average pool, stride 2, floor.
    AvgPool2,
    /// `x + f(x)`.
    Residual(Vec<Layer<D>>),
    /// Global average pool to `(B, C)`.
    GlobalAvgPool,
    /// Global max pool to `(B, C)`.
    GlobalMaxPool,
    /// `(B, C, H, W) → (B, C·H·W)`.
    Flatten,
    /// Fully connected layer.
    Linear {
        /// Weight `[out, in]`.
        w: Param<D>,
        /// Optional bias `[out]`.
        b: Option<Param<D>>,
    },
    /// ReLU.
    Relu,
    /// Multiplication by a constant.
    Scale(f32),
    /// Dropout with this probability (training only).
    Dropout(f32),
}

/// Activation between layers.
pub enum Act<D: NnDevice> {
    /// NCHW image batch.
    Img(Act4<D>),
    /// `(B, F)` features.
    Flat(Act2<D>),
}

/// Which kernels a forward pass uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mode {
    /// Training mode (batch statistics, dropout) or evaluation (running statistics).
    pub train: bool,
    /// Use the portable dfdx-op kernels even where a native kernel exists.
    pub portable: bool,
    /// Seed of this batch's dropout masks (see [`dropout_mask`]).
    pub dropout_seed: u64,
}

fn bn<D: NnDevice>(name: &str, c: usize, dev: &D) -> Bn<D> {
    Bn {
        gamma: Param::new(format!("{name}.weight"), vec![c], vec![1.0; c], dev),
        beta: Param::new(format!("{name}.bias"), vec![c], vec![0.0; c], dev),
        running_mean: vec![0.0; c],
        running_var: vec![1.0; c],
        name: name.to_string(),
    }
}

/// Conv weight and bias, PyTorch's `Conv2d.reset_parameters` (both bounded by `1/√fan_in`).
fn conv_params<D: NnDevice>(
    name: &str,
    s: ConvSpec,
    bias: bool,
    rng: &mut StdRng,
    dev: &D,
) -> (Param<D>, Option<Param<D>>) {
    let fan_in = s.cin * s.k * s.k;
    let w = Param::new(
        format!("{name}.weight"),
        vec![s.cout, s.cin, s.k, s.k],
        kaiming_uniform_a_sqrt5(s.num_weights(), fan_in, rng),
        dev,
    );
    let b = bias.then(|| {
        Param::new(
            format!("{name}.bias"),
            vec![s.cout],
            kaiming_uniform_a_sqrt5(s.cout, fan_in, rng),
            dev,
        )
    });
    (w, b)
}

/// Builds the layers of `spec` for `(C, H, W)` input and `classes` classes, after checking
/// every shape ([`ModelSpec::plan`]).
pub fn build<D: NnDevice>(
    spec: &ModelSpec,
    input: (usize, usize, usize),
    classes: usize,
    rng: &mut StdRng,
    dev: &D,
) -> Result<Vec<Layer<D>>, NnError> {
    let plan = spec
        .plan(input, classes)
        .map_err(|e| NnError::BadInput(e.to_string()))?;
    Ok(build_list(&plan, rng, dev))
}

fn build_list<D: NnDevice>(plan: &[Planned<'_>], rng: &mut StdRng, dev: &D) -> Vec<Layer<D>> {
    let mut out = Vec::with_capacity(plan.len());
    let mut i = 0;
    while i < plan.len() {
        let p = &plan[i];
        let next = |k: usize| plan.get(i + k).map(|q| q.spec);
        match p.spec {
            LayerSpec::Conv {
                kernel,
                stride,
                padding,
                bias,
                ..
            } => {
                let Shape::Img(cin, _, _) = p.input else {
                    unreachable!("planned: conv input is an image")
                };
                let Shape::Img(cout, _, _) = p.output else {
                    unreachable!("planned: conv output is an image")
                };
                let s = ConvSpec {
                    cin,
                    cout,
                    k: *kernel,
                    pad: *padding,
                };
                let (w, b) = conv_params(&p.name, s, *bias, rng, dev);
                let fuse = *stride == 1
                    && !*bias
                    && matches!(next(1), Some(LayerSpec::Bn { .. }))
                    && matches!(next(2), Some(LayerSpec::Relu));
                if fuse {
                    let pool = matches!(next(3), Some(LayerSpec::MaxPool));
                    out.push(Layer::ConvBnRelu(Box::new(ConvBnRelu {
                        spec: s,
                        pool,
                        w,
                        bn: bn(&plan[i + 1].name, cout, dev),
                    })));
                    i += if pool { 4 } else { 3 };
                    continue;
                }
                out.push(Layer::Conv {
                    spec: s,
                    stride: *stride,
                    w,
                    b,
                });
            }
            LayerSpec::Bn { .. } => {
                let Shape::Img(c, _, _) = p.input else {
                    unreachable!("planned: bn input is an image")
                };
                let relu = matches!(next(1), Some(LayerSpec::Relu));
                out.push(Layer::Bn(Box::new(bn(&p.name, c, dev)), relu));
                if relu {
                    i += 2;
                    continue;
                }
            }
            LayerSpec::Relu => out.push(Layer::Relu),
            LayerSpec::MaxPool => out.push(Layer::MaxPool2),
            LayerSpec::AvgPool => out.push(Layer::AvgPool2),
            LayerSpec::GlobalAvgPool => out.push(Layer::GlobalAvgPool),
            LayerSpec::GlobalMaxPool => out.push(Layer::GlobalMaxPool),
            LayerSpec::Residual { .. } => {
                out.push(Layer::Residual(build_list(&p.children, rng, dev)))
            }
            LayerSpec::Dropout { p: q } => out.push(Layer::Dropout(*q)),
            LayerSpec::Flatten => out.push(Layer::Flatten),
            LayerSpec::Linear { bias, .. } => {
                let (fin, fout) = (p.input.numel(), p.output.numel());
                let w = Param::new(
                    format!("{}.weight", p.name),
                    vec![fout, fin],
                    kaiming_uniform_a_sqrt5(fout * fin, fin, rng),
                    dev,
                );
                let b = bias.then(|| {
                    Param::new(
                        format!("{}.bias", p.name),
                        vec![fout],
                        kaiming_uniform_a_sqrt5(fout, fin, rng),
                        dev,
                    )
                });
                out.push(Layer::Linear { w, b });
            }
            LayerSpec::Scale { factor } => out.push(Layer::Scale(*factor)),
        }
        i += 1;
    }
    out
}

/// The dropout mask of one layer: each value kept with probability `1 − p` and then scaled
/// by `1/(1 − p)` (PyTorch's inverted dropout). The stream is ChaCha8 seeded from the
/// batch's [`Mode::dropout_seed`] and the layer's position, so a resumed run draws the same
/// masks as an uninterrupted one without storing any RNG state.
pub fn dropout_mask(p: f32, n: usize, seed: u64, layer: u64) -> Vec<f32> {
    use rand::{Rng, SeedableRng};
    let mut rng =
        rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ layer.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let keep = 1.0 / (1.0 - p);
    (0..n)
        .map(|_| if rng.gen::<f32>() < p { 0.0 } else { keep })
        .collect()
}

fn img<D: NnDevice>(a: Act<D>) -> Act4<D> {
    match a {
        Act::Img(x) => x,
        Act::Flat(_) => unreachable!("layer list puts image layers before flattening"),
    }
}

/// Runs `layers` on `x`. In training mode the batch statistics of every BN layer are appended
/// to `stats` in layer order. `first` marks the network input (its gradient is not needed).
/// `depth` numbers the layers for their dropout streams (0 at the top).
pub fn forward<D: NnDevice>(
    layers: &[Layer<D>],
    mut x: Act<D>,
    mode: Mode,
    stats: &mut Vec<BatchStats>,
    mut first: bool,
    depth: &mut u64,
) -> Act<D> {
    for layer in layers {
        *depth += 1;
        x = match layer {
            Layer::ConvBnRelu(l) => {
                let xi = img(x);
                let params = (&l.w, &l.bn.gamma, &l.bn.beta);
                Act::Img(if mode.train {
                    let (y, st) = if mode.portable {
                        conv_bn_relu_generic(xi, params, l.spec, l.pool)
                    } else {
                        D::conv_bn_relu(xi, params, l.spec, l.pool, !first)
                    };
                    stats.push(st);
                    y
                } else {
                    let b = &l.bn;
                    let (sc, sh) =
                        eval_affine(&b.gamma.host, &b.beta.host, &b.running_mean, &b.running_var);
                    if mode.portable {
                        conv_bn_relu_eval_generic(xi, &l.w, (&sc, &sh), l.spec, l.pool)
                    } else {
                        D::conv_bn_relu_eval(xi, &l.w, (&sc, &sh), l.spec, l.pool)
                    }
                })
            }
            Layer::Conv { spec, stride, w, b } => {
                let xi = img(x);
                let y = if *stride == 1 && !mode.portable {
                    D::conv2d(xi, w, *spec, !first)
                } else {
                    conv2d_generic_strided(xi, w, *spec, *stride)
                };
                Act::Img(match b {
                    Some(b) => {
                        let shape: Shape4 = *y.shape();
                        y + b.traced().broadcast_like::<Shape4, Axes3<0, 2, 3>>(&shape)
                    }
                    None => y,
                })
            }
            Layer::Bn(b, relu) => {
                let xi = img(x);
                Act::Img(if mode.train {
                    let (y, st) = if mode.portable {
                        batchnorm_generic(xi, &b.gamma, &b.beta, *relu)
                    } else {
                        D::batchnorm(xi, &b.gamma, &b.beta, *relu)
                    };
                    stats.push(st);
                    y
                } else {
                    batchnorm_eval(
                        xi,
                        &b.gamma.host,
                        &b.beta.host,
                        &b.running_mean,
                        &b.running_var,
                        *relu,
                    )
                })
            }
            Layer::MaxPool2 => {
                let xi = img(x);
                Act::Img(if mode.portable {
                    maxpool2_generic(xi)
                } else {
                    D::maxpool2(xi)
                })
            }
            Layer::AvgPool2 => Act::Img(avgpool2_generic(img(x))),
            Layer::Residual(block) => {
                let (xi, tape) = img(x).split_tape();
                let y = img(forward(
                    block,
                    Act::Img(xi.clone().put_tape(tape)),
                    mode,
                    stats,
                    false,
                    depth,
                ));
                Act::Img(y + xi)
            }
            Layer::GlobalAvgPool => Act::Flat(global_avgpool(img(x))),
            Layer::GlobalMaxPool => Act::Flat(global_maxpool(img(x))),
            Layer::Flatten => match x {
                Act::Img(xi) => {
                    let (b, c, h, w) = *xi.shape();
                    Act::Flat(xi.reshape_like(&(b, c * h * w)))
                }
                flat => flat,
            },
            Layer::Linear { w, b } => match x {
                Act::Flat(f) => Act::Flat(linear(f, w, b.as_ref())),
                Act::Img(_) => unreachable!("planned: linear layers follow pooling or flatten"),
            },
            Layer::Relu => match x {
                Act::Flat(f) => Act::Flat(f.relu()),
                Act::Img(i) => Act::Img(i.relu()),
            },
            Layer::Scale(s) => match x {
                Act::Flat(f) => Act::Flat(f * *s),
                Act::Img(i) => Act::Img(i * *s),
            },
            Layer::Dropout(p) if mode.train && *p > 0.0 => match x {
                Act::Flat(f) => {
                    let shape = *f.shape();
                    let m = dropout_mask(*p, shape.0 * shape.1, mode.dropout_seed, *depth);
                    let m = f.device().tensor_from_vec(m, shape);
                    Act::Flat(f * m)
                }
                Act::Img(i) => {
                    let shape = *i.shape();
                    let n = shape.0 * shape.1 * shape.2 * shape.3;
                    let m = dropout_mask(*p, n, mode.dropout_seed, *depth);
                    let m = i.device().tensor_from_vec(m, shape);
                    Act::Img(i * m)
                }
            },
            Layer::Dropout(_) => x,
        };
        first = false;
    }
    x
}

/// Whether any layer (residual blocks included) is a dropout with `p > 0`.
pub fn has_dropout<D: NnDevice>(layers: &[Layer<D>]) -> bool {
    layers.iter().any(|l| match l {
        Layer::Dropout(p) => *p > 0.0,
        Layer::Residual(b) => has_dropout(b),
        _ => false,
    })
}

/// Visits every parameter in layer order.
pub fn visit_params<'a, D: NnDevice>(layers: &'a [Layer<D>], f: &mut dyn FnMut(&'a Param<D>)) {
    for l in layers {
        match l {
            Layer::ConvBnRelu(c) => {
                f(&c.w);
                f(&c.bn.gamma);
                f(&c.bn.beta);
            }
            Layer::Bn(b, _) => {
                f(&b.gamma);
                f(&b.beta);
            }
            Layer::Residual(b) => visit_params(b, f),
            Layer::Linear { w, b } | Layer::Conv { w, b, .. } => {
                f(w);
                if let Some(b) = b {
                    f(b);
                }
            }
            _ => {}
        }
    }
}

/// Visits every parameter mutably in layer order.
pub fn visit_params_mut<D: NnDevice>(layers: &mut [Layer<D>], f: &mut dyn FnMut(&mut Param<D>)) {
    for l in layers {
        match l {
            Layer::ConvBnRelu(c) => {
                f(&mut c.w);
                f(&mut c.bn.gamma);
                f(&mut c.bn.beta);
            }
            Layer::Bn(b, _) => {
                f(&mut b.gamma);
                f(&mut b.beta);
            }
            Layer::Residual(b) => visit_params_mut(b, f),
            Layer::Linear { w, b } | Layer::Conv { w, b, .. } => {
                f(w);
                if let Some(b) = b {
                    f(b);
                }
            }
            _ => {}
        }
    }
}

/// Visits every BN layer mutably in layer order (the order of [`forward`]'s statistics).
pub fn visit_bn_mut<D: NnDevice>(layers: &mut [Layer<D>], f: &mut dyn FnMut(&mut Bn<D>)) {
    for l in layers {
        match l {
            Layer::ConvBnRelu(c) => f(&mut c.bn),
            Layer::Bn(b, _) => f(b),
            Layer::Residual(b) => visit_bn_mut(b, f),
            _ => {}
        }
    }
}

/// Visits every BN layer in layer order.
pub fn visit_bn<'a, D: NnDevice>(layers: &'a [Layer<D>], f: &mut dyn FnMut(&'a Bn<D>)) {
    for l in layers {
        match l {
            Layer::ConvBnRelu(c) => f(&c.bn),
            Layer::Bn(b, _) => f(b),
            Layer::Residual(b) => visit_bn(b, f),
            _ => {}
        }
    }
}
