//! The networks: `cnn-s`, ResNet-9 and a small MLP, as lists of layers run on the dfdx tape.
//!
//! - `cnn-s` (PyTorch): `Sequential(conv3x3(c→32, bias=False, padding=1), BN, ReLU, MaxPool2d(2),
//!   conv3x3(32→64), BN, ReLU, MaxPool2d(2), conv3x3(64→128), BN, ReLU, MaxPool2d(2),
//!   AdaptiveAvgPool2d(1), Flatten, Linear(128→classes))`.
//! - `resnet9`: the DAWNBench "ResNet-9" of D. Page, "How to train your ResNet" (2018): prep
//!   conv 64; layer1 conv 128 + pool + residual(2 × conv 128); layer2 conv 256 + pool; layer3
//!   conv 512 + pool + residual(2 × conv 512); global max pool; Linear(512→classes, no bias);
//!   logits × 0.125. Every conv is 3×3, padding 1, no bias, followed by BN and ReLU.
//! - `mlp`: Flatten, Linear(c·h·w→128), ReLU, Linear(128→classes).

use dfdx::prelude::*;
use rand::rngs::StdRng;

use super::batchnorm::{eval_affine, BatchStats};
use super::block::{conv_bn_relu_eval_generic, conv_bn_relu_generic};
use super::conv::ConvSpec;
use super::init::kaiming_uniform_a_sqrt5;
use super::linear::linear;
use super::param::Param;
use super::pool::{global_avgpool, global_maxpool, maxpool2_generic, pool_out};
use super::{Act2, Act4, ModelKind, NnDevice, NnError};

/// conv3x3 (no bias) → BN → ReLU (→ 2×2 max-pool), with the BN running statistics.
#[derive(Debug, Clone)]
pub struct ConvBnRelu<D: NnDevice> {
    /// Convolution shape.
    pub spec: ConvSpec,
    /// Followed by a 2×2 max-pool.
    pub pool: bool,
    /// Conv weight `[out, in, 3, 3]`.
    pub w: Param<D>,
    /// BN weight γ.
    pub gamma: Param<D>,
    /// BN bias β.
    pub beta: Param<D>,
    /// BN running mean (`<prefix>.bn.running_mean`).
    pub running_mean: Vec<f32>,
    /// BN running variance (`<prefix>.bn.running_var`).
    pub running_var: Vec<f32>,
    /// Name prefix.
    pub prefix: String,
}

/// One layer of a network.
#[derive(Debug, Clone)]
pub enum Layer<D: NnDevice> {
    /// conv → BN → ReLU (→ max-pool).
    ConvBnRelu(Box<ConvBnRelu<D>>),
    /// 2×2 max-pool, stride 2, floor.
    MaxPool2,
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
    /// Training mode (batch statistics) or evaluation (running statistics).
    pub train: bool,
    /// Use the portable dfdx-op kernels even where a native kernel exists.
    pub portable: bool,
}

fn conv_block<D: NnDevice>(
    prefix: &str,
    (cin, cout, pool): (usize, usize, bool),
    rng: &mut StdRng,
    dev: &D,
) -> Layer<D> {
    let spec = ConvSpec {
        cin,
        cout,
        k: 3,
        pad: 1,
    };
    let fan_in = cin * 9;
    Layer::ConvBnRelu(Box::new(ConvBnRelu {
        spec,
        pool,
        w: Param::new(
            format!("{prefix}.conv.weight"),
            vec![cout, cin, 3, 3],
            kaiming_uniform_a_sqrt5(spec.num_weights(), fan_in, rng),
            dev,
        ),
        gamma: Param::new(
            format!("{prefix}.bn.weight"),
            vec![cout],
            vec![1.0; cout],
            dev,
        ),
        beta: Param::new(
            format!("{prefix}.bn.bias"),
            vec![cout],
            vec![0.0; cout],
            dev,
        ),
        running_mean: vec![0.0; cout],
        running_var: vec![1.0; cout],
        prefix: prefix.to_string(),
    }))
}

fn linear_layer<D: NnDevice>(
    prefix: &str,
    fin: usize,
    fout: usize,
    bias: bool,
    rng: &mut StdRng,
    dev: &D,
) -> Layer<D> {
    let w = Param::new(
        format!("{prefix}.weight"),
        vec![fout, fin],
        kaiming_uniform_a_sqrt5(fout * fin, fin, rng),
        dev,
    );
    let b = bias.then(|| {
        Param::new(
            format!("{prefix}.bias"),
            vec![fout],
            kaiming_uniform_a_sqrt5(fout, fin, rng),
            dev,
        )
    });
    Layer::Linear { w, b }
}

/// Builds the layer list; checks that the input survives every pooling.
pub fn build<D: NnDevice>(
    kind: ModelKind,
    (c, h, w): (usize, usize, usize),
    classes: usize,
    rng: &mut StdRng,
    dev: &D,
) -> Result<Vec<Layer<D>>, NnError> {
    if c == 0 || h == 0 || w == 0 || classes == 0 {
        return Err(NnError::BadInput(format!(
            "model needs non-empty input and classes, got input {c}x{h}x{w}, {classes} classes"
        )));
    }
    let pools = match kind {
        ModelKind::CnnS | ModelKind::ResNet9 => 3,
        ModelKind::Mlp => 0,
    };
    let (mut hh, mut ww) = (h, w);
    for _ in 0..pools {
        (hh, ww) = pool_out(hh, ww);
    }
    if hh == 0 || ww == 0 {
        return Err(NnError::BadInput(format!(
            "{kind} needs input at least {0}x{0} (three 2x2 max-pools), got {h}x{w}",
            1 << pools
        )));
    }
    Ok(match kind {
        ModelKind::CnnS => vec![
            conv_block("block1", (c, 32, true), rng, dev),
            conv_block("block2", (32, 64, true), rng, dev),
            conv_block("block3", (64, 128, true), rng, dev),
            Layer::GlobalAvgPool,
            linear_layer("fc", 128, classes, true, rng, dev),
        ],
        ModelKind::ResNet9 => vec![
            conv_block("prep", (c, 64, false), rng, dev),
            conv_block("layer1", (64, 128, true), rng, dev),
            Layer::Residual(vec![
                conv_block("layer1.res1", (128, 128, false), rng, dev),
                conv_block("layer1.res2", (128, 128, false), rng, dev),
            ]),
            conv_block("layer2", (128, 256, true), rng, dev),
            conv_block("layer3", (256, 512, true), rng, dev),
            Layer::Residual(vec![
                conv_block("layer3.res1", (512, 512, false), rng, dev),
                conv_block("layer3.res2", (512, 512, false), rng, dev),
            ]),
            Layer::GlobalMaxPool,
            linear_layer("fc", 512, classes, false, rng, dev),
            Layer::Scale(0.125),
        ],
        ModelKind::Mlp => vec![
            Layer::Flatten,
            linear_layer("fc1", c * h * w, 128, true, rng, dev),
            Layer::Relu,
            linear_layer("fc2", 128, classes, true, rng, dev),
        ],
    })
}

fn img<D: NnDevice>(a: Act<D>) -> Act4<D> {
    match a {
        Act::Img(x) => x,
        Act::Flat(_) => unreachable!("layer list puts image layers before flattening"),
    }
}

/// Runs `layers` on `x`. In training mode the batch statistics of every BN layer are appended
/// to `stats` in layer order. `first` marks the network input (its gradient is not needed).
pub fn forward<D: NnDevice>(
    layers: &[Layer<D>],
    mut x: Act<D>,
    mode: Mode,
    stats: &mut Vec<BatchStats>,
    mut first: bool,
) -> Act<D> {
    for layer in layers {
        x = match layer {
            Layer::ConvBnRelu(l) => {
                let xi = img(x);
                let params = (&l.w, &l.gamma, &l.beta);
                Act::Img(if mode.train {
                    let (y, st) = if mode.portable {
                        conv_bn_relu_generic(xi, params, l.spec, l.pool)
                    } else {
                        D::conv_bn_relu(xi, params, l.spec, l.pool, !first)
                    };
                    stats.push(st);
                    y
                } else {
                    let (sc, sh) =
                        eval_affine(&l.gamma.host, &l.beta.host, &l.running_mean, &l.running_var);
                    if mode.portable {
                        conv_bn_relu_eval_generic(xi, &l.w, (&sc, &sh), l.spec, l.pool)
                    } else {
                        D::conv_bn_relu_eval(xi, &l.w, (&sc, &sh), l.spec, l.pool)
                    }
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
            Layer::Residual(block) => {
                let (xi, tape) = img(x).split_tape();
                let y = img(forward(
                    block,
                    Act::Img(xi.clone().put_tape(tape)),
                    mode,
                    stats,
                    false,
                ));
                Act::Img(y + xi)
            }
            Layer::GlobalAvgPool => Act::Flat(global_avgpool(img(x))),
            Layer::GlobalMaxPool => Act::Flat(global_maxpool(img(x))),
            Layer::Flatten => {
                let xi = img(x);
                let (b, c, h, w) = *xi.shape();
                Act::Flat(xi.reshape_like(&(b, c * h * w)))
            }
            Layer::Linear { w, b } => match x {
                Act::Flat(f) => Act::Flat(linear(f, w, b.as_ref())),
                Act::Img(_) => unreachable!("linear layers follow pooling or flatten"),
            },
            Layer::Relu => match x {
                Act::Flat(f) => Act::Flat(f.relu()),
                Act::Img(i) => Act::Img(i.relu()),
            },
            Layer::Scale(s) => match x {
                Act::Flat(f) => Act::Flat(f * *s),
                Act::Img(i) => Act::Img(i * *s),
            },
        };
        first = false;
    }
    x
}

/// Visits every parameter in layer order.
pub fn visit_params<'a, D: NnDevice>(layers: &'a [Layer<D>], f: &mut dyn FnMut(&'a Param<D>)) {
    for l in layers {
        match l {
            Layer::ConvBnRelu(c) => {
                f(&c.w);
                f(&c.gamma);
                f(&c.beta);
            }
            Layer::Residual(b) => visit_params(b, f),
            Layer::Linear { w, b } => {
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
                f(&mut c.gamma);
                f(&mut c.beta);
            }
            Layer::Residual(b) => visit_params_mut(b, f),
            Layer::Linear { w, b } => {
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
pub fn visit_bn_mut<D: NnDevice>(layers: &mut [Layer<D>], f: &mut dyn FnMut(&mut ConvBnRelu<D>)) {
    for l in layers {
        match l {
            Layer::ConvBnRelu(c) => f(c),
            Layer::Residual(b) => visit_bn_mut(b, f),
            _ => {}
        }
    }
}

/// Visits every BN layer in layer order.
pub fn visit_bn<'a, D: NnDevice>(layers: &'a [Layer<D>], f: &mut dyn FnMut(&'a ConvBnRelu<D>)) {
    for l in layers {
        match l {
            Layer::ConvBnRelu(c) => f(c),
            Layer::Residual(b) => visit_bn(b, f),
            _ => {}
        }
    }
}
