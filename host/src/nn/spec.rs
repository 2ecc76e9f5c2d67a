//! [`ModelSpec`]: a network described as a list of layers in TOML, checked against the input
//! shape before anything is built.
//!
//! ```toml
//! name = "tiny"
//! [[layers]]
//! type = "conv"          # nn.Conv2d(c_in, channels, kernel, stride, padding, bias)
//! channels = 16
//! kernel = 3
//! padding = 1
//! bias = false
//! [[layers]]
//! type = "bn"            # nn.BatchNorm2d
//! [[layers]]
//! type = "relu"
//! [[layers]]
//! type = "maxpool"       # nn.MaxPool2d(2)
//! [[layers]]
//! type = "residual"      # x + f(x), f a nested layer list that keeps the shape
//! layers = [ { type = "conv", channels = 16, kernel = 3, padding = 1 }, { type = "relu" } ]
//! [[layers]]
//! type = "global_avgpool" # nn.AdaptiveAvgPool2d(1) + flatten
//! [[layers]]
//! type = "dropout"       # nn.Dropout(p)
//! p = 0.2
//! [[layers]]
//! type = "linear"        # nn.Linear(in, features); features omitted = the number of classes
//! ```
//!
//! The defaults are PyTorch's: `stride = 1`, `padding = 0`, `bias = true`. Layers without a
//! `name` are named by their position, as in a PyTorch `nn.Sequential` state dict
//! (`3.weight`, `4.0.bias`, …), so their tensors are `NAME.weight`, `NAME.bias`,
//! `NAME.running_mean`, `NAME.running_var`. The pools are 2×2 with stride 2 (floor), as
//! `MaxPool2d(2)` / `AvgPool2d(2)`.
//!
//! [`ModelSpec::plan`] infers every layer's output shape, parameters and FLOPs for an input
//! shape and class count, and names the layer (its 1-based position, `4.2` inside a
//! residual block) and the shapes when they do not fit.

use std::fmt;

use toml::Value;

/// The shape of an activation, per image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// An image `C × H × W`.
    Img(usize, usize, usize),
    /// A feature vector of this length.
    Flat(usize),
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shape::Img(c, h, w) => write!(f, "{c}x{h}x{w}"),
            Shape::Flat(n) => write!(f, "{n}"),
        }
    }
}

impl Shape {
    /// Values per image.
    pub fn numel(&self) -> usize {
        match *self {
            Shape::Img(c, h, w) => c * h * w,
            Shape::Flat(n) => n,
        }
    }
}

/// One layer of a [`ModelSpec`].
#[derive(Clone, Debug, PartialEq)]
pub enum LayerSpec {
    /// `nn.Conv2d(c_in, channels, kernel, stride, padding, bias)`, square kernel.
    Conv {
        /// Tensor name prefix.
        name: Option<String>,
        /// Output channels.
        channels: usize,
        /// Kernel size.
        kernel: usize,
        /// Stride.
        stride: usize,
        /// Zero padding on each side.
        padding: usize,
        /// With a bias.
        bias: bool,
    },
    /// `nn.BatchNorm2d` (ε = 1e-5, momentum 0.1).
    Bn {
        /// Tensor name prefix.
        name: Option<String>,
    },
    /// ReLU.
    Relu,
    /// 2×2 max-pool, stride 2.
    MaxPool,
    /// 2×2 average pool, stride 2.
    AvgPool,
    /// Global average pool to a feature vector.
    GlobalAvgPool,
    /// Global max pool to a feature vector.
    GlobalMaxPool,
    /// `x + f(x)`.
    Residual {
        /// Name prefix of the unnamed layers inside.
        name: Option<String>,
        /// `f`.
        layers: Vec<LayerSpec>,
    },
    /// `nn.Dropout(p)`: in training, zeroes each value with probability `p` and scales the
    /// rest by `1/(1 − p)`; the identity in evaluation.
    Dropout {
        /// Drop probability in `[0, 1)`.
        p: f32,
    },
    /// `(C, H, W) → C·H·W`.
    Flatten,
    /// `nn.Linear(in, features, bias)`.
    Linear {
        /// Tensor name prefix.
        name: Option<String>,
        /// Output features; `None`: the number of classes.
        features: Option<usize>,
        /// With a bias.
        bias: bool,
    },
    /// Multiplication by a constant (ResNet-9's logit scale).
    Scale {
        /// The factor.
        factor: f32,
    },
}

/// The layer types, as `type = "…"` takes them.
pub const LAYER_TYPES: [&str; 12] = [
    "conv",
    "bn",
    "relu",
    "maxpool",
    "avgpool",
    "global_avgpool",
    "global_maxpool",
    "residual",
    "dropout",
    "flatten",
    "linear",
    "scale",
];

impl LayerSpec {
    /// The `type` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            LayerSpec::Conv { .. } => "conv",
            LayerSpec::Bn { .. } => "bn",
            LayerSpec::Relu => "relu",
            LayerSpec::MaxPool => "maxpool",
            LayerSpec::AvgPool => "avgpool",
            LayerSpec::GlobalAvgPool => "global_avgpool",
            LayerSpec::GlobalMaxPool => "global_maxpool",
            LayerSpec::Residual { .. } => "residual",
            LayerSpec::Dropout { .. } => "dropout",
            LayerSpec::Flatten => "flatten",
            LayerSpec::Linear { .. } => "linear",
            LayerSpec::Scale { .. } => "scale",
        }
    }

    fn name(&self) -> Option<&str> {
        match self {
            LayerSpec::Conv { name, .. }
            | LayerSpec::Bn { name }
            | LayerSpec::Residual { name, .. }
            | LayerSpec::Linear { name, .. } => name.as_deref(),
            _ => None,
        }
    }

    /// A one-line description for the layer table, e.g. `conv 3x3 32 s1 p1`.
    pub fn describe(&self) -> String {
        match self {
            LayerSpec::Conv {
                channels,
                kernel,
                stride,
                padding,
                bias,
                ..
            } => format!(
                "conv {kernel}x{kernel} {channels} s{stride} p{padding}{}",
                if *bias { " +bias" } else { "" }
            ),
            LayerSpec::Dropout { p } => format!("dropout {p}"),
            LayerSpec::Linear { features, bias, .. } => format!(
                "linear {}{}",
                features.map_or("classes".to_string(), |f| f.to_string()),
                if *bias { " +bias" } else { "" }
            ),
            LayerSpec::Scale { factor } => format!("scale {factor}"),
            LayerSpec::Residual { layers, .. } => format!("residual ({} layers)", layers.len()),
            l => l.type_name().to_string(),
        }
    }
}

/// A network: its name and its layers.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelSpec {
    /// Name (the file's `name`, else its stem).
    pub name: String,
    /// The layers, in order.
    pub layers: Vec<LayerSpec>,
}

/// A layer with its inferred shapes and cost, from [`ModelSpec::plan`].
#[derive(Clone, Debug)]
pub struct Planned<'a> {
    /// Position, 1-based, dotted inside residual blocks (`4.2`).
    pub index: String,
    /// Tensor name prefix (the spec's `name`, else the 0-based position path as in a PyTorch
    /// `nn.Sequential`).
    pub name: String,
    /// The layer.
    pub spec: &'a LayerSpec,
    /// Input shape.
    pub input: Shape,
    /// Output shape.
    pub output: Shape,
    /// Trainable parameters (for a residual block: of its layers).
    pub params: usize,
    /// Forward FLOPs per image (for a residual block: its layers plus the addition).
    pub flops: u64,
    /// A residual block's layers.
    pub children: Vec<Planned<'a>>,
}

/// Why a model file is not a network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError(pub String);

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SpecError {}

fn err<T>(msg: impl Into<String>) -> Result<T, SpecError> {
    Err(SpecError(msg.into()))
}

const EXAMPLE: &str = "[[layers]]\ntype = \"conv\"\nchannels = 32\nkernel = 3\npadding = 1";

fn keys_of(t: &str) -> &'static [&'static str] {
    match t {
        "conv" => &[
            "type", "name", "channels", "kernel", "stride", "padding", "bias",
        ],
        "bn" => &["type", "name"],
        "residual" => &["type", "name", "layers"],
        "dropout" => &["type", "p"],
        "linear" => &["type", "name", "features", "bias"],
        "scale" => &["type", "factor"],
        "maxpool" | "avgpool" => &["type", "size", "stride"],
        _ => &["type"],
    }
}

fn parse_layer(v: &Value, at: &str) -> Result<LayerSpec, SpecError> {
    let Some(t) = v.as_table() else {
        return err(format!(
            "layer {at}: expected a table such as `{{ type = \"relu\" }}`, found {}",
            v.type_str()
        ));
    };
    let ty = match t.get("type") {
        Some(Value::String(s)) => s.as_str(),
        Some(other) => {
            return err(format!(
                "layer {at}: `type` must be a string (one of {}), found {other}",
                LAYER_TYPES.join(", ")
            ))
        }
        None => {
            return err(format!(
                "layer {at}: missing `type`; expected one of {}, e.g.\n{EXAMPLE}",
                LAYER_TYPES.join(", ")
            ))
        }
    };
    if !LAYER_TYPES.contains(&ty) {
        return err(format!(
            "layer {at}: unknown type `{ty}`; expected one of {}",
            LAYER_TYPES.join(", ")
        ));
    }
    let allowed = keys_of(ty);
    if let Some(k) = t.keys().find(|k| !allowed.contains(&k.as_str())) {
        return err(format!(
            "layer {at} ({ty}): unknown key `{k}`; a {ty} layer takes {}",
            allowed.join(", ")
        ));
    }
    let at_ty = format!("layer {at} ({ty})");
    let uint = |key: &str, default: Option<usize>| -> Result<usize, SpecError> {
        match t.get(key) {
            Some(Value::Integer(i)) if *i >= 0 => Ok(*i as usize),
            Some(other) => err(format!(
                "{at_ty}: `{key}` must be a non-negative integer, found {other}"
            )),
            None => default.map_or_else(
                || {
                    err(format!(
                        "{at_ty}: missing `{key}` (an integer, e.g. `{key} = 3`)"
                    ))
                },
                Ok,
            ),
        }
    };
    let boolean = |key: &str, default: bool| -> Result<bool, SpecError> {
        match t.get(key) {
            Some(Value::Boolean(b)) => Ok(*b),
            Some(other) => err(format!(
                "{at_ty}: `{key}` must be true or false, found {other}"
            )),
            None => Ok(default),
        }
    };
    let float = |key: &str| -> Result<f32, SpecError> {
        match t.get(key) {
            Some(Value::Float(x)) => Ok(*x as f32),
            Some(Value::Integer(i)) => Ok(*i as f32),
            Some(other) => err(format!("{at_ty}: `{key}` must be a number, found {other}")),
            None => err(format!("{at_ty}: missing `{key}` (a number)")),
        }
    };
    let name = match t.get("name") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(other) => {
            return err(format!(
                "{at_ty}: `name` must be a non-empty string, found {other}"
            ))
        }
        None => None,
    };
    let positive = |key: &str, v: usize| -> Result<usize, SpecError> {
        if v == 0 {
            err(format!("{at_ty}: `{key}` must be at least 1, found 0"))
        } else {
            Ok(v)
        }
    };
    Ok(match ty {
        "conv" => LayerSpec::Conv {
            name,
            channels: positive("channels", uint("channels", None)?)?,
            kernel: positive("kernel", uint("kernel", None)?)?,
            stride: positive("stride", uint("stride", Some(1))?)?,
            padding: uint("padding", Some(0))?,
            bias: boolean("bias", true)?,
        },
        "bn" => LayerSpec::Bn { name },
        "relu" => LayerSpec::Relu,
        "maxpool" | "avgpool" => {
            let size = uint("size", Some(2))?;
            let stride = uint("stride", Some(size))?;
            if size != 2 || stride != 2 {
                return err(format!(
                    "{at_ty}: size {size}, stride {stride} is not supported: lrate's pools are \
                     2x2 with stride 2 (PyTorch's {}2d(2)); write `size = 2` or use a global pool",
                    if ty == "maxpool" {
                        "MaxPool"
                    } else {
                        "AvgPool"
                    }
                ));
            }
            if ty == "maxpool" {
                LayerSpec::MaxPool
            } else {
                LayerSpec::AvgPool
            }
        }
        "global_avgpool" => LayerSpec::GlobalAvgPool,
        "global_maxpool" => LayerSpec::GlobalMaxPool,
        "residual" => {
            let Some(Value::Array(items)) = t.get("layers") else {
                return err(format!(
                    "{at_ty}: needs `layers = [ ... ]`, the block's layers, e.g. \
                     `layers = [ {{ type = \"conv\", channels = 64, kernel = 3, padding = 1 }} ]`"
                ));
            };
            if items.is_empty() {
                return err(format!("{at_ty}: `layers` is empty"));
            }
            let layers = items
                .iter()
                .enumerate()
                .map(|(i, v)| parse_layer(v, &format!("{at}.{}", i + 1)))
                .collect::<Result<_, _>>()?;
            LayerSpec::Residual { name, layers }
        }
        "dropout" => {
            let p = float("p")?;
            if !(0.0..1.0).contains(&p) {
                return err(format!("{at_ty}: `p` must be in [0, 1), found {p}"));
            }
            LayerSpec::Dropout { p }
        }
        "flatten" => LayerSpec::Flatten,
        "linear" => LayerSpec::Linear {
            name,
            features: match t.get("features") {
                None => None,
                Some(_) => Some(positive("features", uint("features", None)?)?),
            },
            bias: boolean("bias", true)?,
        },
        "scale" => {
            let factor = float("factor")?;
            if !factor.is_finite() {
                return err(format!("{at_ty}: `factor` must be finite, found {factor}"));
            }
            LayerSpec::Scale { factor }
        }
        _ => unreachable!("checked against LAYER_TYPES"),
    })
}

impl ModelSpec {
    /// Parses a model file's TOML text; `default_name` names it when the file has no `name`.
    pub fn parse(text: &str, default_name: &str) -> Result<Self, SpecError> {
        let v: toml::Table = toml::from_str(text).map_err(|e| SpecError(format!("{e}")))?;
        if let Some(k) = v.keys().find(|k| !["name", "layers"].contains(&k.as_str())) {
            return err(format!(
                "unknown key `{k}`; a model file has `name` and `[[layers]]` tables, e.g.\n\
                 name = \"my-net\"\n{EXAMPLE}"
            ));
        }
        let name = match v.get("name") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => return err(format!("`name` must be a string, found {other}")),
            None => default_name.to_string(),
        };
        let Some(Value::Array(items)) = v.get("layers") else {
            return err(format!(
                "no layers: a model file lists them as `[[layers]]` tables, e.g.\n{EXAMPLE}"
            ));
        };
        if items.is_empty() {
            return err("`layers` is empty");
        }
        let layers = items
            .iter()
            .enumerate()
            .map(|(i, l)| parse_layer(l, &(i + 1).to_string()))
            .collect::<Result<_, _>>()?;
        Ok(ModelSpec { name, layers })
    }

    /// Infers each layer's shapes, parameters and FLOPs for `input` images and `classes`
    /// classes; the network must end in the `classes` logits.
    ///
    /// FLOPs per image, forward: conv `2·C_in·k²·C_out·H'·W'` (+ `C_out·H'·W'` for the bias),
    /// linear `2·in·out` (+ `out`), BN 2 per value, ReLU, scale and the residual addition 1
    /// per value, max-pool 3 comparisons and avg-pool 4 operations per output, global pools
    /// `H·W` per channel, dropout and flatten 0.
    pub fn plan(
        &self,
        input: (usize, usize, usize),
        classes: usize,
    ) -> Result<Vec<Planned<'_>>, SpecError> {
        let (c, h, w) = input;
        if c == 0 || h == 0 || w == 0 || classes == 0 {
            return err(format!(
                "the model needs a non-empty input and classes, got input {c}x{h}x{w}, \
                 {classes} classes"
            ));
        }
        let (plan, out) = plan_list(&self.layers, Shape::Img(c, h, w), classes, "", "")?;
        if out != Shape::Flat(classes) {
            return err(format!(
                "the network ends in shape {out}, not the {classes} class logits; end it with \
                 a `linear` layer (its `features` omitted means the number of classes){}",
                if matches!(out, Shape::Img(..)) {
                    " after a global pool or `flatten`"
                } else {
                    ""
                }
            ));
        }
        Ok(plan)
    }
}

fn plan_list<'a>(
    layers: &'a [LayerSpec],
    mut x: Shape,
    classes: usize,
    at: &str,
    prefix: &str,
) -> Result<(Vec<Planned<'a>>, Shape), SpecError> {
    let mut out = Vec::with_capacity(layers.len());
    for (i, l) in layers.iter().enumerate() {
        let index = format!("{at}{}", i + 1);
        let name = l
            .name()
            .map_or_else(|| format!("{prefix}{i}"), str::to_string);
        let p = plan_layer(l, x, classes, index, name)?;
        x = p.output;
        out.push(p);
    }
    Ok((out, x))
}

fn plan_layer(
    l: &LayerSpec,
    x: Shape,
    classes: usize,
    index: String,
    name: String,
) -> Result<Planned<'_>, SpecError> {
    let at = format!("layer {index} ({})", l.type_name());
    let need_img = || match x {
        Shape::Img(c, h, w) => Ok((c, h, w)),
        Shape::Flat(n) => err(format!(
            "{at}: needs an image (C x H x W) but gets {n} features (after a flatten, global \
             pool or linear layer); move it before them"
        )),
    };
    let n = x.numel() as u64;
    let mut children = Vec::new();
    let (output, params, flops) = match l {
        LayerSpec::Conv {
            channels,
            kernel,
            stride,
            padding,
            bias,
            ..
        } => {
            let (c, h, w) = need_img()?;
            let (k, s, p) = (*kernel, *stride, *padding);
            if h + 2 * p < k || w + 2 * p < k {
                return err(format!(
                    "{at}: kernel {k}x{k} is larger than its input {x} padded by {p}"
                ));
            }
            let (oh, ow) = ((h + 2 * p - k) / s + 1, (w + 2 * p - k) / s + 1);
            let out_px = (channels * oh * ow) as u64;
            let macs = (c * k * k) as u64 * out_px;
            (
                Shape::Img(*channels, oh, ow),
                channels * c * k * k + if *bias { *channels } else { 0 },
                2 * macs + if *bias { out_px } else { 0 },
            )
        }
        LayerSpec::Bn { .. } => {
            let (c, _, _) = need_img()?;
            (x, 2 * c, 2 * n)
        }
        LayerSpec::Relu | LayerSpec::Scale { .. } => (x, 0, n),
        LayerSpec::Dropout { .. } => (x, 0, 0),
        LayerSpec::MaxPool | LayerSpec::AvgPool => {
            let (c, h, w) = need_img()?;
            if h < 2 || w < 2 {
                return err(format!(
                    "{at}: its input {x} is smaller than the 2x2 window (too many pools for \
                     this input size)"
                ));
            }
            let o = Shape::Img(c, h / 2, w / 2);
            let per = if matches!(l, LayerSpec::MaxPool) {
                3
            } else {
                4
            };
            (o, 0, per * o.numel() as u64)
        }
        LayerSpec::GlobalAvgPool | LayerSpec::GlobalMaxPool => {
            let (c, _, _) = need_img()?;
            (Shape::Flat(c), 0, n)
        }
        LayerSpec::Flatten => (Shape::Flat(x.numel()), 0, 0),
        LayerSpec::Linear { features, bias, .. } => {
            let fin = match x {
                Shape::Flat(f) => f,
                Shape::Img(..) => {
                    return err(format!(
                        "{at}: needs features but gets an image {x}; put `flatten` or a \
                         global pool before it"
                    ))
                }
            };
            let fout = features.unwrap_or(classes);
            (
                Shape::Flat(fout),
                fin * fout + if *bias { fout } else { 0 },
                2 * (fin * fout) as u64 + if *bias { fout as u64 } else { 0 },
            )
        }
        LayerSpec::Residual { layers, .. } => {
            let (kids, o) = plan_list(
                layers,
                x,
                classes,
                &format!("{index}."),
                &format!("{name}."),
            )?;
            if o != x {
                return err(format!(
                    "{at}: its layers map {x} to {o}; a residual block must keep the shape \
                     (x + f(x))"
                ));
            }
            let params = kids.iter().map(|k| k.params).sum();
            let flops = kids.iter().map(|k| k.flops).sum::<u64>() + n;
            children = kids;
            (o, params, flops)
        }
    };
    Ok(Planned {
        index,
        name,
        spec: l,
        input: x,
        output,
        params,
        flops,
        children,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(layers: &str) -> Result<ModelSpec, SpecError> {
        ModelSpec::parse(layers, "t")
    }

    #[test]
    fn defaults_are_pytorchs_and_names_are_positions() {
        let s = spec(
            "[[layers]]\ntype = \"conv\"\nchannels = 4\nkernel = 3\n\
             [[layers]]\ntype = \"residual\"\nlayers = [{ type = \"relu\" }, { type = \"bn\" }]\n\
             [[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"linear\"\n",
        )
        .unwrap();
        assert_eq!(
            s.layers[0],
            LayerSpec::Conv {
                name: None,
                channels: 4,
                kernel: 3,
                stride: 1,
                padding: 0,
                bias: true
            }
        );
        let p = s.plan((1, 6, 6), 3).unwrap();
        assert_eq!(p[0].output, Shape::Img(4, 4, 4));
        assert_eq!(p[0].params, 4 * 9 + 4);
        assert_eq!(p[0].flops, 2 * 9 * 4 * 16 + 4 * 16);
        assert_eq!(p[1].children[1].name, "1.1");
        assert_eq!(p[1].children[1].index, "2.2");
        assert_eq!(p[3].output, Shape::Flat(3));
        assert_eq!(p[3].params, 64 * 3 + 3);
    }

    #[test]
    fn strided_conv_follows_pytorchs_floor() {
        let s = spec(
            "[[layers]]\ntype = \"conv\"\nchannels = 2\nkernel = 3\nstride = 2\npadding = 1\n\
             [[layers]]\ntype = \"global_maxpool\"\n[[layers]]\ntype = \"linear\"\n",
        )
        .unwrap();
        // (7 + 2 − 3) / 2 + 1 = 4
        assert_eq!(s.plan((1, 7, 8), 2).unwrap()[0].output, Shape::Img(2, 4, 4));
    }

    #[test]
    fn mistakes_name_the_layer_and_the_shapes() {
        let cases: [(&str, &[&str]); 9] = [
            (
                "[[layers]]\ntype = \"conv\"\nchannels = 4\nkernal = 3\n",
                &["layer 1 (conv)", "unknown key `kernal`", "kernel"],
            ),
            (
                "[[layers]]\ntype = \"convolution\"\n",
                &["layer 1", "unknown type `convolution`", "conv, bn"],
            ),
            ("[[layers]]\nchannels = 3\n", &["layer 1", "missing `type`"]),
            (
                "[[layers]]\ntype = \"conv\"\nchannels = 4\n",
                &["layer 1 (conv)", "missing `kernel`"],
            ),
            (
                "[[layers]]\ntype = \"maxpool\"\nsize = 3\n",
                &["layer 1 (maxpool)", "2x2"],
            ),
            (
                "[[layers]]\ntype = \"dropout\"\np = 1.5\n",
                &["layer 1 (dropout)", "[0, 1)"],
            ),
            ("layer = []\n", &["unknown key `layer`", "[[layers]]"]),
            ("name = \"x\"\n", &["no layers"]),
            (
                "[[layers]]\ntype = \"residual\"\nlayers = [{ type = \"relu\", p = 1 }]\n",
                &["layer 1.1 (relu)", "unknown key `p`"],
            ),
        ];
        for (text, needles) in cases {
            let e = spec(text).unwrap_err().to_string();
            for n in needles {
                assert!(e.contains(n), "`{e}` lacks `{n}`");
            }
        }
        let shape_cases: [(&str, &[&str]); 5] = [
            ("[[layers]]\ntype = \"linear\"\n", &["layer 1 (linear)", "image 1x8x8", "flatten"]),
            ("[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"conv\"\nchannels = 2\nkernel = 3\n", &["layer 2 (conv)", "64 features"]),
            ("[[layers]]\ntype = \"maxpool\"\n[[layers]]\ntype = \"maxpool\"\n[[layers]]\ntype = \"maxpool\"\n[[layers]]\ntype = \"maxpool\"\n", &["layer 4 (maxpool)", "1x1x1"]),
            ("[[layers]]\ntype = \"residual\"\nlayers = [{ type = \"conv\", channels = 5, kernel = 1 }]\n", &["layer 1 (residual)", "1x8x8 to 5x8x8"]),
            ("[[layers]]\ntype = \"global_avgpool\"\n[[layers]]\ntype = \"linear\"\nfeatures = 7\n", &["ends in shape 7", "3 class logits"]),
        ];
        for (text, needles) in shape_cases {
            let e = spec(text)
                .unwrap()
                .plan((1, 8, 8), 3)
                .unwrap_err()
                .to_string();
            for n in needles {
                assert!(e.contains(n), "`{e}` lacks `{n}`");
            }
        }
    }
}
