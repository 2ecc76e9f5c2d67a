//! Neural-network numerics of the `lrate` trainer, built on dfdx 0.13 (stable Rust).
//!
//! Layers ([`conv`], [`batchnorm`], [`pool`], [`linear`]) are written as dfdx tape ops: on the
//! [`Cpu`] device they are native kernels (im2col + `gemm`, rayon over the batch) whose backward
//! pass is registered with [`dfdx::tensor::Tape::add_backward_op`], and [`block`] fuses
//! conv → BN → ReLU → max-pool into one such op; on every other device (CUDA) they are composed
//! from stable dfdx tensor ops (`gather` + `matmul` im2col convolution, `max` pooling,
//! `normalize`). Every native kernel is tested against naive loops, finite differences and the
//! portable version.
//! [`models`] assembles the networks, [`optim`] holds the checkpointable optimizers (SGD, Adam,
//! AdamW, schedule-free SGD / AdamW),
//! [`init`] the PyTorch-style initialisers, [`model`] the [`Model`] that ties them together
//! (training step, prediction, checkpoint state); `tape` holds the helpers native ops share.

use std::fmt;
use std::str::FromStr;

use dfdx::prelude::*;

pub use dfdx::tensor::Cpu;

pub mod batchnorm;
pub mod block;
pub mod conv;
pub mod def;
pub mod init;
pub mod linear;
pub mod model;
#[cfg(test)]
mod model_tests;
pub mod models;
pub mod optim;
pub mod param;
pub mod pool;
pub mod spec;
pub mod summary;
pub(crate) mod tape;
#[cfg(test)]
mod testutil;
pub mod winograd;

pub use batchnorm::BatchStats;
pub use conv::ConvSpec;
pub use model::Model;
pub use optim::{Optimizer, OptimizerKind};
pub use param::Param;

/// Shape of an NCHW activation with run-time sizes.
pub type Shape4 = (usize, usize, usize, usize);
/// NCHW activation on the tape.
pub type Act4<D> = Tensor<Shape4, f32, D, OwnedTape<f32, D>>;
/// `(batch, features)` activation on the tape.
pub type Act2<D> = Tensor<(usize, usize), f32, D, OwnedTape<f32, D>>;

/// The networks the trainer can build. Serialized as its command-line name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ModelKind {
    /// Reference CNN: 3 × (conv3x3 → BN → ReLU → maxpool2), global average pool, linear.
    CnnS,
    /// "ResNet-9" of fast CIFAR-10 training (Page, 2018; used by fast.ai's DAWNBench entry).
    ResNet9,
    /// Small multilayer perceptron (flatten → 128 → ReLU → classes) for quick tests.
    Mlp,
}

impl ModelKind {
    /// All kinds with their command-line names.
    pub const ALL: [(ModelKind, &'static str); 3] = [
        (ModelKind::CnnS, "cnn-s"),
        (ModelKind::ResNet9, "resnet9"),
        (ModelKind::Mlp, "mlp"),
    ];

    /// The command-line name (`"cnn-s"`, `"resnet9"`, `"mlp"`).
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::CnnS => "cnn-s",
            ModelKind::ResNet9 => "resnet9",
            ModelKind::Mlp => "mlp",
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error for an unknown model name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownModel(pub String);

impl fmt::Display for UnknownModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown model `{}` (expected one of: cnn-s, resnet9, mlp)",
            self.0
        )
    }
}

impl std::error::Error for UnknownModel {}

impl TryFrom<String> for ModelKind {
    type Error = UnknownModel;
    fn try_from(s: String) -> Result<Self, UnknownModel> {
        s.parse()
    }
}

impl From<ModelKind> for String {
    fn from(k: ModelKind) -> String {
        k.name().to_string()
    }
}

impl FromStr for ModelKind {
    type Err = UnknownModel;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let l = s.trim().to_ascii_lowercase();
        ModelKind::ALL
            .iter()
            .find(|(_, n)| *n == l || n.replace('-', "") == l.replace(['-', '_'], ""))
            .map(|(k, _)| *k)
            .ok_or_else(|| UnknownModel(s.to_string()))
    }
}

/// Errors of the nn layer (bad shapes, bad state when loading a checkpoint, bad inputs).
#[derive(Debug, Clone, PartialEq)]
pub enum NnError {
    /// A state entry is missing.
    MissingTensor(String),
    /// A state entry has the wrong shape.
    ShapeMismatch {
        /// Tensor name.
        name: String,
        /// Shape the model expects.
        expected: Vec<usize>,
        /// Shape found.
        found: Vec<usize>,
    },
    /// An input batch is inconsistent (length, label range, ...).
    BadInput(String),
}

impl fmt::Display for NnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NnError::MissingTensor(n) => write!(f, "state has no tensor `{n}`"),
            NnError::ShapeMismatch {
                name,
                expected,
                found,
            } => write!(
                f,
                "tensor `{name}` has shape {found:?}, expected {expected:?}"
            ),
            NnError::BadInput(m) => write!(f, "bad input: {m}"),
        }
    }
}

impl std::error::Error for NnError {}

/// A named tensor: (name, shape, row-major data). Used for checkpoints.
pub type NamedTensor = (String, Vec<usize>, Vec<f32>);

/// A dfdx device the networks can run on.
///
/// The provided methods are the portable kernels built from stable dfdx ops
/// ([`block::conv_bn_relu_generic`], [`block::conv_bn_relu_eval_generic`],
/// [`pool::maxpool2_generic`]); [`Cpu`] overrides them with native kernels
/// ([`block::conv_bn_relu_cpu`], [`block::conv_bn_relu_eval_cpu`], [`pool::maxpool2_cpu`]).
/// With the `cuda` feature, `dfdx::tensor::Cuda` uses the portable ones.
pub trait NnDevice: dfdx::tensor_ops::Device<f32> {
    /// Convolution (stride 1, no bias), see [`conv`]; `input_grad = false` may skip `∂L/∂x`.
    fn conv2d(x: Act4<Self>, w: &Param<Self>, s: ConvSpec, input_grad: bool) -> Act4<Self> {
        let _ = input_grad;
        conv::conv2d_generic(x, w, s)
    }
    /// Training-mode batch norm (+ ReLU), see [`batchnorm`].
    fn batchnorm(
        x: Act4<Self>,
        gamma: &Param<Self>,
        beta: &Param<Self>,
        relu: bool,
    ) -> (Act4<Self>, BatchStats) {
        batchnorm::batchnorm_generic(x, gamma, beta, relu)
    }
    /// 2×2 max-pool, see [`pool`].
    fn maxpool2(x: Act4<Self>) -> Act4<Self> {
        pool::maxpool2_generic(x)
    }
    /// Training-mode conv → BN → ReLU (→ 2×2 max-pool when `pool`); `(w, γ, β)` parameters.
    fn conv_bn_relu(
        x: Act4<Self>,
        (w, gamma, beta): (&Param<Self>, &Param<Self>, &Param<Self>),
        s: ConvSpec,
        pool: bool,
        input_grad: bool,
    ) -> (Act4<Self>, BatchStats) {
        let _ = input_grad;
        block::conv_bn_relu_generic(x, (w, gamma, beta), s, pool)
    }
    /// Evaluation-mode conv → BN (per-channel `scale`, `shift` from
    /// [`batchnorm::eval_affine`]) → ReLU (→ 2×2 max-pool). Implementations may skip the
    /// backward pass, so take no gradient through it.
    fn conv_bn_relu_eval(
        x: Act4<Self>,
        w: &Param<Self>,
        affine: (&[f32], &[f32]),
        s: ConvSpec,
        pool: bool,
    ) -> Act4<Self> {
        block::conv_bn_relu_eval_generic(x, w, affine, s, pool)
    }
}

impl NnDevice for Cpu {
    fn conv2d(x: Act4<Self>, w: &Param<Self>, s: ConvSpec, input_grad: bool) -> Act4<Self> {
        conv::conv2d_cpu(x, w, s, input_grad)
    }
    fn batchnorm(
        x: Act4<Self>,
        gamma: &Param<Self>,
        beta: &Param<Self>,
        relu: bool,
    ) -> (Act4<Self>, BatchStats) {
        batchnorm::batchnorm_cpu(x, gamma, beta, relu)
    }
    fn maxpool2(x: Act4<Self>) -> Act4<Self> {
        pool::maxpool2_cpu(x)
    }
    fn conv_bn_relu(
        x: Act4<Self>,
        (w, gamma, beta): (&Param<Self>, &Param<Self>, &Param<Self>),
        s: ConvSpec,
        pool: bool,
        input_grad: bool,
    ) -> (Act4<Self>, BatchStats) {
        block::conv_bn_relu_cpu(x, w, gamma, beta, s, pool, input_grad)
    }
    fn conv_bn_relu_eval(
        x: Act4<Self>,
        w: &Param<Self>,
        affine: (&[f32], &[f32]),
        s: ConvSpec,
        pool: bool,
    ) -> Act4<Self> {
        block::conv_bn_relu_eval_cpu(x, w, affine, s, pool)
    }
}

#[cfg(feature = "cuda")]
impl NnDevice for dfdx::tensor::Cuda {}
