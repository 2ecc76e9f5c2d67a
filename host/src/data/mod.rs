//! Image-classification data sets: the built-in synthetic set, IDX (MNIST,
//! Fashion-MNIST), CIFAR-10 binary files and folders of PNG / JPEG images.
//!
//! Every loader returns a [`Split`]: a training and a test [`Dataset`] of `f32`
//! images in NCHW layout, normalised per channel with the mean and standard
//! deviation of the *training* set (the test set reuses them).

pub mod batch;
pub mod cifar10;
pub mod idx;
pub mod imagefolder;
pub mod normalize;
pub mod synthetic;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use anyhow::{bail, Result};

/// Default location of Debian's `dataset-fashion-mnist` package.
pub const DEBIAN_FASHION_MNIST: &str = "/usr/share/datasets/fashion-mnist";

/// Images and labels of one split, NCHW, already normalised.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Channels.
    pub c: usize,
    /// Height.
    pub h: usize,
    /// Width.
    pub w: usize,
    /// Number of classes; every label is below it.
    pub num_classes: usize,
    /// `len() * c * h * w` values, image after image (empty when [`Dataset::bytes`] holds
    /// the pixels).
    pub images: Vec<f32>,
    /// One label per image.
    pub labels: Vec<usize>,
    /// The pixels as bytes instead (image folders: 1 byte a value in memory, not 4), read
    /// as `(byte / 255 − mean_c) / std_c`.
    pub bytes: Option<Bytes>,
}

/// Pixels kept as bytes, with the per-channel normalisation applied when they are read.
#[derive(Clone, Debug)]
pub struct Bytes {
    /// `len() * c * h * w` bytes, image after image.
    pub data: Vec<u8>,
    /// Per-channel mean subtracted (0 before normalisation).
    pub mean: Vec<f32>,
    /// Per-channel standard deviation divided by (1 before normalisation).
    pub std: Vec<f32>,
}

impl Bytes {
    /// The value of byte `b` in channel `c`: `(b / 255 − mean_c) / std_c`.
    #[inline]
    pub fn value(&self, b: u8, c: usize) -> f32 {
        (b as f32 / 255.0 - self.mean[c]) / self.std[c]
    }
}

impl Dataset {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when the split holds no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Values per image (`c * h * w`).
    pub fn image_size(&self) -> usize {
        self.c * self.h * self.w
    }

    /// The pixels of image `i` (borrowed, or computed from [`Dataset::bytes`]).
    pub fn image(&self, i: usize) -> std::borrow::Cow<'_, [f32]> {
        let n = self.image_size();
        match &self.bytes {
            None => std::borrow::Cow::Borrowed(&self.images[i * n..(i + 1) * n]),
            Some(_) => {
                let mut v = Vec::with_capacity(n);
                self.extend_image(i, &mut v);
                std::borrow::Cow::Owned(v)
            }
        }
    }

    /// Appends the pixels of image `i` to `out`.
    pub fn extend_image(&self, i: usize, out: &mut Vec<f32>) {
        let n = self.image_size();
        match &self.bytes {
            None => out.extend_from_slice(&self.images[i * n..(i + 1) * n]),
            Some(b) => {
                let hw = self.h * self.w;
                let px = &b.data[i * n..(i + 1) * n];
                out.extend(px.iter().enumerate().map(|(k, v)| b.value(*v, k / hw)));
            }
        }
    }

    /// Keeps the first `n` images (no-op when `n >= len`).
    pub fn truncate(&mut self, n: usize) {
        if n < self.len() {
            self.labels.truncate(n);
            self.images.truncate(n * self.image_size());
            let size = self.image_size();
            if let Some(b) = &mut self.bytes {
                b.data.truncate(n * size);
            }
        }
    }
}

/// Training-time augmentation applied batch by batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Augment {
    /// None.
    None,
    /// Random crop after zero padding of `pad` pixels, then a horizontal flip with
    /// probability ½ (the standard CIFAR-10 recipe of He et al. 2016).
    CropFlip {
        /// Padding on each side before the crop.
        pad: usize,
    },
}

/// A training and a test split.
#[derive(Clone, Debug)]
pub struct Split {
    /// Training images (normalised with their own statistics).
    pub train: Dataset,
    /// Test images (normalised with the training statistics).
    pub test: Dataset,
    /// Augmentation for training batches.
    pub augment: Augment,
    /// Per-channel mean of the training set (before normalisation).
    pub mean: Vec<f32>,
    /// Per-channel standard deviation of the training set.
    pub std: Vec<f32>,
    /// Class names: the folder names of an image folder, else the label numbers.
    pub class_names: Vec<String>,
}

/// What `--data` names. Serialized as its `--data` string.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum DataSpec {
    /// The built-in procedural set.
    Synthetic,
    /// Fashion-MNIST IDX files in a directory.
    FashionMnist(PathBuf),
    /// MNIST IDX files in a directory.
    Mnist(PathBuf),
    /// CIFAR-10 binary batches in a directory.
    Cifar10(PathBuf),
    /// PNG / JPEG images in `DIR/train/<class>/` and `DIR/valid/<class>/` ([`imagefolder`]).
    ImageFolder(PathBuf),
}

impl FromStr for DataSpec {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        let (kind, dir) = match s.split_once(':') {
            Some((k, d)) => (k, Some(d)),
            None => (s, None),
        };
        let need_dir = |d: Option<&str>| -> Result<PathBuf> {
            match d {
                Some(d) if !d.is_empty() => Ok(PathBuf::from(d)),
                _ => bail!("data spec `{s}` needs a directory, e.g. `{kind}:/path/to/files`"),
            }
        };
        Ok(match kind {
            "synthetic" => {
                if dir.is_some() {
                    bail!("data spec `synthetic` takes no directory");
                }
                DataSpec::Synthetic
            }
            "fashion-mnist" | "fashion_mnist" | "fmnist" => match dir {
                None if std::path::Path::new(DEBIAN_FASHION_MNIST).is_dir() => {
                    DataSpec::FashionMnist(PathBuf::from(DEBIAN_FASHION_MNIST))
                }
                None => bail!(
                    "data spec `fashion-mnist` needs a directory (`fashion-mnist:DIR`); \
                     the default {DEBIAN_FASHION_MNIST} does not exist \
                     (Debian package dataset-fashion-mnist installs it)"
                ),
                d => DataSpec::FashionMnist(need_dir(d)?),
            },
            "mnist" => DataSpec::Mnist(need_dir(dir)?),
            "cifar10" | "cifar-10" => DataSpec::Cifar10(need_dir(dir)?),
            "imagefolder" | "image-folder" | "folder" => DataSpec::ImageFolder(need_dir(dir)?),
            _ => bail!(
                "unknown data spec `{s}`; expected synthetic, fashion-mnist[:DIR], mnist:DIR, \
                 cifar10:DIR or imagefolder:DIR"
            ),
        })
    }
}

impl fmt::Display for DataSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataSpec::Synthetic => write!(f, "synthetic"),
            DataSpec::FashionMnist(d) => write!(f, "fashion-mnist:{}", d.display()),
            DataSpec::Mnist(d) => write!(f, "mnist:{}", d.display()),
            DataSpec::Cifar10(d) => write!(f, "cifar10:{}", d.display()),
            DataSpec::ImageFolder(d) => write!(f, "imagefolder:{}", d.display()),
        }
    }
}

impl TryFrom<String> for DataSpec {
    type Error = anyhow::Error;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<DataSpec> for String {
    fn from(d: DataSpec) -> String {
        d.to_string()
    }
}

/// Options that shape a loaded split.
#[derive(Clone, Copy, Debug)]
pub struct LoadOptions {
    /// Image-folder options.
    pub images: imagefolder::ImageOptions,
    /// Show a progress bar while an image folder decodes.
    pub progress: bool,
    /// Keep at most this many training images.
    pub limit_train: Option<usize>,
    /// Keep at most this many test images.
    pub limit_test: Option<usize>,
    /// Seed of the synthetic generator.
    pub seed: u64,
    /// Synthetic training-set size.
    pub synthetic_train: usize,
    /// Synthetic test-set size.
    pub synthetic_test: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            images: imagefolder::ImageOptions::default(),
            progress: false,
            limit_train: None,
            limit_test: None,
            seed: 0,
            synthetic_train: synthetic::DEFAULT_TRAIN,
            synthetic_test: synthetic::DEFAULT_TEST,
        }
    }
}

/// Loads and normalises a split. Errors name the file and the problem.
pub fn load(spec: &DataSpec, opts: &LoadOptions) -> Result<Split> {
    let mut class_names = None;
    let (mut train, mut test, augment) = match spec {
        DataSpec::Synthetic => {
            let n_train = opts
                .limit_train
                .map_or(opts.synthetic_train, |l| l.min(opts.synthetic_train));
            let n_test = opts
                .limit_test
                .map_or(opts.synthetic_test, |l| l.min(opts.synthetic_test));
            let (tr, te) = synthetic::generate(n_train, n_test, opts.seed);
            (tr, te, Augment::None)
        }
        DataSpec::FashionMnist(dir) | DataSpec::Mnist(dir) => {
            let (tr, te) = idx::load_dir(dir)?;
            (tr, te, Augment::None)
        }
        DataSpec::Cifar10(dir) => {
            let (tr, te) = cifar10::load_dir(dir)?;
            (tr, te, Augment::CropFlip { pad: 4 })
        }
        DataSpec::ImageFolder(dir) => {
            let l = imagefolder::load_dir(dir, &opts.images, opts.seed, opts.progress)?;
            class_names = Some(l.classes);
            let pad = (l.train.h.min(l.train.w) / 8).max(1);
            let augment = if opts.images.augment {
                Augment::CropFlip { pad }
            } else {
                Augment::None
            };
            (l.train, l.valid, augment)
        }
    };
    let class_names =
        class_names.unwrap_or_else(|| (0..train.num_classes).map(|i| i.to_string()).collect());
    if let Some(n) = opts.limit_train {
        train.truncate(n);
    }
    if let Some(n) = opts.limit_test {
        test.truncate(n);
    }
    if train.is_empty() {
        bail!("data `{spec}`: the training split is empty");
    }
    if test.is_empty() {
        bail!("data `{spec}`: the test split is empty");
    }
    let (mean, std) = normalize::channel_stats(&train);
    normalize::apply(&mut train, &mean, &std);
    normalize::apply(&mut test, &mean, &std);
    Ok(Split {
        train,
        test,
        augment,
        mean,
        std,
        class_names,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs() {
        assert_eq!(
            "synthetic".parse::<DataSpec>().unwrap(),
            DataSpec::Synthetic
        );
        assert_eq!(
            "mnist:/x".parse::<DataSpec>().unwrap(),
            DataSpec::Mnist(PathBuf::from("/x"))
        );
        assert_eq!(
            "cifar10:d".parse::<DataSpec>().unwrap(),
            DataSpec::Cifar10(PathBuf::from("d"))
        );
        assert!("mnist".parse::<DataSpec>().is_err());
        assert!("imagenet:/x".parse::<DataSpec>().is_err());
        assert!("synthetic:/x".parse::<DataSpec>().is_err());
    }
}
